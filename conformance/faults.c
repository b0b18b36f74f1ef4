/* A fault-injecting backend: wraps a real backend and breaks its pixel sums
 * the way a faulty device would, so that the tests can show that the
 * harness catches each fault (and passes the unwrapped backends). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conform.h"
#include "error.h"
#include "clock.h"
#include "sysmap/registry.h"

#define ULP_STEPS 4             /* "a few ulp" */
#define OFFSET 1e-6
#define JITTER 1e-3             /* enough to flip a few accept/reject decisions per chain */
#define SLOW_PW_PER_S 2e6       /* below every class's floor in budgets.txt */

static const char *const fault_names[] = {"none", "ulp",  "offset", "swap",
                                          "drop", "fp32", "slow",   "jitter"};

sm_status conform_fault_parse(const char *name, conform_fault *fault)
{
    for (size_t i = 0; i < sizeof fault_names / sizeof *fault_names; i++)
        if (strcmp(name, fault_names[i]) == 0) {
            *fault = (conform_fault)i;
            return SM_OK;
        }
    return sm_fail(SM_EINVAL, "unknown fault '%s' (ulp, offset, swap, drop, fp32, slow, jitter)",
                   name);
}

const char *conform_fault_name(conform_fault fault)
{
    return fault_names[fault];
}

typedef struct {
    conform_fault fault;
    sm_backend_t *inner;
    sm_backend_t *last;         /* drop: the same backend on the last pixel alone */
    sm_data_t *last_data;
    sm_pixel_sums_t *scratch;
    size_t capacity;
    sm_model_t model;
    size_t n_pix;
} faulty_t;

static void faulty_free(void *ctx)
{
    faulty_t *f = ctx;
    sm_backend_free(f->inner);
    sm_backend_free(f->last);
    sm_data_free(f->last_data);
    free(f->scratch);
    free(f);
}

