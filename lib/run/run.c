/* One inference run: the seeded initial walkers of sys_mapping's run_mcmc
 * (with numpy's RandomState), emcee's sampling loop, the run file flushed
 * every few steps, the summaries in the original basis and the warnings
 * about them. The generator and sampler outlive execute, so an in-memory
 * run can be continued (sm_run_extend). */
#include "sysmap/run.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sysmap/backend.h"
#include "sysmap/convergence.h"
#include "sysmap/registry.h"
#include "sysmap/rng.h"
#include "sysmap/sampler.h"
#include "sysmap/sizes.h"
#include "sysmap/stats.h"
#include "abi.h"
#include "backend_data.h"
#include "basis_in_place.h"
#include "error.h"
#include "clock.h"
#include "run_adopted.h"

/* Spreads of the seeded initial walkers (sys_mapping.inference.run_mcmc). */
#define SM_INIT_CONT_SCALE 0.05
#define SM_INIT_SIGMA_SCALE 0.1
#define SM_INIT_GAMMA_SCALE 0.1
#define SM_PARAM_NAME_LEN 16

/* The sampler's log-prob: the backend, timed, so a run can say how much of
 * its wall time is the host's own work. */
typedef struct {
    sm_backend_t *backend;
    double seconds;
} timed_backend_t;

struct sm_run {
    sm_run_config_t cfg;
    sm_model_t model;
    const sm_data_t *data;  /* as given, or the adopted data in the sampling basis */
    sm_basis_t *basis;
    sm_data_t *work;        /* data in the sampling basis: a copy, or the adopted data */
    int adopted;            /* work is the caller's data, turned in place */
    uint64_t data_digest;   /* of the data as given */
    sm_backend_t *backend;
    size_t n_dim;
    char (*names)[SM_PARAM_NAME_LEN];
    const char **name_ptrs;
    double *chain, *log_prob;  /* (n_steps, W, n_dim), (n_steps, W), original basis */
    size_t cap_steps;          /* steps chain and log_prob have room for */
    double *init;              /* the walkers read from cfg.init_path */
    /* Summary storage. */
    double *median, *std, *var_a, *var_b, *cov_a, *cov_b, *acceptance, *tau, *ess, *drift;
    sm_chainfile_summary_t summary;
    int have_summary;
    char **warnings;
    size_t n_warnings;
    /* The sampling state after the last step, kept for sm_run_extend. */
    sm_rng_t *rng;
    sm_sampler_t *sampler;
    timed_backend_t timed;
    int sampled;     /* the last execute or extend completed */
    int in_memory;   /* ... without a run file */
};

/* What a run of n_steps holds in memory, the chain (n_steps, W, n_dim)
 * and its log-probabilities (n_steps, W) in bytes, refused before any
 * allocation when the count overflows or the machine has less memory. */
static sm_status chain_bytes(size_t n_steps, size_t w, size_t d, size_t *chain, size_t *lp)
{
    char what[192];
    snprintf(what, sizeof what,
             "a chain of %zu steps x %zu walkers x %zu parameters and its log-probabilities",
             n_steps, w, d);
    size_t rows, total;
    sm_status st = sm_size_mul(n_steps, w, what, &rows);
    if (st == SM_OK)
        st = sm_size_mul(rows, d + 1, what, &total);
    if (st == SM_OK)
        st = sm_size_bytes(total, sizeof(double), what, &total);
    /* Parts of a checked total: these products cannot wrap. */
    *chain = st == SM_OK ? rows * d * sizeof(double) : 0;
    *lp = st == SM_OK ? rows * sizeof(double) : 0;
    return st;
}

sm_status sm_run_config_check(const sm_run_config_t *cfg, size_t n_sys)
{
    if (cfg == NULL)
        return sm_fail(SM_EINVAL, "run: NULL configuration");
    sm_status st = SM_ABI_CHECK(cfg, sm_run_config_t, "sm_run_config_default");
    if (st != SM_OK)
        return st;
    sm_model_t model = SM_MODEL_INIT(cfg->model, cfg->skew, n_sys, cfg->sigma_min);
    st = sm_model_validate(&model);
    if (st != SM_OK)
        return st;
    size_t n_dim = sm_model_n_dim(&model);
    if (cfg->n_walkers < 2 * n_dim)
        return sm_fail(SM_EINVAL,
                       "%zu walkers: the stretch move needs at least 2 x n_dim = %zu walkers "
                       "for the %s%s model with %zu template%s",
                       cfg->n_walkers, 2 * n_dim, sm_model_name(model.kind),
                       model.skew ? " skew-normal" : "", n_sys, n_sys == 1 ? "" : "s");
    if (cfg->n_steps == 0)
        return sm_fail(SM_EINVAL, "the number of steps must be at least 1");
    /* n_burn == n_steps is accepted, as emcee does: an empty posterior,
     * NaN summaries and a warning. */
    if (cfg->n_burn > cfg->n_steps)
        return sm_fail(SM_EINVAL, "burn-in (%zu steps) is longer than the run (%zu steps)",
                       cfg->n_burn, cfg->n_steps);
    if (cfg->flush_every == 0)
        return sm_fail(SM_EINVAL, "flush_every must be at least 1 step");
    if (cfg->init != NULL && cfg->init_path != NULL)
        return sm_fail(SM_EINVAL, "init: both initial walkers and a file of them (%s); give one",
                       cfg->init_path);
    size_t chain, lp;
    return chain_bytes(cfg->n_steps, cfg->n_walkers, n_dim, &chain, &lp);
}

