/* Whole runs through the library: the additive model against its exact
 * posterior, cancel-and-resume and extend against an uninterrupted run,
 * resume with different settings, an empty posterior and the warnings. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sysmap/convergence.h"
#include "sysmap/maps.h"
#include "sysmap/registry.h"
#include "sysmap/run.h"
#include "sysmap/stats.h"
#include "sysmap/status.h"
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
    sm_stats_additive_posterior_t *post;
    ck_assert_int_eq(sm_stats_additive_posterior(&post, data), SM_OK);

    sm_run_config_t cfg;
    sm_run_config_default(&cfg);
    cfg.model = SM_MODEL_ADDITIVE;
    cfg.n_walkers = 32;
    cfg.n_steps = 1500;
    cfg.n_burn = 300;
    sm_run_t *run;
    ck_assert_int_eq(sm_run_create(&run, data, &cfg), SM_OK);
    ck_assert_int_eq(sm_run_execute(run, NULL, 0, NULL, NULL), SM_OK);
    const sm_chainfile_summary_t *s = sm_run_summary(run);
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
    sm_stats_additive_posterior_free(post);
    sm_data_free(data);
}
END_TEST

static int cancel_at(void *user, size_t done, size_t total)
{
    (void)total;
    return done == *(size_t *)user;
}

static void small_config(sm_run_config_t *cfg, uint32_t seed)
{
    sm_run_config_default(cfg);
    cfg->n_walkers = 16;
    cfg->n_steps = 60;
    cfg->n_burn = 10;
    cfg->flush_every = 7;
    cfg->seed = seed;
}

static sm_run_t *small_run(const sm_data_t *data, uint32_t seed)
{
    sm_run_config_t cfg;
    small_config(&cfg, seed);
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
    snprintf(partial, sizeof partial, "%s%s", path, SM_CHAINFILE_PARTIAL_SUFFIX);

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
    const sm_chainfile_summary_t *sw = sm_run_summary(whole), *ss = sm_run_summary(second);
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

static sm_run_t *reference_run(const sm_data_t *data, size_t walkers, size_t steps, size_t burn)
{
    sm_run_config_t cfg;
    sm_run_config_default(&cfg);
    cfg.backend = "reference";
    cfg.n_walkers = walkers;
    cfg.n_steps = steps;
    cfg.n_burn = burn;
    cfg.seed = 2024;
    sm_run_t *run;
    ck_assert_int_eq(sm_run_create(&run, data, &cfg), SM_OK);
    return run;
}

static int count_calls(void *user, size_t done, size_t total)
{
    size_t *last = user;
    ck_assert_uint_eq(done, last[0] + 1); /* steps counted across extends */
    last[0] = done;
    last[1] = total;
    return 0;
}

static void assert_same_bits(const double *a, const double *b, size_t n, const char *what)
{
    ck_assert_msg(memcmp(a, b, n * sizeof *a) == 0, "%s differs", what);
}

/* execute(40) + extend(15) + extend(10) is execute(65), bit for bit, with
 * an odd ensemble; the summaries follow. */
