/* Internal: the HDF5 input read once for both its data and its pixel
 * layout (input.c). */
#ifndef SYSMAP_IO_DATA_FILE_H
#define SYSMAP_IO_DATA_FILE_H

#include <stddef.h>
#include <stdint.h>
#include "sysmap/data.h"

/* sm_data_load_hdf5, also handing over the file's mask (n_total bytes, to
 * free; NULL when the file has none: every pixel is used) and the length
 * of its arrays. */
sm_status sm_data_load_hdf5_masked(sm_data_t **out, const char *path, uint8_t **mask,
                                   size_t *n_total);

#endif
