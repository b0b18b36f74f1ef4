/* The map and templates from an HDF5 input (delta_g_obs, templates,
 * optional mask, names and injected values), and initial walkers from an
 * HDF5 file, read through the guarded driver of h5util. */
#include "sysmap/data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_file.h"
#include "data_struct.h"
#include "error.h"
#include "fileutil.h"
#include "h5util.h"
#include "sysmap/sizes.h"

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

/* Template values read per HDF5 call, whatever the map's size. */
#define SM_H5_ROW_CHUNK 65536

/* The first value of a template that sm_data_check_values would refuse,
 * kept until delta_g_obs has been checked (whose errors come first). */
typedef struct {
    int found;
    size_t row, pixel;
    double x;
} bad_value_t;

/* The templates straight into their used pixels (S, n_used), a chunk of a
 * row at a time: the (S, N) matrix is never in memory. */
static sm_status read_templates(const input_sets *in, const uint8_t *mask, size_t n_used,
                                double *templates, bad_value_t *bad)
{
    size_t n = in->n_pix, m_max = n < SM_H5_ROW_CHUNK ? n : SM_H5_ROW_CHUNK;
    double *buf = malloc(m_max * sizeof *buf);
    if (buf == NULL)
        return SM_FAIL_NOMEM("templates");
    sm_status st = SM_OK;
    for (size_t i = 0; i < in->n_sys && st == SM_OK; i++) {
        double *dst = templates + i * n_used;
        for (size_t j0 = 0; j0 < n && st == SM_OK; j0 += m_max) {
            size_t m = n - j0 < m_max ? n - j0 : m_max;
            st = sm_h5_read_f64_row(in->templates, "templates", i, j0, m, buf);
            for (size_t j = 0; j < m && st == SM_OK; j++) {
                if (mask != NULL && !mask[j0 + j])
                    continue;
                if (!bad->found && !sm_data_value_ok(buf[j]))
                    *bad = (bad_value_t){1, i, j0 + j, buf[j]};
                *dst++ = buf[j];
            }
        }
    }
    free(buf);
    return st;
}

/* The data of file, read straight into the used pixels, and for the
 * caller's pixel layout its mask (NULL without one) and length. Errors
 * come in the order of reading everything, then checking delta_g_obs,
 * then the templates. */
static sm_status read_inputs(hid_t file, sm_data_t **out, uint8_t **mask_out,
                             size_t *n_total)
{
    input_sets in = {H5I_INVALID_HID, H5I_INVALID_HID, H5I_INVALID_HID, 0, 0};
    double *delta = NULL, *templates = NULL;
    uint8_t *mask = NULL;
    bad_value_t bad = {0, 0, 0, 0.0};
    sm_status st = open_inputs(file, &in);
    if (st != SM_OK)
        goto done;
    st = sm_data_check_size(in.n_sys, in.n_pix);
    if (st == SM_OK)
        st = sm_h5_check_storage(in.delta, "delta_g_obs", sizeof *delta);
    if (st == SM_OK)
        st = sm_h5_check_storage(in.templates, "templates", sizeof *templates);
    if (st == SM_OK && in.mask >= 0)
        st = sm_h5_check_storage(in.mask, "mask", 1);
    if (st == SM_OK && in.n_sys == 0)
        st = sm_fail(SM_EINVAL, "templates: no templates (S = 0)");
    if (st == SM_OK && in.n_pix == 0)
        st = sm_fail(SM_EINVAL, "delta_g_obs: empty map (no pixels)");
    if (st != SM_OK)
        goto done;
    size_t n = in.n_pix;
    delta = malloc(n * sizeof *delta);
    mask = in.mask < 0 ? NULL : malloc(n);
    if (delta == NULL || (in.mask >= 0 && mask == NULL)) {
        st = SM_FAIL_NOMEM("input arrays");
        goto done;
    }
    st = sm_h5_read_f64(in.delta, "delta_g_obs", delta);
    if (st == SM_OK && mask != NULL)
        st = sm_h5_read_bytes(in.mask, "mask", mask);
    size_t n_used = sm_data_count_used(mask, n);
    if (st == SM_OK && n_used == 0)
        st = sm_fail(SM_EINVAL, "mask: all %zu pixels are masked", n);
    if (st == SM_OK && (templates = sm_data_values_alloc(in.n_sys * n_used)) == NULL)
        st = SM_FAIL_NOMEM("map and templates");
    if (st == SM_OK)
        st = read_templates(&in, mask, n_used, templates, &bad);
    if (st == SM_OK)
        st = sm_data_check_values(delta, mask, n, 0, "delta_g_obs", 0, 0);
    if (st == SM_OK && bad.found)
        st = sm_data_check_values(&bad.x, NULL, 1, bad.pixel, "templates", bad.row, 1);
    if (st != SM_OK)
        goto done;
    sm_data_compact(delta, delta, mask, n);
    double *shrunk = realloc(delta, n_used * sizeof *delta);
    st = sm_data_adopt(out, n_used, in.n_sys, shrunk != NULL ? shrunk : delta, templates);
    delta = templates = NULL;
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
                         sm_data_nonfinite_name(out[k]), k / n_dim, k % n_dim);
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
