/* One way in for every input: an HDF5 input file (data.h) or HEALPix FITS
 * maps (healpix.h), turned into the map and templates of the used pixels
 * plus where those pixels sit, so that results can be written back as maps. */
#ifndef SYSMAP_INPUT_H
#define SYSMAP_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include "sysmap/data.h"
#include "sysmap/healpix.h"
#include "sysmap/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A HEALPix map file and the column to use (NULL: see sm_input_t). */
typedef struct {
    const char *path;
    const char *column;
} sm_hpx_source_t;

typedef enum {
    SM_MAP_OVERDENSITY = 0, /* the map holds delta_g_obs */
    SM_MAP_COUNTS           /* galaxy counts n_j: delta_g_obs = n_j / (nbar w_j) - 1 */
} sm_map_kind_t;

/* What to load: hdf5, or the HEALPix files (map, templates, mask).
 *
 * Used pixels (HEALPix): where the map has a value, the mask's weight
 * w_j > mask_min (every pixel when there is no mask; UNSEEN counts as 0),
 * and every template has a value; pixels of the footprint (map and mask)
 * that some template leaves UNSEEN are dropped and counted. NaN or Inf in
 * a footprint pixel is an error. The mask may be a 0/1 mask, a completeness
 * (fraction observed) or a random-count map: for SM_MAP_COUNTS,
 * nbar = sum n_j / sum w_j over the used pixels, so w's scale is irrelevant.
 * Every file must have the map's NSIDE and ordering, unless resample /
 * reorder allow converting it to the map's. */
typedef struct {
    size_t struct_size;                 /* sizeof(sm_input_t) as the caller compiled it */
    const char *hdf5;                   /* HDF5 input file, or NULL for HEALPix */
    sm_hpx_source_t map;                /* column NULL: the first value column */
    sm_map_kind_t map_kind;
    const sm_hpx_source_t *templates;   /* column NULL: every value column is a template */
    size_t n_templates;
    sm_hpx_source_t mask;               /* path NULL: no mask; column NULL: the first */
    double mask_min;                    /* default 0 */
    int standardize;                    /* templates to zero mean and unit population
                                           variance over the used pixels (the seed's
                                           load_real_template) */
    int reorder;                        /* convert other orderings to the map's */
    int resample;                       /* ud_grade other NSIDEs to the map's */
} sm_input_t;

/* Every field 0 or NULL, and struct_size set. */
SM_API void sm_input_default(sm_input_t *in);

/* Where the used pixels of a loaded input sit. */
typedef struct sm_pixels sm_pixels_t;

/* Loads the data (template names: the HDF5 file's, else the FITS column
 * names, or the file name when a file has one column) and its pixel
 * layout. On failure nothing is returned and the message names the file. */
SM_API sm_status sm_input_load(const sm_input_t *in, sm_data_t **data, sm_pixels_t **pixels);

/* A layout of n used pixels out of n_total: index (n,) gives each used
 * pixel's HEALPix pixel number (nside > 0) or its position in the input
 * arrays (nside 0). Copies index. */
SM_API sm_status sm_pixels_create(sm_pixels_t **out, size_t n_total, size_t n, const int64_t *index,
                                  int64_t nside, sm_hpx_order_t order);
SM_API void sm_pixels_free(sm_pixels_t *pixels);

SM_API size_t sm_pixels_n_used(const sm_pixels_t *pixels);
SM_API size_t sm_pixels_n_total(const sm_pixels_t *pixels);   /* 12 NSIDE^2, or the input's N */
SM_API const int64_t *sm_pixels_index(const sm_pixels_t *pixels);
SM_API int64_t sm_pixels_nside(const sm_pixels_t *pixels);    /* 0: not a HEALPix input */
SM_API sm_hpx_order_t sm_pixels_order(const sm_pixels_t *pixels);
/* Footprint pixels (map and mask) left out because a template has no value. */
SM_API size_t sm_pixels_n_dropped(const sm_pixels_t *pixels);

#ifdef __cplusplus
}
#endif
#endif
