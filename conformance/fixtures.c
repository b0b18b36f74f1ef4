/* Fixture files: one HDF5 file per case (schema in data/conformance/README.md).
 * One table of the float64 arrays drives writing, reading and the
 * checksum, so the three cannot disagree about the schema. Files are
 * written without timestamps, so the same content gives the same bytes. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform.h"
#include "error.h"
#include "h5util.h"
#include "hash.h"

#define N_SUMS 3
#define CHAIN_CHUNK_STEPS 50
#define DEFLATE_LEVEL 6

size_t conform_fixture_n_dim(const conform_fixture_t *fx)
{
    return sm_model_n_dim(&fx->model);
}

typedef struct {
    const char *path;   /* group/dataset */
    double **data;
    int rank;
    hsize_t dims[3];
    int compress;       /* the chain: repeated rows (rejections) shrink well */
} f64_field_t;

enum { MAX_FIELDS = 16 };

static size_t f64_fields(conform_fixture_t *fx, f64_field_t *f)
{
    hsize_t p = fx->n_sets, d = conform_fixture_n_dim(fx), s = fx->model.n_sys;
    hsize_t w = fx->n_walkers, n = fx->n_steps;
    size_t k = 0;
    f[k++] = (f64_field_t){"lp/params", &fx->params, 2, {p, d, 0}, 0};
    f[k++] = (f64_field_t){"lp/log_prob", &fx->lp, 1, {p, 0, 0}, 0};
    f[k++] = (f64_field_t){"lp/sums", &fx->sums, 2, {p, N_SUMS, 0}, 0};
    f[k++] = (f64_field_t){"lp/bound", &fx->bound, 1, {p, 0, 0}, 0};
    if (n == 0)
        return k;
    f[k++] = (f64_field_t){"chain/p0", &fx->p0, 2, {w, d, 0}, 0};
    f[k++] = (f64_field_t){"chain/chain", &fx->chain, 3, {n, w, d}, 1};
    f[k++] = (f64_field_t){"chain/log_prob", &fx->chain_lp, 2, {n, w, 0}, 1};
    f[k++] = (f64_field_t){"chain/median", &fx->median, 1, {d, 0, 0}, 0};
    f[k++] = (f64_field_t){"chain/std", &fx->std, 1, {d, 0, 0}, 0};
    f[k++] = (f64_field_t){"chain/ess", &fx->ess, 1, {d, 0, 0}, 0};
    f[k++] = (f64_field_t){"chain/cov_a", &fx->cov_a, 2, {s, s, 0}, 0};
    f[k++] = (f64_field_t){"chain/cov_b", &fx->cov_b, 2, {s, s, 0}, 0};
    return k;
}

static size_t field_len(const f64_field_t *f)
{
    size_t len = 1;
    for (int i = 0; i < f->rank; i++)
        len *= (size_t)f->dims[i];
    return len;
}

sm_status conform_fixture_alloc(conform_fixture_t *fx, size_t n_sets, size_t n_walkers,
                                size_t n_steps)
{
    fx->n_sets = n_sets;
    fx->n_walkers = n_steps > 0 ? n_walkers : 0;
    fx->n_steps = n_steps;
    f64_field_t f[MAX_FIELDS];
    size_t nf = f64_fields(fx, f);
    for (size_t i = 0; i < nf; i++)
        if ((*f[i].data = calloc(field_len(&f[i]) + 1, sizeof(double))) == NULL)
            return SM_FAIL_NOMEM(f[i].path);
    if ((fx->exact = calloc(n_sets + 1, 1)) == NULL)
        return SM_FAIL_NOMEM("lp/exact");
    return SM_OK;
}

