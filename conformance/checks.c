/* The log-likelihood checks: every parameter set of a fixture evaluated in
 * one batch on the device, against the reference values (general sets) or
 * against the exact value (exact sets, fp64). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conform.h"
#include "error.h"

/* Unit roundoff of each precision: half the machine epsilon. */
static const double unit_roundoff[2] = {DBL_EPSILON / 2, FLT_EPSILON / 2};
#define ULP_LN2 0x1p-53 /* ln 2 lies in [0.5, 1) */

const char *conform_check_name(conform_check check)
{
    static const char *const names[CONFORM_N_CHECKS] = {"lp", "exact", "chain", "summary",
                                                        "timing"};
    return names[check];
}

sm_status conform_target_add(conform_target_t *t, const conform_result_t *r)
{
    if (t->n_results == t->cap_results) {
        size_t cap = t->cap_results ? 2 * t->cap_results : 32;
        conform_result_t *grown = realloc(t->results, cap * sizeof *grown);
        if (grown == NULL)
            return SM_FAIL_NOMEM("conformance results");
        t->results = grown;
        t->cap_results = cap;
    }
    t->results[t->n_results++] = *r;
    return SM_OK;
}

sm_status conform_open(const conform_settings_t *set, const conform_target_t *target,
                       const sm_data_t *data, const sm_model_t *model, sm_backend_t **out)
{
    return conform_backend_open(target->backend,
                                target->device_spec[0] ? target->device_spec : NULL,
                                conform_precision_name(target->precision), set->fault, data,
                                model, out);
}

static double ulp(double x)
{
    x = fabs(x);
    return nextafter(x, INFINITY) - x;
}

/* Worst set so far of one check. */
typedef struct {
    double ratio;
    size_t set;
    double got, want, tol;
    size_t n;
} worst_t;

static void consider(worst_t *w, size_t set, double got, double want, double tol)
{
    double err = fabs(got - want);
    double ratio = got == want ? 0.0 : tol > 0 ? err / tol : INFINITY;
    if (isnan(ratio))
        ratio = INFINITY;
    w->n++;
    if (w->n == 1 || ratio > w->ratio) {
        *w = (worst_t){ratio, set, got, want, tol, w->n};
    }
}

static void finish(conform_result_t *r, const worst_t *w, const char *what)
{
    r->ratio = w->ratio;
    r->verdict = w->ratio <= 1.0 ? CONFORM_PASS : CONFORM_FAIL;
    snprintf(r->detail, sizeof r->detail,
             "%zu %s sets; worst set %zu: lp %.17g, expected %.17g (error %.3g, tolerance %.3g)",
             w->n, what, w->set, w->got, w->want, fabs(w->got - w->want), w->tol);
}

/* General sets: within factor * u * bound of the reference; -inf exactly
 * where the reference is -inf, and anything where the bound says the
 * precision cannot resolve lp (tolerance >= |lp|). */
static void judge_general(const conform_settings_t *set, const conform_target_t *t,
                          const conform_fixture_t *fx, const double *lp, worst_t *w)
{
    double scale = set->tol->lp_factor[t->precision] * unit_roundoff[t->precision];
    for (size_t i = 0; i < fx->n_sets; i++) {
        if (fx->exact[i])
            continue;
        double want = fx->lp[i], tol = scale * fx->bound[i];
        if (isfinite(want) && !isfinite(lp[i]) && tol >= fabs(want))
            consider(w, i, want, want, tol);
        else
            consider(w, i, lp[i], want, isfinite(want) ? tol : 0.0);
    }
}

/* Exact sets: sums exact in binary64, so lp is what the host makes of the
 * fixture's sums, up to the log of |m_j| = 1 computed indirectly. */
static void judge_exact(const conform_settings_t *set, const conform_fixture_t *fx,
                        const double *lp, worst_t *w)
{
    size_t d = conform_fixture_n_dim(fx), n = fx->recipe.n_pix;
    for (size_t i = 0; i < fx->n_sets; i++) {
        if (!fx->exact[i])
            continue;
        const double *s = fx->sums + 3 * i;
        sm_pixel_sums_t sums = {s[0], s[1], s[2]};
        double want = sm_model_log_prob(&fx->model, n, fx->params + i * d, &sums);
        double tol = set->tol->exact_lp_ulps * ulp(want) +
                     (double)n * set->tol->exact_log_ulps * ULP_LN2;
        consider(w, i, lp[i], want, tol);
    }
}

static size_t count_exact(const conform_fixture_t *fx)
{
    size_t n = 0;
    for (size_t i = 0; i < fx->n_sets; i++)
        n += fx->exact[i] != 0;
    return n;
}

static void result_init(conform_result_t *r, const conform_fixture_t *fx, conform_check check)
{
    memset(r, 0, sizeof *r);
    snprintf(r->case_name, sizeof r->case_name, "%s", fx->name);
    r->check = check;
    r->ratio = NAN;
}

sm_status conform_check_lp(const conform_settings_t *set, conform_target_t *t,
                           const conform_fixture_t *fx, const sm_data_t *data)
{
    conform_result_t general, exact;
    result_init(&general, fx, CONFORM_LP);
    result_init(&exact, fx, CONFORM_EXACT);
    size_t n_exact = count_exact(fx);
    double *lp = malloc((fx->n_sets + 1) * sizeof *lp);
    if (lp == NULL)
        return SM_FAIL_NOMEM("log-likelihood values");
    sm_backend_t *be = NULL;
    sm_status st = conform_open(set, t, data, &fx->model, &be);
    if (st == SM_OK)
        st = sm_backend_log_prob(be, fx->n_sets, fx->params, lp);
    sm_backend_free(be);
    if (st != SM_OK) {
        general.verdict = exact.verdict = CONFORM_FAIL;
        general.ratio = exact.ratio = INFINITY;
        snprintf(general.detail, sizeof general.detail, "the device failed: %s", sm_last_error());
        snprintf(exact.detail, sizeof exact.detail, "%s", general.detail);
    } else {
        worst_t wg = {0}, we = {0};
        judge_general(set, t, fx, lp, &wg);
        if (wg.n > 0)
            finish(&general, &wg, "general");
        else
            general.verdict = CONFORM_SKIP;
        if (t->precision == CONFORM_FP64) {
            judge_exact(set, fx, lp, &we);
            if (we.n > 0)
                finish(&exact, &we, "exact");
        } else {
            exact.verdict = CONFORM_SKIP;
            snprintf(exact.detail, sizeof exact.detail,
                     "exact sets are exact in binary64 arithmetic only");
        }
    }
    free(lp);
    st = conform_target_add(t, &general);
    if (st == SM_OK && n_exact > 0)
        st = conform_target_add(t, &exact);
    return st;
}
