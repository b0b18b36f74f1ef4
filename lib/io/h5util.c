#include "h5util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fileutil.h"
#include "h5guard.h"
#include "sysmap/sizes.h"

void sm_h5_quiet_begin(sm_h5_quiet_t *saved)
{
    if (H5Eget_auto2(H5E_DEFAULT, &saved->func, &saved->data) < 0) {
        saved->func = NULL;
        saved->data = NULL;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void sm_h5_quiet_end(const sm_h5_quiet_t *saved)
{
    H5Eset_auto2(H5E_DEFAULT, saved->func, saved->data);
}

void sm_h5_close(hid_t id)
{
    if (id < 0)
        return;
    switch (H5Iget_type(id)) {
    case H5I_FILE: H5Fclose(id); break;
    case H5I_GROUP: H5Gclose(id); break;
    case H5I_DATASET: H5Dclose(id); break;
    case H5I_ATTR: H5Aclose(id); break;
    case H5I_DATASPACE: H5Sclose(id); break;
    case H5I_DATATYPE: H5Tclose(id); break;
    case H5I_GENPROP_LST: H5Pclose(id); break;
    default: break;
    }
}

/* The innermost entry of HDF5's error stack says what went wrong
 * ("file signature not found", "truncated file: eof = ..."). Call it
 * right after the failing call: every HDF5 API call clears the stack. */
static herr_t keep_innermost(unsigned n, const H5E_error2_t *err, void *data)
{
    if (n == 0)
        snprintf((char *)data, 256, "%s", err->desc ? err->desc : "");
    return 0;
}

static const char *h5_error_detail(char *buf)
{
    buf[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_innermost, buf);
    return buf;
}

/* STRONG closing: H5Fclose closes every object still open in the file,
 * so an early return can never leave the file open. No file lock: a run
 * file is written by one run, and a person peeking at it with h5py while
 * the run goes on (which takes HDF5's lock) must not make the next append
 * fail; such a reader sees the file as of the last complete flush or
 * retries. */
static hid_t file_access_plist(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0 && (H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0 ||
                      H5Pset_file_locking(fapl, 0, 1) < 0)) {
        H5Pclose(fapl);
        return H5I_INVALID_HID;
    }
    return fapl;
}

sm_status sm_h5_open_file(const char *path, unsigned flags, hid_t *out)
{
    sm_status st = sm_file_check_regular(path, "HDF5 file");
    if (st != SM_OK)
        return st;
    /* Files only read go through the guard; files this library writes or
     * resumes keep HDF5's own driver. */
    hid_t fapl = file_access_plist();
    if (fapl >= 0 && flags == H5F_ACC_RDONLY && H5Pset_driver(fapl, sm_h5_guard_driver(), NULL) < 0) {
        H5Pclose(fapl);
        fapl = H5I_INVALID_HID;
    }
    if (fapl < 0)
        return sm_fail(SM_EIO, "cannot open %s: HDF5 property list failed", path);
    hid_t file = H5Fopen(path, flags, fapl);
    char detail[256];
    h5_error_detail(detail);
    H5Pclose(fapl);
    if (file < 0)
        return sm_fail(SM_EIO, "%s: not an HDF5 file or corrupt (%s)", path, detail);
    *out = file;
    return SM_OK;
}

sm_status sm_h5_create_file(const char *path, hid_t *out)
{
    hid_t fapl = file_access_plist();
    if (fapl < 0)
        return sm_fail(SM_EIO, "cannot create %s: HDF5 property list failed", path);
    errno = 0;
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    int err = errno;
    char detail[256];
    h5_error_detail(detail);
    H5Pclose(fapl);
    if (file < 0)
        return sm_fail(SM_EIO, "cannot create %s: %s", path, err ? strerror(err) : detail);
    *out = file;
    return SM_OK;
}

sm_status sm_h5_exists(hid_t loc, const char *name, const char *kind, int *exists)
{
    htri_t found = strcmp(kind, "attribute") == 0 ? H5Aexists(loc, name)
                                                  : H5Lexists(loc, name, H5P_DEFAULT);
    char detail[256];
    *exists = found > 0;
    if (found < 0)
        return sm_fail(SM_EIO, "cannot look up %s '%s': the file is corrupt (%s)", kind, name,
                       h5_error_detail(detail));
    return SM_OK;
}

static sm_status open_link(hid_t loc, const char *name, const char *kind, H5O_type_t want,
                           hid_t *out)
{
    H5O_info_t info;
    char detail[256];
    int exists;
    sm_status st = sm_h5_exists(loc, name, kind, &exists);
    if (st != SM_OK)
        return st;
    if (!exists)
        return sm_fail(SM_EFORMAT, "missing %s '%s'", kind, name);
    if (H5Oget_info_by_name(loc, name, &info, H5P_DEFAULT) < 0)
        return sm_fail(SM_EIO, "cannot read %s '%s': the file is corrupt (%s)", kind, name,
                       h5_error_detail(detail));
    if (info.type != want)
        return sm_fail(SM_EFORMAT, "'%s' is not a %s", name, kind);
    hid_t id = want == H5O_TYPE_DATASET ? H5Dopen2(loc, name, H5P_DEFAULT)
                                        : H5Gopen2(loc, name, H5P_DEFAULT);
    if (id < 0)
        return sm_fail(SM_EIO, "cannot open %s '%s': the file is corrupt (%s)", kind, name,
                       h5_error_detail(detail));
    *out = id;
    return SM_OK;
}

sm_status sm_h5_open_dataset(hid_t loc, const char *name, hid_t *out)
{
    return open_link(loc, name, "dataset", H5O_TYPE_DATASET, out);
}

sm_status sm_h5_open_group(hid_t loc, const char *name, hid_t *out)
{
    return open_link(loc, name, "group", H5O_TYPE_GROUP, out);
}

int sm_h5_has_attr(hid_t loc, const char *name)
{
    return H5Aexists(loc, name) > 0;
}

sm_status sm_h5_open_attr(hid_t loc, const char *name, hid_t *out)
{
    char detail[256];
    int exists;
    sm_status st = sm_h5_exists(loc, name, "attribute", &exists);
    if (st != SM_OK)
        return st;
    if (!exists)
        return sm_fail(SM_EFORMAT, "missing attribute '%s'", name);
    hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
    if (attr < 0)
        return sm_fail(SM_EIO, "cannot open attribute '%s': the file is corrupt (%s)", name,
                       h5_error_detail(detail));
    *out = attr;
    return SM_OK;
}

static int is_attr(hid_t obj)
{
    return H5Iget_type(obj) == H5I_ATTR;
}

static hid_t obj_type(hid_t obj)
{
    return is_attr(obj) ? H5Aget_type(obj) : H5Dget_type(obj);
}

static hid_t obj_space(hid_t obj)
{
    return is_attr(obj) ? H5Aget_space(obj) : H5Dget_space(obj);
}

static herr_t obj_read(hid_t obj, hid_t mtype, void *buf)
{
    return is_attr(obj) ? H5Aread(obj, mtype, buf)
                        : H5Dread(obj, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
}

const char *sm_h5_format_shape(char *buf, size_t len, int rank, const hsize_t *dims)
{
    size_t used = (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < rank && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%llu", i ? ", " : "",
                                 (unsigned long long)dims[i]);
    if (used < len)
        snprintf(buf + used, len - used, rank == 1 ? ",)" : ")");
    return buf;
}

sm_status sm_h5_shape(hid_t obj, const char *name, int rank, hsize_t *dims)
{
    hid_t space = obj_space(obj);
    H5S_class_t cls = space < 0 ? H5S_NO_CLASS : H5Sget_simple_extent_type(space);
    int found = cls == H5S_NULL || cls == H5S_NO_CLASS ? -1 : H5Sget_simple_extent_ndims(space);
    hsize_t got[H5S_MAX_RANK];
    if (found > 0 && H5Sget_simple_extent_dims(space, got, NULL) < 0)
        found = -1;
    sm_h5_close(space);
    if (found < 0)
        return sm_fail(SM_EFORMAT, "%s: empty or unreadable extent", name);
    if (found != rank) {
        char shape[128];
        sm_h5_format_shape(shape, sizeof shape, found, got);
        if (rank == 0)
            return sm_fail(SM_EFORMAT, "%s: expected a scalar, found shape %s", name, shape);
        return sm_fail(SM_EFORMAT, "%s: expected %d dimension%s, found shape %s", name, rank,
                       rank == 1 ? "" : "s", shape);
    }
    memcpy(dims, got, (size_t)rank * sizeof *dims);
    return SM_OK;
}

/* Deflate, HDF5's strongest compression, shrinks data at most about 1032
 * times (constant data); no filter makes data larger than this bound. */
#define SM_H5_MAX_RATIO 1100
/* Chunks larger than their dataset are allowed up to this size (64 MiB). */
#define SM_H5_CHUNK_MAX (64.0 * 1024 * 1024)

/* Bytes of one chunk of dataset creation list dcpl (0 when not chunked),
 * in elements of elem bytes. */
static double chunk_bytes(hid_t dcpl, size_t elem)
{
    hsize_t dims[H5S_MAX_RANK];
    int rank = H5Pget_layout(dcpl) == H5D_CHUNKED ? H5Pget_chunk(dcpl, H5S_MAX_RANK, dims) : 0;
    double bytes = rank > 0 ? (double)elem : 0;
    for (int k = 0; k < rank; k++)
        bytes *= (double)dims[k];
    return bytes;
}

sm_status sm_h5_check_storage(hid_t dset, const char *name, size_t elem_size)
{
    hid_t space = H5Dget_space(dset), dcpl = H5Dget_create_plist(dset), type = H5Dget_type(dset);
    hssize_t points = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
    int filters = dcpl < 0 ? -1 : H5Pget_nfilters(dcpl);
    size_t file_elem = type < 0 ? 0 : H5Tget_size(type);
    double chunk = dcpl < 0 || file_elem == 0 ? 0 : chunk_bytes(dcpl, file_elem);
    hsize_t stored = H5Dget_storage_size(dset);
    sm_h5_close(space);
    sm_h5_close(dcpl);
    sm_h5_close(type);
    if (points < 0 || filters < 0 || file_elem == 0)
        return sm_fail(SM_EFORMAT, "%s: unreadable extent, type or layout", name);
    /* HDF5 allocates a whole chunk to read one: a chunk far larger than the
     * data (possible only for datasets made to grow) is a damaged layout. */
    double data = (double)points * (double)file_elem;
    if (chunk > data && chunk > SM_H5_CHUNK_MAX)
        return sm_fail(SM_EFORMAT, "%s: chunks of %.0f bytes for %.0f bytes of values: a "
                                   "damaged layout",
                       name, chunk, data);
    size_t bytes;
    sm_status st = sm_size_bytes((size_t)points, elem_size, name, &bytes);
    if (st != SM_OK)
        return st;
    /* In the file's own type, so a wrong type is still named as one. */
    if (data > (double)stored * (filters > 0 ? SM_H5_MAX_RATIO : 1))
        return sm_fail(SM_EFORMAT, "%s: %lld values need %.0f bytes, but the file stores %llu "
                                   "bytes of them%s (truncated, never written or damaged)",
                       name, (long long)points, data, (unsigned long long)stored,
                       filters > 0 ? " compressed" : "");
    return SM_OK;
}

/* For messages: "float64", "int32", "uint8", "string", ... */
static const char *type_name(hid_t type, char *buf, size_t len)
{
    size_t bits = H5Tget_size(type) * 8;
    switch (H5Tget_class(type)) {
    case H5T_INTEGER:
        snprintf(buf, len, "%sint%zu", H5Tget_sign(type) == H5T_SGN_NONE ? "u" : "", bits);
        break;
    case H5T_FLOAT: snprintf(buf, len, "float%zu", bits); break;
    case H5T_STRING: snprintf(buf, len, "string"); break;
    case H5T_ENUM: snprintf(buf, len, "enum%zu", bits); break;
    case H5T_COMPOUND: snprintf(buf, len, "compound"); break;
    case H5T_ARRAY: snprintf(buf, len, "array"); break;
    case H5T_VLEN: snprintf(buf, len, "variable-length sequence"); break;
    default: snprintf(buf, len, "an unsupported type"); break;
    }
    return buf;
}

static int is_float64(hid_t t)
{
    return H5Tget_class(t) == H5T_FLOAT && (H5Tequal(t, H5T_IEEE_F64LE) > 0 ||
                                            H5Tequal(t, H5T_IEEE_F64BE) > 0);
}

static int is_integer(hid_t t)
{
    return H5Tget_class(t) == H5T_INTEGER;
}

static int is_unsigned(hid_t t)
{
    return is_integer(t) && H5Tget_sign(t) == H5T_SGN_NONE;
}

/* 8-bit unsigned integers, and 1-byte enums such as h5py's bool. */
static int is_byte(hid_t t)
{
    return H5Tget_size(t) == 1 && (is_unsigned(t) || H5Tget_class(t) == H5T_ENUM);
}

/* Filters that h5py and its plugins write but libhdf5 itself lacks. */
static const char *filter_label(H5Z_filter_t id, const char *stored)
{
    static const struct {
        H5Z_filter_t id;
        const char *name;
    } known[] = {{307, "bzip2"},      {32000, "LZF"},  {32001, "Blosc"}, {32004, "LZ4"},
                 {32008, "bitshuffle"}, {32013, "ZFP"}, {32015, "Zstandard"}, {32017, "SZ"}};
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
        if (known[k].id == id)
            return known[k].name;
    return stored[0] != '\0' ? stored : "(unnamed)";
}

/* SM_EFORMAT naming the first filter of dataset obj that this HDF5 cannot
 * apply; SM_OK when it can apply them all (or obj is an attribute). */
static sm_status check_filters(hid_t obj, const char *name)
{
    if (is_attr(obj))
        return SM_OK;
    hid_t dcpl = H5Dget_create_plist(obj);
    int n = dcpl < 0 ? 0 : H5Pget_nfilters(dcpl);
    sm_status st = SM_OK;
    for (int i = 0; i < n && st == SM_OK; i++) {
        unsigned flags = 0, config = 0;
        size_t n_values = 0;
        char stored[64] = "";
        H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)i, &flags, &n_values, NULL,
                                         sizeof stored, stored, &config);
        if (id >= 0 && H5Zfilter_avail(id) <= 0)
            st = sm_fail(SM_EFORMAT, "dataset '%s' uses filter %s (id %d), which this HDF5 "
                                     "library lacks",
                         name, filter_label(id, stored), (int)id);
    }
    sm_h5_close(dcpl);
    return st;
}

