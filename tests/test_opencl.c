/* The OpenCL backend on PoCL against the reference backend: every model x
 * {Gaussian, skew} x {fp64, fp32} on maps of 1, 1000 and 100003 pixels
 * (not multiples of any work-group size), and a whole fp64 chain. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sysmap/backend.h"
#include "sysmap/model.h"
#include "sysmap/opencl.h"
#include "sysmap/reference.h"
#include "sysmap/run.h"
#include "testutil.h"

#define N_SYS 3
#define N_WALKERS 6

static const size_t map_sizes[] = {1, 1000, 100003};

/* Sum over pixels of the magnitudes of every lnL term of one walker: the
 * scale of a worst-case rounding bound on the fp32 result. */
static double term_magnitude(const sm_data_t *data, const sm_model_t *m, const double *p)
{
    size_t n = sm_data_n_pix(data), s = m->n_sys;
    const double *d = sm_data_delta(data), *t = sm_data_templates(data);
    long a0 = sm_model_a_offset(m), b0 = sm_model_b_offset(m);
    double sigma = p[sm_model_sigma_index(m)];
    double gamma = m->skew ? p[sm_model_gamma_index(m)] : 0.0;
    double xi = m->skew ? sm_model_skew_xi(sigma, gamma) : 0.0, total = 0.0;
    for (size_t j = 0; j < n; j++) {
        double add = 0.0, mult = 0.0;
        for (size_t i = 0; i < s; i++) {
            add += (a0 >= 0 ? fabs(p[a0 + (long)i]) : 0.0) * fabs(t[i * n + j]);
            mult += (b0 >= 0 ? p[b0 + (long)i] : 0.0) * t[i * n + j];
        }
        double mj = 1.0 + mult, u = (fabs(d[j]) + add) / fabs(mj) + fabs(xi);
        total += 1.0 + u * u / (sigma * sigma) + fabs(log(fabs(mj)));
        if (m->skew)
            total += fabs(sm_model_log_ndtr(-fabs(gamma) * u / sigma));
    }
    return total;
}

typedef struct {
    int precision_fp32;
    int skew;
    sm_model_kind_t kind;
} combo_t;

/* The OpenCL log-probabilities cl_lp of walkers p against the reference's:
 * the same infinities, else within the precision's tolerance. */
static void assert_near_reference(const sm_data_t *data, const sm_model_t *m, int fp32,
                                  const double *p, const double *cl_lp)
{
    size_t n = sm_data_n_pix(data), d = sm_model_n_dim(m);
    double ref_lp[N_WALKERS];
    sm_backend_t *ref;
    ck_assert_int_eq(sm_reference_create(&ref, data, m), SM_OK);
    ck_assert_int_eq(sm_backend_log_prob(ref, N_WALKERS, p, ref_lp), SM_OK);
    sm_backend_free(ref);
    for (size_t w = 0; w < N_WALKERS; w++) {
        if (!isfinite(ref_lp[w])) {
            ck_assert_msg(cl_lp[w] == ref_lp[w], "walker %zu: %g vs reference %g", w, cl_lp[w],
                          ref_lp[w]);
            continue;
        }
        double err = fabs(cl_lp[w] - ref_lp[w]);
        /* fp64: 1e-12 relative. fp32: first-order rounding bound
         * 8 (S + 4) eps32 sum_j |term_j| (inputs rounded to fp32, 2S + 6
         * operations per pixel, ln Phi within 4 ulp, kernels/common.cl); see README. */
        double tol = fp32 ? 8.0 * (N_SYS + 4) * FLT_EPSILON * term_magnitude(data, m, p + w * d)
                          : 1e-12 * fabs(ref_lp[w]);
        ck_assert_msg(err <= tol,
                      "N=%zu %s%s %s walker %zu: opencl %.17g, reference %.17g (error %.3g > "
                      "%.3g)",
                      n, sm_model_name(m->kind), m->skew ? " skew" : "", fp32 ? "fp32" : "fp64",
                      w, cl_lp[w], ref_lp[w], err, tol);
    }
}

