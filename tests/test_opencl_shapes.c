/* Launch shapes of the OpenCL likelihood kernel ($SYSMAP_OPENCL_TUNING) on
 * device 0: the GPU code paths (one pixel per work-item, wide groups) run
 * on a CPU and give the reference's log-probabilities, far skew tails
 * included, also with many tiles and walker blocks per work-item; defaults
 * shrink to fit many templates; a shape the device cannot run is refused
 * with an error naming the limit, before any launch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sysmap/backend.h"
#include "sysmap/data.h"
#include "sysmap/model.h"
#include "sysmap/opencl.h"
#include "sysmap/reference.h"
#include "testutil.h"

#define N_SYS 3
#define N_WALKERS 7

/* lp of the walkers on the reference and on OpenCL with the shape spec. */
static void compare(const sm_data_t *data, const sm_model_t *m, const char *spec,
                    const char *precision, double rtol)
{
    double p[N_WALKERS * 512], ref_lp[N_WALKERS], cl_lp[N_WALKERS];
    sm_test_walkers(m, N_WALKERS, 7, 2, p);
    sm_backend_t *ref, *cl;
    ck_assert_int_eq(sm_reference_create(&ref, data, m), SM_OK);
    ck_assert_int_eq(sm_backend_log_prob(ref, N_WALKERS, p, ref_lp), SM_OK);
    setenv("SYSMAP_OPENCL_TUNING", spec, 1);
    ck_assert_msg(sm_opencl_create(&cl, data, m, "0", precision) == SM_OK, "%s: %s", spec,
                  sm_last_error());
    ck_assert_int_eq(sm_backend_log_prob(cl, N_WALKERS, p, cl_lp), SM_OK);
    unsetenv("SYSMAP_OPENCL_TUNING");
    for (size_t w = 0; w < N_WALKERS; w++) {
        ck_assert_msg(isfinite(ref_lp[w]) == isfinite(cl_lp[w]),
                      "%s %s walker %zu: lp %g, reference %g", spec, precision, w, cl_lp[w],
                      ref_lp[w]);
        if (isfinite(ref_lp[w]))
            ck_assert_close(cl_lp[w], ref_lp[w], rtol, 0);
    }
    ck_assert(isfinite(ref_lp[1])); /* the far-tail walker counts */
    sm_backend_free(cl);
    sm_backend_free(ref);
}

static const char *const gpu_like[] = {
    "vw=1,wgs=256,wpt=4,ppi=4,gpc=16,wl=0", /* NVIDIA-like: the GPU code path */
    "vw=1,wgs=64,wpt=4,ppi=4,gpc=16,wl=0",  /* AMD-like: wavefronts of 64 */
    "vw=1,wgs=64,wpt=4,ppi=4,gpc=16,wl=1",  /* the same with the CPU's walker loop */
    "vw=1,wgs=1,wpt=1,ppi=1,gpc=1",    /* the smallest shape */
    "vw=2,wgs=16,wpt=3,ppi=2",         /* odd wpt: surplus slots */
    "vw=16,wgs=4,wpt=2",               /* wider than the device prefers */
    /* one-vector tiles, and (with 2 compute units) 50 groups for 1003
     * pixels: the last two get empty ranges and write zero sums */
    "vw=1,wgs=1,wpt=2,ppi=1,gpc=25",
};

START_TEST(gpu_shapes_match_reference)
{
    const double a[N_SYS] = {0.02, -0.01, 0.015}, b[N_SYS] = {0.05, 0.0, -0.03};
    sm_data_t *data = sm_test_make_map(1003, N_SYS, a, b, 11);
    const char *spec = gpu_like[_i];
    for (int kind = 0; kind < 3; kind++) {
        sm_model_t m = SM_MODEL_INIT((sm_model_kind_t)kind, 1, N_SYS, SM_MODEL_SIGMA_MIN_DEFAULT);
        compare(data, &m, spec, "fp64", 1e-12);
        compare(data, &m, spec, "fp32", 1e-4);
    }
    sm_data_free(data);
}
END_TEST

START_TEST(default_wpt_shrinks_for_many_templates)
{
    /* 200 templates at the CPU default (wpt 16, 8 doubles a vector) need
     * 73 kB of private memory per work-item, over the 64 KiB bound: the
     * default halves wpt rather than fail or crash. */
    enum { S = 200 };
    static double a[S], b[S];
    sm_data_t *data = sm_test_make_map(300, S, a, b, 3);
    sm_model_t m = SM_MODEL_INIT(SM_MODEL_ADDITIVE, 0, S, SM_MODEL_SIGMA_MIN_DEFAULT);
    compare(data, &m, "", "fp64", 1e-12);
    sm_data_free(data);
}
END_TEST