void conform_fixture_free(conform_fixture_t *fx)
{
    double **arrays[] = {&fx->params, &fx->lp, &fx->sums, &fx->bound, &fx->p0, &fx->chain,
                         &fx->chain_lp, &fx->median, &fx->std, &fx->ess, &fx->cov_a, &fx->cov_b};
    for (size_t i = 0; i < sizeof arrays / sizeof *arrays; i++) {
        free(*arrays[i]);
        *arrays[i] = NULL;
    }
    free(fx->exact);
    fx->exact = NULL;
}

/* ---- checksum ---------------------------------------------------------- */

static uint64_t fnv_str(uint64_t h, const char *s)
{
    return sm_fnv_bytes(h, s, strlen(s) + 1);
}

uint64_t conform_fixture_checksum(const conform_fixture_t *fx)
{
    const conform_recipe_t *r = &fx->recipe;
    uint64_t h = sm_fnv_u64(SM_FNV_OFFSET, CONFORM_FORMAT_VERSION);
    h = fnv_str(fnv_str(h, fx->name), fx->description);
    h = sm_fnv_u64(sm_fnv_u64(h, (uint64_t)fx->model.kind), (uint64_t)fx->model.skew);
    h = sm_fnv_f64(sm_fnv_u64(h, fx->model.n_sys), &fx->model.sigma_min, 1);
    h = sm_fnv_u64(sm_fnv_u64(fnv_str(h, r->recipe), r->seed), r->n_pix);
    h = sm_fnv_f64(sm_fnv_f64(h, &r->noise, 1), &r->noise_gamma, 1);
    h = sm_fnv_f64(sm_fnv_f64(h, r->inj_a, fx->model.n_sys), r->inj_b, fx->model.n_sys);
    h = sm_fnv_u64(sm_fnv_u64(h, fx->map_digest), fx->n_sets);
    h = sm_fnv_bytes(h, fx->exact, fx->n_sets);
    h = sm_fnv_u64(sm_fnv_u64(sm_fnv_u64(sm_fnv_u64(h, fx->seed), fx->n_walkers), fx->n_steps), fx->n_burn);
    f64_field_t f[MAX_FIELDS];
    size_t nf = f64_fields((conform_fixture_t *)fx, f);
    for (size_t i = 0; i < nf; i++)
        h = sm_fnv_f64(fnv_str(h, f[i].path), *f[i].data, field_len(&f[i]));
    return h;
}

/* ---- writing ------------------------------------------------------------ */

static sm_status write_array(hid_t file, const char *path, hid_t type, int rank,
                             const hsize_t *dims, int compress, const void *buf)
{
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    int ok = space >= 0 && dcpl >= 0 && H5Pset_obj_track_times(dcpl, 0) >= 0;
    if (ok && compress && dims[0] > 0) {
        hsize_t chunk[3] = {dims[0] < CHAIN_CHUNK_STEPS ? dims[0] : CHAIN_CHUNK_STEPS, dims[1],
                            rank > 2 ? dims[2] : 1};
        ok = H5Pset_chunk(dcpl, rank, chunk) >= 0 && H5Pset_shuffle(dcpl) >= 0 &&
             H5Pset_deflate(dcpl, DEFLATE_LEVEL) >= 0;
    }
    hid_t dset = ok ? H5Dcreate2(file, path, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT)
                    : H5I_INVALID_HID;
    ok = dset >= 0 && H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0;
    sm_h5_close(dset);
    sm_h5_close(dcpl);
    sm_h5_close(space);
    return ok ? SM_OK : sm_fail(SM_EIO, "cannot write dataset '%s'", path);
}

static sm_status make_group(hid_t file, const char *name, hid_t *out)
{
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    *out = gcpl >= 0 && H5Pset_obj_track_times(gcpl, 0) >= 0
               ? H5Gcreate2(file, name, H5P_DEFAULT, gcpl, H5P_DEFAULT)
               : H5I_INVALID_HID;
    sm_h5_close(gcpl);
    return *out >= 0 ? SM_OK : sm_fail(SM_EIO, "cannot create group '%s'", name);
}

