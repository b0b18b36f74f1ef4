/* Models, the likelihood and the reference backend against values computed
 * independently in Python (math module / mpmath, the formula of README's
 * "What it computes"), on a tiny map N = 3, S = 2:
 *   d = [0.1, -0.2, 0.05]; t = [[1.0, -0.5, 0.3], [0.2, 0.4, -1.0]]
 *   a = [0.01, -0.02]; b = [0.1, 0.05]; sigma = 0.15; gamma = 1.5
 * (multiplicative: its one vector b = [0.1, 0.05] is a as well). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sysmap/backend.h"
#include "sysmap/data.h"
#include "sysmap/model.h"
#include "sysmap/reference.h"
#include "sysmap/registry.h"
#include "model_defines.h"
#include "testutil.h"

static const double tiny_d[3] = {0.1, -0.2, 0.05};
static const double tiny_t[6] = {1.0, -0.5, 0.3, 0.2, 0.4, -1.0};

typedef struct {
    sm_model_kind_t kind;
    int skew;
    double lnl;
} tiny_truth_t;

static const tiny_truth_t tiny_truths[] = {
    {SM_MODEL_ADDITIVE, 0, 1.944899910599181},
    {SM_MODEL_ADDITIVE, 1, 1.8646500877828178},
    /* mpmath, 50 digits, a = b = [0.1, 0.05]:
     *   for j: m = 1 + b.t_j; u = (d_j - b.t_j)/m - xi (xi = 0 Gaussian,
     *   -sigma gamma/sqrt(1+gamma^2) sqrt(2/pi) skew); lnL = -(3/2) ln(2 pi
     *   sigma^2) + sum_j [-ln|m| - u^2/(2 sigma^2) (+ ln 2 + ln(erfc(-gamma u
     *   /(sigma sqrt2))/2) skew)] = 2.083102350722043926 (Gaussian),
     *   2.2612450952819322238 (skew). */
    {SM_MODEL_MULTIPLICATIVE, 0, 2.083102350722043926},
    {SM_MODEL_MULTIPLICATIVE, 1, 2.2612450952819322238},
    {SM_MODEL_COMBINED, 0, 1.8787121566241818},
    {SM_MODEL_COMBINED, 1, 1.7737587597886544},
};

/* Packs a, b, sigma, gamma in the model's layout (multiplicative: b, the
 * block it shares with a, written last). */
static void pack(const sm_model_t *m, double sigma, double *p)
{
    static const double a[2] = {0.01, -0.02}, b[2] = {0.1, 0.05};
    long a0 = sm_model_a_offset(m), b0 = sm_model_b_offset(m);
    for (size_t i = 0; i < 2; i++) {
        if (a0 >= 0)
            p[a0 + (long)i] = a[i];
        if (b0 >= 0)
            p[b0 + (long)i] = b[i];
    }
    p[sm_model_sigma_index(m)] = sigma;
    if (m->skew)
        p[sm_model_gamma_index(m)] = 1.5;
}

static sm_backend_t *tiny_backend(sm_data_t **data, const sm_model_t *m)
{
    ck_assert_int_eq(sm_data_create(data, 3, 2, tiny_d, tiny_t, NULL), SM_OK);
    sm_backend_t *be;
    ck_assert_int_eq(sm_reference_create(&be, *data, m), SM_OK);
    return be;
}

START_TEST(test_tiny_map_loglike)
{
    const tiny_truth_t *t = &tiny_truths[_i];
    sm_model_t m = SM_MODEL_INIT(t->kind, t->skew, 2, SM_MODEL_SIGMA_MIN_DEFAULT);
    sm_data_t *data;
    sm_backend_t *be = tiny_backend(&data, &m);
    size_t n_dim = sm_model_n_dim(&m);
    double p[2 * 6], lp[2];
    pack(&m, 0.15, p);
    pack(&m, 0.15, p + n_dim);
    ck_assert_int_eq(sm_backend_log_prob(be, 2, p, lp), SM_OK);
    ck_assert_close(lp[0], t->lnl, 1e-14, 0);
    ck_assert_double_eq(lp[0], lp[1]);
    sm_backend_free(be);
    sm_data_free(data);
}
END_TEST

/* The multiplicative model as the reference package defines it (b = a),
 * against its own likelihood: values from sys-mapping 1.1.0,
 * make_log_likelihood(2, "multiplicative", use_skewed)(theta, d, t), JAX
 * 0.10.2 with jax_enable_x64, theta = [0.07, -0.12, 0.2(, -2.5)], on
 *   d = [0.12, -0.31, 0.07, 0.25, -0.04, 0.18]
 *   t = [[0.9, -1.3, 0.4, 2.1, -0.6, 0.0], [-0.5, 0.8, 1.7, -0.2, 0.3, -1.1]]
 * (mpmath at 50 digits agrees: 2.7260600113784929, 2.4362815080869733). */
