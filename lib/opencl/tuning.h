/* Internal: launch parameters of the likelihood kernel per device class,
 * CLBlast-style defaults that a tuning run can override. */
#ifndef SYSMAP_OPENCL_TUNING_H
#define SYSMAP_OPENCL_TUNING_H

#include <stddef.h>

#include "sysmap/opencl.h"
#include "sysmap/status.h"

#define SM_CL_TUNING_ENV "SYSMAP_OPENCL_TUNING"

typedef struct {
    size_t wgs;            /* work-group size (power of two) */
    size_t wpt;            /* walkers per work-item */
    size_t ppi;            /* pixel vectors per work-item that size the grid */
    size_t groups_per_cu;  /* most work-groups per compute unit along pixels */
} sm_cl_tuning_t;

/* Defaults for the device's class, then any "key=value,..." overrides from
 * $SYSMAP_OPENCL_TUNING (keys wgs, wpt, ppi, gpc); a malformed or
 * out-of-range override is SM_EINVAL naming it. */
sm_status sm_cl_tuning(const sm_opencl_device_t *dev, sm_cl_tuning_t *tuning);

#endif
