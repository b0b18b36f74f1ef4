/* The template basis: M = R D^-1 against hand-computed and analytic truths. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_math.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "sysmap/backend.h"
#include "sysmap/basis.h"
#include "sysmap/data.h"
#include "sysmap/model.h"
#include "sysmap/registry.h"
#include "testutil.h"

#define NT 503  /* pixels in the 3-template map, every 7th masked */
#define S3 3

/* Three correlated templates with different means and scales, so both D
 * and R are non-trivial. */
static void map3_templates(double *t, uint8_t *mask)
{
    for (size_t j = 0; j < NT; j++) {
        double x = (double)j / NT;
        double u = sin(2 * M_PI * 3.1 * x + 0.3) + 0.4 * cos(17.3 * x);
        double v = cos(2 * M_PI * 1.7 * x) + 0.3 * sin(41.0 * x * x);
        double w = sin(2 * M_PI * 5.3 * x * x + 1.1);
        t[0 * NT + j] = 5.0 + 3.0 * u;
        t[1 * NT + j] = -2.0 + 0.5 * (0.7 * u + v);
        t[2 * NT + j] = 0.01 * (0.4 * u - 0.6 * v + w);
        mask[j] = (j % 7) != 3;
    }
}

static sm_data_t *map3(void)
{
    double t[S3 * NT], delta[NT];
    uint8_t mask[NT];
    map3_templates(t, mask);
    for (size_t j = 0; j < NT; j++)
        delta[j] = 0.1 * sin(0.37 * (double)j);
    sm_data_t *d = NULL;
    ck_assert_int_eq(sm_data_create(&d, NT, S3, delta, t, mask), SM_OK);
    return d;
}

static sm_basis_t *basis_of(const sm_data_t *d, sm_basis_kind_t kind)
{
    sm_basis_t *b = NULL;
    sm_status st = sm_basis_create(&b, d, kind);
    ck_assert_msg(st == SM_OK, "sm_basis_create: %s", sm_last_error());
    return b;
}

/* Plain two-pass population mean and std of row i of (S, N) templates. */
static void row_moments(const double *t, size_t n, size_t i, double *mean, double *sd)
{
    double m = 0, v = 0;
    for (size_t j = 0; j < n; j++)
        m += t[i * n + j];
    m /= (double)n;
    for (size_t j = 0; j < n; j++)
        v += (t[i * n + j] - m) * (t[i * n + j] - m);
    *mean = m;
    *sd = sqrt(v / (double)n);
}

/* Covariance (S, S) of the rows of (S, N) templates. */
static void row_cov(const double *t, size_t s, size_t n, double *cov)
{
    double mean[8], sd;
    for (size_t i = 0; i < s; i++)
        row_moments(t, n, i, &mean[i], &sd);
    for (size_t i = 0; i < s; i++)
        for (size_t k = 0; k < s; k++) {
            double c = 0;
            for (size_t j = 0; j < n; j++)
                c += (t[i * n + j] - mean[i]) * (t[k * n + j] - mean[k]);
            cov[i * s + k] = c / (double)n;
        }
}

START_TEST(test_inverse)
{
    sm_data_t *d = map3();
    sm_basis_t *b = basis_of(d, SM_BASIS_ROTATED);
    const double *m = sm_basis_matrix(b);
    sm_model_t model = SM_MODEL_INIT(SM_MODEL_ADDITIVE, 0, S3, SM_MODEL_SIGMA_MIN_DEFAULT);
    /* M^-T e_k is row k of M^-1. */
    double orig[S3 * 4] = {0}, work[S3 * 4];
    for (size_t k = 0; k < S3; k++) {
        orig[k * 4 + k] = 1.0;
        orig[k * 4 + 3] = 0.5;
    }
    sm_basis_params_to_working(b, &model, S3, orig, work);
    for (size_t i = 0; i < S3; i++)
        for (size_t k = 0; k < S3; k++) {
            double mm = 0, mm_r = 0;
            for (size_t l = 0; l < S3; l++) {
                mm += m[i * S3 + l] * work[l * 4 + k];
                mm_r += work[i * 4 + l] * m[l * S3 + k];
            }
            ck_assert_close(mm, i == k ? 1.0 : 0.0, 0, 1e-12);
            ck_assert_close(mm_r, i == k ? 1.0 : 0.0, 0, 1e-12);
        }
    for (size_t k = 0; k < S3; k++)
        ck_assert_close(work[k * 4 + 3], 0.5, 0, 0);
    sm_basis_free(b);
    sm_data_free(d);
}
END_TEST

