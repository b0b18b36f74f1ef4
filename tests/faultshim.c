/* Fault injection for the hostile-conditions tests, preloaded
 * (LD_PRELOAD) into `sysmap run`. Every setting is an environment variable:
 *
 *   SM_FAULT_FILES       which files' writes count: paths that contain it
 *                        (default ".partial": the run file being written,
 *                        and the file that becomes it)
 *   SM_FAULT_KILL_WRITE  K: the K-th such write (1-based) ends the process
 *                        with _exit(137) before it is made, as SIGKILL would
 *   SM_FAULT_TORN        with KILL_WRITE: that write is made half, then the
 *                        process ends (a write cut at a page boundary)
 *   SM_FAULT_FAIL_WRITE  K: that write and every later one fail with ENOSPC,
 *                        as on a disk that filled up
 *   SM_FAULT_FAIL_ALLOC  K: the K-th malloc, calloc, realloc, strdup or
 *                        strndup from the first call of sm_run_create on,
 *                        made by sysmap's own code (the program and the
 *                        library, not HDF5 or libc inside them), returns
 *                        NULL (once)
 *   SM_FAULT_TRACE       set: the stack of the failed allocation on stderr
 *   SM_FAULT_REPORT      a file that receives, at exit, "writes N allocs M":
 *                        how many there were (the range of K to try)
 *
 * Writes go through write, pwrite and their 64-bit and vector forms; the
 * path of a descriptor is read from /proc/self/fd. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sysmap/run.h"

static long env_long(const char *name)
{
    const char *v = getenv(name);
    return v != NULL ? strtol(v, NULL, 10) : 0;
}

/* ---- writes ---- */

static long writes_seen;

static int counted_fd(int fd)
{
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0)
        return 0;
    path[n] = '\0';
    const char *files = getenv("SM_FAULT_FILES");
    return strstr(path, files != NULL ? files : ".partial") != NULL;
}

/* What the next write of `count` bytes to fd does: 0 go on, 1 fail, or it
 * ends the process (after *half bytes when torn). */
static int before_write(int fd, size_t count, size_t *half)
{
    *half = 0;
    if (!counted_fd(fd))
        return 0;
    long k = ++writes_seen, kill_at = env_long("SM_FAULT_KILL_WRITE");
    long fail_from = env_long("SM_FAULT_FAIL_WRITE");
    if (kill_at > 0 && k == kill_at) {
        if (getenv("SM_FAULT_TORN") == NULL || count < 2)
            _exit(137);
        *half = count / 2;
        return 2;
    }
    return fail_from > 0 && k >= fail_from;
}

/* The function this one hides: the sanitizer's interceptor when its runtime
 * is loaded (found by the loader, since dlsym itself allocates while the
 * runtime starts), else the next definition. */
#define INTERCEPTOR(ret, name, params) extern ret __interceptor_##name params __attribute__((weak))
INTERCEPTOR(ssize_t, write, (int, const void *, size_t));
INTERCEPTOR(ssize_t, pwrite, (int, const void *, size_t, off_t));
INTERCEPTOR(ssize_t, writev, (int, const struct iovec *, int));
INTERCEPTOR(ssize_t, pwritev, (int, const struct iovec *, int, off_t));
INTERCEPTOR(void *, malloc, (size_t));
INTERCEPTOR(void *, calloc, (size_t, size_t));
INTERCEPTOR(void *, realloc, (void *, size_t));
#define REAL(name)                                                                      \
    (__interceptor_##name != NULL ? __interceptor_##name                                  \
                                  : (__typeof__(&name))dlsym(RTLD_NEXT, #name))

ssize_t write(int fd, const void *buf, size_t count)
{
    size_t half;
    int what = before_write(fd, count, &half);
    if (what == 1)
        return errno = ENOSPC, -1;
    if (what == 2) {
        REAL(write)(fd, buf, half);
        _exit(137);
    }
    return REAL(write)(fd, buf, count);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset)
{
    size_t half;
    int what = before_write(fd, count, &half);
    if (what == 1)
        return errno = ENOSPC, -1;
    if (what == 2) {
        REAL(pwrite)(fd, buf, half, offset);
        _exit(137);
    }
    return REAL(pwrite)(fd, buf, count, offset);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off_t offset)
{
    return pwrite(fd, buf, count, offset);
}

static size_t iov_bytes(const struct iovec *iov, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    return total;
}

/* Vector writes are cut at the first vector for a torn write. */
ssize_t writev(int fd, const struct iovec *iov, int n)
{
    size_t half;
    int what = before_write(fd, iov_bytes(iov, n), &half);
    if (what == 1)
        return errno = ENOSPC, -1;
    if (what == 2) {
        REAL(writev)(fd, iov, 1);
        _exit(137);
    }
    return REAL(writev)(fd, iov, n);
}

ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t offset)
{
    size_t half;
    int what = before_write(fd, iov_bytes(iov, n), &half);
    if (what == 1)
        return errno = ENOSPC, -1;
    if (what == 2) {
        REAL(pwritev)(fd, iov, 1, offset);
        _exit(137);
    }
    return REAL(pwritev)(fd, iov, n, offset);
}

/* ---- allocations ---- */

static int armed;
static long allocs_seen;
static int inside; /* dlsym may allocate: not counted (no TLS: it may not be set up yet) */

/* The code of the program and of libsysmap: whose allocations count. */
enum { MAX_RANGES = 16 };
static uintptr_t range_lo[MAX_RANGES], range_hi[MAX_RANGES];
static int n_ranges;

static int add_ranges(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    int ours = info->dlpi_name[0] == '\0' || strstr(info->dlpi_name, "libsysmap") != NULL;
    for (int i = 0; ours && i < info->dlpi_phnum && n_ranges < MAX_RANGES; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            range_lo[n_ranges] = info->dlpi_addr + ph->p_vaddr;
            range_hi[n_ranges++] = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
        }
    }
    return 0;
}

