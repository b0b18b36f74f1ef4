/* Umbrella header: the whole public API of libsysmap. */
#ifndef SYSMAP_SYSMAP_H
#define SYSMAP_SYSMAP_H

#include "sysmap/status.h"
#include "sysmap/version.h"
#include "sysmap/model.h"
#include "sysmap/data.h"
#include "sysmap/basis.h"
#include "sysmap/backend.h"
#include "sysmap/registry.h"
#include "sysmap/reference.h"
#include "sysmap/rng.h"
#include "sysmap/sampler.h"
#include "sysmap/stats.h"
#include "sysmap/convergence.h"
#include "sysmap/sizes.h"
#include "sysmap/chainfile.h"
#include "sysmap/run.h"
#include "sysmap/healpix.h"
#include "sysmap/input.h"
#include "sysmap/maps.h"

#endif
