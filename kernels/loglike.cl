/* Fused batched log-likelihood pixel sums: parameter vectors of one
 * half-ensemble in, per-walker compensated partial sums per work-group out;
 * no walkers x pixels array anywhere.
 *
 * Build-time defines, the model's from its table row (lib/numerics/model.c):
 * NSYS (templates), NDIM (parameters), A_OFF / B_OFF (offsets of the a and
 * b blocks, -1 when absent, equal when b = a), SIGMA_IDX, SKEW (0/1),
 * GAMMA_IDX (with SKEW); WGS (work-group size, a power of two), WPT
 * (walkers per work-item: each template value loaded serves WPT walkers),
 * VW (pixels per SIMD vector), PRECISION (64 or 32); RENORM (below).
 *
 * Memory: delta (n_pix,) and templates (NSYS rows of stride elements, n_pix
 * used), read in vectors of VW pixels up to n_pad (n_pix rounded up to
 * VW); the last vector's lanes past n_pix read as 0 (load_pixels), so the
 * rows may be the caller's own arrays or zero-padded copies alike.
 * NDRange: (groups * WGS, lanes), local (WGS, 1), lanes <= ceil(walkers /
 * WPT); dense (0/1): renormalise after every pixel. Group g takes a range of
 * contiguous pixel vectors, tile by tile, its item i the vectors i, i +
 * WGS, ... of a tile; along dimension 1, lane l takes the walker blocks l,
 * l + lanes, ... of WPT walkers each, one after another over a tile (with
 * one lane and cache-sized tiles a large map streams from memory once per
 * call, not once per walker block); a group's items reduce in local
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
/* Pixel vectors whose |m| the running product takes between two
 * renormalisations, unless the launch says dense (every one). Scaling by
 * powers of two is exact, so the product's roundings, and the sums, are
 * the same either way; sparse needs RENORM factors to stay in the normal
 * range: nonzero |m| >= 2^-53 (fp64) or 2^-24 (fp32) bounds them below,
 * the host's bound on every |m| of the batch above (lib/backends/opencl). */
#ifndef RENORM
#define RENORM 1
#endif
#if BLOCK % RENORM != 0
#error "RENORM must divide BLOCK"
#endif
/* |x| = mant * 2^expo with mant in [0.5, 1): frexp of the magnitude by bit
 * operations, lane by lane (the product of signed factors has the same
 * magnitude bits as that of their absolute values, so the sign is dropped
 * here, not per factor); zero, denormals, Inf and NaN pass through as |x|
 * (a denormal needs |m| < 2^-1021 where lnL is -inf to any precision
 * anyway). */
inline realV renormalise(realV x, bitsV *expo)
{
    bitsV bits = AS_BITS(x);
    bitsV e = (bits >> EXP_SHIFT) & EXP_MASK;
    bitsV normal = e != 0 && e != EXP_MASK;
    bitsV mant = (bits & MANT_MASK) | ((bitsV)EXP_BIAS << EXP_SHIFT);
    *expo += WHERE(normal, e - EXP_BIAS, (bitsV)0);
    return WHERE(normal, AS_REAL(mant), fabs(x));
}

/* Pixel vector c of a row: the last, past n_pix (tail), lane by lane with
 * 0 beyond the row, as zero padding would give. */
