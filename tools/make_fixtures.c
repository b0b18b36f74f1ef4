/* sysmap-make-fixtures: makes the conformance fixtures in data/conformance
 * (its README.md describes them) deterministically, checks
 * that committed fixtures are what it makes (--check), and exports a case's
 * map as a sysmap input file (--export-map). Every value comes from the
 * reference backend and sysmap's own run, seeded, so the same build gives
 * the same content. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform.h"
#include "sysmap/backend.h"
#include "sysmap/registry.h"
#include "sysmap/rng.h"
#include "sysmap/run.h"
#include "error.h"
#include "h5util.h"

#define WALKERS 64
#define STEPS 200
#define BURN 50
#define PILOT_STEPS 100
#define MAX_SETS 24  /* 8 general + at most 3 + 6 + 2 + 4 special sets */
#define MAX_DIM (2 * CONFORM_MAX_SYS + 2)
#define SKEW_NOISE_GAMMA 3.0  /* skew cases: clearly skewed data, so gamma is identified */

enum { SIGMA_EDGE = 1, SKEW_TAILS = 2, M_EDGE = 4, EXACT = 8 };

typedef struct {
    const char *name, *description;
    sm_model_kind_t kind;
    int skew;
    size_t n_sys, n_pix;
    const char *recipe;
    double noise, a_scale, b_scale;
    int chain, special;
} case_spec_t;

#define ADD SM_MODEL_ADDITIVE
#define MUL SM_MODEL_MULTIPLICATIVE
#define COM SM_MODEL_COMBINED

/* Pixel counts are not multiples of any work-group size (except N = 1). */
static const case_spec_t cases[] = {
    {"additive_gauss_n1", "one pixel", ADD, 0, 2, 1, "standard", 0.1, 0.02, 0, 0, 0},
    {"additive_gauss_chain", "reference chain", ADD, 0, 2, 1009, "standard", 0.1, 0.02, 0, 1, 0},
    {"additive_gauss_large", "131073 pixels", ADD, 0, 2, 131073, "standard", 0.1, 0.02, 0, 0, 0},
    {"additive_skew_chain", "reference chain", ADD, 1, 3, 1201, "standard", 0.1, 0.02, 0, 1, 0},
    {"additive_skew_dynamic", "templates scaled 1e-4, 1e4, 1; outliers x1000; skew tails", ADD,
     1, 3, 4099, "dynamic", 0.1, 0.02, 0, 0, SKEW_TAILS},
    {"multiplicative_gauss_chain", "reference chain; m_j near 0 and negative", MUL, 0, 2, 1499,
     "standard", 0.1, 0, 0.05, 1, M_EDGE},
    {"multiplicative_skew_chain", "reference chain", MUL, 1, 1, 2003, "standard", 0.1, 0, 0.05,
     1, 0},
    {"multiplicative_skew_tails", "7 pixels; gamma to +-1000, ln Phi far in the tail", MUL, 1, 1,
     7, "standard", 0.1, 0, 0.05, 0, SKEW_TAILS | M_EDGE},
    {"combined_gauss_chain", "reference chain", COM, 0, 2, 999, "standard", 0.1, 0.02, 0.05, 1,
     0},
    {"combined_gauss_collinear", "templates with correlation 1 - 5e-9", COM, 0, 2, 5003,
     "collinear", 0.1, 0.02, 0.05, 0, M_EDGE},
    {"combined_gauss_sigma_min", "noise 3e-6: sigma at and just above sigma_min", COM, 0, 2, 65,
     "standard", 3e-6, 2e-6, 1e-3, 0, SIGMA_EDGE},
    {"combined_skew_chain", "reference chain", COM, 1, 1, 1501, "standard", 0.1, 0.02, 0.05, 1,
     0},
    {"combined_skew_large", "11 templates, 199999 pixels", COM, 1, 11, 199999, "standard", 0.1,
     0.02, 0.05, 0, M_EDGE},
    {"exact_additive", "dyadic map: exact sums in binary64", ADD, 0, 2, 4093, "exact", 0.25, 0,
     0, 0, EXACT},
    {"exact_multiplicative", "dyadic map: exact sums in binary64", MUL, 0, 2, 4093, "exact",
     0.25, 0, 0, 0, EXACT},
    {"exact_combined", "dyadic map: exact sums in binary64", COM, 0, 2, 4093, "exact", 0.25, 0,
     0, 0, EXACT},
};
#define N_CASES (sizeof cases / sizeof *cases)

