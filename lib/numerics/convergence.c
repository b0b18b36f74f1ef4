/* The drift statistic of sysmap/convergence.h. */
#include "sysmap/convergence.h"

#include <math.h>
#include <stdlib.h>

#include "sysmap/stats.h"
#include "error.h"

/* Mean, and squared Monte-Carlo standard error var tau / (W n), of column k
 * of n steps x W walkers (rows of n_dim) given its autocorrelation time. */
static sm_status third_moments(const double *part, size_t n, size_t w, size_t d, size_t k,
                               double tau, double *mean, double *mcse2)
{
    double var, sum = 0.0;
    sm_status st = sm_stats_covariance(part, n * w, d, k, 1, &var);
    if (st != SM_OK)
        return st;
    for (size_t i = 0; i < n * w; i++)
        sum += part[i * d + k];
    *mean = sum / (double)(n * w);
    *mcse2 = var * tau / (double)(w * n);
    return SM_OK;
}

sm_status sm_stats_drift(const double *chain, size_t n_steps, size_t n_walkers, size_t n_dim,
                         double *drift)
{
    if (chain == NULL || drift == NULL)
        return sm_fail(SM_EINVAL, "drift: NULL chain or output");
    if (n_walkers == 0 || n_dim == 0)
        return sm_fail(SM_EINVAL, "drift: %zu walkers and %zu parameters; both must be >= 1",
                       n_walkers, n_dim);
    size_t third = n_steps / 3, w = n_walkers, d = n_dim;
    for (size_t k = 0; k < d; k++)
        drift[k] = NAN;
    if (third < SM_STATS_DRIFT_MIN_THIRD)
        return SM_OK;
    double *tau = malloc(d * sizeof *tau);
    if (tau == NULL)
        return SM_FAIL_NOMEM("drift");
    const double *part[2] = {chain, chain + (n_steps - third) * w * d};
    int too_short; /* the caller reports it; a NaN tau gives a NaN drift */
    sm_status st = sm_stats_autocorr_time(chain, n_steps, w, d, SM_STATS_AUTOCORR_C,
                                          SM_STATS_AUTOCORR_TOL,
                                          tau, &too_short);
    for (size_t k = 0; k < d && st == SM_OK; k++) {
        double mean[2], e2[2];
        for (int p = 0; p < 2 && st == SM_OK; p++)
            st = third_moments(part[p], third, w, d, k, tau[k], &mean[p], &e2[p]);
        if (st == SM_OK)
            drift[k] = (mean[1] - mean[0]) / sqrt(e2[0] + e2[1]);
    }
    free(tau);
    return st == SM_OK ? SM_OK : sm_fail_context(st, "drift");
}