START_TEST(test_extend_is_one_longer_run)
{
    const double a[2] = {0.02, -0.01}, b[2] = {0.03, 0.0};
    sm_data_t *data = make_map(250, 2, a, b);
    size_t w = 13, d = 5, steps = 65;
    sm_run_t *whole = reference_run(data, w, steps, 20);
    ck_assert_int_eq(sm_run_execute(whole, NULL, 0, NULL, NULL), SM_OK);

    sm_run_t *run = reference_run(data, w, 40, 20);
    sm_rng_state_t rs, want_rs;
    ck_assert_int_eq(sm_run_extend(run, 5, NULL, NULL), SM_EINVAL); /* not executed */
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "execute it first"));
    ck_assert_int_eq(sm_run_rng_state(run, &rs), SM_EINVAL);
    size_t calls[2] = {0, 0};
    ck_assert_int_eq(sm_run_execute(run, NULL, 0, count_calls, calls), SM_OK);
    ck_assert_int_eq(sm_run_extend(run, 15, count_calls, calls), SM_OK);
    ck_assert_uint_eq(calls[1], 55);
    ck_assert_int_eq(sm_run_extend(run, 0, NULL, NULL), SM_OK); /* nothing more */
    ck_assert_int_eq(sm_run_extend(run, 10, count_calls, calls), SM_OK);
    ck_assert_uint_eq(calls[0], steps);
    ck_assert_uint_eq(sm_run_config(run)->n_steps, steps);
    ck_assert_uint_eq(sm_run_config(run)->n_burn, 20);

    assert_same_bits(sm_run_chain(run), sm_run_chain(whole), steps * w * d, "chain");
    assert_same_bits(sm_run_log_prob(run), sm_run_log_prob(whole), steps * w, "log_prob");
    ck_assert_int_eq(sm_run_rng_state(run, &rs), SM_OK);
    ck_assert_int_eq(sm_run_rng_state(whole, &want_rs), SM_OK);
    ck_assert_int_eq(memcmp(rs.key, want_rs.key, sizeof rs.key), 0);
    ck_assert_int_eq(rs.pos, want_rs.pos);
    ck_assert_int_eq(rs.has_gauss, want_rs.has_gauss);
    const sm_chainfile_summary_t *s = sm_run_summary(run), *sw = sm_run_summary(whole);
    ck_assert_uint_eq(s->n_kept, steps - 20);
    assert_same_bits(s->median, sw->median, d, "median");
    assert_same_bits(s->std, sw->std, d, "std");
    assert_same_bits(s->autocorr_time, sw->autocorr_time, d, "tau");
    assert_same_bits(s->drift, sw->drift, d, "drift");
    assert_same_bits(s->cov_b, sw->cov_b, 4, "cov_b");
    assert_same_bits(s->acceptance_fraction, sw->acceptance_fraction, w, "acceptance");
    ck_assert_uint_eq(sm_run_n_warnings(run), sm_run_n_warnings(whole));
    sm_run_free(run);
    sm_run_free(whole);
    sm_data_free(data);
}
END_TEST

/* A run that wrote a file is continued with --resume, not extend. */
START_TEST(test_extend_refuses_a_file_run)
{
    const double a[2] = {0.02, -0.01}, b[2] = {0.0, 0.0};
    sm_data_t *data = make_map(120, 2, a, b);
    sm_run_t *run = reference_run(data, 12, 12, 3);
    const char *path = sm_test_tmp_path("extend.h5");
    ck_assert_int_eq(sm_run_execute(run, path, 0, NULL, NULL), SM_OK);
    ck_assert_int_eq(sm_run_extend(run, 5, NULL, NULL), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "wrote a run file"));
    ck_assert_uint_eq(sm_run_config(run)->n_steps, 12);
    sm_rng_state_t rs;
    ck_assert_int_eq(sm_run_rng_state(run, &rs), SM_OK);
    ck_assert_int_eq(sm_run_extend(NULL, 5, NULL, NULL), SM_EINVAL);
    ck_assert_int_eq(sm_run_rng_state(run, NULL), SM_EINVAL);
    sm_run_free(run);
    sm_data_free(data);
    unlink(path);
}
END_TEST

/* n_burn == n_steps: an empty posterior with NaN summaries and a warning;
 * extending it gives the posterior of the new steps. */
START_TEST(test_empty_posterior)
{
    const double a[2] = {0.02, -0.01}, b[2] = {0.0, 0.0};
    sm_data_t *data = make_map(120, 2, a, b);
    sm_run_t *run = reference_run(data, 12, 10, 10);
    ck_assert_int_eq(sm_run_execute(run, NULL, 0, NULL, NULL), SM_OK);
    const sm_chainfile_summary_t *s = sm_run_summary(run);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->n_kept, 0);
    for (size_t k = 0; k < 5; k++) /* a_1 a_2 b_1 b_2 sigma */
        ck_assert(isnan(s->median[k]) && isnan(s->std[k]) && isnan(s->autocorr_time[k]) &&
                  isnan(s->ess[k]) && isnan(s->drift[k]));
    ck_assert(isnan(s->cov_a[0]) && isnan(s->var_b[1]));
    for (size_t i = 0; i < 12; i++)
        ck_assert(s->acceptance_fraction[i] >= 0.0 && s->acceptance_fraction[i] <= 1.0);
    ck_assert_uint_eq(sm_run_n_warnings(run), 1);
    ck_assert_ptr_nonnull(strstr(sm_run_warning(run, 0), "no post-burn-in steps"));
    ck_assert_ptr_null(sm_run_warning(run, 1));

    ck_assert_int_eq(sm_run_extend(run, 30, NULL, NULL), SM_OK);
    s = sm_run_summary(run);
    ck_assert_uint_eq(s->n_kept, 30);
    ck_assert(isfinite(s->median[0]) && isfinite(s->drift[0]));
    for (size_t i = 0; i < sm_run_n_warnings(run); i++)
        ck_assert_ptr_null(strstr(sm_run_warning(run, i), "no post-burn-in"));

    sm_run_config_t cfg = *sm_run_config(run);
    cfg.n_burn = cfg.n_steps + 1;
    sm_run_t *bad;
    ck_assert_int_eq(sm_run_create(&bad, data, &cfg), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "burn-in (41 steps) is longer than the run"));
    sm_run_free(run);
    sm_data_free(data);
}
END_TEST

