/* Fused batched log-likelihood pixel sums: parameter vectors of one
 * half-ensemble in, per-walker compensated partial sums per work-group out;
 * no walkers x pixels array anywhere.
 *
 * Build-time defines: NSYS (templates), NDIM (parameters), A_OFF / B_OFF
 * (offsets of the a and b blocks, -1 when absent), SIGMA_IDX, SKEW (0/1),
 * WGS (work-group size, a power of two), PRECISION (64 or 32).
 *
 * NDRange: (groups * WGS, walkers), local (WGS, 1). Work-item i of group g
 * takes pixels g*WGS + i, + groups*WGS, ...; a group's items reduce in
 * local memory; partial[(w * groups + g) * 6 + ...] holds the group's
 * (sum, comp) of sq, log_m and log_phi. */
#ifndef WGS
#define WGS 64
#endif

__kernel __attribute__((reqd_work_group_size(WGS, 1, 1)))
void loglike(const int n_pix, __global const real *restrict delta,
             __global const real *restrict templates, __global const real *restrict params,
             __global real *restrict partial)
{
    const int lid = get_local_id(0), g = get_group_id(0), groups = get_num_groups(0);
    const int w = get_global_id(1);
    __global const real *p = params + w * NDIM;

    real a[NSYS], b[NSYS];
    for (int i = 0; i < NSYS; i++) {
        a[i] = A_OFF >= 0 ? p[A_OFF + i] : (real)0;
        b[i] = B_OFF >= 0 ? p[B_OFF + i] : (real)0;
    }
    const real sigma = p[SIGMA_IDX];
#if SKEW
    const real gamma = p[SIGMA_IDX + 1];
    const real xi = -sigma * (gamma / sqrt((real)1 + gamma * gamma)) * REAL_SQRT_2_OVER_PI;
#else
    const real xi = (real)0;
#endif

    ksum sq = {0, 0}, log_phi = {0, 0};
    /* prod(|m_j|) kept as mantissa * 2^expo, renormalised every pixel, so the
     * log of the product costs one log per work-item instead of one per pixel. */
    real mant = (real)1;
    int expo = 0;
    for (int j = g * WGS + lid; j < n_pix; j += groups * WGS) {
        real add = (real)0, mult = (real)0;
        for (int i = 0; i < NSYS; i++) {
            real t = templates[i * n_pix + j];
            add += a[i] * t;
            mult += b[i] * t;
        }
        real m = (real)1 + mult;
        real u = (delta[j] - add) / m - xi;
        ksum_add(&sq, u * u);
        int e;
        mant = frexp(mant * fabs(m), &e);
        expo += e;
#if SKEW
        ksum_add(&log_phi, log_ndtr(gamma * u / sigma));
#endif
    }
    ksum log_m = {log(mant), 0};
    ksum_add(&log_m, (real)expo * REAL_LN2);

    __local ksum red[3][WGS];
    red[0][lid] = sq;
    red[1][lid] = log_m;
    red[2][lid] = log_phi;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = WGS / 2; stride > 0; stride >>= 1) {
        if (lid < stride)
            for (int k = 0; k < 3; k++) {
                ksum acc = red[k][lid];
                ksum_merge(&acc, red[k][lid + stride]);
                red[k][lid] = acc;
            }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) {
        __global real *out = partial + (w * groups + g) * 6;
        for (int k = 0; k < 3; k++) {
            out[2 * k] = red[k][0].sum;
            out[2 * k + 1] = red[k][0].comp;
        }
    }
}
