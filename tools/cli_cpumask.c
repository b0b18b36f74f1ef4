/* Whether a run's CPU device can use every CPU of the machine. mpirun (Open
 * MPI) binds each rank to one core by default, and taskset or a batch
 * system may restrict a process too; an OpenCL CPU device (PoCL, Intel)
 * still starts a thread per core, and they all share the allowed ones. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sysmap/registry.h"

int cli_cpu_mask_restricted(const char *backend, const char *device, const char *precision,
                            long *usable, long *online)
{
    cpu_set_t mask;
    *online = sysconf(_SC_NPROCESSORS_ONLN);
    if (sched_getaffinity(0, sizeof mask, &mask) != 0 || *online < 1)
        return 0; /* cannot tell: say nothing */
    *usable = CPU_COUNT(&mask);
    if (*usable >= *online)
        return 0;
    const sm_backend_info_t *info;
    sm_device_t chosen;
    int need_fp64 = precision == NULL || strcmp(precision, "fp64") == 0;
    if (sm_backend_resolve(backend, device, &info) != SM_OK || info->devices == NULL ||
        sm_device_default(info->name, device, need_fp64, &chosen) != SM_OK)
        return 0; /* a host backend runs one thread; a failure is reported elsewhere */
    return chosen.device_class == SM_DEVICE_CPU;
}
