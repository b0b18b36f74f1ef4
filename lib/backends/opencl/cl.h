/* Internal: the OpenCL headers at the API level sysmap targets, and the
 * helpers the OpenCL host code shares. */
#ifndef SYSMAP_OPENCL_CL_H
#define SYSMAP_OPENCL_CL_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include "sysmap/opencl.h"
#include "sysmap/status.h"

/* "CL_OUT_OF_RESOURCES" etc. */
const char *sm_cl_error_name(cl_int err);

/* The platform and device ids behind a sm_device_t from
 * sm_opencl_devices / sm_opencl_select (looked up again by index). */
sm_status sm_cl_device_ids(const sm_device_t *dev, cl_platform_id *platform,
                           cl_device_id *device);

/* Builds source for one device with options, through the per-device
 * program binary cache (key: device name, driver version, source, options)
 * in $SYSMAP_CACHE_DIR, else $XDG_CACHE_HOME/sysmap, else ~/.cache/sysmap.
 * A corrupt or foreign cache entry is ignored and replaced; concurrent
 * builders each write a temporary file and rename it. A build failure is
 * SM_EDEVICE with the compiler's build log in the message. *cached tells
 * whether the binary came from the cache (may be NULL). */
sm_status sm_cl_build_program(cl_context context, cl_device_id device,
                              const sm_device_t *info, const char *source,
                              const char *options, cl_program *program, int *cached);

#endif
