/* The conformance harness's parts: fixture maps, the rounding bound, the
 * tolerance and budget tables, fixture files (round trip, corruption,
 * truncation), each injected fault, the statistical summary check and the
 * fp64 chain check's accept/reject ties. Truths: hand-computed values, a
 * long-double likelihood written from the formula, chains of other seeds. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conform.h"
#include "sysmap/registry.h"
#include "sysmap/run.h"
#include "testutil.h"

#define FIXTURES SM_SOURCE_DIR "/data/conformance"
#define PI 3.14159265358979323846

static conform_tolerances_t tol;
static conform_budgets_t budgets;

static void setup(void)
{
    ck_assert_msg(conform_tolerances_parse(conform_tolerances_text, &tol) == SM_OK, "%s",
                  sm_last_error());
    ck_assert_msg(conform_budgets_parse(conform_budgets_text, &budgets) == SM_OK, "%s",
                  sm_last_error());
}

static void read_fixture(const char *name, conform_fixture_t *fx, sm_data_t **data)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.h5", FIXTURES, name);
    ck_assert_msg(conform_fixture_read(path, fx) == SM_OK, "%s", sm_last_error());
    ck_assert_msg(conform_map_make(&fx->recipe, data) == SM_OK, "%s", sm_last_error());
    ck_assert(sm_data_digest(*data) == fx->map_digest);
}

/* ---- maps ------------------------------------------------------------------ */

START_TEST(test_recipe_deterministic_and_dyadic)
{
    conform_recipe_t r = {"exact", 7, 5000, 3, 0.25, {0}, {0}, 0.0};
    sm_data_t *a, *b;
    ck_assert_int_eq(conform_map_make(&r, &a), SM_OK);
    ck_assert_int_eq(conform_map_make(&r, &b), SM_OK);
    uint64_t digest = sm_data_digest(a);
    ck_assert(digest == sm_data_digest(b));
    const double *t = sm_data_templates(a), *d = sm_data_delta(a);
    for (size_t i = 0; i < 3 * 5000; i++) {
        ck_assert(t[i] * 64.0 == floor(t[i] * 64.0) && fabs(t[i]) <= 2.0);
    }
    for (size_t j = 0; j < 5000; j++)
        ck_assert(d[j] * 1024.0 == floor(d[j] * 1024.0) && fabs(d[j]) <= 0.5);
    sm_data_free(a);
    sm_data_free(b);
    r.seed = 8;
    ck_assert_int_eq(conform_map_make(&r, &b), SM_OK);
    ck_assert(sm_data_digest(b) != digest);
    sm_data_free(b);
}
END_TEST

/* Standard recipe: unit-variance templates with correlation 0.5 between
 * neighbours; delta_obs = delta (1 + b.t) + a.t with delta of width noise. */
START_TEST(test_recipe_moments)
{
    size_t n = 200000;
    conform_recipe_t r = {"standard", 3, n, 2, 0.1, {0.02, -0.01}, {0.05, 0.0}, 0.0};
    sm_data_t *data;
    ck_assert_int_eq(conform_map_make(&r, &data), SM_OK);
    const double *t = sm_data_templates(data), *d = sm_data_delta(data);
    double m0 = 0, v0 = 0, v1 = 0, c01 = 0, res = 0;
    for (size_t j = 0; j < n; j++) {
        m0 += t[j] / (double)n;
        v0 += t[j] * t[j] / (double)n;
        v1 += t[n + j] * t[n + j] / (double)n;
        c01 += t[j] * t[n + j] / (double)n;
        double delta = (d[j] - 0.02 * t[j] + 0.01 * t[n + j]) / (1.0 + 0.05 * t[j]);
        res += delta * delta / (double)n;
    }
    ck_assert_close(m0, 0.0, 0, 0.01);
    ck_assert_close(v0, 1.0, 0.01, 0);
    ck_assert_close(v1, 1.0, 0.01, 0);
    ck_assert_close(c01, 0.5, 0.02, 0);
    ck_assert_close(sqrt(res), 0.1, 0.01, 0);
    sm_data_free(data);
}
END_TEST

START_TEST(test_recipe_errors)
{
    sm_data_t *data = NULL;
    conform_recipe_t r = {"wavy", 1, 10, 1, 0.1, {0}, {0}, 0.0};
    ck_assert_int_eq(conform_map_make(&r, &data), SM_EFORMAT);
    ck_assert(strstr(sm_last_error(), "unknown map recipe 'wavy'") != NULL);
    snprintf(r.recipe, sizeof r.recipe, "standard");
    r.n_sys = CONFORM_MAX_SYS + 1;
    ck_assert_int_eq(conform_map_make(&r, &data), SM_EFORMAT);
    ck_assert(data == NULL);
}
END_TEST