/* Why a read failed: a filter this HDF5 lacks, else HDF5's innermost
 * reason (a check of the guard, a truncated file, ...). */
static sm_status read_failure(hid_t obj, const char *name)
{
    char detail[256];
    h5_error_detail(detail); /* first: any HDF5 call clears the stack */
    sm_status st = check_filters(obj, name);
    if (st != SM_OK)
        return st;
    return sm_fail(SM_EIO, "%s: read failed, the file is corrupt (%s)", name,
                   detail[0] ? detail : "no detail from HDF5");
}

/* SM_EFORMAT naming the stored type when ok() refuses it. */
static sm_status check_type(hid_t type, const char *name, int (*ok)(hid_t),
                            const char *expected)
{
    if (ok(type))
        return SM_OK;
    char found[64];
    type_name(type, found, sizeof found);
    return sm_fail(SM_EFORMAT, "%s: expected %s, found %s", name, expected, found);
}

/* Checks the stored type with ok() and reads the whole object as mtype,
 * or as the stored type itself when mtype < 0 (bytes need no conversion). */
static sm_status read_checked(hid_t obj, const char *name, int (*ok)(hid_t),
                              const char *expected, hid_t mtype, void *buf)
{
    hid_t type = obj_type(obj);
    if (type < 0)
        return sm_fail(SM_EFORMAT, "%s: unreadable type", name);
    sm_status st = check_type(type, name, ok, expected);
    if (st == SM_OK && obj_read(obj, mtype < 0 ? type : mtype, buf) < 0)
        st = read_failure(obj, name);
    H5Tclose(type);
    return st;
}