START_TEST(test_multiplicative_matches_sys_mapping)
{
    static const double d[6] = {0.12, -0.31, 0.07, 0.25, -0.04, 0.18};
    static const double t[12] = {0.9, -1.3, 0.4, 2.1, -0.6, 0.0,
                                 -0.5, 0.8, 1.7, -0.2, 0.3, -1.1};
    static const double want[2] = {2.726060011378493, 2.4362815080869735};
    sm_data_t *data;
    ck_assert_int_eq(sm_data_create(&data, 6, 2, d, t, NULL), SM_OK);
    for (int skew = 0; skew < 2; skew++) {
        sm_model_t m = SM_MODEL_INIT(SM_MODEL_MULTIPLICATIVE, skew, 2, SM_MODEL_SIGMA_MIN_DEFAULT);
        double p[4] = {0.07, -0.12, 0.2, -2.5}, lp;
        sm_backend_t *be;
        ck_assert_int_eq(sm_reference_create(&be, data, &m), SM_OK);
        ck_assert_int_eq(sm_backend_log_prob(be, 1, p, &lp), SM_OK);
        ck_assert_close(lp, want[skew], 1e-12, 0);
        sm_backend_free(be);
    }
    sm_data_free(data);
}
END_TEST

START_TEST(test_prior_and_nonfinite)
{
    sm_model_t m = SM_MODEL_INIT(SM_MODEL_COMBINED, 0, 2, 0.2);
    sm_data_t *data;
    sm_backend_t *be = tiny_backend(&data, &m);
    double p[4][5], lp[4];
    pack(&m, 0.15, p[0]); /* sigma below sigma_min = 0.2 */
    pack(&m, 0.2, p[1]);  /* sigma == sigma_min is outside too */
    pack(&m, NAN, p[2]);
    pack(&m, 0.3, p[3]);
    p[3][2] = -1.0; /* b = (-1, 0): m_1 = 1 + b_1 t_11 = 0, lnL not finite */
    p[3][3] = 0.0;
    ck_assert_int_eq(sm_backend_log_prob(be, 4, &p[0][0], lp), SM_OK);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(lp[i] == -INFINITY, "lp[%d] = %g, expected -inf", i, lp[i]);
    sm_backend_free(be);
    sm_data_free(data);
}
END_TEST

START_TEST(test_log_ndtr)
{
    /* Far tail against the asymptotic series of ln Phi (11 terms), the
     * upper tail against log1p(-erfc(x/sqrt2)/2), the middle against
     * log(erfc(-x/sqrt2)/2); all from Python's math module. */
    ck_assert_close(sm_model_log_ndtr(-40.0), -804.6084420137538, 1e-14, 0);
    ck_assert_close(sm_model_log_ndtr(-100.0), -5005.524208694205, 1e-14, 0);
    ck_assert_close(sm_model_log_ndtr(-1e4), -50000010.12927891, 1e-14, 0);
    ck_assert_close(sm_model_log_ndtr(-3.0), -6.607726221510348, 1e-14, 0);
    ck_assert_close(sm_model_log_ndtr(5.0), -2.8665161296376427e-07, 1e-12, 0);
    ck_assert_close(sm_model_log_ndtr(10.0), -7.619853024160593e-24, 1e-12, 0);
    ck_assert_double_eq(sm_model_log_ndtr(0.0), -log(2.0));
}
END_TEST

START_TEST(test_layout_and_names)
{
    sm_model_t add = SM_MODEL_INIT(SM_MODEL_ADDITIVE, 0, 3, 1e-6);
    sm_model_t mul = SM_MODEL_INIT(SM_MODEL_MULTIPLICATIVE, 1, 3, 1e-6);
    sm_model_t comb = SM_MODEL_INIT(SM_MODEL_COMBINED, 1, 3, 1e-6);
    ck_assert_uint_eq(sm_model_n_dim(&add), 4);
    ck_assert_uint_eq(sm_model_n_dim(&mul), 5);
    ck_assert_uint_eq(sm_model_n_dim(&comb), 8);
    ck_assert_int_eq(sm_model_b_offset(&add), -1);
    /* Multiplicative: a and b are the same entries (b = a). */
    ck_assert_int_eq(sm_model_a_offset(&mul), 0);
    ck_assert_int_eq(sm_model_b_offset(&mul), 0);
    ck_assert_int_eq(sm_model_b_offset(&comb), 3);
    ck_assert_int_eq(sm_model_gamma_index(&comb), 7);
    ck_assert_int_eq(sm_model_gamma_index(&add), -1);
    const char *want[] = {"a_1", "a_2", "a_3", "b_1", "b_2", "b_3", "sigma", "gamma"};
    char buf[16];
    for (size_t i = 0; i < 8; i++) {
        ck_assert_int_eq(sm_model_param_name(&comb, i, buf, sizeof buf), SM_OK);
        ck_assert_str_eq(buf, want[i]);
    }
    ck_assert_int_eq(sm_model_param_name(&comb, 8, buf, sizeof buf), SM_EINVAL);
    ck_assert_int_eq(sm_model_param_name(&comb, 0, buf, 2), SM_EINVAL);
    const char *want_mul[] = {"b_1", "b_2", "b_3", "sigma", "gamma"};
    for (size_t i = 0; i < 5; i++) {
        ck_assert_int_eq(sm_model_param_name(&mul, i, buf, sizeof buf), SM_OK);
        ck_assert_str_eq(buf, want_mul[i]);
    }
}
END_TEST