/* The rotated templates are uncorrelated with variances equal to the
 * correlation eigenvalues (M = R D^-1 does not whiten), in descending order;
 * R = M D is orthogonal, its rows eigenvectors with the sign convention. */
START_TEST(test_working_templates)
{
    sm_data_t *d = map3();
    sm_basis_t *b = basis_of(d, SM_BASIS_ROTATED);
    ck_assert_int_eq(sm_basis_kind_of(b), SM_BASIS_ROTATED);
    ck_assert_uint_eq(sm_basis_n_sys(b), S3);
    sm_data_t *w = NULL;
    ck_assert_int_eq(sm_basis_apply(b, d, &w), SM_OK);
    size_t n = sm_data_n_pix(d);
    ck_assert_uint_eq(n, NT - 72);
    ck_assert_uint_eq(sm_data_n_pix(w), n);
    ck_assert_uint_eq(sm_data_n_sys(w), S3);
    const double *t = sm_data_templates(d), *tw = sm_data_templates(w);
    const double *m = sm_basis_matrix(b);
    for (size_t j = 0; j < n; j++) {
        ck_assert_close(sm_data_delta(w)[j], sm_data_delta(d)[j], 0, 0);
        for (size_t k = 0; k < S3; k++) {
            double v = 0;
            for (size_t i = 0; i < S3; i++)
                v += m[k * S3 + i] * t[i * n + j];
            ck_assert_close(tw[k * n + j], v, 1e-14, 1e-14);
        }
    }

    double mean[S3], sd[S3], cov[S3 * S3], covw[S3 * S3], corr[S3 * S3];
    for (size_t i = 0; i < S3; i++)
        row_moments(t, n, i, &mean[i], &sd[i]);
    row_cov(t, S3, n, cov);
    for (size_t i = 0; i < S3; i++)
        for (size_t k = 0; k < S3; k++)
            corr[i * S3 + k] = cov[i * S3 + k] / (sd[i] * sd[k]);
    row_cov(tw, S3, n, covw);
    for (size_t i = 0; i < S3; i++)
        for (size_t k = 0; k < i; k++)
            ck_assert_close(covw[i * S3 + k] / sqrt(covw[i * S3 + i] * covw[k * S3 + k]), 0.0,
                            0, 1e-12);
    double lam[S3];
    for (size_t k = 0; k < S3; k++)
        lam[k] = covw[k * S3 + k];
    ck_assert(lam[0] > lam[1] && lam[1] > lam[2] && lam[2] > 0);
    /* trace and determinant of the correlation are invariants of R */
    double r01 = corr[1], r02 = corr[2], r12 = corr[5];
    ck_assert_close(lam[0] + lam[1] + lam[2], 3.0, 1e-12, 0);
    ck_assert_close(lam[0] * lam[1] * lam[2],
                    1 + 2 * r01 * r02 * r12 - r01 * r01 - r02 * r02 - r12 * r12, 1e-12, 0);
    ck_assert(fabs(r01) > 0.3 && fabs(r02) > 0.3);

    double r[S3 * S3];
    for (size_t k = 0; k < S3; k++)
        for (size_t i = 0; i < S3; i++)
            r[k * S3 + i] = m[k * S3 + i] * sd[i];
    for (size_t k = 0; k < S3; k++) {
        for (size_t l = 0; l < S3; l++) {
            double dot = 0;
            for (size_t i = 0; i < S3; i++)
                dot += r[k * S3 + i] * r[l * S3 + i];
            ck_assert_close(dot, k == l ? 1.0 : 0.0, 0, 1e-12);
        }
        size_t lead = 0;
        for (size_t i = 0; i < S3; i++) {
            double cr = 0;
            for (size_t l = 0; l < S3; l++)
                cr += corr[i * S3 + l] * r[k * S3 + l];
            ck_assert_close(cr, lam[k] * r[k * S3 + i], 0, 1e-12);
            if (fabs(r[k * S3 + i]) > fabs(r[k * S3 + lead]))
                lead = i;
        }
        ck_assert_msg(r[k * S3 + lead] > 0, "eigenvector %zu: leading component negative", k);
    }
    sm_data_free(w);
    sm_basis_free(b);
    sm_data_free(d);
}
END_TEST

