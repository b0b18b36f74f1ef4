#include "sysmap/data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "data_file.h"
#include "fileutil.h"
#include "h5util.h"
#include "sysmap/sizes.h"
#include "hash.h"

/* No check of N against the number of parameters here: whether the map
 * constrains a model (N > n_dim) depends on the model, so the run checks it. */
struct sm_data {
    size_t n_pix, n_sys;
    double *delta;            /* (N,) */
    double *templates;        /* (S, N) */
    char **names;             /* (S,) */
    double *injected_a, *injected_b; /* (S,) or NULL */
};

void sm_data_free(sm_data_t *data)
{
    if (data == NULL)
        return;
    for (size_t i = 0; data->names != NULL && i < data->n_sys; i++)
        free(data->names[i]);
    free(data->names);
    free(data->delta);
    free(data->templates);
    free(data->injected_a);
    free(data->injected_b);
    free(data);
}

static const char *nonfinite_name(double x)
{
    return isnan(x) ? "NaN" : x > 0 ? "Inf" : "-Inf";
}

/* Masked pixels are never read, so they may hold NaN or HEALPix's UNSEEN.
 * Values beyond SM_DATA_VALUE_MAX are refused here rather than left to
 * overflow later into "initial walkers not finite" or NaN eigenvalues. */
static sm_status check_values(const double *x, const uint8_t *mask, size_t n, const char *what,
                              size_t row, int has_row)
{
    for (size_t j = 0; j < n; j++) {
        if ((mask != NULL && !mask[j]) || fabs(x[j]) <= SM_DATA_VALUE_MAX)
            continue; /* NaN fails the comparison */
        char where[64];
        if (has_row)
            snprintf(where, sizeof where, "template %zu, pixel %zu", row, j);
        else
            snprintf(where, sizeof where, "pixel %zu", j);
        if (!isfinite(x[j]))
            return sm_fail(SM_EINVAL, "%s: %s at %s", what, nonfinite_name(x[j]), where);
        return sm_fail(SM_EINVAL, "%s: value %g at %s is beyond +-%g, where squares of values "
                                  "overflow",
                       what, x[j], where, SM_DATA_VALUE_MAX);
    }
    return SM_OK;
}

/* S x N doubles: refused before anything is allocated when the product
 * wraps or exceeds the machine's memory. */
static sm_status check_size(size_t n_sys, size_t n_pix)
{
    size_t cells, bytes;
    sm_status st = sm_size_mul(n_sys, n_pix, "templates", &cells);
    if (st == SM_OK)
        st = sm_size_bytes(cells, sizeof(double), "templates", &bytes);
    return st;
}

static void compact(double *dst, const double *src, const uint8_t *mask, size_t n)
{
    for (size_t j = 0; j < n; j++)
        if (mask == NULL || mask[j])
            *dst++ = src[j];
}

static sm_status default_names(sm_data_t *data)
{
    data->names = calloc(data->n_sys, sizeof *data->names);
    if (data->names == NULL)
        return SM_FAIL_NOMEM("template names");
    for (size_t i = 0; i < data->n_sys; i++) {
        char name[32];
        snprintf(name, sizeof name, "t_%zu", i + 1);
        data->names[i] = strdup(name);
        if (data->names[i] == NULL)
            return SM_FAIL_NOMEM("template names");
    }
    return SM_OK;
}