/* Injected contamination: a_i = a_scale x pattern_i, b_i = b_scale x pattern'_i. */
static const double a_pattern[] = {1.0, -0.6, 0.4, -0.3, 0.8, 0.1, -0.9, 0.5, 0.2, -0.4, 0.7};
static const double b_pattern[] = {1.0, 0.3, -0.8, 0.5, -0.2, 0.6, 0.0, -0.5, 0.9, -0.1, 0.4};

static uint32_t case_seed(size_t index)
{
    return 20250000u + 101u * (uint32_t)index;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: sysmap-make-fixtures [--only NAME] DIR        write the fixtures\n"
               "       sysmap-make-fixtures --check [--only NAME] DIR  compare with DIR's\n"
               "       sysmap-make-fixtures --export-map NAME OUT.h5   a case's map as input\n");
}

static int fail(const char *what)
{
    fprintf(stderr, "sysmap-make-fixtures: %s: %s\n", what, sm_last_error());
    return 1;
}

/* ---- parameter sets ------------------------------------------------------ */

typedef struct {
    const case_spec_t *spec;
    const sm_model_t *m;
    const sm_data_t *data;
    sm_rng_t *rng;
    double truth[MAX_DIM], rms[CONFORM_MAX_SYS];
    size_t d, n;
    double params[MAX_SETS * MAX_DIM];
    uint8_t exact[MAX_SETS];
} sets_t;

static double *new_set(sets_t *s)
{
    double *p = s->params + s->n * s->d;
    memcpy(p, s->truth, s->d * sizeof *p);
    s->exact[s->n++] = 0;
    return p;
}

/* The a block where it is its own, else -1: a model with b = a
 * (multiplicative) has no a apart from its b. */
static long own_a_offset(const sm_model_t *m)
{
    long a0 = sm_model_a_offset(m);
    return a0 == sm_model_b_offset(m) ? -1 : a0;
}

/* The multiplicative model's one vector (a = b) moves once, as b. */
static void set_blocks(sets_t *s, double *p, double f_a, double f_b)
{
    long a0 = own_a_offset(s->m), b0 = sm_model_b_offset(s->m);
    for (size_t i = 0; i < s->m->n_sys; i++) {
        if (a0 >= 0)
            p[(size_t)a0 + i] += f_a * s->spec->noise / s->rms[i] * conform_bell(s->rng);
        if (b0 >= 0)
            p[(size_t)b0 + i] += f_b * 0.1 / s->rms[i] * conform_bell(s->rng);
    }
}

/* The truth, a set a few posterior widths away, then ever farther (gamma
 * around the data's shape); then two outside the prior. */
static void general_sets(sets_t *s)
{
    size_t is = sm_model_sigma_index(s->m);
    long ig = sm_model_gamma_index(s->m);
    double post = 1.0 / sqrt((double)sm_data_n_pix(s->data));
    static const double far[] = {0.1, 0.3, 1.0, 3.0};
    new_set(s);
    double *p = new_set(s);
    set_blocks(s, p, 3.0 * post, 3.0 * post);
    p[is] *= 1.02;
    if (ig >= 0)
        p[ig] -= 0.7;
    for (size_t k = 0; k < sizeof far / sizeof *far; k++) {
        p = new_set(s);
        set_blocks(s, p, far[k], far[k]);
        p[is] *= 0.7 + 0.6 * sm_rng_uniform(s->rng);
        if (ig >= 0)
            p[ig] += 2.0 * conform_bell(s->rng);
    }
    /* Outside the prior: lp = -inf on every backend. */
    new_set(s)[is] = s->m->sigma_min;
    new_set(s)[is] = -s->truth[is];
}

