#include "sysmap/backend.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "backend_data.h"
#include "error.h"

struct sm_backend {
    sm_backend_ops_t ops;
    void *ctx;
    sm_model_t model;
    size_t n_pix;
    int data_copied;    /* sm_backend_mark_data_copied */
    char *name, *device, *precision;
    /* Scratch for one batch, grown on demand and reused across steps. */
    int *in_prior;
    sm_pixel_sums_t *sums;
    size_t capacity;
};

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

sm_status sm_backend_create(sm_backend_t **out, const sm_backend_ops_t *ops, void *ctx,
                            const sm_model_t *model, size_t n_pix, const char *name,
                            const char *device, const char *precision)
{
    *out = NULL;
    sm_status st = SM_ABI_CHECK(ops, sm_backend_ops_t, "{sizeof(sm_backend_ops_t), ...}");
    if (st != SM_OK)
        return st;  /* ops->free may not be where this caller's struct has it */
    st = sm_model_validate(model);
    if (st != SM_OK) {
        ops->free(ctx);
        return st;
    }
    sm_backend_t *be = calloc(1, sizeof *be);
    if (be == NULL) {
        ops->free(ctx);
        return SM_FAIL_NOMEM("backend");
    }
    be->ops = *ops;
    be->ctx = ctx;
    be->model = *model;
    be->n_pix = n_pix;
    be->name = dup_string(name);
    be->device = dup_string(device);
    be->precision = dup_string(precision);
    if (be->name == NULL || be->device == NULL || be->precision == NULL) {
        sm_backend_free(be);
        return SM_FAIL_NOMEM("backend names");
    }
    *out = be;
    return SM_OK;
}

void sm_backend_mark_data_copied(sm_backend_t *be)
{
    be->data_copied = 1;
}

int sm_backend_data_copied(const sm_backend_t *be)
{
    return be->data_copied;
}

void sm_backend_free(sm_backend_t *be)
{
    if (be == NULL)
        return;
    be->ops.free(be->ctx);
    free(be->name);
    free(be->device);
    free(be->precision);
    free(be->in_prior);
    free(be->sums);
    free(be);
}

static sm_status reserve(sm_backend_t *be, size_t k)
{
    if (k <= be->capacity)
        return SM_OK;
    int *in_prior = realloc(be->in_prior, k * sizeof *in_prior);
    if (in_prior == NULL)
        return SM_FAIL_NOMEM("backend batch flags");
    be->in_prior = in_prior;
    sm_pixel_sums_t *sums = realloc(be->sums, k * sizeof *sums);
    if (sums == NULL)
        return SM_FAIL_NOMEM("backend batch sums");
    be->sums = sums;
    be->capacity = k;
    return SM_OK;
}

sm_status sm_backend_pixel_sums(sm_backend_t *be, size_t k, const double *params,
                                const int *in_prior, sm_pixel_sums_t *sums)
{
    if (be == NULL || (k > 0 && (params == NULL || in_prior == NULL || sums == NULL)))
        return sm_fail(SM_EINVAL, "pixel_sums: NULL argument");
    sm_status st = be->ops.pixel_sums(be->ctx, k, params, in_prior, sums);
    return st == SM_OK ? SM_OK : sm_fail_context(st, "%s backend", be->name);
}

sm_status sm_backend_log_prob(sm_backend_t *be, size_t k, const double *params, double *lp)
{
    if (be == NULL || (k > 0 && (params == NULL || lp == NULL)))
        return sm_fail(SM_EINVAL, "log_prob: NULL argument");
    sm_status st = reserve(be, k);
    if (st != SM_OK)
        return st;
    size_t n_dim = sm_model_n_dim(&be->model);
    size_t n_in = 0;
    for (size_t w = 0; w < k; w++) {
        be->in_prior[w] = sm_model_in_prior(&be->model, params + w * n_dim);
        n_in += (size_t)be->in_prior[w];
    }
    if (n_in > 0) {
        st = sm_backend_pixel_sums(be, k, params, be->in_prior, be->sums);
        if (st != SM_OK)
            return st;
    }
    for (size_t w = 0; w < k; w++)
        lp[w] = be->in_prior[w]
                    ? sm_model_log_prob(&be->model, be->n_pix, params + w * n_dim, &be->sums[w])
                    : -INFINITY;
    return SM_OK;
}

const sm_model_t *sm_backend_model(const sm_backend_t *be) { return &be->model; }
size_t sm_backend_n_pix(const sm_backend_t *be) { return be->n_pix; }
const char *sm_backend_name(const sm_backend_t *be) { return be->name; }
const char *sm_backend_device(const sm_backend_t *be) { return be->device; }
const char *sm_backend_precision(const sm_backend_t *be) { return be->precision; }

const char *sm_device_class_name(sm_device_class device_class)
{
    switch (device_class) {
    case SM_DEVICE_CPU: return "CPU";
    case SM_DEVICE_GPU: return "GPU";
    case SM_DEVICE_ACCELERATOR: return "accelerator";
    case SM_DEVICE_OTHER: break;
    }
    return "other";
}
