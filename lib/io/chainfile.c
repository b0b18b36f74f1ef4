/* The run file. Layout (h5py's types throughout, so emcee reads it):
 *   /mcmc    emcee's HDFBackend group: attrs version ("sysmap-<version>":
 *            the writer, as emcee records its own version), nwalkers, ndim,
 *            iteration (int64), has_blobs (bool), random_state_0..4 (numpy's
 *            get_state() tuple); datasets chain (steps, W, n_dim) and
 *            log_prob (steps, W), first axis unlimited, accepted (W,).
 *   /sysmap  the settings (attrs, one per sm_chainfile_meta_t field, plus
 *            basis = "original": chain and summaries are in the original
 *            template basis, version, and format_version =
 *            SM_CHAINFILE_FORMAT_VERSION), param_names, the resume state in
 *            two slots (first axis 2): resume_coords (the walkers in the
 *            sampling basis), resume_accepted, resume_rng_key,
 *            resume_counters (the step, the generator's pos and has_gauss),
 *            resume_rng_gauss and resume_digest (checksums of the slot and
 *            of chain and log_prob up to its step), resume_slot (the
 *            committed slot), the summary (datasets median, ..., drift;
 *            attrs n_kept, ...) and the run's warnings (string dataset
 *            warnings).
 *
 * Crash consistency. The file is made whole beside PATH.partial and renamed
 * into place. Every object exists from the start, with its final size:
 * chain and log_prob hold n_steps rows (emcee reads the first `iteration`
 * of them), allocated when the file is made, and the summary and warnings
 * have their room. An append then changes no HDF5 structure, only values
 * in place: (1) the new rows and the new state into the slot that is not
 * committed, flushed; (2) the one byte resume_slot, flushed: the commit;
 * (3) emcee's copy of the state (iteration, accepted, random_state). A kill
 * before (2) leaves the last commit whole, after it the new one, and a
 * resume repairs (3) from the committed slot; the summary and warnings are
 * rewritten by the resume that finishes the run. A resume checks the slot
 * and the chain against their checksums. A failed write is a kill at that
 * point too (the file driver below). The default (oldest) file format keeps
 * h5py able to read it.
 *
 * Each call opens the file and closes it before returning, as emcee's
 * backend does. The handle holds a lock on PATH.partial from create or
 * resume to finish or free: one run writes it at a time. */
#include "sysmap/chainfile.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "abi.h"
#include "error.h"
#include "fileutil.h"
#include "h5util.h"
#include "sysmap/sizes.h"
#include "sysmap/version.h"
#include "h5failsafe.h"

struct sm_chainfile {
    char *path, *partial;
    size_t n_walkers, n_dim, n_sys;
    size_t iteration;                 /* complete steps committed in the file */
    int slot;                         /* the committed resume slot, 0 or 1 */
    uint64_t chain_digest, lp_digest; /* of chain and log_prob rows [0, iteration) */
    int lock_fd;                      /* holds the partial's lock; -1 when not held */
    int made_partial;                 /* this handle made the file at PATH.partial */
};

/* ---- settings: one table drives writing and comparing them ---- */

typedef enum { META_SIZE, META_SEED, META_FLAG, META_DIGEST, META_REAL, META_TEXT } meta_kind;

typedef struct {
    const char *name;
    meta_kind kind;
    size_t offset;
    int must_match;  /* n_steps alone may change on resume */
} meta_field;

#define FIELD(member, kind, match) {#member, kind, offsetof(sm_chainfile_meta_t, member), match}

/* In the order a resume reports the first difference. */
static const meta_field meta_fields[] = {
    FIELD(model, META_TEXT, 1),         FIELD(skew, META_FLAG, 1),
    FIELD(n_sys, META_SIZE, 1),         FIELD(n_pix, META_SIZE, 1),
    FIELD(data_digest, META_DIGEST, 1), FIELD(sampling_basis, META_TEXT, 1),
    FIELD(seed, META_SEED, 1),          FIELD(explicit_init, META_FLAG, 1),
    FIELD(n_walkers, META_SIZE, 1),     FIELD(n_dim, META_SIZE, 1),
    FIELD(n_burn, META_SIZE, 1),        FIELD(sigma_min, META_REAL, 1),
    FIELD(backend, META_TEXT, 1),       FIELD(device, META_TEXT, 1),
    FIELD(precision, META_TEXT, 1),     FIELD(n_steps, META_SIZE, 0),
};

typedef struct {
    uint64_t u;     /* sizes, seed, flags, digest */
    double r;
    const char *s;
} meta_value;

static meta_value meta_get(const sm_chainfile_meta_t *meta, const meta_field *f)
{
    const char *p = (const char *)meta + f->offset;
    meta_value v = {0, 0.0, NULL};
    switch (f->kind) {
    case META_SIZE: v.u = *(const size_t *)p; break;
    case META_SEED: v.u = *(const uint32_t *)p; break;
    case META_FLAG: v.u = *(const int *)p != 0; break;
    case META_DIGEST: v.u = *(const uint64_t *)p; break;
    case META_REAL: v.r = *(const double *)p; break;
    case META_TEXT: v.s = *(const char *const *)p ? *(const char *const *)p : ""; break;
    }
    return v;
}

static sm_status meta_write(hid_t g, const meta_field *f, meta_value v)
{
    switch (f->kind) {
    case META_SIZE:
    case META_SEED: return sm_h5_set_attr_int(g, f->name, (int64_t)v.u);
    case META_FLAG: return sm_h5_set_attr_bool(g, f->name, (int)v.u);
    case META_DIGEST: return sm_h5_set_attr_u64(g, f->name, v.u);
    case META_REAL: return sm_h5_set_attr_f64(g, f->name, v.r);
    case META_TEXT: break;
    }
    return sm_h5_set_attr_str(g, f->name, v.s);
}

/* Reads the stored value; a string is malloc'd into *text. */
static sm_status meta_read(hid_t g, const meta_field *f, meta_value *v, char **text)
{
    int64_t i = 0;
    int flag = 0;
    sm_status st;
    switch (f->kind) {
    case META_SIZE:
    case META_SEED:
        st = sm_h5_get_attr_int(g, f->name, &i);
        v->u = (uint64_t)i;
        return st;
    case META_FLAG:
        st = sm_h5_get_attr_bool(g, f->name, &flag);
        v->u = (uint64_t)flag;
        return st;
    case META_DIGEST: return sm_h5_get_attr_u64(g, f->name, &v->u);
    case META_REAL: return sm_h5_get_attr_f64(g, f->name, &v->r);
    case META_TEXT: break;
    }
    st = sm_h5_get_attr_str(g, f->name, text);
    v->s = *text;
    return st;
}

static sm_status meta_compare(const meta_field *f, meta_value file, meta_value want)
{
    const char *n = f->name;
    switch (f->kind) {
    case META_SIZE:
    case META_SEED:
    case META_FLAG:
        if (file.u == want.u)
            return SM_OK;
        return sm_fail(SM_EMISMATCH, "resume: %s differs (file %llu, requested %llu)", n,
                       (unsigned long long)file.u, (unsigned long long)want.u);
    case META_DIGEST:
        if (file.u == want.u)
            return SM_OK;
        return sm_fail(SM_EMISMATCH,
                       "resume: %s differs (file 0x%016llx, requested 0x%016llx): "
                       "not the same input map", n, (unsigned long long)file.u,
                       (unsigned long long)want.u);
    case META_REAL:
        if (file.r == want.r)
            return SM_OK;
        return sm_fail(SM_EMISMATCH, "resume: %s differs (file %.17g, requested %.17g)", n,
                       file.r, want.r);
    case META_TEXT: break;
    }
    if (strcmp(file.s, want.s) == 0)
        return SM_OK;
    return sm_fail(SM_EMISMATCH, "resume: %s differs (file \"%s\", requested \"%s\")", n, file.s,
                   want.s);
}

