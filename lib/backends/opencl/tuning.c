#include "tuning.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "tuning_db.h"

/* CPUs (PoCL): a work-item runs a SIMD vector of pixels for 16 walkers, so
 * each template vector loaded serves 16 walkers, in few, small groups
 * (fewer partial sums to reduce). Chosen from a sweep with
 * SYSMAP_OPENCL_TUNING and `sysmap bench` (N = 50k, S = 5 and 11, combined,
 * W = 250, 2 cores, G pixel-walker/s fp64 / fp32): wgs=64,wpt=2,ppi=16
 * 0.66 / 1.46; wgs=8,wpt=8,ppi=1024 1.27 / 2.81; wgs=8,wpt=16,ppi=1024
 * 1.45 / 3.17 (S = 11: 0.89 / 1.93). On CPUs a work-item also runs its
 * walker blocks one after another over tiles of ppi vectors (walker_loop),
 * so that maps of millions of pixels stream from memory once per call (N =
 * 3.1M, fp64, 2 cores of the AMD EPYC in tools/bench/RESULTS.md, G
 * pixel-walker per 2 CPU-seconds, ppi 64 / 128 / 256 / 1024: 3.5 / 4.0 /
 * 4.3 / 4.6; 4.4 at N = 50k). GPUs: work-items are SIMD lanes already, and
 * many of them hide memory latency (not tuned on a GPU yet; one walker
 * block per work-item, as small per-item tiles would make the reduction
 * per block dominate). */
static const sm_cl_tuning_t cpu_defaults = {8, 16, 1024, 8, 0, 0, 1, "", ""};
static const sm_cl_tuning_t gpu_defaults = {256, 4, 4, 16, 1, 0, 0, "", ""};

/* Shipped defaults: shapes measured per runtime with `sysmap tune` (N =
 * 50k, S = 5, W = 250, see tools/bench/RESULTS.md), matched by platform
 * name and device type. Intel's CPU runtime (2026.2, on the 2-core AMD
 * EPYC of RESULTS.md, 2026-11-29): it prefers vector width 1, where the
 * kernel's own vectors need 16 (vw 1 / 8 / 16: 0.05 / 0.35 / 0.61 G
 * pixel-walker/s, the tuner's Gaussian and skew combined, fp64); two tuner
 * passes in fp64 kept wpt=32,wgs=1,gpc=4, also the fastest of 8 shapes for
 * the Gaussian alone (2.45 against 2.16 to 2.44). fp32's tuner chose
 * wgs=8,wpt=16,gpc=2, no faster than this shape side by side (4.29 / 4.45
 * Gaussian). */
static const struct {
    const char *platform, *type;
    sm_cl_tuning_t shape;
} shipped[] = {
    {"Portable Computing Language", "CPU", {8, 16, 1024, 8, 0, 0, 1, "", ""}},
    {"Intel(R) OpenCL", "CPU", {1, 32, 1024, 4, 16, 0, 1, "", ""}},
};

static const struct {
    const char *key;
    size_t offset;
    unsigned long min, max;
    int pow2;
} knobs[] = {
    {"vw", offsetof(sm_cl_tuning_t, vw), 1, SM_CL_MAX_VW, 1},
    {"wgs", offsetof(sm_cl_tuning_t, wgs), 1, 4096, 1},
    {"wpt", offsetof(sm_cl_tuning_t, wpt), 1, SM_CL_MAX_WPT, 0},
    {"ppi", offsetof(sm_cl_tuning_t, ppi), 1, 4096, 0},
    {"gpc", offsetof(sm_cl_tuning_t, groups_per_cu), 1, 4096, 0},
    {"wl", offsetof(sm_cl_tuning_t, walker_loop), 0, 1, 0},
};
#define N_KNOBS (sizeof knobs / sizeof *knobs)

/* key=value,... onto t, each key marked given; what names the spec's
 * origin in errors. */
static sm_status parse_shape(const char *spec, const char *what, sm_cl_tuning_t *t)
{
    const char *p = spec;
    for (;;) {
        const char *eq = strchr(p, '=');
        size_t key_len = eq ? (size_t)(eq - p) : 0, k = 0;
        while (k < N_KNOBS && !(strlen(knobs[k].key) == key_len &&
                                strncmp(p, knobs[k].key, key_len) == 0))
            k++;
        if (k == N_KNOBS)
            return sm_fail(SM_EINVAL, "%s '%s': expected key=value pairs with keys vw, wgs, "
                                      "wpt, ppi, gpc, wl",
                           what, spec);
        char *end;
        errno = 0;
        unsigned long v = strtoul(eq + 1, &end, 10);
        int pow2 = v != 0 && (v & (v - 1)) == 0;
        if (errno != 0 || end == eq + 1 || (*end != ',' && *end != '\0') ||
            !isdigit((unsigned char)eq[1]) || v < knobs[k].min || v > knobs[k].max ||
            (knobs[k].pow2 && !pow2))
            return sm_fail(SM_EINVAL, "%s '%s': bad value for %s (%lu..%lu%s)", what, spec,
                           knobs[k].key, knobs[k].min, knobs[k].max,
                           knobs[k].pow2 ? ", a power of two" : "");
        *(size_t *)((char *)t + knobs[k].offset) = (size_t)v;
        t->given |= 1u << k;
        if (*end == '\0')
            return SM_OK;
        p = end + 1;
    }
}

