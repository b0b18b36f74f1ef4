/* Whole runs through the library: the additive model against its exact
 * posterior, cancel-and-resume against an uninterrupted run, and resume
 * with different settings. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sysmap/run.h"
#include "sysmap/stats.h"
#include "testutil.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static sm_data_t *make_map(size_t n, size_t s, const double *a, const double *b)
{
    return sm_test_make_map(n, s, a, b, 12345);
}

START_TEST(test_additive_matches_analytic_posterior)
{
    const double a[3] = {0.03, -0.02, 0.01}, b[3] = {0, 0, 0};
    sm_data_t *data = make_map(2000, 3, a, b);
    sm_additive_posterior_t *post;
    ck_assert_int_eq(sm_additive_posterior(data, &post), SM_OK);

    sm_run_config_t cfg;
    sm_run_config_default(&cfg);
    cfg.model = SM_MODEL_ADDITIVE;
    cfg.n_walkers = 32;
    cfg.n_steps = 1500;
    cfg.n_burn = 300;
    sm_run_t *run;
    ck_assert_int_eq(sm_run_create(&run, data, &cfg), SM_OK);
    ck_assert_int_eq(sm_run_execute(run, NULL, 0, NULL, NULL), SM_OK);
    const sm_summary_t *s = sm_run_summary(run);
    ck_assert_ptr_nonnull(s);
    for (size_t i = 0; i < 3; i++) {
        /* Monte-Carlo standard error of the median ~ sqrt(pi/2) sd / sqrt(ESS). */
        double mcse = sqrt(M_PI / 2.0) * s->std[i] / sqrt(s->ess[i]);
        ck_assert_msg(fabs(s->median[i] - post->a_ols[i]) < 3.0 * mcse,
                      "a_%zu: median %.6g vs analytic %.6g (3 MCSE = %.3g)", i + 1,
                      s->median[i], post->a_ols[i], 3.0 * mcse);
        for (size_t k = 0; k < 3; k++) {
            double want = post->cov_a[i * 3 + k];
            double scale = sqrt(post->cov_a[i * 3 + i] * post->cov_a[k * 3 + k]);
            ck_assert_msg(fabs(s->cov_a[i * 3 + k] - want) < 0.1 * scale,
                          "cov_a[%zu][%zu] = %.4g, analytic %.4g", i, k, s->cov_a[i * 3 + k],
                          want);
        }
        ck_assert_double_eq(s->cov_b[i * 3 + i], 0.0);
    }
    double sigma_mcse = sqrt(M_PI / 2.0) * s->std[3] / sqrt(s->ess[3]);
    ck_assert_msg(fabs(s->median[3] - post->sigma_median) < 3.0 * sigma_mcse,
                  "sigma: median %.6g vs analytic %.6g", s->median[3], post->sigma_median);
    sm_run_free(run);
    sm_additive_posterior_free(post);
    sm_data_free(data);
}
END_TEST

static int cancel_at(void *user, size_t done, size_t total)
{
    (void)total;
    return done == *(size_t *)user;
}

static sm_run_t *small_run(const sm_data_t *data, uint32_t seed)
{
    sm_run_config_t cfg;
    sm_run_config_default(&cfg);
    cfg.n_walkers = 16;
    cfg.n_steps = 60;
    cfg.n_burn = 10;
    cfg.flush_every = 7;
    cfg.seed = seed;
    sm_run_t *run;
    ck_assert_int_eq(sm_run_create(&run, data, &cfg), SM_OK);
    return run;
}

START_TEST(test_cancel_and_resume_is_uninterrupted)
{
    const double a[3] = {0.02, 0.0, -0.01}, b[3] = {0.05, -0.03, 0.0};
    sm_data_t *data = make_map(300, 3, a, b);
    char path[4096], partial[4200];
    snprintf(path, sizeof path, "%s", sm_test_tmp_path("resume.h5"));
    snprintf(partial, sizeof partial, "%s%s", path, SM_PARTIAL_SUFFIX);

    sm_run_t *whole = small_run(data, 11);
    ck_assert_int_eq(sm_run_execute(whole, NULL, 0, NULL, NULL), SM_OK);

    sm_run_t *first = small_run(data, 11);
    size_t stop = 23;
    ck_assert_int_eq(sm_run_execute(first, path, 0, cancel_at, &stop), SM_ECANCELLED);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "after step 23"));
    ck_assert_int_eq(access(partial, F_OK), 0);
    ck_assert_int_ne(access(path, F_OK), 0);

    /* Different settings are refused and leave the partial file alone. */
    sm_run_t *other = small_run(data, 12);
    ck_assert_int_eq(sm_run_execute(other, path, 1, NULL, NULL), SM_EMISMATCH);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "seed"));
    ck_assert_int_eq(access(partial, F_OK), 0);

    sm_run_t *second = small_run(data, 11);
    ck_assert_int_eq(sm_run_execute(second, path, 1, NULL, NULL), SM_OK);
    ck_assert_int_eq(access(path, F_OK), 0);
    ck_assert_int_ne(access(partial, F_OK), 0);
    size_t n = 60 * 16 * 7;
    ck_assert_int_eq(memcmp(sm_run_chain(whole), sm_run_chain(second), n * sizeof(double)), 0);
    ck_assert_int_eq(memcmp(sm_run_log_prob(whole), sm_run_log_prob(second),
                            60 * 16 * sizeof(double)), 0);
    const sm_summary_t *sw = sm_run_summary(whole), *ss = sm_run_summary(second);
    for (size_t i = 0; i < 7; i++)
        ck_assert_double_eq(sw->median[i], ss->median[i]);
    for (size_t w = 0; w < 16; w++)
        ck_assert_double_eq(sw->acceptance_fraction[w], ss->acceptance_fraction[w]);

    sm_run_free(whole);
    sm_run_free(first);
    sm_run_free(other);
    sm_run_free(second);
    sm_data_free(data);
    unlink(path);
}
END_TEST

START_TEST(test_bad_configurations)
{
    const double a[2] = {0.01, 0.0}, b[2] = {0.0, 0.0};
    sm_data_t *data = make_map(50, 2, a, b);
    sm_run_config_t cfg;
    sm_run_t *run;
    sm_run_config_default(&cfg);
    cfg.n_steps = 0;
    ck_assert_int_eq(sm_run_create(&run, data, &cfg), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "at least 1"));
    sm_run_config_default(&cfg);
    cfg.flush_every = 0;
    ck_assert_int_eq(sm_run_create(&run, data, &cfg), SM_EINVAL);
    sm_run_config_default(&cfg);
    cfg.backend = "opencl-not-here";
    ck_assert_int_eq(sm_run_create(&run, data, &cfg), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "unknown backend"));
    sm_run_config_default(&cfg);
    cfg.n_walkers = 10;
    cfg.n_steps = 5;
    cfg.n_burn = 1;
    ck_assert_int_eq(sm_run_create(&run, data, &cfg), SM_OK);
    ck_assert_int_eq(sm_run_execute(run, NULL, 1, NULL, NULL), SM_EINVAL);
    ck_assert_ptr_null(sm_run_summary(run));
    sm_run_free(run);
    sm_data_free(data);
}
END_TEST

static Suite *run_suite(void)
{
    Suite *s = suite_create("run");
    TCase *tc = tcase_create("run");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_additive_matches_analytic_posterior);
    tcase_add_test(tc, test_cancel_and_resume_is_uninterrupted);
    tcase_add_test(tc, test_bad_configurations);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sm_test_run(run_suite());
}
