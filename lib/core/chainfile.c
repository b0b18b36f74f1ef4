/* The run file. Layout (h5py's types throughout, so emcee reads it):
 *   /mcmc    emcee's HDFBackend group: attrs version ("sysmap-<version>":
 *            the writer, as emcee records its own version), nwalkers, ndim,
 *            iteration (int64), has_blobs (bool), random_state_0..4 (numpy's
 *            get_state() tuple); datasets chain (steps, W, n_dim) and
 *            log_prob (steps, W), first axis unlimited, accepted (W,).
 *   /sysmap  the settings (attrs, one per sm_chainfile_meta_t field, plus
 *            basis = "original": chain and summaries are in the original
 *            template basis, version, and format_version =
 *            SM_CHAINFILE_FORMAT_VERSION), param_names, the walkers in the
 *            sampling basis for a resume (resume_coords, with attr
 *            resume_iteration = the step they belong to), the summary
 *            (datasets median, ..., drift; attrs n_kept, ...) and the
 *            run's warnings (string dataset warnings).
 *
 * Each call opens the file and closes it before returning, as emcee's
 * backend does: between appends (nearly all of a run) the file on disk is
 * closed and complete, so a kill can only damage it during the
 * milliseconds an append takes. The default (oldest) file format keeps
 * h5py able to read it and has no "open for writing" flag that a killed
 * writer would leave set. */
#include "sysmap/chainfile.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "fileutil.h"
#include "h5util.h"
#include "sysmap/version.h"

struct sm_chainfile {
    char *path, *partial;
    size_t n_walkers, n_dim, n_sys;
    size_t iteration;  /* complete steps in the file */
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

/* ---- creating ---- */

static sm_status check_meta_args(const sm_chainfile_meta_t *meta)
{
    if (meta->n_walkers == 0 || meta->n_dim == 0)
        return sm_fail(SM_EINVAL, "run file: n_walkers (%zu) and n_dim (%zu) must be positive",
                       meta->n_walkers, meta->n_dim);
    if (meta->param_names == NULL)
        return sm_fail(SM_EINVAL, "run file: param_names is NULL");
    return SM_OK;
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
        cf->path = strdup(path);
        cf->partial = malloc(len + sizeof SM_PARTIAL_SUFFIX);
    }
    if (cf == NULL || cf->path == NULL || cf->partial == NULL) {
        sm_chainfile_free(cf);
        return SM_FAIL_NOMEM("run file handle");
    }
    memcpy(cf->partial, path, len);
    memcpy(cf->partial + len, SM_PARTIAL_SUFFIX, sizeof SM_PARTIAL_SUFFIX);
    cf->n_walkers = meta->n_walkers;
    cf->n_dim = meta->n_dim;
    cf->n_sys = meta->n_sys;
    *out = cf;
    return SM_OK;
}

/* A float64 dataset of shape (0, rest...) that grows along its first axis,
 * chunked by whole steps, about 256 KiB a chunk. */