sm_status sm_data_create(sm_data_t **out, size_t n_pix_total, size_t n_sys,
                         const double *delta_g_obs, const double *templates,
                         const uint8_t *mask)
{
    if (out == NULL || delta_g_obs == NULL || templates == NULL)
        return sm_fail(SM_EINVAL, "sm_data_create: %s is NULL",
                       out == NULL ? "out" : delta_g_obs == NULL ? "delta_g_obs" : "templates");
    *out = NULL;
    if (n_sys == 0)
        return sm_fail(SM_EINVAL, "templates: no templates (S = 0)");
    if (n_pix_total == 0)
        return sm_fail(SM_EINVAL, "delta_g_obs: empty map (no pixels)");
    sm_status st = check_size(n_sys, n_pix_total);
    if (st != SM_OK)
        return st;
    size_t n_used = n_pix_total;
    if (mask != NULL) {
        n_used = 0;
        for (size_t j = 0; j < n_pix_total; j++)
            n_used += mask[j] != 0;
        if (n_used == 0)
            return sm_fail(SM_EINVAL, "mask: all %zu pixels are masked", n_pix_total);
    }
    st = check_values(delta_g_obs, mask, n_pix_total, "delta_g_obs", 0, 0);
    for (size_t i = 0; i < n_sys && st == SM_OK; i++)
        st = check_values(templates + i * n_pix_total, mask, n_pix_total, "templates", i, 1);
    if (st != SM_OK)
        return st;

    sm_data_t *data = calloc(1, sizeof *data);
    if (data == NULL)
        return SM_FAIL_NOMEM("data");
    data->n_pix = n_used;
    data->n_sys = n_sys;
    data->delta = malloc(n_used * sizeof *data->delta);
    data->templates = malloc(n_sys * n_used * sizeof *data->templates);
    if (data->delta == NULL || data->templates == NULL) {
        sm_data_free(data);
        return SM_FAIL_NOMEM("map and templates");
    }
    st = default_names(data);
    if (st != SM_OK) {
        sm_data_free(data);
        return st;
    }
    compact(data->delta, delta_g_obs, mask, n_pix_total);
    for (size_t i = 0; i < n_sys; i++)
        compact(data->templates + i * n_used, templates + i * n_pix_total, mask, n_pix_total);
    *out = data;
    return SM_OK;
}

/* The file's shapes, read before any data. */
typedef struct {
    hid_t delta, templates, mask; /* datasets; mask may be absent */
    size_t n_pix, n_sys;
} input_sets;

static sm_status open_inputs(hid_t file, input_sets *in)
{
    hsize_t dn[1], dt[2], dm[1];
    char a[128], b[128];
    sm_status st = sm_h5_open_dataset(file, "delta_g_obs", &in->delta);
    if (st == SM_OK)
        st = sm_h5_shape(in->delta, "delta_g_obs", 1, dn);
    if (st == SM_OK)
        st = sm_h5_open_dataset(file, "templates", &in->templates);
    if (st == SM_OK)
        st = sm_h5_shape(in->templates, "templates", 2, dt);
    if (st != SM_OK)
        return st;
    if (dt[1] != dn[0])
        return sm_fail(SM_EFORMAT, "templates: shape %s does not match delta_g_obs shape %s",
                       sm_h5_format_shape(a, sizeof a, 2, dt),
                       sm_h5_format_shape(b, sizeof b, 1, dn));
    in->n_pix = (size_t)dn[0];
    in->n_sys = (size_t)dt[0];
    int has_mask;
    st = sm_h5_exists(file, "mask", "dataset", &has_mask);
    if (st != SM_OK || !has_mask)
        return st;
    st = sm_h5_open_dataset(file, "mask", &in->mask);
    if (st == SM_OK)
        st = sm_h5_shape(in->mask, "mask", 1, dm);
    if (st == SM_OK && dm[0] != dn[0])
        st = sm_fail(SM_EFORMAT, "mask: shape %s does not match delta_g_obs shape %s",
                     sm_h5_format_shape(a, sizeof a, 1, dm),
                     sm_h5_format_shape(b, sizeof b, 1, dn));
    return st;
}

/* The data of file and, for the caller's pixel layout, its mask (NULL
 * without one) and length. */