static void special_sets(sets_t *s)
{
    size_t is = sm_model_sigma_index(s->m), n = sm_data_n_pix(s->data);
    long ig = sm_model_gamma_index(s->m), b0 = sm_model_b_offset(s->m);
    int sp = s->spec->special;
    if (sp & SIGMA_EDGE) {
        static const double f[] = {1.0 + 0x1p-40, 1.5, 2.5};
        for (size_t k = 0; k < 3; k++)
            new_set(s)[is] = s->m->sigma_min * f[k];
    }
    if ((sp & SKEW_TAILS) && ig >= 0) {
        static const double g[] = {-1000, -40, -12, 12, 40, 1000};
        for (size_t k = 0; k < 6; k++) {
            double *p = new_set(s);
            p[ig] = g[k];
            p[is] *= 0.5;
        }
    }
    if ((sp & M_EDGE) && b0 >= 0) {
        /* m_j = 1 + b_1 t_1j down to 1e-3, and below 0 for some pixels. */
        double tmax = -INFINITY;
        for (size_t j = 0; j < n; j++)
            tmax = fmax(tmax, sm_data_templates(s->data)[j]);
        double *p = new_set(s);
        p[b0] = -(1.0 - 1e-3) / tmax;
        p = new_set(s);
        p[b0] = -1.5 / tmax;
    }
    if (sp & EXACT) {
        /* a = k / 256 with |k| <= 16, b = 0, sigma a power of two: every
         * product, residual, square and sum is exact in binary64. The
         * multiplicative model's a is its b: a = b = 0 there. */
        static const double sig[] = {0x1p-10, 0x1p-8, 0x1p-12, 0x1p-6};
        long a0 = own_a_offset(s->m);
        for (size_t k = 0; k < 4; k++) {
            double *p = new_set(s);
            for (size_t i = 0; i < s->d; i++)
                p[i] = 0.0;
            for (size_t i = 0; a0 >= 0 && i < s->m->n_sys; i++)
                p[(size_t)a0 + i] = (double)((long)(sm_rng_uniform(s->rng) * 32.0) - 16) / 256.0;
            p[is] = sig[k];
            s->exact[s->n - 1] = 1;
        }
    }
}

/* The exact sets' sq computed in integers (units of 2^-28): the reference's
 * must equal it bit for bit, or the set is not exact. */
static int exact_sq_matches(const sets_t *s, const double *p, double sq)
{
    size_t n = sm_data_n_pix(s->data), ns = s->m->n_sys;
    const double *d = sm_data_delta(s->data), *t = sm_data_templates(s->data);
    long a0 = own_a_offset(s->m); /* exact sets: b = 0 */
    long long total = 0;
    for (size_t j = 0; j < n; j++) {
        long long r = (long long)(d[j] * 16384.0);
        for (size_t i = 0; a0 >= 0 && i < ns; i++)
            r -= (long long)(p[(size_t)a0 + i] * 256.0) * (long long)(t[i * n + j] * 64.0);
        total += r * r;
    }
    return (double)total * 0x1p-28 == sq;
}

static double rms(const double *x, size_t n)
{
    double s = 0.0;
    for (size_t j = 0; j < n; j++)
        s += x[j] * x[j];
    return sqrt(s / (double)n);
}

static sm_status make_sets(const case_spec_t *spec, size_t index, const sm_data_t *data,
                           conform_fixture_t *fx, sets_t *s)
{
    memset(s, 0, sizeof *s);
    s->spec = spec;
    s->m = &fx->model;
    s->data = data;
    s->d = sm_model_n_dim(s->m);
    size_t n = sm_data_n_pix(data);
    long a0 = sm_model_a_offset(s->m), b0 = sm_model_b_offset(s->m);
    for (size_t i = 0; i < s->m->n_sys; i++) {
        s->rms[i] = rms(sm_data_templates(data) + i * n, n);
        if (a0 >= 0)
            s->truth[(size_t)a0 + i] = fx->recipe.inj_a[i];
        if (b0 >= 0)
            s->truth[(size_t)b0 + i] = fx->recipe.inj_b[i];
    }
    s->truth[sm_model_sigma_index(s->m)] = spec->noise;
    if (s->m->skew)
        s->truth[sm_model_gamma_index(s->m)] = fx->recipe.noise_gamma;
    sm_status st = sm_rng_create(&s->rng, case_seed(index) + 1);
    if (st != SM_OK)
        return st;
    general_sets(s);
    special_sets(s);
    sm_rng_free(s->rng);
    s->rng = NULL;
    return SM_OK;
}

