/* Internal: the in-memory map and templates (numerics/data.c), for the
 * loaders that fill one from a file (io/data_hdf5.c). */
#ifndef SYSMAP_NUMERICS_DATA_STRUCT_H
#define SYSMAP_NUMERICS_DATA_STRUCT_H

#include <stddef.h>
#include "sysmap/data.h"

/* No check of N against the number of parameters here: whether the map
 * constrains a model (N > n_dim) depends on the model, so the run checks it. */
struct sm_data {
    size_t n_pix, n_sys;
    double *delta;            /* (N,) */
    double *templates;        /* (S, N) */
    char **names;             /* (S,) */
    double *injected_a, *injected_b; /* (S,) or NULL */
};

/* S x N doubles: refused before anything is allocated when the product
 * wraps or exceeds the machine's memory. */
sm_status sm_data_check_size(size_t n_sys, size_t n_pix);
/* The map from compacted arrays (delta (n,), templates (S, n), malloc'd;
 * n, S >= 1 and S x n checked by the caller), values checked and kept
 * without a copy; both are freed when it fails. */
sm_status sm_data_adopt(sm_data_t **out, size_t n, size_t n_sys, double *delta,
                        double *templates);
/* count doubles (count x 8 bytes checked by the caller) for templates, at a
 * page boundary, so that a CPU OpenCL device can read them in place (its
 * buffers' base alignment is at most a page); free() frees them. NULL when
 * out of memory. */
double *sm_data_values_alloc(size_t count);
/* Finite and within SM_DATA_VALUE_MAX. */
int sm_data_value_ok(double x);
/* Refuses a value !sm_data_value_ok at an unmasked pixel of x (n,), naming
 * the pixel (first + its index) and the template row when has_row. */
sm_status sm_data_check_values(const double *x, const uint8_t *mask, size_t n, size_t first,
                               const char *what, size_t row, int has_row);
/* Pixels the mask keeps (all n without one). */
size_t sm_data_count_used(const uint8_t *mask, size_t n);
/* Copies the kept values of src (n,) to dst in order; dst may be src. */
void sm_data_compact(double *dst, const double *src, const uint8_t *mask, size_t n);
/* "NaN", "+inf" or "-inf", for messages about a non-finite value. */
const char *sm_data_nonfinite_name(double x);

#endif