/* Precedence: the database entry, else a shipped default, else the
 * heuristic for the device class; then $SYSMAP_OPENCL_TUNING's keys on
 * top. A database entry that does not parse is skipped with a warning. */
sm_status sm_cl_tuning(const sm_device_t *dev, int fp32, sm_cl_tuning_t *tuning)
{
    int cpu = dev->device_class == SM_DEVICE_CPU;
    *tuning = cpu ? cpu_defaults : gpu_defaults;
    snprintf(tuning->source, sizeof tuning->source, "heuristic");
    for (size_t i = 0; i < sizeof shipped / sizeof *shipped; i++)
        if (strstr(dev->platform, shipped[i].platform) != NULL &&
            strcmp(sm_device_class_name(dev->device_class), shipped[i].type) == 0) {
            *tuning = shipped[i].shape;
            snprintf(tuning->source, sizeof tuning->source, "shipped default");
        }
    char key[SM_CL_TUNING_KEY_MAX];
    sm_cl_tuned_t tuned;
    sm_cl_tuning_key(dev, fp32, key);
    if (sm_cl_tuning_db_find(key, &tuned, tuning->warning, sizeof tuning->warning)) {
        sm_cl_tuning_t t = *tuning;
        if (parse_shape(tuned.shape, "tuning database entry", &t) == SM_OK) {
            *tuning = t;
            snprintf(tuning->source, sizeof tuning->source, "tuned %s", tuned.date);
        } else {
            snprintf(tuning->warning, sizeof tuning->warning, "ignored: %s", sm_last_error());
        }
        tuning->given = 0; /* a tuned shape fits itself to the problem like a default */
    }
    const char *spec = getenv(SM_CL_TUNING_ENV);
    if (spec == NULL || *spec == '\0')
        return SM_OK;
    snprintf(tuning->source, sizeof tuning->source, "env");
    return parse_shape(spec, SM_CL_TUNING_ENV, tuning);
}

void sm_cl_tuning_format(const sm_cl_tuning_t *t, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t k = 0; k < N_KNOBS && len < size; k++) {
        size_t v = *(const size_t *)((const char *)t + knobs[k].offset);
        if (v == 0 && knobs[k].min > 0)
            continue; /* vw 0: the device's preferred width */
        int n = snprintf(out + len, size - len, "%s%s=%zu", len ? "," : "", knobs[k].key, v);
        len += n > 0 ? (size_t)n : 0;
    }
}

static sm_status precision_fp32(const char *precision, int *fp32)
{
    *fp32 = precision != NULL && strcmp(precision, "fp32") == 0;
    if (precision != NULL && !*fp32 && strcmp(precision, "fp64") != 0)
        return sm_fail(SM_EINVAL, "unknown precision '%s' (expected fp64 or fp32)", precision);
    return SM_OK;
}

sm_status sm_opencl_tuning(const sm_device_t *dev, const char *precision,
                           sm_opencl_tuning_t *out)
{
    int fp32;
    sm_cl_tuning_t t;
    sm_status st = precision_fp32(precision, &fp32);
    if (st == SM_OK)
        st = sm_cl_tuning(dev, fp32, &t);
    if (st != SM_OK)
        return st;
    sm_cl_tuning_format(&t, out->shape, sizeof out->shape);
    snprintf(out->source, sizeof out->source, "%s", t.source);
    snprintf(out->warning, sizeof out->warning, "%s", t.warning);
    return SM_OK;
}

sm_status sm_opencl_tuning_store(const sm_device_t *dev, const char *precision,
                                 const char *shape)
{
    int fp32;
    sm_cl_tuning_t t = cpu_defaults;
    sm_status st = precision_fp32(precision, &fp32);
    if (st == SM_OK)
        st = parse_shape(shape, "launch shape", &t);
    if (st != SM_OK)
        return st;
    char key[SM_CL_TUNING_KEY_MAX];
    sm_cl_tuning_key(dev, fp32, key);
    return sm_cl_tuning_db_store(key, shape);
}

