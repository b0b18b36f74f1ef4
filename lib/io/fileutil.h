/* Internal: files that appear complete or not at all. A writer writes
 * PATH.tmp (sm_file_tmp_name) and commits it: the data are synced to disk
 * before the rename, so even a power cut never leaves a complete-looking,
 * half-written PATH. */
#ifndef SYSMAP_CORE_FILEUTIL_H
#define SYSMAP_CORE_FILEUTIL_H

#include <stddef.h>

#include "sysmap/status.h"

/* PATH.tmp, malloc'd; NULL when out of memory. */
char *sm_file_tmp_name(const char *path);

/* Syncs tmp and renames it to path; on failure tmp stays as it is. */
sm_status sm_file_sync_rename(const char *tmp, const char *path);

/* The same, removing tmp on failure. */
sm_status sm_file_commit(const char *tmp, const char *path);

/* Checks, before any work, that path can be written: not empty, not a
 * directory or other non-regular file, in an existing writable folder. */
sm_status sm_file_check_output(const char *path);

/* Opens path read-write (created, empty, when create and missing: then
 * *created = 1) and takes an exclusive lock on it, held until
 * sm_file_unlock(*fd): one writer at a time, and the kernel drops it when
 * the process dies, so a killed writer never blocks the next. *busy = 1
 * when another process holds it. */
sm_status sm_file_lock(const char *path, int create, int *fd, int *busy, int *created);
void sm_file_unlock(int fd);
/* 1 when the file open as fd has no bytes. */
int sm_file_is_empty(int fd);
/* 1 when another process holds that lock on path (0 when path is missing). */
int sm_file_locked(const char *path);

/* Checks that path's disk has bytes free (counting what an existing path
 * gives back); SM_EIO naming both. Writers whose library fails badly on a
 * full disk check before they write. */
sm_status sm_file_check_space(const char *path, size_t bytes);

/* Allocates the blocks of the file open as fd (its current size), so that a
 * full disk is found now rather than part way through; SM_EIO naming path. */
sm_status sm_file_reserve(int fd, const char *path);

/* Copies the bytes of src to dst (created or truncated). */
sm_status sm_file_copy(const char *src, const char *dst);

/* Opens path for reading (O_RDONLY | O_NONBLOCK | O_CLOEXEC, so a FIFO
 * cannot block the open) and refuses anything but a regular file: SM_EIO
 * naming what the file is for, the path and what it is ("a FIFO (named
 * pipe)", "a directory", "a character device", ...). *fd is the open
 * descriptor on success (the caller closes it), -1 otherwise. */
sm_status sm_file_open_regular(const char *path, const char *what, int *fd);

/* The same check, closing the file again: for readers (HDF5, cfitsio) that
 * open the path themselves. */
sm_status sm_file_check_regular(const char *path, const char *what);

#endif
