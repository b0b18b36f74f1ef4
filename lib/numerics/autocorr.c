/* emcee 3.1.4's emcee.autocorr.integrated_time, step for step. */
#include "sysmap/stats.h"

#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_fft_halfcomplex.h>
#include <gsl/gsl_fft_real.h>
#include <gsl/gsl_statistics_double.h>

#include "error.h"

static size_t next_pow_two(size_t n)
{
    size_t i = 1;
    while (i < n)
        i <<= 1;
    return i;
}

/* emcee's function_1d on the strided series x (n values) with a zeroed FFT
 * buffer buf of length n_fft = 2 next_pow_two(n), adding the normalised
 * autocorrelation to f (n,). Returns 0 when the series is constant
 * (emcee's 0/0: NaN). */
static int add_autocorr(const double *x, size_t stride, size_t n, double *buf, size_t n_fft,
                        double *f)
{
    double mean = gsl_stats_mean(x, stride, n);
    for (size_t i = 0; i < n; i++)
        buf[i] = x[i * stride] - mean;
    for (size_t i = n; i < n_fft; i++)
        buf[i] = 0.0;
    gsl_fft_real_radix2_transform(buf, 1, n_fft);
    /* Halfcomplex layout: buf[k] = Re F_k, buf[n_fft-k] = Im F_k; |F|^2 is real. */
    buf[0] *= buf[0];
    for (size_t k = 1; k < n_fft / 2; k++) {
        buf[k] = buf[k] * buf[k] + buf[n_fft - k] * buf[n_fft - k];
        buf[n_fft - k] = 0.0;
    }
    buf[n_fft / 2] *= buf[n_fft / 2];
    gsl_fft_halfcomplex_radix2_inverse(buf, 1, n_fft);
    if (buf[0] == 0.0)
        return 0;
    for (size_t i = 0; i < n; i++)
        f[i] += buf[i] / buf[0];
    return 1;
}

/* emcee's auto_window: np.argmin of the mask lag m < c tau_m, the first lag
 * where it fails. For a non-constant series with n >= 2 the mask holds at
 * lag 0 (tau_0 = 1, c > 0) and fails at the last lag (the centred series'
 * autocorrelations sum to zero over all lags, so tau_{n-1} = 0), which
 * rules out emcee's all-true and none-true branches. */
static size_t auto_window(const double *taus, size_t n, double c)
{
    size_t m = 0;
    while (m + 1 < n && (double)m < c * taus[m])
        m++;
    return m;
}

sm_status sm_stats_autocorr_time(const double *chain, size_t n_steps, size_t n_walkers,
                                 size_t n_dim, double c, double tol, double *tau,
                                 int *too_short)
{
    if (chain == NULL || tau == NULL || too_short == NULL)
        return sm_fail(SM_EINVAL, "autocorrelation time: NULL chain or output");
    if (n_steps == 0 || n_walkers == 0 || n_dim == 0)
        return sm_fail(SM_EINVAL,
                       "autocorrelation time: empty chain (%zu steps, %zu walkers, %zu parameters)",
                       n_steps, n_walkers, n_dim);
    if (!(c > 0 && isfinite(c)) || !(tol >= 0 && isfinite(tol)))
        return sm_fail(SM_EINVAL,
                       "autocorrelation time: window c must be finite and > 0 and tol finite "
                       "and >= 0, got c = %g, tol = %g",
                       c, tol);
    size_t n_fft = 2 * next_pow_two(n_steps);
    double *buf = malloc(n_fft * sizeof *buf);
    double *f = malloc(n_steps * sizeof *f);
    if (buf == NULL || f == NULL) {
        free(buf);
        free(f);
        return SM_FAIL_NOMEM("autocorrelation buffers");
    }
    size_t stride = n_walkers * n_dim;
    *too_short = 0;
    for (size_t d = 0; d < n_dim; d++) {
        for (size_t i = 0; i < n_steps; i++)
            f[i] = 0.0;
        int defined = 1;
        for (size_t w = 0; w < n_walkers && defined; w++)
            defined = add_autocorr(chain + w * n_dim + d, stride, n_steps, buf, n_fft, f);
        if (!defined) {
            /* A constant walker makes emcee's estimate NaN (and its flag
             * false, since NaN > n is false); here the flag is raised too,
             * as there is nothing to trust. */
            tau[d] = NAN;
            *too_short = 1;
            continue;
        }
        /* taus = 2 cumsum(f / W) - 1, overwriting f. */
        double cum = 0.0;
        for (size_t i = 0; i < n_steps; i++) {
            cum += f[i] / (double)n_walkers;
            f[i] = 2.0 * cum - 1.0;
        }
        tau[d] = f[auto_window(f, n_steps, c)];
        /* Negated so that a NaN tau (from non-finite samples) also flags. */
        if (!(tol * tau[d] <= (double)n_steps))
            *too_short = 1;
    }
    free(buf);
    free(f);
    return SM_OK;
}
