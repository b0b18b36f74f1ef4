/* Run files: the chain in emcee's HDFBackend layout (group "mcmc"), sysmap's
 * settings and summaries (group "sysmap"). A run writes PATH.partial and
 * renames it to PATH when complete; a partial file counts complete steps
 * only and can be resumed by sysmap or continued by emcee. */
#ifndef SYSMAP_CHAINFILE_H
#define SYSMAP_CHAINFILE_H

#include <stddef.h>
#include <stdint.h>
#include "sysmap/rng.h"
#include "sysmap/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SM_PARTIAL_SUFFIX ".partial"

/* Attribute sysmap/format_version of a run file. 1 (files without it): the
 * multiplicative model fixed a = 0. 2: it ties a = b, one free vector. A
 * resume refuses any other version, since the parameters mean something else. */
#define SM_CHAINFILE_FORMAT_VERSION 2

/* Settings of a run; a resume must match all but n_steps. */
typedef struct {
    size_t n_walkers, n_dim, n_steps, n_burn;
    size_t n_pix, n_sys;
    const char *model;           /* "additive", "multiplicative", "combined" */
    int skew;
    const char *sampling_basis;  /* "rotated" or "original" */
    uint32_t seed;
    int explicit_init;           /* initial walkers given, not drawn from seed */
    double sigma_min;
    uint64_t data_digest;        /* sm_data_digest of the input */
    const char *backend, *device, *precision;
    const char *const *param_names;  /* n_dim names */
} sm_chainfile_meta_t;

/* Results of a run, all in the original template basis. */
typedef struct {
    const double *median;               /* (n_dim,) */
    const double *std;                  /* (n_dim,) standard deviation, ddof 1 */
    const double *var_a, *var_b;        /* (S,) */
    const double *cov_a, *cov_b;        /* (S, S) */
    const double *acceptance_fraction;  /* (W,) */
    const double *autocorr_time;        /* (n_dim,) in steps */
    int autocorr_too_short;
    const double *ess;                  /* (n_dim,) effective samples */
    double wall_s;                      /* sampling wall time, seconds */
    double evals_per_s;                 /* log-prob evaluations per second */
    double eval_s;                      /* of wall_s, seconds in the backend's
                                           evaluations; the rest is the host's */
    const double *drift;                /* (n_dim,) post-burn-in drift, Monte-Carlo
                                           standard errors (sysmap/convergence.h) */
    size_t n_kept;                      /* post-burn-in steps; 0 = empty posterior,
                                           every statistic NaN */
} sm_summary_t;

typedef struct sm_chainfile sm_chainfile_t;

/* Starts PATH.partial (replacing any), with the mcmc group at iteration 0
 * and the sysmap settings. Fails if PATH's folder is not writable. */
sm_status sm_chainfile_create(sm_chainfile_t **out, const char *path,
                              const sm_chainfile_meta_t *meta);

/* Opens PATH.partial of an interrupted run. SM_EMISMATCH names the first
 * setting that differs from meta; *iteration is the complete steps in it. */
sm_status sm_chainfile_resume(sm_chainfile_t **out, const char *path,
                              const sm_chainfile_meta_t *meta, size_t *iteration);

/* The stored chain (iteration, W, n_dim) and log_prob (iteration, W). */
sm_status sm_chainfile_read_chain(sm_chainfile_t *file, double *chain, double *log_prob);
/* The state to continue from: walkers in the sampling basis (W, n_dim),
 * their log_prob (W,), accepted counts (W,) and the generator. */
sm_status sm_chainfile_read_state(sm_chainfile_t *file, double *coords_work, double *lp,
                                  double *accepted, sm_rng_state_t *rng);

/* Appends n complete steps: chain (n, W, n_dim) in the original basis and
 * log_prob (n, W); stores accepted counts, generator state and the last
 * walkers in the sampling basis, then flushes, so the file on disk is
 * consistent with iteration += n. */
sm_status sm_chainfile_append(sm_chainfile_t *file, size_t n, const double *chain,
                              const double *log_prob, const double *accepted,
                              const sm_rng_state_t *rng, const double *coords_work);

/* The summary datasets (sysmap/median, ..., drift) and attributes (n_kept, ...). */
sm_status sm_chainfile_write_summary(sm_chainfile_t *file, const sm_summary_t *summary);
/* The run's warnings as the string dataset sysmap/warnings (n,), n may be 0. */
sm_status sm_chainfile_write_warnings(sm_chainfile_t *file, size_t n,
                                      const char *const *warnings);

/* Closes and renames PATH.partial to PATH. Releases file in every case
 * (on failure PATH.partial stays); do not free it afterwards. */
sm_status sm_chainfile_finish(sm_chainfile_t *file);

/* Closes without finishing (leaves PATH.partial resumable). */
void sm_chainfile_free(sm_chainfile_t *file);

#ifdef __cplusplus
}
#endif
#endif
