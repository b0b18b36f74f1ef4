/* Internal: the one clock sysmap times with (the library, the MPI shards,
 * the conformance harness): monotonic seconds. Header-only, so the harness
 * shares it without a library symbol. */
#ifndef SYSMAP_CORE_CLOCK_H
#define SYSMAP_CORE_CLOCK_H

#include <time.h>

static inline double sm_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
