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
/* "NaN", "+inf" or "-inf", for messages about a non-finite value. */
const char *sm_data_nonfinite_name(double x);

#endif