inline realV load_pixels(__global const real *row, const int c, const int tail, const int n_pix)
{
#if VW == 1
    return row[c];
#else
    if (!tail)
        return VLOAD(c, row);
    real v[VW];
    for (int l = 0; l < VW; l++)
        v[l] = c * VW + l < n_pix ? row[c * VW + l] : (real)0;
    return VLOAD(0, v);
#endif
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

/* Walkers w0 .. w0 + WPT - 1 over pixel vectors first .. end - 1 of this
 * group: the items' compensated sums, reduced over the group, written to
 * partial or, for a later tile of the group's range (merge), added to it. */
inline void walker_block(const int w0, const int first, const int end, const int merge,
                         const int n_pix, const int stride, const int n_walkers, const int dense,
                         __global const real *restrict delta,
                         __global const real *restrict templates,
                         __global const real *restrict params, __global real *restrict partial,
                         __local ksum (*red)[WGS])
{
    const int lid = get_local_id(0), g = get_group_id(0), groups = get_num_groups(0);

    real a[WPT][NSYS], b[WPT][NSYS];
#if SKEW
    real xi[WPT], gamma_over_sigma[WPT];
#endif
    for (int k = 0; k < WPT; k++) {
        /* Surplus slots of the last item repeat its first walker. */
        __global const real *p = params + (w0 + k < n_walkers ? w0 + k : w0) * NDIM;
        for (int i = 0; i < NSYS; i++) {
            a[k][i] = A_OFF >= 0 ? p[A_OFF + i] : (real)0;
            b[k][i] = B_OFF >= 0 ? p[B_OFF + i] : (real)0;
        }
#if SKEW
        const real sigma = p[SIGMA_IDX], gamma = p[GAMMA_IDX];
        xi[k] = -sigma * (gamma / sqrt((real)1 + gamma * gamma)) * REAL_SQRT_2_OVER_PI;
        /* One division per walker, not per pixel: x = (gamma / sigma) u. */
        gamma_over_sigma[k] = gamma / sigma;
#endif
    }

    ksumV sq[WPT], log_phi[WPT];
    /* prod(|m_j|) kept as mantissa * 2^expo: one log per lane and work-item
     * instead of one per pixel; likewise prod(Phi(x_j)), renormalised per
     * BLOCK (its factors are at least 2^-8). */
    realV mant[WPT], phi_mant[WPT];
    bitsV expo[WPT], phi_expo[WPT];
    for (int k = 0; k < WPT; k++) {
        phi_mant[k] = (realV)1;
        phi_expo[k] = (bitsV)0;
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
    for (int c = first + lid; c < end; c += WGS) {
        /* Only the last vector can hold padding: the others skip the mask. */
        const int tail = (c + 1) * VW > n_pix;
        const bitsV used = LANE_IDS + (bits_t)(c * VW) < (bits_t)n_pix;
        realV t[NSYS];
#pragma unroll
        for (int i = 0; i < NSYS; i++)
            t[i] = load_pixels(templates + i * stride, c, tail, n_pix);
        const realV dj = load_pixels(delta, c, tail, n_pix);
#if SKEW
        realV x[WPT];
#endif
        for (int k = 0; k < WPT; k++) {
            realV add = (realV)0, mult = (realV)0;
#pragma unroll
            for (int i = 0; i < NSYS; i++) {
                add = MULADD(a[k][i], t[i], add);
                mult = MULADD(b[k][i], t[i], mult);
            }
            /* Padding pixels hold d = t = 0: m = 1 leaves the product alone. */
            realV m = (real)1 + mult;
            /* The Gaussian's xi is 0 and not subtracted (5% of its time
             * on PoCL fp64; x - 0 is x, so the same bits). */
            realV u = (dj - add) / m;
#if SKEW
            u -= xi[k];
            x[k] = gamma_over_sigma[k] * u;
#endif
            sq_block[k] += tail ? WHERE(used, u * u, (realV)0) : u * u;
            mant[k] *= m;
            if (dense)
                mant[k] = renormalise(mant[k], &expo[k]);
        }
#if SKEW
        /* ln Phi in a loop of its own: its constants and temporaries do not
         * compete for registers with the templates and the walkers' state
         * (a quarter faster on PoCL). Phi enters a product (one log per
         * lane at the end) unless a lane of the vector is beyond
         * NDTR_XMAX, a branch taken alike by the vector's lanes. */
        for (int k = 0; k < WPT; k++) {
            if (ALL(fabs(x[k]) <= NDTR_XMAX)) {
                const realV f = ndtr_scaled(x[k], &phi_expo[k]);
                phi_mant[k] *= tail ? WHERE(used, f, (realV)1) : f;
            } else {
                const realV phi = log_ndtr(x[k]);
                phi_block[k] += tail ? WHERE(used, phi, (realV)0) : phi;
            }
        }
#endif
        if (++fill % RENORM == 0 && !dense)
            for (int k = 0; k < WPT; k++)
                mant[k] = renormalise(mant[k], &expo[k]);
        if (fill == BLOCK) {
            for (int k = 0; k < WPT; k++) {
#if SKEW
                phi_mant[k] = renormalise(phi_mant[k], &phi_expo[k]);
#endif
                ksumV_add(&sq[k], sq_block[k]);
                ksumV_add(&log_phi[k], phi_block[k]);
                sq_block[k] = phi_block[k] = (realV)0;
            }
            fill = 0;
        }
    }
    for (int k = 0; k < WPT; k++) {
        mant[k] = renormalise(mant[k], &expo[k]);
        ksumV_add(&sq[k], sq_block[k]);
        ksumV_add(&log_phi[k], phi_block[k]);
    }

    for (int k = 0; k < WPT; k++) {
        ksum s = {0, 0}, lp = {0, 0};
        add_lanes(&s, sq[k]);
        add_lanes(&lp, log_phi[k]);
#if SKEW
        ksum_merge(&lp, log_product(phi_mant[k], phi_expo[k]));
#endif
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
                ksum acc = red[q][0];
                if (merge) {
                    ksum before = {out[2 * q], out[2 * q + 1]};
                    ksum_merge(&before, acc);
                    acc = before;
                }
                out[2 * q] = acc.sum;
                out[2 * q + 1] = acc.comp;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

__kernel __attribute__((reqd_work_group_size(WGS, 1, 1)))
void loglike(const int n_pix, const int n_pad, const int stride, const int n_walkers,
             const int tile, const int dense,
             __global const real *restrict delta, __global const real *restrict templates,
             __global const real *restrict params, __global real *restrict partial)
{
    /* The group's range of contiguous pixel vectors, in tiles of at most
     * tile vectors; each tile stays in cache while the item runs its
     * walker blocks over it one after another (an empty range still writes
     * its zero sums). */
    const int n_vec = n_pad / VW, groups = get_num_groups(0);
    const int range = (n_vec + groups - 1) / groups, first = get_group_id(0) * range;
    const int end = min(first + range, n_vec);
    __local ksum red[3][WGS];
    int from = first;
    do {
        const int to = end - from > tile ? from + tile : end;
        for (int w0 = get_global_id(1) * WPT; w0 < n_walkers; w0 += get_global_size(1) * WPT)
            walker_block(w0, from, to, from > first, n_pix, stride, n_walkers, dense, delta,
                         templates, params, partial, red);
        from = to;
    } while (from < end);
}
