/* The chain checks. The device samples from the fixture's initial walkers
 * and seed with sysmap's emcee-exact sampler; every random number comes
 * from the host, so the proposals depend on the device only through
 * accept/reject decisions.
 *
 * fp64 runs in lockstep with the fixture's chain: after each step the
 * positions must equal the fixture's bit for bit. Where they differ, the
 * step is explained walker by walker. The device's log-prob calls are
 * recorded (one batch per half-ensemble), so a walker's proposal y is
 * found among them. In the first batch the proposals are the fixture's
 * too (same state, same random numbers), so a differing walker there is
 * a decision on the same y: it is an accept/reject tie when the device's
 * lp at y and at the walker's position x are within the fp64 tolerance of
 * the reference's (both decisions compare (n-1) ln z + lp(y) - lp(x) with
 * the same ln u, so ln u lies between the two and the reference decided by
 * at most margin = |(lp_dev(y) - lp_dev(x)) - (lp_ref(y) - lp_ref(x))|).
 * Second-batch walkers see the first half's new positions, so after a
 * first-batch tie their differences are its consequences; without one
 * they are judged the same way. Then the device is reset to the fixture's
 * positions (a fresh evaluation there) and the next step continues in step
 * with the fixture: each tie is counted, and more than chain_ties_max fail.
 *
 * fp32 samples freely (its lp differs by far more than fp64's); the
 * summary check judges it statistically, and fp64 by the same rule. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conform.h"
#include "sysmap/registry.h"
#include "sysmap/rng.h"
#include "sysmap/sampler.h"
#include "sysmap/stats.h"
#include "error.h"

#define SQRT_PI_OVER_2 1.2533141373155003  /* standard error of a median / sigma sqrt(n) */
#define TIES_LISTED 3

/* The device's log-prob calls of the current step. */
typedef struct {
    sm_backend_t *be;
    size_t half, n_dim, calls;
    double *x[2], *lp[2];
    size_t k[2];
} recorder_t;

static sm_status recorded_log_prob(void *ctx, size_t k, const double *x, double *lp)
{
    recorder_t *r = ctx;
    sm_status st = sm_backend_log_prob(r->be, k, x, lp);
    if (st == SM_OK && r->calls < 2 && k <= r->half) {
        memcpy(r->x[r->calls], x, k * r->n_dim * sizeof *x);
        memcpy(r->lp[r->calls], lp, k * sizeof *lp);
        r->k[r->calls] = k;
    }
    r->calls++;
    return st;
}

typedef struct {
    const conform_settings_t *set;
    const conform_fixture_t *fx;
    const sm_data_t *data;
    recorder_t rec;
    sm_backend_t *ref;          /* plain reference backend, opened at the first tie */
    double *chain;              /* the device's chain (n_steps, W, d) */
    double *prev_lp;            /* the device's lp before the step (W,) */
    size_t first_divergence;    /* SIZE_MAX: none */
    size_t ties, knock_on;
    char ties_text[CONFORM_TEXT_LEN];
    double fail_ratio;          /* > 1 once a divergence is not a tie */
    char fail_text[CONFORM_TEXT_LEN];
} run_t;

/* Appends src to the string in dst (of len bytes), cut to fit. */
static void append(char *dst, size_t len, const char *src)
{
    size_t used = strlen(dst);
    snprintf(dst + used, len - used, "%s", src);
}

static int same(const double *a, const double *b, size_t n)
{
    return memcmp(a, b, n * sizeof *a) == 0;
}

/* Batch and row of proposal y among the recorded calls, or 0. */
static int find_proposal(const recorder_t *r, const double *y, size_t *h, size_t *row)
{
    for (size_t b = 0; b < 2 && b < r->calls; b++)
        for (size_t i = 0; i < r->k[b]; i++)
            if (same(r->x[b] + i * r->n_dim, y, r->n_dim)) {
                *h = b;
                *row = i;
                return 1;
            }
    return 0;
}