/* ---- the rounding bound ------------------------------------------------------- */

START_TEST(test_bound_hand_computed)
{
    /* One pixel, d = 0.5, t = 2, additive a = 0.1, sigma = 0.2 (S = 1):
     * A = 0.5 + 0.2, B = 1, m = 1, r = 0.3, E_u = 4 A + 3 r + 2 r = 4.3,
     * sq term (2 r E_u + 3 r^2) / (2 sigma^2) = 35.625, log term 3 + 2. */
    double d = 0.5, t = 2.0;
    sm_data_t *data;
    ck_assert_int_eq(sm_data_create(&data, 1, 1, &d, &t, NULL), SM_OK);
    sm_model_t add = SM_MODEL_INIT(SM_MODEL_ADDITIVE, 0, 1, 1e-6);
    double p[2] = {0.1, 0.2};
    ck_assert_close(conform_lp_bound(data, &add, p), 40.625, 1e-14, 0);
    p[1] = 1e-6; /* at sigma_min: outside the prior, no bound */
    ck_assert(conform_lp_bound(data, &add, p) == 0.0);
    sm_model_t mult = SM_MODEL_INIT(SM_MODEL_MULTIPLICATIVE, 0, 1, 1e-6);
    double q[2] = {-0.5, 0.2}; /* m = 1 - 0.5 * 2 = 0: lp unresolvable */
    ck_assert(isinf(conform_lp_bound(data, &mult, q)));
    /* Multiplicative b = 0.1 is a = 0.1 too: A = 0.5 + 0.2, B = 1.2, m = 1.2,
     * r = 0.3 / 1.2 = 0.25, E_u = (4 A + 3 B r) / m + 2 r = 43/12, sq term
     * (2 r E_u + 3 r^2) / (2 sigma^2) = 24.7395833..., log term
     * 3 B / m + 4 ln 1.2 + 2; total 30.468869560509151838 (mpmath). */
    q[0] = 0.1;
    ck_assert_close(conform_lp_bound(data, &mult, q), 30.468869560509151838, 1e-14, 0);
    sm_data_free(data);
}
END_TEST

/* ---- the fixtures' own error, against a long-double likelihood -------------- */

static long double ld_log_ndtr(long double x)
{
    if (x > 0)
        return log1pl(-0.5L * erfcl(x / sqrtl(2.0L)));
    if (x > -30)
        return logl(0.5L * erfcl(-x / sqrtl(2.0L)));
    long double inv2 = 1.0L / (x * x), term = 1.0L, series = 1.0L;
    for (int k = 1; k <= 12; k++) {
        term *= -(long double)(2 * k - 1) * inv2;
        series += term;
    }
    return -0.5L * x * x - logl(-x) - 0.5L * logl(2.0L * 3.14159265358979323846264338327950288L) +
           logl(series);
}

/* Kahan-summed long double. */
typedef struct {
    long double s, c;
} ld_sum_t;

static void ld_add(ld_sum_t *k, long double x)
{
    long double y = x - k->c, t = k->s + y;
    k->c = (t - k->s) - y;
    k->s = t;
}

/* lnL written from the formula (README "What it computes"), in long
 * double; the multiplicative model's one vector is both a and b. */
static long double ld_lp(const sm_data_t *data, const sm_model_t *m, const double *p)
{
    const long double pi = 3.14159265358979323846264338327950288L;
    size_t n = sm_data_n_pix(data), s = m->n_sys;
    const double *d = sm_data_delta(data), *t = sm_data_templates(data);
    long a0 = 0;
    long b0 = m->kind == SM_MODEL_ADDITIVE ? -1 : m->kind == SM_MODEL_COMBINED ? (long)s : 0;
    size_t is = m->kind == SM_MODEL_COMBINED ? 2 * s : s;
    long double sigma = p[is], gamma = m->skew ? p[is + 1] : 0.0L;
    long double xi = m->skew ? -sigma * gamma / sqrtl(1.0L + gamma * gamma) * sqrtl(2.0L / pi)
                             : 0.0L;
    ld_sum_t sq = {0, 0}, log_m = {0, 0}, log_phi = {0, 0};
    for (size_t j = 0; j < n; j++) {
        long double add = 0, mult = 1;
        for (size_t i = 0; i < s; i++) {
            if (a0 >= 0)
                add += (long double)p[a0 + (long)i] * t[i * n + j];
            if (b0 >= 0)
                mult += (long double)p[b0 + (long)i] * t[i * n + j];
        }
        long double u = (d[j] - add) / mult - xi;
        ld_add(&sq, u * u);
        ld_add(&log_m, logl(fabsl(mult)));
        if (m->skew)
            ld_add(&log_phi, ld_log_ndtr(gamma * u / sigma));
    }
    long double lnl = -0.5L * (long double)n * logl(2.0L * pi * sigma * sigma) - log_m.s -
                      sq.s / (2.0L * sigma * sigma);
    if (m->skew)
        lnl += (long double)n * logl(2.0L) + log_phi.s;
    return lnl;
}