/* The model table's layouts, written out by hand for S = 1 and S = 3. */
typedef struct {
    sm_model_kind_t kind;
    int skew;
    size_t n_sys, n_cont, n_dim, sigma;
    long a, b, gamma;
} layout_truth_t;

static const layout_truth_t layouts[] = {
    {SM_MODEL_ADDITIVE, 0, 1, 1, 2, 1, 0, -1, -1},
    {SM_MODEL_ADDITIVE, 1, 1, 1, 3, 1, 0, -1, 2},
    {SM_MODEL_ADDITIVE, 0, 3, 3, 4, 3, 0, -1, -1},
    {SM_MODEL_ADDITIVE, 1, 3, 3, 5, 3, 0, -1, 4},
    {SM_MODEL_MULTIPLICATIVE, 0, 1, 1, 2, 1, 0, 0, -1},
    {SM_MODEL_MULTIPLICATIVE, 1, 1, 1, 3, 1, 0, 0, 2},
    {SM_MODEL_MULTIPLICATIVE, 0, 3, 3, 4, 3, 0, 0, -1},
    {SM_MODEL_MULTIPLICATIVE, 1, 3, 3, 5, 3, 0, 0, 4},
    {SM_MODEL_COMBINED, 0, 1, 2, 3, 2, 0, 1, -1},
    {SM_MODEL_COMBINED, 1, 1, 2, 4, 2, 0, 1, 3},
    {SM_MODEL_COMBINED, 0, 3, 6, 7, 6, 0, 3, -1},
    {SM_MODEL_COMBINED, 1, 3, 6, 8, 6, 0, 3, 7},
};

START_TEST(test_table_layouts)
{
    const layout_truth_t *t = &layouts[_i];
    sm_model_t m = SM_MODEL_INIT(t->kind, t->skew, t->n_sys, SM_MODEL_SIGMA_MIN_DEFAULT);
    ck_assert_int_eq(sm_model_validate(&m), SM_OK);
    ck_assert_uint_eq(sm_model_n_cont(&m), t->n_cont);
    ck_assert_uint_eq(sm_model_n_dim(&m), t->n_dim);
    ck_assert_uint_eq(sm_model_sigma_index(&m), t->sigma);
    ck_assert_int_eq(sm_model_a_offset(&m), t->a);
    ck_assert_int_eq(sm_model_b_offset(&m), t->b);
    ck_assert_int_eq(sm_model_gamma_index(&m), t->gamma);
    /* The kernel reads the same layout. */
    char want[160], got[160];
    snprintf(want, sizeof want,
             "-DNSYS=%zu -DNDIM=%zu -DA_OFF=%ld -DB_OFF=%ld -DSIGMA_IDX=%zu -DSKEW=%d "
             "-DGAMMA_IDX=%ld",
             t->n_sys, t->n_dim, t->a, t->b, t->sigma, t->skew, t->gamma);
    ck_assert_int_eq(sm_model_kernel_defines(&m, got, sizeof got), SM_OK);
    ck_assert_str_eq(got, want);
}
END_TEST

