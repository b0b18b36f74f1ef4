#include "sysmap/sizes.h"

#include <stdint.h>
#include <unistd.h>

#include "error.h"

sm_status sm_size_mul(size_t a, size_t b, const char *what, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) {
        *out = 0;
        return sm_fail(SM_EINVAL, "%s: %zu x %zu overflows the size range (%zu)", what, a, b,
                       (size_t)SIZE_MAX);
    }
    *out = a * b;
    return SM_OK;
}

size_t sm_size_physical_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0 || (unsigned long)pages > SIZE_MAX / (unsigned long)page)
        return 0;
    return (size_t)pages * (size_t)page;
}

sm_status sm_size_bytes(size_t count, size_t elem_size, const char *what, size_t *bytes)
{
    sm_status st = sm_size_mul(count, elem_size, what, bytes);
    if (st != SM_OK)
        return st;
    size_t ram = sm_size_physical_memory();
    if (ram != 0 && *bytes > ram)
        return sm_fail(SM_ENOMEM, "%s: %zu elements need %.3g GB, more than this machine's "
                                  "%.3g GB of memory",
                       what, count, (double)*bytes / 1e9, (double)ram / 1e9);
    return SM_OK;
}