/* Keeps the worst divergence that is not a tie. */
static void keep_failure(run_t *run, double ratio, const char *text)
{
    if (ratio > run->fail_ratio) {
        run->fail_ratio = ratio;
        snprintf(run->fail_text, sizeof run->fail_text, "%s", text);
    }
}

static double lp_error(double got, double want)
{
    return got == want ? 0.0 : fabs(got - want);
}

/* A decision on the same proposal y that came out differently. */
static sm_status judge_tie(run_t *run, size_t step, size_t w, const double *x, const double *y,
                           double lp_dev_x, double lp_dev_y, int device_accepted)
{
    const conform_fixture_t *fx = run->fx;
    size_t d = conform_fixture_n_dim(fx);
    sm_status st = SM_OK;
    if (run->ref == NULL)
        st = sm_backend_open(&run->ref, "reference", NULL, "fp64", run->data, &fx->model);
    double xy[2 * (2 * CONFORM_MAX_SYS + 2)], lp_ref[2];
    memcpy(xy, x, d * sizeof *x);
    memcpy(xy + d, y, d * sizeof *y);
    if (st == SM_OK)
        st = sm_backend_log_prob(run->ref, 2, xy, lp_ref);
    if (st != SM_OK)
        return sm_fail_context(st, "the reference backend at a tie");
    double scale = run->set->tol->lp_factor[CONFORM_FP64] * DBL_EPSILON / 2;
    double tol_x = scale * conform_lp_bound(run->data, &fx->model, x);
    double tol_y = scale * conform_lp_bound(run->data, &fx->model, y);
    double ex = lp_error(lp_dev_x, lp_ref[0]), ey = lp_error(lp_dev_y, lp_ref[1]);
    double ratio = fmax(ex > 0 ? ex / tol_x : 0.0, ey > 0 ? ey / tol_y : 0.0);
    if (isnan(ratio))
        ratio = INFINITY;
    char text[CONFORM_TEXT_LEN];
    if (ratio > 1.0) {
        snprintf(text, sizeof text,
                 "step %zu walker %zu: the device %s the proposal the reference %s, and its lp "
                 "is off by %.3g at the proposal (tolerance %.3g) and %.3g at the walker "
                 "(tolerance %.3g): not an accept/reject tie",
                 step + 1, w, device_accepted ? "accepted" : "rejected",
                 device_accepted ? "rejected" : "accepted", ey, tol_y, ex, tol_x);
        keep_failure(run, ratio, text);
        return SM_OK;
    }
    double margin = fabs((lp_dev_y - lp_dev_x) - (lp_ref[1] - lp_ref[0]));
    if (run->ties < TIES_LISTED) {
        size_t len = strlen(run->ties_text);
        snprintf(run->ties_text + len, sizeof run->ties_text - len,
                 "%sstep %zu walker %zu (%s accepted; margin %.2g)", len ? ", " : "", step + 1,
                 w, device_accepted ? "device" : "reference", margin);
    }
    run->ties++;
    return SM_OK;
}

enum { KNOCK_ON = -1 };

