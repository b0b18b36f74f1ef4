/* Internal: whether a run's data (sm_run_data) holds the sampling-basis
 * templates (sm_run_create_adopting), for the maps, which need the
 * original ones. */
#ifndef SYSMAP_RUN_RUN_ADOPTED_H
#define SYSMAP_RUN_RUN_ADOPTED_H

#include "sysmap/run.h"

int sm_run_data_is_working(const sm_run_t *run);

#endif
