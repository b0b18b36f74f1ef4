/* Corrected overdensity and weight maps at the posterior median, with
 * uncertainties linearised from the posterior covariance. */
#include "sysmap/maps.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sysmap/run.h"
#include "sysmap/stats.h"
#include "basis_in_place.h"
#include "error.h"
#include "maps_plan.h"
#include "run_adopted.h"

void sm_maps_free(sm_maps_t *maps)
{
    if (maps == NULL)
        return;
    free(maps->delta_corr);
    free(maps->delta_corr_err);
    free(maps->weight);
    free(maps->weight_err);
    free(maps);
}

static sm_maps_t *maps_alloc(size_t n)
{
    sm_maps_t *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->n_pix = n;
    m->delta_corr = malloc(n * sizeof(double));
    m->delta_corr_err = malloc(n * sizeof(double));
    m->weight = malloc(n * sizeof(double));
    m->weight_err = malloc(n * sizeof(double));
    if (!m->delta_corr || !m->delta_corr_err || !m->weight || !m->weight_err) {
        sm_maps_free(m);
        return NULL;
    }
    return m;
}

/* g^T C g for a gradient g and covariance C of n entries. */
static double quad_form(const double *g, const double *c, size_t n)
{
    double q = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (g[i] == 0.0)
            continue;
        double row = 0.0;
        for (size_t k = 0; k < n; k++)
            row += c[i * n + k] * g[k];
        q += g[i] * row;
    }
    /* A covariance is positive semi-definite; rounding may dip below 0. */
    return q > 0.0 ? q : 0.0;
}

/* Values and gradients at pixel j, whose template values are t (S,); gc,
 * gw of n_cont entries. */
static void pixel(const sm_data_t *data, const sm_model_t *model, const double *p, size_t j,
                  const double *t, double *corr, double *weight, double *gc, double *gw)
{
    size_t s = model->n_sys, nc = sm_model_n_cont(model);
    long a0 = sm_model_a_offset(model), b0 = sm_model_b_offset(model);
    double at = 0.0, bt = 0.0;
    for (size_t i = 0; i < s; i++) {
        if (a0 >= 0)
            at += p[(size_t)a0 + i] * t[i];
        if (b0 >= 0)
            bt += p[(size_t)b0 + i] * t[i];
    }
    double w = 1.0 / (1.0 + bt), c = (sm_data_delta(data)[j] - at) * w;
    memset(gc, 0, nc * sizeof *gc);
    memset(gw, 0, nc * sizeof *gw);
    /* Accumulated, not assigned: in the multiplicative model a and b are
     * the same entries (a0 == b0), so both partials add up. */
    for (size_t i = 0; i < s; i++) {
        double tij = t[i];
        if (a0 >= 0)
            gc[(size_t)a0 + i] += -tij * w;
        if (b0 >= 0) {
            gc[(size_t)b0 + i] += -c * tij * w;
            gw[(size_t)b0 + i] += -w * w * tij;
        }
    }
    *corr = c;
    *weight = w;
}

sm_status sm_maps_plan_init(sm_maps_plan_t *plan, const sm_data_t *data,
                            const sm_basis_t *basis, const sm_model_t *model,
                            const double *median, const double *cov)
{
    memset(plan, 0, sizeof *plan);
    sm_status st = sm_model_validate(model);
    if (st != SM_OK)
        return st;
    if (model->n_sys != sm_data_n_sys(data))
        return sm_fail(SM_EINVAL, "maps: model of %zu templates for data of %zu", model->n_sys,
                       sm_data_n_sys(data));
    size_t nc = sm_model_n_cont(model), s = model->n_sys;
    plan->work = malloc((2 * nc + s) * sizeof *plan->work);
    if (plan->work == NULL)
        return SM_FAIL_NOMEM("maps");
    plan->data = data;
    plan->basis = basis;
    plan->model = model;
    plan->median = median;
    plan->cov = cov;
    return SM_OK;
}

void sm_maps_plan_clear(sm_maps_plan_t *plan)
{
    free(plan->work);
    free(plan->own_cov);
    memset(plan, 0, sizeof *plan);
}

