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

/* The assembly's state: the footprint (pixels with a map value inside the
 * mask) and the template values there. */
typedef struct {
    const sm_input_t *in;
    sm_hpx_map_t *map;      /* the galaxy map, its first column used */
    double *weight;         /* (npix,) mask weight, or NULL */
    size_t npix, n_fp;
    int64_t *fp;            /* (n_fp,) footprint pixels, increasing */
    uint8_t *dropped;       /* (n_fp,) some template has no value there */
    size_t n_sys;
    double *tvals;          /* (n_sys, n_fp) */
    char **names;           /* (n_sys,) */
} build_t;

static void build_free(build_t *b)
{
    sm_hpx_free(b->map);
    free(b->weight);
    free(b->fp);
    free(b->dropped);
    free(b->tvals);
    for (size_t i = 0; i < b->n_sys; i++)
        free(b->names[i]);
    free(b->names);
}

/* Brings a file to the map's NSIDE and ordering, or says why it cannot. */
static sm_status conform(const build_t *b, sm_hpx_map_t *m)
{
    const sm_hpx_map_t *ref = b->map;
    if (m->nside != ref->nside) {
        if (!b->in->resample)
            return sm_fail(SM_EINVAL, "%s: NSIDE %lld differs from the map's (%s: NSIDE %lld); "
                                      "resample it (setting resample) or use a file of NSIDE %lld",
                           m->path, (long long)m->nside, ref->path, (long long)ref->nside,
                           (long long)ref->nside);
        sm_status st = sm_hpx_resample(m, ref->nside);
        if (st != SM_OK)
            return st;
    }
    if (m->order != ref->order && !b->in->reorder)
        return sm_fail(SM_EINVAL, "%s: ORDERING %s differs from the map's (%s: %s); convert it "
                                  "(setting reorder) or use a %s file",
                       m->path, sm_hpx_order_name(m->order), ref->path,
                       sm_hpx_order_name(ref->order), sm_hpx_order_name(ref->order));
    return sm_hpx_reorder(m, ref->order);
}

/* A used value: finite, and within SM_DATA_VALUE_MAX (sm_data_create's
 * bound), named here by its file, column and HEALPix pixel. */
static sm_status check_value(const sm_hpx_map_t *m, size_t col, int64_t pixel, double x)
{
    if (!isfinite(x))
        return sm_fail(SM_EINVAL, "%s: %s at pixel %lld of column '%s' (use UNSEEN for no "
                                  "value)",
                       m->path, isnan(x) ? "NaN" : x > 0 ? "Inf" : "-Inf", (long long)pixel,
                       m->col_names[col]);
    if (fabs(x) > SM_DATA_VALUE_MAX)
        return sm_fail(SM_EINVAL, "%s: value %g at pixel %lld of column '%s' is beyond +-%g, "
                                  "where squares of values overflow",
                       m->path, x, (long long)pixel, m->col_names[col], SM_DATA_VALUE_MAX);
    return SM_OK;
}

/* count x n doubles, checked against wrapping and the machine's memory. */
static sm_status table_bytes(size_t count, size_t n, const char *what, size_t *bytes)
{
    size_t cells;
    sm_status st = sm_size_mul(count, n, what, &cells);
    return st == SM_OK ? sm_size_bytes(cells, sizeof(double), what, bytes) : st;
}

static sm_status read_mask(build_t *b)
{
    const sm_hpx_source_t *src = &b->in->mask;
    if (src->path == NULL)
        return SM_OK;
    sm_hpx_map_t *m = NULL;
    sm_status st = sm_hpx_read(&m, src->path, src->column);
    if (st == SM_OK)
        st = conform(b, m);
    if (st == SM_OK && (b->weight = malloc(b->npix * sizeof *b->weight)) == NULL)
        st = SM_FAIL_NOMEM("mask");
    for (size_t p = 0; p < b->npix && st == SM_OK; p++) {
        double w = m->values[p];
        if (sm_hpx_is_unseen(w))
            w = 0.0;
        else if (!sm_hpx_is_unseen(b->map->values[p]))
            st = check_value(m, 0, (int64_t)p, w);
        b->weight[p] = w;
    }
    sm_hpx_free(m);
    return st;
}

