/* Chain statistics against numpy and emcee 3.1.4. Literals marked "numpy" or
 * "emcee" are printed by: /usr/bin/python3 tests/stats_truths.py */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sysmap/stats.h"
#include "testutil.h"

/* (5, 3): odd n; its first 4 rows: even n. */
static const double M[5 * 3] = {1.5,  -2.0, 0.25, 3.0, 4.5, -1.0, -0.5, 2.0,
                                0.75, 2.25, -1.5, 3.0, 0.0, 1.0,  -2.5};

START_TEST(median_odd_and_even)
{
    double med[3];
    ck_assert_int_eq(sm_stats_median(M, 5, 3, med), SM_OK);
    /* numpy: np.median(M, axis=0); sorted columns read off by hand. */
    ck_assert_close(med[0], 1.5, 0, 0);
    ck_assert_close(med[1], 1.0, 0, 0);
    ck_assert_close(med[2], 0.25, 0, 0);
    ck_assert_int_eq(sm_stats_median(M, 4, 3, med), SM_OK);
    /* numpy: np.median(M[:4], axis=0) = mean of the two middle values. */
    ck_assert_close(med[0], (1.5 + 2.25) / 2, 0, 0);
    ck_assert_close(med[1], (-1.5 + 2.0) / 2, 0, 0);
    ck_assert_close(med[2], (0.25 + 0.75) / 2, 0, 0);
}
END_TEST

START_TEST(median_nan_column_is_nan)
{
    double x[3 * 2] = {1.0, 2.0, NAN, 3.0, 4.0, 5.0};
    double med[2];
    ck_assert_int_eq(sm_stats_median(x, 3, 2, med), SM_OK);
    ck_assert(isnan(med[0]));   /* as np.median */
    ck_assert_close(med[1], 3.0, 0, 0);
}
END_TEST

START_TEST(median_errors)
{
    double med[3];
    ck_assert_int_eq(sm_stats_median(M, 0, 3, med), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "empty"));
    ck_assert_int_eq(sm_stats_median(M, 5, 0, med), SM_EINVAL);
    ck_assert_int_eq(sm_stats_median(NULL, 5, 3, med), SM_EINVAL);
    ck_assert_int_eq(sm_stats_median(M, 5, 3, NULL), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "NULL"));
}
END_TEST

START_TEST(covariance_vs_numpy)
{
    /* numpy: np.cov(M, rowvar=False) */
    static const double want[9] = {
        2.1875, 0.2812500000000001, 0.7812499999999999,
        0.2812500000000001, 7.075, -2.7249999999999996,
        0.7812499999999999, -2.7249999999999996, 4.206250000000001};
    double cov[9];
    ck_assert_int_eq(sm_stats_covariance(M, 5, 3, 0, 3, cov), SM_OK);
    for (int i = 0; i < 9; i++)
        ck_assert_close(cov[i], want[i], 1e-14, 1e-15);
    /* numpy: np.cov(M[:4, 1:3], rowvar=False); (0,0) by hand: 113/12. */
    static const double want_even[4] = {9.416666666666666, -3.4166666666666665,
                                        -3.4166666666666665, 2.7916666666666665};
    ck_assert_int_eq(sm_stats_covariance(M, 4, 3, 1, 2, cov), SM_OK);
    for (int i = 0; i < 4; i++)
        ck_assert_close(cov[i], want_even[i], 1e-14, 1e-15);
    ck_assert_close(cov[0], 113.0 / 12.0, 1e-15, 0);
}
END_TEST

START_TEST(covariance_errors)
{
    double cov[9];
    ck_assert_int_eq(sm_stats_covariance(M, 1, 3, 0, 3, cov), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "at least 2 samples"));
    ck_assert_int_eq(sm_stats_covariance(M, 0, 3, 0, 3, cov), SM_EINVAL);
    ck_assert_int_eq(sm_stats_covariance(M, 5, 3, 2, 2, cov), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "columns [2, 4)"));
    ck_assert_int_eq(sm_stats_covariance(M, 5, 3, 0, 0, cov), SM_EINVAL);
    ck_assert_int_eq(sm_stats_covariance(NULL, 5, 3, 0, 3, cov), SM_EINVAL);
    ck_assert_int_eq(sm_stats_covariance(M, 5, 3, 0, 3, NULL), SM_EINVAL);
}
END_TEST

