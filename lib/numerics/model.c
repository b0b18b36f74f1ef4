#include "sysmap/model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_math.h>
#include <gsl/gsl_sf_erf.h>

#include "abi.h"
#include "error.h"
#include "model_defines.h"

/* The model table: each kind's layout in one row. A kind with new math
 * needs more than a row (docs/design.md, "Adding a model"). */
static const sm_model_kind_info_t kinds[] = {
    [SM_MODEL_ADDITIVE] = {"additive", 1, 0, -1},
    /* One free vector read as both a and b: the reference package's b = a. */
    [SM_MODEL_MULTIPLICATIVE] = {"multiplicative", 1, 0, 0},
    [SM_MODEL_COMBINED] = {"combined", 2, 0, 1},
};

#define N_KINDS (sizeof kinds / sizeof *kinds)

size_t sm_model_kind_count(void)
{
    return N_KINDS;
}

const sm_model_kind_info_t *sm_model_kind_info(sm_model_kind_t kind)
{
    return (unsigned)kind < N_KINDS ? &kinds[kind] : NULL;
}

sm_status sm_model_kind_list(char *buf, size_t len)
{
    size_t used = 0;
    for (size_t i = 0; i < N_KINDS; i++) {
        const char *sep = i == 0 ? "" : i + 1 == N_KINDS ? " or " : ", ";
        int n = snprintf(buf + used, len - used, "%s%s", sep, kinds[i].name);
        if (n < 0 || (size_t)n >= len - used)
            return sm_fail(SM_EINVAL, "model name list: buffer of %zu bytes too small", len);
        used += (size_t)n;
    }
    return SM_OK;
}

sm_status sm_model_parse(const char *name, sm_model_kind_t *kind)
{
    for (size_t i = 0; name != NULL && i < N_KINDS; i++) {
        if (strcmp(name, kinds[i].name) == 0) {
            *kind = (sm_model_kind_t)i;
            return SM_OK;
        }
    }
    char list[256];
    sm_model_kind_list(list, sizeof list);
    return sm_fail(SM_EINVAL, "unknown model '%s' (expected %s)", name ? name : "(null)", list);
}

const char *sm_model_name(sm_model_kind_t kind)
{
    const sm_model_kind_info_t *k = sm_model_kind_info(kind);
    return k ? k->name : "unknown";
}

sm_status sm_model_validate(const sm_model_t *model)
{
    if (model == NULL)
        return sm_fail(SM_EINVAL, "model: NULL");
    sm_status st = SM_ABI_CHECK(model, sm_model_t, "SM_MODEL_INIT");
    if (st != SM_OK)
        return st;
    if (sm_model_kind_info(model->kind) == NULL)
        return sm_fail(SM_EINVAL, "model: unknown kind %d", (int)model->kind);
    if (model->n_sys == 0)
        return sm_fail(SM_EINVAL, "model: no templates (S = 0)");
    if (!isfinite(model->sigma_min) || model->sigma_min < 0)
        return sm_fail(SM_EINVAL, "model: sigma_min must be finite and >= 0, got %g",
                       model->sigma_min);
    return SM_OK;
}

size_t sm_model_n_cont(const sm_model_t *model)
{
    return (size_t)kinds[model->kind].n_blocks * model->n_sys;
}

size_t sm_model_n_dim(const sm_model_t *model)
{
    return sm_model_n_cont(model) + 1 + (model->skew ? 1 : 0);
}

static long block_offset(const sm_model_t *model, int block)
{
    return block < 0 ? -1 : (long)block * (long)model->n_sys;
}

long sm_model_a_offset(const sm_model_t *model)
{
    return block_offset(model, kinds[model->kind].a_block);
}

long sm_model_b_offset(const sm_model_t *model)
{
    return block_offset(model, kinds[model->kind].b_block);
}

size_t sm_model_sigma_index(const sm_model_t *model)
{
    return sm_model_n_cont(model);
}

long sm_model_gamma_index(const sm_model_t *model)
{
    return model->skew ? (long)sm_model_n_cont(model) + 1 : -1;
}

sm_status sm_model_kernel_defines(const sm_model_t *model, char *buf, size_t len)
{
    int n = snprintf(buf, len, "-DNSYS=%zu -DNDIM=%zu -DA_OFF=%ld -DB_OFF=%ld -DSIGMA_IDX=%zu "
                               "-DSKEW=%d -DGAMMA_IDX=%ld",
                     model->n_sys, sm_model_n_dim(model), sm_model_a_offset(model),
                     sm_model_b_offset(model), sm_model_sigma_index(model), model->skew ? 1 : 0,
                     sm_model_gamma_index(model));
    if (n < 0 || (size_t)n >= len)
        return sm_fail(SM_EINVAL, "model kernel defines: buffer of %zu bytes too small", len);
    return SM_OK;
}

sm_status sm_model_param_name(const sm_model_t *model, size_t i, char *buf, size_t len)
{
    size_t s = model->n_sys;
    long a0 = sm_model_a_offset(model), b0 = sm_model_b_offset(model);
    int n;
    /* b before a: the multiplicative model's shared vector is named b_i. */
    if (b0 >= 0 && i >= (size_t)b0 && i < (size_t)b0 + s)
        n = snprintf(buf, len, "b_%zu", i - (size_t)b0 + 1);
    else if (a0 >= 0 && i >= (size_t)a0 && i < (size_t)a0 + s)
        n = snprintf(buf, len, "a_%zu", i - (size_t)a0 + 1);
    else if (i == sm_model_sigma_index(model))
        n = snprintf(buf, len, "sigma");
    else if ((long)i == sm_model_gamma_index(model))
        n = snprintf(buf, len, "gamma");
    else
        return sm_fail(SM_EINVAL, "parameter index %zu out of range (n_dim = %zu)", i,
                       sm_model_n_dim(model));
    if (n < 0 || (size_t)n >= len)
        return sm_fail(SM_EINVAL, "parameter name buffer of %zu bytes too small", len);
    return SM_OK;
}

int sm_model_in_prior(const sm_model_t *model, const double *params)
{
    /* Written so that a NaN sigma is outside the prior too. */
    return params[sm_model_sigma_index(model)] > model->sigma_min;
}

double sm_model_skew_xi(double sigma, double gamma)
{
    double delta = gamma / sqrt(1.0 + gamma * gamma);
    return -sigma * delta * sqrt(2.0 / M_PI);
}

double sm_model_log_ndtr(double x)
{
    /* Phi(x) = erfc(-x/sqrt2)/2. Below 0, GSL's log_erfc stays accurate where
     * erfc underflows (x -> -inf: no log(0)); above 0, Phi is near 1 and
     * log1p of the small upper tail keeps its relative precision. */
    if (x > 0.0)
        return log1p(-0.5 * gsl_sf_erfc(x * M_SQRT1_2));
    return gsl_sf_log_erfc(-x * M_SQRT1_2) - M_LN2;
}

double sm_model_log_prob(const sm_model_t *model, size_t n_pix, const double *params,
                         const sm_pixel_sums_t *sums)
{
    if (!sm_model_in_prior(model, params))
        return -INFINITY;
    double sigma = params[sm_model_sigma_index(model)];
    double n = (double)n_pix;
    double lnl = -0.5 * n * log(2.0 * M_PI * sigma * sigma) - sums->log_m
                 - sums->sq / (2.0 * sigma * sigma);
    if (model->skew)
        lnl += n * M_LN2 + sums->log_phi;
    return isfinite(lnl) ? lnl : -INFINITY;
}
