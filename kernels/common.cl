/* Shared by every sysmap kernel (prepended at build time). PRECISION picks
 * the real type: 64 (default) or 32; one source serves both. */
#ifndef PRECISION
#define PRECISION 64
#endif

/* No contraction of a*b+c into fma: results must not depend on whether a
 * device fuses, so fp64 devices agree with the reference to rounding. */
#pragma OPENCL FP_CONTRACT OFF

#if PRECISION == 64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double real;
#define REAL_LN2 0x1.62e42fefa39efp-1
#define REAL_HALF_LN_2PI 0x1.d67f1c864beb4p-1
#define REAL_SQRT_2_OVER_PI 0x1.9884533d43651p-1
#define REAL_SQRT1_2 0x1.6a09e667f3bcdp-1
/* Below this, erfc(-x/sqrt2) is replaced by the asymptotic series. */
#define LOG_NDTR_TAIL (-20.0)
#else
typedef float real;
#define REAL_LN2 0x1.62e430p-1f
#define REAL_HALF_LN_2PI 0x1.d67f1cp-1f
#define REAL_SQRT_2_OVER_PI 0x1.988454p-1f
#define REAL_SQRT1_2 0x1.6a09e6p-1f
#define LOG_NDTR_TAIL (-10.0f)
#endif

/* Neumaier-compensated sum: value is sum + comp. */
typedef struct {
    real sum;
    real comp;
} ksum;

inline void ksum_add(ksum *k, real x)
{
    real t = k->sum + x;
    if (fabs(k->sum) >= fabs(x))
        k->comp += (k->sum - t) + x;
    else
        k->comp += (x - t) + k->sum;
    k->sum = t;
}

/* Adds another compensated sum (sum first, then its compensation). */
inline void ksum_merge(ksum *k, ksum other)
{
    ksum_add(k, other.sum);
    k->comp += other.comp;
}

/* ln Phi(x), the log of the standard normal CDF, stable for all x: above 0
 * log1p of the small upper tail; in the far lower tail the asymptotic
 * series -x^2/2 - ln(-x) - ln(2 pi)/2 + ln(1 - 1/x^2 + 3/x^4 - ...), whose
 * 10 terms at |x| >= 20 (fp64) or 10 (fp32) are exact to the precision. */
inline real log_ndtr(real x)
{
    if (x > 0)
        return log1p(-(real)0.5 * erfc(x * REAL_SQRT1_2));
    if (x > LOG_NDTR_TAIL)
        return log((real)0.5 * erfc(-x * REAL_SQRT1_2));
    real inv2 = (real)1 / (x * x), term = (real)1, series = (real)1;
    for (int k = 1; k <= 10; k++) {
        term *= -(real)(2 * k - 1) * inv2;
        series += term;
    }
    return -(real)0.5 * x * x - log(-x) - REAL_HALF_LN_2PI + log(series);
}
