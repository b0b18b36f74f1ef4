/* The template basis the sampler works in, and the way back to the user's.
 *
 * The working templates are t_w = M t with M = R D^-1: D = diag(template
 * standard deviations), R = the eigenvectors of the template correlation
 * matrix as rows (GSL symmetric eigen-decomposition, eigenvalues descending).
 * M is linear with no shift, so the model in the working basis is the same
 * model: a = M^T a_w, b = M^T b_w and cov = M^T cov_w M exactly. */
#ifndef SYSMAP_BASIS_H
#define SYSMAP_BASIS_H

#include <stddef.h>
#include "sysmap/data.h"
#include "sysmap/model.h"
#include "sysmap/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SM_BASIS_ROTATED = 0,  /* standardised, decorrelated (PCA) templates */
    SM_BASIS_ORIGINAL      /* templates as given: M = I */
} sm_basis_kind_t;

SM_API sm_status sm_basis_parse(const char *name, sm_basis_kind_t *kind);
SM_API const char *sm_basis_name(sm_basis_kind_t kind);

typedef struct sm_basis sm_basis_t;

/* Fails (SM_ENUMERIC) on a constant template (a zero one included) or a
 * singular correlation (identical or collinear templates), in either basis. */
SM_API sm_status sm_basis_create(sm_basis_t **out, const sm_data_t *data, sm_basis_kind_t kind);
SM_API void sm_basis_free(sm_basis_t *basis);

SM_API sm_basis_kind_t sm_basis_kind_of(const sm_basis_t *basis);
SM_API size_t sm_basis_n_sys(const sm_basis_t *basis);
SM_API const double *sm_basis_matrix(const sm_basis_t *basis);  /* M, (S, S) row-major */

/* The data with templates t_w = M t (a new handle). */
SM_API sm_status sm_basis_apply(const sm_basis_t *basis, const sm_data_t *data, sm_data_t **out);

/* Parameter vectors (n, n_dim) between bases: a and b blocks map by M^T
 * (to original) or M^-T (to working); sigma and gamma are unchanged.
 * in and out may not alias. */
SM_API void sm_basis_params_to_original(const sm_basis_t *basis, const sm_model_t *model,
                                        size_t n, const double *work, double *orig);
SM_API void sm_basis_params_to_working(const sm_basis_t *basis, const sm_model_t *model,
                                       size_t n, const double *orig, double *work);
/* cov (S, S) of an a or b block: M^T cov_w M. */
SM_API void sm_basis_cov_to_original(const sm_basis_t *basis, const double *cov_work,
                                     double *cov_orig);

#ifdef __cplusplus
}
#endif
#endif
