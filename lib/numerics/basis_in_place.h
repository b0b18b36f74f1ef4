/* Internal: the working basis without a second copy of the templates, for
 * a run that owns its data (lib/run). */
#ifndef SYSMAP_NUMERICS_BASIS_IN_PLACE_H
#define SYSMAP_NUMERICS_BASIS_IN_PLACE_H

#include "sysmap/basis.h"

/* Overwrites data's templates t with t_w = M t, pixel by pixel, with the
 * same values as sm_basis_apply's copy. */
sm_status sm_basis_apply_in_place(const sm_basis_t *basis, sm_data_t *data);

/* t (S,): the original templates M^-1 t_w at pixel j of work, which holds
 * working ones (equal to the originals to rounding). */
void sm_basis_original_at(const sm_basis_t *basis, const sm_data_t *work, size_t j, double *t);

#endif