/* a_w . t_w = a . t and b_w . t_w = b . t at every pixel; sigma and gamma
 * pass through; to_working inverts to_original. */
START_TEST(test_invariance)
{
    sm_data_t *d = map3();
    sm_basis_t *b = basis_of(d, SM_BASIS_ROTATED);
    sm_data_t *w = NULL;
    ck_assert_int_eq(sm_basis_apply(b, d, &w), SM_OK);
    size_t n = sm_data_n_pix(d);
    const double *t = sm_data_templates(d), *tw = sm_data_templates(w);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20240601);
    const sm_model_kind_t kinds[3] = {SM_MODEL_ADDITIVE, SM_MODEL_MULTIPLICATIVE,
                                    SM_MODEL_COMBINED};
    for (size_t q = 0; q < 6; q++) {
        sm_model_t model = SM_MODEL_INIT(kinds[q / 2], (int)(q % 2), S3,
                                         SM_MODEL_SIGMA_MIN_DEFAULT);
        size_t nd = sm_model_n_dim(&model);
        enum { NV = 4 };
        double pw[NV * 8], po[NV * 8], back[NV * 8];
        for (size_t i = 0; i < NV * nd; i++)
            pw[i] = gsl_ran_gaussian(rng, 0.1);
        sm_basis_params_to_original(b, &model, NV, pw, po);
        sm_basis_params_to_working(b, &model, NV, po, back);
        long blocks[2] = {sm_model_a_offset(&model), sm_model_b_offset(&model)};
        ck_assert(blocks[0] >= 0 || blocks[1] >= 0);
        for (size_t v = 0; v < NV; v++) {
            const double *rw = pw + v * nd, *ro = po + v * nd;
            for (size_t i = 0; i < nd; i++)
                ck_assert_close(back[v * nd + i], rw[i], 1e-12, 1e-14);
            ck_assert_close(ro[sm_model_sigma_index(&model)], rw[sm_model_sigma_index(&model)],
                            0, 0);
            if (model.skew)
                ck_assert_close(ro[sm_model_gamma_index(&model)],
                                rw[sm_model_gamma_index(&model)], 0, 0);
            for (size_t h = 0; h < 2; h++) {
                if (blocks[h] < 0)
                    continue;
                for (size_t j = 0; j < n; j++) {
                    double vw = 0, vo = 0, scale = 0;
                    for (size_t i = 0; i < S3; i++) {
                        vw += rw[blocks[h] + i] * tw[i * n + j];
                        vo += ro[blocks[h] + i] * t[i * n + j];
                        scale += fabs(ro[blocks[h] + i] * t[i * n + j]);
                    }
                    ck_assert_close(vw, vo, 0, 1e-12 * scale);
                }
            }
        }
    }
    gsl_rng_free(rng);
    sm_data_free(w);
    sm_basis_free(b);
    sm_data_free(d);
}
END_TEST

/* The multiplicative model's one vector is a and b at once: mapping it by
 * M^T maps both, so lnL in the working basis (working templates, working
 * parameters) equals lnL in the original basis, for every model. */
