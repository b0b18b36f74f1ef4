/* Internal: the struct_size check of the public structs a caller fills
 * (docs/design.md, "ABI policy"). */
#ifndef SYSMAP_BASE_ABI_H
#define SYSMAP_BASE_ABI_H

#include <stddef.h>
#include "sysmap/status.h"

/* SM_EINVAL unless have >= need: a struct_size of 0 was never initialised
 * (init names the call that does it); a smaller one comes from a caller
 * built against an older header. */
sm_status sm_abi_check(size_t have, size_t need, const char *type, const char *init);

/* The check of *p, a caller's struct of type T initialised by init. */
#define SM_ABI_CHECK(p, T, init) sm_abi_check((p)->struct_size, sizeof(T), #T, init)

#endif
