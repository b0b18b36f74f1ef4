/* Internal: the per-device tuning database that `sysmap tune` writes, a
 * small text file in the cache directory (sm_cache_dir), one line per
 * device, driver, precision and kernel source:
 *   <key> TAB <YYYY-MM-DD> TAB <shape, as key=value,... like $SYSMAP_OPENCL_TUNING>
 * The key names platform, device, driver and precision and ends in the
 * FNV-1a hash of the kernel source, so that a changed kernel (or driver)
 * is untuned again. A file that does not parse is ignored as a whole,
 * with a warning for the caller to show, and replaced by the next store. */
#ifndef SYSMAP_OPENCL_TUNING_DB_H
#define SYSMAP_OPENCL_TUNING_DB_H

#include <stddef.h>

#include "sysmap/opencl.h"
#include "sysmap/status.h"

#define SM_CL_TUNING_DB_FILE "tuning.txt"
#define SM_CL_TUNING_KEY_MAX 512
#define SM_CL_TUNING_SHAPE_MAX 128

typedef struct {
    char shape[SM_CL_TUNING_SHAPE_MAX];
    char date[16]; /* YYYY-MM-DD, UTC */
} sm_cl_tuned_t;

/* The database key of a device and precision for the current kernels. */
void sm_cl_tuning_key(const sm_device_t *dev, int fp32, char key[SM_CL_TUNING_KEY_MAX]);

/* 1 with *out when the database holds key; 0 when it does not or there is
 * no database; 0 with a reason in warning (else "") when the file is
 * corrupt. */
int sm_cl_tuning_db_find(const char *key, sm_cl_tuned_t *out, char *warning,
                         size_t warning_size);

/* Stores shape for key dated today, replacing key's entry: SM_EIO when
 * there is no usable cache directory or the file cannot be written,
 * SM_EINVAL for a shape with other characters than a-z, 0-9, '=' and
 * ','. */
sm_status sm_cl_tuning_db_store(const char *key, const char *shape);

#endif