/* Explains every walker whose position differs from the fixture's. */
static sm_status explain_step(run_t *run, size_t step, const double *prev, const double *dev,
                              const double *fix)
{
    size_t wn = run->fx->n_walkers, d = conform_fixture_n_dim(run->fx);
    int first_batch_decision = 0;
    /* Pass 0: decisions in the first batch; pass 1: the rest. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t w = 0; w < wn; w++) {
            const double *x = prev + w * d, *a = dev + w * d, *b = fix + w * d;
            if (same(a, b, d))
                continue;
            int dev_moved = !same(a, x, d), fix_moved = !same(b, x, d);
            size_t h = 2, row = 0;
            int found = find_proposal(&run->rec, dev_moved ? a : b, &h, &row);
            int decision = found && !(dev_moved && fix_moved);
            if ((pass == 0) != (found && h == 0))
                continue;
            if (decision && (h == 0 || !first_batch_decision)) {
                first_batch_decision |= h == 0;
                sm_status st = judge_tie(run, step, w, x, dev_moved ? a : b, run->prev_lp[w],
                                         run->rec.lp[h][row], dev_moved);
                if (st != SM_OK)
                    return st;
            } else if (first_batch_decision && h != 0) {
                run->knock_on++;
            } else {
                char text[CONFORM_TEXT_LEN];
                snprintf(text, sizeof text,
                         "step %zu walker %zu: the device's position differs from the "
                         "reference chain and no accept/reject decision on a common proposal "
                         "explains it",
                         step + 1, w);
                keep_failure(run, INFINITY, text);
            }
        }
    return SM_OK;
}

static sm_status sample(run_t *run, int lockstep)
{
    const conform_fixture_t *fx = run->fx;
    size_t wn = fx->n_walkers, d = conform_fixture_n_dim(fx);
    sm_rng_t *rng = NULL;
    sm_sampler_t *s = NULL;
    sm_status st = sm_rng_create(&rng, fx->seed);
    if (st == SM_OK)
        st = sm_sampler_create(&s, wn, d, recorded_log_prob, &run->rec, rng);
    if (st == SM_OK)
        st = sm_sampler_set_state(s, fx->p0, NULL);
    for (size_t step = 0; st == SM_OK && step < fx->n_steps; step++) {
        const double *prev = step ? fx->chain + (step - 1) * wn * d : fx->p0;
        const double *fix = fx->chain + step * wn * d;
        memcpy(run->prev_lp, sm_sampler_log_prob(s), wn * sizeof(double));
        run->rec.calls = 0;
        st = sm_sampler_step(s);
        if (st != SM_OK)
            break;
        const double *dev = sm_sampler_coords(s);
        memcpy(run->chain + step * wn * d, dev, wn * d * sizeof *dev);
        if (same(dev, fix, wn * d))
            continue;
        if (run->first_divergence == SIZE_MAX)
            run->first_divergence = step;
        if (!lockstep)
            continue;
        st = explain_step(run, step, prev, dev, fix);
        if (st == SM_OK)
            st = sm_sampler_set_state(s, fix, NULL);
    }
    sm_sampler_free(s);
    sm_rng_free(rng);
    return st;
}

static void chain_verdict(const run_t *run, const conform_target_t *t, conform_result_t *r,
                          sm_status st)
{
    const conform_fixture_t *fx = run->fx;
    double ties_max = run->set->tol->chain_ties_max;
    char where[64] = "";
    if (run->first_divergence != SIZE_MAX)
        snprintf(where, sizeof where, "step %zu", run->first_divergence + 1);
    if (st != SM_OK) {
        r->verdict = CONFORM_FAIL;
        r->ratio = INFINITY;
        snprintf(r->detail, sizeof r->detail, "the chain failed: %s", sm_last_error());
    } else if (t->precision == CONFORM_FP32) {
        r->verdict = CONFORM_PASS;
        snprintf(r->detail, sizeof r->detail,
                 "%zu steps x %zu walkers sampled; %s%s (fp32 is judged statistically: see "
                 "summary)",
                 fx->n_steps, fx->n_walkers,
                 where[0] ? "first differs from the reference chain at " : "equal to the "
                                                                           "reference chain",
                 where);
    } else if (run->fail_ratio > 1.0) {
        r->verdict = CONFORM_FAIL;
        r->ratio = run->fail_ratio;
        snprintf(r->detail, sizeof r->detail, "%s", run->fail_text);
    } else {
        r->ratio = run->ties == 0 ? 0.0 : ties_max > 0 ? (double)run->ties / ties_max : INFINITY;
        r->verdict = r->ratio <= 1.0 ? CONFORM_PASS : CONFORM_FAIL;
        if (run->ties == 0)
            snprintf(r->detail, sizeof r->detail,
                     "equal to the reference chain element for element (%zu steps x %zu "
                     "walkers)",
                     fx->n_steps, fx->n_walkers);
        else {
            char tail[96];
            snprintf(r->detail, sizeof r->detail, "%zu accept/reject tie%s (at most %.0f "
                     "allowed): ", run->ties, run->ties == 1 ? "" : "s", ties_max);
            snprintf(tail, sizeof tail, "%s; %zu later walkers of those steps followed from "
                     "them", run->ties > TIES_LISTED ? ", ..." : "", run->knock_on);
            append(r->detail, sizeof r->detail, run->ties_text);
            append(r->detail, sizeof r->detail, tail);
        }
    }
}

/* Parameter k's name ("a_1", "sigma"). */
static void param_label(const sm_model_t *m, size_t k, char *buf, size_t len)
{
    if (sm_model_param_name(m, k, buf, len) != SM_OK)
        snprintf(buf, len, "#%zu", k);
}

typedef struct {
    double ratio;
    char text[CONFORM_TEXT_LEN];
} worst_t;

static void keep_worst(worst_t *w, double ratio, const char *text)
{
    if (isnan(ratio))
        ratio = INFINITY;
    if (ratio > w->ratio || w->text[0] == '\0') {
        w->ratio = ratio;
        snprintf(w->text, sizeof w->text, "%s", text);
    }
}

/* Covariance block at param offset off (a or b) against the fixture's. */
static void judge_cov(const conform_fixture_t *fx, double z, double ess_factor, long off,
                      const double *got, const double *want, worst_t *w)
{
    if (off < 0)
        return;
    size_t s = fx->model.n_sys;
    for (size_t i = 0; i < s; i++)
        for (size_t j = 0; j <= i; j++) {
            double cii = want[i * s + i], cjj = want[j * s + j], cij = want[i * s + j];
            double ess = ess_factor * fmin(fx->ess[(size_t)off + i], fx->ess[(size_t)off + j]);
            double tol = z * sqrt(2.0 * (cii * cjj + cij * cij) / ess);
            double err = fabs(got[i * s + j] - cij);
            char a[32], b[32], text[CONFORM_TEXT_LEN];
            param_label(&fx->model, (size_t)off + i, a, sizeof a);
            param_label(&fx->model, (size_t)off + j, b, sizeof b);
            snprintf(text, sizeof text,
                     "worst: cov(%s, %s) %.6g, reference %.6g (difference %.3g, tolerance %.3g "
                     "from ESS %.0f)",
                     a, b, got[i * s + j], cij, err, tol, ess);
            keep_worst(w, err == 0 ? 0.0 : err / tol, text);
        }
}

/* Medians within median_z standard errors of the difference of two
 * medians (sqrt(pi/2) sigma sqrt(2 / ESS)), covariances within cov_z
 * standard errors of the difference of two covariance estimates
 * (sqrt(2 (C_ii C_jj + C_ij^2) / ESS)), with the fixture's sigma and
 * ess_factor times its ESS. */
sm_status conform_summary_compare(const conform_settings_t *set, conform_precision precision,
                                  const conform_fixture_t *fx, const double *chain,
                                  conform_result_t *r)
{
    size_t wn = fx->n_walkers, d = conform_fixture_n_dim(fx);
    size_t n = (fx->n_steps - fx->n_burn) * wn;
    const double *post = chain + fx->n_burn * wn * d;
    double median[2 * CONFORM_MAX_SYS + 2], cov_a[CONFORM_MAX_SYS * CONFORM_MAX_SYS],
        cov_b[CONFORM_MAX_SYS * CONFORM_MAX_SYS];
    sm_status st = sm_stats_median(post, n, d, median);
    if (st == SM_OK)
        st = sm_stats_param_covariance(post, n, &fx->model, cov_a, cov_b);
    if (st != SM_OK)
        return st;
    worst_t w = {0, ""};
    double zm = set->tol->median_z[precision], zc = set->tol->cov_z[precision];
    double f = set->tol->ess_factor[precision];
    for (size_t k = 0; k < d; k++) {
        double ess = f * fx->ess[k];
        double tol = zm * SQRT_PI_OVER_2 * fx->std[k] * sqrt(2.0 / ess);
        double err = fabs(median[k] - fx->median[k]);
        char name[32], text[CONFORM_TEXT_LEN];
        param_label(&fx->model, k, name, sizeof name);
        snprintf(text, sizeof text,
                 "worst: median of %s %.8g, reference %.8g (%.3g sigma; tolerance %.3g sigma "
                 "from ESS %.0f)",
                 name, median[k], fx->median[k], err / fx->std[k], tol / fx->std[k], ess);
        keep_worst(&w, err == 0 ? 0.0 : err / tol, text);
    }
    judge_cov(fx, zc, f, sm_model_a_offset(&fx->model), cov_a, fx->cov_a, &w);
    judge_cov(fx, zc, f, sm_model_b_offset(&fx->model), cov_b, fx->cov_b, &w);
    r->ratio = w.ratio;
    r->verdict = w.ratio <= 1.0 ? CONFORM_PASS : CONFORM_FAIL;
    snprintf(r->detail, sizeof r->detail, "%zu post-burn-in samples; ", n);
    append(r->detail, sizeof r->detail, w.text);
    return SM_OK;
}

static void result_init(conform_result_t *r, const conform_fixture_t *fx, conform_check check)
{
    memset(r, 0, sizeof *r);
    snprintf(r->case_name, sizeof r->case_name, "%s", fx->name);
    r->check = check;
    r->ratio = NAN;
}

static void run_free(run_t *run)
{
    sm_backend_free(run->rec.be);
    sm_backend_free(run->ref);
    for (int b = 0; b < 2; b++) {
        free(run->rec.x[b]);
        free(run->rec.lp[b]);
    }
    free(run->chain);
    free(run->prev_lp);
}

sm_status conform_check_chain(const conform_settings_t *set, conform_target_t *t,
                              const conform_fixture_t *fx, const sm_data_t *data)
{
    if (fx->n_steps == 0)
        return SM_OK;
    size_t wn = fx->n_walkers, d = conform_fixture_n_dim(fx);
    run_t run = {set, fx, data, {NULL, wn / 2, d, 0, {NULL, NULL}, {NULL, NULL}, {0, 0}},
                 NULL, NULL, NULL, SIZE_MAX, 0, 0, "", 0.0, ""};
    run.chain = malloc(fx->n_steps * wn * d * sizeof(double));
    run.prev_lp = malloc(wn * sizeof(double));
    for (int b = 0; b < 2; b++) {
        run.rec.x[b] = malloc(wn * d * sizeof(double));
        run.rec.lp[b] = malloc(wn * sizeof(double));
    }
    if (!run.chain || !run.prev_lp || !run.rec.x[0] || !run.rec.x[1] ||
        !run.rec.lp[0] || !run.rec.lp[1]) {
        run_free(&run);
        return SM_FAIL_NOMEM("the device's chain");
    }
    conform_result_t chain, summary;
    result_init(&chain, fx, CONFORM_CHAIN);
    result_init(&summary, fx, CONFORM_SUMMARY);
    sm_status st = conform_open(set, t, data, &fx->model, &run.rec.be);
    if (st == SM_OK)
        st = sample(&run, t->precision == CONFORM_FP64);
    chain_verdict(&run, t, &chain, st);
    if (st == SM_OK)
        st = conform_summary_compare(set, t->precision, fx, run.chain, &summary);
    if (st != SM_OK) {
        summary.verdict = CONFORM_SKIP;
        snprintf(summary.detail, sizeof summary.detail, "no chain to summarise");
    }
    run_free(&run);
    st = conform_target_add(t, &chain);
    return st == SM_OK ? conform_target_add(t, &summary) : st;
}