static void compare_one(size_t n, const combo_t *c)
{
    const double a[N_SYS] = {0.02, -0.01, 0.015}, b[N_SYS] = {0.05, 0.0, -0.03};
    sm_data_t *data = sm_test_make_map(n, N_SYS, a, b, 1000 + n);
    sm_model_t m = SM_MODEL_INIT(c->kind, c->skew, N_SYS, SM_MODEL_SIGMA_MIN_DEFAULT);
    double p[N_WALKERS * 8], cl_lp[N_WALKERS];
    sm_test_walkers(&m, N_WALKERS, 99, 3, p);
    sm_backend_t *cl;
    ck_assert_msg(sm_opencl_create(&cl, data, &m, "0", c->precision_fp32 ? "fp32" : "fp64") ==
                      SM_OK,
                  "%s", sm_last_error());
    ck_assert_str_eq(sm_backend_precision(cl), c->precision_fp32 ? "fp32" : "fp64");
    ck_assert_int_eq(sm_backend_log_prob(cl, N_WALKERS, p, cl_lp), SM_OK);
    assert_near_reference(data, &m, c->precision_fp32, p, cl_lp);
    sm_backend_free(cl);
    sm_data_free(data);
}

START_TEST(test_loglike_matches_reference)
{
    /* Every kind of the model table, Gaussian and skew, fp64 and fp32. */
    int kinds = (int)sm_model_kind_count();
    combo_t c = {_i / (2 * kinds), (_i / kinds) % 2, (sm_model_kind_t)(_i % kinds)};
    for (size_t k = 0; k < sizeof map_sizes / sizeof *map_sizes; k++)
        compare_one(map_sizes[k], &c);
}
END_TEST

START_TEST(test_renormalisation_modes)
{
    /* The kernel renormalises prod |m| once per 8 (fp64) or 4 (fp32) pixel
     * vectors unless some walker of the batch could overflow that: walker
     * 0's |m| reaching 2^200 (2^40 in fp32) makes the batch renormalise
     * every pixel. Its lnL must still be the reference's (the sparse mode
     * would overflow to -inf), and the other walkers' the same bits as in
     * a batch without it (scaling by powers of two is exact). */
    int fp32 = _i;
    const double a[N_SYS] = {0.02, -0.01, 0.015}, b[N_SYS] = {0.05, 0.0, -0.03};
    sm_data_t *data = sm_test_make_map(1000, N_SYS, a, b, 11);
    sm_model_t m = SM_MODEL_INIT(SM_MODEL_COMBINED, 0, N_SYS, SM_MODEL_SIGMA_MIN_DEFAULT);
    size_t d = sm_model_n_dim(&m);
    double p[N_WALKERS * 8], lp[N_WALKERS], alone[N_WALKERS];
    sm_test_walkers(&m, N_WALKERS, 5, 3, p);
    long b0 = sm_model_b_offset(&m);
    for (long i = 0; i < N_SYS; i++)
        p[b0 + i] = ldexp(i % 2 ? -1.0 : 1.0, fp32 ? 40 : 200);
    sm_backend_t *cl;
    ck_assert_msg(sm_opencl_create(&cl, data, &m, "0", fp32 ? "fp32" : "fp64") == SM_OK, "%s",
                  sm_last_error());
    ck_assert_int_eq(sm_backend_log_prob(cl, N_WALKERS, p, lp), SM_OK);
    ck_assert_int_eq(sm_backend_log_prob(cl, N_WALKERS - 1, p + d, alone), SM_OK);
    ck_assert_msg(isfinite(lp[0]), "walker 0: %g", lp[0]);
    for (size_t w = 1; w < N_WALKERS; w++)
        ck_assert_msg(lp[w] == alone[w - 1], "walker %zu: %.17g with walker 0, %.17g without",
                      w, lp[w], alone[w - 1]);
    assert_near_reference(data, &m, fp32, p, lp);
    sm_backend_free(cl);
    sm_data_free(data);
}
END_TEST

