/* Internal: a small on-disk cache of byte blobs under the user's cache
 * directory, keyed by a list of strings. Knows nothing about OpenCL. The
 * cache is an optimisation: every failure here reads as a miss or a skipped
 * store, never as an error of the caller.
 *
 * Entry file <dir>/<16 hex digits of the key hash>.bin:
 *   "SMCLBIN1" | key length | payload length | payload FNV-1a 64 | key | payload
 * with the three numbers as 8-byte little-endian integers. The full key in
 * the file makes a hash collision or a foreign file a miss; the payload
 * length and hash make a truncated or corrupted file a miss, so a damaged
 * blob never reaches its consumer. Length and hash guard against accidents
 * only (anyone who can write the file can forge both), so the cache is used
 * only where nobody else can write: a directory owned by this user and not
 * writable by group or others, entries likewise; anything else is a miss. */
#ifndef SYSMAP_OPENCL_CACHE_H
#define SYSMAP_OPENCL_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define SM_CACHE_MAGIC "SMCLBIN1"
#define SM_CACHE_HEADER_SIZE 32
/* Larger entry files are not read (kernel binaries take megabytes). */
#define SM_CACHE_ENTRY_MAX ((uintmax_t)256 << 20)

typedef struct {
    char *key;  /* each field as "<decimal length>:<bytes>\n", so no two field lists collide */
    size_t key_len;
    char *path; /* the entry's file */
} sm_cache_entry_t;

/* 64-bit FNV-1a of len bytes. */
uint64_t sm_cache_hash(const void *data, size_t len);

/* The cache directory, created (missing components mode 0700) when needed:
 * $SYSMAP_CACHE_DIR if set and non-empty, else $XDG_CACHE_HOME/sysmap when
 * that is absolute, else $HOME/.cache/sysmap. NULL (no cache) when none can
 * be made, it is not this user's own or others may write to it, or memory
 * runs out; free() the result. */
char *sm_cache_dir(void);

/* The entry for n fields under sm_cache_dir(). 0 (entry zeroed) when there
 * is no usable cache directory or memory runs out, 1 otherwise. */
int sm_cache_entry_init(sm_cache_entry_t *entry, const char *const *fields, size_t n);

void sm_cache_entry_free(sm_cache_entry_t *entry);

/* 1 with the payload in *data (free() it) when the entry's file exists, is
 * a regular file of this user's that nobody else may write, and is intact
 * for this key; 0 otherwise (a FIFO at the path is skipped, not waited on). */
int sm_cache_load(const sm_cache_entry_t *entry, unsigned char **data, size_t *size);

/* Writes the entry atomically (temporary file in the same directory, fsync,
 * rename), replacing any previous file; concurrent writers each leave a
 * complete file and the last rename wins. 1 on success, 0 otherwise. */
int sm_cache_store(const sm_cache_entry_t *entry, const void *data, size_t size);

/* 1 when st is this user's and nobody else may write it. */
int sm_cache_private_file(const struct stat *st);

/* Replaces path with text atomically, as sm_cache_store does; 1 on
 * success. */
int sm_cache_write_text(const char *path, const char *text);

#endif
