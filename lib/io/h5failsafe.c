/* An HDF5 file driver under which a failed write never reaches HDF5 (see
 * below), and the opening of files through it: every file sysmap writes. */
#include "h5failsafe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "h5util.h"

/* sec2 (plain POSIX) underneath, with one difference: once a write fails,
 * it and every later write of that open are dropped and reported to HDF5 as
 * done, and the error goes to the caller's flag. HDF5 1.10 cannot recover
 * from a failed write: its metadata cache then refuses every flush, H5Fclose
 * fails and the process crashes at exit. With this driver the file keeps
 * what reached it before the failure (as if the run had been killed there,
 * which the layout survives) and the call reports the error. Files are
 * plain HDF5 files: the driver writes nothing of its own. */

typedef struct {
    int *failed;     /* receives the errno of the first failed write */
    int *open_errno; /* receives the errno of a failed open (HDF5 may clobber errno) */
} failsafe_fapl_t;

typedef struct {
    H5FD_t pub; /* first: HDF5 casts between the two */
    H5FD_t *inner;
    int *failed;
} failsafe_t;

static H5FD_t *inner_of(const H5FD_t *f)
{
    return ((const failsafe_t *)f)->inner;
}

static void record_failure(const H5FD_t *f)
{
    int *failed = ((const failsafe_t *)f)->failed;
    if (failed != NULL && *failed == 0)
        *failed = errno != 0 ? errno : EIO;
    H5Eclear2(H5E_DEFAULT);
}

static int has_failed(const H5FD_t *f)
{
    const int *failed = ((const failsafe_t *)f)->failed;
    return failed != NULL && *failed != 0;
}

static void *failsafe_fapl_copy(const void *info)
{
    failsafe_fapl_t *copy = malloc(sizeof *copy);
    if (copy != NULL)
        memcpy(copy, info, sizeof *copy);
    return copy;
}

static herr_t failsafe_fapl_free(void *info)
{
    free(info);
    return 0;
}

static void *failsafe_fapl_get(H5FD_t *f)
{
    failsafe_fapl_t info = {((failsafe_t *)f)->failed, NULL};
    return failsafe_fapl_copy(&info);
}

static H5FD_t *failsafe_open(const char *name, unsigned flags, hid_t fapl, haddr_t maxaddr)
{
    const failsafe_fapl_t *info = H5Pget_driver_info(fapl);
    hid_t sec2 = H5Pcreate(H5P_FILE_ACCESS);
    H5FD_t *inner = sec2 >= 0 && H5Pset_fapl_sec2(sec2) >= 0
                        ? H5FDopen(name, flags, sec2, maxaddr)
                        : NULL;
    int err = errno;
    sm_h5_close(sec2);
    failsafe_t *f = inner != NULL ? calloc(1, sizeof *f) : NULL;
    if (f == NULL) {
        if (inner != NULL) {
            H5FDclose(inner);
            err = ENOMEM;
        }
        if (info != NULL && info->open_errno != NULL)
            *info->open_errno = err;
        errno = err;
        return NULL;
    }
    f->inner = inner;
    f->failed = info != NULL ? info->failed : NULL;
    return &f->pub;
}

static herr_t failsafe_close(H5FD_t *f)
{
    if (H5FDclose(inner_of(f)) < 0)
        record_failure(f);
    free(f);
    return 0;
}

static int failsafe_cmp(const H5FD_t *a, const H5FD_t *b)
{
    return H5FDcmp(inner_of(a), inner_of(b));
}

static herr_t failsafe_query(const H5FD_t *f, unsigned long *flags)
{
    if (f == NULL) { /* the class's own features: sec2's */
        *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_ACCUMULATE_METADATA |
                 H5FD_FEAT_DATA_SIEVE | H5FD_FEAT_AGGREGATE_SMALLDATA;
        return 0;
    }
    return H5FDquery(inner_of(f), flags) < 0 ? -1 : 0;
}

