/* Shared by every sysmap kernel (prepended at build time). PRECISION picks
 * the real type: 64 (default) or 32; one source serves both. VW (1, 2, 4,
 * 8 or 16) is the SIMD width along pixels: realV holds VW pixels' values. */
#ifndef PRECISION
#define PRECISION 64
#endif
#ifndef VW
#define VW 1
#endif

/* Portability (OpenCL C 1.2, what the spec leaves to the device):
 * - scalar and vector relational results differ (1 against -1 per lane):
 *   conditions go through WHERE (select) and ANY_LANE, never any() or
 *   all() on a scalar;
 * - fp32 subnormals are optional (CL_FP_DENORM): no quantity the kernels
 *   keep can be subnormal: m = 1 + b.t is 0 or at least 2^-24 (fp32) or
 *   2^-53 (fp64), so the |m| mantissa product stays normal; erfc is taken
 *   only where its value is normal (the far tail switches to a series at
 *   -10 in fp32, -20 in fp64), and an upper tail that flushes to 0 changes
 *   ln Phi by less than the smallest normal;
 * - builtins are not correctly rounded (erfc 16 ulp, log 3 ulp, fp32
 *   division 2.5 ulp, sqrt 3 ulp): the conformance tolerances bound them;
 * - no -cl-fast-relaxed-math and no mad(): results must not depend on
 *   whether a device takes shortcuts. */

/* No contraction of a*b+c into fma: results must not depend on whether a
 * device fuses, so fp64 devices agree with the reference to rounding. */
#pragma OPENCL FP_CONTRACT OFF

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

#if PRECISION == 64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#define REAL_NAME double
#define BITS_NAME long  /* integer of the same width, for masks and bit tricks */
#define AS_BITS(x) CAT(as_long, VSUFFIX)(x)
#define AS_REAL(x) CAT(as_double, VSUFFIX)(x)
#define EXP_SHIFT 52
#define EXP_MASK 0x7ffL
#define EXP_BIAS 1022
#define REAL_LN2 0x1.62e42fefa39efp-1
#define REAL_HALF_LN_2PI 0x1.d67f1c864beb4p-1
#define REAL_SQRT_2_OVER_PI 0x1.9884533d43651p-1
#define REAL_SQRT1_2 0x1.6a09e667f3bcdp-1
/* Below this, erfc(-x/sqrt2) is replaced by the asymptotic series. */
#define LOG_NDTR_TAIL (-20.0)
#else
#define REAL_NAME float
#define BITS_NAME int
#define AS_BITS(x) CAT(as_int, VSUFFIX)(x)
#define AS_REAL(x) CAT(as_float, VSUFFIX)(x)
#define EXP_SHIFT 23
#define EXP_MASK 0xff
#define EXP_BIAS 126
#define REAL_LN2 0x1.62e430p-1f
#define REAL_HALF_LN_2PI 0x1.d67f1cp-1f
#define REAL_SQRT_2_OVER_PI 0x1.988454p-1f
#define REAL_SQRT1_2 0x1.6a09e6p-1f
#define LOG_NDTR_TAIL (-10.0f)
#endif

typedef REAL_NAME real;
typedef BITS_NAME bits_t;

#if VW == 1
#define VSUFFIX
typedef real realV;
typedef bits_t bitsV;
#define VLOAD(i, p) ((p)[i])
#define LANE_IDS ((bitsV)0)
#else
#define VSUFFIX VW
typedef CAT(REAL_NAME, VW) realV;
typedef CAT(BITS_NAME, VW) bitsV;
#define VLOAD(i, p) CAT(vload, VW)(i, p)
#if VW == 2
#define LANE_IDS ((bitsV)(0, 1))
#elif VW == 4
#define LANE_IDS ((bitsV)(0, 1, 2, 3))
#elif VW == 8
#define LANE_IDS ((bitsV)(0, 1, 2, 3, 4, 5, 6, 7))
#elif VW == 16
#define LANE_IDS ((bitsV)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))
#endif
#endif
/* Lane-wise c ? b : a, for scalars and vectors alike (a vector comparison
 * gives -1 per true lane, a scalar one 1; select reads both right). */
#define WHERE(c, b, a) select((a), (b), (bitsV)(c))
/* Whether c holds in some lane. any() tests the most significant bit, which
 * a vector comparison sets (-1) and a scalar one does not (1): a scalar
 * condition is used as it is. */
#if VW == 1
#define ANY_LANE(c) (c)
#else
#define ANY_LANE(c) any(c)
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

/* The same, lane by lane. */
typedef struct {
    realV sum;
    realV comp;
} ksumV;

inline void ksumV_add(ksumV *k, realV x)
{
    realV t = k->sum + x;
    k->comp += WHERE(fabs(k->sum) >= fabs(x), (k->sum - t) + x, (x - t) + k->sum);
    k->sum = t;
}

/* ln Phi(x), the log of the standard normal CDF, stable for all x: above 0
 * log1p of the small upper tail; in the far lower tail the asymptotic
 * series -x^2/2 - ln(-x) - ln(2 pi)/2 + ln(1 - 1/x^2 + 3/x^4 - ...), whose
 * 10 terms at |x| >= 20 (fp64) or 10 (fp32) are exact to the precision.
 * Lane-wise: every branch is evaluated and the right one selected. */
inline realV log_ndtr(realV x)
{
    /* erfc(x/sqrt2) above 0 and erfc(-x/sqrt2) below are both erfc(|x|/sqrt2):
     * one call serves both branches. */
    realV tail_mass = (real)0.5 * erfc(fabs(x) * REAL_SQRT1_2);
    realV upper = log1p(-tail_mass);
    realV middle = log(tail_mass);
    realV result = WHERE(x > 0, upper, middle);
    /* The far tail is rare: its series only runs when some lane needs it. */
    if (ANY_LANE(x <= LOG_NDTR_TAIL)) {
        realV inv2 = (real)1 / (x * x), term = (realV)1, series = (realV)1;
        for (int k = 1; k <= 10; k++) {
            term *= -(real)(2 * k - 1) * inv2;
            series += term;
        }
        realV tail = -(real)0.5 * x * x - log(-x) - REAL_HALF_LN_2PI + log(series);
        result = WHERE(x > LOG_NDTR_TAIL, result, tail);
    }
    return result;
}
