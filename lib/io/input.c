/* The one loader: HDF5 input files through data.c, HEALPix FITS maps
 * assembled here (footprint, counts to overdensity, templates), each with
 * the layout of its used pixels. */
#include "sysmap/input.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "data_file.h"
#include "data_struct.h"
#include "hpx_file.h"
#include "error.h"
#include "sysmap/sizes.h"

struct sm_pixels {
    size_t n_total, n, n_dropped;
    int64_t *index;
    int64_t nside;
    sm_hpx_order_t order;
};

void sm_input_default(sm_input_t *in)
{
    memset(in, 0, sizeof *in);
    in->struct_size = sizeof *in;
}

sm_status sm_pixels_create(sm_pixels_t **out, size_t n_total, size_t n, const int64_t *index,
                           int64_t nside, sm_hpx_order_t order)
{
    *out = NULL;
    if (n > n_total || (n > 0 && index == NULL))
        return sm_fail(SM_EINVAL, "pixel layout: %zu used pixels of %zu", n, n_total);
    for (size_t j = 0; j < n; j++)
        if (index[j] < 0 || (size_t)index[j] >= n_total)
            return sm_fail(SM_EINVAL, "pixel layout: index %lld at %zu is outside 0..%zu",
                           (long long)index[j], j, n_total - 1);
    sm_pixels_t *p = calloc(1, sizeof *p);
    if (p == NULL || (p->index = malloc((n ? n : 1) * sizeof *p->index)) == NULL) {
        free(p);
        return SM_FAIL_NOMEM("pixel layout");
    }
    if (n > 0)
        memcpy(p->index, index, n * sizeof *index);
    p->n_total = n_total;
    p->n = n;
    p->nside = nside;
    p->order = order;
    *out = p;
    return SM_OK;
}

void sm_pixels_free(sm_pixels_t *pixels)
{
    if (pixels == NULL)
        return;
    free(pixels->index);
    free(pixels);
}

size_t sm_pixels_n_used(const sm_pixels_t *pixels)
{
    return pixels->n;
}

size_t sm_pixels_n_total(const sm_pixels_t *pixels)
{
    return pixels->n_total;
}

const int64_t *sm_pixels_index(const sm_pixels_t *pixels)
{
    return pixels->index;
}

int64_t sm_pixels_nside(const sm_pixels_t *pixels)
{
    return pixels->nside;
}

sm_hpx_order_t sm_pixels_order(const sm_pixels_t *pixels)
{
    return pixels->order;
}

size_t sm_pixels_n_dropped(const sm_pixels_t *pixels)
{
    return pixels->n_dropped;
}

/* ---- HDF5 input: the data and its mask, read once by data.c ---- */

static sm_status load_hdf5(const char *path, sm_data_t **data, sm_pixels_t **pixels)
{
    uint8_t *mask = NULL;
    size_t n_total = 0, n_used;
    sm_status st = sm_data_load_hdf5_masked(data, path, &mask, &n_total);
    if (st != SM_OK)
        return st;
    n_used = sm_data_n_pix(*data);
    int64_t *index = malloc(n_used * sizeof *index); /* n_used >= 1: sm_data_create */
    if (index == NULL)
        st = SM_FAIL_NOMEM("pixel layout");
    for (size_t j = 0, k = 0; st == SM_OK && j < n_total; j++)
        if (mask == NULL || mask[j])
            index[k++] = (int64_t)j;
    if (st == SM_OK)
        st = sm_pixels_create(pixels, n_total, n_used, index, 0, SM_HPX_RING);
    free(index);
    free(mask);
    if (st != SM_OK) {
        sm_data_free(*data);
        *data = NULL;
    }
    return st;
}

/* ---- HEALPix input ---- */

/* One file's columns at the footprint: read in place when the file has
 * the map's NSIDE and ordering, else through a full-sky copy brought to
 * them (resample, reorder). */
typedef struct {
    sm_hpx_file_t *file;
    sm_hpx_map_t *full; /* only when the file needed converting */
} source_t;

/* The assembly's state: the footprint (pixels with a map value inside the
 * mask), the values there and the template values there. */
