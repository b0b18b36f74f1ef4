/* The GSL double-precision reference backend: the numerical truth. */
#ifndef SYSMAP_REFERENCE_H
#define SYSMAP_REFERENCE_H

#include "sysmap/backend.h"
#include "sysmap/data.h"
#include "sysmap/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Keeps a reference to data (which must outlive the backend); pixel sums
 * are Neumaier-compensated. */
SM_API sm_status sm_reference_create(sm_backend_t **out, const sm_data_t *data,
                                     const sm_model_t *model);

#ifdef __cplusplus
}
#endif
#endif