sm_status sm_h5_read_f64(hid_t obj, const char *name, double *buf)
{
    return read_checked(obj, name, is_float64, "float64", H5T_NATIVE_DOUBLE, buf);
}

sm_status sm_h5_read_f64_row(hid_t dset, const char *name, size_t row, size_t first, size_t n,
                             double *buf)
{
    hid_t type = H5Dget_type(dset);
    if (type < 0)
        return sm_fail(SM_EFORMAT, "%s: unreadable type", name);
    sm_status st = check_type(type, name, is_float64, "float64");
    H5Tclose(type);
    if (st != SM_OK)
        return st;
    hsize_t start[2] = {row, first}, count[2] = {1, n}, dims[1] = {n};
    hid_t file_space = H5Dget_space(dset), mem_space = H5Screate_simple(1, dims, NULL);
    herr_t rc = file_space < 0 || mem_space < 0 ? -1
                : H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, NULL, count, NULL);
    if (rc >= 0)
        rc = H5Dread(dset, H5T_NATIVE_DOUBLE, mem_space, file_space, H5P_DEFAULT, buf);
    sm_h5_close(mem_space);
    sm_h5_close(file_space);
    return rc < 0 ? read_failure(dset, name) : SM_OK;
}

sm_status sm_h5_read_int(hid_t obj, const char *name, int64_t *buf)
{
    return read_checked(obj, name, is_integer, "an integer", H5T_NATIVE_INT64, buf);
}