/* lp, pixel sums and bound of every set with the reference backend. */
static sm_status evaluate_sets(const sets_t *s, const sm_data_t *data, conform_fixture_t *fx)
{
    sm_backend_t *ref;
    sm_status st = sm_backend_open(&ref, "reference", NULL, "fp64", data, &fx->model);
    if (st != SM_OK)
        return st;
    int in_prior[MAX_SETS];
    sm_pixel_sums_t sums[MAX_SETS];
    memcpy(fx->params, s->params, s->n * s->d * sizeof(double));
    memcpy(fx->exact, s->exact, s->n);
    for (size_t k = 0; k < s->n; k++) {
        in_prior[k] = sm_model_in_prior(&fx->model, s->params + k * s->d);
        sums[k] = (sm_pixel_sums_t){0, 0, 0};
    }
    st = sm_backend_log_prob(ref, s->n, s->params, fx->lp);
    if (st == SM_OK)
        st = sm_backend_pixel_sums(ref, s->n, s->params, in_prior, sums);
    sm_backend_free(ref);
    for (size_t k = 0; st == SM_OK && k < s->n; k++) {
        const double *p = s->params + k * s->d;
        fx->sums[3 * k] = sums[k].log_m;
        fx->sums[3 * k + 1] = sums[k].sq;
        fx->sums[3 * k + 2] = sums[k].log_phi;
        fx->bound[k] = conform_lp_bound(data, &fx->model, p);
        if (s->exact[k] && (sums[k].log_m != 0.0 || !exact_sq_matches(s, p, sums[k].sq)))
            st = sm_fail(SM_ENUMERIC, "%s: exact set %zu is not exact", fx->name, k);
    }
    return st;
}

/* ---- the reference chain -------------------------------------------------- */

static sm_status run_chain(const sm_data_t *data, const sm_model_t *m, uint32_t seed,
                           size_t steps, const double *init, sm_run_t **out)
{
    sm_run_config_t cfg;
    sm_run_config_default(&cfg);
    cfg.model = m->kind;
    cfg.skew = m->skew;
    cfg.n_walkers = WALKERS;
    cfg.n_steps = steps;
    cfg.n_burn = steps < BURN * 2 ? steps / 2 : BURN;
    cfg.seed = seed;
    cfg.basis = SM_BASIS_ORIGINAL;
    cfg.backend = "reference";
    cfg.init = init;
    sm_status st = sm_run_create(out, data, &cfg);
    if (st == SM_OK)
        st = sm_run_execute(*out, NULL, 0, NULL, NULL);
    return st;
}

/* Walkers around the truth at about the posterior's width, moved for
 * PILOT_STEPS by a pilot chain so the fixture's chain starts settled. */
