/* What a survey uses next: the corrected overdensity map and the
 * systematic weight map at the posterior median, with per-pixel
 * uncertainties, written as HEALPix FITS maps and HDF5 datasets. */
#ifndef SYSMAP_MAPS_H
#define SYSMAP_MAPS_H

#include <stddef.h>
#include "sysmap/data.h"
#include "sysmap/input.h"
#include "sysmap/model.h"
#include "sysmap/run.h"
#include "sysmap/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Per used pixel j, with a and b the posterior median in the original
 * basis (b = 0 for the additive model; a = b, one vector, for the
 * multiplicative model) and m_j = 1 + b.t_j:
 *   delta_corr_j = (delta_obs_j - a.t_j) / m_j,   weight_j = 1 / m_j,
 * and their 1-sigma uncertainties from the posterior covariance C of the
 * free contamination parameters, linearised at the median:
 *   err_j^2 = g_j^T C g_j with g the gradient of the value in (a, b):
 *   d delta_corr / d a_i = -t_ij / m_j, d delta_corr / d b_i = -delta_corr_j t_ij / m_j,
 *   d weight / d b_i = -weight_j^2 t_ij;
 * multiplicative (a = b): d delta_corr / d b_i = -(1 + delta_corr_j) t_ij / m_j.
 * C holds the a-b cross terms. The uncertainty is that of the correction
 * (what the contamination parameters leave unknown), not the noise of
 * delta_obs itself. */
typedef struct {
    size_t n_pix;
    double *delta_corr, *delta_corr_err;  /* (n_pix,) */
    double *weight, *weight_err;          /* (n_pix,) */
} sm_maps_t;

/* From explicit parameters: median (n_dim,) in the model's layout and
 * cov (n_cont, n_cont), the covariance of the free contamination
 * parameters (the first n_cont entries of the parameter vector). */
SM_API sm_status sm_maps_compute(sm_maps_t **out, const sm_data_t *data, const sm_model_t *model,
                                 const double *median, const double *cov);

/* From an executed run on data: its median and the covariance (ddof 1) of
 * the contamination block over its post-burn-in chain. */
SM_API sm_status sm_maps_from_run(sm_maps_t **out, const sm_run_t *run, const sm_data_t *data);

SM_API void sm_maps_free(sm_maps_t *maps);

/* A HEALPix FITS map file (pixels from a HEALPix input) with full-sky
 * float64 columns DELTA_CORR, DELTA_CORR_ERR, WEIGHT, WEIGHT_ERR, UNSEEN
 * outside the used pixels, in the input's NSIDE and ordering. */
SM_API sm_status sm_maps_write_fits(const sm_maps_t *maps, const sm_pixels_t *pixels,
                                    const char *path);

/* Group "maps" in the HDF5 file path (replacing any; the file is created
 * if absent, else its other contents are kept): datasets pixel (int64),
 * delta_corr, delta_corr_err, weight, weight_err (n_pix,), and for a
 * HEALPix input theta, phi (radians); attributes nside (0: not HEALPix),
 * ordering, n_total, point, basis, uncertainty. Either way the new file
 * replaces path in one rename. */
SM_API sm_status sm_maps_write_hdf5(const sm_maps_t *maps, const sm_pixels_t *pixels,
                                    const char *path);

#ifdef __cplusplus
}
#endif
#endif
