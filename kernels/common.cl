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
 *   conditions go through WHERE (select), never any() or all() on a
 *   scalar;
 * - fp32 subnormals are optional (CL_FP_DENORM): no quantity the kernels
 *   keep can be subnormal: m = 1 + b.t is 0 or at least 2^-24 (fp32) or
 *   2^-53 (fp64), so the |m| mantissa product stays normal; ln Phi flushes
 *   fp32 upper tails before they turn subnormal (changing ln Phi by less
 *   than the smallest normal);
 * - builtins are not correctly rounded (log 3 ulp, fp32 division 2.5 ulp,
 *   sqrt 3 ulp): the conformance tolerances bound them; ln Phi uses none
 *   but division and fmin/fmax;
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
#define REAL_SQRT_2_OVER_PI 0x1.9884533d43651p-1
/* For log_ndtr: ln 2 as hi + lo, hi with 21 low zero bits (7 in fp32), so
 * that e hi is exact for the exponents e that occur (as in fdlibm); 1/ln 2;
 * the bits of 1 and the mantissa mask; exp's range-reduction shifter
 * 1.5 2^52 and its bits less the exponent bias; the argument below which
 * exp(y) F(a) is below the smallest normal for every a it occurs with
 * (also keeping 2^k normal); the a beyond which F(a) is taken at NDTR_AMAX
 * (ln Phi = -a^2/2 + ln F then errs by ln(a / NDTR_AMAX), under 0.4 ulp
 * of it). */
#define LN2_HI 0x1.62e42feep-1
#define LN2_LO 0x1.a39ef35793c76p-33
#define LOG2E 0x1.71547652b82fep+0
#define ONE_BITS 0x3ff0000000000000L
#define MANT_MASK 0x000fffffffffffffL
#define EXP_SHIFTER 0x1.8p+52
#define EXP_SHIFTER_BITS_LESS_BIAS (0x4338000000000000L - 1023)
#define EXP_ARG_MIN (-708.0)
#define NDTR_AMAX 0x1p+26
/* |x| up to which ndtr_scaled applies (2^k normal for -x^2/2 >= -684) */
#define NDTR_XMAX 37.0
#else
#define REAL_NAME float
#define BITS_NAME int
#define AS_BITS(x) CAT(as_int, VSUFFIX)(x)
#define AS_REAL(x) CAT(as_float, VSUFFIX)(x)
#define EXP_SHIFT 23
#define EXP_MASK 0xff
#define EXP_BIAS 126
#define REAL_LN2 0x1.62e430p-1f
#define REAL_SQRT_2_OVER_PI 0x1.988454p-1f
#define REAL_MIN_NORMAL 0x1p-126f
#define LN2_HI 0x1.62e4p-1f
#define LN2_LO 0x1.7f7d1cp-20f
#define LOG2E 0x1.715476p+0f
#define ONE_BITS 0x3f800000
#define MANT_MASK 0x007fffff
#define EXP_SHIFTER 0x1.8p+23f
#define EXP_SHIFTER_BITS_LESS_BIAS (0x4b400000 - 127)
#define EXP_ARG_MIN (-86.0f)
#define NDTR_AMAX 0x1p+12f
#define NDTR_XMAX 13.0f
#endif

typedef REAL_NAME real;
typedef BITS_NAME bits_t;

#if VW == 1
#define VSUFFIX
typedef real realV;
typedef bits_t bitsV;
#define VLOAD(i, p) ((p)[i])
#define LANE_IDS ((bitsV)0)
#define TO_REAL(x) CAT(convert_, REAL_NAME)(x)
#else
#define VSUFFIX VW
typedef CAT(REAL_NAME, VW) realV;
typedef CAT(BITS_NAME, VW) bitsV;
#define VLOAD(i, p) CAT(vload, VW)(i, p)
#define TO_REAL(x) CAT(CAT(convert_, REAL_NAME), VW)(x)
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
/* Whether c holds in every lane (all() takes vectors only). */
#if VW == 1
#define ALL(c) (c)
#else
#define ALL(c) all(c)
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

