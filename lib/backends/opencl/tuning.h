/* Internal: launch shape of the likelihood kernel per device class,
 * CLBlast-style defaults that $SYSMAP_OPENCL_TUNING overrides, and the
 * checks that keep any shape within what the device and kernel allow. */
#ifndef SYSMAP_OPENCL_TUNING_H
#define SYSMAP_OPENCL_TUNING_H

#include <stddef.h>

#include "sysmap/opencl.h"
#include "sysmap/status.h"

#define SM_CL_TUNING_ENV "SYSMAP_OPENCL_TUNING"
/* Extra OpenCL C compiler options appended to the kernel build, e.g.
 * -cl-denorms-are-zero to stand in for a flush-to-zero device. */
#define SM_CL_OPTIONS_ENV "SYSMAP_OPENCL_OPTIONS"

/* Bounds on the kernel's private memory (its per-walker arrays grow with
 * wpt, vw and S): per work-item, and per work-group on CPU devices, where
 * an implementation such as PoCL runs a group's work-items on one thread's
 * stack (commonly 8 MiB; wgs=256,wpt=64,vw=8 needs 10 MB and crashes it). */
#define SM_CL_MAX_PRIVATE_ITEM (64u << 10)
#define SM_CL_MAX_PRIVATE_GROUP_CPU (4u << 20)
/* wpt and vw as the kernel is written for them. */
#define SM_CL_MAX_WPT 64u
#define SM_CL_MAX_VW 16u

typedef struct {
    size_t wgs;            /* work-group size (power of two) */
    size_t wpt;            /* walkers per work-item */
    size_t ppi;            /* pixel vectors per work-item that size the grid
                              (and, with walker_loop, a tile) */
    size_t groups_per_cu;  /* most work-groups per compute unit along pixels */
    size_t vw;             /* pixels per SIMD vector (power of two, 1..16);
                              0: the device's preferred width on CPUs, 1 on
                              GPUs and accelerators */
    unsigned given;        /* bit per key set by the override */
    size_t walker_loop;    /* 1: a work-item runs its walker blocks one after
                              another over cache-sized tiles (the CPU
                              default); 0: one block each, side by side (the
                              GPU default); key wl */
    char source[32];       /* "env", "tuned YYYY-MM-DD", "shipped default",
                              "heuristic" */
    char warning[448];     /* "" or why the tuning database was ignored */
} sm_cl_tuning_t;

/* The shape for the device and precision: its tuning database entry (see
 * tuning_db.h), else a shipped default for its runtime, else its class's
 * heuristic; then any "key=value,..." overrides from $SYSMAP_OPENCL_TUNING
 * (keys vw, wgs, wpt, ppi, gpc, wl); a malformed or out-of-range override
 * is SM_EINVAL naming it. */
sm_status sm_cl_tuning(const sm_device_t *dev, int fp32, sm_cl_tuning_t *tuning);

/* t as key=value,... (vw left out while 0). */
void sm_cl_tuning_format(const sm_cl_tuning_t *t, char *out, size_t size);

/* Private bytes per work-item of the likelihood kernel for a shape, S
 * templates and reals of real_size bytes (its arrays, as the kernel
 * declares them). */
size_t sm_cl_private_bytes(const sm_cl_tuning_t *t, size_t n_sys, size_t real_size);

/* Final shape for a device before the kernel is built: vw 0 becomes
 * preferred_vw; defaults (keys not given) shrink to the device's work-group
 * size, local memory and the private-memory bounds; then the shape is
 * checked against them: SM_EDEVICE naming the limit. */
sm_status sm_cl_shape_resolve(const sm_device_t *dev, size_t preferred_vw, size_t n_sys,
                              size_t real_size, sm_cl_tuning_t *t);

/* Local memory of the kernel's work-group reduction, bytes. */
size_t sm_cl_local_bytes(const sm_cl_tuning_t *t, size_t real_size);

#endif
