/* Chain statistics: medians, covariances, autocorrelation, effective sample
 * size, and the exact posterior of the additive model. */
#ifndef SYSMAP_STATS_H
#define SYSMAP_STATS_H

#include <stddef.h>
#include "sysmap/data.h"
#include "sysmap/model.h"
#include "sysmap/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Per-parameter median of a flat chain (n, n_dim), numpy's np.median
 * (mean of the two middle values for even n). */
SM_API sm_status sm_stats_median(const double *flat, size_t n, size_t n_dim, double *median);

/* Sample covariance (ddof = 1) of columns [col, col+k) of a flat chain
 * (n, n_dim) into cov (k, k); n >= 2. */
SM_API sm_status sm_stats_covariance(const double *flat, size_t n, size_t n_dim, size_t col,
                                     size_t k, double *cov);

/* The reference package's get_param_covariance_from_chain with ddof = 1:
 * cov_a and cov_b (S, S) each; the multiplicative model's one vector is
 * both a and b (cov_a = cov_b); b of the additive model is all zeros. */
SM_API sm_status sm_stats_param_covariance(const double *flat, size_t n, const sm_model_t *model,
                                           double *cov_a, double *cov_b);

/* emcee's integrated_time on a chain (n_steps, W, n_dim): FFT autocorrelation
 * of each walker, averaged over walkers, Sokal window with c; tau (n_dim,).
 * *too_short is set when tol * tau > n_steps for any parameter (emcee's
 * AutocorrError, here a flag: tau is still returned). A parameter that is
 * constant along some walker, or not finite, gets tau = NaN (emcee's 0/0)
 * and sets *too_short. */
SM_API sm_status sm_stats_autocorr_time(const double *chain, size_t n_steps, size_t n_walkers,
                                        size_t n_dim, double c, double tol, double *tau,
                                        int *too_short);
#define SM_STATS_AUTOCORR_C 5.0
#define SM_STATS_AUTOCORR_TOL 50.0

/* The exact posterior of the additive model with flat priors on a and sigma:
 * sigma^2 ~ InvGamma(alpha = (N-S-1)/2, beta = RSS/2), a | sigma^2 ~
 * N(a_ols, sigma^2 (X^T X)^-1), X = templates^T. Marginal moments:
 * mean_a = a_ols, cov_a = beta/(alpha-1) (X^T X)^-1 (alpha > 1). */
typedef struct {
    size_t n_sys;
    double *a_ols;       /* (S,) */
    double *xtx_inv;     /* (S, S) */
    double rss;
    double alpha, beta;
    double *cov_a;       /* (S, S) marginal covariance of a */
    double sigma_median; /* median of sigma's marginal: sqrt(beta / Gamma^-1 median) */
} sm_stats_additive_posterior_t;

SM_API sm_status sm_stats_additive_posterior(sm_stats_additive_posterior_t **out,
                                             const sm_data_t *data);
SM_API void sm_stats_additive_posterior_free(sm_stats_additive_posterior_t *post);

#ifdef __cplusplus
}
#endif
#endif