/* Flat chain (5, n_dim) whose column c holds M[:, c % 3] + c, so each block's
 * covariance is a known sub-matrix of np.cov(M, rowvar=False). */
static void shifted_chain(double *flat, size_t n_dim)
{
    for (size_t i = 0; i < 5; i++)
        for (size_t c = 0; c < n_dim; c++)
            flat[i * n_dim + c] = M[i * 3 + c % 3] + (double)c;
}

/* The 2 x 2 block of np.cov(M, rowvar=False) for columns p, q of M. */
static void expect_block(const double *cov, size_t p, size_t q)
{
    double full[9];
    ck_assert_int_eq(sm_stats_covariance(M, 5, 3, 0, 3, full), SM_OK);
    ck_assert_close(cov[0], full[p * 3 + p], 1e-14, 1e-15);
    ck_assert_close(cov[1], full[p * 3 + q], 1e-14, 1e-15);
    ck_assert_close(cov[2], full[q * 3 + p], 1e-14, 1e-15);
    ck_assert_close(cov[3], full[q * 3 + q], 1e-14, 1e-15);
}

static void expect_zero(const double *cov)
{
    for (int i = 0; i < 4; i++)
        ck_assert_close(cov[i], 0.0, 0, 0);
}

START_TEST(param_covariance_layouts)
{
    double flat[5 * 6], cov_a[4], cov_b[4];
    sm_model_t model = SM_MODEL_INIT(SM_MODEL_ADDITIVE, 0, 2, SM_MODEL_SIGMA_MIN_DEFAULT);
    /* additive [a1 a2 sigma]: cov_a = cov of M[:, 0:2], cov_b = 0. */
    shifted_chain(flat, 3);
    ck_assert_int_eq(sm_stats_param_covariance(flat, 5, &model, cov_a, cov_b), SM_OK);
    expect_block(cov_a, 0, 1);
    expect_zero(cov_b);
    /* multiplicative [b1 b2 sigma]: the one vector is a and b (the reference
     * package's b = a), so cov_a = cov_b = cov of M[:, 0:2]. */
    model.kind = SM_MODEL_MULTIPLICATIVE;
    ck_assert_int_eq(sm_stats_param_covariance(flat, 5, &model, cov_a, cov_b), SM_OK);
    expect_block(cov_a, 0, 1);
    expect_block(cov_b, 0, 1);
    ck_assert_mem_eq(cov_a, cov_b, sizeof cov_a);
    /* combined [a1 a2 b1 b2 sigma]: a from M cols 0,1; b from M cols 2,0. */
    model.kind = SM_MODEL_COMBINED;
    shifted_chain(flat, 5);
    ck_assert_int_eq(sm_stats_param_covariance(flat, 5, &model, cov_a, cov_b), SM_OK);
    expect_block(cov_a, 0, 1);
    expect_block(cov_b, 2, 0);
    /* combined with skew [a1 a2 b1 b2 sigma gamma]: same blocks, 6 columns. */
    model.skew = 1;
    shifted_chain(flat, 6);
    ck_assert_int_eq(sm_stats_param_covariance(flat, 5, &model, cov_a, cov_b), SM_OK);
    expect_block(cov_a, 0, 1);
    expect_block(cov_b, 2, 0);
}
END_TEST

START_TEST(param_covariance_errors)
{
    double flat[5 * 3], cov_a[4], cov_b[4];
    shifted_chain(flat, 3);
    sm_model_t model = SM_MODEL_INIT(SM_MODEL_ADDITIVE, 0, 2, SM_MODEL_SIGMA_MIN_DEFAULT);
    ck_assert_int_eq(sm_stats_param_covariance(flat, 1, &model, cov_a, cov_b), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "covariance of a"));
    ck_assert_int_eq(sm_stats_param_covariance(flat, 5, NULL, cov_a, cov_b), SM_EINVAL);
    ck_assert_int_eq(sm_stats_param_covariance(NULL, 5, &model, cov_a, cov_b), SM_EINVAL);
    ck_assert_int_eq(sm_stats_param_covariance(flat, 5, &model, cov_a, NULL), SM_EINVAL);
    model.n_sys = 0;
    ck_assert_int_eq(sm_stats_param_covariance(flat, 5, &model, cov_a, cov_b), SM_EINVAL);
}
END_TEST