static sm_status find_footprint(build_t *b)
{
    const double *v = b->map->values;
    size_t seen = 0;
    for (size_t p = 0; p < b->npix; p++)
        seen += !sm_hpx_is_unseen(v[p]);
    if (seen == 0)
        return sm_fail(SM_EINVAL, "%s: every pixel of column '%s' is UNSEEN", b->map->path,
                       b->map->col_names[0]);
    b->fp = malloc(seen * sizeof *b->fp);
    b->dropped = calloc(seen, 1);
    if (b->fp == NULL || b->dropped == NULL)
        return SM_FAIL_NOMEM("footprint");
    for (size_t p = 0; p < b->npix; p++) {
        if (sm_hpx_is_unseen(v[p]) || (b->weight != NULL && !(b->weight[p] > b->in->mask_min)))
            continue;
        sm_status st = check_value(b->map, 0, (int64_t)p, v[p]);
        if (st != SM_OK)
            return st;
        b->fp[b->n_fp++] = (int64_t)p;
    }
    if (b->n_fp == 0)
        return sm_fail(SM_EINVAL, "%s: none of its %zu pixels with a value has mask weight > %g "
                                  "in %s",
                       b->map->path, seen, b->in->mask_min, b->in->mask.path);
    return SM_OK;
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

/* Appends the columns of one template file. */
static sm_status add_templates(build_t *b, const sm_hpx_source_t *src)
{
    sm_hpx_map_t *m = NULL;
    sm_status st = sm_hpx_read(&m, src->path, src->column);
    if (st == SM_OK)
        st = conform(b, m);
    double *tvals = NULL;
    char **names = NULL;
    size_t bytes = 0, s = b->n_sys + (m != NULL ? m->n_cols : 0);
    if (st == SM_OK)
        st = table_bytes(s, b->n_fp, "templates", &bytes);
    if (st == SM_OK) {
        tvals = realloc(b->tvals, bytes);
        if (tvals != NULL)
            b->tvals = tvals;
        names = realloc(b->names, s * sizeof *names);
        if (names != NULL)
            b->names = names;
        if (tvals == NULL || names == NULL)
            st = SM_FAIL_NOMEM("templates");
    }
    for (size_t c = 0; st == SM_OK && c < m->n_cols; c++) {
        const double *v = m->values + c * b->npix;
        double *dst = b->tvals + b->n_sys * b->n_fp;
        for (size_t k = 0; k < b->n_fp && st == SM_OK; k++) {
            dst[k] = v[b->fp[k]];
            if (sm_hpx_is_unseen(dst[k]))
                b->dropped[k] = 1;
            else
                st = check_value(m, c, b->fp[k], dst[k]);
        }
        char *name = m->n_cols == 1 && src->column == NULL ? file_stem(src->path)
                                                          : strdup(m->col_names[c]);
        if (st == SM_OK && name == NULL)
            st = SM_FAIL_NOMEM("template name");
        if (st == SM_OK)
            b->names[b->n_sys++] = name;
        else
            free(name);
    }
    sm_hpx_free(m);
    return st;
}

/* n_j / (nbar w_j) - 1 with nbar = sum n / sum w over the used pixels. */
static sm_status counts_to_overdensity(const build_t *b, const int64_t *used, size_t n,
                                       double *delta)
{
    const double *counts = b->map->values;
    double sum_n = 0.0, sum_w = 0.0;
    for (size_t j = 0; j < n; j++) {
        double c = counts[used[j]];
        if (c < 0)
            return sm_fail(SM_EINVAL, "%s: negative count %g at pixel %lld", b->map->path, c,
                           (long long)used[j]);
        sum_n += c;
        sum_w += b->weight != NULL ? b->weight[used[j]] : 1.0;
    }
    if (!(sum_n > 0))
        return sm_fail(SM_EINVAL, "%s: no galaxies in the %zu used pixels", b->map->path, n);
    double nbar = sum_n / sum_w;
    for (size_t j = 0; j < n; j++) {
        double w = b->weight != NULL ? b->weight[used[j]] : 1.0;
        delta[j] = counts[used[j]] / (nbar * w) - 1.0;
        /* A tiny mask weight makes a huge overdensity. */
        if (!(fabs(delta[j]) <= SM_DATA_VALUE_MAX))
            return sm_fail(SM_EINVAL, "%s: pixel %lld: %g galaxies at mask weight %g give an "
                                      "overdensity of %g, beyond +-%g",
                           b->map->path, (long long)used[j], counts[used[j]], w, delta[j],
                           SM_DATA_VALUE_MAX);
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

/* The used pixels: the footprint minus the dropped; data and layout. */
static sm_status finish(build_t *b, sm_data_t **data, sm_pixels_t **pixels)
{
    size_t n = 0, s = b->n_sys;
    for (size_t k = 0; k < b->n_fp; k++)
        n += !b->dropped[k];
    if (n == 0)
        return sm_fail(SM_EINVAL, "no pixel of %s's footprint has a value in every template",
                       b->map->path);
    /* s x n <= s x n_fp, which add_templates has checked. */
    int64_t *used = malloc(n * sizeof *used);
    double *delta = malloc(n * sizeof *delta), *t = malloc(s * n * sizeof *t);
    sm_status st = used && delta && t ? SM_OK : SM_FAIL_NOMEM("used pixels");
    for (size_t k = 0, j = 0; st == SM_OK && k < b->n_fp; k++) {
        if (b->dropped[k])
            continue;
        used[j] = b->fp[k];
        delta[j] = b->map->values[b->fp[k]];
        for (size_t i = 0; i < s; i++)
            t[i * n + j] = b->tvals[i * b->n_fp + k];
        j++;
    }
    if (st == SM_OK && b->in->map_kind == SM_MAP_COUNTS)
        st = counts_to_overdensity(b, used, n, delta);
    for (size_t i = 0; st == SM_OK && b->in->standardize && i < s; i++)
        st = standardize(b, t + i * n, n, i);
    if (st == SM_OK)
        st = sm_data_create(data, n, s, delta, t, NULL);
    if (st == SM_OK)
        st = sm_data_set_template_names(*data, (const char *const *)b->names);
    if (st == SM_OK)
        st = sm_pixels_create(pixels, b->npix, n, used, b->map->nside, b->map->order);
    if (st == SM_OK)
        (*pixels)->n_dropped = b->n_fp - n;
    free(used);
    free(delta);
    free(t);
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
        st = sm_hpx_read(&b.map, in->map.path, in->map.column);
    if (st == SM_OK) {
        b.npix = (size_t)sm_hpx_npix(b.map->nside);
        st = read_mask(&b);
    }
    if (st == SM_OK)
        st = find_footprint(&b);
    for (size_t i = 0; st == SM_OK && i < in->n_templates; i++)
        st = add_templates(&b, &in->templates[i]);
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