/* USE_FMA (set where the device reports CL_FP_FMA): fma() is IEEE, one
 * rounding, and as deterministic as a*b+c; without hardware it would be
 * emulated, hence the opt-in. */
#if USE_FMA
#define MULADD(a, b, c) fma((a), (b), (c))
#else
#define MULADD(a, b, c) ((a) * (b) + (c))
#endif

/* Horner's rule in x over the listed coefficients of c: c[i] + x (c[j] +
 * x (...)), written out (loops over __constant arrays stay loops in some
 * compilers). */
#define HORNER1(c, x, i) ((realV)((c)[i]))
#define HORNER2(c, x, i, j) MULADD(HORNER1(c, x, j), x, HORNER1(c, x, i))
#define HORNER3(c, x, i, ...) MULADD(HORNER2(c, x, __VA_ARGS__), x, HORNER1(c, x, i))
#define HORNER4(c, x, i, ...) MULADD(HORNER3(c, x, __VA_ARGS__), x, HORNER1(c, x, i))
#define HORNER5(c, x, i, ...) MULADD(HORNER4(c, x, __VA_ARGS__), x, HORNER1(c, x, i))
#define HORNER6(c, x, i, ...) MULADD(HORNER5(c, x, __VA_ARGS__), x, HORNER1(c, x, i))

/* Coefficients of log_ndtr, from tools/bench/ndtr_fit.py (mpmath; each
 * error is that of the rounded approximation evaluated as below):
 * NDTR_P / NDTR_Q, the rational P(a) / Q(a) = F(a) = exp(a^2/2) Q(a) (Q
 * the upper normal tail), near-minimax on [0, NDTR_AMAX]; NDTR_EXP(r^2) =
 * (r coth(r/2) - 2) / r^2 on |r| <= ln2/2, so that exp(r) = (2 + r + r^2 E)
 * / (2 - r + r^2 E); NDTR_LOG(w) = (atanh(s) / s - 1) / w on w = (2s)^2 <=
 * 4/9, so that 2 atanh(s) = 2s + 2s w L(w). Polynomials run as even and
 * odd Horner chains (two independent chains of half the length). */
#if PRECISION == 64
/* P/Q: degrees 9/10 on [0, 2^26], max weighted relative error 7.5e-16 */
__constant real NDTR_P[10] = {0x1.ffffffffffffep-2, 0x1.957f5e2a0f0dep-1, 0x1.3cfc7c9662797p-1, 0x1.3aca467910e09p-2, 0x1.b1bd583bb1dfbp-4, 0x1.ac77d37e13d2ep-6, 0x1.2f98e99df9d22p-8, 0x1.2ad3009939a5ap-11, 0x1.76012948e5ed8p-15, 0x1.cd3975a7dfb06p-20};
/* q_0 = 1 */
__constant real NDTR_Q[11] = {0x1p+0, 0x1.30e0c3e4585b3p+1, 0x1.51c025e893c71p+1, 0x1.cb933e8804921p+0, 0x1.aaa722beb6ac7p-1, 0x1.1b77c3ed3a851p-2, 0x1.1251b3b8b8566p-4, 0x1.802a3574fb2c3p-7, 0x1.77a64f890b068p-10, 0x1.d4bec3a26ff23p-14, 0x1.2107916d58179p-18};
/* degree 4, max relative error 4.7e-16 */
__constant real NDTR_EXP[5] = {0x1.5555555555553p-3, -0x1.6c16c16c0abf9p-9, 0x1.1566ab5c1473dp-14, -0x1.bbd532227cf4dp-20, 0x1.63f27409701ecp-25};
/* degree 9, max relative error 2.7e-16 */
__constant real NDTR_LOG[10] = {0x1.5555555555555p-4, 0x1.999999999a3dfp-7, 0x1.24924923d422cp-9, 0x1.c71c727164156p-12, 0x1.745cf0aa6a011p-14, 0x1.3b18b34a260a3p-16, 0x1.10ac6a3d3e5f6p-18, 0x1.eb913ba3ef69ep-21, 0x1.687604d0c86a1p-23, 0x1.4b0ed4be611b2p-24};
#define NDTR_P_EVAL(a, a2) \
    MULADD(HORNER5(NDTR_P, a2, 1, 3, 5, 7, 9), a, HORNER5(NDTR_P, a2, 0, 2, 4, 6, 8))
