/* The OpenCL backend's entry in the registry. */
#include "sysmap/opencl.h"

static sm_status open_opencl(sm_backend_t **out, const char *device, const char *precision,
                             const sm_data_t *data, const sm_model_t *model)
{
    return sm_opencl_create(out, data, model, device, precision);
}

const sm_backend_info_t sm_opencl_backend = {
    "opencl",
    "fused batched likelihood kernels on any OpenCL 1.2+ device through the ICD loader",
    1,
    sm_opencl_devices,
    sm_opencl_select,
    open_opencl,
};