static sm_status check_meta(hid_t sys, const sm_chainfile_meta_t *meta)
{
    sm_status st = SM_OK;
    for (size_t k = 0; k < sizeof meta_fields / sizeof *meta_fields && st == SM_OK; k++) {
        const meta_field *f = &meta_fields[k];
        if (!f->must_match)
            continue;
        meta_value stored;
        char *text = NULL;
        st = meta_read(sys, f, &stored, &text);
        if (st == SM_OK)
            st = meta_compare(f, stored, meta_get(meta, f));
        free(text);
    }
    return st;
}

static sm_status check_param_names(hid_t sys, const sm_chainfile_meta_t *meta)
{
    size_t d = meta->n_dim;
    char **names = calloc(d, sizeof *names);
    if (names == NULL)
        return SM_FAIL_NOMEM("param_names");
    hid_t dset = H5I_INVALID_HID;
    sm_status st = sm_h5_open_dataset(sys, "param_names", &dset);
    if (st == SM_OK)
        st = sm_h5_read_strings(dset, "param_names", d, names);
    for (size_t k = 0; k < d && st == SM_OK; k++) {
        const char *want = meta->param_names[k] ? meta->param_names[k] : "";
        if (strcmp(names[k], want) != 0)
            st = sm_fail(SM_EMISMATCH,
                         "resume: param_names[%zu] differs (file \"%s\", requested \"%s\")", k,
                         names[k], want);
    }
    for (size_t k = 0; k < d; k++)
        free(names[k]);
    free(names);
    sm_h5_close(dset);
    return st;
}

/* ---- the handle, its lock, the file's opening and closing ---- */

static sm_status check_meta_args(const sm_chainfile_meta_t *meta)
{
    if (meta->n_walkers == 0 || meta->n_dim == 0)
        return sm_fail(SM_EINVAL, "run file: n_walkers (%zu) and n_dim (%zu) must be positive",
                       meta->n_walkers, meta->n_dim);
    if (meta->param_names == NULL)
        return sm_fail(SM_EINVAL, "run file: param_names is NULL");
    size_t wd, bytes;
    /* Every buffer of the file's calls is at most steps x walkers x parameters. */
    sm_status st = sm_size_mul(meta->n_walkers, meta->n_dim, "run file: walkers x parameters", &wd);
    if (st == SM_OK)
        st = sm_size_mul(wd, meta->n_steps, "run file: steps x walkers x parameters", &bytes);
    if (st == SM_OK)
        st = sm_size_bytes(bytes, sizeof(double), "run file: the chain", &bytes);
    return st;
}

/* A handle for path after checking meta; the file is not touched yet. */
static sm_status new_handle(sm_chainfile_t **out, const char *path,
                            const sm_chainfile_meta_t *meta)
{
    sm_status st = check_meta_args(meta);
    if (st != SM_OK)
        return st;
    sm_chainfile_t *cf = calloc(1, sizeof *cf);
    size_t len = strlen(path);
    if (cf != NULL) {
        cf->lock_fd = -1;
        cf->path = strdup(path);
        cf->partial = malloc(len + sizeof SM_CHAINFILE_PARTIAL_SUFFIX);
    }
    if (cf == NULL || cf->path == NULL || cf->partial == NULL) {
        sm_chainfile_free(cf);
        return SM_FAIL_NOMEM("run file handle");
    }
    memcpy(cf->partial, path, len);
    memcpy(cf->partial + len, SM_CHAINFILE_PARTIAL_SUFFIX, sizeof SM_CHAINFILE_PARTIAL_SUFFIX);
    cf->n_walkers = meta->n_walkers;
    cf->n_dim = meta->n_dim;
    cf->n_sys = meta->n_sys;
    return *out = cf, SM_OK;
}

static sm_status busy_error(const char *path, const char *partial)
{
    return sm_fail(SM_EIO, "another run is writing %s (%s is locked); wait for it to end or "
                           "choose another output", path, partial);
}

static sm_status lock_partial(sm_chainfile_t *cf, int create)
{
    int busy = 0;
    sm_status st = sm_file_lock(cf->partial, create, &cf->lock_fd, &busy, &cf->made_partial);
    return busy ? busy_error(cf->path, cf->partial) : st;
}

void sm_chainfile_meta_init(sm_chainfile_meta_t *meta)
{
    memset(meta, 0, sizeof *meta);
    meta->struct_size = sizeof *meta;
}

void sm_chainfile_summary_init(sm_chainfile_summary_t *summary)
{
    memset(summary, 0, sizeof *summary);
    summary->struct_size = sizeof *summary;
}

sm_status sm_chainfile_check_output(const char *path)
{
    if (path == NULL)
        return sm_fail(SM_EINVAL, "sm_chainfile_check_output: NULL path");
    sm_status st = sm_file_check_output(path);
    size_t len = strlen(path);
    char *partial = malloc(len + sizeof SM_CHAINFILE_PARTIAL_SUFFIX);
    if (st == SM_OK && partial == NULL)
        st = SM_FAIL_NOMEM("the output path");
    if (st == SM_OK) {
        memcpy(partial, path, len);
        memcpy(partial + len, SM_CHAINFILE_PARTIAL_SUFFIX, sizeof SM_CHAINFILE_PARTIAL_SUFFIX);
        st = sm_file_check_output(partial);
    }
    if (st == SM_OK && sm_file_locked(partial))
        st = busy_error(path, partial);
    free(partial);
    return st;
}

/* The partial file and its two groups, open for one call; fs.failed is the
 * fail-safe driver's flag (h5failsafe.h). */
typedef struct {
    hid_t file, mcmc, sys;
    sm_h5_failsafe_t fs;
} open_file_t;

static sm_status open_file(const char *path, unsigned flags, int create, open_file_t *o)
{
    o->mcmc = o->sys = H5I_INVALID_HID;
    return sm_h5_failsafe_open(path, flags, create, &o->fs, &o->file);
}

static sm_status open_groups(const sm_chainfile_t *cf, unsigned flags, open_file_t *o)
{
    sm_status st = open_file(cf->partial, flags, 0, o);
    if (st == SM_OK)
        st = sm_h5_open_group(o->file, "mcmc", &o->mcmc);
    if (st == SM_OK)
        st = sm_h5_open_group(o->file, "sysmap", &o->sys);
    return st;
}

static sm_status write_failure(const open_file_t *o)
{
    return sm_fail(SM_EIO, "writing failed: %s", strerror(o->fs.failed));
}

/* Writes out what HDF5 holds: a barrier between the phases of an append. */
static sm_status flush(const open_file_t *o)
{
    if (H5Fflush(o->file, H5F_SCOPE_LOCAL) < 0)
        return sm_fail(SM_EIO, "flushing failed");
    return o->fs.failed ? write_failure(o) : SM_OK;
}

/* Closes what open_groups opened and reports a write that failed, naming
 * the file in the message of a failure. After a failure nothing more
 * reaches the file (the driver drops it), so it keeps its last commit. */
static sm_status close_groups(const sm_chainfile_t *cf, open_file_t *o, sm_status st)
{
    sm_h5_close(o->sys);
    sm_h5_close(o->mcmc);
    if (o->file >= 0 && H5Fclose(o->file) < 0 && st == SM_OK)
        st = sm_fail(SM_EIO, "closing failed");
    if (st == SM_OK && o->fs.failed)
        st = write_failure(o);
    if (st != SM_OK && strstr(sm_last_error(), cf->partial) == NULL)
        sm_fail_context(st, "%s", cf->partial);
    return st;
}

/* ---- datasets ---- */

