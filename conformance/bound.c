/* A first-order rounding-error bound on the pixel sums' share of lnL: the
 * scale the log-likelihood tolerances multiply (conformance/tolerances.txt).
 *
 * Per pixel j, with S templates, A = |d_j| + sum_i |a_i t_ij| and
 * B = 1 + sum_i |b_i t_ij| (the magnitudes that enter m_j and the numerator,
 * so cancellation is accounted for), in units of u:
 *   u_j = (d_j - a.t_j) / m_j - xi is within
 *     E_u = ((S+3) A + (S+2) B |r_j|) / |m_j| + 2 |r_j| + 7 |xi|
 *   (S+1 operations per dot product, one for each rounded input, the
 *   subtraction, the division and xi's six operations);
 *   u_j^2 / (2 sigma^2) within (2 |u_j| E_u + 3 u_j^2) / (2 sigma^2)
 *   (the square and a compensated sum's 2 u of its terms);
 *   ln|m_j| within (S+2) B / |m_j| + 4 |ln|m_j|| + 2 (m_j's error through the
 *   log's slope, the log's own 2 ulp, the sum's 2 u, a running product);
 *   ln Phi(x_j), x_j = gamma u_j / sigma, within
 *     (phi/Phi)(x_j) (|gamma| / sigma E_u + 3 |x_j|) + 18 |ln Phi(x_j)| + 2
 *   (the slope of ln Phi is the inverse Mills ratio; the kernels' own
 *   ln Phi is within 4 ulp of mpmath for x <= 0, well inside 18; for x > 0
 *   the rounding of x^2 in exp(-x^2/2) adds up to x^2/4 ulp, the same as
 *   an error of u/2 relative in x, inside the 3 |x_j| term).
 * The terms the host adds from the sums (-(N/2) ln(2 pi sigma^2), N ln 2)
 * are computed by the same code for every backend and so do not enter. */
#include <math.h>

#include "conform.h"

#define HALF_LN_2PI 0.91893853320467274178

static double pixel_bound(double S, double A, double B, double m, double r, double xi,
                          const sm_model_t *model, double sigma, double gamma)
{
    double am = fabs(m), u = r - xi;
    double e_u = ((S + 3.0) * A + (S + 2.0) * B * fabs(r)) / am + 2.0 * fabs(r) + 7.0 * fabs(xi);
    double e = (2.0 * fabs(u) * e_u + 3.0 * u * u) / (2.0 * sigma * sigma);
    e += (S + 2.0) * B / am + 4.0 * fabs(log(am)) + 2.0;
    if (model->skew) {
        double x = gamma * u / sigma, log_phi = sm_model_log_ndtr(x);
        double mills = exp(-0.5 * x * x - HALF_LN_2PI - log_phi);
        e += mills * (fabs(gamma) / sigma * e_u + 3.0 * fabs(x)) + 18.0 * fabs(log_phi) + 2.0;
    }
    return e;
}

double conform_lp_bound(const sm_data_t *data, const sm_model_t *model, const double *p)
{
    if (!sm_model_in_prior(model, p))
        return 0.0;
    size_t n = sm_data_n_pix(data), s = model->n_sys;
    const double *d = sm_data_delta(data), *t = sm_data_templates(data);
    long a0 = sm_model_a_offset(model), b0 = sm_model_b_offset(model);
    double sigma = p[sm_model_sigma_index(model)];
    double gamma = model->skew ? p[sm_model_gamma_index(model)] : 0.0;
    double xi = model->skew ? sm_model_skew_xi(sigma, gamma) : 0.0, total = 0.0;
    for (size_t j = 0; j < n; j++) {
        double add = 0.0, mult = 0.0, A = fabs(d[j]), B = 1.0;
        for (size_t i = 0; i < s; i++) {
            double tij = t[i * n + j];
            if (a0 >= 0) {
                add += p[(size_t)a0 + i] * tij;
                A += fabs(p[(size_t)a0 + i] * tij);
            }
            if (b0 >= 0) {
                mult += p[(size_t)b0 + i] * tij;
                B += fabs(p[(size_t)b0 + i] * tij);
            }
        }
        double m = 1.0 + mult;
        if (m == 0.0)
            return INFINITY;
        total += pixel_bound((double)s, A, B, m, (d[j] - add) / m, xi, model, sigma, gamma);
    }
    return total;
}