static sm_status read_inputs(hid_t file, sm_data_t **out, uint8_t **mask_out,
                             size_t *n_total)
{
    input_sets in = {H5I_INVALID_HID, H5I_INVALID_HID, H5I_INVALID_HID, 0, 0};
    double *delta = NULL, *templates = NULL;
    uint8_t *mask = NULL;
    sm_status st = open_inputs(file, &in);
    if (st != SM_OK)
        goto done;
    st = check_size(in.n_sys, in.n_pix);
    if (st == SM_OK)
        st = sm_h5_check_storage(in.delta, "delta_g_obs", sizeof *delta);
    if (st == SM_OK)
        st = sm_h5_check_storage(in.templates, "templates", sizeof *templates);
    if (st == SM_OK && in.mask >= 0)
        st = sm_h5_check_storage(in.mask, "mask", 1);
    if (st != SM_OK)
        goto done;
    /* At least one element each: empty maps are reported by sm_data_create. */
    size_t n = in.n_pix ? in.n_pix : 1, cells = in.n_sys ? in.n_sys * n : 1;
    delta = malloc(n * sizeof *delta);
    templates = malloc(cells * sizeof *templates);
    mask = in.mask < 0 ? NULL : malloc(n);
    if (delta == NULL || templates == NULL || (in.mask >= 0 && mask == NULL)) {
        st = SM_FAIL_NOMEM("input arrays");
        goto done;
    }
    st = sm_h5_read_f64(in.delta, "delta_g_obs", delta);
    if (st == SM_OK)
        st = sm_h5_read_f64(in.templates, "templates", templates);
    if (st == SM_OK && mask != NULL)
        st = sm_h5_read_bytes(in.mask, "mask", mask);
    if (st == SM_OK)
        st = sm_data_create(out, in.n_pix, in.n_sys, delta, templates, mask);
    if (st == SM_OK) {
        *n_total = in.n_pix;
        *mask_out = mask;
        mask = NULL;
    }
done:
    free(delta);
    free(templates);
    free(mask);
    sm_h5_close(in.delta);
    sm_h5_close(in.templates);
    sm_h5_close(in.mask);
    return st;
}

/* Optional root attribute template_names: S strings replace "t_<i+1>". */
static sm_status read_names(hid_t file, sm_data_t *data)
{
    size_t s = data->n_sys;
    int has;
    sm_status st = sm_h5_exists(file, "template_names", "attribute", &has);
    if (st != SM_OK || !has)
        return st;
    char **names = calloc(s, sizeof *names);
    if (names == NULL)
        return SM_FAIL_NOMEM("template names");
    hid_t attr = H5I_INVALID_HID;
    st = sm_h5_open_attr(file, "template_names", &attr);
    if (st == SM_OK)
        st = sm_h5_read_strings(attr, "template_names", s, names);
    sm_h5_close(attr);
    /* On failure sm_h5_read_strings has left names all NULL. */
    for (size_t i = 0; i < s && st == SM_OK; i++) {
        free(data->names[i]);
        data->names[i] = names[i];
    }
    free(names);
    return st;
}

/* Optional root attribute name (injected_a or injected_b): S float64s. */
static sm_status read_injected(hid_t file, const char *name, size_t s, double **dst)
{
    int has;
    sm_status st = sm_h5_exists(file, name, "attribute", &has);
    if (st != SM_OK || !has)
        return st;
    hid_t attr = H5I_INVALID_HID;
    hsize_t dims[1];
    st = sm_h5_open_attr(file, name, &attr);
    if (st == SM_OK)
        st = sm_h5_shape(attr, name, 1, dims);
    if (st == SM_OK && dims[0] != s)
        st = sm_fail(SM_EFORMAT, "%s: %llu values for %zu templates", name,
                     (unsigned long long)dims[0], s);
    if (st == SM_OK && (*dst = malloc(s * sizeof **dst)) == NULL)
        st = SM_FAIL_NOMEM(name);
    if (st == SM_OK)
        st = sm_h5_read_f64(attr, name, *dst);
    sm_h5_close(attr);
    return st;
}

sm_status sm_data_load_hdf5(sm_data_t **out, const char *path)
{
    uint8_t *mask = NULL;
    size_t n_total;
    sm_status st = sm_data_load_hdf5_masked(out, path, &mask, &n_total);
    free(mask);
    return st;
}