typedef struct {
    const char *spec, *fault;
    sm_status status;
    const char *message;
} refusal_t;

static const refusal_t refusals[] = {
    {"wpt=4096", NULL, SM_EINVAL, "bad value for wpt (1..64)"},
    {"wpt=65", NULL, SM_EINVAL, "bad value for wpt"},
    {"vw=3", NULL, SM_EINVAL, "bad value for vw (1..16, a power of two)"},
    {"vw=32", NULL, SM_EINVAL, "bad value for vw"},
    {"wl=2", NULL, SM_EINVAL, "bad value for wl (0..1)"},
    {"wgs= 8", NULL, SM_EINVAL, "bad value for wgs"},
    {"wgs=-8", NULL, SM_EINVAL, "bad value for wgs"},
    {"wgs=8192", NULL, SM_EINVAL, "bad value for wgs (1..4096"},
    /* Private memory: these crashed PoCL (SIGSEGV) before they were checked. */
    {"wgs=256,wpt=64", NULL, SM_EDEVICE, "private memory per work-group"},
    {"wgs=1024,wpt=16", NULL, SM_EDEVICE, "private memory per work-group"},
    {"wpt=64,vw=16", NULL, SM_EDEVICE, "private memory per work-item"},
    /* A 32 KiB local memory holds the fp64 reduction of at most 682 items. */
    {"wgs=1024,wpt=1,vw=1", "local32k", SM_EDEVICE, "CL_DEVICE_LOCAL_MEM_SIZE"},
};

START_TEST(impossible_shapes_refused)
{
    const refusal_t *r = &refusals[_i];
    const double a[N_SYS] = {0.02, -0.01, 0.015}, b[N_SYS] = {0.05, 0.0, -0.03};
    sm_data_t *data = sm_test_make_map(100, N_SYS, a, b, 5);
    sm_model_t m = SM_MODEL_INIT(SM_MODEL_COMBINED, 1, N_SYS, SM_MODEL_SIGMA_MIN_DEFAULT);
    setenv("SYSMAP_OPENCL_TUNING", r->spec, 1);
    if (r->fault)
        setenv("SYSMAP_OPENCL_INJECT_FAULT", r->fault, 1);
    sm_backend_t *cl = NULL;
    sm_status st = sm_opencl_create(&cl, data, &m, "0", "fp64");
    unsetenv("SYSMAP_OPENCL_TUNING");
    unsetenv("SYSMAP_OPENCL_INJECT_FAULT");
    ck_assert_msg(st == r->status, "%s: status %d (%s)", r->spec, st, sm_last_error());
    ck_assert_ptr_null(cl);
    ck_assert_msg(strstr(sm_last_error(), r->message) != NULL, "%s: %s", r->spec,
                  sm_last_error());
    sm_data_free(data);
}
END_TEST

START_TEST(extra_build_options)
{
    /* $SYSMAP_OPENCL_OPTIONS reaches the compiler: a bad option is a build
     * failure naming it, a flush-to-zero fp32 build still matches. */
    const double a[N_SYS] = {0.02, -0.01, 0.015}, b[N_SYS] = {0.05, 0.0, -0.03};
    sm_data_t *data = sm_test_make_map(500, N_SYS, a, b, 9);
    sm_model_t m = SM_MODEL_INIT(SM_MODEL_COMBINED, 1, N_SYS, SM_MODEL_SIGMA_MIN_DEFAULT);
    setenv("SYSMAP_OPENCL_OPTIONS", "-cl-denorms-are-zero", 1);
    compare(data, &m, "vw=1,wgs=64,wpt=4", "fp32", 1e-4);
    setenv("SYSMAP_OPENCL_OPTIONS", "-DVW=3", 1);
    sm_backend_t *cl = NULL;
    ck_assert_int_eq(sm_opencl_create(&cl, data, &m, "0", "fp64"), SM_EDEVICE);
    unsetenv("SYSMAP_OPENCL_OPTIONS");
    sm_data_free(data);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("opencl_shapes");
    TCase *tc = tcase_create("shapes");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, gpu_shapes_match_reference, 0,
                        (int)(sizeof gpu_like / sizeof *gpu_like));
    tcase_add_test(tc, default_wpt_shrinks_for_many_templates);
    tcase_add_loop_test(tc, impossible_shapes_refused, 0,
                        (int)(sizeof refusals / sizeof *refusals));
    tcase_add_test(tc, extra_build_options);
    suite_add_tcase(s, tc);
    return sm_test_run(s);
}
