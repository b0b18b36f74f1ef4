/* The additive model's exact posterior: hand-computed small maps, numpy's
 * lstsq on a larger one. Literals marked "numpy" are printed by:
 * /usr/bin/python3 tests/stats_truths.py */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sysmap/stats.h"
#include "testutil.h"

static sm_stats_additive_posterior_t *posterior_of(size_t n, size_t s, const double *delta,
                                             const double *templates, const uint8_t *mask)
{
    sm_data_t *data = NULL;
    ck_assert_int_eq(sm_data_create(&data, n, s, delta, templates, mask), SM_OK);
    sm_stats_additive_posterior_t *post = NULL;
    ck_assert_int_eq(sm_stats_additive_posterior(&post, data), SM_OK);
    sm_data_free(data);
    ck_assert_uint_eq(post->n_sys, s);
    return post;
}

START_TEST(one_template_by_hand)
{
    /* Pixel 3 is masked out (its values must not count). Over the 6 used
     * pixels: X^T X = 11, X^T d = 9, d^T d = 11, so a = 9/11,
     * RSS = 11 - 81/11 = 40/11, alpha = (6-1-1)/2 = 2, beta = 20/11,
     * cov_a = beta/(alpha-1)/11 = 20/121. */
    static const double t[7] = {1, -1, 2, 100, 0, -2, 1};
    static const double d[7] = {1, 0, 2, -50, 1, -1, 2};
    static const uint8_t mask[7] = {1, 1, 1, 0, 1, 1, 1};
    sm_stats_additive_posterior_t *post = posterior_of(7, 1, d, t, mask);
    ck_assert_close(post->a_ols[0], 9.0 / 11.0, 1e-15, 0);
    ck_assert_close(post->rss, 40.0 / 11.0, 1e-14, 0);
    ck_assert_close(post->alpha, 2.0, 0, 0);
    ck_assert_close(post->beta, 20.0 / 11.0, 1e-14, 0);
    ck_assert_close(post->xtx_inv[0], 1.0 / 11.0, 1e-15, 0);
    ck_assert_close(post->cov_a[0], 20.0 / 121.0, 1e-14, 0);
    /* Median of Gamma(2, 1): 1 - e^-g (1 + g) = 1/2 at g = 1.6783469900166605
     * (bisection in stats_truths.py); sigma_median = sqrt(beta / g). */
    ck_assert_close(post->sigma_median, sqrt((20.0 / 11.0) / 1.6783469900166605), 1e-12, 0);
    sm_stats_additive_posterior_free(post);
}
END_TEST

START_TEST(two_orthogonal_templates_by_hand)
{
    /* t1 . t2 = 0, |t1|^2 = 6, |t2|^2 = 4; t1 . d = 6, t2 . d = 4, so
     * a = (1, 1), residual d - t1 - t2 = (1, 1, 1, 0, 0, 3), RSS = 12,
     * alpha = 3/2, beta = 6, cov_a = 12 diag(1/6, 1/4) = diag(2, 3). */
    static const double t[2 * 6] = {1, 1, 1, -1, -1, -1, 1, -1, 0, 1, -1, 0};
    static const double d[6] = {3, 1, 2, 0, -2, 2};
    sm_stats_additive_posterior_t *post = posterior_of(6, 2, d, t, NULL);
    static const double inv[4] = {1.0 / 6.0, 0, 0, 0.25};
    static const double cov[4] = {2, 0, 0, 3};
    ck_assert_close(post->a_ols[0], 1.0, 1e-15, 0);
    ck_assert_close(post->a_ols[1], 1.0, 1e-15, 0);
    ck_assert_close(post->rss, 12.0, 1e-14, 0);
    ck_assert_close(post->alpha, 1.5, 0, 0);
    ck_assert_close(post->beta, 6.0, 1e-14, 0);
    for (int i = 0; i < 4; i++) {
        ck_assert_close(post->xtx_inv[i], inv[i], 1e-15, 1e-16);
        ck_assert_close(post->cov_a[i], cov[i], 1e-14, 1e-15);
    }
    /* Median of Gamma(3/2, 1): erf(sqrt g) - 2 sqrt(g/pi) e^-g = 1/2. */
    ck_assert_close(post->sigma_median, sqrt(6.0 / 1.1829869421876689), 1e-12, 0);
    sm_stats_additive_posterior_free(post);
}
END_TEST

/* The map of stats_truths.py: templates (3, 200) and noise from a 32-bit LCG
 * (uniform in [-0.5, 0.5)), d = 0.3 t1 - 0.2 t2 + 0.1 t3 + 0.05 noise. */
enum { LS_N = 200, LS_S = 3 };

