/* emcee 3's EnsembleSampler.sample with the default StretchMove(a=2),
 * nsplits = 2, randomize_split = True: the same draws in the same order
 * (moves/red_blue.py propose, moves/stretch.py get_proposal). */
#include "sysmap/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>

#include "sysmap/sizes.h"
#include "error.h"

/* emcee's walkers_independent threshold on the scaled condition number. */
#define SM_MAX_CONDITION 1e8

struct sm_sampler {
    size_t n_walkers, n_dim;
    sm_log_prob_fn log_prob;
    void *ctx;
    sm_rng_t *rng;
    int have_state;
    double *coords;    /* (W, n_dim) */
    double *lp;        /* (W,) */
    double *accepted;  /* (W,) counts */
    /* Per-step scratch, allocated once. */
    size_t *labels;    /* (W,) split label of each walker */
    size_t *half;      /* ((W+1)/2,) walkers being moved */
    size_t *other;     /* ((W+1)/2,) complementary walkers */
    double *z, *factor, *proposal, *proposal_lp;
};

sm_status sm_sampler_create(sm_sampler_t **out, size_t n_walkers, size_t n_dim,
                            sm_log_prob_fn log_prob, void *ctx, sm_rng_t *rng)
{
    *out = NULL;
    if (log_prob == NULL || rng == NULL)
        return sm_fail(SM_EINVAL, "sampler: NULL log-prob function or generator");
    if (n_dim == 0)
        return sm_fail(SM_EINVAL, "sampler: n_dim must be >= 1");
    if (n_walkers < 2 * n_dim)
        return sm_fail(SM_EINVAL,
                       "sampler: %zu walkers for %zu parameters; the stretch move needs at "
                       "least 2 x n_dim = %zu walkers",
                       n_walkers, n_dim, 2 * n_dim);
    size_t coords_bytes;
    sm_status st = sm_size_mul(n_walkers, n_dim, "sampler: walkers x parameters", &coords_bytes);
    if (st == SM_OK)
        st = sm_size_bytes(coords_bytes, sizeof(double), "sampler: the walkers", &coords_bytes);
    if (st != SM_OK)
        return st;
    sm_sampler_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return SM_FAIL_NOMEM("sampler");
    /* Labels arange(W) % 2: an odd ensemble's halves hold (W+1)/2 and
     * (W-1)/2 walkers, so the larger bounds both. The products below are
     * at most coords_bytes. */
    size_t w = n_walkers, h = (n_walkers + 1) / 2;
    s->n_walkers = w;
    s->n_dim = n_dim;
    s->log_prob = log_prob;
    s->ctx = ctx;
    s->rng = rng;
    s->coords = malloc(coords_bytes);
    s->lp = malloc(w * sizeof *s->lp);
    s->accepted = calloc(w, sizeof *s->accepted);
    s->labels = malloc(w * sizeof *s->labels);
    s->half = malloc(h * sizeof *s->half);
    s->other = malloc(h * sizeof *s->other);
    s->z = malloc(h * sizeof *s->z);
    s->factor = malloc(h * sizeof *s->factor);
    s->proposal = malloc(h * n_dim * sizeof *s->proposal);
    s->proposal_lp = malloc(h * sizeof *s->proposal_lp);
    if (!s->coords || !s->lp || !s->accepted || !s->labels || !s->half || !s->other || !s->z ||
        !s->factor || !s->proposal || !s->proposal_lp) {
        sm_sampler_free(s);
        return SM_FAIL_NOMEM("sampler arrays");
    }
    *out = s;
    return SM_OK;
}

void sm_sampler_free(sm_sampler_t *s)
{
    if (s == NULL)
        return;
    free(s->coords);
    free(s->lp);
    free(s->accepted);
    free(s->labels);
    free(s->half);
    free(s->other);
    free(s->z);
    free(s->factor);
    free(s->proposal);
    free(s->proposal_lp);
    free(s);
}

/* emcee's walkers_independent: columns centred, scaled by their largest
 * magnitude and then to unit norm; the condition number of the result. */
static sm_status check_independent(const double *coords, size_t w, size_t d)
{
    for (size_t i = 0; i < w * d; i++)
        if (!isfinite(coords[i]))
            return sm_fail(SM_EINVAL, "initial walkers: walker %zu, parameter %zu is not finite",
                           i / d, i % d);
    /* GSL's default handler aborts when an allocation fails. */
    gsl_error_handler_t *saved = sm_gsl_quiet();
    gsl_matrix *c = gsl_matrix_alloc(w, d);
    gsl_matrix *v = gsl_matrix_alloc(d, d);
    gsl_vector *sv = gsl_vector_alloc(d), *work = gsl_vector_alloc(d);
    sm_gsl_restore(saved);
    sm_status st = SM_OK;
    if (!c || !v || !sv || !work) {
        st = SM_FAIL_NOMEM("walker independence check");
        goto done;
    }
    for (size_t k = 0; k < d; k++) {
        /* Tested directly: the centred column of a constant parameter can
         * hold rounding noise instead of zeros. */
        size_t same = 1;
        while (same < w && coords[same * d + k] == coords[k])
            same++;
        if (same == w) {
            st = sm_fail(SM_EINVAL,
                         "initial walkers are linearly dependent: parameter %zu has the same "
                         "value in every walker",
                         k);
            goto done;
        }
        double mean = 0.0;
        for (size_t i = 0; i < w; i++)
            mean += coords[i * d + k];
        mean /= (double)w;
        double colmax = 0.0;
        for (size_t i = 0; i < w; i++) {
            gsl_matrix_set(c, i, k, coords[i * d + k] - mean);
            colmax = fmax(colmax, fabs(gsl_matrix_get(c, i, k)));
        }
        double norm = 0.0;
        for (size_t i = 0; i < w; i++) {
            double x = gsl_matrix_get(c, i, k) / colmax;
            gsl_matrix_set(c, i, k, x);
            norm += x * x;
        }
        norm = sqrt(norm);
        for (size_t i = 0; i < w; i++)
            gsl_matrix_set(c, i, k, gsl_matrix_get(c, i, k) / norm);
    }
    saved = sm_gsl_quiet();
    int rc = gsl_linalg_SV_decomp(c, v, sv, work);
    sm_gsl_restore(saved);
    if (rc != 0) {
        st = sm_fail(SM_ENUMERIC, "initial walkers: singular value decomposition failed");
        goto done;
    }
    double smax = gsl_vector_get(sv, 0), smin = gsl_vector_get(sv, d - 1);
    if (!(smax <= SM_MAX_CONDITION * smin))
        st = sm_fail(SM_EINVAL,
                     "initial walkers are linearly dependent (scaled condition number %.3g > "
                     "%.0e); give walkers that span all %zu parameters",
                     smin > 0 ? smax / smin : INFINITY, SM_MAX_CONDITION, d);
done:
    gsl_matrix_free(c);
    gsl_matrix_free(v);
    gsl_vector_free(sv);
    gsl_vector_free(work);
    return st;
}