static sm_status write_root_attrs(hid_t file, const conform_fixture_t *fx)
{
    const conform_recipe_t *r = &fx->recipe;
    hsize_t s = fx->model.n_sys;
    hid_t f64 = H5T_NATIVE_DOUBLE;
    sm_status st = sm_h5_set_attr_int(file, "format_version", CONFORM_FORMAT_VERSION);
    if (st == SM_OK)
        st = sm_h5_set_attr_str(file, "name", fx->name);
    if (st == SM_OK)
        st = sm_h5_set_attr_str(file, "description", fx->description);
    if (st == SM_OK)
        st = sm_h5_set_attr_str(file, "model", sm_model_name(fx->model.kind));
    if (st == SM_OK)
        st = sm_h5_set_attr_int(file, "skew", fx->model.skew);
    if (st == SM_OK)
        st = sm_h5_set_attr_int(file, "n_sys", (int64_t)fx->model.n_sys);
    if (st == SM_OK)
        st = sm_h5_set_attr_f64(file, "sigma_min", fx->model.sigma_min);
    if (st == SM_OK)
        st = sm_h5_set_attr_str(file, "recipe", r->recipe);
    if (st == SM_OK)
        st = sm_h5_set_attr_u64(file, "recipe_seed", r->seed);
    if (st == SM_OK)
        st = sm_h5_set_attr_int(file, "n_pix", (int64_t)r->n_pix);
    if (st == SM_OK)
        st = sm_h5_set_attr_f64(file, "noise", r->noise);
    if (st == SM_OK)
        st = sm_h5_set_attr_f64(file, "noise_gamma", r->noise_gamma);
    if (st == SM_OK)
        st = sm_h5_set_attr(file, "injected_a", f64, f64, 1, &s, r->inj_a);
    if (st == SM_OK)
        st = sm_h5_set_attr(file, "injected_b", f64, f64, 1, &s, r->inj_b);
    if (st == SM_OK)
        st = sm_h5_set_attr_u64(file, "map_digest", fx->map_digest);
    if (st == SM_OK)
        st = sm_h5_set_attr_u64(file, "checksum", conform_fixture_checksum(fx));
    return st;
}

static sm_status write_chain_attrs(hid_t group, const conform_fixture_t *fx)
{
    sm_status st = sm_h5_set_attr_u64(group, "seed", fx->seed);
    if (st == SM_OK)
        st = sm_h5_set_attr_int(group, "n_walkers", (int64_t)fx->n_walkers);
    if (st == SM_OK)
        st = sm_h5_set_attr_int(group, "n_steps", (int64_t)fx->n_steps);
    if (st == SM_OK)
        st = sm_h5_set_attr_int(group, "n_burn", (int64_t)fx->n_burn);
    return st;
}

static sm_status write_file(const char *path, const conform_fixture_t *fx)
{
    hid_t file = H5I_INVALID_HID, lp = H5I_INVALID_HID, chain = H5I_INVALID_HID;
    sm_status st = sm_h5_create_file(path, &file);
    if (st == SM_OK)
        st = write_root_attrs(file, fx);
    if (st == SM_OK)
        st = make_group(file, "lp", &lp);
    if (st == SM_OK && fx->n_steps > 0) {
        st = make_group(file, "chain", &chain);
        if (st == SM_OK)
            st = write_chain_attrs(chain, fx);
    }
    f64_field_t f[MAX_FIELDS];
    size_t nf = f64_fields((conform_fixture_t *)fx, f);
    for (size_t i = 0; i < nf && st == SM_OK; i++)
        st = write_array(file, f[i].path, H5T_NATIVE_DOUBLE, f[i].rank, f[i].dims,
                         f[i].compress, *f[i].data);
    hsize_t p = fx->n_sets;
    if (st == SM_OK)
        st = write_array(file, "lp/exact", H5T_NATIVE_UINT8, 1, &p, 0, fx->exact);
    sm_h5_close(chain);
    sm_h5_close(lp);
    if (file >= 0 && H5Fclose(file) < 0 && st == SM_OK)
        st = sm_fail(SM_EIO, "cannot close %s", path);
    return st;
}