/* The AR(1) chains of tests/stats_truths.py: x_t = rho_d x_{t-1} + e_t per
 * walker and parameter, e from a 32-bit LCG, uniform in [-0.5, 0.5). */
static double *ar1_chain(size_t n_steps, size_t n_walkers, size_t n_dim, const double *rho)
{
    double *x = malloc(n_steps * n_walkers * n_dim * sizeof *x);
    double *prev = calloc(n_walkers * n_dim, sizeof *prev);
    ck_assert(x != NULL && prev != NULL);
    uint32_t state = 12345;
    for (size_t t = 0; t < n_steps; t++) {
        for (size_t k = 0; k < n_walkers * n_dim; k++) {
            state = 1664525u * state + 1013904223u;
            prev[k] = rho[k % n_dim] * prev[k] + ((double)state / 4294967296.0 - 0.5);
            x[t * n_walkers * n_dim + k] = prev[k];
        }
    }
    free(prev);
    return x;
}

START_TEST(autocorr_matches_emcee)
{
    static const double rho[2] = {0.5, 0.9};
    double *x = ar1_chain(2000, 4, 2, rho);
    double tau[2];
    int too_short = -1;
    ck_assert_int_eq(sm_stats_autocorr_time(x, 2000, 4, 2, SM_STATS_AUTOCORR_C,
                                            SM_STATS_AUTOCORR_TOL, tau,
                                            &too_short),
                     SM_OK);
    /* emcee: integrated_time(x, c=5, tol=50); 50 tau < 2000, no flag. */
    ck_assert_close(tau[0], 3.4751120077336193, 1e-10, 0);
    ck_assert_close(tau[1], 15.414530305278621, 1e-10, 0);
    ck_assert_int_eq(too_short, 0);
    free(x);
}
END_TEST

START_TEST(autocorr_ramp_window)
{
    /* (8, 2, 1): walker 0 the ramp 0..7, walker 1 its squares; a chain far
     * too short, where the window stops early. */
    double x[8 * 2];
    for (int t = 0; t < 8; t++) {
        x[2 * t] = t;
        x[2 * t + 1] = (double)t * t;
    }
    double tau;
    int too_short = 0;
    ck_assert_int_eq(sm_stats_autocorr_time(x, 8, 2, 1, 5.0, 50.0, &tau, &too_short), SM_OK);
    /* emcee: integrated_time(ramp, quiet=True) */
    ck_assert_close(tau, 0.5393081761006293, 1e-12, 0);
    ck_assert_int_eq(too_short, 1);
}
END_TEST

START_TEST(autocorr_ar1_analytic)
{
    /* AR(1): tau = (1 + rho)/(1 - rho) = 19 for rho = 0.9. */
    static const double rho = 0.9;
    double *x = ar1_chain(25000, 16, 1, &rho);
    double tau;
    int too_short = -1;
    ck_assert_int_eq(sm_stats_autocorr_time(x, 25000, 16, 1, SM_STATS_AUTOCORR_C,
                                            SM_STATS_AUTOCORR_TOL,
                                            &tau, &too_short),
                     SM_OK);
    ck_assert_close(tau, 19.0, 0.10, 0);
    ck_assert_int_eq(too_short, 0);
    free(x);
}
END_TEST

START_TEST(autocorr_short_chain_flag)
{
    static const double rho = 0.9;
    double *x = ar1_chain(200, 4, 1, &rho);
    double tau;
    int too_short = 0;
    ck_assert_int_eq(sm_stats_autocorr_time(x, 200, 4, 1, SM_STATS_AUTOCORR_C,
                                            SM_STATS_AUTOCORR_TOL, &tau,
                                            &too_short),
                     SM_OK);
    /* Still an estimate, but 50 tau > 200 steps. */
    ck_assert(tau > 4.0 && isfinite(tau));
    ck_assert_int_eq(too_short, 1);
    /* tol = 0 never flags. */
    too_short = 1;
    ck_assert_int_eq(sm_stats_autocorr_time(x, 200, 4, 1, SM_STATS_AUTOCORR_C, 0.0, &tau,
                                            &too_short),
                     SM_OK);
    ck_assert_int_eq(too_short, 0);
    free(x);
}
END_TEST

