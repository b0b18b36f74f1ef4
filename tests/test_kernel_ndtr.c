/* The kernels' ln Phi (kernels/common.cl log_ndtr, and ln of
 * ndtr_scaled's Phi = m 2^e for |x| up to its bound) on OpenCL device 0
 * against the GSL reference (sm_model_log_ndtr), over x in [-1e4, 40], at one
 * pixel per work-item (VW = 1: the code path of every GPU) and with SIMD
 * vectors (VW = 4, 8, 16), in fp64 and fp32, with and without fma, and
 * fp32 built flush-to-zero (-cl-denorms-are-zero: subnormals are optional
 * in fp32). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl.h"
#include "kernels.h"
#include "model_defines.h"
#include "sysmap/model.h"
#include "testutil.h"

#define N_X 4096
/* Absolute slack of ln(ndtr_scaled): one eps */
#define SCALED_ATOL(fp32) ((fp32) ? 0x1p-23 : 0x1p-52)

/* Appended to the embedded likelihood source, which brings common.cl. */
static const char probe[] =
    "\n__kernel void probe_log_ndtr(__global const real *x, __global real *out)\n"
    "{\n"
    "    const int i = get_global_id(0);\n"
    "#if VW == 1\n"
    "    out[i] = log_ndtr(x[i]);\n"
    "#else\n"
    "    CAT(vstore, VW)(log_ndtr(VLOAD(i, x)), i, out);\n"
    "#endif\n"
    "}\n"
    "__kernel void probe_ndtr_scaled(__global const real *x, __global real *out)\n"
    "{\n"
    "    const int i = get_global_id(0);\n"
    "    bitsV e = 0;\n"
    "    const realV m = ndtr_scaled(VLOAD(i, x), &e), v = log(m) + TO_REAL(e) * REAL_LN2;\n"
    "#if VW == 1\n"
    "    out[i] = v;\n"
    "#else\n"
    "    CAT(vstore, VW)(v, i, out);\n"
    "#endif\n"
    "}\n";

/* x: log-spaced from -1e4 to -1e-3, 0, then linear to 40: both forms of
 * log_ndtr (x <= 0 and x > 0), the far lower tail, and the upper tail down
 * to where its exp is clamped (y = -a^2/2 at -708 in fp64, -86 in fp32)
 * and flushed, with those borders and a tiny x > 0. */
static void make_x(double *x)
{
    size_t neg = N_X / 2, i = 0;
    for (; i < neg; i++)
        x[i] = -pow(10.0, 4.0 - 7.0 * (double)i / (double)(neg - 1));
    x[i++] = 0.0;
    for (size_t k = 1; i < N_X; i++, k++)
        x[i] = 40.0 * (double)k / (double)(N_X - neg - 1);
    x[100] = sqrt(2.0 * 708.0);
    x[101] = sqrt(2.0 * 86.0);
    x[102] = 1e-300;
}

typedef struct {
    int fp32, vw, fma;
    const char *extra;
} variant_t;

/* fma: MULADD as fma() (devices with CL_FP_FMA, such as PoCL's) or a*b+c. */
static const variant_t variants[] = {
    {0, 1, 0, ""}, {0, 4, 0, ""}, {0, 8, 0, ""}, {0, 8, 1, ""}, {1, 1, 0, ""}, {1, 8, 0, ""},
    {1, 16, 1, ""}, {1, 1, 0, "-cl-denorms-are-zero"}, {1, 8, 0, "-cl-denorms-are-zero"},
};

#define N_VARIANTS (sizeof variants / sizeof *variants)

