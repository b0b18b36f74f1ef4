/* The backend registry: every built-in backend describes itself once (its
 * name, its devices, how to open it), and everything that lists devices or
 * opens a backend by name (sm_backend_open, the CLI, the conformance
 * harness, MPI rank placement, Python) goes through this table. */
#ifndef SYSMAP_REGISTRY_H
#define SYSMAP_REGISTRY_H

#include <stddef.h>
#include "sysmap/backend.h"
#include "sysmap/data.h"
#include "sysmap/model.h"
#include "sysmap/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SM_DEVICE_CPU,
    SM_DEVICE_GPU,
    SM_DEVICE_ACCELERATOR,
    SM_DEVICE_OTHER
} sm_device_class;

/* "CPU", "GPU", "accelerator", "other". */
const char *sm_device_class_name(sm_device_class device_class);

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

/* The registered backends (the reference first), in the order listings
 * follow and "auto" tries them; NULL past the end. */
const sm_backend_info_t *sm_backend_info(size_t i);

/* The backend called name; SM_EINVAL naming the available ones when none
 * is (or name is NULL). "auto" is not a backend: see sm_backend_resolve. */
sm_status sm_backend_find(const char *name, const sm_backend_info_t **info);

/* The backend name means, "auto" (and NULL) included: with a device
 * named, the first backend that has devices; else the first that finds a
 * device on this machine; else the first without devices (the reference
 * backend, the host). */
sm_status sm_backend_resolve(const char *name, const char *device,
                             const sm_backend_info_t **info);

/* The devices of backend (NULL: of every backend that has devices, in
 * registry order; one that fails is left out while another finds
 * devices, else its failure, e.g. SM_EDEVICE "no OpenCL platform", is
 * returned). SM_EDEVICE for a backend without devices. Free *list with
 * sm_devices_free. */
sm_status sm_devices(const char *backend, sm_device_t **list, size_t *n);
void sm_devices_free(sm_device_t *list);

/* What default_device of backend picks; SM_EINVAL for a backend without
 * devices. */
sm_status sm_device_default(const char *backend, const char *spec, int need_fp64,
                            sm_device_t *chosen);

#ifdef __cplusplus
}
#endif
#endif