static sm_status validate(const sm_run_config_t *cfg, const sm_model_t *model,
                          const sm_data_t *data)
{
    sm_status st = sm_run_config_check(cfg, model->n_sys);
    if (st != SM_OK)
        return st;
    size_t n_dim = sm_model_n_dim(model), n = sm_data_n_pix(data);
    if (n <= n_dim)
        return sm_fail(SM_EINVAL,
                       "%zu used pixels for %zu parameters: the model needs more pixels than "
                       "parameters",
                       n, n_dim);
    return SM_OK;
}

/* The walkers of cfg.init_path, which the run then starts from. */
static sm_status load_init(sm_run_t *run)
{
    size_t w = run->cfg.n_walkers, count, bytes;
    sm_status st = sm_size_mul(w, run->n_dim, "init: walkers x parameters", &count);
    if (st == SM_OK)
        st = sm_size_bytes(count, sizeof *run->init, "init: the initial walkers", &bytes);
    if (st == SM_OK && (run->init = malloc(bytes)) == NULL)
        st = sm_fail(SM_ENOMEM, "init: out of memory for %zu initial walkers", w);
    if (st == SM_OK) {
        st = sm_data_load_walkers(run->cfg.init_path, w, run->n_dim, run->init);
        if (st != SM_OK)
            sm_fail_context(st, "init");
    }
    run->cfg.init = run->init;
    return st;
}

static sm_status open_configured(void *user, const sm_data_t *work, const sm_model_t *model,
                                 sm_backend_t **out)
{
    const sm_run_config_t *cfg = user;
    return sm_backend_open(out, cfg->backend, cfg->device, cfg->precision, work, model);
}

sm_status sm_run_create(sm_run_t **out, const sm_data_t *data, const sm_run_config_t *cfg)
{
    return sm_run_create_with_backend(out, data, cfg, open_configured, (void *)cfg);
}