/* Reads rows [first, first + n) of dataset name (along its first axis) into
 * in, or writes them from out (the other NULL), as memory type mtype; a row
 * is the rest of the dataset's extent. */
static sm_status rows_io(hid_t g, const char *name, hid_t mtype, size_t first, size_t n,
                         void *in, const void *out)
{
    int write = out != NULL;
    hid_t dset, fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    sm_status st = sm_h5_open_dataset(g, name, &dset);
    if (st != SM_OK)
        return st;
    hsize_t dims[H5S_MAX_RANK], start[H5S_MAX_RANK] = {0}, count[H5S_MAX_RANK];
    fspace = H5Dget_space(dset);
    int rank = fspace < 0 ? -1 : H5Sget_simple_extent_dims(fspace, dims, NULL);
    int ok = rank >= 1 && first + n <= dims[0];
    if (ok) {
        hsize_t elems = n;
        memcpy(count, dims, sizeof dims);
        start[0] = first;
        count[0] = n;
        for (int i = 1; i < rank; i++)
            elems *= dims[i];
        ok = H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
             (mspace = H5Screate_simple(1, &elems, NULL)) >= 0 &&
             (write ? H5Dwrite(dset, mtype, mspace, fspace, H5P_DEFAULT, out)
                    : H5Dread(dset, mtype, mspace, fspace, H5P_DEFAULT, in)) >= 0;
    }
    sm_h5_close(mspace);
    sm_h5_close(fspace);
    if (H5Dclose(dset) < 0) /* a chunked dataset writes its cached chunks here */
        ok = 0;
    if (!ok)
        return sm_fail(SM_EIO, "cannot %s rows %zu to %zu of '%s'", write ? "write" : "read",
                       first + 1, first + n, name);
    return SM_OK;
}

/* Reads a whole float64 dataset into in, or overwrites it from out (the
 * other NULL). */
static sm_status whole_io(hid_t g, const char *name, double *in, const double *out)
{
    hid_t dset = H5I_INVALID_HID;
    sm_status st = sm_h5_open_dataset(g, name, &dset);
    if (st != SM_OK)
        return st;
    if (out == NULL)
        st = sm_h5_read_f64(dset, name, in);
    else if (H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
        st = sm_fail(SM_EIO, "cannot write '%s'", name);
    if (H5Dclose(dset) < 0 && st == SM_OK)
        st = sm_fail(SM_EIO, "cannot write '%s'", name);
    return st;
}

/* Sets the number of rows of a dataset that grows along its first axis. */
static sm_status set_rows(hid_t g, const char *name, size_t rows)
{
    hid_t dset = H5I_INVALID_HID;
    sm_status st = sm_h5_open_dataset(g, name, &dset);
    if (st != SM_OK)
        return st;
    hsize_t dims[H5S_MAX_RANK];
    hid_t space = H5Dget_space(dset);
    int rank = space < 0 ? -1 : H5Sget_simple_extent_dims(space, dims, NULL);
    sm_h5_close(space);
    int ok = rank >= 1;
    if (ok && dims[0] != rows) {
        dims[0] = rows;
        ok = H5Dset_extent(dset, dims) >= 0;
    }
    ok = H5Dclose(dset) >= 0 && ok;
    return ok ? SM_OK : sm_fail(SM_EIO, "cannot resize '%s' to %zu steps", name, rows);
}

/* Steps in a chunk of a dataset whose step is row_bytes: about 256 KiB. */
static hsize_t chunk_steps(hsize_t row_bytes)
{
    return row_bytes >= (hsize_t)1 << 18 ? 1 : ((hsize_t)1 << 18) / row_bytes;
}

/* The bytes of `rows` steps of row_bytes each, in whole chunks. */
static double steps_bytes(hsize_t rows, hsize_t row_bytes)
{
    hsize_t per = chunk_steps(row_bytes);
    return (double)((rows + per - 1) / per) * (double)per * (double)row_bytes;
}

/* A float64 dataset of shape (rows, rest...) whose first axis may grow (emcee
 * resizes it), chunked by whole steps. Its space is allocated now (and left
 * unfilled), so appends write into space that exists and change no HDF5
 * structure. */
static sm_status create_steps(hid_t g, const char *name, int rank, hsize_t rows,
                              const hsize_t *rest)
{
    hsize_t dims[3] = {rows}, maxdims[3] = {H5S_UNLIMITED}, chunk[3];
    hsize_t row = sizeof(double);
    for (int i = 1; i < rank; i++) {
        dims[i] = maxdims[i] = chunk[i] = rest[i - 1];
        row *= rest[i - 1];
    }
    chunk[0] = chunk_steps(row);
    hid_t space = H5Screate_simple(rank, dims, maxdims);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t dset = H5I_INVALID_HID;
    if (space >= 0 && dcpl >= 0 && H5Pset_chunk(dcpl, rank, chunk) >= 0 &&
        H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY) >= 0 &&
        H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER) >= 0)
        dset = H5Dcreate2(g, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    int ok = dset >= 0;
    sm_h5_close(dset);
    sm_h5_close(dcpl);
    sm_h5_close(space);
    return ok ? SM_OK : sm_fail(SM_EIO, "cannot create dataset '%s'", name);
}

/* A contiguous dataset of the given types and extent, written now (so its
 * space exists): every element `fill` for float64 memory, else zero. */
static sm_status create_filled(hid_t g, const char *name, hid_t ftype, hid_t mtype, int rank,
                               const hsize_t *dims, double fill)
{
    size_t n = 1, bytes;
    for (int i = 0; i < rank; i++)
        n *= (size_t)dims[i]; /* at most walkers x parameters x 2, checked with the handle */
    sm_status st = sm_size_bytes(n, H5Tget_size(mtype), name, &bytes);
    void *buf = st == SM_OK ? calloc(bytes > 0 ? bytes : 1, 1) : NULL;
    if (st != SM_OK || buf == NULL)
        return st != SM_OK ? st : SM_FAIL_NOMEM(name);
    if (H5Tequal(mtype, H5T_NATIVE_DOUBLE) > 0)
        for (size_t i = 0; i < n; i++)
            ((double *)buf)[i] = fill;
    st = sm_h5_write_dataset(g, name, ftype, mtype, rank, dims, buf);
    free(buf);
    return st;
}

/* sysmap/warnings: SM_CHAINFILE_MAX_WARNINGS fixed-length strings, made
 * with the file. Variable-length strings would put them in the global heap
 * beside the settings, and adding them at the end would change the file's
 * structure, which a kill could leave half written. */
static hid_t warning_type(void)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    if (type >= 0 && (H5Tset_size(type, SM_CHAINFILE_WARNING_LEN) < 0 ||
                      H5Tset_strpad(type, H5T_STR_NULLPAD) < 0 ||
                      H5Tset_cset(type, H5T_CSET_UTF8) < 0)) {
        H5Tclose(type);
        return H5I_INVALID_HID;
    }
    return type;
}

/* ---- the generator state, as numpy's get_state() in emcee's attributes ---- */

static sm_status write_rng(hid_t mcmc, const sm_rng_state_t *rng)
{
    hsize_t n = SM_RNG_KEY_LEN;
    sm_status st = SM_OK;
    /* The name never changes: writing it once spares a heap object per append. */
    if (!sm_h5_has_attr(mcmc, "random_state_0"))
        st = sm_h5_set_attr_str(mcmc, "random_state_0", "MT19937");
    if (st == SM_OK)
        st = sm_h5_set_attr(mcmc, "random_state_1", H5T_STD_U32LE, H5T_NATIVE_UINT32, 1, &n,
                            rng->key);
    if (st == SM_OK)
        st = sm_h5_set_attr_int(mcmc, "random_state_2", rng->pos);
    if (st == SM_OK)
        st = sm_h5_set_attr_int(mcmc, "random_state_3", rng->has_gauss);
    if (st == SM_OK)
        st = sm_h5_set_attr_f64(mcmc, "random_state_4", rng->gauss);
    return st;
}

