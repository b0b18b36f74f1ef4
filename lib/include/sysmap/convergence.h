/* Burn-in check: does the post-burn-in chain still drift? */
#ifndef SYSMAP_CONVERGENCE_H
#define SYSMAP_CONVERGENCE_H

#include <stddef.h>
#include "sysmap/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Per parameter, the difference of the means (all walkers) of the last and
 * the first third of a chain (n_steps, W, n_dim), in units of its
 * Monte-Carlo standard error: drift = (mean_3 - mean_1) / sqrt(e_1^2 + e_3^2),
 * e_k^2 = var_k tau / (W n_third), with var_k the sample variance (ddof 1)
 * of third k and tau emcee's integrated autocorrelation time of the whole
 * chain (sm_stats_autocorr_time; a third alone is too short to estimate
 * it). A stationary chain gives drift ~ N(0, 1), somewhat wider where
 * emcee's tau is biased low (chains of a few tens of tau). NaN where it is
 * undefined: fewer than SM_STATS_DRIFT_MIN_THIRD steps a third, or a parameter
 * constant along a walker. */
SM_API sm_status sm_stats_drift(const double *chain, size_t n_steps, size_t n_walkers, size_t n_dim,
                                double *drift);

/* Shortest third that sm_stats_drift measures. */
#define SM_STATS_DRIFT_MIN_THIRD 3

/* |drift| above this flags a burn-in that may be too short. Measured on the
 * example map with the default settings (250 walkers, 1500 steps, 300
 * burn-in): the Gaussian runs of 10 seeds give |drift| with rms 1.44 (emcee's
 * tau is biased low at n / tau ~ 15) and at most 4.06 over their 110
 * parameters, a margin of 1.5; the skew-normal runs, whose sigma and gamma
 * still move for over 1000 steps, give sigma 19.1 and 17.0, gamma 8.7 and
 * 10.5 (seeds 42 and 1), 1.45 times the threshold or more. */
#define SM_STATS_DRIFT_THRESHOLD 6.0

#ifdef __cplusplus
}
#endif
#endif