static double ulp_of(double x)
{
    x = fabs(x);
    return nextafter(x, INFINITY) - x;
}

/* Every fixture's reference lp is within u64 x bound of the long-double
 * value, plus 4 ulp of the host's final sum of terms (its terms are
 * computed once, on the host, from the sums). */
START_TEST(test_fixture_values_within_own_bound)
{
    char **paths;
    size_t n;
    ck_assert_int_eq(conform_fixture_list(FIXTURES, &paths, &n), SM_OK);
    ck_assert_uint_ge(n, 16);
    double worst = 0.0;
    for (size_t f = 0; f < n; f++) {
        conform_fixture_t fx;
        sm_data_t *data;
        ck_assert_msg(conform_fixture_read(paths[f], &fx) == SM_OK, "%s", sm_last_error());
        ck_assert_int_eq(conform_map_make(&fx.recipe, &data), SM_OK);
        size_t d = conform_fixture_n_dim(&fx);
        for (size_t k = 0; k < fx.n_sets; k++) {
            const double *p = fx.params + k * d;
            if (!isfinite(fx.lp[k])) {
                ck_assert(!sm_model_in_prior(&fx.model, p));
                continue;
            }
            double sigma = p[sm_model_sigma_index(&fx.model)];
            double host = fabs(0.5 * (double)fx.recipe.n_pix * log(2 * PI * sigma * sigma)) +
                          fabs(fx.sums[3 * k + 1] / (2 * sigma * sigma)) + fabs(fx.lp[k]);
            double own = DBL_EPSILON / 2 * fx.bound[k], truth = (double)ld_lp(data, &fx.model, p);
            double err = fabs(fx.lp[k] - truth);
            ck_assert_msg(err <= own + 4 * ulp_of(host),
                          "%s set %zu: lp %.17g, long double %.17g (error %.3g, bound %.3g)",
                          fx.name, k, fx.lp[k], truth, err, own);
            worst = fmax(worst, err / (own + 4 * ulp_of(host)));
        }
        conform_fixture_free(&fx);
        sm_data_free(data);
        free(paths[f]);
    }
    free(paths);
    printf("fixtures' own error: worst %.3g of (u64 x bound + 4 ulp of the host terms)\n", worst);
}
END_TEST

/* ---- tolerance and budget tables ---------------------------------------------- */

START_TEST(test_limits_embedded)
{
    ck_assert_double_eq(tol.lp_factor[CONFORM_FP64], 2.0);
    ck_assert_double_eq(tol.lp_factor[CONFORM_FP32], 2.0);
    ck_assert_double_eq(tol.chain_ties_max, 3.0);
    ck_assert_double_eq(tol.median_z[CONFORM_FP32], 5.0);
    for (size_t i = 0; i < tol.table.n; i++)
        ck_assert_msg(strlen(tol.table.rows[i].why) > 40, "%s lacks a justification",
                      tol.table.rows[i].name);
    ck_assert_int_eq(budgets.model, SM_MODEL_COMBINED);
    ck_assert_uint_eq(budgets.n_pix, 50000);
    ck_assert_uint_eq(budgets.n_walkers, 64);
    ck_assert_double_eq(conform_budget_floor(&budgets, "CPU", CONFORM_FP64), 0.1);
    ck_assert(isnan(conform_budget_floor(&budgets, "reference", CONFORM_FP32)));
    ck_assert(isnan(conform_budget_floor(&budgets, "quantum", CONFORM_FP64)));
}
END_TEST