START_TEST(test_log_prob_invariance)
{
    sm_data_t *d = map3();
    sm_basis_t *b = basis_of(d, SM_BASIS_ROTATED);
    sm_data_t *w = NULL;
    ck_assert_int_eq(sm_basis_apply(b, d, &w), SM_OK);
    const sm_model_kind_t kinds[3] = {SM_MODEL_ADDITIVE, SM_MODEL_MULTIPLICATIVE,
                                    SM_MODEL_COMBINED};
    for (size_t q = 0; q < 6; q++) {
        sm_model_t model = SM_MODEL_INIT(kinds[q / 2], (int)(q % 2), S3,
                                         SM_MODEL_SIGMA_MIN_DEFAULT);
        /* Contamination a few percent of the map: 1 + b.t stays near 1. */
        double pw[8] = {0.004, -0.003, 0.002, 0.001, 0.003, -0.002, 0.15, 0.8}, po[8];
        pw[sm_model_sigma_index(&model)] = 0.15;
        if (model.skew)
            pw[sm_model_gamma_index(&model)] = 0.8;
        sm_basis_params_to_original(b, &model, 1, pw, po);
        sm_backend_t *bw, *bo;
        double lw, lo;
        ck_assert_int_eq(sm_backend_open(&bw, "reference", NULL, NULL, w, &model), SM_OK);
        ck_assert_int_eq(sm_backend_open(&bo, "reference", NULL, NULL, d, &model), SM_OK);
        ck_assert_int_eq(sm_backend_log_prob(bw, 1, pw, &lw), SM_OK);
        ck_assert_int_eq(sm_backend_log_prob(bo, 1, po, &lo), SM_OK);
        ck_assert(isfinite(lo));
        ck_assert_close(lw, lo, 1e-12, 0);
        sm_backend_free(bw);
        sm_backend_free(bo);
    }
    sm_data_free(w);
    sm_basis_free(b);
    sm_data_free(d);
}
END_TEST

/* Two templates: std 1 and 2, correlation 0.6. By hand, the correlation
 * has eigenvalues 1.6, 0.4 with eigenvectors (1, 1)/sqrt2, (1, -1)/sqrt2, so
 * M = [[1, 1/2], [1, -1/2]]/sqrt2 and for cov_w = [[4, 1], [1, 9]],
 * M^T cov_w M = [[7.5, -1.25], [-1.25, 1.375]]. */
START_TEST(test_cov_2x2)
{
    const double t[8] = {3, 1, 3, 1, 12.8, 10.4, 9.6, 7.2};
    const double delta[4] = {0.1, -0.2, 0.3, 0.0};
    sm_data_t *d = NULL;
    ck_assert_int_eq(sm_data_create(&d, 4, 2, delta, t, NULL), SM_OK);
    sm_basis_t *b = basis_of(d, SM_BASIS_ROTATED);
    const double *m = sm_basis_matrix(b);
    const double want_m[4] = {M_SQRT1_2, 0.5 * M_SQRT1_2, M_SQRT1_2, -0.5 * M_SQRT1_2};
    for (size_t i = 0; i < 4; i++)
        ck_assert_close(m[i], want_m[i], 1e-13, 0);
    const double cw[4] = {4, 1, 1, 9}, want[4] = {7.5, -1.25, -1.25, 1.375};
    double co[4];
    sm_basis_cov_to_original(b, cw, co);
    for (size_t i = 0; i < 4; i++)
        ck_assert_close(co[i], want[i], 1e-12, 0);
    sm_basis_free(b);
    sm_data_free(d);
}
END_TEST

/* The original basis is the identity, and takes templates as they are. */
START_TEST(test_original)
{
    double t[S3 * NT], delta[NT];
    uint8_t mask[NT];
    map3_templates(t, mask);
    for (size_t j = 0; j < NT; j++) {
        delta[j] = 0.01 * (double)(j % 5);
        t[2 * NT + j] = 1.0 + 0.001 * (double)(j % 11);
    }
    sm_data_t *d = NULL;
    ck_assert_int_eq(sm_data_create(&d, NT, S3, delta, t, mask), SM_OK);
    sm_basis_t *b = basis_of(d, SM_BASIS_ORIGINAL);
    ck_assert_int_eq(sm_basis_kind_of(b), SM_BASIS_ORIGINAL);
    const double *m = sm_basis_matrix(b);
    for (size_t i = 0; i < S3 * S3; i++)
        ck_assert_close(m[i], i % (S3 + 1) == 0 ? 1.0 : 0.0, 0, 0);
    sm_data_t *w = NULL;
    ck_assert_int_eq(sm_basis_apply(b, d, &w), SM_OK);
    size_t n = sm_data_n_pix(d);
    for (size_t i = 0; i < S3 * n; i++)
        ck_assert_close(sm_data_templates(w)[i], sm_data_templates(d)[i], 0, 0);

    sm_model_t model = SM_MODEL_INIT(SM_MODEL_COMBINED, 1, S3, SM_MODEL_SIGMA_MIN_DEFAULT);
    const double p[8] = {0.1, -0.2, 0.3, 0.04, -0.05, 0.06, 0.7, 2.5};
    double q[8], cov[S3 * S3], co[S3 * S3];
    sm_basis_params_to_original(b, &model, 1, p, q);
    for (size_t i = 0; i < 8; i++)
        ck_assert_close(q[i], p[i], 0, 0);
    sm_basis_params_to_working(b, &model, 1, p, q);
    for (size_t i = 0; i < 8; i++)
        ck_assert_close(q[i], p[i], 0, 0);
    for (size_t i = 0; i < S3 * S3; i++)
        cov[i] = 0.1 * (double)(i + 1);
    sm_basis_cov_to_original(b, cov, co);
    for (size_t i = 0; i < S3 * S3; i++)
        ck_assert_close(co[i], cov[i], 0, 0);
    sm_data_free(w);
    sm_basis_free(b);
    sm_data_free(d);
}
END_TEST