/* adopt: data (not const then) becomes the run's, in the sampling basis. */
static sm_status create(sm_run_t **out, const sm_data_t *data, sm_data_t *adopt,
                        const sm_run_config_t *cfg, sm_backend_factory_fn factory, void *user)
{
    *out = NULL;
    if (factory == NULL)
        return sm_fail(SM_EINVAL, "run: NULL backend factory");
    if (data == NULL || cfg == NULL)
        return sm_fail(SM_EINVAL, "run: NULL data or configuration");
    sm_model_t model = SM_MODEL_INIT(cfg->model, cfg->skew, sm_data_n_sys(data), cfg->sigma_min);
    sm_status st = validate(cfg, &model, data);
    if (st != SM_OK)
        return st;
    sm_run_t *run = calloc(1, sizeof *run);
    if (run == NULL)
        return SM_FAIL_NOMEM("run");
    run->cfg = *cfg; /* cfg->init and the strings are borrowed: they must outlive the run */
    run->model = model;
    run->data = data;
    run->data_digest = sm_data_digest(data);
    run->n_dim = sm_model_n_dim(&model);
    size_t w = cfg->n_walkers, d = run->n_dim, s = model.n_sys, chain_size, lp_size;
    chain_bytes(cfg->n_steps, w, d, &chain_size, &lp_size); /* checked by validate */
    run->names = calloc(d, sizeof *run->names);
    run->name_ptrs = calloc(d, sizeof *run->name_ptrs);
    run->chain = malloc(chain_size);
    run->log_prob = malloc(lp_size);
    run->cap_steps = cfg->n_steps;
    run->median = calloc(d, sizeof(double));
    run->std = calloc(d, sizeof(double));
    run->tau = calloc(d, sizeof(double));
    run->ess = calloc(d, sizeof(double));
    run->drift = calloc(d, sizeof(double));
    run->var_a = calloc(s, sizeof(double));
    run->var_b = calloc(s, sizeof(double));
    run->cov_a = calloc(s * s, sizeof(double));
    run->cov_b = calloc(s * s, sizeof(double));
    run->acceptance = calloc(w, sizeof(double));
    if (!run->names || !run->name_ptrs || !run->chain || !run->log_prob || !run->median || !run->std ||
        !run->tau || !run->ess || !run->drift || !run->var_a || !run->var_b || !run->cov_a || !run->cov_b ||
        !run->acceptance) {
        sm_run_free(run);
        return sm_fail(SM_ENOMEM, "out of memory for a chain of %zu steps x %zu walkers x %zu "
                                  "parameters (%.1f MB)",
                       cfg->n_steps, w, d, (double)(chain_size + lp_size) / 1e6);
    }
    for (size_t i = 0; i < d; i++) {
        sm_model_param_name(&model, i, run->names[i], SM_PARAM_NAME_LEN);
        run->name_ptrs[i] = run->names[i];
    }
    if (cfg->init_path != NULL)
        st = load_init(run);
    if (st == SM_OK)
        st = sm_basis_create(&run->basis, data, cfg->basis);
    if (st == SM_OK && adopt != NULL) {
        st = sm_basis_apply_in_place(run->basis, adopt);
        run->work = adopt;
        run->adopted = 1;
    } else if (st == SM_OK) {
        st = sm_basis_apply(run->basis, data, &run->work);
    }
    if (st == SM_OK)
        st = factory(user, run->work, &model, &run->backend);
    if (st == SM_OK && !run->adopted && sm_backend_data_copied(run->backend)) {
        sm_data_free(run->work); /* the device has its own copy */
        run->work = NULL;
    }
    run->timed.backend = run->backend;
    if (st != SM_OK) {
        if (run->adopted)
            run->work = NULL; /* the caller frees what it handed over */
        sm_run_free(run);
        return st;
    }
    *out = run;
    return SM_OK;
}

sm_status sm_run_create_with_backend(sm_run_t **out, const sm_data_t *data,
                                     const sm_run_config_t *cfg, sm_backend_factory_fn factory,
                                     void *user)
{
    return create(out, data, NULL, cfg, factory, user);
}

sm_status sm_run_create_adopting(sm_run_t **out, sm_data_t *data, const sm_run_config_t *cfg,
                                 sm_backend_factory_fn factory, void *user)
{
    sm_status st = create(out, data, data, cfg, factory ? factory : open_configured,
                          factory ? user : (void *)cfg);
    if (st != SM_OK)
        sm_data_free(data);
    return st;
}

static void clear_warnings(sm_run_t *run)
{
    for (size_t i = 0; i < run->n_warnings; i++)
        free(run->warnings[i]);
    free(run->warnings);
    run->warnings = NULL;
    run->n_warnings = 0;
}

void sm_run_free(sm_run_t *run)
{
    if (run == NULL)
        return;
    clear_warnings(run);
    sm_sampler_free(run->sampler);
    sm_rng_free(run->rng);
    sm_backend_free(run->backend);
    sm_data_free(run->work);
    sm_basis_free(run->basis);
    free(run->names);
    free(run->name_ptrs);
    free(run->chain);
    free(run->log_prob);
    free(run->median);
    free(run->std);
    free(run->tau);
    free(run->ess);
    free(run->drift);
    free(run->var_a);
    free(run->var_b);
    free(run->cov_a);
    free(run->cov_b);
    free(run->acceptance);
    free(run->init);
    free(run);
}

static sm_status backend_log_prob(void *ctx, size_t k, const double *x, double *lp)
{
    timed_backend_t *tb = ctx;
    double t0 = sm_now_s();
    sm_status st = sm_backend_log_prob(tb->backend, k, x, lp);
    tb->seconds += sm_now_s() - t0;
    return st;
}

/* sys_mapping's initial walkers, drawn as numpy's legacy normal
 * (loc + scale * gauss) in the sampling basis: contamination (W, n_cont)
 * row-major, then sigma (W,), then gamma (W,). */
static void draw_initial(const sm_run_t *run, sm_rng_t *rng, double *p0)
{
    size_t w = run->cfg.n_walkers, d = run->n_dim, nc = sm_model_n_cont(&run->model);
    size_t is = sm_model_sigma_index(&run->model);
    long ig = sm_model_gamma_index(&run->model);
    double sigma0 = sm_data_delta_std(run->data);
    for (size_t i = 0; i < w; i++)
        for (size_t k = 0; k < nc; k++)
            p0[i * d + k] = 0.0 + SM_INIT_CONT_SCALE * sm_rng_gauss(rng);
    for (size_t i = 0; i < w; i++)
        p0[i * d + is] = sigma0 * (1.0 + (0.0 + SM_INIT_SIGMA_SCALE * sm_rng_gauss(rng)));
    if (ig >= 0)
        for (size_t i = 0; i < w; i++)
            p0[i * d + (size_t)ig] = 0.0 + SM_INIT_GAMMA_SCALE * sm_rng_gauss(rng);
}

