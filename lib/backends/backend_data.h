/* Internal: whether a backend still reads the map it was opened with. One
 * that has its own copy (a device's buffers) lets the run free the working
 * copy of the templates once the backend is open. */
#ifndef SYSMAP_BACKENDS_BACKEND_DATA_H
#define SYSMAP_BACKENDS_BACKEND_DATA_H

#include "sysmap/backend.h"

/* Called by a backend that no longer reads the sm_data_t after opening. */
void sm_backend_mark_data_copied(sm_backend_t *be);
/* 0 (the default): the backend reads the data on every call. */
int sm_backend_data_copied(const sm_backend_t *be);

#endif