static sm_status initial_walkers(const sets_t *s, const sm_data_t *data, uint32_t seed,
                                 double *p0)
{
    size_t n = sm_data_n_pix(data), d = s->d;
    long a0 = sm_model_a_offset(s->m), b0 = sm_model_b_offset(s->m);
    long ig = sm_model_gamma_index(s->m);
    double width[MAX_DIM];
    /* b's width only where b is its own block; the multiplicative vector
     * (a = b) is pinned by its additive action, so it has a's width. */
    for (size_t i = 0; i < s->m->n_sys; i++) {
        if (b0 >= 0 && b0 != a0)
            width[(size_t)b0 + i] = 1.0 / (s->rms[i] * sqrt(2.0 * (double)n));
        if (a0 >= 0)
            width[(size_t)a0 + i] = s->spec->noise / (s->rms[i] * sqrt((double)n));
    }
    width[sm_model_sigma_index(s->m)] = s->spec->noise / sqrt(2.0 * (double)n);
    if (ig >= 0)
        width[ig] = 0.3;
    sm_rng_t *rng;
    sm_status st = sm_rng_create(&rng, seed + 2);
    if (st != SM_OK)
        return st;
    double rough[WALKERS * MAX_DIM];
    for (size_t w = 0; w < WALKERS; w++)
        for (size_t k = 0; k < d; k++)
            rough[w * d + k] = s->truth[k] + width[k] * conform_bell(rng);
    sm_rng_free(rng);
    sm_run_t *pilot = NULL;
    st = run_chain(data, s->m, seed + 3, PILOT_STEPS, rough, &pilot);
    if (st == SM_OK)
        memcpy(p0, sm_run_chain(pilot) + (PILOT_STEPS - 1) * WALKERS * d,
               WALKERS * d * sizeof *p0);
    sm_run_free(pilot);
    return st;
}

static sm_status make_chain(const sets_t *s, const sm_data_t *data, uint32_t seed,
                            conform_fixture_t *fx)
{
    size_t d = s->d, ns = fx->model.n_sys;
    fx->seed = seed;
    fx->n_burn = BURN;
    sm_status st = initial_walkers(s, data, seed, fx->p0);
    sm_run_t *run = NULL;
    if (st == SM_OK)
        st = run_chain(data, &fx->model, seed, STEPS, fx->p0, &run);
    if (st == SM_OK) {
        const sm_chainfile_summary_t *sum = sm_run_summary(run);
        memcpy(fx->chain, sm_run_chain(run), STEPS * WALKERS * d * sizeof(double));
        memcpy(fx->chain_lp, sm_run_log_prob(run), STEPS * WALKERS * sizeof(double));
        memcpy(fx->median, sum->median, d * sizeof(double));
        memcpy(fx->std, sum->std, d * sizeof(double));
        memcpy(fx->ess, sum->ess, d * sizeof(double));
        memcpy(fx->cov_a, sum->cov_a, ns * ns * sizeof(double));
        memcpy(fx->cov_b, sum->cov_b, ns * ns * sizeof(double));
        for (size_t k = 0; k < d; k++)
            if (!(fx->ess[k] > 0 && isfinite(fx->ess[k])))
                st = sm_fail(SM_ENUMERIC, "%s: the chain's ESS of parameter %zu is %g",
                             fx->name, k, fx->ess[k]);
    }
    sm_run_free(run);
    return st;
}

/* ---- one case ------------------------------------------------------------- */

static sm_status make_case(size_t index, conform_fixture_t *fx, sm_data_t **data_out)
{
    const case_spec_t *c = &cases[index];
    memset(fx, 0, sizeof *fx);
    snprintf(fx->name, sizeof fx->name, "%s", c->name);
    snprintf(fx->description, sizeof fx->description, "%s %s, S = %zu, N = %zu: %s",
             sm_model_name(c->kind), c->skew ? "skew-normal" : "Gaussian", c->n_sys, c->n_pix,
             c->description);
    fx->model = (sm_model_t)SM_MODEL_INIT(c->kind, c->skew, c->n_sys, SM_MODEL_SIGMA_MIN_DEFAULT);
    conform_recipe_t *r = &fx->recipe;
    snprintf(r->recipe, sizeof r->recipe, "%s", c->recipe);
    r->seed = case_seed(index);
    r->n_pix = c->n_pix;
    r->n_sys = c->n_sys;
    r->noise = c->noise;
    r->noise_gamma = c->skew ? SKEW_NOISE_GAMMA : 0.0;
    /* A model with b = a (multiplicative) makes its map with a = b. */
    const sm_model_kind_info_t *k = sm_model_kind_info(c->kind);
    for (size_t i = 0; i < c->n_sys; i++) {
        r->inj_b[i] = k->b_block < 0 ? 0.0 : c->b_scale * b_pattern[i];
        r->inj_a[i] = k->a_block < 0          ? 0.0
                      : k->a_block == k->b_block ? r->inj_b[i]
                                                 : c->a_scale * a_pattern[i];
    }
    sm_data_t *data = NULL;
    sets_t *sets = malloc(sizeof *sets);
    sm_status st = sets ? conform_map_make(r, &data) : SM_FAIL_NOMEM("parameter sets");
    if (st == SM_OK) {
        fx->map_digest = sm_data_digest(data);
        st = make_sets(c, index, data, fx, sets);
    }
    if (st == SM_OK)
        st = conform_fixture_alloc(fx, sets->n, WALKERS, c->chain ? STEPS : 0);
    if (st == SM_OK)
        st = evaluate_sets(sets, data, fx);
    if (st == SM_OK && c->chain)
        st = make_chain(sets, data, case_seed(index) + 5, fx);
    free(sets);
    if (st == SM_OK && data_out != NULL)
        *data_out = data;
    else
        sm_data_free(data);
    if (st != SM_OK)
        sm_fail_context(st, "case %s", c->name);
    return st;
}