typedef struct {
    const sm_input_t *in;
    sm_hpx_file_t *map;     /* the galaxy map, its first column used */
    size_t npix, n_fp;
    int64_t *fp;            /* (n_fp,) footprint pixels, increasing */
    double *value;          /* (n_fp,) the map's value there */
    double *weight;         /* (n_fp,) mask weight, or NULL */
    uint8_t *dropped;       /* (n_fp,) some template has no value there */
    size_t n_sys;
    double *tvals;          /* (n_sys, n_fp) */
    char **names;           /* (n_sys,) */
} build_t;

static void build_free(build_t *b)
{
    sm_hpx_close(b->map);
    free(b->fp);
    free(b->value);
    free(b->weight);
    free(b->dropped);
    free(b->tvals);
    for (size_t i = 0; i < b->n_sys; i++)
        free(b->names[i]);
    free(b->names);
}

/* Brings a full-sky copy to the map's NSIDE and ordering, or says why it
 * cannot. */
static sm_status conform(const build_t *b, sm_hpx_map_t *m)
{
    const char *ref = sm_hpx_file_path(b->map);
    long long nside = (long long)sm_hpx_file_nside(b->map);
    sm_hpx_order_t order = sm_hpx_file_order(b->map);
    if (m->nside != nside) {
        if (!b->in->resample)
            return sm_fail(SM_EINVAL, "%s: NSIDE %lld differs from the map's (%s: NSIDE %lld); "
                                      "resample it (setting resample) or use a file of NSIDE %lld",
                           m->path, (long long)m->nside, ref, nside, nside);
        sm_status st = sm_hpx_resample(m, nside);
        if (st != SM_OK)
            return st;
    }
    if (m->order != order && !b->in->reorder)
        return sm_fail(SM_EINVAL, "%s: ORDERING %s differs from the map's (%s: %s); convert it "
                                  "(setting reorder) or use a %s file",
                       m->path, sm_hpx_order_name(m->order), ref, sm_hpx_order_name(order),
                       sm_hpx_order_name(order));
    return sm_hpx_reorder(m, order);
}

static void source_close(source_t *s)
{
    sm_hpx_close(s->file);
    sm_hpx_free(s->full);
}

static sm_status source_open(const build_t *b, const sm_hpx_source_t *src, source_t *s)
{
    *s = (source_t){NULL, NULL};
    sm_status st = sm_hpx_open(&s->file, src->path, src->column);
    if (st != SM_OK || (sm_hpx_file_nside(s->file) == sm_hpx_file_nside(b->map) &&
                        sm_hpx_file_order(s->file) == sm_hpx_file_order(b->map)))
        return st;
    sm_hpx_close(s->file);
    s->file = NULL;
    st = sm_hpx_read(&s->full, src->path, src->column);
    if (st == SM_OK)
        st = conform(b, s->full);
    return st;
}

static size_t source_n_cols(const source_t *s)
{
    return s->file != NULL ? sm_hpx_file_n_cols(s->file) : s->full->n_cols;
}

static const char *source_col_name(const source_t *s, size_t c)
{
    return s->file != NULL ? sm_hpx_file_col_name(s->file, c) : s->full->col_names[c];
}

static const char *source_path(const source_t *s)
{
    return s->file != NULL ? sm_hpx_file_path(s->file) : s->full->path;
}

/* Column c at the n increasing pixels at. */
static sm_status source_read(source_t *s, size_t c, size_t n, const int64_t *at, double *out)
{
    if (s->file != NULL)
        return sm_hpx_read_at(s->file, c, n, at, out);
    const double *v = s->full->values + c * (size_t)sm_hpx_npix(s->full->nside);
    for (size_t k = 0; k < n; k++)
        out[k] = v[at[k]];
    return SM_OK;
}

/* A used value: finite, and within SM_DATA_VALUE_MAX (sm_data_create's
 * bound), named here by its file, column and HEALPix pixel. */
static sm_status check_value(const char *path, const char *column, int64_t pixel, double x)
{
    if (!isfinite(x))
        return sm_fail(SM_EINVAL, "%s: %s at pixel %lld of column '%s' (use UNSEEN for no "
                                  "value)",
                       path, isnan(x) ? "NaN" : x > 0 ? "Inf" : "-Inf", (long long)pixel, column);
    if (fabs(x) > SM_DATA_VALUE_MAX)
        return sm_fail(SM_EINVAL, "%s: value %g at pixel %lld of column '%s' is beyond +-%g, "
                                  "where squares of values overflow",
                       path, x, (long long)pixel, column, SM_DATA_VALUE_MAX);
    return SM_OK;
}