static void fill_meta(const sm_run_t *run, sm_chainfile_meta_t *meta)
{
    const sm_run_config_t *c = &run->cfg;
    sm_chainfile_meta_init(meta);
    meta->n_walkers = c->n_walkers;
    meta->n_dim = run->n_dim;
    meta->n_steps = c->n_steps;
    meta->n_burn = c->n_burn;
    meta->n_pix = sm_data_n_pix(run->data);
    meta->n_sys = run->model.n_sys;
    meta->model = sm_model_name(run->model.kind);
    meta->skew = run->model.skew;
    meta->sampling_basis = sm_basis_name(c->basis);
    meta->seed = c->seed;
    meta->explicit_init = c->init != NULL;
    meta->sigma_min = run->model.sigma_min;
    meta->data_digest = run->data_digest;
    meta->backend = sm_backend_name(run->backend);
    meta->device = sm_backend_device(run->backend);
    meta->precision = sm_backend_precision(run->backend);
    meta->param_names = run->name_ptrs;
}

/* Appends a printf-formatted warning. */
static sm_status add_warning(sm_run_t *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static sm_status add_warning(sm_run_t *run, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *text = len >= 0 ? malloc((size_t)len + 1) : NULL;
    char **grown = realloc(run->warnings, (run->n_warnings + 1) * sizeof *grown);
    if (grown != NULL)
        run->warnings = grown;
    if (text == NULL || grown == NULL) {
        free(text);
        return SM_FAIL_NOMEM("a warning");
    }
    va_start(ap, fmt);
    vsnprintf(text, (size_t)len + 1, fmt, ap);
    va_end(ap);
    run->warnings[run->n_warnings++] = text;
    return SM_OK;
}

/* "x, y and z" of the parameters in order[0..n) and, with values, of their
 * |drift| with one decimal, into buf. */
static void drift_list(const sm_run_t *run, const size_t *order, size_t n, int values,
                       char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++) {
        const char *sep = i == 0 ? "" : i + 1 == n ? " and " : ", ";
        int k;
        if (values)
            k = snprintf(buf + used, len - used, "%s%.1f", sep, fabs(run->drift[order[i]]));
        else
            k = snprintf(buf + used, len - used, "%s%s", sep, run->names[order[i]]);
        used += k > 0 ? (size_t)k : 0;
    }
}

/* The burn-in warning: parameters whose |drift| exceeds the threshold,
 * largest first. */
static sm_status drift_warning(sm_run_t *run)
{
    size_t d = run->n_dim, n = 0;
    size_t *order = malloc(d * sizeof *order);
    size_t len = d * (SM_PARAM_NAME_LEN + 32) + 1;
    char *names = malloc(len), *values = malloc(len);
    sm_status st = order && names && values ? SM_OK : SM_FAIL_NOMEM("the burn-in warning");
    for (size_t k = 0; k < d && st == SM_OK; k++) {
        double a = fabs(run->drift[k]);
        if (!(a > SM_STATS_DRIFT_THRESHOLD))
            continue;
        size_t i = n++;
        for (; i > 0 && fabs(run->drift[order[i - 1]]) < a; i--)
            order[i] = order[i - 1];
        order[i] = k;
    }
    if (st == SM_OK && n > 0) {
        drift_list(run, order, n, 0, names, len);
        drift_list(run, order, n, 1, values, len);
        st = add_warning(run,
                         "burn-in may be too short: %s %s by %s Monte-Carlo standard errors "
                         "between the first and last thirds of the post-burn-in chain (more "
                         "than %.0f); run with a longer burn-in",
                         names, n == 1 ? "drifts" : "drift", values, SM_STATS_DRIFT_THRESHOLD);
    }
    free(order);
    free(names);
    free(values);
    return st;
}

static void fill_nan(double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = NAN;
}

/* Statistics of the post-burn-in chain, in the original basis; an empty
 * one (n_burn == n_steps) gives NaN everywhere but the acceptance. */
