/* The affine-invariant ensemble sampler, reproducing emcee 3's
 * EnsembleSampler with StretchMove(a=2) and randomize_split=True to the bit
 * for the same random state, initial walkers and log-probabilities. */
#ifndef SYSMAP_SAMPLER_H
#define SYSMAP_SAMPLER_H

#include <stddef.h>
#include "sysmap/rng.h"
#include "sysmap/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Log-probabilities lp (k,) of k parameter vectors x (k, n_dim). */
typedef sm_status (*sm_log_prob_fn)(void *ctx, size_t k, const double *x, double *lp);

typedef struct sm_sampler sm_sampler_t;

#define SM_SAMPLER_STRETCH_A 2.0

/* W >= 2 n_dim, odd or even (emcee's split labels arange(W) % 2). The
 * sampler draws from rng (not owned). */
SM_API sm_status sm_sampler_create(sm_sampler_t **out, size_t n_walkers, size_t n_dim,
                                   sm_log_prob_fn log_prob, void *ctx, sm_rng_t *rng);
SM_API void sm_sampler_free(sm_sampler_t *sampler);

/* Sets the walkers (W, n_dim). With lp NULL their log-probabilities are
 * computed (one call for all W, as emcee does); a NaN is an error. Checks
 * that the walkers are finite and linearly independent (emcee's scaled
 * condition number <= 1e8). */
SM_API sm_status sm_sampler_set_state(sm_sampler_t *sampler, const double *coords,
                                      const double *lp);

/* One emcee step: move choice, split shuffle, both half-ensemble updates. */
SM_API sm_status sm_sampler_step(sm_sampler_t *sampler);

SM_API size_t sm_sampler_n_walkers(const sm_sampler_t *sampler);
SM_API size_t sm_sampler_n_dim(const sm_sampler_t *sampler);
SM_API const double *sm_sampler_coords(const sm_sampler_t *sampler);   /* (W, n_dim) */
SM_API const double *sm_sampler_log_prob(const sm_sampler_t *sampler); /* (W,) */
/* Accepted proposals per walker since creation, as counts (emcee's
 * backend "accepted"); set_accepted restores them on resume. */
SM_API const double *sm_sampler_accepted(const sm_sampler_t *sampler);
SM_API void sm_sampler_set_accepted(sm_sampler_t *sampler, const double *accepted);

#ifdef __cplusplus
}
#endif
#endif
