/* The reference backend's entry in the registry: the host, fp64 only. */
#include <string.h>

#include "sysmap/reference.h"
#include "error.h"

static sm_status open_reference(sm_backend_t **out, const char *device, const char *precision,
                                const sm_data_t *data, const sm_model_t *model)
{
    *out = NULL;
    if (device != NULL)
        return sm_fail(SM_EINVAL, "the reference backend has no devices to choose from "
                                  "(got device '%s')", device);
    if (precision != NULL && strcmp(precision, "fp64") != 0)
        return sm_fail(SM_EINVAL, "the reference backend computes in fp64 only "
                                  "(got precision '%s')", precision);
    return sm_reference_create(out, data, model);
}

const sm_backend_info_t sm_reference_backend = {
    "reference",
    "the GSL double-precision reference backend on the host (Neumaier sums)",
    0,
    NULL,
    NULL,
    open_reference,
};