sm_status conform_fixture_write(const char *path, const conform_fixture_t *fx)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    sm_h5_quiet_t quiet;
    sm_h5_quiet_begin(&quiet);
    sm_status st = write_file(tmp, fx);
    sm_h5_quiet_end(&quiet);
    if (st == SM_OK && rename(tmp, path) != 0)
        st = sm_fail(SM_EIO, "cannot rename %s to %s", tmp, path);
    if (st != SM_OK) {
        remove(tmp);
        return sm_fail_context(st, "writing fixture %s", path);
    }
    return SM_OK;
}

/* ---- reading ------------------------------------------------------------ */

static sm_status read_str_attr(hid_t loc, const char *name, char *buf, size_t len)
{
    char *s = NULL;
    sm_status st = sm_h5_get_attr_str(loc, name, &s);
    if (st == SM_OK && strlen(s) >= len)
        st = sm_fail(SM_EFORMAT, "attribute '%s' is longer than %zu characters", name, len - 1);
    if (st == SM_OK)
        memcpy(buf, s, strlen(s) + 1);
    free(s);
    return st;
}

static sm_status read_size_attr(hid_t loc, const char *name, size_t max, size_t *out)
{
    int64_t v;
    sm_status st = sm_h5_get_attr_int(loc, name, &v);
    if (st == SM_OK && (v < 0 || (uint64_t)v > max))
        st = sm_fail(SM_EFORMAT, "attribute '%s' = %lld is out of range (0..%zu)", name,
                     (long long)v, max);
    if (st == SM_OK)
        *out = (size_t)v;
    return st;
}

static sm_status read_f64_attr_array(hid_t loc, const char *name, size_t n, double *out)
{
    hid_t attr;
    hsize_t dims[1];
    sm_status st = sm_h5_open_attr(loc, name, &attr);
    if (st != SM_OK)
        return st;
    st = sm_h5_shape(attr, name, 1, dims);
    if (st == SM_OK && dims[0] != n)
        st = sm_fail(SM_EFORMAT, "attribute '%s' has %llu values, expected %zu", name,
                     (unsigned long long)dims[0], n);
    if (st == SM_OK)
        st = sm_h5_read_f64(attr, name, out);
    sm_h5_close(attr);
    return st;
}

static sm_status read_root_attrs(hid_t file, conform_fixture_t *fx)
{
    conform_recipe_t *r = &fx->recipe;
    char model[32];
    int64_t version = 0, skew = 0;
    uint64_t seed = 0;
    sm_status st = sm_h5_get_attr_int(file, "format_version", &version);
    if (st == SM_OK && version != CONFORM_FORMAT_VERSION)
        st = sm_fail(SM_EFORMAT, "format_version %lld, this sysmap reads %d", (long long)version,
                     CONFORM_FORMAT_VERSION);
    if (st == SM_OK)
        st = read_str_attr(file, "name", fx->name, sizeof fx->name);
    if (st == SM_OK)
        st = read_str_attr(file, "description", fx->description, sizeof fx->description);
    if (st == SM_OK)
        st = read_str_attr(file, "model", model, sizeof model);
    fx->model.struct_size = sizeof fx->model;
    if (st == SM_OK)
        st = sm_model_parse(model, &fx->model.kind);
    if (st == SM_OK)
        st = sm_h5_get_attr_int(file, "skew", &skew);
    fx->model.skew = skew != 0;
    if (st == SM_OK)
        st = read_size_attr(file, "n_sys", CONFORM_MAX_SYS, &fx->model.n_sys);
    if (st == SM_OK)
        st = sm_h5_get_attr_f64(file, "sigma_min", &fx->model.sigma_min);
    if (st == SM_OK)
        st = sm_model_validate(&fx->model);
    if (st == SM_OK)
        st = read_str_attr(file, "recipe", r->recipe, sizeof r->recipe);
    if (st == SM_OK)
        st = sm_h5_get_attr_u64(file, "recipe_seed", &seed);
    r->seed = (uint32_t)seed;
    r->n_sys = fx->model.n_sys;
    if (st == SM_OK)
        st = read_size_attr(file, "n_pix", (size_t)1 << 40, &r->n_pix);
    if (st == SM_OK)
        st = sm_h5_get_attr_f64(file, "noise", &r->noise);
    if (st == SM_OK)
        st = sm_h5_get_attr_f64(file, "noise_gamma", &r->noise_gamma);
    if (st == SM_OK)
        st = read_f64_attr_array(file, "injected_a", r->n_sys, r->inj_a);
    if (st == SM_OK)
        st = read_f64_attr_array(file, "injected_b", r->n_sys, r->inj_b);
    if (st == SM_OK)
        st = sm_h5_get_attr_u64(file, "map_digest", &fx->map_digest);
    return st;
}