/* Loop index: variant, then log_ndtr (even) or ndtr_scaled (odd). */
START_TEST(log_ndtr_matches_gsl)
{
    const variant_t *v = &variants[_i / 2];
    const int scaled = _i % 2;
    sm_device_t info;
    ck_assert_msg(sm_opencl_select(NULL, !v->fp32, &info) == SM_OK, "%s", sm_last_error());
    cl_platform_id plat;
    cl_device_id dev;
    ck_assert_int_eq(sm_cl_device_ids(&info, &plat, &dev), SM_OK);
    cl_int err;
    cl_context ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    cl_command_queue q = clCreateCommandQueue(ctx, dev, 0, &err);
    ck_assert_int_eq(err, CL_SUCCESS);

    size_t len = strlen(sm_kernel_loglike) + sizeof probe;
    char *source = malloc(len);
    ck_assert_ptr_nonnull(source);
    snprintf(source, len, "%s%s", sm_kernel_loglike, probe);
    sm_model_t model = SM_MODEL_INIT(SM_MODEL_ADDITIVE, 1, 1, SM_MODEL_SIGMA_MIN_DEFAULT);
    char defines[256], options[512];
    ck_assert_int_eq(sm_model_kernel_defines(&model, defines, sizeof defines), SM_OK);
    snprintf(options, sizeof options, "-cl-std=CL1.2 -DPRECISION=%d -DVW=%d %s -DUSE_FMA=%d %s",
             v->fp32 ? 32 : 64, v->vw, defines, v->fma, v->extra);
    cl_program prog;
    ck_assert_msg(sm_cl_build_program(ctx, dev, &info, source, options, &prog, NULL) == SM_OK,
                  "%s", sm_last_error());
    free(source);
    cl_kernel k = clCreateKernel(prog, scaled ? "probe_ndtr_scaled" : "probe_log_ndtr", &err);
    ck_assert_int_eq(err, CL_SUCCESS);

    static double x[N_X], got[N_X];
    static float xf[N_X], gotf[N_X];
    make_x(x);
    for (size_t i = 0; i < N_X; i++)
        xf[i] = (float)x[i];
    size_t rs = v->fp32 ? sizeof(float) : sizeof(double);
    void *host_x = v->fp32 ? (void *)xf : (void *)x, *host_out = v->fp32 ? (void *)gotf : got;
    cl_mem bx = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, N_X * rs, host_x,
                               &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    cl_mem bo = clCreateBuffer(ctx, CL_MEM_WRITE_ONLY, N_X * rs, NULL, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    ck_assert_int_eq(clSetKernelArg(k, 0, sizeof bx, &bx), CL_SUCCESS);
    ck_assert_int_eq(clSetKernelArg(k, 1, sizeof bo, &bo), CL_SUCCESS);
    size_t global = N_X / (size_t)v->vw;
    ck_assert_int_eq(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL),
                     CL_SUCCESS);
    ck_assert_int_eq(clEnqueueReadBuffer(q, bo, CL_TRUE, 0, N_X * rs, host_out, 0, NULL, NULL),
                     CL_SUCCESS);

    /* Tolerances: log_ndtr is within 4 ulp of the value for x <= 0 (against
     * mpmath, fp64 and fp32); for x > 0 its exp(-x^2/2) carries the
     * rounding of x^2, a relative error up to x^2 u / 2 (the function's own
     * condition number: 32 ulp at x = 8, 700 at 37), which is also why GSL
     * differs by up to 1.1e-13 near underflow; above x = 8, ln Phi = -Q(x)
     * > -6e-16 adds nothing to any lnL. Tails below the smallest normal are
     * flushed (and may flush within a few smallest normals under
     * flush-to-zero). ndtr_scaled's Phi = 1 - Q for x > 0 is rounded near
     * 1, so its log errs by up to eps absolutely: one eps more (measured
     * 0.6). */
    int ftz = strstr(v->extra, "denorms-are-zero") != NULL;
    double atol = v->fp32 ? (ftz ? 4 * 1.1754944e-38 : 1.2e-38) : 2.3e-308;
    double worst = 0.0;
    size_t worst_i = 0;
    for (size_t i = 0; i < N_X; i++) {
        double xi = v->fp32 ? (double)xf[i] : x[i];
        double want = sm_model_log_ndtr(xi), g = v->fp32 ? (double)gotf[i] : got[i];
        double rtol = v->fp32 ? 2e-5 : xi > 8.0 ? 1e-12 : 5e-14, atol_i = atol;
        if (scaled) {
            if (fabs(xi) > (v->fp32 ? 13.0 : 37.0))
                continue;
            atol_i = SCALED_ATOL(v->fp32);
        }
        ck_assert_msg(isfinite(g), "VW=%d fp%d %s: log_ndtr(%.17g) = %g, expected %.17g", v->vw,
                      v->fp32 ? 32 : 64, v->extra, xi, g, want);
        double excess = fabs(g - want) / (rtol * fabs(want) + atol_i);
        if (excess > worst) {
            worst = excess;
            worst_i = i;
        }
    }
    double xw = v->fp32 ? (double)xf[worst_i] : x[worst_i];
    printf("%s VW=%d fp%d FMA=%d %s: worst %.2f x tolerance at x = %.9g\n",
           scaled ? "ndtr_scaled" : "log_ndtr", v->vw,
           v->fp32 ? 32 : 64, v->fma, v->extra, worst, xw);
    ck_assert_msg(worst <= 1.0, "VW=%d fp%d %s: log_ndtr(%.17g) = %.17g, expected %.17g (%.2f x "
                                "tolerance)",
                  v->vw, v->fp32 ? 32 : 64, v->extra, xw,
                  v->fp32 ? (double)gotf[worst_i] : got[worst_i], sm_model_log_ndtr(xw), worst);

    clReleaseMemObject(bx);
    clReleaseMemObject(bo);
    clReleaseKernel(k);
    clReleaseProgram(prog);
    clReleaseCommandQueue(q);
    clReleaseContext(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kernel_ndtr");
    TCase *tc = tcase_create("log_ndtr");
    tcase_add_loop_test(tc, log_ndtr_matches_gsl, 0, (int)(2 * N_VARIANTS));
    suite_add_tcase(s, tc);
    return sm_test_run(s);
}
