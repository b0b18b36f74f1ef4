/* The model's layout as OpenCL kernel build defines (kernels/loglike.cl):
 * internal, the kernels are built by the library only. */
#ifndef SYSMAP_MODEL_DEFINES_H
#define SYSMAP_MODEL_DEFINES_H

#include "sysmap/model.h"

/* "-DNSYS=.. -DNDIM=.. -DA_OFF=.. -DB_OFF=.. -DSIGMA_IDX=.. -DSKEW=..
 * -DGAMMA_IDX=.." from the model table, for a validated model. */
sm_status sm_model_kernel_defines(const sm_model_t *model, char *buf, size_t len);

#endif