static sm_status create_growing(hid_t g, const char *name, int rank, const hsize_t *rest)
{
    hsize_t dims[3] = {0}, maxdims[3] = {H5S_UNLIMITED}, chunk[3];
    hsize_t row = sizeof(double);
    for (int i = 1; i < rank; i++) {
        dims[i] = maxdims[i] = chunk[i] = rest[i - 1];
        row *= rest[i - 1];
    }
    chunk[0] = row >= (hsize_t)1 << 18 ? 1 : ((hsize_t)1 << 18) / row;
    hid_t space = H5Screate_simple(rank, dims, maxdims);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t dset = H5I_INVALID_HID;
    if (space >= 0 && dcpl >= 0 && H5Pset_chunk(dcpl, rank, chunk) >= 0)
        dset = H5Dcreate2(g, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    int ok = dset >= 0;
    sm_h5_close(dset);
    sm_h5_close(dcpl);
    sm_h5_close(space);
    return ok ? SM_OK : sm_fail(SM_EIO, "cannot create dataset '%s'", name);
}

static sm_status create_zeros(hid_t g, const char *name, int rank, const hsize_t *dims)
{
    size_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= (size_t)dims[i];
    double *zeros = calloc(n, sizeof *zeros);
    if (zeros == NULL)
        return SM_FAIL_NOMEM(name);
    sm_status st =
        sm_h5_write_dataset(g, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, rank, dims, zeros);
    free(zeros);
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
    sm_status st = sm_h5_set_attr_str(g, "version", version);
    if (st == SM_OK)
        st = sm_h5_set_attr_int(g, "nwalkers", (int64_t)meta->n_walkers);
    if (st == SM_OK)
        st = sm_h5_set_attr_int(g, "ndim", (int64_t)meta->n_dim);
    if (st == SM_OK)
        st = sm_h5_set_attr_bool(g, "has_blobs", 0);
    if (st == SM_OK)
        st = sm_h5_set_attr_int(g, "iteration", 0);
    if (st == SM_OK)
        st = create_zeros(g, "accepted", 1, &w);
    if (st == SM_OK)
        st = create_growing(g, "chain", 3, shape);
    if (st == SM_OK)
        st = create_growing(g, "log_prob", 2, shape);
    H5Gclose(g);
    return st;
}

static sm_status write_sysmap(hid_t file, const sm_chainfile_meta_t *meta)
{
    hsize_t shape[2] = {meta->n_walkers, meta->n_dim};
    hid_t g = H5Gcreate2(file, "sysmap", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return sm_fail(SM_EIO, "cannot create group 'sysmap'");
    sm_status st = SM_OK;
    for (size_t k = 0; k < sizeof meta_fields / sizeof *meta_fields && st == SM_OK; k++)
        st = meta_write(g, &meta_fields[k], meta_get(meta, &meta_fields[k]));
    if (st == SM_OK)
        st = sm_h5_set_attr_str(g, "basis", "original");
    if (st == SM_OK)
        st = sm_h5_set_attr_str(g, "version", sm_version());
    if (st == SM_OK)
        st = sm_h5_set_attr_int(g, "format_version", SM_CHAINFILE_FORMAT_VERSION);
    if (st == SM_OK)
        st = sm_h5_set_attr_int(g, "resume_iteration", 0);
    if (st == SM_OK)
        st = create_zeros(g, "resume_coords", 2, shape);
    const char **names = calloc(meta->n_dim, sizeof *names);
    if (st == SM_OK && names == NULL)
        st = SM_FAIL_NOMEM("param_names");
    if (st == SM_OK) {
        for (size_t k = 0; k < meta->n_dim; k++)
            names[k] = meta->param_names[k] ? meta->param_names[k] : "";
        hid_t type = sm_h5_str_type();
        st = sm_h5_write_dataset(g, "param_names", type, type, 1, &shape[1], names);
        sm_h5_close(type);
    }
    free(names);
    H5Gclose(g);
    return st;
}

sm_status sm_chainfile_create(sm_chainfile_t **out, const char *path,
                              const sm_chainfile_meta_t *meta)
{
    if (out == NULL || path == NULL || meta == NULL)
        return sm_fail(SM_EINVAL, "sm_chainfile_create: NULL argument");
    *out = NULL;
    sm_chainfile_t *cf = NULL;
    sm_status st = new_handle(&cf, path, meta);
    if (st != SM_OK)
        return st;
    sm_h5_quiet_t quiet;
    sm_h5_quiet_begin(&quiet);
    hid_t file = H5I_INVALID_HID;
    st = sm_h5_create_file(cf->partial, &file);
    if (st == SM_OK) {
        st = write_mcmc(file, meta);
        if (st == SM_OK)
            st = write_sysmap(file, meta);
        if (H5Fclose(file) < 0 && st == SM_OK)
            st = sm_fail(SM_EIO, "closing failed");
        if (st != SM_OK) {
            sm_fail_context(st, "writing %s", cf->partial);
            unlink(cf->partial);
        }
    }
    sm_h5_quiet_end(&quiet);
    if (st != SM_OK) {
        sm_chainfile_free(cf);
        return st;
    }
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

/* The file's shapes and its two step counters: mcmc/iteration, which
 * emcee also advances, and sysmap/resume_iteration, the step the stored
 * walkers belong to. An append sets resume_iteration and flushes before
 * it sets iteration; a kill in between leaves every step of the append
 * on disk, so the file is rolled forward. */
static sm_status reconcile(hid_t mcmc, hid_t sys, const sm_chainfile_t *cf, size_t *iteration)
{
    hsize_t w = cf->n_walkers, d = cf->n_dim;
    hsize_t chain_shape[3] = {0, w, d}, lp_shape[2] = {0, w}, coords_shape[2] = {w, d};
    hsize_t chain_rows = 0, lp_rows = 0;
    int64_t it = 0, resume_it = 0;
    sm_status st = sm_h5_get_attr_int(mcmc, "iteration", &it);
    if (st == SM_OK)
        st = sm_h5_get_attr_int(sys, "resume_iteration", &resume_it);
    if (st == SM_OK)
        st = check_extent(mcmc, "chain", 3, chain_shape, &chain_rows);
    if (st == SM_OK)
        st = check_extent(mcmc, "log_prob", 2, lp_shape, &lp_rows);
    if (st == SM_OK)
        st = check_extent(mcmc, "accepted", 1, &w, NULL);
    if (st == SM_OK)
        st = check_extent(sys, "resume_coords", 2, coords_shape, NULL);
    if (st != SM_OK)
        return st;
    hsize_t rows = chain_rows < lp_rows ? chain_rows : lp_rows;
    if (it < 0 || resume_it < 0 || (hsize_t)it > rows || (hsize_t)resume_it > rows)
        return sm_fail(SM_EFORMAT, "iteration %lld / resume_iteration %lld beyond the %llu "
                                   "stored steps", (long long)it, (long long)resume_it,
                       (unsigned long long)rows);
    if (resume_it < it)
        return sm_fail(SM_EMISMATCH,
                       "resume: the chain has %lld steps but sysmap's walker state is from step "
                       "%lld (was the file continued by another program?)",
                       (long long)it, (long long)resume_it);
    if (resume_it > it)
        st = sm_h5_set_attr_int(mcmc, "iteration", resume_it);
    *iteration = (size_t)resume_it;
    return st;
}

/* A file of another format version means other parameters: refused. */
static sm_status check_format_version(hid_t sys)
{
    int64_t version = 1; /* files from before the attribute */
    sm_status st = SM_OK;
    if (sm_h5_has_attr(sys, "format_version"))
        st = sm_h5_get_attr_int(sys, "format_version", &version);
    if (st != SM_OK || version == SM_CHAINFILE_FORMAT_VERSION)
        return st;
    if (version < SM_CHAINFILE_FORMAT_VERSION)
        return sm_fail(SM_EMISMATCH,
                       "resume: the file was written by an older sysmap (format version %lld): "
                       "its multiplicative model set a = 0, this version uses b = a; start a "
                       "new run",
                       (long long)version);
    return sm_fail(SM_EMISMATCH,
                   "resume: the file was written by a newer sysmap (format version %lld, this "
                   "one reads %d); resume it with that version or start a new run",
                   (long long)version, SM_CHAINFILE_FORMAT_VERSION);
}

static sm_status resume_file(hid_t file, sm_chainfile_t *cf, const sm_chainfile_meta_t *meta)
{
    hid_t mcmc = H5I_INVALID_HID, sys = H5I_INVALID_HID;
    sm_status st = sm_h5_open_group(file, "mcmc", &mcmc);
    if (st == SM_OK)
        st = sm_h5_open_group(file, "sysmap", &sys);
    if (st == SM_OK)
        st = check_format_version(sys);
    if (st == SM_OK)
        st = check_meta(sys, meta);
    if (st == SM_OK)
        st = check_param_names(sys, meta);
    if (st == SM_OK)
        st = reconcile(mcmc, sys, cf, &cf->iteration);
    if (st == SM_OK && meta->n_steps < cf->iteration)
        st = sm_fail(SM_EMISMATCH, "resume: n_steps %zu is fewer than the %zu complete steps "
                                   "in the file", meta->n_steps, cf->iteration);
    if (st == SM_OK)
        st = sm_h5_set_attr_int(sys, "n_steps", (int64_t)meta->n_steps);
    sm_h5_close(sys);
    sm_h5_close(mcmc);
    return st;
}

sm_status sm_chainfile_resume(sm_chainfile_t **out, const char *path,
                              const sm_chainfile_meta_t *meta, size_t *iteration)
{
    if (out == NULL || path == NULL || meta == NULL || iteration == NULL)
        return sm_fail(SM_EINVAL, "sm_chainfile_resume: NULL argument");
    *out = NULL;
    sm_chainfile_t *cf = NULL;
    sm_status st = new_handle(&cf, path, meta);
    if (st != SM_OK)
        return st;
    sm_h5_quiet_t quiet;
    sm_h5_quiet_begin(&quiet);
    hid_t file = H5I_INVALID_HID;
    st = sm_h5_open_file(cf->partial, H5F_ACC_RDWR, &file);
    if (st == SM_OK) {
        st = resume_file(file, cf, meta);
        if (H5Fclose(file) < 0 && st == SM_OK)
            st = sm_fail(SM_EIO, "closing failed");
        if (st != SM_OK && st != SM_EMISMATCH)
            sm_fail_context(st, "resuming %s", cf->partial);
    }
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

/* Reads rows [first, first + n) of a growing dataset into in, or writes
 * them from out (the other NULL), extending the dataset to first + n rows;
 * a row holds row_len doubles. */
static sm_status rows_io(hid_t g, const char *name, size_t first, size_t n, size_t row_len,
                         double *in, const double *out)
{
    int write = out != NULL;
    hid_t dset, fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    sm_status st = sm_h5_open_dataset(g, name, &dset);
    if (st != SM_OK)
        return st;
    hsize_t dims[H5S_MAX_RANK], start[H5S_MAX_RANK] = {0}, count[H5S_MAX_RANK];
    hid_t space = H5Dget_space(dset);
    int rank = space < 0 ? -1 : H5Sget_simple_extent_dims(space, dims, NULL);
    sm_h5_close(space);
    int ok = rank >= 1;
    if (ok) {
        memcpy(count, dims, sizeof dims);
        start[0] = first;
        count[0] = n;
        dims[0] = first + n;
        hsize_t mdims[1] = {(hsize_t)(n * row_len)};
        ok = (!write || H5Dset_extent(dset, dims) >= 0) &&
             (fspace = H5Dget_space(dset)) >= 0 &&
             H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
             (mspace = H5Screate_simple(1, mdims, NULL)) >= 0 &&
             (write ? H5Dwrite(dset, H5T_NATIVE_DOUBLE, mspace, fspace, H5P_DEFAULT, out)
                    : H5Dread(dset, H5T_NATIVE_DOUBLE, mspace, fspace, H5P_DEFAULT, in)) >= 0;
    }
    sm_h5_close(mspace);
    sm_h5_close(fspace);
    H5Dclose(dset);
    if (!ok)
        return sm_fail(SM_EIO, "cannot %s steps %zu to %zu of '%s'", write ? "write" : "read",
                       first + 1, first + n, name);
    return SM_OK;
}

/* Reads a whole fixed-shape float64 dataset into in, or overwrites it
 * from out (the other NULL). */
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
    H5Dclose(dset);
    return st;
}

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

static sm_status read_rng(hid_t mcmc, sm_rng_state_t *rng)
{
    char *name = NULL;
    uint64_t key[SM_RNG_KEY_LEN];
    hsize_t dims[1];
    int64_t pos = 0, has_gauss = 0;
    hid_t attr = H5I_INVALID_HID;
    sm_status st = sm_h5_get_attr_str(mcmc, "random_state_0", &name);
    if (st == SM_OK && strcmp(name, "MT19937") != 0)
        st = sm_fail(SM_EFORMAT, "random_state_0: generator \"%s\", expected \"MT19937\"", name);
    free(name);
    if (st == SM_OK)
        st = sm_h5_open_attr(mcmc, "random_state_1", &attr);
    if (st == SM_OK)
        st = sm_h5_shape(attr, "random_state_1", 1, dims);
    if (st == SM_OK && dims[0] != SM_RNG_KEY_LEN)
        st = sm_fail(SM_EFORMAT, "random_state_1: %llu words, expected %d",
                     (unsigned long long)dims[0], SM_RNG_KEY_LEN);
    if (st == SM_OK)
        st = sm_h5_read_u64(attr, "random_state_1", key);
    sm_h5_close(attr);
    if (st == SM_OK)
        st = sm_h5_get_attr_int(mcmc, "random_state_2", &pos);
    if (st == SM_OK)
        st = sm_h5_get_attr_int(mcmc, "random_state_3", &has_gauss);
    if (st == SM_OK)
        st = sm_h5_get_attr_f64(mcmc, "random_state_4", &rng->gauss);
    if (st == SM_OK && (pos < 0 || pos > SM_RNG_KEY_LEN))
        st = sm_fail(SM_EFORMAT, "random_state_2: position %lld outside 0..%d", (long long)pos,
                     SM_RNG_KEY_LEN);
    if (st != SM_OK)
        return st;
    for (size_t i = 0; i < SM_RNG_KEY_LEN; i++)
        rng->key[i] = (uint32_t)key[i];
    rng->pos = (int)pos;
    rng->has_gauss = has_gauss != 0;
    return SM_OK;
}

/* The partial file and its two groups, open for one call. */
typedef struct {
    hid_t file, mcmc, sys;
} open_file_t;

static sm_status open_groups(const sm_chainfile_t *cf, unsigned flags, open_file_t *o)
{
    o->file = o->mcmc = o->sys = H5I_INVALID_HID;
    sm_status st = sm_h5_open_file(cf->partial, flags, &o->file);
    if (st == SM_OK)
        st = sm_h5_open_group(o->file, "mcmc", &o->mcmc);
    if (st == SM_OK)
        st = sm_h5_open_group(o->file, "sysmap", &o->sys);
    return st;
}

/* Closes what open_groups opened (a failing close means the last writes
 * failed) and names the file in the message of a failure. */
static sm_status close_groups(const sm_chainfile_t *cf, open_file_t *o, sm_status st)
{
    sm_h5_close(o->sys);
    sm_h5_close(o->mcmc);
    if (o->file >= 0 && H5Fclose(o->file) < 0 && st == SM_OK)
        st = sm_fail(SM_EIO, "closing failed");
    if (st != SM_OK && strstr(sm_last_error(), cf->partial) == NULL)
        sm_fail_context(st, "%s", cf->partial);
    return st;
}

sm_status sm_chainfile_read_chain(sm_chainfile_t *file, double *chain, double *log_prob)
{
    if (file == NULL || chain == NULL || log_prob == NULL)
        return sm_fail(SM_EINVAL, "sm_chainfile_read_chain: NULL argument");
    if (file->iteration == 0)
        return SM_OK;
    size_t w = file->n_walkers, d = file->n_dim;
    sm_h5_quiet_t quiet;
    sm_h5_quiet_begin(&quiet);
    open_file_t o;
    sm_status st = open_groups(file, H5F_ACC_RDONLY, &o);
    if (st == SM_OK)
        st = rows_io(o.mcmc, "chain", 0, file->iteration, w * d, chain, NULL);
    if (st == SM_OK)
        st = rows_io(o.mcmc, "log_prob", 0, file->iteration, w, log_prob, NULL);
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
    sm_status st = open_groups(file, H5F_ACC_RDONLY, &o);
    if (st == SM_OK)
        st = whole_io(o.sys, "resume_coords", coords_work, NULL);
    /* log_prob does not depend on the basis, so the chain's last row is
     * the walkers' log_prob in the sampling basis too. */
    if (st == SM_OK)
        st = rows_io(o.mcmc, "log_prob", file->iteration - 1, 1, file->n_walkers, lp, NULL);
    if (st == SM_OK)
        st = whole_io(o.mcmc, "accepted", accepted, NULL);
    if (st == SM_OK)
        st = read_rng(o.mcmc, rng);
    st = close_groups(file, &o, st);
    sm_h5_quiet_end(&quiet);
    return st;
}

/* Steps first, then the state that goes with them, flushed; iteration
 * last, so a file on disk never counts a step it does not hold. */
static sm_status append_steps(open_file_t *o, size_t it, size_t n, size_t w, size_t d,
                              const double *chain, const double *log_prob,
                              const double *accepted, const sm_rng_state_t *rng,
                              const double *coords_work)
{
    sm_status st = rows_io(o->mcmc, "chain", it, n, w * d, NULL, chain);
    if (st == SM_OK)
        st = rows_io(o->mcmc, "log_prob", it, n, w, NULL, log_prob);
    if (st == SM_OK)
        st = whole_io(o->mcmc, "accepted", NULL, accepted);
    if (st == SM_OK)
        st = write_rng(o->mcmc, rng);
    if (st == SM_OK)
        st = whole_io(o->sys, "resume_coords", NULL, coords_work);
    if (st == SM_OK)
        st = sm_h5_set_attr_int(o->sys, "resume_iteration", (int64_t)(it + n));
    if (st == SM_OK && H5Fflush(o->file, H5F_SCOPE_GLOBAL) < 0)
        st = sm_fail(SM_EIO, "flush failed");
    if (st == SM_OK)
        st = sm_h5_set_attr_int(o->mcmc, "iteration", (int64_t)(it + n));
    if (st == SM_OK && H5Fflush(o->file, H5F_SCOPE_GLOBAL) < 0)
        st = sm_fail(SM_EIO, "flush failed");
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
    sm_status st = open_groups(file, H5F_ACC_RDWR, &o);
    if (st == SM_OK)
        st = append_steps(&o, file->iteration, n, file->n_walkers, file->n_dim, chain, log_prob,
                          accepted, rng, coords_work);
    st = close_groups(file, &o, st);
    sm_h5_quiet_end(&quiet);
    if (st == SM_OK)
        file->iteration += n;
    return st;
}

/* ---- summary and end ---- */

static sm_status write_summary(hid_t sys, const sm_chainfile_t *cf, const sm_summary_t *sum)
{
    hsize_t d = cf->n_dim, s = cf->n_sys, w = cf->n_walkers;
    hsize_t ss[2] = {s, s};
    const struct {
        const char *name;
        const double *data;
        int rank;
        const hsize_t *dims;
    } sets[] = {
        {"median", sum->median, 1, &d},
        {"std", sum->std, 1, &d},
        {"var_a", sum->var_a, 1, &s},
        {"var_b", sum->var_b, 1, &s},
        {"cov_a", sum->cov_a, 2, ss},
        {"cov_b", sum->cov_b, 2, ss},
        {"acceptance_fraction", sum->acceptance_fraction, 1, &w},
        {"autocorr_time", sum->autocorr_time, 1, &d},
        {"ess", sum->ess, 1, &d},
        {"drift", sum->drift, 1, &d},
    };
    sm_status st = SM_OK;
    /* A model without a or b has no var/cov for it: NULL arrays are left out. */
    for (size_t k = 0; k < sizeof sets / sizeof *sets && st == SM_OK; k++)
        if (sets[k].data != NULL)
            st = sm_h5_write_dataset(sys, sets[k].name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                                     sets[k].rank, sets[k].dims, sets[k].data);
    if (st == SM_OK)
        st = sm_h5_set_attr_bool(sys, "autocorr_too_short", sum->autocorr_too_short);
    if (st == SM_OK)
        st = sm_h5_set_attr_f64(sys, "wall_s", sum->wall_s);
    if (st == SM_OK)
        st = sm_h5_set_attr_f64(sys, "evals_per_s", sum->evals_per_s);
    if (st == SM_OK)
        st = sm_h5_set_attr_f64(sys, "eval_s", sum->eval_s);
    if (st == SM_OK)
        st = sm_h5_set_attr_int(sys, "n_kept", (int64_t)sum->n_kept);
    return st;
}

sm_status sm_chainfile_write_summary(sm_chainfile_t *file, const sm_summary_t *summary)
{
    if (file == NULL || summary == NULL)
        return sm_fail(SM_EINVAL, "sm_chainfile_write_summary: NULL argument");
    sm_h5_quiet_t quiet;
    sm_h5_quiet_begin(&quiet);
    open_file_t o;
    sm_status st = open_groups(file, H5F_ACC_RDWR, &o);
    if (st == SM_OK)
        st = write_summary(o.sys, file, summary);
    st = close_groups(file, &o, st);
    sm_h5_quiet_end(&quiet);
    return st;
}

sm_status sm_chainfile_write_warnings(sm_chainfile_t *file, size_t n,
                                      const char *const *warnings)
{
    if (file == NULL || (n > 0 && warnings == NULL))
        return sm_fail(SM_EINVAL, "sm_chainfile_write_warnings: NULL argument");
    sm_h5_quiet_t quiet;
    sm_h5_quiet_begin(&quiet);
    open_file_t o;
    sm_status st = open_groups(file, H5F_ACC_RDWR, &o);
    if (st == SM_OK) {
        hsize_t dims[1] = {n};
        hid_t type = sm_h5_str_type();
        /* Written even when empty: readers tell "no warnings" from "not recorded". */
        static const char *const none[1] = {""};
        st = sm_h5_write_dataset(o.sys, "warnings", type, type, 1, dims, n > 0 ? warnings : none);
        sm_h5_close(type);
    }
    st = close_groups(file, &o, st);
    sm_h5_quiet_end(&quiet);
    return st;
}

/* Releases the handle whether or not the rename succeeds; a failure
 * leaves PATH.partial in place. */
sm_status sm_chainfile_finish(sm_chainfile_t *file)
{
    if (file == NULL)
        return sm_fail(SM_EINVAL, "sm_chainfile_finish: NULL argument");
    /* Synced before the rename: never a complete-looking, half-written PATH. */
    sm_status st = sm_file_sync_rename(file->partial, file->path);
    sm_chainfile_free(file);
    return st;
}

void sm_chainfile_free(sm_chainfile_t *file)
{
    if (file == NULL)
        return;
    free(file->path);
    free(file->partial);
    free(file);
}