START_TEST(test_table_rows)
{
    static const char *const names[] = {"additive", "multiplicative", "combined"};
    static const int rows[3][3] = {{1, 0, -1}, {1, 0, 0}, {2, 0, 1}};
    ck_assert_uint_eq(sm_model_kind_count(), 3);
    for (int k = 0; k < 3; k++) {
        const sm_model_kind_info_t *info = sm_model_kind_info((sm_model_kind_t)k);
        ck_assert_ptr_nonnull(info);
        ck_assert_str_eq(info->name, names[k]);
        ck_assert_str_eq(sm_model_name((sm_model_kind_t)k), names[k]);
        ck_assert_int_eq(info->n_blocks, rows[k][0]);
        ck_assert_int_eq(info->a_block, rows[k][1]);
        ck_assert_int_eq(info->b_block, rows[k][2]);
        sm_model_kind_t parsed;
        ck_assert_int_eq(sm_model_parse(names[k], &parsed), SM_OK);
        ck_assert_int_eq(parsed, k);
    }
    ck_assert_ptr_null(sm_model_kind_info((sm_model_kind_t)3));
    ck_assert_ptr_null(sm_model_kind_info((sm_model_kind_t)-1));
    ck_assert_str_eq(sm_model_name((sm_model_kind_t)3), "unknown");
    char list[64];
    ck_assert_int_eq(sm_model_kind_list(list, sizeof list), SM_OK);
    ck_assert_str_eq(list, "additive, multiplicative or combined");
    ck_assert_int_eq(sm_model_kind_list(list, 20), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "buffer of 20 bytes too small"));
    sm_model_t m = SM_MODEL_INIT(SM_MODEL_COMBINED, 1, 3, SM_MODEL_SIGMA_MIN_DEFAULT);
    char defines[128];
    ck_assert_int_eq(sm_model_kernel_defines(&m, defines, sizeof defines), SM_OK);
    ck_assert_str_eq(defines, "-DNSYS=3 -DNDIM=8 -DA_OFF=0 -DB_OFF=3 -DSIGMA_IDX=6 -DSKEW=1 "
                              "-DGAMMA_IDX=7");
    ck_assert_int_eq(sm_model_kernel_defines(&m, list, 40), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "buffer of 40 bytes too small"));
}
END_TEST

START_TEST(test_bad_models)
{
    sm_model_kind_t k;
    ck_assert_int_eq(sm_model_parse("combined", &k), SM_OK);
    ck_assert_int_eq(k, SM_MODEL_COMBINED);
    ck_assert_int_eq(sm_model_parse("additve", &k), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "unknown model 'additve' (expected additive, "
                                                  "multiplicative or combined)"));
    sm_model_t unknown = SM_MODEL_INIT((sm_model_kind_t)3, 0, 2, 1e-6);
    ck_assert_int_eq(sm_model_validate(&unknown), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "unknown kind 3"));
    sm_model_t none = SM_MODEL_INIT(SM_MODEL_ADDITIVE, 0, 0, 1e-6);
    ck_assert_int_eq(sm_model_validate(&none), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "S = 0"));
    sm_model_t neg = SM_MODEL_INIT(SM_MODEL_ADDITIVE, 0, 2, -1.0);
    ck_assert_int_eq(sm_model_validate(&neg), SM_EINVAL);
}
END_TEST

START_TEST(test_backend_errors)
{
    sm_data_t *data;
    ck_assert_int_eq(sm_data_create(&data, 3, 2, tiny_d, tiny_t, NULL), SM_OK);
    sm_model_t three = SM_MODEL_INIT(SM_MODEL_ADDITIVE, 0, 3, 1e-6);
    sm_model_t two = SM_MODEL_INIT(SM_MODEL_ADDITIVE, 0, 2, 1e-6);
    sm_backend_t *be;
    ck_assert_int_eq(sm_reference_create(&be, data, &three), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "data has 2 templates, model expects 3"));
    ck_assert_int_eq(sm_backend_open(&be, "cuda", NULL, NULL, data, &two), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "unknown backend 'cuda'"));
    ck_assert_int_eq(sm_backend_open(&be, "reference", NULL, "fp32", data, &two), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "fp64 only"));
    ck_assert_int_eq(sm_backend_open(&be, "reference", NULL, NULL, data, &two), SM_OK);
    ck_assert_str_eq(sm_backend_name(be), "reference");
    ck_assert_str_eq(sm_backend_precision(be), "fp64");
    ck_assert_uint_eq(sm_backend_n_pix(be), 3);
    sm_backend_free(be);
    sm_data_free(data);
}
END_TEST

static Suite *model_suite(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("likelihood");
    tcase_add_loop_test(tc, test_tiny_map_loglike, 0,
                        (int)(sizeof tiny_truths / sizeof *tiny_truths));
    tcase_add_test(tc, test_multiplicative_matches_sys_mapping);
    tcase_add_test(tc, test_prior_and_nonfinite);
    tcase_add_test(tc, test_log_ndtr);
    tcase_add_test(tc, test_layout_and_names);
    tcase_add_loop_test(tc, test_table_layouts, 0, (int)(sizeof layouts / sizeof *layouts));
    tcase_add_test(tc, test_table_rows);
    tcase_add_test(tc, test_bad_models);
    tcase_add_test(tc, test_backend_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sm_test_run(model_suite());
}