START_TEST(test_limits_errors)
{
    static const char *const good =
        "lp_factor 2 2 why\nexact_lp_ulps 1 - why\nexact_log_ulps 2 - why\n"
        "chain_ties_max 3 - why\nmedian_z 5 5 why\n";
    static const struct {
        const char *text, *message;
    } bad[] = {
        {"lp_factor 2 2\n", "line 1: expected 'name fp64 fp32 justification'"},
        {"lp_factor 2 x why\n", "line 1: 'x' is not a non-negative number"},
        {"lp_factor -1 2 why\n", "'-1' is not a non-negative number"},
        {"# c\nlp_factor 2 2 why\nlp_factor 2 2 why\n", "line 3: 'lp_factor' given twice"},
        {"warp 1 1 why\n", "unknown tolerance 'warp'"},
        {"lp_factor 2 - why\n", "'lp_factor' needs a value for fp64 and fp32"},
        {"lp_factor 2 2 why\n", "no row 'exact_lp_ulps'"},
    };
    conform_tolerances_t t;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_int_eq(conform_tolerances_parse(bad[i].text, &t), SM_EFORMAT);
        ck_assert_msg(strstr(sm_last_error(), bad[i].message) != NULL, "'%s' for case %zu",
                      sm_last_error(), i);
    }
    ck_assert_int_eq(conform_tolerances_parse(good, &t), SM_EFORMAT);
    ck_assert(strstr(sm_last_error(), "no row 'cov_z'") != NULL);
    conform_budgets_t b;
    ck_assert_int_eq(conform_budgets_parse("CPU 1 1 why\n", &b), SM_EFORMAT);
    ck_assert(strstr(sm_last_error(), "no 'problem' line") != NULL);
    ck_assert_int_eq(conform_budgets_parse("problem model=spiral\n", &b), SM_EFORMAT);
    ck_assert(strstr(sm_last_error(), "unknown model 'spiral'") != NULL);
    ck_assert_int_eq(conform_budgets_parse("problem model=combined skew=0 n_sys=2 n_pix=10 "
                                           "walkers=3 seconds=1\n",
                                           &b),
                     SM_EFORMAT);
    ck_assert(strstr(sm_last_error(), "walkers (even)") != NULL);
    ck_assert_int_eq(conform_budgets_parse("problem model=combined skew=0 n_sys=2 n_pix=10 "
                                           "walkers=4 seconds=1 colour=3\n",
                                           &b),
                     SM_EFORMAT);
    ck_assert(strstr(sm_last_error(), "unknown key 'colour'") != NULL);
}
END_TEST

/* ---- fixture files -------------------------------------------------------------- */

static void small_fixture(conform_fixture_t *fx)
{
    memset(fx, 0, sizeof *fx);
    snprintf(fx->name, sizeof fx->name, "tiny");
    snprintf(fx->description, sizeof fx->description, "a test fixture");
    fx->model = (sm_model_t)SM_MODEL_INIT(SM_MODEL_COMBINED, 1, 2, 1e-6);
    fx->recipe = (conform_recipe_t){"standard", 5, 30, 2, 0.1, {0.01, 0.02}, {0.03, 0.04}, 1.5};
    fx->map_digest = 77;
    ck_assert_int_eq(conform_fixture_alloc(fx, 3, 12, 4), SM_OK);
    fx->seed = 9;
    fx->n_burn = 1;
    double v = 12345.678;
    for (size_t i = 0; i < 3 * 6; i++)
        fx->params[i] = v += 1.0;
    for (size_t i = 0; i < 3; i++) {
        fx->lp[i] = -(double)i;
        fx->bound[i] = 100.0 + (double)i;
        fx->exact[i] = (uint8_t)(i == 2);
    }
    for (size_t i = 0; i < 4 * 12 * 6; i++)
        fx->chain[i] = 0.5 * (double)i;
    fx->median[0] = 3.5;
    fx->cov_b[3] = 2.5;
}

static size_t file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert(f != NULL);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return (size_t)n;
}

START_TEST(test_fixture_roundtrip)
{
    conform_fixture_t fx, back;
    small_fixture(&fx);
    const char *path = sm_test_tmp_path("tiny.h5");
    ck_assert_msg(conform_fixture_write(path, &fx) == SM_OK, "%s", sm_last_error());
    ck_assert_msg(conform_fixture_read(path, &back) == SM_OK, "%s", sm_last_error());
    char diff[512];
    ck_assert_msg(conform_fixture_diff(&fx, &back, diff, sizeof diff) == 0, "%s", diff);
    ck_assert(conform_fixture_checksum(&fx) == conform_fixture_checksum(&back));
    back.chain[7] += 1.0;
    ck_assert_int_eq(conform_fixture_diff(&fx, &back, diff, sizeof diff), 1);
    ck_assert_msg(strstr(diff, "chain/chain[7]") != NULL, "%s", diff);
    conform_fixture_free(&back);
    /* Same content, same bytes: no timestamps. */
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", path);
    const char *path2 = sm_test_tmp_path("tiny2.h5");
    ck_assert_int_eq(conform_fixture_write(path2, &fx), SM_OK);
    ck_assert_int_eq(sm_test_system("cmp -s %s %s", copy, path2), 0);
    conform_fixture_free(&fx);
}
END_TEST

/* Overwrites the 8 bytes of the double `value` in the file with `with`. */
static void patch_double(const char *path, double value, double with)
{
    size_t n = file_size(path);
    unsigned char *buf = malloc(n);
    FILE *f = fopen(path, "r+b");
    ck_assert(f != NULL && buf != NULL && fread(buf, 1, n, f) == n);
    size_t at = n;
    for (size_t i = 0; i + 8 <= n && at == n; i++)
        if (memcmp(buf + i, &value, 8) == 0)
            at = i;
    ck_assert_msg(at < n, "value not found in %s", path);
    fseek(f, (long)at, SEEK_SET);
    fwrite(&with, 8, 1, f);
    fclose(f);
    free(buf);
}