static sm_status posterior_stats(sm_run_t *run, int *too_short)
{
    const sm_run_config_t *c = &run->cfg;
    size_t w = c->n_walkers, d = run->n_dim, s = run->model.n_sys;
    size_t kept = c->n_steps - c->n_burn;
    if (kept == 0) {
        double *all[] = {run->median, run->std, run->tau, run->ess, run->drift};
        for (size_t i = 0; i < sizeof all / sizeof *all; i++)
            fill_nan(all[i], d);
        fill_nan(run->cov_a, s * s);
        fill_nan(run->cov_b, s * s);
        *too_short = 1;
        return SM_OK;
    }
    const double *post = run->chain + c->n_burn * w * d;
    sm_status st = sm_stats_median(post, kept * w, d, run->median);
    if (st == SM_OK)
        st = sm_stats_param_covariance(post, kept * w, &run->model, run->cov_a, run->cov_b);
    if (st == SM_OK)
        st = sm_stats_autocorr_time(post, kept, w, d, SM_STATS_AUTOCORR_C, SM_STATS_AUTOCORR_TOL,
                                    run->tau,
                                    too_short);
    if (st == SM_OK)
        st = sm_stats_drift(post, kept, w, d, run->drift);
    for (size_t k = 0; k < d && st == SM_OK; k++) {
        double var;
        st = sm_stats_covariance(post, kept * w, d, k, 1, &var);
        run->std[k] = sqrt(var);
        run->ess[k] = (double)(kept * w) / run->tau[k];
    }
    return st;
}

/* Summary and warnings of the chain as it stands. */
static sm_status summarise(sm_run_t *run, double wall_s, double evals)
{
    const sm_run_config_t *c = &run->cfg;
    size_t w = c->n_walkers, s = run->model.n_sys;
    int too_short = 0;
    sm_status st = posterior_stats(run, &too_short);
    if (st != SM_OK)
        return sm_fail_context(st, "chain statistics");
    for (size_t i = 0; i < s; i++) {
        run->var_a[i] = run->cov_a[i * s + i];
        run->var_b[i] = run->cov_b[i * s + i];
    }
    const double *accepted = sm_sampler_accepted(run->sampler);
    for (size_t i = 0; i < w; i++)
        run->acceptance[i] = accepted[i] / (double)c->n_steps;
    sm_chainfile_summary_t *sum = &run->summary;
    sm_chainfile_summary_init(sum);
    sum->median = run->median;
    sum->std = run->std;
    sum->var_a = run->var_a;
    sum->var_b = run->var_b;
    sum->cov_a = run->cov_a;
    sum->cov_b = run->cov_b;
    sum->acceptance_fraction = run->acceptance;
    sum->autocorr_time = run->tau;
    sum->autocorr_too_short = too_short;
    sum->ess = run->ess;
    sum->wall_s = wall_s;
    sum->evals_per_s = wall_s > 0 ? evals / wall_s : 0.0;
    sum->eval_s = run->timed.seconds;
    sum->drift = run->drift;
    sum->n_kept = c->n_steps - c->n_burn;
    if (sum->n_kept == 0)
        st = add_warning(run, "no post-burn-in steps: the burn-in (%zu steps) is the whole run, "
                              "so every posterior summary is NaN; run more steps than the "
                              "burn-in", c->n_burn);
    else
        st = drift_warning(run);
    run->have_summary = st == SM_OK;
    return st;
}

/* Walkers at zero probability move only when a proposal lands where it is
 * not zero: all of them would leave the chain in place (acceptance 0), an
 * error naming the likely cause; some of them, a warning. */
static sm_status check_initial_probability(sm_run_t *run)
{
    const sm_run_config_t *c = &run->cfg;
    const double *lp = sm_sampler_log_prob(run->sampler), *x = sm_sampler_coords(run->sampler);
    size_t w = c->n_walkers, d = run->n_dim, is = sm_model_sigma_index(&run->model);
    size_t zero = 0, low = 0;
    double sigma_max = -INFINITY, sigma_min = run->model.sigma_min;
    for (size_t i = 0; i < w; i++) {
        /* sigma is the same in both bases (the basis turns a and b only) */
        double sigma = x[i * d + is];
        zero += !(lp[i] > -INFINITY);
        low += !(sigma > sigma_min);
        sigma_max = fmax(sigma_max, sigma);
    }
    const char *origin = c->init != NULL ? "given" : "seeded";
    if (zero > 0 && zero < w)
        return add_warning(run,
                           "%zu of %zu initial walkers have zero probability (%zu with sigma <= "
                           "sigma_min = %g); they stay where they are until a proposal lands "
                           "where the probability is not zero, so the first steps are biased",
                           zero, w, low, sigma_min);
    if (zero == 0)
        return SM_OK;
    double spread = sm_data_delta_std(run->data);
    if (low == w)
        return sm_fail(SM_EINVAL, "every initial walker has zero probability: their %s sigma "
                                  "(at most %g) is not above sigma_min = %g, against the map's "
                                  "standard deviation %g; %s",
                       origin, sigma_max, sigma_min, spread,
                       c->init != NULL ? "give initial walkers with sigma above sigma_min"
                                       : "lower sigma_min below the map's spread");
    return sm_fail(SM_ENUMERIC, "every initial walker has zero probability: the log-likelihood "
                                "is not finite at any of the %zu %s walkers (e.g. 1 + b.t = 0 "
                                "at some pixel)",
                   w, origin);
}