/* count x n doubles, checked against wrapping and the machine's memory. */
static sm_status table_bytes(size_t count, size_t n, const char *what, size_t *bytes)
{
    size_t cells;
    sm_status st = sm_size_mul(count, n, what, &cells);
    return st == SM_OK ? sm_size_bytes(cells, sizeof(double), what, bytes) : st;
}

/* The mask weight at the map's pixels with a value: UNSEEN reads as 0. */
static sm_status read_mask(build_t *b)
{
    const sm_hpx_source_t *src = &b->in->mask;
    if (src->path == NULL)
        return SM_OK;
    source_t s;
    sm_status st = source_open(b, src, &s);
    if (st == SM_OK && (b->weight = malloc(b->n_fp * sizeof *b->weight)) == NULL)
        st = SM_FAIL_NOMEM("mask");
    if (st == SM_OK)
        st = source_read(&s, 0, b->n_fp, b->fp, b->weight);
    for (size_t k = 0; k < b->n_fp && st == SM_OK; k++) {
        if (sm_hpx_is_unseen(b->weight[k]))
            b->weight[k] = 0.0;
        else
            st = check_value(source_path(&s), source_col_name(&s, 0), b->fp[k], b->weight[k]);
    }
    source_close(&s);
    return st;
}

/* The map's pixels with a value, then those of them inside the mask. */
static sm_status find_footprint(build_t *b)
{
    size_t seen = 0;
    sm_status st = sm_hpx_read_seen(b->map, 0, &b->fp, &b->value, &seen);
    if (st != SM_OK)
        return st;
    const char *path = sm_hpx_file_path(b->map), *col = sm_hpx_file_col_name(b->map, 0);
    if (seen == 0)
        return sm_fail(SM_EINVAL, "%s: every pixel of column '%s' is UNSEEN", path, col);
    b->n_fp = seen;
    st = read_mask(b);
    if (st != SM_OK)
        return st;
    size_t n = 0;
    for (size_t k = 0; k < seen; k++) {
        if (b->weight != NULL && !(b->weight[k] > b->in->mask_min))
            continue;
        st = check_value(path, col, b->fp[k], b->value[k]);
        if (st != SM_OK)
            return st;
        b->fp[n] = b->fp[k];
        b->value[n] = b->value[k];
        if (b->weight != NULL)
            b->weight[n] = b->weight[k];
        n++;
    }
    b->n_fp = n;
    if (n == 0)
        return sm_fail(SM_EINVAL, "%s: none of its %zu pixels with a value has mask weight > %g "
                                  "in %s",
                       path, seen, b->in->mask_min, b->in->mask.path);
    b->dropped = calloc(n, 1);
    return b->dropped != NULL ? SM_OK : SM_FAIL_NOMEM("footprint");
}

/* "dir/stellar.fits" -> "stellar". */
static char *file_stem(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    size_t n = strlen(base);
    const char *dot = strchr(base, '.');
    if (dot != NULL && dot != base)
        n = (size_t)(dot - base);
    return strndup(base, n);
}

/* Appends the columns of one template file to tvals, which add_templates
 * has sized for every file's columns. */
static sm_status add_source(build_t *b, const sm_hpx_source_t *src, source_t *s)
{
    sm_status st = SM_OK;
    size_t n_cols = source_n_cols(s);
    for (size_t c = 0; st == SM_OK && c < n_cols; c++) {
        double *dst = b->tvals + b->n_sys * b->n_fp;
        st = source_read(s, c, b->n_fp, b->fp, dst);
        for (size_t k = 0; k < b->n_fp && st == SM_OK; k++) {
            if (sm_hpx_is_unseen(dst[k]))
                b->dropped[k] = 1;
            else
                st = check_value(source_path(s), source_col_name(s, c), b->fp[k], dst[k]);
        }
        char *name = n_cols == 1 && src->column == NULL ? file_stem(src->path)
                                                        : strdup(source_col_name(s, c));
        if (st == SM_OK && name == NULL)
            st = SM_FAIL_NOMEM("template name");
        if (st == SM_OK)
            b->names[b->n_sys++] = name;
        else
            free(name);
    }
    return st;
}