START_TEST(test_fixture_corrupt_truncated_missing)
{
    conform_fixture_t fx, back;
    small_fixture(&fx);
    const char *path = sm_test_tmp_path("corrupt.h5");
    ck_assert_int_eq(conform_fixture_write(path, &fx), SM_OK);
    /* One parameter value changed in place: HDF5 reads it; the checksum
     * does not match. */
    patch_double(path, 12346.678, 12346.679);
    ck_assert_int_eq(conform_fixture_read(path, &back), SM_EFORMAT);
    ck_assert_msg(strstr(sm_last_error(), "does not match its checksum") != NULL &&
                      strstr(sm_last_error(), path) != NULL,
                  "%s", sm_last_error());
    /* Truncated to half. */
    ck_assert_int_eq(conform_fixture_write(path, &fx), SM_OK);
    ck_assert_int_eq(truncate(path, (off_t)(file_size(path) / 2)), 0);
    sm_status st = conform_fixture_read(path, &back);
    ck_assert_msg(st == SM_EIO || st == SM_EFORMAT, "%d", st);
    ck_assert(strstr(sm_last_error(), path) != NULL);
    /* Not there at all, and a folder without fixtures. */
    ck_assert_int_eq(conform_fixture_read("/nonexistent/x.h5", &back), SM_EIO);
    char **paths;
    size_t n;
    ck_assert_int_eq(conform_fixture_list("/nonexistent", &paths, &n), SM_EIO);
    ck_assert_int_eq(conform_fixture_list(SM_SOURCE_DIR "/lib", &paths, &n), SM_EIO);
    ck_assert(strstr(sm_last_error(), "no fixtures") != NULL);
    conform_fixture_free(&fx);
}
END_TEST

/* A fixture whose map does not regenerate (here: a consistent file with the
 * wrong digest) is a fixture problem; the other cases are still checked. */
START_TEST(test_map_digest_mismatch)
{
    conform_fixture_t fx;
    sm_data_t *data;
    read_fixture("additive_gauss_n1", &fx, &data);
    const char *dir = sm_test_tmp_path("digest");
    ck_assert_int_eq(sm_test_system("mkdir -p %s && cp %s/exact_additive.h5 %s/", dir, FIXTURES,
                                    dir),
                     0);
    char path[1024];
    snprintf(path, sizeof path, "%s/additive_gauss_n1.h5", dir);
    fx.map_digest ^= 1;
    ck_assert_int_eq(conform_fixture_write(path, &fx), SM_OK);
    conform_options_t opt = {dir, "reference", NULL, NULL};
    conform_settings_t set = {&tol, &budgets, CONFORM_FAULT_NONE};
    conform_target_t *targets;
    size_t n;
    ck_assert_int_eq(conform_targets(&opt, &targets, &n), SM_OK);
    ck_assert_uint_eq(n, 1);
    opt.only = "additive_gauss_n1,exact_additive";
    conform_report_t rep = {dir, "test", CONFORM_FAULT_NONE, &tol, &budgets, targets, n, NULL, 0,
                            0, 0.0, NULL};
    ck_assert_msg(conform_run(&opt, &set, &rep) == SM_OK, "%s", sm_last_error());
    ck_assert_uint_eq(rep.n_cases, 1);
    ck_assert_uint_eq(rep.n_problems, 1);
    ck_assert_msg(strstr(rep.problems[0].message, "regenerated from its recipe differs") &&
                      strstr(rep.problems[0].message, "additive_gauss_n1.h5"),
                  "%s", rep.problems[0].message);
    ck_assert_int_eq(conform_exit_status(&rep), CONFORM_EXIT_FIXTURE);
    for (size_t i = 0; i < targets[0].n_results; i++)
        ck_assert_str_eq(targets[0].results[i].case_name, "exact_additive");
    free(rep.problems);
    conform_targets_free(targets, n);
    conform_fixture_free(&fx);
    sm_data_free(data);
}
END_TEST

/* ---- faults --------------------------------------------------------------------- */

typedef struct {
    conform_fixture_t fx;
    sm_data_t *data;
    double lp[64];
} plain_t;

static void fault_lp(const conform_fixture_t *fx, const sm_data_t *data, conform_fault fault,
                     const char *name, const char *precision, double *lp)
{
    sm_backend_t *be;
    ck_assert_msg(conform_backend_open(name, NULL, precision, fault, data, &fx->model, &be) ==
                      SM_OK,
                  "%s", sm_last_error());
    ck_assert_str_eq(sm_backend_precision(be), precision);
    ck_assert_int_eq(sm_backend_log_prob(be, fx->n_sets, fx->params, lp), SM_OK);
    sm_backend_free(be);
}