START_TEST(autocorr_constant_parameter)
{
    /* The chain of autocorr_matches_emcee with parameter 1 set to 1.25. */
    static const double rho[2] = {0.5, 0.9};
    double *x = ar1_chain(2000, 4, 2, rho);
    for (size_t k = 0; k < 2000 * 4; k++)
        x[2 * k + 1] = 1.25;
    double tau[2];
    int too_short = 0;
    ck_assert_int_eq(sm_stats_autocorr_time(x, 2000, 4, 2, SM_STATS_AUTOCORR_C,
                                            SM_STATS_AUTOCORR_TOL, tau,
                                            &too_short),
                     SM_OK);
    /* emcee: [3.4751120077336193, nan] (0/0), its flag false; ours is set. */
    ck_assert_close(tau[0], 3.4751120077336193, 1e-10, 0);
    ck_assert(isnan(tau[1]));
    ck_assert_int_eq(too_short, 1);
    /* A single step is constant too. */
    ck_assert_int_eq(sm_stats_autocorr_time(x, 1, 4, 2, SM_STATS_AUTOCORR_C, SM_STATS_AUTOCORR_TOL,
                                            tau,
                                            &too_short),
                     SM_OK);
    ck_assert(isnan(tau[0]) && isnan(tau[1]));
    free(x);
}
END_TEST

START_TEST(autocorr_non_finite_sample)
{
    static const double rho[2] = {0.5, 0.9};
    double *x = ar1_chain(200, 4, 2, rho);
    x[(100 * 4 + 2) * 2 + 1] = INFINITY;   /* step 100, walker 2, parameter 1 */
    double tau[2];
    int too_short = 0;
    ck_assert_int_eq(sm_stats_autocorr_time(x, 200, 4, 2, SM_STATS_AUTOCORR_C, 1.0, tau,
                                            &too_short),
                     SM_OK);
    ck_assert(isfinite(tau[0]) && tau[0] < 200.0);
    ck_assert(isnan(tau[1]));
    ck_assert_int_eq(too_short, 1);
    free(x);
}
END_TEST

START_TEST(autocorr_errors)
{
    double x[4] = {0, 1, 3, 2}, tau;
    int flag;
    ck_assert_int_eq(sm_stats_autocorr_time(x, 0, 1, 1, 5.0, 50.0, &tau, &flag), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "0 steps"));
    ck_assert_int_eq(sm_stats_autocorr_time(x, 4, 0, 1, 5.0, 50.0, &tau, &flag), SM_EINVAL);
    ck_assert_int_eq(sm_stats_autocorr_time(x, 4, 1, 0, 5.0, 50.0, &tau, &flag), SM_EINVAL);
    ck_assert_int_eq(sm_stats_autocorr_time(x, 4, 1, 1, 0.0, 50.0, &tau, &flag), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "c = 0"));
    ck_assert_int_eq(sm_stats_autocorr_time(x, 4, 1, 1, NAN, 50.0, &tau, &flag), SM_EINVAL);
    ck_assert_int_eq(sm_stats_autocorr_time(x, 4, 1, 1, 5.0, -1.0, &tau, &flag), SM_EINVAL);
    ck_assert_int_eq(sm_stats_autocorr_time(NULL, 4, 1, 1, 5.0, 50.0, &tau, &flag), SM_EINVAL);
    ck_assert_int_eq(sm_stats_autocorr_time(x, 4, 1, 1, 5.0, 50.0, NULL, &flag), SM_EINVAL);
    ck_assert_int_eq(sm_stats_autocorr_time(x, 4, 1, 1, 5.0, 50.0, &tau, NULL), SM_EINVAL);
}
END_TEST

static Suite *stats_suite(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, median_odd_and_even);
    tcase_add_test(tc, median_nan_column_is_nan);
    tcase_add_test(tc, median_errors);
    tcase_add_test(tc, covariance_vs_numpy);
    tcase_add_test(tc, covariance_errors);
    tcase_add_test(tc, param_covariance_layouts);
    tcase_add_test(tc, param_covariance_errors);
    tcase_add_test(tc, autocorr_matches_emcee);
    tcase_add_test(tc, autocorr_ramp_window);
    tcase_add_test(tc, autocorr_ar1_analytic);
    tcase_add_test(tc, autocorr_short_chain_flag);
    tcase_add_test(tc, autocorr_constant_parameter);
    tcase_add_test(tc, autocorr_non_finite_sample);
    tcase_add_test(tc, autocorr_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sm_test_run(stats_suite());
}
