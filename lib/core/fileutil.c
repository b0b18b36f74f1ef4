#include "fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