/* Walkers started at 3x the noise level with no burn-in: sigma is still
 * falling through the whole chain, and the warning names it first. */
START_TEST(test_burn_in_warning)
{
    const double a[2] = {0.02, -0.01}, b[2] = {0.0, 0.0};
    sm_data_t *data = make_map(400, 2, a, b);
    size_t w = 16, d = 5;
    double *init = malloc(w * d * sizeof *init);
    unsigned long rng = 99UL;
    for (size_t i = 0; i < w; i++)
        for (size_t k = 0; k < d; k++)
            init[i * d + k] = k == 4 ? 0.3 * (1.0 + 0.01 * sm_test_normal(&rng))
                                     : 0.01 * sm_test_normal(&rng);
    sm_run_config_t cfg;
    sm_run_config_default(&cfg);
    cfg.backend = "reference";
    cfg.n_walkers = w;
    cfg.n_steps = 90;
    cfg.n_burn = 0;
    cfg.init = init;
    sm_run_t *run;
    ck_assert_int_eq(sm_run_create(&run, data, &cfg), SM_OK);
    ck_assert_int_eq(sm_run_execute(run, NULL, 0, NULL, NULL), SM_OK);
    const sm_chainfile_summary_t *s = sm_run_summary(run);
    ck_assert_str_eq(sm_run_param_name(run, 4), "sigma");
    ck_assert_msg(s->drift[4] < -SM_STATS_DRIFT_THRESHOLD, "sigma drift %.2f", s->drift[4]);
    ck_assert_uint_eq(sm_run_n_warnings(run), 1);
    const char *text = sm_run_warning(run, 0);
    ck_assert_msg(strncmp(text, "burn-in may be too short: sigma", 31) == 0, "%s", text);
    char value[32];
    snprintf(value, sizeof value, "%.1f", fabs(s->drift[4]));
    ck_assert_msg(strstr(text, value) != NULL, "%s lacks %s", text, value);
    ck_assert_ptr_nonnull(strstr(text, "run with a longer burn-in"));
    sm_run_free(run);
    free(init);
    sm_data_free(data);
}
END_TEST

/* Counts that overflow or exceed the machine's memory are refused before
 * any allocation, naming the quantity (they used to wrap to a tiny chain). */
START_TEST(test_sizes_are_refused)
{
    const double a[2] = {0.01, 0.0}, b[2] = {0.0, 0.0};
    sm_data_t *data = make_map(50, 2, a, b);
    sm_run_config_t cfg;
    sm_run_t *run = (sm_run_t *)&run;
    const size_t big = (size_t)1 << 61;
    sm_run_config_default(&cfg);
    cfg.n_steps = big;
    ck_assert_int_eq(sm_run_create(&run, data, &cfg), SM_EINVAL);
    ck_assert_ptr_null(run);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "2305843009213693952 steps x 250 walkers"));
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "overflows"));
    sm_run_config_default(&cfg);
    cfg.n_walkers = big;
    ck_assert_int_eq(sm_run_config_check(&cfg, 2), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "2305843009213693952 walkers"));
    sm_run_config_default(&cfg);
    cfg.n_steps = (size_t)1 << 40; /* fits, but not in any machine's memory */
    ck_assert_int_eq(sm_run_create(&run, data, &cfg), SM_ENOMEM);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "more than this machine's"));

    run = reference_run(data, 10, 5, 1);
    ck_assert_int_eq(sm_run_execute(run, NULL, 0, NULL, NULL), SM_OK);
    ck_assert_int_eq(sm_run_extend(run, SIZE_MAX - 2, NULL, NULL), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "overflow"));
    ck_assert_int_eq(sm_run_extend(run, big, NULL, NULL), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "steps x 10 walkers"));
    ck_assert_int_eq(sm_run_extend(run, 2, NULL, NULL), SM_OK); /* still continues */
    ck_assert_uint_eq(sm_run_config(run)->n_steps, 7);
    sm_run_free(run);
    sm_data_free(data);
}
END_TEST

