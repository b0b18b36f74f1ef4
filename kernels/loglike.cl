/* Fused batched log-likelihood pixel sums: parameter vectors of one
 * half-ensemble in, per-walker compensated partial sums per work-group out;
 * no walkers x pixels array anywhere.
 *
 * Build-time defines: NSYS (templates), NDIM (parameters), A_OFF / B_OFF
 * (offsets of the a and b blocks, -1 when absent), SIGMA_IDX, SKEW (0/1),
 * WGS (work-group size, a power of two), WPT (walkers per work-item: each
 * template value loaded serves WPT walkers), PRECISION (64 or 32).
 *
 * NDRange: (groups * WGS, ceil(walkers / WPT)), local (WGS, 1). Work-item i
 * of group g takes pixels g*WGS + i, + groups*WGS, ...; a group's items
 * reduce in local memory; partial[(w * groups + g) * 6 + ...] holds the
 * group's (sum, comp) of sq, log_m and log_phi for walker w. */
#ifndef WGS
#define WGS 64
#endif
#ifndef WPT
#define WPT 4
#endif

/* x = mant * 2^expo with mant in [0.5, 1): frexp written with bit
 * operations that vectorise; zero, Inf and NaN pass through unchanged. */
#if PRECISION == 64
#define EXP_SHIFT 52
#define EXP_MASK 0x7ffL
#define EXP_BIAS 1022
#define AS_BITS as_long
#define AS_REAL as_double
typedef long bits_t;
#else
#define EXP_SHIFT 23
#define EXP_MASK 0xff
#define EXP_BIAS 126
#define AS_BITS as_int
#define AS_REAL as_float
typedef int bits_t;
#endif

inline real renormalise(real x, int *expo)
{
    bits_t bits = AS_BITS(x);
    int e = (int)((bits >> EXP_SHIFT) & EXP_MASK);
    /* Normal numbers only: 0 < e < max. A denormal product of numbers in
     * [0.5, 1) x |m| cannot occur unless |m| < 2^-1021, where lnL is -inf
     * to any precision anyway; it is then left as is. */
    int normal = e != 0 && e != (int)EXP_MASK;
    bits_t mant = (bits & ~((bits_t)EXP_MASK << EXP_SHIFT)) | ((bits_t)EXP_BIAS << EXP_SHIFT);
    *expo += normal ? e - EXP_BIAS : 0;
    return normal ? AS_REAL(mant) : x;
}

__kernel __attribute__((reqd_work_group_size(WGS, 1, 1)))
void loglike(const int n_pix, const int n_walkers, __global const real *restrict delta,
             __global const real *restrict templates, __global const real *restrict params,
             __global real *restrict partial)
{
    const int lid = get_local_id(0), g = get_group_id(0), groups = get_num_groups(0);
    const int w0 = get_global_id(1) * WPT;

    real a[WPT][NSYS], b[WPT][NSYS], sigma[WPT], xi[WPT];
#if SKEW
    real gamma[WPT];
#endif
    for (int k = 0; k < WPT; k++) {
        /* Surplus slots of the last item repeat its first walker. */
        __global const real *p = params + (w0 + k < n_walkers ? w0 + k : w0) * NDIM;
        for (int i = 0; i < NSYS; i++) {
            a[k][i] = A_OFF >= 0 ? p[A_OFF + i] : (real)0;
            b[k][i] = B_OFF >= 0 ? p[B_OFF + i] : (real)0;
        }
        sigma[k] = p[SIGMA_IDX];
#if SKEW
        gamma[k] = p[SIGMA_IDX + 1];
        xi[k] = -sigma[k] * (gamma[k] / sqrt((real)1 + gamma[k] * gamma[k])) *
                REAL_SQRT_2_OVER_PI;
#else
        xi[k] = (real)0;
#endif
    }

    ksum sq[WPT], log_phi[WPT];
    /* prod(|m_j|) kept as mantissa * 2^expo: one log per work-item instead
     * of one per pixel. */
    real mant[WPT];
    int expo[WPT];
    for (int k = 0; k < WPT; k++) {
        sq[k] = (ksum){0, 0};
        log_phi[k] = (ksum){0, 0};
        mant[k] = (real)1;
        expo[k] = 0;
    }
    for (int j = g * WGS + lid; j < n_pix; j += groups * WGS) {
        real t[NSYS];
        for (int i = 0; i < NSYS; i++)
            t[i] = templates[i * n_pix + j];
        const real dj = delta[j];
        for (int k = 0; k < WPT; k++) {
            real add = (real)0, mult = (real)0;
            for (int i = 0; i < NSYS; i++) {
                add += a[k][i] * t[i];
                mult += b[k][i] * t[i];
            }
            real m = (real)1 + mult;
            real u = (dj - add) / m - xi[k];
            ksum_add(&sq[k], u * u);
            mant[k] = renormalise(mant[k] * fabs(m), &expo[k]);
#if SKEW
            ksum_add(&log_phi[k], log_ndtr(gamma[k] * u / sigma[k]));
#endif
        }
    }

    __local ksum red[3][WGS];
    for (int k = 0; k < WPT; k++) {
        ksum log_m = {log(mant[k]), 0};
        ksum_add(&log_m, (real)expo[k] * REAL_LN2);
        red[0][lid] = sq[k];
        red[1][lid] = log_m;
        red[2][lid] = log_phi[k];
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int stride = WGS / 2; stride > 0; stride >>= 1) {
            if (lid < stride)
                for (int q = 0; q < 3; q++) {
                    ksum acc = red[q][lid];
                    ksum_merge(&acc, red[q][lid + stride]);
                    red[q][lid] = acc;
                }
            barrier(CLK_LOCAL_MEM_FENCE);
        }
        if (lid == 0 && w0 + k < n_walkers) {
            __global real *out = partial + ((w0 + k) * groups + g) * 6;
            for (int q = 0; q < 3; q++) {
                out[2 * q] = red[q][0].sum;
                out[2 * q + 1] = red[q][0].comp;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}
