/* HEALPix maps in FITS files (cfitsio, chealpix): reading a map file as
 * survey tools write it (full-sky or partial-sky, RING or NESTED ordering,
 * UNSEEN pixels), changing its ordering or resolution, and writing maps. */
#ifndef SYSMAP_HEALPIX_H
#define SYSMAP_HEALPIX_H

#include <stddef.h>
#include <stdint.h>
#include "sysmap/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* HEALPix's "no value here" (healpy.UNSEEN). Readers take any value within
 * 1e-5 relative of it (a float32 file's UNSEEN) as UNSEEN. */
#define SM_HPX_UNSEEN (-1.6375e30)
#define SM_HPX_NSIDE_MAX (INT64_C(1) << 29)

typedef enum { SM_HPX_RING = 0, SM_HPX_NESTED = 1 } sm_hpx_order_t;

SM_API const char *sm_hpx_order_name(sm_hpx_order_t order); /* "RING", "NESTED" */
SM_API int sm_hpx_is_unseen(double x);

/* A HEALPix map file in memory: every column as a full-sky map. */
typedef struct {
    char *path;              /* the file it was read from */
    int64_t nside;
    sm_hpx_order_t order;
    int partial;             /* the file listed its pixels (INDXSCHM = EXPLICIT) */
    size_t n_cols;
    char **col_names;        /* (n_cols,) TTYPEn of each column */
    double *values;          /* (n_cols, 12 nside^2); SM_HPX_UNSEEN where the file has
                                no value (UNSEEN, a TNULL integer, or a pixel a
                                partial-sky file does not list) */
} sm_hpx_map_t;

static inline int64_t sm_hpx_npix(int64_t nside)
{
    return 12 * nside * nside;
}

/* Reads the first binary table of a FITS file. It must be a HEALPix map:
 * PIXTYPE = 'HEALPIX', ORDERING (RING, NESTED or NEST) and NSIDE keywords;
 * full-sky (INDXSCHM IMPLICIT or absent: the column holds exactly
 * 12 NSIDE^2 values, in scalar or vector cells) or partial-sky (EXPLICIT:
 * a PIXEL or INDEX column of distinct pixel numbers beside the value
 * columns). column NULL reads every value column, else the one so named
 * (case-insensitive). Values are read as double; NaN stays NaN. Every
 * error names the file and what is wrong with it. Hostile files end in such
 * an error too: a path that is no regular file (a FIFO is never waited
 * on), NSIDE that is no integer, a header promising more data than the file
 * holds or more memory than the machine has, a compressed file claiming
 * more than it can hold, header cards that are no ASCII text. */
SM_API sm_status sm_hpx_read(sm_hpx_map_t **out, const char *path, const char *column);
SM_API void sm_hpx_free(sm_hpx_map_t *map);

/* Converts every column to the given ordering (nothing when it has it). */
SM_API sm_status sm_hpx_reorder(sm_hpx_map_t *map, sm_hpx_order_t order);

/* Changes the resolution to nside (a power of two, as the map's must be):
 * a coarser pixel gets the mean of its observed sub-pixels (UNSEEN when it
 * has none), a finer pixel its parent's value (healpy's ud_grade without
 * pess). The ordering is kept. */
SM_API sm_status sm_hpx_resample(sm_hpx_map_t *map, int64_t nside);

/* Colatitude theta and longitude phi (radians) of the centre of each of
 * the n pixels (chealpix pix2ang). */
SM_API void sm_hpx_pix2ang(int64_t nside, sm_hpx_order_t order, size_t n, const int64_t *pixels,
                           double *theta, double *phi);

/* An extra header keyword for sm_hpx_write (string value). */
typedef struct {
    const char *key, *value, *comment;
} sm_hpx_key_t;

/* Writes n_cols full-sky float64 columns (one value per row) as a HEALPix
 * map file that healpy.read_map reads: values (n_cols, n) belong to the n
 * listed pixels, every other pixel is UNSEEN. Written to PATH.tmp, synced
 * and renamed to path, so path is never a half-written file. */
SM_API sm_status sm_hpx_write(const char *path, int64_t nside, sm_hpx_order_t order, size_t n,
                              const int64_t *pixels, size_t n_cols, const char *const *names,
                              const double *values, const sm_hpx_key_t *keys, size_t n_keys);

#ifdef __cplusplus
}
#endif
#endif
