/* Internal: the corrected maps a range of pixels at a time (lib/run), so
 * that a writer need not hold all four maps of a survey at once. */
#ifndef SYSMAP_RUN_MAPS_PLAN_H
#define SYSMAP_RUN_MAPS_PLAN_H

#include "sysmap/basis.h"
#include "sysmap/maps.h"
#include "sysmap/run.h"

#define SM_MAPS_N 4 /* delta_corr, delta_corr_err, weight, weight_err */

typedef struct {
    const sm_data_t *data;
    const sm_basis_t *basis; /* NULL: data holds the original templates */
    const sm_model_t *model;
    const double *median, *cov;
    double *own_cov; /* cov, when the plan made it */
    double *work;
} sm_maps_plan_t;

/* The inputs are borrowed: they must outlive the plan. */
sm_status sm_maps_plan_init(sm_maps_plan_t *plan, const sm_data_t *data,
                            const sm_basis_t *basis, const sm_model_t *model,
                            const double *median, const double *cov);
/* sm_maps_from_run's plan: the median and covariance of an executed run. */
sm_status sm_maps_plan_from_run(sm_maps_plan_t *plan, const sm_run_t *run,
                                const sm_data_t *data);
/* The maps at pixels j0 .. j0 + count - 1 into cols (count values each). */
sm_status sm_maps_plan_fill(const sm_maps_plan_t *plan, size_t j0, size_t count,
                            double *const cols[SM_MAPS_N]);
void sm_maps_plan_clear(sm_maps_plan_t *plan);
/* sm_maps_write_hdf5 computing the maps a chunk at a time (lib/run/maps_io.c). */
sm_status sm_maps_write_hdf5_plan(const sm_maps_plan_t *plan, const sm_pixels_t *pixels,
                                  const char *path);

#endif
