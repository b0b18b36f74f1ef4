/* The reference backend: one walker at a time, one pixel at a time, in
 * double precision with compensated sums. Slow on purpose: obviously right. */
#include "sysmap/reference.h"

#include <math.h>
#include <stdlib.h>

#include "error.h"
#include "ksum.h"

typedef struct {
    const sm_data_t *data;
    sm_model_t model;
} reference_t;

static void pixel_sums_one(const reference_t *ref, const double *p, sm_pixel_sums_t *out)
{
    const sm_model_t *m = &ref->model;
    size_t n = sm_data_n_pix(ref->data), s = m->n_sys;
    const double *d = sm_data_delta(ref->data);
    const double *t = sm_data_templates(ref->data);
    long a0 = sm_model_a_offset(m), b0 = sm_model_b_offset(m);
    double sigma = p[sm_model_sigma_index(m)];
    double gamma = m->skew ? p[sm_model_gamma_index(m)] : 0.0;
    double xi = m->skew ? sm_model_skew_xi(sigma, gamma) : 0.0;
    sm_ksum_t log_m = {0, 0}, sq = {0, 0}, log_phi = {0, 0};

    for (size_t j = 0; j < n; j++) {
        double add = 0.0, mult = 0.0;
        for (size_t i = 0; i < s; i++) {
            if (a0 >= 0)
                add += p[(size_t)a0 + i] * t[i * n + j];
            if (b0 >= 0)
                mult += p[(size_t)b0 + i] * t[i * n + j];
        }
        double mj = 1.0 + mult;
        double u = (d[j] - add) / mj - xi;
        sm_ksum_add(&log_m, log(fabs(mj)));
        sm_ksum_add(&sq, u * u);
        if (m->skew)
            sm_ksum_add(&log_phi, sm_model_log_ndtr(gamma * u / sigma));
    }
    out->log_m = sm_ksum_value(&log_m);
    out->sq = sm_ksum_value(&sq);
    out->log_phi = sm_ksum_value(&log_phi);
}

static sm_status reference_pixel_sums(void *ctx, size_t k, const double *params,
                                      const int *in_prior, sm_pixel_sums_t *sums)
{
    const reference_t *ref = ctx;
    size_t n_dim = sm_model_n_dim(&ref->model);
    for (size_t w = 0; w < k; w++)
        if (in_prior[w])
            pixel_sums_one(ref, params + w * n_dim, &sums[w]);
    return SM_OK;
}

static void reference_free(void *ctx)
{
    free(ctx);
}

static const sm_backend_ops_t reference_ops = {
    .struct_size = sizeof(sm_backend_ops_t),
    .pixel_sums = reference_pixel_sums, .free = reference_free};

sm_status sm_reference_create(sm_backend_t **out, const sm_data_t *data, const sm_model_t *model)
{
    *out = NULL;
    if (data == NULL || model == NULL)
        return sm_fail(SM_EINVAL, "reference backend: NULL data or model");
    if (sm_data_n_sys(data) != model->n_sys)
        return sm_fail(SM_EINVAL, "reference backend: data has %zu templates, model expects %zu",
                       sm_data_n_sys(data), model->n_sys);
    reference_t *ref = malloc(sizeof *ref);
    if (ref == NULL)
        return SM_FAIL_NOMEM("reference backend");
    ref->data = data;
    ref->model = *model;
    return sm_backend_create(out, &reference_ops, ref, model, sm_data_n_pix(data), "reference",
                             "host CPU (GSL, double, Neumaier sums)", "fp64");
}