sm_status sm_h5_read_u64(hid_t obj, const char *name, uint64_t *buf)
{
    return read_checked(obj, name, is_unsigned, "an unsigned integer", H5T_NATIVE_UINT64, buf);
}

sm_status sm_h5_read_bytes(hid_t obj, const char *name, uint8_t *buf)
{
    return read_checked(obj, name, is_byte, "uint8 or bool", H5I_INVALID_HID, buf);
}

static void free_strings(char **s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(s[i]);
        s[i] = NULL;
    }
}

/* Copies n strings out of raw, which holds n char pointers (variable
 * length) or n fixed-size records of size bytes (fixed length). */
static sm_status copy_strings(const char *name, const void *raw, int variable, size_t size,
                              size_t n, char **out)
{
    for (size_t i = 0; i < n; i++) {
        const char *s = variable ? ((char *const *)raw)[i] : (const char *)raw + i * size;
        out[i] = variable ? strdup(s ? s : "") : strndup(s, size);
        if (out[i] == NULL) {
            free_strings(out, i);
            return SM_FAIL_NOMEM(name);
        }
    }
    return SM_OK;
}

sm_status sm_h5_read_strings(hid_t obj, const char *name, size_t n, char **out)
{
    char found[64];
    hid_t type = obj_type(obj), space = obj_space(obj), mtype = H5I_INVALID_HID;
    void *raw = NULL;
    sm_status st = SM_OK;
    if (type < 0 || space < 0) {
        st = sm_fail(SM_EFORMAT, "%s: unreadable type or extent", name);
        goto done;
    }
    if (H5Tget_class(type) != H5T_STRING) {
        st = sm_fail(SM_EFORMAT, "%s: expected strings, found %s", name,
                     type_name(type, found, sizeof found));
        goto done;
    }
    hssize_t count = H5Sget_simple_extent_npoints(space);
    if (count < 0 || (size_t)count != n) {
        st = sm_fail(SM_EFORMAT, "%s: expected %zu strings, found %lld", name, n,
                     (long long)count);
        goto done;
    }
    int variable = H5Tis_variable_str(type) > 0;
    size_t size = variable ? sizeof(char *) : H5Tget_size(type);
    mtype = H5Tcopy(variable ? H5T_C_S1 : type);
    raw = calloc(n ? n : 1, size);
    if (raw == NULL) {
        st = SM_FAIL_NOMEM(name);
        goto done;
    }
    if (mtype < 0 || (variable && (H5Tset_size(mtype, H5T_VARIABLE) < 0 ||
                                   H5Tset_cset(mtype, H5Tget_cset(type)) < 0))) {
        st = sm_fail(SM_EIO, "%s: cannot make its memory type", name);
        goto done;
    }
    if (obj_read(obj, mtype, raw) < 0) {
        st = read_failure(obj, name);
        goto done;
    }
    st = copy_strings(name, raw, variable, size, n, out);
    if (variable)
        H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, raw); /* H5Treclaim is 1.12+ */
