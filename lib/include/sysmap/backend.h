/* The backend interface: log-probabilities of K parameter vectors against
 * the data a backend holds, in one call (one half-ensemble per call). */
#ifndef SYSMAP_BACKEND_H
#define SYSMAP_BACKEND_H

#include <stddef.h>
#include "sysmap/data.h"
#include "sysmap/model.h"
#include "sysmap/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sm_backend sm_backend_t;

/* What a backend implements. ctx is the implementation's own state.
 * struct_size is sizeof(sm_backend_ops_t): {sizeof(sm_backend_ops_t),
 * pixel_sums, free}. */
typedef struct {
    size_t struct_size;
    /* Pixel sums for each of k vectors (k, n_dim) whose sigma is in the
     * prior; sums[w] is ignored for the others. */
    sm_status (*pixel_sums)(void *ctx, size_t k, const double *params,
                            const int *in_prior, sm_pixel_sums_t *sums);
    void (*free)(void *ctx);
} sm_backend_ops_t;

/* Wraps an implementation (used by the built-in backends, and by callers
 * that add their own, e.g. fault-injecting wrappers). name, device and
 * precision are copied. On failure ops->free(ctx) has been called, but for
 * an ops->struct_size that is refused (SM_EINVAL). */
SM_API sm_status sm_backend_create(sm_backend_t **out, const sm_backend_ops_t *ops, void *ctx,
                                   const sm_model_t *model, size_t n_pix, const char *name,
                                   const char *device, const char *precision);
SM_API void sm_backend_free(sm_backend_t *backend);

/* lp[w] for k parameter vectors (k, n_dim): lnL plus prior, -inf outside the
 * prior or where lnL is not finite. */
SM_API sm_status sm_backend_log_prob(sm_backend_t *backend, size_t k, const double *params,
                                     double *lp);

/* The backend's pixel sums over its own pixels for the vectors of k
 * (k, n_dim) with in_prior[w] non-zero; sums[w] is left as it was for the
 * others. Sums over disjoint pixel sets add: this is what a caller that
 * combines several backends (e.g. one per MPI rank) or checks the sums
 * themselves calls. */
SM_API sm_status sm_backend_pixel_sums(sm_backend_t *backend, size_t k, const double *params,
                                       const int *in_prior, sm_pixel_sums_t *sums);

/* A built-in backend by name: "reference", "opencl" (sm_opencl_create), or
 * "auto" (also NULL): opencl when the machine has an OpenCL device (or a
 * device is named), else reference. device and precision may be NULL for
 * the backend's defaults; the reference backend accepts only "fp64". data
 * must outlive the backend. */
SM_API sm_status sm_backend_open(const char *name, const char *device, const char *precision,
                                 const sm_data_t *data, const sm_model_t *model,
                                 sm_backend_t **out);

SM_API const sm_model_t *sm_backend_model(const sm_backend_t *backend);
SM_API size_t sm_backend_n_pix(const sm_backend_t *backend);
SM_API const char *sm_backend_name(const sm_backend_t *backend);      /* "reference", "opencl" */
SM_API const char *sm_backend_device(const sm_backend_t *backend);    /* device description */
SM_API const char *sm_backend_precision(const sm_backend_t *backend); /* "fp64", "fp32" */

#ifdef __cplusplus
}
#endif
#endif
