/* The timing check: likelihood throughput on the budgets' problem (half-
 * ensemble batches, as the sampler calls it) against the floor of the
 * device's class. A miss is a timing failure, reported apart from the
 * numerical checks, so a slow but correct device shows as exactly that. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conform.h"
#include "sysmap/rng.h"
#include "error.h"

#define TIMING_SEED 2024u
#define TIMING_NOISE 0.1

/* Walkers near the truth of the problem's map: all in the prior, so
 * every evaluation does the full work. */
static sm_status make_walkers(const sm_model_t *m, size_t n, double *p)
{
    sm_rng_t *rng;
    sm_status st = sm_rng_create(&rng, TIMING_SEED);
    if (st != SM_OK)
        return st;
    size_t d = sm_model_n_dim(m);
    for (size_t w = 0; w < n; w++) {
        for (size_t k = 0; k < d; k++)
            p[w * d + k] = 0.01 * sm_rng_gauss(rng);
        p[w * d + sm_model_sigma_index(m)] = TIMING_NOISE * (1.0 + 0.05 * sm_rng_gauss(rng));
    }
    sm_rng_free(rng);
    return SM_OK;
}

sm_status conform_check_timing(const conform_settings_t *set, conform_target_t *t)
{
    const conform_budgets_t *b = set->budgets;
    conform_result_t r;
    memset(&r, 0, sizeof r);
    snprintf(r.case_name, sizeof r.case_name, "timing");
    r.check = CONFORM_TIMING;
    r.ratio = NAN;
    double floor = conform_budget_floor(b, t->klass, t->precision);
    if (isnan(floor)) {
        r.verdict = CONFORM_SKIP;
        snprintf(r.detail, sizeof r.detail, "budgets.txt has no %s floor for class %s",
                 conform_precision_name(t->precision), t->klass);
        return conform_target_add(t, &r);
    }
    conform_recipe_t recipe = {"standard", TIMING_SEED, b->n_pix, b->n_sys, TIMING_NOISE,
                               {0}, {0}, 0.0};
    sm_model_t model = SM_MODEL_INIT(b->model, b->skew, b->n_sys, SM_MODEL_SIGMA_MIN_DEFAULT);
    sm_data_t *data = NULL;
    sm_backend_t *be = NULL;
    size_t half = b->n_walkers / 2;
    double *walkers = malloc(half * sm_model_n_dim(&model) * sizeof *walkers);
    sm_status st = walkers ? conform_map_make(&recipe, &data) : SM_FAIL_NOMEM("timing walkers");
    if (st == SM_OK)
        st = make_walkers(&model, half, walkers);
    if (st == SM_OK)
        st = conform_open(set, t, data, &model, &be);
    /* Half-ensemble batches, as the sampler calls the backend. */
    sm_throughput_t tp;
    if (st == SM_OK)
        st = sm_backend_throughput(be, half, walkers, b->seconds, &tp);
    sm_backend_free(be);
    sm_data_free(data);
    free(walkers);
    if (st != SM_OK) {
        r.verdict = CONFORM_FAIL;
        r.ratio = INFINITY;
        snprintf(r.detail, sizeof r.detail, "the device failed: %s", sm_last_error());
        return conform_target_add(t, &r);
    }
    double gpws = tp.evals_per_s / 1e9;
    r.ratio = gpws > 0 ? floor / gpws : INFINITY;
    r.verdict = gpws >= floor ? CONFORM_PASS : CONFORM_FAIL;
    snprintf(r.detail, sizeof r.detail,
             "%.4g G pixel-walker evaluations/s (floor %.4g for %s %s): %s%s model, N = %zu, "
             "S = %zu, batches of %zu, %.2f s measured",
             gpws, floor, t->klass, conform_precision_name(t->precision),
             sm_model_name(b->model), b->skew ? " skew-normal" : "", b->n_pix, b->n_sys,
             tp.walkers, tp.seconds);
    return conform_target_add(t, &r);
}
