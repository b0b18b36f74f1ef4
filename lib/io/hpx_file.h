/* Internal: a HEALPix map file read one column at a time at chosen
 * pixels, so that a loader never holds a full-sky copy of a template
 * (io/healpix.c; io/input.c assembles the used pixels from it). */
#ifndef SYSMAP_IO_HPX_FILE_H
#define SYSMAP_IO_HPX_FILE_H

#include <stddef.h>
#include <stdint.h>
#include "sysmap/healpix.h"

typedef struct sm_hpx_file sm_hpx_file_t;

/* Opens path with the checks of sm_hpx_read (header, columns, a partial
 * map's pixel list); column NULL picks every value column. */
sm_status sm_hpx_open(sm_hpx_file_t **out, const char *path, const char *column);
void sm_hpx_close(sm_hpx_file_t *f);

const char *sm_hpx_file_path(const sm_hpx_file_t *f);
int64_t sm_hpx_file_nside(const sm_hpx_file_t *f);
sm_hpx_order_t sm_hpx_file_order(const sm_hpx_file_t *f);
size_t sm_hpx_file_n_cols(const sm_hpx_file_t *f);
const char *sm_hpx_file_col_name(const sm_hpx_file_t *f, size_t c);

/* Value column c at the n increasing pixels at: out[k], SM_HPX_UNSEEN
 * where the file has no value. */
sm_status sm_hpx_read_at(sm_hpx_file_t *f, size_t c, size_t n, const int64_t *at, double *out);
/* The pixels where column c has a value, increasing, and those values
 * (both malloc'd, *n of each). */
sm_status sm_hpx_read_seen(sm_hpx_file_t *f, size_t c, int64_t **pix, double **val, size_t *n);

#endif
