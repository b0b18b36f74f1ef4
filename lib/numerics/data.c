/* The map and templates in memory: checked on creation, compacted to the
 * used pixels; numpy's np.std and the map's digest. Loading from files is
 * io/data_hdf5.c. */
#include "sysmap/data.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_struct.h"
#include "error.h"
#include "hash.h"
#include "sysmap/sizes.h"

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

const char *sm_data_nonfinite_name(double x)
{
    return isnan(x) ? "NaN" : x > 0 ? "Inf" : "-Inf";
}

/* Masked pixels are never read, so they may hold NaN or HEALPix's UNSEEN.
 * Values beyond SM_DATA_VALUE_MAX are refused here rather than left to
 * overflow later into "initial walkers not finite" or NaN eigenvalues. */
int sm_data_value_ok(double x)
{
    return fabs(x) <= SM_DATA_VALUE_MAX; /* NaN fails the comparison */
}

sm_status sm_data_check_values(const double *x, const uint8_t *mask, size_t n, size_t first,
                               const char *what, size_t row, int has_row)
{
    for (size_t j = 0; j < n; j++) {
        if ((mask != NULL && !mask[j]) || sm_data_value_ok(x[j]))
            continue;
        char where[64];
        if (has_row)
            snprintf(where, sizeof where, "template %zu, pixel %zu", row, first + j);
        else
            snprintf(where, sizeof where, "pixel %zu", first + j);
        if (!isfinite(x[j]))
            return sm_fail(SM_EINVAL, "%s: %s at %s", what, sm_data_nonfinite_name(x[j]), where);
        return sm_fail(SM_EINVAL, "%s: value %g at %s is beyond +-%g, where squares of values "
                                  "overflow",
                       what, x[j], where, SM_DATA_VALUE_MAX);
    }
    return SM_OK;
}

sm_status sm_data_check_size(size_t n_sys, size_t n_pix)
{
    size_t cells, bytes;
    sm_status st = sm_size_mul(n_sys, n_pix, "templates", &cells);
    if (st == SM_OK)
        st = sm_size_bytes(cells, sizeof(double), "templates", &bytes);
    return st;
}

size_t sm_data_count_used(const uint8_t *mask, size_t n)
{
    size_t used = 0;
    for (size_t j = 0; j < n; j++)
        used += mask == NULL || mask[j] != 0;
    return used;
}

void sm_data_compact(double *dst, const double *src, const uint8_t *mask, size_t n)
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

/* The map from arrays it now owns, with the default template names; frees
 * them when it fails. */
static sm_status wrap(sm_data_t **out, size_t n, size_t n_sys, double *delta, double *templates)
{
    sm_data_t *data = calloc(1, sizeof *data);
    if (data == NULL) {
        free(delta);
        free(templates);
        return SM_FAIL_NOMEM("data");
    }
    data->n_pix = n;
    data->n_sys = n_sys;
    data->delta = delta;
    data->templates = templates;
    sm_status st = default_names(data);
    if (st != SM_OK) {
        sm_data_free(data);
        return st;
    }
    *out = data;
    return SM_OK;
}

double *sm_data_values_alloc(size_t count)
{
    const size_t page = 4096;
    size_t bytes = count * sizeof(double); /* count checked by the caller */
    if (bytes > SIZE_MAX - page)
        return NULL;
    /* aligned_alloc wants a multiple of the alignment */
    return aligned_alloc(page, bytes == 0 ? page : (bytes + page - 1) / page * page);
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
    sm_status st = sm_data_check_size(n_sys, n_pix_total);
    if (st != SM_OK)
        return st;
    size_t n_used = sm_data_count_used(mask, n_pix_total);
    if (n_used == 0)
        return sm_fail(SM_EINVAL, "mask: all %zu pixels are masked", n_pix_total);
    st = sm_data_check_values(delta_g_obs, mask, n_pix_total, 0, "delta_g_obs", 0, 0);
    for (size_t i = 0; i < n_sys && st == SM_OK; i++)
        st = sm_data_check_values(templates + i * n_pix_total, mask, n_pix_total, 0,
                                  "templates", i, 1);
    if (st != SM_OK)
        return st;
    double *delta = malloc(n_used * sizeof *delta);
    double *t = sm_data_values_alloc(n_sys * n_used);
    if (delta == NULL || t == NULL) {
        free(delta);
        free(t);
        return SM_FAIL_NOMEM("map and templates");
    }
    sm_data_compact(delta, delta_g_obs, mask, n_pix_total);
    for (size_t i = 0; i < n_sys; i++)
        sm_data_compact(t + i * n_used, templates + i * n_pix_total, mask, n_pix_total);
    return wrap(out, n_used, n_sys, delta, t);
}

sm_status sm_data_adopt(sm_data_t **out, size_t n, size_t n_sys, double *delta,
                        double *templates)
{
    *out = NULL;
    sm_status st = sm_data_check_values(delta, NULL, n, 0, "delta_g_obs", 0, 0);
    for (size_t i = 0; i < n_sys && st == SM_OK; i++)
        st = sm_data_check_values(templates + i * n, NULL, n, 0, "templates", i, 1);
    if (st != SM_OK) {
        free(delta);
        free(templates);
        return st;
    }
    return wrap(out, n, n_sys, delta, templates);
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
