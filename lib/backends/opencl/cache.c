#include "cache.h"
#include "hash.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* FNV-1a 64 names the file and checks the payload. Names of distinct keys
 * collide with probability about n^2 / 2^65 for n entries; a collision only
 * makes the two keys replace each other's file (the key stored in the file
 * turns the other's entry into a miss), never loads a wrong blob. */
uint64_t sm_cache_hash(const void *data, size_t len)
{
    return sm_fnv_bytes(SM_FNV_OFFSET, data, len);
}

static void put_le64(unsigned char *out, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le64(const unsigned char *in)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | in[i];
    return v;
}

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    if (s != NULL) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb + 1);
    }
    return s;
}

/* Entries are handed to the OpenCL driver as they are, and a damaged
 * binary can crash it (PoCL aborts on a truncated one even when its length
 * and digest were forged to match). So only files nobody else can write
 * are used: a directory and entries owned by this user and writable by
 * nobody else. */
int sm_cache_private_file(const struct stat *st)
{
    return st->st_uid == geteuid() && (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/* mkdir -p: 0700 for what it creates, since cached binaries are private. */
static int make_dirs(char *path)
{
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        int ok = mkdir(path, 0700) == 0 || errno == EEXIST;
        *p = c;
        if (!ok)
            return 0;
        if (c == '\0')
            break;
    }
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) && sm_cache_private_file(&st);
}

char *sm_cache_dir(void)
{
    const char *own = getenv("SYSMAP_CACHE_DIR");
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    char *dir;
    if (own != NULL && own[0] != '\0')
        dir = join(own, "");
    else if (xdg != NULL && xdg[0] == '/') /* the XDG spec ignores relative paths */
        dir = join(xdg, "/sysmap");
    else if (home != NULL && home[0] != '\0')
        dir = join(home, "/.cache/sysmap");
    else
        return NULL;
    if (dir != NULL && !make_dirs(dir)) {
        free(dir);
        dir = NULL;
    }
    return dir;
}

static char *make_key(const char *const *fields, size_t n, size_t *len)
{
    size_t cap = 1;
    for (size_t i = 0; i < n; i++)
        cap += strlen(fields[i]) + 22; /* up to 20 digits, ':' and '\n' */
    char *key = malloc(cap);
    if (key == NULL)
        return NULL;
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        size_t field_len = strlen(fields[i]);
        used += (size_t)snprintf(key + used, cap - used, "%zu:", field_len);
        memcpy(key + used, fields[i], field_len);
        used += field_len;
        key[used++] = '\n';
    }
    key[used] = '\0';
    *len = used;
    return key;
}

int sm_cache_entry_init(sm_cache_entry_t *entry, const char *const *fields, size_t n)
{
    memset(entry, 0, sizeof *entry);
    char *dir = sm_cache_dir();
    if (dir == NULL)
        return 0;
    entry->key = make_key(fields, n, &entry->key_len);
    size_t path_len = strlen(dir) + 22; /* '/', 16 hex digits, ".bin", '\0' */
    entry->path = entry->key != NULL ? malloc(path_len) : NULL;
    if (entry->path != NULL)
        snprintf(entry->path, path_len, "%s/%016" PRIx64 ".bin", dir,
                 sm_cache_hash(entry->key, entry->key_len));
    free(dir);
    if (entry->path == NULL) {
        sm_cache_entry_free(entry);
        return 0;
    }
    return 1;
}

void sm_cache_entry_free(sm_cache_entry_t *entry)
{
    free(entry->key);
    free(entry->path);
    memset(entry, 0, sizeof *entry);
}

/* The whole entry file, or NULL: a FIFO, a device or a directory at the
 * path is skipped (opened without blocking, never read), and so is a file
 * another user owns or may write, or one beyond SM_CACHE_ENTRY_MAX. (Not
 * sm_file_open_regular: a miss must leave no error message behind.) */
static unsigned char *read_file(const char *path, size_t *size)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    unsigned char *buf = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && sm_cache_private_file(&st) &&
        (uintmax_t)st.st_size <= SM_CACHE_ENTRY_MAX) {
        *size = (size_t)st.st_size;
        buf = malloc(*size + 1);
        for (size_t got = 0; buf != NULL && got < *size;) {
            ssize_t n = read(fd, buf + got, *size - got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) { /* shrank or failed while read: a miss */
                free(buf);
                buf = NULL;
            } else {
                got += (size_t)n;
            }
        }
    }
    close(fd);
    return buf;
}

int sm_cache_load(const sm_cache_entry_t *entry, unsigned char **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    if (entry->path == NULL)
        return 0;
    size_t file_size;
    unsigned char *file = read_file(entry->path, &file_size);
    if (file == NULL)
        return 0;
    int ok = file_size >= SM_CACHE_HEADER_SIZE && memcmp(file, SM_CACHE_MAGIC, 8) == 0;
    uint64_t key_len = ok ? get_le64(file + 8) : 0;
    uint64_t payload_len = ok ? get_le64(file + 16) : 0;
    ok = ok && key_len == entry->key_len && key_len <= file_size - SM_CACHE_HEADER_SIZE &&
         payload_len == file_size - SM_CACHE_HEADER_SIZE - key_len &&
         memcmp(file + SM_CACHE_HEADER_SIZE, entry->key, key_len) == 0;
    ok = ok && sm_cache_hash(file + SM_CACHE_HEADER_SIZE + key_len, payload_len) ==
                   get_le64(file + 24);
    if (!ok) {
        free(file);
        return 0;
    }
    memmove(file, file + SM_CACHE_HEADER_SIZE + key_len, payload_len);
    *data = file;
    *size = payload_len;
    return 1;
}

typedef struct {
    const sm_cache_entry_t *entry;
    const void *data;
    size_t size;
} entry_payload_t;

static int write_entry(FILE *f, const void *ctx)
{
    const entry_payload_t *e = ctx;
    unsigned char header[SM_CACHE_HEADER_SIZE];
    memcpy(header, SM_CACHE_MAGIC, 8);
    put_le64(header + 8, e->entry->key_len);
    put_le64(header + 16, e->size);
    put_le64(header + 24, sm_cache_hash(e->data, e->size));
    return fwrite(header, 1, sizeof header, f) == sizeof header &&
           fwrite(e->entry->key, 1, e->entry->key_len, f) == e->entry->key_len &&
           (e->size == 0 || fwrite(e->data, 1, e->size, f) == e->size);
}

/* Temporary file in the same directory, so that rename replaces path in
 * one step. */
static int write_atomic(const char *path, int (*write)(FILE *, const void *), const void *ctx)
{
    size_t tmp_len = strlen(path) + 8;
    char *tmp = malloc(tmp_len);
    if (tmp == NULL)
        return 0;
    snprintf(tmp, tmp_len, "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        free(tmp);
        return 0;
    }
    FILE *f = fdopen(fd, "wb");
    int ok = f != NULL && write(f, ctx) && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (f != NULL)
        ok = fclose(f) == 0 && ok;
    else
        close(fd);
    ok = ok && rename(tmp, path) == 0;
    if (!ok)
        unlink(tmp);
    free(tmp);
    return ok;
}

int sm_cache_store(const sm_cache_entry_t *entry, const void *data, size_t size)
{
    if (entry->path == NULL)
        return 0;
    entry_payload_t e = {entry, data, size};
    return write_atomic(entry->path, write_entry, &e);
}

static int write_text(FILE *f, const void *text)
{
    size_t len = strlen(text);
    return fwrite(text, 1, len, f) == len;
}

int sm_cache_write_text(const char *path, const char *text)
{
    return write_atomic(path, write_text, text);
}