static int write_or_check(const char *dir, const char *only, int check)
{
    int rc = 0, matched = 0;
    for (size_t i = 0; i < N_CASES; i++) {
        if (only != NULL && strcmp(only, cases[i].name) != 0)
            continue;
        matched = 1;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.h5", dir, cases[i].name);
        conform_fixture_t fx, on_disk;
        if (make_case(i, &fx, NULL) != SM_OK) {
            conform_fixture_free(&fx);
            return fail("generating");
        }
        if (!check) {
            if (conform_fixture_write(path, &fx) != SM_OK)
                rc = fail("writing");
        } else if (conform_fixture_read(path, &on_disk) != SM_OK) {
            rc = fail("checking");
        } else {
            char diff[CONFORM_TEXT_LEN];
            if (conform_fixture_diff(&fx, &on_disk, diff, sizeof diff)) {
                fprintf(stderr, "sysmap-make-fixtures: %s differs from what the generator "
                                "makes: %s\n", path, diff);
                rc = 1;
            }
            conform_fixture_free(&on_disk);
        }
        conform_fixture_free(&fx);
    }
    if (!matched) {
        fprintf(stderr, "sysmap-make-fixtures: no case named %s\n", only);
        return 2;
    }
    return rc;
}

/* The map of a case as a sysmap input file (delta_g_obs, templates). */
static int export_map(const char *name, const char *out)
{
    for (size_t i = 0; i < N_CASES; i++) {
        if (strcmp(name, cases[i].name) != 0)
            continue;
        conform_fixture_t fx;
        sm_data_t *data = NULL;
        sm_status st = make_case(i, &fx, &data);
        conform_fixture_free(&fx);
        hid_t file = H5I_INVALID_HID;
        if (st == SM_OK)
            st = sm_h5_create_file(out, &file);
        hsize_t dims[2] = {sm_data_n_sys(data), sm_data_n_pix(data)};
        if (st == SM_OK)
            st = sm_h5_write_dataset(file, "delta_g_obs", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1,
                                     dims + 1, sm_data_delta(data));
        if (st == SM_OK)
            st = sm_h5_write_dataset(file, "templates", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2,
                                     dims, sm_data_templates(data));
        sm_h5_close(file);
        sm_data_free(data);
        return st == SM_OK ? 0 : fail("exporting");
    }
    fprintf(stderr, "sysmap-make-fixtures: no case named %s\n", name);
    return 2;
}

int main(int argc, char **argv)
{
    int check = 0;
    const char *only = NULL, *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check") == 0) {
            check = 1;
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(argv[i], "--export-map") == 0 && i + 2 < argc) {
            return export_map(argv[i + 1], argv[i + 2]);
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (dir == NULL && argv[i][0] != '-') {
            dir = argv[i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (dir == NULL) {
        usage(stderr);
        return 2;
    }
    return write_or_check(dir, only, check);
}