static sm_status fresh_start(sm_run_t *run, double *coords_work, sm_chainfile_t **file,
                             const char *out_path, const sm_chainfile_meta_t *meta)
{
    const sm_run_config_t *c = &run->cfg;
    /* Else every seeded sigma is 0: zero probability, and walkers that
     * emcee's independence check refuses without saying why. */
    if (c->init == NULL && sm_data_delta_std(run->data) == 0)
        return sm_fail(SM_EINVAL, "the map is constant (standard deviation 0 over its %zu used "
                                  "pixels): the seeded sigma, std(map) (1 + N(0, 0.1)), is 0, "
                                  "not above sigma_min = %g, so every walker would have zero "
                                  "probability; check the input map",
                       sm_data_n_pix(run->data), run->model.sigma_min);
    if (c->init != NULL)
        sm_basis_params_to_working(run->basis, &run->model, c->n_walkers, c->init, coords_work);
    else
        draw_initial(run, run->rng, coords_work);
    /* The walkers are checked before any file exists, so bad initial walkers
     * leave nothing behind. */
    sm_status st = sm_sampler_set_state(run->sampler, coords_work, NULL);
    if (st == SM_OK)
        st = check_initial_probability(run);
    if (st == SM_OK && out_path != NULL)
        st = sm_chainfile_create(file, out_path, meta);
    return st;
}

/* The stored walkers are the chain's last row, in the sampling basis: a
 * file whose two disagree would continue another chain. */
static sm_status check_resumed_walkers(const sm_run_t *run, const double *coords_work,
                                       size_t start)
{
    size_t w = run->cfg.n_walkers, d = run->n_dim;
    double *orig = malloc(w * d * sizeof *orig);
    if (orig == NULL)
        return SM_FAIL_NOMEM("resume check");
    sm_basis_params_to_original(run->basis, &run->model, w, coords_work, orig);
    int same = memcmp(orig, run->chain + (start - 1) * w * d, w * d * sizeof *orig) == 0;
    free(orig);
    if (same)
        return SM_OK;
    return sm_fail(SM_EFORMAT, "sysmap/resume_coords are not the walkers of mcmc/chain's step "
                               "%zu: the file is inconsistent; start a new run", start);
}

/* Continues a partial file: its chain, walkers, acceptance counts and
 * generator state; *start is the number of complete steps it holds. */
static sm_status resume_start(sm_run_t *run, double *coords_work, sm_chainfile_t **file,
                              const char *out_path, const sm_chainfile_meta_t *meta,
                              size_t *start)
{
    size_t w = run->cfg.n_walkers;
    double *lp = malloc(w * sizeof *lp), *accepted = malloc(w * sizeof *accepted);
    sm_rng_state_t rs;
    sm_status st = (lp && accepted) ? SM_OK : SM_FAIL_NOMEM("resume state");
    if (st == SM_OK)
        st = sm_chainfile_resume(file, out_path, meta, start);
    if (st == SM_OK && *start > 0) {
        st = sm_chainfile_read_chain(*file, run->chain, run->log_prob);
        if (st == SM_OK)
            st = sm_chainfile_read_state(*file, coords_work, lp, accepted, &rs);
        if (st == SM_OK && (st = check_resumed_walkers(run, coords_work, *start)) != SM_OK)
            sm_fail_context(st, "%s%s", out_path, SM_CHAINFILE_PARTIAL_SUFFIX);
        if (st == SM_OK)
            st = sm_rng_set_state(run->rng, &rs);
        if (st == SM_OK)
            st = sm_sampler_set_state(run->sampler, coords_work, lp);
        if (st == SM_OK)
            sm_sampler_set_accepted(run->sampler, accepted);
    }
    free(lp);
    free(accepted);
    return st;
}

