/* A galaxy overdensity map and its systematics templates. */
#ifndef SYSMAP_DATA_H
#define SYSMAP_DATA_H

#include <stddef.h>
#include <stdint.h>
#include "sysmap/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sm_data sm_data_t;

/* Largest |value| of a used pixel of the map or a template: beyond it,
 * squares (and their sums over any map) overflow double precision. */
#define SM_DATA_VALUE_MAX 1e100

/* Copies the used pixels (mask[j] != 0, or all when mask is NULL) of
 * delta_g_obs (n_pix_total,) and templates (n_sys, n_pix_total) row-major.
 * Rejects NaN/Inf, values beyond +-SM_DATA_VALUE_MAX, S = 0, no used
 * pixels, and S x N beyond the machine's memory; names the offending
 * entry. */
SM_API sm_status sm_data_create(sm_data_t **out, size_t n_pix_total, size_t n_sys,
                                const double *delta_g_obs, const double *templates,
                                const uint8_t *mask);

/* Reads an HDF5 file: float64 datasets delta_g_obs (N,) and templates (S, N),
 * optional uint8 mask (N,), optional root attributes template_names (strings)
 * and injected_a / injected_b (float64, S) for synthetic maps. The path must
 * be a regular file (a FIFO or a device is refused, never waited on); the
 * file's metadata are checked before HDF5 decodes them, so a damaged or
 * hostile file ends in an error naming what is wrong. */
SM_API sm_status sm_data_load_hdf5(sm_data_t **out, const char *path);

SM_API void sm_data_free(sm_data_t *data);

SM_API size_t sm_data_n_pix(const sm_data_t *data);          /* used pixels N */
SM_API size_t sm_data_n_sys(const sm_data_t *data);          /* templates S */
SM_API const double *sm_data_delta(const sm_data_t *data);   /* (N,) */
SM_API const double *sm_data_templates(const sm_data_t *data); /* (S, N) row-major */
/* Template name i; "t_<i+1>" when the input named none. */
SM_API const char *sm_data_template_name(const sm_data_t *data, size_t i);
/* Replaces the template names with copies of names (S strings), for
 * loaders that know them (HEALPix columns and files). */
SM_API sm_status sm_data_set_template_names(sm_data_t *data, const char *const *names);
/* Injected a and b of a synthetic map, or NULL when the input has none. */
SM_API const double *sm_data_injected_a(const sm_data_t *data);
SM_API const double *sm_data_injected_b(const sm_data_t *data);
/* np.std(x) (population, ddof 0) of n doubles, bit for bit: numpy's
 * pairwise summation for the mean and for the squared deviations. Recent
 * numpy (2.4) sums a contiguous array in one pairwise sum (buffer 0);
 * older numpy (1.24, Debian 12's python3-numpy) reduces it in consecutive
 * blocks of its buffer size (buffer SM_DATA_NUMPY_LEGACY_BUFFER). The two give
 * the same bits for n <= 8192 and may differ in the last bit above.
 * NaN for n = 0. */
SM_API double sm_data_numpy_std(const double *x, size_t n, size_t buffer);
#define SM_DATA_NUMPY_LEGACY_BUFFER 8192

/* sm_data_numpy_std of delta_g_obs over used pixels, as numpy 2.4 computes it
 * (buffer 0): the sigma of the seeded initial walkers. */
SM_API double sm_data_delta_std(const sm_data_t *data);
/* 64-bit FNV-1a digest of N, S, the used map and templates, so a resumed
 * run can check it continues on the same data. */
SM_API uint64_t sm_data_digest(const sm_data_t *data);

/* Initial walkers (n_walkers, n_dim) from float64 dataset `p0` of an HDF5
 * file (a regular file, checked as sm_data_load_hdf5's), in the original
 * template basis; the shape must match exactly. */
SM_API sm_status sm_data_load_walkers(const char *path, size_t n_walkers, size_t n_dim,
                                      double *out);

#ifdef __cplusplus
}
#endif
#endif
