/* The closed-form posterior of the additive model (flat priors on a, sigma). */
#include "sysmap/stats.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>

#include "error.h"
#include "ksum.h"

/* Reciprocal condition number of X^T X below which the templates count as
 * collinear: a_ols would carry no correct digits. */
#define SM_POSTERIOR_MIN_RCOND (1e3 * DBL_EPSILON)

void sm_stats_additive_posterior_free(sm_stats_additive_posterior_t *post)
{
    if (post == NULL)
        return;
    free(post->a_ols);
    free(post->xtx_inv);
    free(post->cov_a);
    free(post);
}

/* Compensated sum of squares of d - X a over the N pixels. */
static double residual_sum_squares(const double *delta, const double *templates, size_t n_pix,
                                   size_t n_sys, const double *a)
{
    sm_ksum_t sum = {0, 0};
    for (size_t j = 0; j < n_pix; j++) {
        double r = delta[j];
        for (size_t i = 0; i < n_sys; i++)
            r -= a[i] * templates[i * n_pix + j];
        sm_ksum_add(&sum, r * r);
    }
    return sm_ksum_value(&sum);
}

/* Fills a_ols, xtx_inv and rss of post from the Cholesky factor of X^T X. */
static sm_status solve_least_squares(const sm_data_t *data, sm_stats_additive_posterior_t *post)
{
    size_t n = sm_data_n_pix(data), s = post->n_sys;
    gsl_matrix_const_view t = gsl_matrix_const_view_array(sm_data_templates(data), s, n);
    gsl_vector_const_view d = gsl_vector_const_view_array(sm_data_delta(data), n);
    gsl_matrix_view xtx = gsl_matrix_view_array(post->xtx_inv, s, s);
    gsl_vector_view a = gsl_vector_view_array(post->a_ols, s);
    gsl_vector *work = gsl_vector_alloc(3 * s);
    if (work == NULL)
        return SM_FAIL_NOMEM("posterior workspace");

    sm_status st = SM_OK;
    double rcond = 0.0;
    /* X^T X = T T^T and X^T d = T d, with T the (S, N) template rows. */
    gsl_blas_dsyrk(CblasLower, CblasNoTrans, 1.0, &t.matrix, 0.0, &xtx.matrix);
    gsl_blas_dgemv(CblasNoTrans, 1.0, &t.matrix, &d.vector, 0.0, &a.vector);
    if (gsl_linalg_cholesky_decomp1(&xtx.matrix) != GSL_SUCCESS ||
        gsl_linalg_cholesky_rcond(&xtx.matrix, &rcond, work) != GSL_SUCCESS ||
        !(rcond >= SM_POSTERIOR_MIN_RCOND)) {
        st = sm_fail(SM_ENUMERIC,
                     "additive posterior: X^T X of the %zu templates is singular (reciprocal "
                     "condition number %.3g): templates are collinear or zero",
                     s, rcond);
    } else {
        gsl_linalg_cholesky_svx(&xtx.matrix, &a.vector);
        gsl_linalg_cholesky_invert(&xtx.matrix);
        post->rss = residual_sum_squares(sm_data_delta(data), sm_data_templates(data), n, s,
                                         post->a_ols);
    }
    gsl_vector_free(work);
    return st;
}

sm_status sm_stats_additive_posterior(sm_stats_additive_posterior_t **out, const sm_data_t *data)
{
    if (out == NULL)
        return sm_fail(SM_EINVAL, "additive posterior: NULL output");
    *out = NULL;
    if (data == NULL)
        return sm_fail(SM_EINVAL, "additive posterior: NULL data");
    size_t n = sm_data_n_pix(data), s = sm_data_n_sys(data);
    /* alpha = (N - S - 1)/2 > 1 for the marginal covariance of a to exist. */
    if (n <= s + 3)
        return sm_fail(SM_EINVAL,
                       "additive posterior: needs more than S + 3 = %zu pixels for a finite "
                       "covariance (alpha = (N - S - 1)/2 > 1), got N = %zu",
                       s + 3, n);
    sm_stats_additive_posterior_t *post = calloc(1, sizeof *post);
    if (post == NULL)
        return SM_FAIL_NOMEM("additive posterior");
    post->n_sys = s;
    post->a_ols = malloc(s * sizeof *post->a_ols);
    post->xtx_inv = calloc(s * s, sizeof *post->xtx_inv);
    post->cov_a = malloc(s * s * sizeof *post->cov_a);
    if (post->a_ols == NULL || post->xtx_inv == NULL || post->cov_a == NULL) {
        sm_stats_additive_posterior_free(post);
        return SM_FAIL_NOMEM("additive posterior arrays");
    }
    gsl_error_handler_t *saved = sm_gsl_quiet();
    sm_status st = solve_least_squares(data, post);
    double g_median = st == SM_OK ? gsl_cdf_gamma_Pinv(0.5, 0.5 * (double)(n - s - 1), 1.0) : 0;
    sm_gsl_restore(saved);
    if (st != SM_OK) {
        sm_stats_additive_posterior_free(post);
        return st;
    }
    post->alpha = 0.5 * (double)(n - s - 1);
    post->beta = 0.5 * post->rss;
    double scale = post->beta / (post->alpha - 1.0);
    for (size_t k = 0; k < s * s; k++)
        post->cov_a[k] = scale * post->xtx_inv[k];
    /* sigma^2 = beta / g with g ~ Gamma(alpha, 1), so median(sigma) maps from median(g). */
    if (!(g_median > 0 && isfinite(g_median))) {
        st = sm_fail(SM_ENUMERIC, "additive posterior: median of Gamma(%g, 1) failed",
                     post->alpha);
        sm_stats_additive_posterior_free(post);
        return st;
    }
    post->sigma_median = sqrt(post->beta / g_median);
    *out = post;
    return SM_OK;
}