sm_status sm_maps_plan_fill(const sm_maps_plan_t *plan, size_t j0, size_t count,
                            double *const cols[SM_MAPS_N])
{
    const sm_data_t *data = plan->data;
    size_t n = sm_data_n_pix(data), nc = sm_model_n_cont(plan->model), s = plan->model->n_sys;
    const double *templates = sm_data_templates(data);
    double *g = plan->work, *t = g + 2 * nc;
    for (size_t k = 0; k < count; k++) {
        size_t j = j0 + k;
        if (plan->basis != NULL)
            sm_basis_original_at(plan->basis, data, j, t);
        else
            for (size_t i = 0; i < s; i++)
                t[i] = templates[i * n + j];
        pixel(data, plan->model, plan->median, j, t, &cols[0][k], &cols[2][k], g, g + nc);
        if (!isfinite(cols[2][k]) || !isfinite(cols[0][k]))
            return sm_fail(SM_ENUMERIC, "maps: 1 + b.t is 0 at used pixel %zu for the median b",
                           j);
        cols[1][k] = sqrt(quad_form(g, plan->cov, nc));
        cols[3][k] = sqrt(quad_form(g + nc, plan->cov, nc));
    }
    return SM_OK;
}

/* The whole maps of a plan. */
static sm_status compute(sm_maps_t **out, sm_maps_plan_t *plan)
{
    sm_maps_t *m = maps_alloc(sm_data_n_pix(plan->data));
    if (m == NULL) {
        sm_maps_plan_clear(plan);
        return SM_FAIL_NOMEM("maps");
    }
    double *const cols[SM_MAPS_N] = {m->delta_corr, m->delta_corr_err, m->weight,
                                     m->weight_err};
    sm_status st = sm_maps_plan_fill(plan, 0, m->n_pix, cols);
    sm_maps_plan_clear(plan);
    if (st != SM_OK) {
        sm_maps_free(m);
        return st;
    }
    *out = m;
    return SM_OK;
}

sm_status sm_maps_compute(sm_maps_t **out, const sm_data_t *data, const sm_model_t *model,
                          const double *median, const double *cov)
{
    if (out == NULL || data == NULL || model == NULL || median == NULL || cov == NULL)
        return sm_fail(SM_EINVAL, "sm_maps_compute: NULL argument");
    *out = NULL;
    sm_maps_plan_t plan;
    sm_status st = sm_maps_plan_init(&plan, data, NULL, model, median, cov);
    return st == SM_OK ? compute(out, &plan) : st;
}

sm_status sm_maps_plan_from_run(sm_maps_plan_t *plan, const sm_run_t *run,
                                const sm_data_t *data)
{
    memset(plan, 0, sizeof *plan);
    const sm_chainfile_summary_t *sum = sm_run_summary(run);
    if (sum == NULL)
        return sm_fail(SM_EINVAL, "maps: the run has not been executed");
    const sm_model_t *model = sm_run_model(run);
    const sm_run_config_t *c = sm_run_config(run);
    size_t d = sm_model_n_dim(model), nc = sm_model_n_cont(model);
    size_t kept = (c->n_steps - c->n_burn) * c->n_walkers;
    double *cov = malloc(nc * nc * sizeof *cov);
    if (cov == NULL)
        return SM_FAIL_NOMEM("covariance");
    const double *post = sm_run_chain(run) + c->n_burn * c->n_walkers * d;
    sm_status st = sm_stats_covariance(post, kept, d, 0, nc, cov);
    if (st == SM_OK)
        st = sm_maps_plan_init(plan, data,
                               data == sm_run_data(run) && sm_run_data_is_working(run)
                                   ? sm_run_basis(run)
                                   : NULL,
                               model, sum->median, cov);
    if (st != SM_OK) {
        free(cov);
        return st;
    }
    plan->own_cov = cov;
    return SM_OK;
}

sm_status sm_maps_from_run(sm_maps_t **out, const sm_run_t *run, const sm_data_t *data)
{
    if (out == NULL || run == NULL || data == NULL)
        return sm_fail(SM_EINVAL, "sm_maps_from_run: NULL argument");
    *out = NULL;
    sm_maps_plan_t plan;
    sm_status st = sm_maps_plan_from_run(&plan, run, data);
    return st == SM_OK ? compute(out, &plan) : st;
}