START_TEST(three_templates_vs_numpy)
{
    double t[LS_S * LS_N], d[LS_N], noise[LS_N];
    uint32_t state = 777;
    for (size_t k = 0; k < LS_S * LS_N + LS_N; k++) {
        state = 1664525u * state + 1013904223u;
        double u = (double)state / 4294967296.0 - 0.5;
        if (k < LS_S * LS_N)
            t[k] = u;
        else
            noise[k - LS_S * LS_N] = u;
    }
    for (size_t j = 0; j < LS_N; j++)
        d[j] = 0.3 * t[j] - 0.2 * t[LS_N + j] + 0.1 * t[2 * LS_N + j] + 0.05 * noise[j];
    sm_stats_additive_posterior_t *post = posterior_of(LS_N, LS_S, d, t, NULL);
    /* numpy: np.linalg.lstsq(X, d), np.linalg.inv(X.T @ X) */
    static const double a[3] = {0.2944368342099916, -0.20005442806977228, 0.0959185329679652};
    static const double inv[9] = {
        0.0590664902480811, 0.0022092277558697832, 0.0031227529946410665,
        0.0022092277558697832, 0.0666210961983895, -0.0005131736925021975,
        0.0031227529946410665, -0.0005131736925021976, 0.06466654747593528};
    static const double cov[9] = {
        1.0821213302265255e-05, 4.047392130316795e-07, 5.721006293648262e-07,
        4.047392130316795e-07, 1.220524682210869e-05, -9.401543860747281e-08,
        5.721006293648262e-07, -9.401543860747283e-08, 1.1847165809566484e-05};
    for (int i = 0; i < 3; i++)
        ck_assert_close(post->a_ols[i], a[i], 1e-12, 0);
    for (int i = 0; i < 9; i++) {
        ck_assert_close(post->xtx_inv[i], inv[i], 1e-12, 0);
        ck_assert_close(post->cov_a[i], cov[i], 1e-11, 0);
    }
    ck_assert_close(post->rss, 0.035541562937331635, 1e-11, 0);
    ck_assert_close(post->alpha, 98.0, 0, 0);
    ck_assert_close(post->beta, 0.035541562937331635 / 2, 1e-11, 0);
    /* Gamma(98, 1) median by bisection on its closed-form CDF. */
    ck_assert_close(post->sigma_median, 0.013488996143773276, 1e-11, 0);
    sm_stats_additive_posterior_free(post);
}
END_TEST

/* Set in *out before a failing call, which must reset it to NULL. */
static sm_stats_additive_posterior_t sentinel;

static sm_status posterior_status(size_t n, size_t s, const double *d, const double *t)
{
    sm_data_t *data = NULL;
    ck_assert_int_eq(sm_data_create(&data, n, s, d, t, NULL), SM_OK);
    sm_stats_additive_posterior_t *post = &sentinel;
    sm_status st = sm_stats_additive_posterior(&post, data);
    ck_assert_ptr_null(post);
    sm_data_free(data);
    return st;
}

START_TEST(collinear_templates_are_singular)
{
    static const double t[2 * 6] = {1, -1, 2, 0.5, -2, 1, 2, -2, 4, 1, -4, 2};
    static const double d[6] = {1, 0, 2, 1, -1, 2};
    ck_assert_int_eq(posterior_status(6, 2, d, t), SM_ENUMERIC);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "singular"));
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "collinear"));
    static const double zero[2 * 6] = {1, -1, 2, 0.5, -2, 1, 0, 0, 0, 0, 0, 0};
    ck_assert_int_eq(posterior_status(6, 2, d, zero), SM_ENUMERIC);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "singular"));
}
END_TEST

START_TEST(too_few_pixels)
{
    /* N = S + 3: alpha = 1, the covariance of a is infinite. */
    static const double t[2 * 5] = {1, 1, 1, -1, -1, 1, -1, 0, 1, -1};
    static const double d[5] = {3, 1, 2, 0, -2};
    ck_assert_int_eq(posterior_status(5, 2, d, t), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "N = 5"));
    ck_assert_int_eq(posterior_status(4, 1, d, t), SM_EINVAL);
    ck_assert_int_eq(posterior_status(1, 1, d, t), SM_EINVAL);
}
END_TEST

START_TEST(null_arguments)
{
    sm_stats_additive_posterior_t *post = &sentinel;
    ck_assert_int_eq(sm_stats_additive_posterior(&post, NULL), SM_EINVAL);
    ck_assert_ptr_null(post);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "NULL data"));
    sm_data_t *data = NULL;
    static const double t[6] = {1, -1, 2, 0, -2, 1}, d[6] = {1, 0, 2, 1, -1, 2};
    ck_assert_int_eq(sm_data_create(&data, 6, 1, d, t, NULL), SM_OK);
    ck_assert_int_eq(sm_stats_additive_posterior(NULL, data), SM_EINVAL);
    sm_data_free(data);
    sm_stats_additive_posterior_free(NULL);
}
END_TEST

static Suite *posterior_suite(void)
{
    Suite *s = suite_create("posterior");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, one_template_by_hand);
    tcase_add_test(tc, two_orthogonal_templates_by_hand);
    tcase_add_test(tc, three_templates_vs_numpy);
    tcase_add_test(tc, collinear_templates_are_singular);
    tcase_add_test(tc, too_few_pixels);
    tcase_add_test(tc, null_arguments);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sm_test_run(posterior_suite());
}