START_TEST(test_faults_on_reference)
{
    plain_t p;
    read_fixture("combined_gauss_sigma_min", &p.fx, &p.data);
    double lp[64];
    fault_lp(&p.fx, p.data, CONFORM_FAULT_NONE, "reference", "fp64", p.lp);
    for (size_t i = 0; i < p.fx.n_sets; i++)
        ck_assert(p.lp[i] == p.fx.lp[i] || (isnan(p.lp[i]) && isnan(p.fx.lp[i])));
    fault_lp(&p.fx, p.data, CONFORM_FAULT_ULP, "reference", "fp64", lp);
    for (size_t i = 0; i < p.fx.n_sets; i++)
        if (isfinite(p.lp[i])) /* 4 ulp up, within the host's final rounding */
            ck_assert_close(lp[i] - p.lp[i], 4 * ulp_of(p.lp[i]), 0, 1.01 * ulp_of(p.lp[i]));
        else
            ck_assert(lp[i] == p.lp[i]);
    fault_lp(&p.fx, p.data, CONFORM_FAULT_OFFSET, "reference", "fp64", lp);
    for (size_t i = 0; i < p.fx.n_sets; i++)
        if (isfinite(p.lp[i]))
            ck_assert_close(lp[i] - p.lp[i], 1e-6, 0, 2 * ulp_of(p.lp[i]));
    /* Swap: walker 0 gets walker 1's pixel sums and the other way round. */
    fault_lp(&p.fx, p.data, CONFORM_FAULT_SWAP, "reference", "fp64", lp);
    size_t n = sm_data_n_pix(p.data), s = p.fx.model.n_sys, d = conform_fixture_n_dim(&p.fx);
    for (size_t w = 0; w < 2; w++) {
        const double *other = p.fx.sums + 3 * (1 - w);
        sm_pixel_sums_t sums = {other[0], other[1], other[2]};
        ck_assert(lp[w] == sm_model_log_prob(&p.fx.model, n, p.fx.params + w * d, &sums));
        ck_assert(fabs(lp[w] - p.lp[w]) > 1.0);
    }
    for (size_t i = 2; i < p.fx.n_sets; i++)
        ck_assert(lp[i] == p.lp[i]);
    fault_lp(&p.fx, p.data, CONFORM_FAULT_JITTER, "reference", "fp64", lp);
    for (size_t i = 0; i < p.fx.n_sets; i++)
        if (isfinite(p.lp[i]))
            ck_assert(fabs(lp[i] - p.lp[i]) <= 1e-3 + 2 * ulp_of(p.lp[i]) && lp[i] != p.lp[i]);
    /* Drop: the map without its last pixel, normalised for N pixels. */
    fault_lp(&p.fx, p.data, CONFORM_FAULT_DROP, "reference", "fp64", lp);
    double *t = malloc(s * (n - 1) * sizeof *t);
    for (size_t i = 0; i < s; i++)
        memcpy(t + i * (n - 1), sm_data_templates(p.data) + i * n, (n - 1) * sizeof *t);
    sm_data_t *shorter;
    sm_backend_t *ref;
    ck_assert_int_eq(sm_data_create(&shorter, n - 1, s, sm_data_delta(p.data), t, NULL), SM_OK);
    ck_assert_int_eq(sm_backend_open(&ref, "reference", NULL, NULL, shorter, &p.fx.model), SM_OK);
    double want[64];
    ck_assert_int_eq(sm_backend_log_prob(ref, p.fx.n_sets, p.fx.params, want), SM_OK);
    for (size_t i = 0; i < p.fx.n_sets; i++) {
        double sigma = p.fx.params[i * d + sm_model_sigma_index(&p.fx.model)];
        if (isfinite(want[i]))
            ck_assert_close(lp[i], want[i] - 0.5 * log(2 * PI * sigma * sigma), 1e-12, 0);
    }
    sm_backend_free(ref);
    sm_data_free(shorter);
    free(t);
    /* Slow: 2e6 pixel-walker evaluations per second at most. */
    sm_backend_t *slow;
    ck_assert_int_eq(conform_backend_open("reference", NULL, "fp64", CONFORM_FAULT_SLOW, p.data,
                                          &p.fx.model, &slow),
                     SM_OK);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(sm_backend_log_prob(slow, p.fx.n_sets, p.fx.params, lp), SM_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    ck_assert(took >= (double)(p.fx.n_sets * n) / 2e6 * 0.999);
    ck_assert(lp[0] == p.lp[0]);
    sm_backend_free(slow);
    /* Names, and the fp32 fault needs OpenCL. */
    conform_fault fault;
    ck_assert_int_eq(conform_fault_parse("drop", &fault), SM_OK);
    ck_assert_int_eq(fault, CONFORM_FAULT_DROP);
    ck_assert_str_eq(conform_fault_name(CONFORM_FAULT_JITTER), "jitter");
    ck_assert_int_eq(conform_fault_parse("gremlin", &fault), SM_EINVAL);
    ck_assert(strstr(sm_last_error(), "unknown fault 'gremlin'") != NULL);
    ck_assert_int_eq(conform_backend_open("reference", NULL, "fp64", CONFORM_FAULT_FP32, p.data,
                                          &p.fx.model, &slow),
                     SM_EINVAL);
    ck_assert(strstr(sm_last_error(), "needs an OpenCL device") != NULL);
    conform_fixture_free(&p.fx);
    sm_data_free(p.data);
}
END_TEST

/* fp32 kernels behind an fp64 label: fp32-sized errors. */
START_TEST(test_fault_fp32_on_opencl)
{
    plain_t p;
    read_fixture("additive_gauss_large", &p.fx, &p.data);
    double lp[64];
    fault_lp(&p.fx, p.data, CONFORM_FAULT_FP32, "opencl", "fp64", lp);
    double worst = 0.0;
    for (size_t i = 0; i < p.fx.n_sets; i++)
        if (isfinite(p.fx.lp[i]))
            worst = fmax(worst, fabs(lp[i] - p.fx.lp[i]) / fabs(p.fx.lp[i]));
    ck_assert_msg(worst > 1e-8, "worst relative error %g: not fp32", worst);
    conform_fixture_free(&p.fx);
    sm_data_free(p.data);
}
END_TEST

/* ---- the summary check: statistics of chains ------------------------------------- */

static double *chain_with_seed(const conform_fixture_t *fx, const sm_data_t *data, uint32_t seed)
{
    sm_run_config_t cfg;
    sm_run_config_default(&cfg);
    cfg.model = fx->model.kind;
    cfg.skew = fx->model.skew;
    cfg.n_walkers = fx->n_walkers;
    cfg.n_steps = fx->n_steps;
    cfg.n_burn = fx->n_burn;
    cfg.seed = seed;
    cfg.basis = SM_BASIS_ORIGINAL;
    cfg.backend = "reference";
    cfg.init = fx->p0;
    sm_run_t *run;
    ck_assert_int_eq(sm_run_create(&run, data, &cfg), SM_OK);
    ck_assert_msg(sm_run_execute(run, NULL, 0, NULL, NULL) == SM_OK, "%s", sm_last_error());
    size_t len = fx->n_steps * fx->n_walkers * conform_fixture_n_dim(fx);
    double *chain = malloc(len * sizeof *chain);
    memcpy(chain, sm_run_chain(run), len * sizeof *chain);
    sm_run_free(run);
    return chain;
}

static conform_result_t compare(const conform_fixture_t *fx, const double *chain)
{
    conform_settings_t set = {&tol, &budgets, CONFORM_FAULT_NONE};
    conform_result_t r;
    memset(&r, 0, sizeof r);
    ck_assert_int_eq(conform_summary_compare(&set, CONFORM_FP32, fx, chain, &r), SM_OK);
    return r;
}

START_TEST(test_summary_statistics)
{
    static const char *const cases[] = {"additive_skew_chain", "combined_gauss_chain",
                                        "multiplicative_gauss_chain"};
    for (size_t c = 0; c < 3; c++) {
        conform_fixture_t fx;
        sm_data_t *data;
        read_fixture(cases[c], &fx, &data);
        size_t d = conform_fixture_n_dim(&fx), len = fx.n_steps * fx.n_walkers * d;
        conform_result_t r = compare(&fx, fx.chain);
        ck_assert(r.verdict == CONFORM_PASS && r.ratio == 0.0);
        /* Independent chains of the same posterior (other seeds) pass. */
        for (uint32_t seed = 1; seed <= 2; seed++) {
            double *other = chain_with_seed(&fx, data, seed);
            r = compare(&fx, other);
            ck_assert_msg(r.verdict == CONFORM_PASS, "%s seed %u: %s", cases[c], seed, r.detail);
            printf("%s, seed %u: ratio %.2f (%s)\n", cases[c], seed, r.ratio, r.detail);
            free(other);
        }
        /* Shifted by one posterior sigma in the first parameter: fails. */
        double *moved = malloc(len * sizeof *moved);
        memcpy(moved, fx.chain, len * sizeof *moved);
        for (size_t i = 0; i < len; i += d)
            moved[i] += fx.std[0];
        r = compare(&fx, moved);
        ck_assert_msg(r.verdict == CONFORM_FAIL && strstr(r.detail, "median of") != NULL, "%s",
                      r.detail);
        /* Spread doubled about the median: the covariance fails. */
        memcpy(moved, fx.chain, len * sizeof *moved);
        for (size_t i = 0; i < len; i++)
            moved[i] = fx.median[i % d] + 2.0 * (moved[i] - fx.median[i % d]);
        r = compare(&fx, moved);
        ck_assert_msg(r.verdict == CONFORM_FAIL && strstr(r.detail, "cov(") != NULL, "%s",
                      r.detail);
        free(moved);
        conform_fixture_free(&fx);
        sm_data_free(data);
    }
}
END_TEST

/* ---- the fp64 chain check: ties ------------------------------------------------- */

static conform_result_t chain_result(const conform_tolerances_t *t, conform_fault fault,
                                     const conform_fixture_t *fx, const sm_data_t *data)
{
    conform_settings_t set = {t, &budgets, fault};
    conform_target_t target;
    memset(&target, 0, sizeof target);
    snprintf(target.label, sizeof target.label, "reference");
    snprintf(target.backend, sizeof target.backend, "reference");
    target.precision = CONFORM_FP64;
    ck_assert_int_eq(conform_check_chain(&set, &target, fx, data), SM_OK);
    ck_assert_uint_eq(target.n_results, 2);
    ck_assert_int_eq(target.results[0].check, CONFORM_CHAIN);
    ck_assert_int_eq(target.results[1].check, CONFORM_SUMMARY);
    conform_result_t r = target.results[0];
    free(target.results);
    return r;
}

/* The jitter fault moves lp by up to 1e-3: a few decisions per chain come out
 * differently. With a tolerance loose enough to admit such errors they are
 * named accept/reject ties (margin below 2e-3), counted against the limit,
 * and the chain is resynchronised after each; with the real tolerance the
 * same divergence is not a tie. */
START_TEST(test_chain_ties)
{
    conform_fixture_t fx;
    sm_data_t *data;
    read_fixture("combined_gauss_chain", &fx, &data);
    conform_result_t r = chain_result(&tol, CONFORM_FAULT_NONE, &fx, data);
    ck_assert_msg(r.verdict == CONFORM_PASS && strstr(r.detail, "element for element"), "%s",
                  r.detail);
    conform_tolerances_t loose = tol;
    loose.lp_factor[CONFORM_FP64] = 1e15;
    loose.chain_ties_max = 1000;
    r = chain_result(&loose, CONFORM_FAULT_JITTER, &fx, data);
    size_t ties = 0;
    ck_assert_msg(r.verdict == CONFORM_PASS &&
                      sscanf(r.detail, "%zu accept/reject tie", &ties) == 1,
                  "%s", r.detail);
    ck_assert_msg(ties >= 1 && ties < 100, "%s", r.detail);
    ck_assert_msg(strstr(r.detail, "step ") && strstr(r.detail, "walker ") &&
                      strstr(r.detail, "margin "),
                  "%s", r.detail);
    double margin = 1.0;
    const char *m = strstr(r.detail, "margin ");
    ck_assert(sscanf(m, "margin %lf", &margin) == 1 && margin <= 2e-3);
    printf("jitter with a loose tolerance: %s\n", r.detail);
    loose.chain_ties_max = (double)ties - 1;
    r = chain_result(&loose, CONFORM_FAULT_JITTER, &fx, data);
    ck_assert_msg(r.verdict == CONFORM_FAIL && r.ratio > 1.0, "%s", r.detail);
    r = chain_result(&tol, CONFORM_FAULT_JITTER, &fx, data);
    ck_assert_msg(r.verdict == CONFORM_FAIL && strstr(r.detail, "not an accept/reject tie"), "%s",
                  r.detail);
    conform_fixture_free(&fx);
    sm_data_free(data);
}
END_TEST

static Suite *conform_suite(void)
{
    Suite *s = suite_create("conform");
    TCase *tc = tcase_create("parts");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_recipe_deterministic_and_dyadic);
    tcase_add_test(tc, test_recipe_moments);
    tcase_add_test(tc, test_recipe_errors);
    tcase_add_test(tc, test_bound_hand_computed);
    tcase_add_test(tc, test_fixture_values_within_own_bound);
    tcase_add_test(tc, test_limits_embedded);
    tcase_add_test(tc, test_limits_errors);
    tcase_add_test(tc, test_fixture_roundtrip);
    tcase_add_test(tc, test_fixture_corrupt_truncated_missing);
    tcase_add_test(tc, test_map_digest_mismatch);
    tcase_add_test(tc, test_faults_on_reference);
    tcase_add_test(tc, test_fault_fp32_on_opencl);
    tcase_add_test(tc, test_summary_statistics);
    tcase_add_test(tc, test_chain_ties);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sm_test_run(conform_suite());
}