/* Writes steps [from, to) of the in-memory chain to the file, if any. */
static sm_status flush(sm_run_t *run, sm_chainfile_t *file, size_t from, size_t to)
{
    if (file == NULL || to == from)
        return SM_OK;
    size_t w = run->cfg.n_walkers, d = run->n_dim;
    sm_rng_state_t rs;
    sm_rng_get_state(run->rng, &rs);
    return sm_chainfile_append(file, to - from, run->chain + from * w * d,
                               run->log_prob + from * w, sm_sampler_accepted(run->sampler), &rs,
                               sm_sampler_coords(run->sampler));
}

/* Steps [start, cfg.n_steps) into the chain, flushed to file (NULL: none)
 * every flush_every steps. */
static sm_status sample(sm_run_t *run, sm_chainfile_t *file, size_t start,
                        sm_progress_fn progress, void *user, double *wall_s)
{
    const sm_run_config_t *c = &run->cfg;
    size_t w = c->n_walkers, d = run->n_dim, flushed = start;
    double t0 = sm_now_s();
    run->timed.seconds = 0.0;
    sm_status st = SM_OK;
    for (size_t step = start; step < c->n_steps && st == SM_OK; step++) {
        st = sm_sampler_step(run->sampler);
        if (st != SM_OK)
            return sm_fail_context(st, "step %zu", step + 1);
        sm_basis_params_to_original(run->basis, &run->model, w, sm_sampler_coords(run->sampler),
                                    run->chain + step * w * d);
        memcpy(run->log_prob + step * w, sm_sampler_log_prob(run->sampler), w * sizeof(double));
        int stop = progress != NULL && progress(user, step + 1, c->n_steps) != 0;
        if (stop || step + 1 == c->n_steps || step + 1 - flushed >= c->flush_every) {
            st = flush(run, file, flushed, step + 1);
            flushed = step + 1;
        }
        if (st == SM_OK && stop)
            st = sm_fail(SM_ECANCELLED, "stopped after step %zu of %zu%s", step + 1, c->n_steps,
                         file != NULL ? "; the file holds every complete step and resuming "
                                        "continues it"
                                      : "");
    }
    *wall_s = sm_now_s() - t0;
    return st;
}

/* Starts a new generator and sampler, replacing those of an earlier execute. */
static sm_status new_sampler(sm_run_t *run)
{
    sm_sampler_free(run->sampler);
    sm_rng_free(run->rng);
    run->sampler = NULL;
    run->rng = NULL;
    sm_status st = sm_rng_create(&run->rng, run->cfg.seed);
    if (st == SM_OK)
        st = sm_sampler_create(&run->sampler, run->cfg.n_walkers, run->n_dim, backend_log_prob,
                               &run->timed, run->rng);
    return st;
}

/* Forgets the results of the last execute or extend. */
static void reset_results(sm_run_t *run)
{
    run->have_summary = 0;
    run->sampled = 0;
    clear_warnings(run);
}

sm_status sm_run_execute(sm_run_t *run, const char *out_path, int resume,
                         sm_progress_fn progress, void *user)
{
    if (run == NULL)
        return sm_fail(SM_EINVAL, "run: NULL");
    if (resume && out_path == NULL)
        return sm_fail(SM_EINVAL, "resume needs the output path of the interrupted run");
    const sm_run_config_t *c = &run->cfg;
    size_t w = c->n_walkers, d = run->n_dim, start = 0;
    sm_chainfile_t *file = NULL;
    sm_chainfile_meta_t meta;
    fill_meta(run, &meta);
    reset_results(run);
    run->in_memory = out_path == NULL;
    /* Before any work: a run that cannot write its file fails now. */
    sm_status st = out_path != NULL ? sm_chainfile_check_output(out_path) : SM_OK;
    if (st == SM_OK)
        st = new_sampler(run);
    double *coords_work = malloc(w * d * sizeof *coords_work);
    if (st == SM_OK && coords_work == NULL)
        st = SM_FAIL_NOMEM("walkers");
    if (st == SM_OK && resume)
        st = resume_start(run, coords_work, &file, out_path, &meta, &start);
    int fresh = st == SM_OK && start == 0;
    if (fresh) {
        /* Nothing to continue (a fresh run, or a partial file with no
         * complete step): start from the initial walkers. */
        sm_chainfile_free(file);
        file = NULL;
        st = fresh_start(run, coords_work, &file, out_path, &meta);
    }
    free(coords_work);
    double wall_s = 0.0;
    if (st == SM_OK)
        st = sample(run, file, start, progress, user, &wall_s);
    if (st == SM_OK)
        st = summarise(run, wall_s, (double)((c->n_steps - start) * w));
    if (st == SM_OK && file != NULL)
        st = sm_chainfile_write_summary(file, &run->summary);
    if (st == SM_OK && file != NULL)
        st = sm_chainfile_write_warnings(file, run->n_warnings,
                                         (const char *const *)run->warnings);
    if (st == SM_OK && file != NULL) {
        st = sm_chainfile_finish(file);
        file = NULL;
    }
    /* A run that failed leaves no file. Its steps so far stay, for --resume,
     * when it was interrupted or its device failed (the steps are good), and
     * a resumed run keeps the file it continued (it still holds its last
     * commit). */
    if (fresh && st != SM_ECANCELLED && st != SM_EDEVICE)
        sm_chainfile_discard(file);
    else
        sm_chainfile_free(file);
    run->sampled = st == SM_OK;
    if (st != SM_OK)
        run->have_summary = 0;
    return st;
}