sm_status sm_data_load_hdf5_masked(sm_data_t **out, const char *path, uint8_t **mask,
                                   size_t *n_total)
{
    if (out == NULL || path == NULL)
        return sm_fail(SM_EINVAL, "sm_data_load_hdf5: %s is NULL", out == NULL ? "out" : "path");
    *out = NULL;
    *mask = NULL;
    sm_status st = sm_file_check_regular(path, "HDF5 input");
    if (st != SM_OK)
        return st;
    sm_h5_quiet_t quiet;
    sm_h5_quiet_begin(&quiet);
    hid_t file = H5I_INVALID_HID;
    sm_data_t *data = NULL;
    st = sm_h5_open_file(path, H5F_ACC_RDONLY, &file);
    if (st == SM_OK) {
        st = read_inputs(file, &data, mask, n_total);
        if (st == SM_OK)
            st = read_names(file, data);
        if (st == SM_OK)
            st = read_injected(file, "injected_a", data->n_sys, &data->injected_a);
        if (st == SM_OK)
            st = read_injected(file, "injected_b", data->n_sys, &data->injected_b);
        H5Fclose(file);
        if (st != SM_OK)
            sm_fail_context(st, "%s", path);
    }
    sm_h5_quiet_end(&quiet);
    if (st != SM_OK) {
        sm_data_free(data);
        free(*mask);
        *mask = NULL;
        return st;
    }
    *out = data;
    return SM_OK;
}

static sm_status read_walkers(hid_t file, size_t n_walkers, size_t n_dim, size_t n,
                              double *out)
{
    hid_t dset = H5I_INVALID_HID;
    hsize_t dims[2], want[2] = {n_walkers, n_dim};
    char a[128], b[128];
    sm_status st = sm_h5_open_dataset(file, "p0", &dset);
    if (st == SM_OK)
        st = sm_h5_shape(dset, "p0", 2, dims);
    if (st == SM_OK && (dims[0] != want[0] || dims[1] != want[1]))
        st = sm_fail(SM_EFORMAT, "p0: shape %s does not match the run's (n_walkers, n_dim) = %s",
                     sm_h5_format_shape(a, sizeof a, 2, dims),
                     sm_h5_format_shape(b, sizeof b, 2, want));
    if (st == SM_OK)
        st = sm_h5_check_storage(dset, "p0", sizeof *out);
    if (st == SM_OK)
        st = sm_h5_read_f64(dset, "p0", out);
    sm_h5_close(dset);
    for (size_t k = 0; k < n && st == SM_OK; k++)
        if (!isfinite(out[k]))
            st = sm_fail(SM_EINVAL, "p0: %s at walker %zu, parameter %zu",
                         nonfinite_name(out[k]), k / n_dim, k % n_dim);
    return st;
}

sm_status sm_data_load_walkers(const char *path, size_t n_walkers, size_t n_dim, double *out)
{
    if (path == NULL || out == NULL)
        return sm_fail(SM_EINVAL, "sm_data_load_walkers: %s is NULL",
                       path == NULL ? "path" : "out");
    size_t n;
    sm_status st = sm_size_mul(n_walkers, n_dim, "initial walkers", &n);
    if (st == SM_OK)
        st = sm_file_check_regular(path, "initial walkers file");
    if (st != SM_OK)
        return st;
    sm_h5_quiet_t quiet;
    sm_h5_quiet_begin(&quiet);
    hid_t file = H5I_INVALID_HID;
    st = sm_h5_open_file(path, H5F_ACC_RDONLY, &file);
    if (st == SM_OK) {
        st = read_walkers(file, n_walkers, n_dim, n, out);
        H5Fclose(file);
        if (st != SM_OK)
            sm_fail_context(st, "%s", path);
    }
    sm_h5_quiet_end(&quiet);
    return st;
}

size_t sm_data_n_pix(const sm_data_t *data)
{
    return data->n_pix;
}