START_TEST(test_names)
{
    sm_basis_kind_t k = SM_BASIS_ORIGINAL;
    ck_assert_int_eq(sm_basis_parse("rotated", &k), SM_OK);
    ck_assert_int_eq(k, SM_BASIS_ROTATED);
    ck_assert_int_eq(sm_basis_parse("original", &k), SM_OK);
    ck_assert_int_eq(k, SM_BASIS_ORIGINAL);
    ck_assert_str_eq(sm_basis_name(SM_BASIS_ROTATED), "rotated");
    ck_assert_str_eq(sm_basis_name(SM_BASIS_ORIGINAL), "original");
    ck_assert_int_eq(sm_basis_parse("pca", &k), SM_EINVAL);
    ck_assert_str_eq(sm_last_error(), "unknown basis 'pca' (expected rotated or original)");
    ck_assert_int_eq(sm_basis_parse("Rotated", &k), SM_EINVAL);
    ck_assert_int_eq(sm_basis_parse(NULL, &k), SM_EINVAL);
    ck_assert_int_eq(k, SM_BASIS_ORIGINAL);
}
END_TEST

/* An exactly constant template of a value with no exact binary form (its
 * computed std is roundoff, not zero) is still caught and named. */
START_TEST(test_error_constant)
{
    double t[S3 * NT], delta[NT] = {0};
    uint8_t mask[NT];
    map3_templates(t, mask);
    for (size_t j = 0; j < NT; j++)
        t[1 * NT + j] = 0.1;
    sm_data_t *d = NULL;
    ck_assert_int_eq(sm_data_create(&d, NT, S3, delta, t, mask), SM_OK);
    sm_basis_t *b = (sm_basis_t *)&b;
    ck_assert_int_eq(sm_basis_create(&b, d, SM_BASIS_ROTATED), SM_ENUMERIC);
    ck_assert_ptr_null(b);
    ck_assert_msg(strstr(sm_last_error(), "template 2 ('t_2') is constant") != NULL, "got '%s'",
                  sm_last_error());
    sm_data_free(d);
}
END_TEST

START_TEST(test_error_collinear)
{
    double t[S3 * NT], delta[NT] = {0};
    uint8_t mask[NT];
    map3_templates(t, mask);
    for (size_t j = 0; j < NT; j++)
        t[2 * NT + j] = 3.0 - 0.5 * t[0 * NT + j] + 2.0 * t[1 * NT + j];
    sm_data_t *d = NULL;
    ck_assert_int_eq(sm_data_create(&d, NT, S3, delta, t, mask), SM_OK);
    sm_basis_t *b = (sm_basis_t *)&b;
    ck_assert_int_eq(sm_basis_create(&b, d, SM_BASIS_ROTATED), SM_ENUMERIC);
    ck_assert_ptr_null(b);
    ck_assert_msg(strstr(sm_last_error(), "templates are (nearly) collinear") != NULL,
                  "got '%s'", sm_last_error());
    sm_data_free(d);
}
END_TEST

/* Both bases refuse the same templates with the same message: a zero
 * template (no information; its b only rescales sigma) and two identical
 * ones (only their sum is constrained). */