static sm_run_t *run_on(const sm_data_t *data, const char *backend)
{
    sm_run_config_t cfg;
    sm_run_config_default(&cfg);
    cfg.n_walkers = 16;
    cfg.n_steps = 60;
    cfg.n_burn = 10;
    cfg.backend = backend;
    sm_run_t *run;
    ck_assert_msg(sm_run_create(&run, data, &cfg) == SM_OK, "%s", sm_last_error());
    ck_assert_msg(sm_run_execute(run, NULL, 0, NULL, NULL) == SM_OK, "%s", sm_last_error());
    return run;
}

START_TEST(test_fp64_chain_equals_reference)
{
    const double a[N_SYS] = {0.02, -0.01, 0.015}, b[N_SYS] = {0.05, 0.0, -0.03};
    sm_data_t *data = sm_test_make_map(5001, N_SYS, a, b, 7);
    sm_run_t *ref = run_on(data, "reference"), *cl = run_on(data, "opencl");
    size_t n = 60 * 16 * 7;
    const double *x = sm_run_chain(ref), *y = sm_run_chain(cl);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(x[i] == y[i], "chains differ first at step %zu, walker %zu, param %zu",
                      i / (16 * 7), i / 7 % 16, i % 7);
    sm_run_free(ref);
    sm_run_free(cl);
    sm_data_free(data);
}
END_TEST

START_TEST(test_tuning_overrides)
{
    /* Other launch shapes give the same sums; malformed overrides are refused. */
    const double a[N_SYS] = {0.02, -0.01, 0.015}, b[N_SYS] = {0.05, 0.0, -0.03};
    sm_data_t *data = sm_test_make_map(1003, N_SYS, a, b, 5);
    sm_model_t m = SM_MODEL_INIT(SM_MODEL_COMBINED, 1, N_SYS, SM_MODEL_SIGMA_MIN_DEFAULT);
    double p[N_WALKERS * 8], ref_lp[N_WALKERS], cl_lp[N_WALKERS];
    sm_test_walkers(&m, N_WALKERS, 99, 3, p);
    sm_backend_t *ref, *cl;
    ck_assert_int_eq(sm_reference_create(&ref, data, &m), SM_OK);
    ck_assert_int_eq(sm_backend_log_prob(ref, N_WALKERS, p, ref_lp), SM_OK);
    static const char *const shapes[] = {"wgs=1,wpt=1,ppi=1,gpc=1", "wgs=128,wpt=3,ppi=2"};
    for (size_t k = 0; k < 2; k++) {
        setenv("SYSMAP_OPENCL_TUNING", shapes[k], 1);
        ck_assert_msg(sm_opencl_create(&cl, data, &m, "0", "fp64") == SM_OK, "%s",
                      sm_last_error());
        ck_assert_int_eq(sm_backend_log_prob(cl, N_WALKERS, p, cl_lp), SM_OK);
        for (size_t w = 0; w < N_WALKERS; w++)
            if (isfinite(ref_lp[w]))
                ck_assert_close(cl_lp[w], ref_lp[w], 1e-12, 0);
        sm_backend_free(cl);
    }
    static const char *const bad[][2] = {{"wgs=3", "bad value for wgs"},
                                         {"wpt=0", "bad value for wpt"},
                                         {"speed=11", "expected key=value"},
                                         {"wpt=2,", "expected key=value"},
                                         {"ppi=x", "bad value for ppi"}};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        setenv("SYSMAP_OPENCL_TUNING", bad[k][0], 1);
        ck_assert_int_eq(sm_opencl_create(&cl, data, &m, "0", "fp64"), SM_EINVAL);
        ck_assert_msg(strstr(sm_last_error(), bad[k][1]) != NULL, "%s: %s", bad[k][0],
                      sm_last_error());
    }
    unsetenv("SYSMAP_OPENCL_TUNING");
    sm_backend_free(ref);
    sm_data_free(data);
}
END_TEST

static Suite *opencl_suite(void)
{
    Suite *s = suite_create("opencl");
    TCase *tc = tcase_create("pocl");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_loglike_matches_reference, 0, 4 * (int)sm_model_kind_count());
    tcase_add_test(tc, test_fp64_chain_equals_reference);
    tcase_add_loop_test(tc, test_renormalisation_modes, 0, 2);
    tcase_add_test(tc, test_tuning_overrides);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sm_test_run(opencl_suite());
}