static sm_status evaluate(sm_sampler_t *s, size_t k, const double *x, double *lp)
{
    for (size_t i = 0; i < k * s->n_dim; i++)
        if (!isfinite(x[i]))
            return sm_fail(SM_ENUMERIC, "walker %zu: parameter %zu is not finite", i / s->n_dim,
                           i % s->n_dim);
    sm_status st = s->log_prob(s->ctx, k, x, lp);
    if (st != SM_OK)
        return st;
    for (size_t i = 0; i < k; i++)
        if (isnan(lp[i]))
            return sm_fail(SM_ENUMERIC, "the log-probability function returned NaN (walker %zu)",
                           i);
    return SM_OK;
}

sm_status sm_sampler_set_state(sm_sampler_t *s, const double *coords, const double *lp)
{
    size_t w = s->n_walkers, d = s->n_dim;
    sm_status st = check_independent(coords, w, d);
    if (st != SM_OK)
        return st;
    memcpy(s->coords, coords, w * d * sizeof *coords);
    if (lp != NULL) {
        for (size_t i = 0; i < w; i++)
            if (isnan(lp[i]))
                return sm_fail(SM_ENUMERIC, "the initial log-probability is NaN (walker %zu)", i);
        memcpy(s->lp, lp, w * sizeof *lp);
    } else {
        st = evaluate(s, w, s->coords, s->lp);
        if (st != SM_OK)
            return sm_fail_context(st, "initial walkers");
    }
    s->have_state = 1;
    return SM_OK;
}

/* Moves the walkers labelled `label` against the others' current positions. */
static sm_status move_half(sm_sampler_t *s, size_t label)
{
    size_t d = s->n_dim, ns = 0, nc = 0;
    for (size_t i = 0; i < s->n_walkers; i++) {
        if (s->labels[i] == label)
            s->half[ns++] = i;
        else
            s->other[nc++] = i;
    }
    const double a = SM_SAMPLER_STRETCH_A;
    for (size_t i = 0; i < ns; i++) {
        double t = (a - 1.0) * sm_rng_uniform(s->rng) + 1.0;
        s->z[i] = t * t / a;
        s->factor[i] = ((double)d - 1.0) * log(s->z[i]);
    }
    for (size_t i = 0; i < ns; i++) {
        const double *c = s->coords + s->other[sm_rng_randint(s->rng, nc)] * d;
        const double *x = s->coords + s->half[i] * d;
        for (size_t k = 0; k < d; k++)
            s->proposal[i * d + k] = c[k] - (c[k] - x[k]) * s->z[i];
    }
    sm_status st = evaluate(s, ns, s->proposal, s->proposal_lp);
    if (st != SM_OK)
        return st;
    for (size_t i = 0; i < ns; i++) {
        size_t j = s->half[i];
        double diff = s->factor[i] + s->proposal_lp[i] - s->lp[j];
        if (diff > log(sm_rng_uniform(s->rng))) {
            memcpy(s->coords + j * d, s->proposal + i * d, d * sizeof *s->coords);
            s->lp[j] = s->proposal_lp[i];
            s->accepted[j] += 1.0;
        }
    }
    return SM_OK;
}

sm_status sm_sampler_step(sm_sampler_t *s)
{
    if (!s->have_state)
        return sm_fail(SM_EINVAL, "sampler: step before the walkers were set");
    /* The move choice: one uniform even though there is a single move. */
    (void)sm_rng_uniform(s->rng);
    for (size_t i = 0; i < s->n_walkers; i++)
        s->labels[i] = i % 2;
    sm_rng_shuffle(s->rng, s->labels, s->n_walkers);
    for (size_t label = 0; label < 2; label++) {
        sm_status st = move_half(s, label);
        if (st != SM_OK)
            return st;
    }
    return SM_OK;
}

size_t sm_sampler_n_walkers(const sm_sampler_t *s) { return s->n_walkers; }
size_t sm_sampler_n_dim(const sm_sampler_t *s) { return s->n_dim; }
const double *sm_sampler_coords(const sm_sampler_t *s) { return s->coords; }
const double *sm_sampler_log_prob(const sm_sampler_t *s) { return s->lp; }
const double *sm_sampler_accepted(const sm_sampler_t *s) { return s->accepted; }

void sm_sampler_set_accepted(sm_sampler_t *s, const double *accepted)
{
    memcpy(s->accepted, accepted, s->n_walkers * sizeof *accepted);
}