/* Every initial walker at zero probability is an error naming the cause,
 * with no file left; some of them, a warning with the count. */
START_TEST(test_zero_probability_start)
{
    const double a[2] = {0.01, 0.0}, b[2] = {0.0, 0.0};
    sm_data_t *data = make_map(300, 2, a, b);
    const char *path = sm_test_tmp_path("zero.h5");
    char partial[4200];
    snprintf(partial, sizeof partial, "%s%s", path, SM_CHAINFILE_PARTIAL_SUFFIX);
    sm_run_config_t cfg;
    sm_run_config_default(&cfg);
    cfg.backend = "reference";
    cfg.n_walkers = 10;
    cfg.n_steps = 8;
    cfg.n_burn = 2;
    cfg.sigma_min = 10.0;
    sm_run_t *run;
    ck_assert_int_eq(sm_run_create(&run, data, &cfg), SM_OK);
    ck_assert_int_eq(sm_run_execute(run, path, 0, NULL, NULL), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "every initial walker has zero probability"));
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "not above sigma_min = 10"));
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "lower sigma_min"));
    ck_assert_int_ne(access(partial, F_OK), 0);
    ck_assert_int_ne(access(path, F_OK), 0);
    sm_run_free(run);

    /* A constant map: the seeded sigma is 0. */
    double delta[300], templates[600];
    unsigned long rng = 5UL;
    for (size_t j = 0; j < 300; j++) {
        delta[j] = 0.25;
        templates[j] = sm_test_normal(&rng);
        templates[300 + j] = sm_test_normal(&rng);
    }
    sm_data_t *flat;
    ck_assert_int_eq(sm_data_create(&flat, 300, 2, delta, templates, NULL), SM_OK);
    cfg.sigma_min = SM_MODEL_SIGMA_MIN_DEFAULT;
    ck_assert_int_eq(sm_run_create(&run, flat, &cfg), SM_OK);
    ck_assert_int_eq(sm_run_execute(run, path, 0, NULL, NULL), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "the map is constant"));
    ck_assert_int_ne(access(partial, F_OK), 0);
    sm_run_free(run);
    sm_data_free(flat);

    /* Three of ten given walkers below sigma_min: a warning. */
    size_t w = 10, d = 5;
    double init[50];
    for (size_t i = 0; i < w; i++)
        for (size_t k = 0; k < d; k++)
            init[i * d + k] = k == 4 ? (i < 3 ? -0.1 : 0.1 + 0.01 * sm_test_normal(&rng))
                                     : 0.01 * sm_test_normal(&rng);
    cfg.init = init;
    ck_assert_int_eq(sm_run_create(&run, data, &cfg), SM_OK);
    ck_assert_int_eq(sm_run_execute(run, NULL, 0, NULL, NULL), SM_OK);
    ck_assert_uint_ge(sm_run_n_warnings(run), 1);
    ck_assert_msg(strncmp(sm_run_warning(run, 0), "3 of 10 initial walkers have zero probability",
                          45) == 0, "%s", sm_run_warning(run, 0));
    sm_run_free(run);
    /* ... and every one of them: an error naming the given walkers. */
    for (size_t i = 0; i < w; i++)
        init[i * d + 4] = 1e-9 * (double)(i + 1);
    ck_assert_int_eq(sm_run_create(&run, data, &cfg), SM_OK);
    ck_assert_int_eq(sm_run_execute(run, NULL, 0, NULL, NULL), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "give initial walkers with sigma above"));
    sm_run_free(run);
    sm_data_free(data);
}
END_TEST

/* A reference backend whose evaluations fail from the fail_at-th on, with
 * status. */
typedef struct {
    size_t fail_at;
    sm_status status;
} failure_t;

typedef struct {
    sm_backend_t *inner;
    size_t calls;
    failure_t failure;
} failing_t;

static sm_status failing_sums(void *ctx, size_t k, const double *params, const int *in_prior,
                              sm_pixel_sums_t *sums)
{
    failing_t *f = ctx;
    if (++f->calls >= f->failure.fail_at)
        return sm_fail(f->failure.status, "injected failure (call %zu)", f->calls);
    return sm_backend_pixel_sums(f->inner, k, params, in_prior, sums);
}