/* Every template column at the footprint, in one allocation: the files'
 * headers are read first for their column counts. */
static sm_status add_templates(build_t *b)
{
    size_t n_files = b->in->n_templates, s = 0, bytes = 0;
    sm_hpx_file_t **heads = calloc(n_files, sizeof *heads);
    sm_status st = heads != NULL ? SM_OK : SM_FAIL_NOMEM("template files");
    for (size_t i = 0; i < n_files && st == SM_OK; i++) {
        const sm_hpx_source_t *src = &b->in->templates[i];
        st = sm_hpx_open(&heads[i], src->path, src->column);
        if (st == SM_OK)
            s += sm_hpx_file_n_cols(heads[i]);
        sm_hpx_close(heads[i]); /* a file per template stays within open-file limits */
    }
    free(heads);
    if (st == SM_OK)
        st = table_bytes(s, b->n_fp, "templates", &bytes);
    if (st == SM_OK) {
        b->tvals = sm_data_values_alloc(bytes / sizeof *b->tvals);
        b->names = calloc(s, sizeof *b->names);
        if (b->tvals == NULL || b->names == NULL)
            st = SM_FAIL_NOMEM("templates");
    }
    for (size_t i = 0; i < n_files && st == SM_OK; i++) {
        source_t src;
        st = source_open(b, &b->in->templates[i], &src);
        if (st == SM_OK)
            st = add_source(b, &b->in->templates[i], &src);
        source_close(&src);
    }
    return st;
}

/* n_j / (nbar w_j) - 1 with nbar = sum n / sum w over the used pixels, in
 * place: value holds the counts. */
static sm_status counts_to_overdensity(const build_t *b, size_t n)
{
    const char *path = sm_hpx_file_path(b->map);
    double *v = b->value, sum_n = 0.0, sum_w = 0.0;
    for (size_t j = 0; j < n; j++) {
        if (v[j] < 0)
            return sm_fail(SM_EINVAL, "%s: negative count %g at pixel %lld", path, v[j],
                           (long long)b->fp[j]);
        sum_n += v[j];
        sum_w += b->weight != NULL ? b->weight[j] : 1.0;
    }
    if (!(sum_n > 0))
        return sm_fail(SM_EINVAL, "%s: no galaxies in the %zu used pixels", path, n);
    double nbar = sum_n / sum_w;
    for (size_t j = 0; j < n; j++) {
        double w = b->weight != NULL ? b->weight[j] : 1.0, count = v[j];
        v[j] = count / (nbar * w) - 1.0;
        /* A tiny mask weight makes a huge overdensity. */
        if (!(fabs(v[j]) <= SM_DATA_VALUE_MAX))
            return sm_fail(SM_EINVAL, "%s: pixel %lld: %g galaxies at mask weight %g give an "
                                      "overdensity of %g, beyond +-%g",
                           path, (long long)b->fp[j], count, w, v[j], SM_DATA_VALUE_MAX);
    }
    return SM_OK;
}

/* Zero mean, unit population variance over the used pixels (two passes). */
static sm_status standardize(const build_t *b, double *t, size_t n, size_t i)
{
    double mean = 0.0, ss = 0.0;
    for (size_t j = 0; j < n; j++)
        mean += t[j];
    mean /= (double)n;
    for (size_t j = 0; j < n; j++)
        ss += (t[j] - mean) * (t[j] - mean);
    double sd = sqrt(ss / (double)n);
    if (!(sd > 0))
        return sm_fail(SM_EINVAL, "template %zu ('%s') is constant over the %zu used pixels, so "
                                  "it cannot be standardised",
                       i + 1, b->names[i], n);
    for (size_t j = 0; j < n; j++)
        t[j] = (t[j] - mean) / sd;
    return SM_OK;
}

/* Drops the dropped pixels in place: every row moves towards its start,
 * never over values not yet moved. */
static size_t compact_footprint(build_t *b)
{
    size_t n = 0, s = b->n_sys;
    for (size_t k = 0; k < b->n_fp; k++) {
        if (b->dropped[k])
            continue;
        b->fp[n] = b->fp[k];
        b->value[n] = b->value[k];
        if (b->weight != NULL)
            b->weight[n] = b->weight[k];
        n++;
    }
    for (size_t i = 0; i < s && n < b->n_fp; i++)
        for (size_t k = 0, j = 0; k < b->n_fp; k++)
            if (!b->dropped[k])
                b->tvals[i * n + j++] = b->tvals[i * b->n_fp + k];
    return n;
}