#define NDTR_Q_EVAL(a, a2) \
    MULADD(HORNER5(NDTR_Q, a2, 1, 3, 5, 7, 9), a, HORNER6(NDTR_Q, a2, 0, 2, 4, 6, 8, 10))
#define NDTR_EXP_EVAL(rr) HORNER5(NDTR_EXP, rr, 0, 1, 2, 3, 4)
#define NDTR_LOG_EVAL(w, w2) \
    MULADD(HORNER5(NDTR_LOG, w2, 1, 3, 5, 7, 9), w, HORNER5(NDTR_LOG, w2, 0, 2, 4, 6, 8))
#else
/* P/Q: degrees 4/5 on [0, 2^12], max weighted relative error 3.3e-07 */
__constant real NDTR_P[5] = {0x1p-1f, 0x1.db5ceep-2f, 0x1.9fe5b8p-3f, 0x1.85118cp-5f, 0x1.536caap-8f};
/* q_0 = 1 */
__constant real NDTR_Q[6] = {0x1p+0f, 0x1.b9f0bcp+0f, 0x1.48966p+0f, 0x1.0b3ff8p-1f, 0x1.e7a126p-4f, 0x1.a967b8p-7f};
/* degree 1, max relative error 7.9e-07 */
__constant real NDTR_EXP[2] = {0x1.555546p-3f, -0x1.6b0cep-9f};
/* degree 3, max relative error 4.6e-07 */
__constant real NDTR_LOG[4] = {0x1.55554cp-4f, 0x1.99ad6ep-7f, 0x1.21246ap-9f, 0x1.12f6fap-11f};
#define NDTR_P_EVAL(a, a2) MULADD(HORNER2(NDTR_P, a2, 1, 3), a, HORNER3(NDTR_P, a2, 0, 2, 4))
#define NDTR_Q_EVAL(a, a2) MULADD(HORNER3(NDTR_Q, a2, 1, 3, 5), a, HORNER3(NDTR_Q, a2, 0, 2, 4))
#define NDTR_EXP_EVAL(rr) HORNER2(NDTR_EXP, rr, 0, 1)
#define NDTR_LOG_EVAL(w, w2) MULADD(HORNER2(NDTR_LOG, w2, 1, 3), w, HORNER2(NDTR_LOG, w2, 0, 2))
#endif

/* ln Phi(x), the log of the standard normal CDF, for all x, in straight-line
 * code that vectorises: no builtin erfc, exp or log, no branch, one
 * division. With a = |x| and F = P/Q as above, Q(a) = exp(-a^2/2) F(a) and
 *   x <= 0:  ln Phi = -a^2/2 + ln F(a),      F = 2^e (1 + f)
 *   x > 0:   ln Phi = ln(1 + f),             f = -Q(a)
 * with ln(1 + f) = 2 atanh(s), s = f / (2 + f), |s| <= 1/3, whose quotient
 * (as 2s) is formed from P, Q and exp's numerator and denominator without
 * dividing before. Within 4 ulp for x <= 0 in fp64 and fp32; for x > 0 the
 * rounding of x^2 adds up to x^2/4 ulp (the function's own condition
 * number there is x^2). */