/* emcee's copy of the state after step `iteration`. */
static sm_status write_emcee_state(hid_t mcmc, size_t iteration, const double *accepted,
                                   const sm_rng_state_t *rng)
{
    sm_status st = whole_io(mcmc, "accepted", NULL, accepted);
    if (st == SM_OK)
        st = write_rng(mcmc, rng);
    if (st == SM_OK)
        st = sm_h5_set_attr_int(mcmc, "iteration", (int64_t)iteration);
    return st;
}

/* ---- the resume slots and their checksums ---- */

#define SLOT_COORDS "resume_coords"       /* (2, W, n_dim) float64 */
#define SLOT_ACCEPTED "resume_accepted"   /* (2, W) float64 */
#define SLOT_KEY "resume_rng_key"         /* (2, 624) uint32 */
#define SLOT_COUNTERS "resume_counters"   /* (2, 3) int64 */
#define SLOT_GAUSS "resume_rng_gauss"     /* (2,) float64 */
#define SLOT_DIGEST "resume_digest"       /* (2, N_DIGESTS) uint64 */
#define SLOT_ACTIVE "resume_slot"         /* (1,) uint8: the committed slot */

enum { COUNT_ITERATION, COUNT_POS, COUNT_HAS_GAUSS, N_COUNTERS };
enum { DIG_COORDS, DIG_ACCEPTED, DIG_RNG, DIG_CHAIN, DIG_LOG_PROB, N_DIGESTS };

/* What each checksum covers, as an error names it. */
static const char *const digest_of[N_DIGESTS] = {
    "sysmap/" SLOT_COORDS, "sysmap/" SLOT_ACCEPTED,
    "sysmap/" SLOT_KEY ", " SLOT_COUNTERS " and " SLOT_GAUSS, "mcmc/chain", "mcmc/log_prob"};

/* Each word moves the state through a bijection, so a change in any single
 * word (a flipped bit) always changes the checksum. Words are values, not
 * bytes: the same on every host. */
#define DIGEST_START UINT64_C(0xcbf29ce484222325)
#define DIGEST_PRIME UINT64_C(0x100000001b3)

static uint64_t digest_word(uint64_t h, uint64_t word)
{
    return (h ^ word) * DIGEST_PRIME;
}

static uint64_t digest_doubles(uint64_t h, const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t bits;
        memcpy(&bits, &x[i], sizeof bits);
        h = digest_word(h, bits);
    }
    return h;
}

typedef struct {
    int64_t counters[N_COUNTERS];
    uint32_t key[SM_RNG_KEY_LEN];
    double gauss;
    uint64_t digest[N_DIGESTS];
} slot_head;

static uint64_t digest_rng(const slot_head *h)
{
    uint64_t d = DIGEST_START;
    for (size_t i = 0; i < SM_RNG_KEY_LEN; i++)
        d = digest_word(d, h->key[i]);
    for (size_t i = 0; i < N_COUNTERS; i++)
        d = digest_word(d, (uint64_t)h->counters[i]);
    return digest_doubles(d, &h->gauss, 1);
}

/* Checksums of the slot's own contents into h->digest (the chain's are the caller's). */
static void digest_slot(const sm_chainfile_t *cf, const double *coords, const double *accepted,
                        slot_head *h)
{
    h->digest[DIG_COORDS] = digest_doubles(DIGEST_START, coords, cf->n_walkers * cf->n_dim);
    h->digest[DIG_ACCEPTED] = digest_doubles(DIGEST_START, accepted, cf->n_walkers);
    h->digest[DIG_RNG] = digest_rng(h);
}

static sm_status slot_io(hid_t sys, int slot, double *coords, double *accepted, slot_head *in,
                         const slot_head *out)
{
    size_t s = (size_t)slot;
    int w = out != NULL;
    sm_status st = rows_io(sys, SLOT_COORDS, H5T_NATIVE_DOUBLE, s, 1, w ? NULL : coords,
                           w ? coords : NULL);
    if (st == SM_OK)
        st = rows_io(sys, SLOT_ACCEPTED, H5T_NATIVE_DOUBLE, s, 1, w ? NULL : accepted,
                     w ? accepted : NULL);
    if (st == SM_OK)
        st = rows_io(sys, SLOT_KEY, H5T_NATIVE_UINT32, s, 1, w ? NULL : in->key,
                     w ? out->key : NULL);
    if (st == SM_OK)
        st = rows_io(sys, SLOT_COUNTERS, H5T_NATIVE_INT64, s, 1, w ? NULL : in->counters,
                     w ? out->counters : NULL);
    if (st == SM_OK)
        st = rows_io(sys, SLOT_GAUSS, H5T_NATIVE_DOUBLE, s, 1, w ? NULL : &in->gauss,
                     w ? &out->gauss : NULL);
    if (st == SM_OK)
        st = rows_io(sys, SLOT_DIGEST, H5T_NATIVE_UINT64, s, 1, w ? NULL : in->digest,
                     w ? out->digest : NULL);
    return st;
}

static sm_status corrupt(int which, size_t iteration)
{
    return sm_fail(SM_EFORMAT,
                   "%s does not match its checksum (sysmap/" SLOT_DIGEST ", the state after "
                   "step %zu): the file is corrupt; start a new run",
                   digest_of[which], iteration);
}

/* Reads slot `slot` (coords (W, n_dim) and accepted (W,) into the caller's
 * buffers) and checks it: checksums, the step it claims, a generator state
 * numpy accepts, acceptance counts of at most one per step. */
static sm_status read_slot(hid_t sys, const sm_chainfile_t *cf, int slot, double *coords,
                           double *accepted, slot_head *h)
{
    sm_status st = slot_io(sys, slot, coords, accepted, h, NULL);
    if (st != SM_OK)
        return st;
    slot_head want = *h;
    digest_slot(cf, coords, accepted, &want);
    for (int k = DIG_COORDS; k <= DIG_RNG; k++)
        if (want.digest[k] != h->digest[k])
            return corrupt(k, cf->iteration);
    int64_t it = h->counters[COUNT_ITERATION], pos = h->counters[COUNT_POS];
    uint32_t any = 0;
    for (size_t i = 0; i < SM_RNG_KEY_LEN; i++)
        any |= h->key[i];
    if (it != (int64_t)cf->iteration || pos < 0 || pos > SM_RNG_KEY_LEN || any == 0 ||
        (h->counters[COUNT_HAS_GAUSS] | 1) != 1 || !isfinite(h->gauss))
        return sm_fail(SM_EFORMAT, "sysmap/" SLOT_COUNTERS ": step %lld, generator position "
                       "%lld: not a resume state of step %zu; start a new run",
                       (long long)it, (long long)pos, cf->iteration);
    for (size_t i = 0; i < cf->n_walkers; i++)
        if (!(accepted[i] >= 0 && accepted[i] <= (double)it && accepted[i] == floor(accepted[i])))
            return sm_fail(SM_EFORMAT, "sysmap/" SLOT_ACCEPTED ": walker %zu accepted %g "
                           "proposals in %lld steps; start a new run", i, accepted[i],
                           (long long)it);
    return SM_OK;
}

static void rng_of(const slot_head *h, sm_rng_state_t *rng)
{
    memcpy(rng->key, h->key, sizeof rng->key);
    rng->pos = (int)h->counters[COUNT_POS];
    rng->has_gauss = (int)h->counters[COUNT_HAS_GAUSS];
    rng->gauss = h->gauss;
}

/* ---- creating ---- */

