/* Open-file-description locks are a Linux extension. */
#define _GNU_SOURCE
#include "fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "error.h"

char *sm_file_tmp_name(const char *path)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + sizeof ".tmp");
    if (tmp != NULL) {
        memcpy(tmp, path, n);
        memcpy(tmp + n, ".tmp", sizeof ".tmp");
    }
    return tmp;
}

sm_status sm_file_sync_rename(const char *tmp, const char *path)
{
    int fd = open(tmp, O_RDONLY);
    int ok = fd >= 0 && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    sm_status st = ok ? SM_OK : sm_fail(SM_EIO, "cannot sync %s: %s", tmp, strerror(errno));
    if (st == SM_OK && rename(tmp, path) != 0)
        st = sm_fail(SM_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    return st;
}

sm_status sm_file_commit(const char *tmp, const char *path)
{
    sm_status st = sm_file_sync_rename(tmp, path);
    if (st != SM_OK)
        unlink(tmp);
    return st;
}

sm_status sm_file_check_output(const char *path)
{
    if (path == NULL || path[0] == '\0')
        return sm_fail(SM_EINVAL, "the output path is empty");
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return sm_fail(SM_EIO, "%s is a directory; name a file in it", path);
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return sm_fail(SM_EIO, "%s is not a regular file", path);
    char *copy = strdup(path);
    if (copy == NULL)
        return SM_FAIL_NOMEM("the output path");
    const char *dir = dirname(copy);
    sm_status rc = SM_OK;
    if (stat(dir, &st) != 0)
        rc = sm_fail(SM_EIO, "cannot write %s: the folder %s: %s", path, dir, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        rc = sm_fail(SM_EIO, "cannot write %s: %s is not a folder", path, dir);
    else if (access(dir, W_OK | X_OK) != 0)
        rc = sm_fail(SM_EIO, "cannot write %s: the folder %s is not writable: %s", path, dir,
                     strerror(errno));
    free(copy);
    return rc;
}

/* An open-file-description lock belongs to one open file, so HDF5 opening
 * and closing the same file in this process leaves it alone (a classic
 * fcntl lock would be dropped), and it does not meet the flock() locks that
 * HDF5 readers such as h5py take. Other systems fall back to flock(). */
static int try_lock(int fd, int *busy)
{
#ifdef F_OFD_SETLK
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    int rc = fcntl(fd, F_OFD_SETLK, &fl);
#else
    int rc = flock(fd, LOCK_EX | LOCK_NB);
#endif
    *busy = rc != 0 && (errno == EAGAIN || errno == EACCES || errno == EWOULDBLOCK);
    /* A file system without these locks (ENOLCK, EINVAL) runs unlocked. */
    return rc == 0 || errno == ENOLCK || errno == EINVAL || errno == EOPNOTSUPP;
}

/* A writer that finished renames or removes the file after this open: the
 * lock then holds another file than the one now at path, so it is retried. */
static int still_at(int fd, const char *path)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

sm_status sm_file_lock(const char *path, int create, int *fd_out, int *busy, int *created)
{
    *fd_out = -1;
    *busy = *created = 0;
    for (int attempt = 0; attempt < 16; attempt++) {
        int fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && create) {
            fd = open(path, O_RDWR | O_CLOEXEC | O_CREAT | O_EXCL, 0666);
            *created = fd >= 0;
            if (fd < 0 && errno == EEXIST)
                continue; /* made by another process meanwhile: lock that one */
        }
        if (fd < 0)
            return sm_fail(SM_EIO, "cannot %s %s: %s", create ? "create" : "open", path,
                           strerror(errno));
        if (!try_lock(fd, busy)) {
            int err = errno;
            if (*created)
                unlink(path);
            close(fd);
            return *busy ? sm_fail(SM_EIO, "%s is locked by another process", path)
                         : sm_fail(SM_EIO, "cannot lock %s: %s", path, strerror(err));
        }
        if (still_at(fd, path)) {
            *fd_out = fd;
            return SM_OK;
        }
        close(fd);
        *created = 0;
    }
    return sm_fail(SM_EIO, "cannot lock %s: it keeps being replaced", path);
}

int sm_file_locked(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
#ifdef F_OFD_GETLK
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    int locked = fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
#else
    int locked = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
#endif
    close(fd);
    return locked;
}

int sm_file_is_empty(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && st.st_size == 0;
}

void sm_file_unlock(int fd)
{
    if (fd >= 0)
        close(fd);
}

sm_status sm_file_reserve(int fd, const char *path)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return sm_fail(SM_EIO, "cannot stat %s: %s", path, strerror(errno));
    int err = st.st_size > 0 ? posix_fallocate(fd, 0, st.st_size) : 0;
    /* File systems that cannot reserve space (EINVAL, EOPNOTSUPP) are written
     * without the reservation. */
    if (err == ENOSPC || err == EDQUOT || err == EFBIG)
        return sm_fail(SM_EIO, "cannot reserve %.3g MB for %s: %s", (double)st.st_size / 1e6,
                       path, strerror(err));
    return SM_OK;
}

