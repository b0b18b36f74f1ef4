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

/* The registered backends (the reference first), in the order listings
 * follow and "auto" tries them; NULL past the end. */
SM_API const sm_backend_info_t *sm_backend_info(size_t i);

/* The backend called name; SM_EINVAL naming the available ones when none
 * is (or name is NULL). "auto" is not a backend: see sm_backend_resolve. */
SM_API sm_status sm_backend_find(const char *name, const sm_backend_info_t **info);

/* The backend name means, "auto" (and NULL) included: with a device
 * named, the first backend that has devices; else the first that finds a
 * device on this machine; else the first without devices (the reference
 * backend, the host). */
SM_API sm_status sm_backend_resolve(const char *name, const char *device,
                                    const sm_backend_info_t **info);

/* The devices of backend (NULL: of every backend that has devices, in
 * registry order; one that fails is left out while another finds
 * devices, else its failure, e.g. SM_EDEVICE "no OpenCL platform", is
 * returned). SM_EDEVICE for a backend without devices. Free *list with
 * sm_devices_free. */
SM_API sm_status sm_devices(const char *backend, sm_device_t **list, size_t *n);
SM_API void sm_devices_free(sm_device_t *list);

/* What default_device of backend picks; SM_EINVAL for a backend without
 * devices. */
SM_API sm_status sm_device_default(const char *backend, const char *spec, int need_fp64,
                                   sm_device_t *chosen);

/* A registered backend by name: "reference",
 * "opencl", or "auto" (also NULL) as sm_backend_resolve picks it. device
 * and precision may be NULL for the backend's defaults; the reference
 * backend accepts only "fp64" and no device. data must outlive the
 * backend. */
SM_API sm_status sm_backend_open(sm_backend_t **out, const char *name, const char *device,
                                 const char *precision, const sm_data_t *data,
                                 const sm_model_t *model);

#ifdef __cplusplus
}
#endif
#endif