done:
    free(raw);
    sm_h5_close(mtype);
    sm_h5_close(space);
    sm_h5_close(type);
    return st;
}

typedef enum { READ_F64, READ_INT, READ_U64, READ_BYTES, READ_STRING } read_kind;

/* Opens scalar attribute name of loc and reads it as kind. */
static sm_status get_attr(hid_t loc, const char *name, read_kind kind, void *buf)
{
    hid_t attr = H5I_INVALID_HID;
    sm_status st = sm_h5_open_attr(loc, name, &attr);
    if (st != SM_OK)
        return st;
    hsize_t none[1];
    st = sm_h5_shape(attr, name, 0, none);
    if (st == SM_OK) {
        switch (kind) {
        case READ_F64: st = sm_h5_read_f64(attr, name, buf); break;
        case READ_INT: st = sm_h5_read_int(attr, name, buf); break;
        case READ_U64: st = sm_h5_read_u64(attr, name, buf); break;
        case READ_BYTES: st = sm_h5_read_bytes(attr, name, buf); break;
        case READ_STRING: st = sm_h5_read_strings(attr, name, 1, buf); break;
        }
    }
    H5Aclose(attr);
    return st;
}

sm_status sm_h5_get_attr_int(hid_t loc, const char *name, int64_t *value)
{
    return get_attr(loc, name, READ_INT, value);
}