size_t sm_data_n_sys(const sm_data_t *data)
{
    return data->n_sys;
}

const double *sm_data_delta(const sm_data_t *data)
{
    return data->delta;
}

const double *sm_data_templates(const sm_data_t *data)
{
    return data->templates;
}

const char *sm_data_template_name(const sm_data_t *data, size_t i)
{
    return i < data->n_sys ? data->names[i] : NULL;
}

sm_status sm_data_set_template_names(sm_data_t *data, const char *const *names)
{
    if (data == NULL || names == NULL)
        return sm_fail(SM_EINVAL, "sm_data_set_template_names: NULL argument");
    for (size_t i = 0; i < data->n_sys; i++) {
        char *copy = strdup(names[i] != NULL ? names[i] : "");
        if (copy == NULL)
            return SM_FAIL_NOMEM("template names");
        free(data->names[i]);
        data->names[i] = copy;
    }
    return SM_OK;
}

const double *sm_data_injected_a(const sm_data_t *data)
{
    return data->injected_a;
}

const double *sm_data_injected_b(const sm_data_t *data)
{
    return data->injected_b;
}

/* numpy's pairwise_sum (loops_utils.h.src) of f(x_i), where f is x itself
 * or, with square, (x - center)^2: below 8 terms a plain loop; up to
 * SM_NUMPY_PW_BLOCK eight interleaved accumulators combined as a tree,
 * then the remainder; above it, halves split at a multiple of 8. The
 * order of every addition is numpy's, so the result is bit for bit. */
#define SM_NUMPY_PW_BLOCK 128

static double pw_term(const double *x, size_t i, int square, double center)
{
    if (!square)
        return x[i];
    double d = x[i] - center;
    return d * d;
}

static double pairwise_sum(const double *x, size_t n, int square, double center)
{
    if (n < 8) {
        double res = 0.0;
        for (size_t i = 0; i < n; i++)
            res += pw_term(x, i, square, center);
        return res;
    }
    if (n <= SM_NUMPY_PW_BLOCK) {
        double r[8];
        for (size_t k = 0; k < 8; k++)
            r[k] = pw_term(x, k, square, center);
        size_t i = 8;
        for (; i < n - n % 8; i += 8)
            for (size_t k = 0; k < 8; k++)
                r[k] += pw_term(x, i + k, square, center);
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            res += pw_term(x, i, square, center);
        return res;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise_sum(x, n2, square, center) +
           pairwise_sum(x + n2, n - n2, square, center);
}

/* np.add.reduce: the identity 0 plus the pairwise sums of consecutive
 * blocks of `buffer` elements (the whole array when buffer is 0). */
static double numpy_sum(const double *x, size_t n, size_t buffer, int square, double center)
{
    size_t block = buffer == 0 ? n : buffer;
    double res = 0.0;
    for (size_t i = 0; i < n; i += block)
        res += pairwise_sum(x + i, n - i < block ? n - i : block, square, center);
    return res;
}

double sm_data_numpy_std(const double *x, size_t n, size_t buffer)
{
    /* numpy's _methods._var and _std: mean = sum / n, sum of (x - mean)^2,
     * divided by n, square root; each a correctly rounded IEEE operation. */
    double mean = numpy_sum(x, n, buffer, 0, 0.0) / (double)n;
    return sqrt(numpy_sum(x, n, buffer, 1, mean) / (double)n);
}

double sm_data_delta_std(const sm_data_t *data)
{
    return sm_data_numpy_std(data->delta, data->n_pix, 0);
}

uint64_t sm_data_digest(const sm_data_t *data)
{
    uint64_t h = sm_fnv_u64(SM_FNV_OFFSET, (uint64_t)data->n_pix);
    h = sm_fnv_u64(h, (uint64_t)data->n_sys);
    h = sm_fnv_f64(h, data->delta, data->n_pix);
    return sm_fnv_f64(h, data->templates, data->n_sys * data->n_pix);
}
