/* Checked sizes: counts that multiply (walkers x steps x parameters,
 * pixels x templates, rows x bytes) are refused before they wrap or ask for
 * more memory than the machine has, with the quantity named. */
#ifndef SYSMAP_SIZES_H
#define SYSMAP_SIZES_H

#include <stddef.h>
#include "sysmap/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* *out = a * b, or SM_EINVAL "WHAT: A x B overflows (limit SIZE_MAX)". */
SM_API sm_status sm_size_mul(size_t a, size_t b, const char *what, size_t *out);

/* *bytes = count * elem_size, checked as sm_size_mul, and refused with
 * SM_ENOMEM when it exceeds the machine's physical memory (the message
 * names what, the size and the memory). */
SM_API sm_status sm_size_bytes(size_t count, size_t elem_size, const char *what, size_t *bytes);

/* The machine's physical memory in bytes (0 when unknown). */
SM_API size_t sm_size_physical_memory(void);

#ifdef __cplusplus
}
#endif
#endif