size_t sm_cl_private_bytes(const sm_cl_tuning_t *t, size_t n_sys, size_t real_size)
{
    /* Scalars per walker: a, b (S each), xi, gamma / sigma and slack;
     * vectors per walker: two compensated sums (4), the |m| and Phi
     * mantissas and exponents (4), two block sums (2), the argument of ln
     * Phi (1); vectors per item: the S templates, delta, the mask and slack
     * (4). */
    return real_size * (t->wpt * (2 * n_sys + 3) + t->vw * (11 * t->wpt + n_sys + 4));
}

size_t sm_cl_local_bytes(const sm_cl_tuning_t *t, size_t real_size)
{
    return 3 * 2 * real_size * t->wgs; /* __local ksum red[3][WGS] */
}

static sm_status shape_check(const sm_device_t *dev, const sm_cl_tuning_t *t,
                             size_t n_sys, size_t real_size)
{
    if (t->wgs > dev->max_work_group_size)
        return sm_fail(SM_EDEVICE, "launch shape wgs=%zu: OpenCL device %s allows work-groups "
                                   "of at most %zu work-items (CL_DEVICE_MAX_WORK_GROUP_SIZE)",
                       t->wgs, dev->name, dev->max_work_group_size);
    size_t local = sm_cl_local_bytes(t, real_size);
    if (local > dev->local_mem_bytes)
        return sm_fail(SM_EDEVICE, "launch shape wgs=%zu: the reduction needs %zu bytes of "
                                   "local memory, OpenCL device %s has %llu "
                                   "(CL_DEVICE_LOCAL_MEM_SIZE)",
                       t->wgs, local, dev->name, dev->local_mem_bytes);
    size_t priv = sm_cl_private_bytes(t, n_sys, real_size);
    if (priv > SM_CL_MAX_PRIVATE_ITEM)
        return sm_fail(SM_EDEVICE, "launch shape wpt=%zu, vw=%zu: %zu bytes of private memory "
                                   "per work-item for %zu templates, more than sysmap's bound "
                                   "of %u; lower wpt or vw",
                       t->wpt, t->vw, priv, n_sys, SM_CL_MAX_PRIVATE_ITEM);
    if (dev->device_class == SM_DEVICE_CPU && priv * t->wgs > SM_CL_MAX_PRIVATE_GROUP_CPU)
        return sm_fail(SM_EDEVICE, "launch shape wgs=%zu, wpt=%zu, vw=%zu: %zu bytes of private "
                                   "memory per work-group, more than the bound of %u for CPU "
                                   "devices (which run a work-group on one thread's stack); "
                                   "lower wgs, wpt or vw",
                       t->wgs, t->wpt, t->vw, priv * t->wgs, SM_CL_MAX_PRIVATE_GROUP_CPU);
    return SM_OK;
}

/* Largest power of two <= n (n >= 1). */
static size_t floor_pow2(size_t n)
{
    size_t p = 1;
    while (p * 2 <= n)
        p *= 2;
    return p;
}

static int given(const sm_cl_tuning_t *t, const char *key)
{
    for (size_t k = 0; k < N_KNOBS; k++)
        if (strcmp(knobs[k].key, key) == 0)
            return (t->given >> k) & 1u;
    return 0;
}

sm_status sm_cl_shape_resolve(const sm_device_t *dev, size_t preferred_vw, size_t n_sys,
                              size_t real_size, sm_cl_tuning_t *t)
{
    if (t->vw == 0)
        t->vw = floor_pow2(preferred_vw < 1 ? 1 : preferred_vw > SM_CL_MAX_VW ? SM_CL_MAX_VW
                                                                            : preferred_vw);
    /* Defaults shrink to what the device allows; given values are checked
     * as they are, so that a shape that cannot run is an error, not a
     * silently different shape. */
    if (!given(t, "wgs")) {
        size_t cap = dev->max_work_group_size ? dev->max_work_group_size : 1;
        size_t local_cap = dev->local_mem_bytes / (3 * 2 * real_size);
        if (local_cap < cap)
            cap = local_cap ? local_cap : 1;
        if (t->wgs > cap)
            t->wgs = floor_pow2(cap);
    }
    if (!given(t, "wpt"))
        while (t->wpt > 1 &&
               (sm_cl_private_bytes(t, n_sys, real_size) > SM_CL_MAX_PRIVATE_ITEM ||
                (dev->device_class == SM_DEVICE_CPU &&
                 sm_cl_private_bytes(t, n_sys, real_size) * t->wgs > SM_CL_MAX_PRIVATE_GROUP_CPU)))
            t->wpt /= 2;
    return shape_check(dev, t, n_sys, real_size);
}