/* Opens path (a "group/name" dataset), checks its extent, reads it. */
static sm_status read_array(hid_t file, const char *path, int rank, const hsize_t *want,
                            int bytes, void *buf)
{
    hid_t dset;
    hsize_t dims[3];
    char shape[64], expected[64];
    sm_status st = sm_h5_open_dataset(file, path, &dset);
    if (st != SM_OK)
        return st;
    st = sm_h5_shape(dset, path, rank, dims);
    if (st == SM_OK && memcmp(dims, want, (size_t)rank * sizeof *dims) != 0)
        st = sm_fail(SM_EFORMAT, "dataset '%s' has shape %s, expected %s", path,
                     sm_h5_format_shape(shape, sizeof shape, rank, dims),
                     sm_h5_format_shape(expected, sizeof expected, rank, want));
    if (st == SM_OK)
        st = bytes ? sm_h5_read_bytes(dset, path, buf) : sm_h5_read_f64(dset, path, buf);
    sm_h5_close(dset);
    return st;
}

static sm_status read_file(hid_t file, conform_fixture_t *fx)
{
    sm_status st = read_root_attrs(file, fx);
    hid_t dset = H5I_INVALID_HID, chain = H5I_INVALID_HID;
    hsize_t dims[1] = {0};
    if (st == SM_OK)
        st = sm_h5_open_dataset(file, "lp/log_prob", &dset);
    if (st == SM_OK)
        st = sm_h5_shape(dset, "lp/log_prob", 1, dims);
    sm_h5_close(dset);
    size_t n_walkers = 0, n_steps = 0;
    uint64_t seed = 0;
    if (st == SM_OK && H5Lexists(file, "chain", H5P_DEFAULT) > 0) {
        st = sm_h5_open_group(file, "chain", &chain);
        if (st == SM_OK)
            st = sm_h5_get_attr_u64(chain, "seed", &seed);
        if (st == SM_OK)
            st = read_size_attr(chain, "n_walkers", 1u << 20, &n_walkers);
        if (st == SM_OK)
            st = read_size_attr(chain, "n_steps", 1u << 24, &n_steps);
        if (st == SM_OK)
            st = read_size_attr(chain, "n_burn", n_steps ? n_steps - 1 : 0, &fx->n_burn);
        if (st == SM_OK && n_steps == 0)
            st = sm_fail(SM_EFORMAT, "group 'chain' holds no steps");
    }
    sm_h5_close(chain);
    fx->seed = (uint32_t)seed;
    if (st == SM_OK)
        st = conform_fixture_alloc(fx, (size_t)dims[0], n_walkers, n_steps);
    f64_field_t f[MAX_FIELDS];
    size_t nf = st == SM_OK ? f64_fields(fx, f) : 0;
    for (size_t i = 0; i < nf && st == SM_OK; i++)
        st = read_array(file, f[i].path, f[i].rank, f[i].dims, 0, *f[i].data);
    if (st == SM_OK)
        st = read_array(file, "lp/exact", 1, dims, 1, fx->exact);
    uint64_t stored = 0;
    if (st == SM_OK)
        st = sm_h5_get_attr_u64(file, "checksum", &stored);
    if (st == SM_OK && stored != conform_fixture_checksum(fx))
        st = sm_fail(SM_EFORMAT, "content does not match its checksum (the file is corrupt)");
    return st;
}