static void *shrink(void *p, size_t bytes)
{
    void *q = realloc(p, bytes);
    return q != NULL ? q : p;
}

/* The used pixels: the footprint minus the dropped; data and layout,
 * the data taking the arrays over. */
static sm_status finish(build_t *b, sm_data_t **data, sm_pixels_t **pixels)
{
    size_t n = compact_footprint(b), s = b->n_sys, n_dropped = b->n_fp - n;
    if (n == 0)
        return sm_fail(SM_EINVAL, "no pixel of %s's footprint has a value in every template",
                       sm_hpx_file_path(b->map));
    free(b->dropped);
    b->dropped = NULL;
    b->value = shrink(b->value, n * sizeof *b->value);
    if (n < b->n_fp) /* else kept where it is: page-aligned (sm_data_values_alloc) */
        b->tvals = shrink(b->tvals, s * n * sizeof *b->tvals);
    sm_status st = SM_OK;
    if (b->in->map_kind == SM_MAP_COUNTS)
        st = counts_to_overdensity(b, n);
    for (size_t i = 0; st == SM_OK && b->in->standardize && i < s; i++)
        st = standardize(b, b->tvals + i * n, n, i);
    if (st == SM_OK) {
        st = sm_data_adopt(data, n, s, b->value, b->tvals);
        b->value = b->tvals = NULL;
    }
    if (st == SM_OK)
        st = sm_data_set_template_names(*data, (const char *const *)b->names);
    if (st == SM_OK)
        st = sm_pixels_create(pixels, b->npix, n, b->fp, sm_hpx_file_nside(b->map),
                              sm_hpx_file_order(b->map));
    if (st == SM_OK)
        (*pixels)->n_dropped = n_dropped;
    return st;
}

static sm_status check_healpix_input(const sm_input_t *in)
{
    if (in->map.path == NULL)
        return sm_fail(SM_EINVAL, "HEALPix input: no galaxy map");
    if (in->n_templates == 0 || in->templates == NULL)
        return sm_fail(SM_EINVAL, "HEALPix input: no template maps");
    for (size_t i = 0; i < in->n_templates; i++)
        if (in->templates[i].path == NULL)
            return sm_fail(SM_EINVAL, "HEALPix input: template file %zu has no path", i + 1);
    if (!(in->mask_min >= 0) || !isfinite(in->mask_min))
        return sm_fail(SM_EINVAL, "mask threshold %g: must be finite and >= 0", in->mask_min);
    return SM_OK;
}

static sm_status load_healpix(const sm_input_t *in, sm_data_t **data, sm_pixels_t **pixels)
{
    build_t b = {.in = in};
    sm_status st = check_healpix_input(in);
    if (st == SM_OK)
        st = sm_hpx_open(&b.map, in->map.path, in->map.column);
    if (st == SM_OK) {
        b.npix = (size_t)sm_hpx_npix(sm_hpx_file_nside(b.map));
        st = find_footprint(&b);
    }
    if (st == SM_OK)
        st = add_templates(&b);
    if (st == SM_OK)
        st = finish(&b, data, pixels);
    build_free(&b);
    if (st != SM_OK) {
        sm_data_free(*data);
        *data = NULL;
    }
    return st;
}

sm_status sm_input_load(const sm_input_t *in, sm_data_t **data, sm_pixels_t **pixels)
{
    if (in == NULL || data == NULL || pixels == NULL)
        return sm_fail(SM_EINVAL, "sm_input_load: NULL argument");
    *data = NULL;
    *pixels = NULL;
    sm_status abi = SM_ABI_CHECK(in, sm_input_t, "sm_input_default");
    if (abi != SM_OK)
        return abi;
    if (in->hdf5 != NULL && in->map.path != NULL)
        return sm_fail(SM_EINVAL, "input: both an HDF5 file (%s) and a HEALPix map (%s)",
                       in->hdf5, in->map.path);
    return in->hdf5 != NULL ? load_hdf5(in->hdf5, data, pixels) : load_healpix(in, data, pixels);
}