static void failing_free(void *ctx)
{
    failing_t *f = ctx;
    sm_backend_free(f->inner);
    free(f);
}

static sm_status failing_factory(void *user, const sm_data_t *work, const sm_model_t *model,
                                 sm_backend_t **out)
{
    static const sm_backend_ops_t ops = {
        .struct_size = sizeof(sm_backend_ops_t),
        .pixel_sums = failing_sums, .free = failing_free};
    failing_t *f = calloc(1, sizeof *f);
    ck_assert_ptr_nonnull(f);
    f->failure = *(failure_t *)user;
    sm_status st = sm_backend_open(&f->inner, "reference", NULL, NULL, work, model);
    if (st != SM_OK) {
        free(f);
        return st;
    }
    /* named as the reference backend, so that it may resume its files */
    return sm_backend_create(out, &ops, f, model, sm_data_n_pix(work),
                             sm_backend_name(f->inner), sm_backend_device(f->inner),
                             sm_backend_precision(f->inner));
}

/* A run that fails part way leaves no file, but for a lost device: its
 * steps so far stay for --resume, as an interrupted run's. A resumed run
 * that fails keeps the partial file it continued. Every kept file resumes
 * to the uninterrupted chain. */
START_TEST(test_failed_runs_and_their_files)
{
    const double a[3] = {0.02, 0.0, -0.01}, b[3] = {0.05, -0.03, 0.0};
    sm_data_t *data = make_map(300, 3, a, b);
    char path[4096], partial[4200];
    snprintf(path, sizeof path, "%s", sm_test_tmp_path("failing.h5"));
    snprintf(partial, sizeof partial, "%s%s", path, SM_CHAINFILE_PARTIAL_SUFFIX);
    sm_run_config_t cfg;
    sm_run_config_default(&cfg);
    cfg.n_walkers = 16;
    cfg.n_steps = 60;
    cfg.n_burn = 10;
    cfg.flush_every = 7;
    cfg.seed = 11;
    cfg.backend = "reference";
    sm_run_t *run, *whole;
    ck_assert_int_eq(sm_run_create(&whole, data, &cfg), SM_OK);
    ck_assert_int_eq(sm_run_execute(whole, NULL, 0, NULL, NULL), SM_OK);
    /* two calls a step: step 20, after two flushes; then step 30 of the resume */
    const failure_t failures[] = {{41, SM_ENUMERIC}, {41, SM_EDEVICE}, {21, SM_EDEVICE}};
    const int resumed[] = {0, 0, 1}, kept[] = {0, 1, 1};
    for (size_t c = 0; c < 3; c++) {
        ck_assert_int_eq(sm_run_create_with_backend(&run, data, &cfg, failing_factory,
                                                    (void *)&failures[c]),
                         SM_OK);
        sm_status st = sm_run_execute(run, path, resumed[c], NULL, NULL);
        ck_assert_msg(st == failures[c].status, "%zu: %d: %s", c, (int)st, sm_last_error());
        ck_assert_int_ne(access(path, F_OK), 0);
        ck_assert_msg((access(partial, F_OK) == 0) == kept[c], "case %zu: partial file", c);
        sm_run_free(run);
    }
    sm_run_t *second;
    ck_assert_int_eq(sm_run_create(&second, data, &cfg), SM_OK);
    ck_assert_int_eq(sm_run_execute(second, path, 1, NULL, NULL), SM_OK);
    ck_assert_int_eq(memcmp(sm_run_chain(whole), sm_run_chain(second),
                            60 * 16 * 7 * sizeof(double)), 0);
    sm_run_free(whole);
    sm_run_free(second);
    sm_data_free(data);
    unlink(path);
}
END_TEST

static sm_status refusing_factory(void *user, const sm_data_t *work, const sm_model_t *model,
                                  sm_backend_t **out)
{
    (void)user, (void)work, (void)model;
    *out = NULL;
    return sm_fail(SM_EDEVICE, "no device (injected)");
}

/* A run that takes its data over (sysmap run's, for survey maps: one copy
 * of the templates, turned into the sampling basis in place) samples the
 * chain of one that copies them, bit for bit; its run file names the data
 * as given (a copying run resumes it); its maps, from the sampling-basis
 * templates mapped back, are the copying run's to rounding. Every failure
 * frees the data once (the sanitizer build checks leaks and double frees). */