START_TEST(test_bases_refuse_alike)
{
    const char *want[2] = {"template 2 ('t_2') is constant over the used pixels: it cannot be "
                           "standardised, and its multiplicative term only rescales sigma",
                           "templates are (nearly) collinear"};
    for (int c = 0; c < 2; c++) {
        double t[S3 * NT], delta[NT] = {0};
        uint8_t mask[NT];
        map3_templates(t, mask);
        for (size_t j = 0; j < NT; j++)
            t[1 * NT + j] = c == 0 ? 0.0 : t[0 * NT + j];
        sm_data_t *d = NULL;
        ck_assert_int_eq(sm_data_create(&d, NT, S3, delta, t, mask), SM_OK);
        for (int k = 0; k < 2; k++) {
            sm_basis_kind_t kind = k == 0 ? SM_BASIS_ROTATED : SM_BASIS_ORIGINAL;
            sm_basis_t *b = (sm_basis_t *)&b;
            ck_assert_int_eq(sm_basis_create(&b, d, kind), SM_ENUMERIC);
            ck_assert_ptr_null(b);
            ck_assert_msg(strstr(sm_last_error(), want[c]) != NULL, "%s basis: got '%s'",
                          sm_basis_name(kind), sm_last_error());
        }
        sm_data_free(d);
    }
}
END_TEST

/* S x S matrices beyond memory are refused before GSL or calloc wrap. */
START_TEST(test_error_too_many_templates)
{
    size_t s = (size_t)1 << 20;
    double delta[1] = {0.1}, *t = malloc(s * sizeof *t);
    ck_assert_ptr_nonnull(t);
    for (size_t i = 0; i < s; i++)
        t[i] = (double)i;
    sm_data_t *d = NULL;
    ck_assert_int_eq(sm_data_create(&d, 1, s, delta, t, NULL), SM_OK);
    sm_basis_t *b = (sm_basis_t *)&b;
    ck_assert_int_eq(sm_basis_create(&b, d, SM_BASIS_ORIGINAL), SM_ENOMEM);
    ck_assert_ptr_null(b);
    ck_assert_msg(strstr(sm_last_error(), "template basis (S x S): 1099511627776 elements need")
                      != NULL,
                  "got '%s'", sm_last_error());
    sm_data_free(d);
    free(t);
}
END_TEST

START_TEST(test_error_apply_mismatch)
{
    sm_data_t *d3 = map3();
    const double t[8] = {3, 1, 3, 1, 12.8, 10.4, 9.6, 7.2}, delta[4] = {0};
    sm_data_t *d2 = NULL;
    ck_assert_int_eq(sm_data_create(&d2, 4, 2, delta, t, NULL), SM_OK);
    sm_basis_t *b = basis_of(d3, SM_BASIS_ROTATED);
    sm_data_t *w = d2;
    ck_assert_int_eq(sm_basis_apply(b, d2, &w), SM_EINVAL);
    ck_assert_ptr_null(w);
    ck_assert_str_eq(sm_last_error(), "basis is for 3 templates but the data has 2");
    sm_basis_free(b);
    sm_data_free(d2);
    sm_data_free(d3);
}
END_TEST

START_TEST(test_error_kind)
{
    sm_data_t *d = map3();
    sm_basis_t *b = (sm_basis_t *)&b;
    ck_assert_int_eq(sm_basis_create(&b, d, (sm_basis_kind_t)7), SM_EINVAL);
    ck_assert_ptr_null(b);
    ck_assert_str_eq(sm_last_error(), "unknown basis kind 7");
    ck_assert_str_eq(sm_basis_name((sm_basis_kind_t)7), "unknown");
    sm_data_free(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("basis");
    TCase *tc = tcase_create("basis");
    tcase_add_test(tc, test_inverse);
    tcase_add_test(tc, test_working_templates);
    tcase_add_test(tc, test_invariance);
    tcase_add_test(tc, test_log_prob_invariance);
    tcase_add_test(tc, test_cov_2x2);
    tcase_add_test(tc, test_original);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_error_constant);
    tcase_add_test(tc, test_error_collinear);
    tcase_add_test(tc, test_error_apply_mismatch);
    tcase_add_test(tc, test_bases_refuse_alike);
    tcase_add_test(tc, test_error_too_many_templates);
    tcase_add_test(tc, test_error_kind);
    suite_add_tcase(s, tc);
    return sm_test_run(s);
}