inline realV log_ndtr(realV x)
{
    const realV a = fabs(x), ac = fmin(a, NDTR_AMAX), ac2 = ac * ac;
    const realV p = NDTR_P_EVAL(ac, ac2), q = NDTR_Q_EVAL(ac, ac2);
    const realV y = (real)-0.5 * (a * a);
    /* exp(y) = 2^k (2 + r + r^2 E) / (2 - r + r^2 E), y = k ln2 + r (Cody and
     * Waite): adding the shifter rounds y / ln2 to k, held in its low bits. */
    const realV ye = fmax(y, EXP_ARG_MIN);
    const realV shifted = MULADD(ye, (realV)LOG2E, (realV)EXP_SHIFTER);
    const realV k = shifted - EXP_SHIFTER;
    const realV r = MULADD(-k, (realV)LN2_LO, MULADD(-k, (realV)LN2_HI, ye));
    const realV rr = r * r, ex = NDTR_EXP_EVAL(rr);
    const realV scale = AS_REAL((AS_BITS(shifted) - EXP_SHIFTER_BITS_LESS_BIAS) << EXP_SHIFT);
    /* Q(a) = tail_n / tail_d */
    const realV tail_n = MULADD(rr, ex, (real)2 + r) * (p * scale);
    const realV tail_d = MULADD(rr, ex, (real)2 - r) * q;
    /* F = 2^e mp / mq, mantissas in [1, 2) */
    const bitsV bp = AS_BITS(p), bq = AS_BITS(q);
    const realV mp = AS_REAL((bp & MANT_MASK) | ONE_BITS), mq = AS_REAL((bq & MANT_MASK) | ONE_BITS);
    /* 2s: x > 0: f = -tail_n / tail_d; x <= 0: 1 + f = mp / mq. */
    const bitsV up = x > (real)0;
    const realV s2 = WHERE(up, tail_n, mp - mq) /
                     WHERE(up, MULADD((realV)0.5, tail_n, -tail_d), (real)0.5 * (mp + mq));
    const realV w = s2 * s2;
    realV log1pf = MULADD(s2 * w, NDTR_LOG_EVAL(w, w * w), s2);
#if PRECISION == 32
    /* Upper tails whose 2s is below the smallest normal flush here, on every
     * device alike (fp32 subnormals are optional). */
    log1pf = WHERE(fabs(s2) >= REAL_MIN_NORMAL, log1pf, (realV)0);
#endif
    const realV e = TO_REAL((bp >> EXP_SHIFT) - (bq >> EXP_SHIFT));
    return WHERE(up, log1pf, MULADD(e, (realV)LN2_HI, y) + MULADD(e, (realV)LN2_LO, log1pf));
}

/* Phi(x) itself as m 2^e, for |x| <= NDTR_XMAX: returns m and adds e to
 * *expo. The likelihood multiplies these into a running mantissa and
 * exponent, as it does |m_j|, and takes one log per lane at the end:
 * per pixel this drops log_ndtr's log (its polynomial, the mantissa
 * split, the quotient s), about 40% of its work. Same F = P/Q and exp as
 * log_ndtr, so x <= 0 gives 2^k (exp(r) F), x > 0 gives 1 - 2^k exp(r) F
 * (no cancellation: that term is at most 1/2). m is in [2^-8, 1],
 * so BLOCK factors stay far above the smallest normal; ln(m 2^e) is
 * within one eps of ln Phi absolutely (kernel_ndtr), which in a sum over
 * pixels is the same order as rounding the sum itself. XMAX keeps k in
 * the exact range of the Cody-Waite reduction and 2^k normal. */
inline realV ndtr_scaled(realV x, bitsV *expo)
{
    const realV a = fabs(x), a2 = a * a;
    const realV p = NDTR_P_EVAL(a, a2), q = NDTR_Q_EVAL(a, a2);
    const realV y = (real)-0.5 * a2;
    const realV shifted = MULADD(y, (realV)LOG2E, (realV)EXP_SHIFTER);
    const realV k = shifted - EXP_SHIFTER;
    const realV r = MULADD(-k, (realV)LN2_LO, MULADD(-k, (realV)LN2_HI, y));
    const realV rr = r * r, ex = NDTR_EXP_EVAL(rr);
    const bitsV kb = AS_BITS(shifted) - AS_BITS((realV)EXP_SHIFTER);
    const realV scale = AS_REAL((kb + (bitsV)(EXP_BIAS + 1)) << EXP_SHIFT);
    const realV num = MULADD(rr, ex, (real)2 + r) * p, den = MULADD(rr, ex, (real)2 - r) * q;
    const bitsV up = x > (real)0;
    *expo += WHERE(up, (bitsV)0, kb);
    return WHERE(up, MULADD(-num, scale, den), num) / den;
}