sm_status sm_h5_get_attr_u64(hid_t loc, const char *name, uint64_t *value)
{
    return get_attr(loc, name, READ_U64, value);
}

sm_status sm_h5_get_attr_f64(hid_t loc, const char *name, double *value)
{
    return get_attr(loc, name, READ_F64, value);
}

sm_status sm_h5_get_attr_bool(hid_t loc, const char *name, int *value)
{
    uint8_t byte;
    sm_status st = get_attr(loc, name, READ_BYTES, &byte);
    if (st == SM_OK)
        *value = byte != 0;
    return st;
}

sm_status sm_h5_get_attr_str(hid_t loc, const char *name, char **value)
{
    return get_attr(loc, name, READ_STRING, value);
}

hid_t sm_h5_str_type(void)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    if (type >= 0 && (H5Tset_size(type, H5T_VARIABLE) < 0 ||
                      H5Tset_cset(type, H5T_CSET_UTF8) < 0)) {
        H5Tclose(type);
        return H5I_INVALID_HID;
    }
    return type;
}

hid_t sm_h5_bool_type(void)
{
    hid_t type = H5Tenum_create(H5T_NATIVE_INT8);
    int8_t no = 0, yes = 1;
    if (type >= 0 && (H5Tenum_insert(type, "FALSE", &no) < 0 ||
                      H5Tenum_insert(type, "TRUE", &yes) < 0)) {
        H5Tclose(type);
        return H5I_INVALID_HID;
    }
    return type;
}