static int ours(const void *caller)
{
    uintptr_t a = (uintptr_t)caller;
    for (int i = 0; i < n_ranges; i++)
        if (a >= range_lo[i] && a < range_hi[i])
            return 1;
    return 0;
}

static int fail_alloc(const void *caller)
{
    if (!armed || inside || !ours(caller))
        return 0;
    if (++allocs_seen != env_long("SM_FAULT_FAIL_ALLOC"))
        return 0;
    if (getenv("SM_FAULT_TRACE") != NULL) {
        void *frames[32];
        inside++;
        backtrace_symbols_fd(frames, backtrace(frames, 32), 2);
        inside--;
    }
    return 1;
}

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);

/* dlsym's own allocations while the real functions are looked up come from
 * here; they are few, small and never freed by the program. */
static char bootstrap[1 << 16];
static size_t bootstrap_used;

static void *from_bootstrap(size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (bootstrap_used + n > sizeof bootstrap)
        return NULL;
    void *p = bootstrap + bootstrap_used;
    bootstrap_used += n;
    return p;
}

static void resolve(void)
{
    if (real_malloc != NULL)
        return;
    inside++;
    real_malloc = REAL(malloc);
    real_calloc = REAL(calloc);
    real_realloc = REAL(realloc);
    inside--;
}

void *malloc(size_t n)
{
    if (real_malloc == NULL && inside)
        return from_bootstrap(n);
    resolve();
    return fail_alloc(__builtin_return_address(0)) ? (errno = ENOMEM, NULL) : real_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    if (real_calloc == NULL && inside)
        return from_bootstrap(n * size); /* zeroed: static storage */
    resolve();
    return fail_alloc(__builtin_return_address(0)) ? (errno = ENOMEM, NULL)
                                                   : real_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    resolve();
    return fail_alloc(__builtin_return_address(0)) ? (errno = ENOMEM, NULL)
                                                   : real_realloc(p, n);
}

/* libc's own strdup calls malloc from libc: these count as their caller's. */
static char *copy_string(const void *caller, const char *s, size_t n)
{
    resolve();
    if (fail_alloc(caller))
        return errno = ENOMEM, NULL;
    char *copy = real_malloc(n + 1);
    if (copy != NULL) {
        memcpy(copy, s, n);
        copy[n] = '\0';
    }
    return copy;
}

char *strdup(const char *s)
{
    return copy_string(__builtin_return_address(0), s, strlen(s));
}

char *strndup(const char *s, size_t n)
{
    return copy_string(__builtin_return_address(0), s, strnlen(s, n));
}

sm_status sm_run_create(sm_run_t **out, const sm_data_t *data, const sm_run_config_t *cfg)
{
    if (!armed)
        dl_iterate_phdr(add_ranges, NULL);
    armed = 1;
    sm_status (*next)(sm_run_t **, const sm_data_t *, const sm_run_config_t *) =
        (__typeof__(&sm_run_create))dlsym(RTLD_NEXT, "sm_run_create");
    return next(out, data, cfg);
}

__attribute__((destructor)) static void report(void)
{
    const char *path = getenv("SM_FAULT_REPORT");
    if (path == NULL)
        return;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return;
    char line[96];
    int n = snprintf(line, sizeof line, "writes %ld allocs %ld\n", writes_seen, allocs_seen);
    if (n > 0)
        REAL(write)(fd, line, (size_t)n);
    close(fd);
}
