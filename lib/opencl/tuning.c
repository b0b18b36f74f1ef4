#include "tuning.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* CPUs (PoCL): a work-item runs a SIMD vector of pixels for 16 walkers, so
 * each template vector loaded serves 16 walkers, in few, small groups
 * (fewer partial sums to reduce). Chosen from a sweep with
 * SYSMAP_OPENCL_TUNING and `sysmap bench` (N = 50k, S = 5 and 11, combined,
 * W = 250, 2 cores, G pixel-walker/s fp64 / fp32): wgs=64,wpt=2,ppi=16
 * 0.66 / 1.46; wgs=8,wpt=8,ppi=1024 1.27 / 2.81; wgs=8,wpt=16,ppi=1024
 * 1.45 / 3.17 (S = 11: 0.89 / 1.93). GPUs: work-items are SIMD lanes
 * already, and many of them hide memory latency (not tuned on a GPU yet). */
static const sm_cl_tuning_t cpu_defaults = {8, 16, 1024, 8};
static const sm_cl_tuning_t gpu_defaults = {256, 4, 4, 16};

static sm_status parse_override(const char *spec, sm_cl_tuning_t *t)
{
    const char *p = spec;
    for (;;) {
        const char *eq = strchr(p, '=');
        size_t key_len = eq ? (size_t)(eq - p) : 0;
        size_t *field = NULL;
        if (key_len == 3 && strncmp(p, "wgs", 3) == 0)
            field = &t->wgs;
        else if (key_len == 3 && strncmp(p, "wpt", 3) == 0)
            field = &t->wpt;
        else if (key_len == 3 && strncmp(p, "ppi", 3) == 0)
            field = &t->ppi;
        else if (key_len == 3 && strncmp(p, "gpc", 3) == 0)
            field = &t->groups_per_cu;
        if (field == NULL)
            return sm_fail(SM_EINVAL, "%s='%s': expected key=value pairs with keys wgs, wpt, "
                                      "ppi, gpc",
                           SM_CL_TUNING_ENV, spec);
        char *end;
        errno = 0;
        unsigned long v = strtoul(eq + 1, &end, 10);
        int pow2 = v != 0 && (v & (v - 1)) == 0;
        if (errno != 0 || end == eq + 1 || (*end != ',' && *end != '\0') || v == 0 ||
            v > 4096 || (field == &t->wgs && !pow2))
            return sm_fail(SM_EINVAL, "%s='%s': bad value for %.3s (1..4096; wgs a power of "
                                      "two)",
                           SM_CL_TUNING_ENV, spec, p);
        *field = (size_t)v;
        if (*end == '\0')
            return SM_OK;
        p = end + 1;
    }
}

sm_status sm_cl_tuning(const sm_opencl_device_t *dev, sm_cl_tuning_t *tuning)
{
    *tuning = strcmp(dev->type, "CPU") == 0 ? cpu_defaults : gpu_defaults;
    const char *spec = getenv(SM_CL_TUNING_ENV);
    return spec != NULL && *spec != '\0' ? parse_override(spec, tuning) : SM_OK;
}