static hid_t make_space(int rank, const hsize_t *dims)
{
    return rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, NULL);
}

/* An existing attribute of the same type and extent is overwritten in
 * place, which rewrites less metadata than deleting and recreating it. */
static hid_t reusable_attr(hid_t loc, const char *name, hid_t ftype, hid_t space)
{
    if (!sm_h5_has_attr(loc, name))
        return H5I_INVALID_HID;
    hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t type = attr < 0 ? H5I_INVALID_HID : H5Aget_type(attr);
    hid_t old_space = attr < 0 ? H5I_INVALID_HID : H5Aget_space(attr);
    int same = type >= 0 && old_space >= 0 && H5Tequal(type, ftype) > 0 &&
               H5Sextent_equal(space, old_space) > 0;
    sm_h5_close(type);
    sm_h5_close(old_space);
    if (!same) {
        sm_h5_close(attr);
        H5Adelete(loc, name);
        return H5I_INVALID_HID;
    }
    return attr;
}

sm_status sm_h5_set_attr(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank,
                         const hsize_t *dims, const void *buf)
{
    hid_t space = make_space(rank, dims);
    hid_t attr = space < 0 || ftype < 0 ? H5I_INVALID_HID : reusable_attr(loc, name, ftype, space);
    if (attr < 0 && space >= 0 && ftype >= 0)
        attr = H5Acreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    int ok = attr >= 0 && mtype >= 0 && H5Awrite(attr, mtype, buf) >= 0;
    sm_h5_close(attr);
    sm_h5_close(space);
    return ok ? SM_OK : sm_fail(SM_EIO, "cannot write attribute '%s'", name);
}

sm_status sm_h5_set_attr_int(hid_t loc, const char *name, int64_t value)
{
    return sm_h5_set_attr(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, 0, NULL, &value);
}

sm_status sm_h5_set_attr_u64(hid_t loc, const char *name, uint64_t value)
{
    return sm_h5_set_attr(loc, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, 0, NULL, &value);
}

sm_status sm_h5_set_attr_f64(hid_t loc, const char *name, double value)
{
    return sm_h5_set_attr(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, NULL, &value);
}

sm_status sm_h5_set_attr_bool(hid_t loc, const char *name, int value)
{
    hid_t type = sm_h5_bool_type();
    int8_t byte = value != 0;
    sm_status st = sm_h5_set_attr(loc, name, type, type, 0, NULL, &byte);
    sm_h5_close(type);
    return st;
}

sm_status sm_h5_set_attr_str(hid_t loc, const char *name, const char *value)
{
    hid_t type = sm_h5_str_type();
    sm_status st = sm_h5_set_attr(loc, name, type, type, 0, NULL, &value);
    sm_h5_close(type);
    return st;
}

sm_status sm_h5_write_dataset(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank,
                              const hsize_t *dims, const void *buf)
{
    if (H5Lexists(loc, name, H5P_DEFAULT) > 0 && H5Ldelete(loc, name, H5P_DEFAULT) < 0)
        return sm_fail(SM_EIO, "cannot replace dataset '%s'", name);
    hid_t space = make_space(rank, dims);
    hid_t dset = space < 0 || ftype < 0
                     ? H5I_INVALID_HID
                     : H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int ok = dset >= 0 && H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0;
    sm_h5_close(dset);
    sm_h5_close(space);
    return ok ? SM_OK : sm_fail(SM_EIO, "cannot write dataset '%s'", name);
}