START_TEST(test_adopting_run)
{
    const double a[3] = {0.02, 0.0, -0.01}, b[3] = {0.05, -0.03, 0.0};
    sm_data_t *data = make_map(300, 3, a, b);
    char path[4096];
    snprintf(path, sizeof path, "%s", sm_test_tmp_path("adopting.h5"));
    unlink(path);
    sm_run_t *whole = small_run(data, 11);
    ck_assert_int_eq(sm_run_execute(whole, NULL, 0, NULL, NULL), SM_OK);
    sm_run_config_t cfg;
    small_config(&cfg, 11);

    sm_run_t *first, *adopted;
    ck_assert_int_eq(sm_run_create_adopting(&first, make_map(300, 3, a, b), &cfg, NULL, NULL),
                     SM_OK);
    size_t stop = 23;
    ck_assert_int_eq(sm_run_execute(first, path, 0, cancel_at, &stop), SM_ECANCELLED);
    sm_run_free(first);
    sm_run_t *second = small_run(data, 11);
    ck_assert_msg(sm_run_execute(second, path, 1, NULL, NULL) == SM_OK, "%s", sm_last_error());
    ck_assert_int_eq(memcmp(sm_run_chain(whole), sm_run_chain(second), 60 * 16 * 7 * 8), 0);
    sm_run_free(second);
    unlink(path);

    ck_assert_int_eq(sm_run_create_adopting(&adopted, make_map(300, 3, a, b), &cfg, NULL, NULL),
                     SM_OK);
    ck_assert_int_eq(sm_run_execute(adopted, NULL, 0, NULL, NULL), SM_OK);
    ck_assert_int_eq(memcmp(sm_run_chain(whole), sm_run_chain(adopted), 60 * 16 * 7 * 8), 0);
    ck_assert_int_eq(memcmp(sm_run_log_prob(whole), sm_run_log_prob(adopted), 60 * 16 * 8), 0);
    const sm_data_t *work = sm_run_data(adopted);
    ck_assert_int_ne(memcmp(sm_data_templates(work), sm_data_templates(data), 3 * 300 * 8), 0);
    sm_maps_t *want, *got;
    ck_assert_int_eq(sm_maps_from_run(&want, whole, data), SM_OK);
    ck_assert_int_eq(sm_maps_from_run(&got, adopted, work), SM_OK);
    for (size_t j = 0; j < 300; j++) {
        ck_assert_double_eq_tol(got->delta_corr[j], want->delta_corr[j],
                                1e-12 * fabs(want->delta_corr[j]) + 1e-15);
        ck_assert_double_eq_tol(got->weight[j], want->weight[j], 1e-12 * want->weight[j]);
        ck_assert_double_eq_tol(got->delta_corr_err[j], want->delta_corr_err[j],
                                1e-10 * want->delta_corr_err[j]);
        ck_assert_double_eq_tol(got->weight_err[j], want->weight_err[j],
                                1e-10 * want->weight_err[j]);
    }
    sm_maps_free(want);
    sm_maps_free(got);
    sm_run_free(adopted);

    sm_run_t *run = (sm_run_t *)1;
    cfg.n_walkers = 1;
    ck_assert_int_eq(sm_run_create_adopting(&run, make_map(300, 3, a, b), &cfg, NULL, NULL),
                     SM_EINVAL);
    ck_assert_ptr_null(run);
    small_config(&cfg, 11);
    ck_assert_int_eq(sm_run_create_adopting(&run, make_map(300, 3, a, b), &cfg,
                                            refusing_factory, NULL),
                     SM_EDEVICE);
    ck_assert_ptr_null(run);
    ck_assert_int_eq(sm_run_create_adopting(&run, NULL, &cfg, NULL, NULL), SM_EINVAL);
    sm_run_free(whole);
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
    tcase_add_test(tc, test_extend_is_one_longer_run);
    tcase_add_test(tc, test_extend_refuses_a_file_run);
    tcase_add_test(tc, test_empty_posterior);
    tcase_add_test(tc, test_burn_in_warning);
    tcase_add_test(tc, test_sizes_are_refused);
    tcase_add_test(tc, test_zero_probability_start);
    tcase_add_test(tc, test_failed_runs_and_their_files);
    tcase_add_test(tc, test_adopting_run);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sm_test_run(run_suite());
}
