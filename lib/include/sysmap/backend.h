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

typedef enum {
    SM_DEVICE_CPU,
    SM_DEVICE_GPU,
    SM_DEVICE_ACCELERATOR,
    SM_DEVICE_OTHER
} sm_device_class;

/* "CPU", "GPU", "accelerator", "other". */
SM_API const char *sm_device_class_name(sm_device_class device_class);

/* One device of one backend, as `sysmap devices` lists it. A backend fills
 * what its runtime knows and leaves the rest zero. */
typedef struct {
    char backend[32];         /* the registry name, e.g. "opencl" */
    unsigned index;           /* position in the backend's list: --device N */
    unsigned platform_index;  /* the driver / platform it belongs to: --device P:D */
    unsigned device_index;    /* position within that platform */
    char platform[128];
    char name[128];
    char vendor[128];
    char driver[64];          /* driver version */
    char version[64];         /* the runtime's version string, e.g. "OpenCL 3.0 ..." */
    sm_device_class device_class;
    unsigned compute_units;
    unsigned clock_mhz;
    unsigned long long global_mem_bytes;
    unsigned long long max_alloc_bytes;
    unsigned long long local_mem_bytes;
    size_t max_work_group_size;
    int fp64;                 /* double precision available */
} sm_device_t;

/* A backend's descriptor. A backend without devices (devices and
 * default_device NULL) runs on the host and takes no --device. */
typedef struct {
    const char *name;         /* "reference", "opencl" */
    const char *description;  /* one line: what computes, and how */
    int fp32;                 /* also computes in fp32 (every backend has fp64) */
    /* Every device, in the backend's own order; free with sm_devices_free. */
    sm_status (*devices)(sm_device_t **list, size_t *n);
    /* The device a run without --device uses (spec NULL), or the one spec
     * names ("N", "P:D"); need_fp64 restricts the choice. */
    sm_status (*default_device)(const char *spec, int need_fp64, sm_device_t *chosen);
    /* device and precision may be NULL for the backend's defaults; data
     * must outlive the backend. */
    sm_status (*open)(sm_backend_t **out, const char *device, const char *precision,
                      const sm_data_t *data, const sm_model_t *model);
} sm_backend_info_t;

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

/* The backend's throughput in pixel-walker evaluations per second (one
 * evaluation: one walker's likelihood terms over one pixel; G = 1e9 of
 * them), and what it was measured on. */
typedef struct {
    size_t walkers;      /* vectors per batch (k) */
    size_t pixels;       /* the backend's pixels */
    size_t repetitions;  /* timed batches */
    double seconds;      /* their wall time, on a monotonic clock */
    double evals_per_s;  /* walkers x pixels x repetitions / seconds */
} sm_throughput_t;

/* Times log-prob batches of the k vectors (k, n_dim) of params, all inside
 * the prior (else SM_EINVAL: nothing would be computed), after one untimed
 * batch that pays the one-off costs (kernel build, buffers): batch after
 * batch until min_seconds (finite, >= 0) have passed, at least one. The
 * speed is the caller's to judge; *result is zeroed on failure. */
SM_API sm_status sm_backend_throughput(sm_backend_t *backend, size_t k, const double *params,
                                       double min_seconds, sm_throughput_t *result);

SM_API const sm_model_t *sm_backend_model(const sm_backend_t *backend);
SM_API size_t sm_backend_n_pix(const sm_backend_t *backend);
SM_API const char *sm_backend_name(const sm_backend_t *backend);      /* "reference", "opencl" */
SM_API const char *sm_backend_device(const sm_backend_t *backend);    /* device description */
SM_API const char *sm_backend_precision(const sm_backend_t *backend); /* "fp64", "fp32" */

#ifdef __cplusplus
}
#endif
#endif