/* Room for n_steps steps in chain and log_prob. */
static sm_status reserve_steps(sm_run_t *run, size_t n_steps)
{
    size_t chain_size, lp_size;
    if (n_steps <= run->cap_steps)
        return SM_OK;
    sm_status st = chain_bytes(n_steps, run->cfg.n_walkers, run->n_dim, &chain_size, &lp_size);
    if (st != SM_OK)
        return st;
    double *chain = realloc(run->chain, chain_size);
    if (chain == NULL)
        return sm_fail(SM_ENOMEM, "out of memory for a chain of %zu steps (%.1f MB)", n_steps,
                       (double)chain_size / 1e6);
    run->chain = chain;
    double *lp = realloc(run->log_prob, lp_size);
    if (lp == NULL)
        return SM_FAIL_NOMEM("the log-probabilities of a longer chain");
    run->log_prob = lp;
    run->cap_steps = n_steps;
    return SM_OK;
}

sm_status sm_run_extend(sm_run_t *run, size_t n_more, sm_progress_fn progress, void *user)
{
    if (run == NULL)
        return sm_fail(SM_EINVAL, "run: NULL");
    if (!run->sampled)
        return sm_fail(SM_EINVAL, "run: extend continues a completed run; execute it first "
                                  "(the last execute or extend did not complete)");
    if (!run->in_memory)
        return sm_fail(SM_EINVAL, "run: extend continues an in-memory run (executed without "
                                  "an output path); this one wrote a run file, so resume the "
                                  "file with more steps instead");
    size_t start = run->cfg.n_steps, w = run->cfg.n_walkers;
    if (n_more > SIZE_MAX - start)
        return sm_fail(SM_EINVAL, "run: %zu more steps after %zu overflow", n_more, start);
    sm_status st = reserve_steps(run, start + n_more);
    if (st != SM_OK)
        return st;
    reset_results(run);
    run->cfg.n_steps = start + n_more;
    double wall_s = 0.0;
    st = sample(run, NULL, start, progress, user, &wall_s);
    if (st == SM_OK)
        st = summarise(run, wall_s, (double)(n_more * w));
    if (st != SM_OK) {
        /* The sampler has moved past step `start`: nothing consistent to
         * continue from. */
        run->cfg.n_steps = start;
        run->have_summary = 0;
        return st;
    }
    run->sampled = 1;
    return SM_OK;
}

sm_status sm_run_rng_state(const sm_run_t *run, sm_rng_state_t *out)
{
    if (run == NULL || out == NULL)
        return sm_fail(SM_EINVAL, "sm_run_rng_state: NULL argument");
    if (!run->sampled)
        return sm_fail(SM_EINVAL, "run: no generator state before a completed execute");
    sm_rng_get_state(run->rng, out);
    return SM_OK;
}

size_t sm_run_n_warnings(const sm_run_t *run) { return run->n_warnings; }

const char *sm_run_warning(const sm_run_t *run, size_t i)
{
    return i < run->n_warnings ? run->warnings[i] : NULL;
}

const sm_model_t *sm_run_model(const sm_run_t *run) { return &run->model; }
const sm_basis_t *sm_run_basis(const sm_run_t *run) { return run->basis; }
const sm_backend_t *sm_run_backend(const sm_run_t *run) { return run->backend; }
const sm_data_t *sm_run_data(const sm_run_t *run) { return run->data; }
int sm_run_data_is_working(const sm_run_t *run) { return run->adopted; }
const char *sm_run_param_name(const sm_run_t *run, size_t i) { return run->names[i]; }
const double *sm_run_chain(const sm_run_t *run) { return run->chain; }
const double *sm_run_log_prob(const sm_run_t *run) { return run->log_prob; }
const sm_run_config_t *sm_run_config(const sm_run_t *run) { return &run->cfg; }

const sm_chainfile_summary_t *sm_run_summary(const sm_run_t *run)
{
    return run->have_summary ? &run->summary : NULL;
}