static haddr_t failsafe_get_eoa(const H5FD_t *f, H5FD_mem_t type)
{
    return H5FDget_eoa(inner_of(f), type);
}

static herr_t failsafe_set_eoa(H5FD_t *f, H5FD_mem_t type, haddr_t addr)
{
    return H5FDset_eoa(inner_of(f), type, addr);
}

static haddr_t failsafe_get_eof(const H5FD_t *f, H5FD_mem_t type)
{
    return H5FDget_eof(inner_of(f), type);
}

static herr_t failsafe_get_handle(H5FD_t *f, hid_t fapl, void **handle)
{
    return H5FDget_vfd_handle(inner_of(f), fapl, handle);
}

static herr_t failsafe_read(H5FD_t *f, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size,
                            void *buf)
{
    return H5FDread(inner_of(f), type, dxpl, addr, size, buf);
}

static herr_t failsafe_write(H5FD_t *f, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size,
                             const void *buf)
{
    errno = 0;
    if (!has_failed(f) && H5FDwrite(inner_of(f), type, dxpl, addr, size, buf) < 0)
        record_failure(f);
    return 0;
}

static herr_t failsafe_truncate(H5FD_t *f, hid_t dxpl, hbool_t closing)
{
    errno = 0;
    if (!has_failed(f) && H5FDtruncate(inner_of(f), dxpl, closing) < 0)
        record_failure(f);
    return 0;
}

static const H5FD_class_t failsafe_class = {
    .name = "sysmap-failsafe",
    .maxaddr = ((haddr_t)1 << 62) - 1,
    .fc_degree = H5F_CLOSE_WEAK,
    .fapl_size = sizeof(failsafe_fapl_t),
    .fapl_get = failsafe_fapl_get,
    .fapl_copy = failsafe_fapl_copy,
    .fapl_free = failsafe_fapl_free,
    .open = failsafe_open,
    .close = failsafe_close,
    .cmp = failsafe_cmp,
    .query = failsafe_query,
    .get_eoa = failsafe_get_eoa,
    .set_eoa = failsafe_set_eoa,
    .get_eof = failsafe_get_eof,
    .get_handle = failsafe_get_handle,
    .read = failsafe_read,
    .write = failsafe_write,
    .truncate = failsafe_truncate,
    .fl_map = H5FD_FLMAP_DICHOTOMY,
};

/* The driver's id, registered once (again if HDF5 was closed and reopened). */
static hid_t failsafe_driver(void)
{
    static hid_t id = H5I_INVALID_HID;
    if (id < 0 || H5Iis_valid(id) <= 0)
        id = H5FDregister(&failsafe_class);
    return id;
}

sm_status sm_h5_failsafe_open(const char *path, unsigned flags, int create,
                              sm_h5_failsafe_t *state, hid_t *file)
{
    *file = H5I_INVALID_HID;
    state->failed = state->open_errno = 0;
    failsafe_fapl_t info = {&state->failed, &state->open_errno};
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), driver = failsafe_driver();
    int ok = fapl >= 0 && driver >= 0 && H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) >= 0 &&
             H5Pset_file_locking(fapl, 0, 1) >= 0 && H5Pset_driver(fapl, driver, &info) >= 0;
    errno = 0;
    if (ok)
        *file = create ? H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)
                       : H5Fopen(path, flags, fapl);
    int err = state->open_errno != 0 ? state->open_errno : errno;
    sm_h5_close(fapl);
    if (*file >= 0)
        return SM_OK;
    if (!ok) /* property lists fail only when memory does */
        return sm_fail(SM_ENOMEM, "out of memory allocating the HDF5 settings of %s", path);
    if (create || state->open_errno != 0 || err == ENOENT || err == EACCES)
        return sm_fail(SM_EIO, "cannot %s %s: %s", create ? "create" : "open", path,
                       err ? strerror(err) : "HDF5 failed");
    return sm_fail(SM_EIO, "%s: not an HDF5 file or corrupt", path);
}