static void sleep_until(double t)
{
    double left = t - sm_now_s();
    if (left <= 0)
        return;
    struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Moves lp by shift through log_m (lp = ... - log_m ...). */
static void shift_lp(faulty_t *f, const double *p, sm_pixel_sums_t *s, int ulps, double shift)
{
    double lp = sm_model_log_prob(&f->model, f->n_pix, p, s);
    if (!isfinite(lp))
        return;
    if (ulps > 0) {
        double up = lp;
        for (int i = 0; i < ulps; i++)
            up = nextafter(up, INFINITY);
        shift = up - lp;
    }
    s->log_m -= shift;
}

/* A pseudo-random number in [-1, 1] that depends only on p (FNV-1a of its
 * bits), so the same parameters always get the same error. */
static double hash_unit(const double *p, size_t d)
{
    uint64_t h = 14695981039346656037ull;
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = 0; i < d * sizeof *p; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return (double)(h >> 11) * 0x1p-52 - 1.0;
}

static sm_status drop_last(faulty_t *f, size_t k, const double *params, const int *in_prior,
                           sm_pixel_sums_t *sums)
{
    if (k > f->capacity) {
        sm_pixel_sums_t *grown = realloc(f->scratch, k * sizeof *grown);
        if (grown == NULL)
            return SM_FAIL_NOMEM("fault scratch");
        f->scratch = grown;
        f->capacity = k;
    }
    sm_status st = sm_backend_pixel_sums(f->last, k, params, in_prior, f->scratch);
    for (size_t w = 0; st == SM_OK && w < k; w++)
        if (in_prior[w]) {
            sums[w].log_m -= f->scratch[w].log_m;
            sums[w].sq -= f->scratch[w].sq;
            sums[w].log_phi -= f->scratch[w].log_phi;
        }
    return st;
}

static sm_status faulty_pixel_sums(void *ctx, size_t k, const double *params,
                                   const int *in_prior, sm_pixel_sums_t *sums)
{
    faulty_t *f = ctx;
    double t0 = sm_now_s();
    size_t d = sm_model_n_dim(&f->model);
    sm_status st = sm_backend_pixel_sums(f->inner, k, params, in_prior, sums);
    if (st != SM_OK)
        return st;
    switch (f->fault) {
    case CONFORM_FAULT_ULP:
    case CONFORM_FAULT_OFFSET:
        for (size_t w = 0; w < k; w++)
            if (in_prior[w])
                shift_lp(f, params + w * d, &sums[w],
                         f->fault == CONFORM_FAULT_ULP ? ULP_STEPS : 0, OFFSET);
        break;
    case CONFORM_FAULT_JITTER:
        for (size_t w = 0; w < k; w++)
            if (in_prior[w])
                shift_lp(f, params + w * d, &sums[w], 0, JITTER * hash_unit(params + w * d, d));
        break;
    case CONFORM_FAULT_SWAP:
        if (k >= 2 && in_prior[0] && in_prior[1]) {
            sm_pixel_sums_t tmp = sums[0];
            sums[0] = sums[1];
            sums[1] = tmp;
        }
        break;
    case CONFORM_FAULT_DROP:
        st = drop_last(f, k, params, in_prior, sums);
        break;
    case CONFORM_FAULT_SLOW:
        sleep_until(t0 + (double)k * (double)f->n_pix / SLOW_PW_PER_S);
        break;
    default:
        break;
    }
    return st;
}

/* The one-pixel map of data's last pixel. */
static sm_status last_pixel(const sm_data_t *data, sm_data_t **out)
{
    size_t n = sm_data_n_pix(data), s = sm_data_n_sys(data);
    double t[CONFORM_MAX_SYS];
    for (size_t i = 0; i < s; i++)
        t[i] = sm_data_templates(data)[i * n + n - 1];
    return sm_data_create(out, 1, s, sm_data_delta(data) + n - 1, t, NULL);
}

sm_status conform_backend_open(const char *name, const char *device, const char *precision,
                               conform_fault fault, const sm_data_t *data,
                               const sm_model_t *model, sm_backend_t **out)
{
    *out = NULL;
    if (fault == CONFORM_FAULT_NONE)
        return sm_backend_open(out, name, device, precision, data, model);
    if (fault == CONFORM_FAULT_FP32 && (name == NULL || strcmp(name, "opencl") != 0))
        return sm_fail(SM_EINVAL, "the fp32 fault needs an OpenCL device (it runs fp32 kernels "
                                  "while claiming fp64)");
    if (sm_data_n_sys(data) > CONFORM_MAX_SYS)
        return sm_fail(SM_EINVAL, "fault injection: more than %d templates", CONFORM_MAX_SYS);
    faulty_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return SM_FAIL_NOMEM("fault wrapper");
    f->fault = fault;
    f->model = *model;
    f->n_pix = sm_data_n_pix(data);
    const char *inner_precision = fault == CONFORM_FAULT_FP32 ? "fp32" : precision;
    sm_status st = sm_backend_open(&f->inner, name, device, inner_precision, data, model);
    if (st == SM_OK && fault == CONFORM_FAULT_DROP) {
        st = last_pixel(data, &f->last_data);
        if (st == SM_OK)
            st = sm_backend_open(&f->last, name, device, precision, f->last_data, model);
    }
    if (st != SM_OK) {
        faulty_free(f);
        return st;
    }
    static const sm_backend_ops_t ops = {
        .struct_size = sizeof(sm_backend_ops_t),
        .pixel_sums = faulty_pixel_sums, .free = faulty_free};
    const char *claimed = precision ? precision : sm_backend_precision(f->inner);
    char inner_name[32], inner_device[512];
    snprintf(inner_name, sizeof inner_name, "%s", sm_backend_name(f->inner));
    snprintf(inner_device, sizeof inner_device, "%s", sm_backend_device(f->inner));
    return sm_backend_create(out, &ops, f, model, f->n_pix, inner_name, inner_device, claimed);
}
