/* Fused batched log-likelihood pixel sums: parameter vectors of one
 * half-ensemble in, per-walker compensated partial sums per work-group out;
 * no walkers x pixels array anywhere.
 *
 * Build-time defines: NSYS (templates), NDIM (parameters), A_OFF / B_OFF
 * (offsets of the a and b blocks, -1 when absent), SIGMA_IDX, SKEW (0/1),
 * WGS (work-group size, a power of two), WPT (walkers per work-item: each
 * template value loaded serves WPT walkers), VW (pixels per SIMD vector),
 * PRECISION (64 or 32).
 *
 * Memory: delta (n_pad,) and templates (NSYS, n_pad) with n_pad a multiple
 * of VW; the padding pixels are masked out. NDRange: (groups * WGS,
 * ceil(walkers / WPT)), local (WGS, 1). Work-item i of group g takes pixel
 * vectors g*WGS + i, + groups*WGS, ...; a group's items reduce in local
 * memory; partial[(w * groups + g) * 6 + ...] holds the group's (sum, comp)
 * of sq, log_m and log_phi for walker w. */
#ifndef WGS
#define WGS 64
#endif
#ifndef WPT
#define WPT 4
#endif
#ifndef BLOCK
#define BLOCK 8
#endif
/* USE_FMA (set where the device reports CL_FP_FMA): fma() is IEEE, one
 * rounding, and as deterministic as a*b+c; without hardware it would be
 * emulated, hence the opt-in. */
#if USE_FMA
#define MULADD(a, b, c) fma((a), (b), (c))
#else
#define MULADD(a, b, c) ((a) * (b) + (c))
#endif

/* x = mant * 2^expo with mant in [0.5, 1): frexp by bit operations, lane
 * by lane; zero, denormals, Inf and NaN pass through unchanged (a denormal
 * needs |m| < 2^-1021 where lnL is -inf to any precision anyway). */
inline realV renormalise(realV x, bitsV *expo)
{
    bitsV bits = AS_BITS(x);
    bitsV e = (bits >> EXP_SHIFT) & EXP_MASK;
    bitsV normal = e != 0 && e != EXP_MASK;
    bitsV mant = (bits & ~((bitsV)EXP_MASK << EXP_SHIFT)) | ((bitsV)EXP_BIAS << EXP_SHIFT);
    *expo += WHERE(normal, e - EXP_BIAS, (bitsV)0);
    return WHERE(normal, AS_REAL(mant), x);
}

/* Adds the VW lanes of v into a scalar compensated sum. */
inline void add_lanes(ksum *k, ksumV v)
{
#if VW == 1
    ksum_merge(k, (ksum){v.sum, v.comp});
#else
    real s[VW], c[VW];
    CAT(vstore, VW)(v.sum, 0, s);
    CAT(vstore, VW)(v.comp, 0, c);
    for (int l = 0; l < VW; l++)
        ksum_merge(k, (ksum){s[l], c[l]});
#endif
}

/* sum over lanes of ln(mant) + expo ln 2, compensated. */
inline ksum log_product(realV mant, bitsV expo)
{
    ksum k = {0, 0};
    realV lm = log(mant);
#if VW == 1
    ksum_add(&k, lm);
    ksum_add(&k, (real)expo * REAL_LN2);
#else
    real l[VW];
    bits_t e[VW];
    CAT(vstore, VW)(lm, 0, l);
    CAT(vstore, VW)(expo, 0, e);
    for (int i = 0; i < VW; i++) {
        ksum_add(&k, l[i]);
        ksum_add(&k, (real)e[i] * REAL_LN2);
    }
#endif
    return k;
}

__kernel __attribute__((reqd_work_group_size(WGS, 1, 1)))
void loglike(const int n_pix, const int n_pad, const int n_walkers,
             __global const real *restrict delta, __global const real *restrict templates,
             __global const real *restrict params, __global real *restrict partial)
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

    ksumV sq[WPT], log_phi[WPT];
    /* prod(|m_j|) kept as mantissa * 2^expo: one log per lane and work-item
     * instead of one per pixel. */
    realV mant[WPT];
    bitsV expo[WPT];
    for (int k = 0; k < WPT; k++) {
        sq[k] = (ksumV){(realV)0, (realV)0};
        log_phi[k] = (ksumV){(realV)0, (realV)0};
        mant[k] = (realV)1;
        expo[k] = (bitsV)0;
    }
    /* Squares (and ln Phi) are summed plainly over BLOCK pixel vectors, then
     * the block sum enters the compensated sum: same-sign terms, so the
     * plain part errs by at most BLOCK eps of the block, and the
     * compensation costs 1/BLOCK of what it would per pixel. */
    realV sq_block[WPT], phi_block[WPT];
    for (int k = 0; k < WPT; k++)
        sq_block[k] = phi_block[k] = (realV)0;
    int fill = 0;
    for (int c = g * WGS + lid; c * VW < n_pad; c += groups * WGS) {
        realV t[NSYS];
        for (int i = 0; i < NSYS; i++)
            t[i] = VLOAD(c, templates + i * n_pad);
        const realV dj = VLOAD(c, delta);
        /* Only the last vector can hold padding: the others skip the mask. */
        const int tail = (c + 1) * VW > n_pix;
        const bitsV used = LANE_IDS + (bits_t)(c * VW) < (bits_t)n_pix;
        for (int k = 0; k < WPT; k++) {
            realV add = (realV)0, mult = (realV)0;
            for (int i = 0; i < NSYS; i++) {
                add = MULADD(a[k][i], t[i], add);
                mult = MULADD(b[k][i], t[i], mult);
            }
            /* Padding pixels hold d = t = 0: m = 1 leaves the product alone. */
            realV m = (real)1 + mult;
            realV u = (dj - add) / m - xi[k];
            sq_block[k] += tail ? WHERE(used, u * u, (realV)0) : u * u;
            mant[k] = renormalise(mant[k] * fabs(m), &expo[k]);
#if SKEW
            realV phi = log_ndtr(gamma[k] * u / sigma[k]);
            phi_block[k] += tail ? WHERE(used, phi, (realV)0) : phi;
#endif
        }
        if (++fill == BLOCK) {
            for (int k = 0; k < WPT; k++) {
                ksumV_add(&sq[k], sq_block[k]);
                ksumV_add(&log_phi[k], phi_block[k]);
                sq_block[k] = phi_block[k] = (realV)0;
            }
            fill = 0;
        }
    }
    for (int k = 0; k < WPT; k++) {
        ksumV_add(&sq[k], sq_block[k]);
        ksumV_add(&log_phi[k], phi_block[k]);
    }

    __local ksum red[3][WGS];
    for (int k = 0; k < WPT; k++) {
        ksum s = {0, 0}, lp = {0, 0};
        add_lanes(&s, sq[k]);
        add_lanes(&lp, log_phi[k]);
        red[0][lid] = s;
        red[1][lid] = log_product(mant[k], expo[k]);
        red[2][lid] = lp;
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
