/* The OpenCL backend: fused batched likelihood kernels on any OpenCL 1.2+
 * device (NVIDIA, AMD, Intel, CPUs through PoCL), through the ICD loader. */
#ifndef SYSMAP_OPENCL_H
#define SYSMAP_OPENCL_H

#include <stddef.h>
#include "sysmap/backend.h"
#include "sysmap/data.h"
#include "sysmap/model.h"
#include "sysmap/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every device of every platform, in platform order (index: position in
 * this list; platform_index and device_index: the loader's). SM_EDEVICE
 * when the ICD loader finds no platform. The registry's device list for
 * "opencl"; free *devices with sm_opencl_devices_free. */
SM_API sm_status sm_opencl_devices(sm_device_t **devices, size_t *n);
/* Frees a list from sm_opencl_devices; NULL is a no-op. */
SM_API void sm_opencl_devices_free(sm_device_t *devices);

/* Picks a device: spec "N" (flat index) or "P:D"; NULL means the
 * SYSMAP_DEVICE environment variable, and when that is unset too, the
 * default rule: among devices with fp64 (all devices when need_fp64 is 0),
 * GPUs and accelerators before CPUs, then the most compute units x clock;
 * ties to the lowest index. */
SM_API sm_status sm_opencl_select(const char *spec, int need_fp64, sm_device_t *chosen);

/* An OpenCL backend on data (which must outlive it). device as for
 * sm_opencl_select; precision "fp64" (default) or "fp32". Asking for fp64 on
 * a device without it is an error, never a silent downgrade. */
SM_API sm_status sm_opencl_create(sm_backend_t **out, const sm_data_t *data,
                                  const sm_model_t *model, const char *device,
                                  const char *precision);

/* The launch shape the OpenCL backend starts from on dev for precision
 * ("fp64" or "fp32"; NULL: fp64) before fitting it to a problem: shape as
 * key=value,... (the keys of $SYSMAP_OPENCL_TUNING; vw absent for the
 * device's preferred width); source "env", "tuned YYYY-MM-DD" (from
 * `sysmap tune`), "shipped default" or "heuristic"; warning "" or why the
 * tuning database was ignored. */
typedef struct {
    char shape[128];
    char source[32];
    char warning[448];
} sm_opencl_tuning_t;
SM_API sm_status sm_opencl_tuning(const sm_device_t *dev, const char *precision,
                                  sm_opencl_tuning_t *out);

/* Records shape (key=value,...) as the tuned launch shape of dev for
 * precision in the tuning database in the cache directory (the one of
 * the kernel binaries), for the current driver and kernels. */
SM_API sm_status sm_opencl_tuning_store(const sm_device_t *dev, const char *precision,
                                        const char *shape);

#ifdef __cplusplus
}
#endif
#endif