static sm_status write_settings(hid_t g, const sm_chainfile_meta_t *meta)
{
    sm_status st = SM_OK;
    for (size_t k = 0; k < sizeof meta_fields / sizeof *meta_fields && st == SM_OK; k++)
        st = meta_write(g, &meta_fields[k], meta_get(meta, &meta_fields[k]));
    if (st == SM_OK)
        st = sm_h5_set_attr_str(g, "basis", "original");
    if (st == SM_OK)
        st = sm_h5_set_attr_str(g, "version", sm_version());
    if (st == SM_OK)
        st = sm_h5_set_attr_int(g, "format_version", SM_CHAINFILE_FORMAT_VERSION);
    return st;
}

static sm_status write_mcmc(hid_t file, const sm_chainfile_meta_t *meta)
{
    hsize_t w = meta->n_walkers, shape[2] = {meta->n_walkers, meta->n_dim};
    char version[64];
    snprintf(version, sizeof version, "sysmap-%s", sm_version());
    hid_t g = H5Gcreate2(file, "mcmc", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return sm_fail(SM_EIO, "cannot create group 'mcmc'");
    /* The generator as seeded, so that every attribute an append rewrites
     * exists from the start. */
    sm_rng_t *rng = NULL;
    sm_rng_state_t seeded;
    sm_status st = sm_rng_create(&rng, meta->seed);
    if (st == SM_OK)
        sm_rng_get_state(rng, &seeded);
    sm_rng_free(rng);
    if (st == SM_OK)
        st = sm_h5_set_attr_str(g, "version", version);
    if (st == SM_OK)
        st = sm_h5_set_attr_int(g, "nwalkers", (int64_t)meta->n_walkers);
    if (st == SM_OK)
        st = sm_h5_set_attr_int(g, "ndim", (int64_t)meta->n_dim);
    if (st == SM_OK)
        st = sm_h5_set_attr_bool(g, "has_blobs", 0);
    if (st == SM_OK)
        st = sm_h5_set_attr_int(g, "iteration", 0);
    if (st == SM_OK)
        st = write_rng(g, &seeded);
    if (st == SM_OK)
        st = create_filled(g, "accepted", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, &w, 0.0);
    if (st == SM_OK)
        st = create_steps(g, "chain", 3, meta->n_steps, shape);
    if (st == SM_OK)
        st = create_steps(g, "log_prob", 2, meta->n_steps, shape);
    H5Gclose(g);
    return st;
}

/* The summary datasets; data NULL where summary is NULL (at creation) or
 * where it leaves one out. */
typedef struct {
    const char *name;
    const double *data;
    int rank;
    hsize_t dims[2];
} summary_set;

enum { N_SUMMARY_SETS = 10 };

static void summary_sets(size_t d, size_t s, size_t w, const sm_chainfile_summary_t *sum,
                         summary_set *sets)
{
    const summary_set all[N_SUMMARY_SETS] = {
        {"median", sum ? sum->median : NULL, 1, {d}},
        {"std", sum ? sum->std : NULL, 1, {d}},
        {"var_a", sum ? sum->var_a : NULL, 1, {s}},
        {"var_b", sum ? sum->var_b : NULL, 1, {s}},
        {"cov_a", sum ? sum->cov_a : NULL, 2, {s, s}},
        {"cov_b", sum ? sum->cov_b : NULL, 2, {s, s}},
        {"acceptance_fraction", sum ? sum->acceptance_fraction : NULL, 1, {w}},
        {"autocorr_time", sum ? sum->autocorr_time : NULL, 1, {d}},
        {"ess", sum ? sum->ess : NULL, 1, {d}},
        {"drift", sum ? sum->drift : NULL, 1, {d}},
    };
    memcpy(sets, all, sizeof all);
}

/* The scalar summary attributes. */
static sm_status write_summary_attrs(hid_t sys, int too_short, double wall_s, double evals_per_s,
                                     double eval_s, size_t n_kept)
{
    sm_status st = sm_h5_set_attr_bool(sys, "autocorr_too_short", too_short);
    if (st == SM_OK)
        st = sm_h5_set_attr_f64(sys, "wall_s", wall_s);
    if (st == SM_OK)
        st = sm_h5_set_attr_f64(sys, "evals_per_s", evals_per_s);
    if (st == SM_OK)
        st = sm_h5_set_attr_f64(sys, "eval_s", eval_s);
    if (st == SM_OK)
        st = sm_h5_set_attr_int(sys, "n_kept", (int64_t)n_kept);
    return st;
}

static sm_status write_sysmap(hid_t file, const sm_chainfile_meta_t *meta)
{
    hsize_t w = meta->n_walkers, d = meta->n_dim;
    const struct {
        const char *name;
        hid_t ftype, mtype;
        int rank;
        hsize_t dims[3];
    } slots[] = {
        {SLOT_COORDS, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 3, {2, w, d}},
        {SLOT_ACCEPTED, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, {2, w}},
        {SLOT_KEY, H5T_STD_U32LE, H5T_NATIVE_UINT32, 2, {2, SM_RNG_KEY_LEN}},
        {SLOT_COUNTERS, H5T_STD_I64LE, H5T_NATIVE_INT64, 2, {2, N_COUNTERS}},
        {SLOT_GAUSS, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, {2}},
        {SLOT_DIGEST, H5T_STD_U64LE, H5T_NATIVE_UINT64, 2, {2, N_DIGESTS}},
        {SLOT_ACTIVE, H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, {1}},
    };
    hid_t g = H5Gcreate2(file, "sysmap", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return sm_fail(SM_EIO, "cannot create group 'sysmap'");
    sm_status st = write_settings(g, meta);
    for (size_t k = 0; k < sizeof slots / sizeof *slots && st == SM_OK; k++)
        st = create_filled(g, slots[k].name, slots[k].ftype, slots[k].mtype, slots[k].rank,
                           slots[k].dims, 0.0);
    const char **names = calloc(meta->n_dim, sizeof *names);
    if (st == SM_OK && names == NULL)
        st = SM_FAIL_NOMEM("param_names");
    if (st == SM_OK) {
        for (size_t k = 0; k < meta->n_dim; k++)
            names[k] = meta->param_names[k] ? meta->param_names[k] : "";
        hid_t type = sm_h5_str_type();
        st = sm_h5_write_dataset(g, "param_names", type, type, 1, &d, names);
        sm_h5_close(type);
    }
    free(names);
    /* The summary's place, NaN until the run ends, so that writing it
     * changes values only. */
    summary_set sets[N_SUMMARY_SETS];
    summary_sets(meta->n_dim, meta->n_sys, meta->n_walkers, NULL, sets);
    for (size_t k = 0; k < N_SUMMARY_SETS && st == SM_OK; k++)
        st = create_filled(g, sets[k].name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, sets[k].rank,
                           sets[k].dims, NAN);
    if (st == SM_OK)
        st = write_summary_attrs(g, 1, NAN, NAN, NAN, 0);
    hsize_t n_warnings = SM_CHAINFILE_MAX_WARNINGS;
    hid_t type = warning_type();
    if (st == SM_OK)
        st = create_filled(g, "warnings", type, type, 1, &n_warnings, 0.0);
    sm_h5_close(type);
    H5Gclose(g);
    return st;
}

/* About the size of a new file: chain and log_prob in whole chunks, the
 * resume slots, and a margin for the rest. */
static size_t file_bytes(const sm_chainfile_meta_t *m)
{
    double w = (double)m->n_walkers, d = (double)m->n_dim, row = w * sizeof(double);
    double bytes = steps_bytes(m->n_steps, (hsize_t)(row * d)) + steps_bytes(m->n_steps, row) +
                   2.0 * row * (d + 1.0) + (double)(1 << 16);
    return bytes < (double)SIZE_MAX ? (size_t)bytes : SIZE_MAX;
}

/* The new file at tmp, locked by *tmp_fd (so that its lock comes along
 * when it is renamed), with the blocks of every step reserved: a full disk
 * shows before the run. */
static sm_status build_file(sm_chainfile_t *cf, const sm_chainfile_meta_t *meta,
                            const char *tmp, int *tmp_fd)
{
    int busy, made;
    sm_status st = sm_file_lock(tmp, 1, tmp_fd, &busy, &made);
    sm_h5_quiet_t quiet;
    sm_h5_quiet_begin(&quiet);
    open_file_t o = {H5I_INVALID_HID, H5I_INVALID_HID, H5I_INVALID_HID, {0, 0}};
    if (st == SM_OK)
        st = open_file(tmp, 0, 1, &o);
    if (st == SM_OK)
        st = write_mcmc(o.file, meta);
    if (st == SM_OK)
        st = write_sysmap(o.file, meta);
    if (o.file >= 0)
        st = close_groups(cf, &o, st);
    sm_h5_quiet_end(&quiet);
    if (st == SM_OK)
        st = sm_file_reserve(*tmp_fd, cf->partial);
    return st;
}

/* A handle for path with meta checked, and the lock on PATH.partial
 * (create: the lock of a new run, else of a resume). *cf stays NULL when
 * no handle was made; with a handle and a failed lock the status is the
 * lock's and the caller frees the handle. */
static sm_status open_handle(sm_chainfile_t **cf, const char *path,
                             const sm_chainfile_meta_t *meta, int create)
{
    if (SM_ABI_CHECK(meta, sm_chainfile_meta_t, "sm_chainfile_meta_init") != SM_OK)
        return SM_EINVAL;
    sm_status st = new_handle(cf, path, meta);
    return st == SM_OK ? lock_partial(*cf, create) : st;
}

/* The file is made whole at PATH.partial.tmp and renamed into place: a kill
 * meanwhile leaves PATH.partial as it was (empty when this made it, which a
 * resume starts afresh). The lock on PATH.partial keeps other runs off the
 * temporary file. */
sm_status sm_chainfile_create(sm_chainfile_t **out, const char *path,
                              const sm_chainfile_meta_t *meta)
{
    if (out == NULL || path == NULL || meta == NULL)
        return sm_fail(SM_EINVAL, "sm_chainfile_create: NULL argument");
    *out = NULL;
    sm_chainfile_t *cf = NULL;
    sm_status st = open_handle(&cf, path, meta, 1);
    if (cf == NULL)
        return st;
    /* HDF5 1.10 cannot recover from a full disk while it creates a file
     * (it hangs at exit): the space is looked for first. */
    if (st == SM_OK)
        st = sm_file_check_space(cf->partial, file_bytes(meta));
    char *tmp = st == SM_OK ? sm_file_tmp_name(cf->partial) : NULL;
    int tmp_fd = -1;
    if (st == SM_OK && tmp == NULL)
        st = SM_FAIL_NOMEM("run file name");
    if (st == SM_OK)
        st = build_file(cf, meta, tmp, &tmp_fd);
    if (st == SM_OK)
        st = sm_file_sync_rename(tmp, cf->partial);
    if (st == SM_OK) {
        sm_file_unlock(cf->lock_fd);
        cf->lock_fd = tmp_fd;
        cf->made_partial = 1;
    } else if (tmp_fd >= 0) {
        unlink(tmp);
        sm_file_unlock(tmp_fd);
    }
    free(tmp);
    if (st != SM_OK) {
        sm_chainfile_discard(cf);
        return st;
    }
    cf->chain_digest = cf->lp_digest = DIGEST_START;
    *out = cf;
    return SM_OK;
}

/* ---- resuming ---- */

/* Checks that dataset name of g has shape want; when rows is not NULL the
 * first extent (the steps) may be anything and is stored in *rows. */
static sm_status check_extent(hid_t g, const char *name, int rank, const hsize_t *want,
                              hsize_t *rows)
{
    hid_t dset = H5I_INVALID_HID;
    hsize_t dims[3];
    char a[128], b[128];
    sm_status st = sm_h5_open_dataset(g, name, &dset);
    if (st == SM_OK)
        st = sm_h5_shape(dset, name, rank, dims);
    sm_h5_close(dset);
    if (st != SM_OK)
        return st;
    if (rows != NULL)
        *rows = dims[0];
    for (int i = rows != NULL; i < rank; i++) {
        if (dims[i] != want[i])
            return sm_fail(SM_EFORMAT, "%s: shape %s, expected %s%s", name,
                           sm_h5_format_shape(a, sizeof a, rank, dims),
                           sm_h5_format_shape(b, sizeof b, rank, want),
                           rows != NULL ? " (any number of steps)" : "");
    }
    return SM_OK;
}

static sm_status check_shapes(const open_file_t *o, const sm_chainfile_t *cf, hsize_t *rows)
{
    hsize_t w = cf->n_walkers, d = cf->n_dim, chain_rows = 0, lp_rows = 0;
    /* Each dataset's group, name and shape; the chain's and log_prob's
     * first axis (their steps) is any length. */
    const struct {
        hid_t g;
        const char *name;
        int rank;
        hsize_t dims[3];
        hsize_t *rows;
    } sets[] = {{o->mcmc, "chain", 3, {0, w, d}, &chain_rows},
                {o->mcmc, "log_prob", 2, {0, w}, &lp_rows},
                {o->mcmc, "accepted", 1, {w}, NULL},
                {o->sys, SLOT_COORDS, 3, {2, w, d}, NULL},
                {o->sys, SLOT_ACCEPTED, 2, {2, w}, NULL},
                {o->sys, SLOT_KEY, 2, {2, SM_RNG_KEY_LEN}, NULL},
                {o->sys, SLOT_COUNTERS, 2, {2, N_COUNTERS}, NULL},
                {o->sys, SLOT_GAUSS, 1, {2}, NULL},
                {o->sys, SLOT_DIGEST, 2, {2, N_DIGESTS}, NULL},
                {o->sys, SLOT_ACTIVE, 1, {1}, NULL}};
    sm_status st = SM_OK;
    for (size_t i = 0; i < sizeof sets / sizeof *sets && st == SM_OK; i++)
        st = check_extent(sets[i].g, sets[i].name, sets[i].rank, sets[i].dims, sets[i].rows);
    *rows = chain_rows < lp_rows ? chain_rows : lp_rows;
    return st;
}

/* The committed slot, its step and its checksums of the chain into cf; the
 * step may not be beyond the stored rows, nor behind emcee's iteration
 * (another program continued the file). */
static sm_status read_commit(const open_file_t *o, sm_chainfile_t *cf)
{
    hsize_t rows = 0;
    uint8_t slot = 0;
    slot_head h;
    int64_t emcee_it = 0;
    sm_status st = check_shapes(o, cf, &rows);
    if (st == SM_OK)
        st = rows_io(o->sys, SLOT_ACTIVE, H5T_NATIVE_UINT8, 0, 1, &slot, NULL);
    if (st == SM_OK && slot > 1)
        st = sm_fail(SM_EFORMAT, "sysmap/" SLOT_ACTIVE " holds %u, expected 0 or 1: the file "
                                 "is corrupt; start a new run", (unsigned)slot);
    if (st == SM_OK)
        st = rows_io(o->sys, SLOT_COUNTERS, H5T_NATIVE_INT64, slot, 1, h.counters, NULL);
    if (st == SM_OK)
        st = rows_io(o->sys, SLOT_DIGEST, H5T_NATIVE_UINT64, slot, 1, h.digest, NULL);
    if (st == SM_OK)
        st = sm_h5_get_attr_int(o->mcmc, "iteration", &emcee_it);
    if (st != SM_OK)
        return st;
    int64_t it = h.counters[COUNT_ITERATION];
    if (it < 0 || (hsize_t)it > rows || emcee_it < 0)
        return sm_fail(SM_EFORMAT, "the resume state is of step %lld, the chain has %llu rows "
                                   "and mcmc/iteration is %lld: the file is corrupt; start a "
                                   "new run",
                       (long long)it, (unsigned long long)rows, (long long)emcee_it);
    if (emcee_it > it)
        return sm_fail(SM_EMISMATCH,
                       "resume: the chain has %lld steps but sysmap's walker state is from step "
                       "%lld (was the file continued by another program?)",
                       (long long)emcee_it, (long long)it);
    cf->slot = slot;
    cf->iteration = (size_t)it;
    cf->chain_digest = it > 0 ? h.digest[DIG_CHAIN] : DIGEST_START;
    cf->lp_digest = it > 0 ? h.digest[DIG_LOG_PROB] : DIGEST_START;
    return SM_OK;
}

/* emcee's copy of the state from the committed slot: a kill after the
 * commit may have left it behind. */
static sm_status restore_emcee_state(const open_file_t *o, const sm_chainfile_t *cf)
{
    size_t w = cf->n_walkers;
    double *coords = malloc(w * cf->n_dim * sizeof *coords), *acc = malloc(w * sizeof *acc);
    slot_head h;
    sm_rng_state_t rng;
    sm_status st = coords && acc ? SM_OK : SM_FAIL_NOMEM("the resume state");
    if (st == SM_OK)
        st = read_slot(o->sys, cf, cf->slot, coords, acc, &h);
    if (st == SM_OK) {
        rng_of(&h, &rng);
        st = write_emcee_state(o->mcmc, cf->iteration, acc, &rng);
    }
    free(coords);
    free(acc);
    return st;
}

/* Formats before this one, and why their files cannot be continued. */
static const char *const older_formats[SM_CHAINFILE_FORMAT_VERSION] = {
    NULL,
    "its multiplicative model set a = 0, this version uses b = a",
    "it kept one copy of the resume state, which a kill could leave half written",
};

/* A file of another format version means other parameters: refused. */
static sm_status check_format_version(hid_t sys)
{
    int64_t version = 1; /* files from before the attribute */
    sm_status st = SM_OK;
    if (sm_h5_has_attr(sys, "format_version"))
        st = sm_h5_get_attr_int(sys, "format_version", &version);
    if (st != SM_OK || version == SM_CHAINFILE_FORMAT_VERSION)
        return st;
    if (version >= 1 && version < SM_CHAINFILE_FORMAT_VERSION)
        return sm_fail(SM_EMISMATCH,
                       "resume: the file was written by an older sysmap (format version %lld): "
                       "%s; start a new run",
                       (long long)version, older_formats[version]);
    return sm_fail(SM_EMISMATCH,
                   "resume: the file was written by a newer sysmap (format version %lld, this "
                   "one reads %d); resume it with that version or start a new run",
                   (long long)version, SM_CHAINFILE_FORMAT_VERSION);
}

static sm_status resume_file(const open_file_t *o, sm_chainfile_t *cf,
                             const sm_chainfile_meta_t *meta)
{
    sm_status st = check_format_version(o->sys);
    if (st == SM_OK)
        st = check_meta(o->sys, meta);
    if (st == SM_OK)
        st = check_param_names(o->sys, meta);
    if (st == SM_OK)
        st = read_commit(o, cf);
    if (st == SM_OK && meta->n_steps < cf->iteration)
        st = sm_fail(SM_EMISMATCH, "resume: n_steps %zu is fewer than the %zu complete steps "
                                   "in the file", meta->n_steps, cf->iteration);
    if (st == SM_OK && cf->iteration > 0)
        st = restore_emcee_state(o, cf);
    /* A run of another length: its rows, allocated now as at creation. */
    if (st == SM_OK)
        st = set_rows(o->mcmc, "chain", meta->n_steps);
    if (st == SM_OK)
        st = set_rows(o->mcmc, "log_prob", meta->n_steps);
    if (st == SM_OK)
        st = sm_h5_set_attr_int(o->sys, "n_steps", (int64_t)meta->n_steps);
    return st;
}

sm_status sm_chainfile_resume(sm_chainfile_t **out, const char *path,
                              const sm_chainfile_meta_t *meta, size_t *iteration)
{
    if (out == NULL || path == NULL || meta == NULL || iteration == NULL)
        return sm_fail(SM_EINVAL, "sm_chainfile_resume: NULL argument");
    *out = NULL;
    sm_chainfile_t *cf = NULL;
    sm_status st = open_handle(&cf, path, meta, 0);
    if (cf == NULL)
        return st;
    /* Empty: a run killed while it made the file; nothing to continue. */
    if (st == SM_OK && sm_file_is_empty(cf->lock_fd)) {
        *iteration = 0;
        *out = cf;
        return SM_OK;
    }
    sm_h5_quiet_t quiet;
    sm_h5_quiet_begin(&quiet);
    open_file_t o = {H5I_INVALID_HID, H5I_INVALID_HID, H5I_INVALID_HID, {0, 0}};
    if (st == SM_OK)
        st = open_groups(cf, H5F_ACC_RDWR, &o);
    if (st == SM_OK)
        st = resume_file(&o, cf, meta);
    st = close_groups(cf, &o, st);
    sm_h5_quiet_end(&quiet);
    if (st != SM_OK) {
        sm_chainfile_free(cf);
        return st;
    }
    *iteration = cf->iteration;
    *out = cf;
    return SM_OK;
}

/* ---- steps ---- */

sm_status sm_chainfile_read_chain(sm_chainfile_t *file, double *chain, double *log_prob)
{
    if (file == NULL || chain == NULL || log_prob == NULL)
        return sm_fail(SM_EINVAL, "sm_chainfile_read_chain: NULL argument");
    size_t it = file->iteration, w = file->n_walkers, d = file->n_dim;
    if (it == 0)
        return SM_OK;
    sm_h5_quiet_t quiet;
    sm_h5_quiet_begin(&quiet);
    open_file_t o;
    sm_status st = open_groups(file, H5F_ACC_RDONLY, &o);
    if (st == SM_OK)
        st = rows_io(o.mcmc, "chain", H5T_NATIVE_DOUBLE, 0, it, chain, NULL);
    if (st == SM_OK)
        st = rows_io(o.mcmc, "log_prob", H5T_NATIVE_DOUBLE, 0, it, log_prob, NULL);
    if (st == SM_OK && digest_doubles(DIGEST_START, chain, it * w * d) != file->chain_digest)
        st = corrupt(DIG_CHAIN, it);
    if (st == SM_OK && digest_doubles(DIGEST_START, log_prob, it * w) != file->lp_digest)
        st = corrupt(DIG_LOG_PROB, it);
    st = close_groups(file, &o, st);
    sm_h5_quiet_end(&quiet);
    return st;
}

sm_status sm_chainfile_read_state(sm_chainfile_t *file, double *coords_work, double *lp,
                                  double *accepted, sm_rng_state_t *rng)
{
    if (file == NULL || coords_work == NULL || lp == NULL || accepted == NULL || rng == NULL)
        return sm_fail(SM_EINVAL, "sm_chainfile_read_state: NULL argument");
    if (file->iteration == 0)
        return sm_fail(SM_EINVAL, "%s: no complete step to continue from", file->partial);
    sm_h5_quiet_t quiet;
    sm_h5_quiet_begin(&quiet);
    open_file_t o;
    slot_head h;
    sm_status st = open_groups(file, H5F_ACC_RDONLY, &o);
    if (st == SM_OK)
        st = read_slot(o.sys, file, file->slot, coords_work, accepted, &h);
    if (st == SM_OK)
        rng_of(&h, rng);
    /* log_prob does not depend on the basis, so the chain's last row is
     * the walkers' log_prob in the sampling basis too. */
    if (st == SM_OK)
        st = rows_io(o.mcmc, "log_prob", H5T_NATIVE_DOUBLE, file->iteration - 1, 1, lp, NULL);
    st = close_groups(file, &o, st);
    sm_h5_quiet_end(&quiet);
    return st;
}

/* The three phases of an append (see the top of this file); the new
 * checksums of the chain into h. */
static sm_status append_steps(const open_file_t *o, const sm_chainfile_t *cf, size_t n,
                              const double *chain, const double *log_prob,
                              const double *accepted, const sm_rng_state_t *rng,
                              const double *coords_work, slot_head *h)
{
    size_t it = cf->iteration, w = cf->n_walkers, d = cf->n_dim;
    int next = 1 - cf->slot;
    uint8_t commit = (uint8_t)next;
    hsize_t rows = 0;
    sm_status st = check_shapes(o, cf, &rows);
    /* Runs allocate every step at creation; a longer append grows the file. */
    if (st == SM_OK && it + n > rows)
        st = set_rows(o->mcmc, "chain", it + n);
    if (st == SM_OK && it + n > rows)
        st = set_rows(o->mcmc, "log_prob", it + n);
    if (st == SM_OK)
        st = rows_io(o->mcmc, "chain", H5T_NATIVE_DOUBLE, it, n, NULL, chain);
    if (st == SM_OK)
        st = rows_io(o->mcmc, "log_prob", H5T_NATIVE_DOUBLE, it, n, NULL, log_prob);
    h->counters[COUNT_ITERATION] = (int64_t)(it + n);
    h->counters[COUNT_POS] = rng->pos;
    h->counters[COUNT_HAS_GAUSS] = rng->has_gauss;
    memcpy(h->key, rng->key, sizeof h->key);
    h->gauss = rng->gauss;
    digest_slot(cf, coords_work, accepted, h);
    h->digest[DIG_CHAIN] = digest_doubles(cf->chain_digest, chain, n * w * d);
    h->digest[DIG_LOG_PROB] = digest_doubles(cf->lp_digest, log_prob, n * w);
    if (st == SM_OK)
        st = slot_io(o->sys, next, (double *)coords_work, (double *)accepted, NULL, h);
    if (st == SM_OK)
        st = flush(o);
    if (st == SM_OK)
        st = rows_io(o->sys, SLOT_ACTIVE, H5T_NATIVE_UINT8, 0, 1, NULL, &commit);
    if (st == SM_OK)
        st = flush(o);
    if (st == SM_OK)
        st = write_emcee_state(o->mcmc, it + n, accepted, rng);
    return st;
}

sm_status sm_chainfile_append(sm_chainfile_t *file, size_t n, const double *chain,
                              const double *log_prob, const double *accepted,
                              const sm_rng_state_t *rng, const double *coords_work)
{
    if (file == NULL || chain == NULL || log_prob == NULL || accepted == NULL || rng == NULL ||
        coords_work == NULL)
        return sm_fail(SM_EINVAL, "sm_chainfile_append: NULL argument");
    if (n == 0)
        return SM_OK;
    sm_h5_quiet_t quiet;
    sm_h5_quiet_begin(&quiet);
    open_file_t o;
    slot_head h;
    sm_status st = open_groups(file, H5F_ACC_RDWR, &o);
    if (st == SM_OK)
        st = append_steps(&o, file, n, chain, log_prob, accepted, rng, coords_work, &h);
    st = close_groups(file, &o, st);
    sm_h5_quiet_end(&quiet);
    /* Committed: the handle follows. (On failure the file holds the old or
     * the new commit; either resumes, and this run stops anyway.) */
    if (st == SM_OK) {
        file->iteration += n;
        file->slot = 1 - file->slot;
        file->chain_digest = h.digest[DIG_CHAIN];
        file->lp_digest = h.digest[DIG_LOG_PROB];
    }
    return st;
}

/* ---- summary and end ---- */

sm_status sm_chainfile_write_summary(sm_chainfile_t *file, const sm_chainfile_summary_t *summary)
{
    if (file == NULL || summary == NULL)
        return sm_fail(SM_EINVAL, "sm_chainfile_write_summary: NULL argument");
    if (SM_ABI_CHECK(summary, sm_chainfile_summary_t, "sm_chainfile_summary_init") != SM_OK)
        return SM_EINVAL;
    summary_set sets[N_SUMMARY_SETS];
    summary_sets(file->n_dim, file->n_sys, file->n_walkers, summary, sets);
    sm_h5_quiet_t quiet;
    sm_h5_quiet_begin(&quiet);
    open_file_t o;
    sm_status st = open_groups(file, H5F_ACC_RDWR, &o);
    /* In place: the datasets exist since creation. A NULL array (a model
     * without a or b) stays NaN. */
    for (size_t k = 0; k < N_SUMMARY_SETS && st == SM_OK; k++)
        if (sets[k].data != NULL)
            st = whole_io(o.sys, sets[k].name, NULL, sets[k].data);
    if (st == SM_OK)
        st = write_summary_attrs(o.sys, summary->autocorr_too_short, summary->wall_s,
                                 summary->evals_per_s, summary->eval_s, summary->n_kept);
    st = close_groups(file, &o, st);
    sm_h5_quiet_end(&quiet);
    return st;
}

sm_status sm_chainfile_write_warnings(sm_chainfile_t *file, size_t n,
                                      const char *const *warnings)
{
    if (file == NULL || (n > 0 && warnings == NULL))
        return sm_fail(SM_EINVAL, "sm_chainfile_write_warnings: NULL argument");
    if (n > SM_CHAINFILE_MAX_WARNINGS)
        return sm_fail(SM_EINVAL, "run file: %zu warnings, room for %d", n,
                       SM_CHAINFILE_MAX_WARNINGS);
    const size_t len = SM_CHAINFILE_WARNING_LEN;
    char *text = calloc(SM_CHAINFILE_MAX_WARNINGS, len);
    if (text == NULL)
        return SM_FAIL_NOMEM("warnings");
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(warnings[i]);
        memcpy(text + i * len, warnings[i], k < len ? k : len);
        if (k > len) /* cut, and says so */
            memcpy(text + (i + 1) * len - 3, "...", 3);
    }
    sm_h5_quiet_t quiet;
    sm_h5_quiet_begin(&quiet);
    open_file_t o;
    hid_t type = warning_type();
    sm_status st = open_groups(file, H5F_ACC_RDWR, &o);
    if (st == SM_OK)
        st = rows_io(o.sys, "warnings", type, 0, SM_CHAINFILE_MAX_WARNINGS, NULL, text);
    st = close_groups(file, &o, st);
    sm_h5_close(type);
    sm_h5_quiet_end(&quiet);
    free(text);
    return st;
}

/* Releases the handle whether or not the rename succeeds; a failure
 * leaves PATH.partial in place. */
sm_status sm_chainfile_finish(sm_chainfile_t *file)
{
    if (file == NULL)
        return sm_fail(SM_EINVAL, "sm_chainfile_finish: NULL argument");
    /* Synced before the rename: never a complete-looking, half-written PATH;
     * renamed under the lock: no other run starts on it half way. */
    sm_status st = sm_file_sync_rename(file->partial, file->path);
    sm_chainfile_free(file);
    return st;
}

void sm_chainfile_discard(sm_chainfile_t *file)
{
    if (file == NULL)
        return;
    /* Only the lock's holder removes the file, and only one it made. */
    if (file->lock_fd >= 0 && file->made_partial)
        unlink(file->partial);
    sm_chainfile_free(file);
}

void sm_chainfile_free(sm_chainfile_t *file)
{
    if (file == NULL)
        return;
    sm_file_unlock(file->lock_fd);
    free(file->path);
    free(file->partial);
    free(file);
}
