/* Internal: HDF5 helpers shared by the input loader (data.c) and the run
 * file (chainfile.c). Objects passed as `obj` may be datasets or
 * attributes. Every fallible helper records a message naming the object
 * (callers prefix the file with sm_fail_context) and returns its status. */
#ifndef SYSMAP_CORE_H5UTIL_H
#define SYSMAP_CORE_H5UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <hdf5.h>

#include "sysmap/status.h"

/* HDF5 prints its error stack to stderr by default and the library must
 * never print: public entry points run between begin and end, which save
 * and restore the caller's own setting. */
typedef struct {
    H5E_auto2_t func;
    void *data;
} sm_h5_quiet_t;
void sm_h5_quiet_begin(sm_h5_quiet_t *saved);
void sm_h5_quiet_end(const sm_h5_quiet_t *saved);

/* Closes any HDF5 identifier; ignores H5I_INVALID_HID. */
void sm_h5_close(hid_t id);

/* Opens an existing file (H5F_ACC_RDONLY or H5F_ACC_RDWR). SM_EIO naming
 * path when it is missing, unreadable or not a regular file (a FIFO is
 * refused, never waited on), or "not an HDF5 file or corrupt". Read-only
 * files are read through a guard that checks the metadata HDF5 1.10 would
 * trust (object headers, attribute messages, heaps) before HDF5 decodes
 * them; the reason of a refusal is quoted in the messages of the readers
 * below ("read failed, the file is corrupt (...)"). */
sm_status sm_h5_open_file(const char *path, unsigned flags, hid_t *out);
/* Creates (truncating) a file; SM_EIO naming path and the system error. */
sm_status sm_h5_create_file(const char *path, hid_t *out);

/* Open by name; SM_EFORMAT "missing dataset/group/attribute 'name'". */
sm_status sm_h5_open_dataset(hid_t loc, const char *name, hid_t *out);
sm_status sm_h5_open_group(hid_t loc, const char *name, hid_t *out);
sm_status sm_h5_open_attr(hid_t loc, const char *name, hid_t *out);
int sm_h5_has_attr(hid_t loc, const char *name);
/* *exists = whether loc has the link (kind "dataset", "group", ...) or, for
 * kind "attribute", the attribute name; SM_EIO naming it when the file is
 * too damaged to tell (an optional object must not read as absent then). */
sm_status sm_h5_exists(hid_t loc, const char *name, const char *kind, int *exists);

/* Checks that obj has the given rank (0 = scalar) and stores its extent
 * in dims (rank entries). */
sm_status sm_h5_shape(hid_t obj, const char *name, int rank, hsize_t *dims);
/* Checks, before a buffer is allocated for it, that dataset dset (of
 * elements of elem_size bytes in memory) is stored in the file: a few kB
 * declaring gigabytes of values is refused naming it (SM_EFORMAT), as are
 * more bytes than the machine's memory (SM_ENOMEM), or chunks far larger
 * than the data (HDF5 allocates a whole chunk to read it). Compressed data
 * may expand up to deflate's limit of about 1000 times. */
sm_status sm_h5_check_storage(hid_t dset, const char *name, size_t elem_size);
/* "(3, 100)" into buf. */
const char *sm_h5_format_shape(char *buf, size_t len, int rank, const hsize_t *dims);

/* Whole-object readers that check the stored type first. */
sm_status sm_h5_read_f64(hid_t obj, const char *name, double *buf);    /* IEEE float64 */
/* Values first .. first + n - 1 of row `row` of a 2-D float64 dataset. */
sm_status sm_h5_read_f64_row(hid_t dset, const char *name, size_t row, size_t first, size_t n,
                             double *buf);
sm_status sm_h5_read_int(hid_t obj, const char *name, int64_t *buf);   /* any integer */
sm_status sm_h5_read_u64(hid_t obj, const char *name, uint64_t *buf);  /* unsigned integer */
/* 8-bit unsigned integers or 1-byte enums (h5py's bool), as raw bytes. */
sm_status sm_h5_read_bytes(hid_t obj, const char *name, uint8_t *buf);
/* n strings (variable or fixed length) as malloc'd copies in out[0..n-1]. */
sm_status sm_h5_read_strings(hid_t obj, const char *name, size_t n, char **out);

/* Scalar attributes of loc, read with the checks above. */
sm_status sm_h5_get_attr_int(hid_t loc, const char *name, int64_t *value);
sm_status sm_h5_get_attr_u64(hid_t loc, const char *name, uint64_t *value);
sm_status sm_h5_get_attr_f64(hid_t loc, const char *name, double *value);
sm_status sm_h5_get_attr_bool(hid_t loc, const char *name, int *value);
sm_status sm_h5_get_attr_str(hid_t loc, const char *name, char **value); /* malloc'd */

/* File types as h5py writes them: variable-length UTF-8 strings and bools
 * (an enum of int8 with FALSE = 0, TRUE = 1). Close with H5Tclose. */
hid_t sm_h5_str_type(void);
hid_t sm_h5_bool_type(void);

/* Writes attribute name on loc (replacing any) with the given file type,
 * memory type and extent (rank 0 = scalar). */
sm_status sm_h5_set_attr(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank,
                         const hsize_t *dims, const void *buf);
sm_status sm_h5_set_attr_int(hid_t loc, const char *name, int64_t value);
sm_status sm_h5_set_attr_u64(hid_t loc, const char *name, uint64_t value);
sm_status sm_h5_set_attr_f64(hid_t loc, const char *name, double value);
sm_status sm_h5_set_attr_bool(hid_t loc, const char *name, int value);
sm_status sm_h5_set_attr_str(hid_t loc, const char *name, const char *value);

/* Writes a contiguous dataset (replacing any) of the given types and extent. */
sm_status sm_h5_write_dataset(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank,
                              const hsize_t *dims, const void *buf);

#endif