sm_status conform_fixture_read(const char *path, conform_fixture_t *fx)
{
    memset(fx, 0, sizeof *fx);
    sm_h5_quiet_t quiet;
    sm_h5_quiet_begin(&quiet);
    hid_t file = H5I_INVALID_HID;
    sm_status st = sm_h5_open_file(path, H5F_ACC_RDONLY, &file);
    if (st == SM_OK) {
        st = read_file(file, fx);
        H5Fclose(file);
        if (st != SM_OK)
            st = sm_fail_context(st, "fixture %s", path);
    }
    sm_h5_quiet_end(&quiet);
    if (st != SM_OK)
        conform_fixture_free(fx);
    return st;
}

static int compare_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

sm_status conform_fixture_list(const char *dir, char ***paths, size_t *n)
{
    *paths = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return sm_fail(SM_EIO, "cannot open the fixtures folder %s", dir);
    size_t cap = 0;
    sm_status st = SM_OK;
    struct dirent *e;
    while (st == SM_OK && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".h5") != 0)
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            char **grown = realloc(*paths, cap * sizeof *grown);
            if (grown == NULL) {
                st = SM_FAIL_NOMEM("the fixture list");
                break;
            }
            *paths = grown;
        }
        size_t size = strlen(dir) + len + 2;
        if (((*paths)[*n] = malloc(size)) == NULL) {
            st = SM_FAIL_NOMEM("a fixture path");
            break;
        }
        snprintf((*paths)[(*n)++], size, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (st == SM_OK && *n == 0)
        st = sm_fail(SM_EIO, "no fixtures (*.h5) in %s", dir);
    if (st != SM_OK) {
        for (size_t i = 0; i < *n; i++)
            free((*paths)[i]);
        free(*paths);
        *paths = NULL;
        *n = 0;
        return st;
    }
    qsort(*paths, *n, sizeof **paths, compare_paths);
    return SM_OK;
}

int conform_fixture_diff(const conform_fixture_t *a, const conform_fixture_t *b, char *buf,
                         size_t len)
{
    if (strcmp(a->name, b->name) != 0 || a->model.kind != b->model.kind ||
        a->model.skew != b->model.skew || a->model.n_sys != b->model.n_sys ||
        a->n_sets != b->n_sets || a->n_walkers != b->n_walkers || a->n_steps != b->n_steps) {
        snprintf(buf, len, "different case or shape (name, model, sets or chain)");
        return 1;
    }
    if (a->map_digest != b->map_digest) {
        snprintf(buf, len, "map digest %016llx vs %016llx", (unsigned long long)a->map_digest,
                 (unsigned long long)b->map_digest);
        return 1;
    }
    f64_field_t fa[MAX_FIELDS], fb[MAX_FIELDS];
    size_t n = f64_fields((conform_fixture_t *)a, fa);
    f64_fields((conform_fixture_t *)b, fb);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < field_len(&fa[i]); k++) {
            double x = (*fa[i].data)[k], y = (*fb[i].data)[k];
            if (memcmp(&x, &y, sizeof x) != 0) {
                snprintf(buf, len, "%s[%zu]: %.17g vs %.17g", fa[i].path, k, x, y);
                return 1;
            }
        }
    if (memcmp(a->exact, b->exact, a->n_sets) != 0 ||
        conform_fixture_checksum(a) != conform_fixture_checksum(b)) {
        snprintf(buf, len, "attributes or exact flags differ");
        return 1;
    }
    return 0;
}
