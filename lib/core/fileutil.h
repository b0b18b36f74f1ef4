/* Internal: files that appear complete or not at all. A writer writes
 * PATH.tmp (sm_file_tmp_name) and commits it: the data are synced to disk
 * before the rename, so even a power cut never leaves a complete-looking,
 * half-written PATH. */
#ifndef SYSMAP_CORE_FILEUTIL_H
#define SYSMAP_CORE_FILEUTIL_H

#include "sysmap/status.h"

/* PATH.tmp, malloc'd; NULL when out of memory. */
char *sm_file_tmp_name(const char *path);

/* Syncs tmp and renames it to path; on failure tmp stays as it is. */
sm_status sm_file_sync_rename(const char *tmp, const char *path);

/* The same, removing tmp on failure. */
sm_status sm_file_commit(const char *tmp, const char *path);

/* Copies the bytes of src to dst (created or truncated). */
sm_status sm_file_copy(const char *src, const char *dst);

#endif