sm_status sm_file_check_space(const char *path, size_t bytes)
{
    char *copy = strdup(path);
    if (copy == NULL)
        return SM_FAIL_NOMEM("the output path");
    struct statvfs fs;
    struct stat old;
    int known = statvfs(dirname(copy), &fs) == 0;
    free(copy);
    /* A file that path replaces gives its space back. */
    double avail = known ? (double)fs.f_bavail * (double)fs.f_frsize : 0.0;
    if (known && stat(path, &old) == 0 && S_ISREG(old.st_mode))
        avail += (double)old.st_size;
    if (!known || avail >= (double)bytes)
        return SM_OK;
    return sm_fail(SM_EIO, "cannot write %s: it needs about %.3g MB, its disk has %.3g MB free",
                   path, (double)bytes / 1e6, avail / 1e6);
}

sm_status sm_file_copy(const char *src, const char *dst)
{
    FILE *in = fopen(src, "rb");
    if (in == NULL)
        return sm_fail(SM_EIO, "cannot open %s: %s", src, strerror(errno));
    FILE *out = fopen(dst, "wb");
    if (out == NULL) {
        sm_status st = sm_fail(SM_EIO, "cannot create %s: %s", dst, strerror(errno));
        fclose(in);
        return st;
    }
    char buf[1 << 16];
    size_t n;
    int ok = 1;
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0)
        ok = fwrite(buf, 1, n, out) == n;
    ok = ok && !ferror(in);
    sm_status st = ok ? SM_OK : sm_fail(SM_EIO, "cannot copy %s to %s: %s", src, dst,
                                        strerror(errno));
    fclose(in);
    if (fclose(out) != 0 && st == SM_OK)
        st = sm_fail(SM_EIO, "cannot write %s: %s", dst, strerror(errno));
    return st;
}

/* "a FIFO (named pipe)", ...: what a non-regular file is, for messages. */
static const char *file_kind(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO (named pipe)";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

sm_status sm_file_open_regular(const char *path, const char *what, int *fd)
{
    *fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (*fd < 0)
        return sm_fail(SM_EIO, "cannot open %s %s: %s", what, path, strerror(errno));
    struct stat st;
    sm_status rc = SM_OK;
    if (fstat(*fd, &st) != 0)
        rc = sm_fail(SM_EIO, "cannot open %s %s: %s", what, path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = sm_fail(SM_EIO, "%s %s is %s, not a regular file", what, path,
                     file_kind(st.st_mode));
    if (rc != SM_OK) {
        close(*fd);
        *fd = -1;
    }
    return rc;
}

sm_status sm_file_check_regular(const char *path, const char *what)
{
    int fd;
    sm_status rc = sm_file_open_regular(path, what, &fd);
    if (fd >= 0)
        close(fd);
    return rc;
}
