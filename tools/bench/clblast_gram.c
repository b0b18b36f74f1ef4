/* Is CLBlast worth a dependency? Times the template Gram matrix T T^T
 * (S x N, row-major), the dense product behind the basis rotation and the
 * additive analytic posterior, with GSL's dsyrk on the host and CLBlast's
 * Dsyrk on OpenCL device 0, side by side (median of 7; device time
 * excludes the upload, which is listed apart). Not part of the build:
 *
 *   apt-get install libclblast-dev
 *   cc -O2 -std=c11 tools/bench/clblast_gram.c -o clblast_gram \
 *      -lclblast -lOpenCL -lgsl -lgslcblas -lm && ./clblast_gram
 */
#define _POSIX_C_SOURCE 200809L
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <clblast_c.h>
#include <gsl/gsl_blas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define REPEATS 7

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *t)
{
    qsort(t, REPEATS, sizeof *t, cmp_double);
    return t[REPEATS / 2];
}

int main(void)
{
    cl_platform_id platform;
    cl_device_id device;
    char name[256];
    if (clGetPlatformIDs(1, &platform, NULL) != CL_SUCCESS ||
        clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, NULL) != CL_SUCCESS) {
        fprintf(stderr, "no OpenCL device\n");
        return 1;
    }
    clGetDeviceInfo(device, CL_DEVICE_NAME, sizeof name, name, NULL);
    cl_context ctx = clCreateContext(NULL, 1, &device, NULL, NULL, NULL);
    cl_command_queue queue = clCreateCommandQueue(ctx, device, 0, NULL);
    printf("Gram matrix T T^T, S x N float64; CLBlast on %s\n", name);
    static const size_t pixels[] = {100000, 200000, 786432}, templates[] = {5, 11};
    for (size_t a = 0; a < 3; a++) {
        for (size_t b = 0; b < 2; b++) {
            size_t n = pixels[a], s = templates[b];
            double *t = malloc(n * s * sizeof *t), host[121], dev[121];
            srand(1);
            for (size_t i = 0; i < n * s; i++)
                t[i] = (double)rand() / RAND_MAX - 0.5;
            gsl_matrix_view tv = gsl_matrix_view_array(t, s, n);
            gsl_matrix_view hv = gsl_matrix_view_array(host, s, s);
            cl_mem tb = clCreateBuffer(ctx, CL_MEM_READ_ONLY, n * s * sizeof *t, NULL, NULL);
            cl_mem cb = clCreateBuffer(ctx, CL_MEM_READ_WRITE, s * s * sizeof *t, NULL, NULL);
            double t_gsl[REPEATS], t_dev[REPEATS], t_up[REPEATS];
            for (int r = 0; r < REPEATS; r++) {
                double t0 = now_s();
                gsl_blas_dsyrk(CblasUpper, CblasNoTrans, 1.0, &tv.matrix, 0.0, &hv.matrix);
                double t1 = now_s();
                clEnqueueWriteBuffer(queue, tb, CL_TRUE, 0, n * s * sizeof *t, t, 0, NULL, NULL);
                double t2 = now_s();
                CLBlastStatusCode st =
                    CLBlastDsyrk(CLBlastLayoutRowMajor, CLBlastTriangleUpper, CLBlastTransposeNo,
                                 s, n, 1.0, tb, 0, n, 0.0, cb, 0, s, &queue, NULL);
                clEnqueueReadBuffer(queue, cb, CL_TRUE, 0, s * s * sizeof *t, dev, 0, NULL, NULL);
                double t3 = now_s();
                if (st != CLBlastSuccess) {
                    fprintf(stderr, "CLBlastDsyrk failed: %d\n", (int)st);
                    return 1;
                }
                t_gsl[r] = t1 - t0;
                t_up[r] = t2 - t1;
                t_dev[r] = t3 - t2;
            }
            double g = median(t_gsl), d = median(t_dev), u = median(t_up), diff = 0.0;
            for (size_t i = 0; i < s; i++)
                for (size_t k = i; k < s; k++)
                    diff = fmax(diff, fabs(host[i * s + k] - dev[i * s + k]));
            printf("N = %6zu S = %2zu: GSL %8.3f ms, CLBlast %8.3f ms (+ upload %6.3f ms), "
                   "GSL/CLBlast time %.3f, max |difference| %.1e\n",
                   n, s, g * 1e3, d * 1e3, u * 1e3, g / d, diff);
            free(t);
            clReleaseMemObject(tb);
            clReleaseMemObject(cb);
        }
    }
    clReleaseCommandQueue(queue);
    clReleaseContext(ctx);
    return 0;
}
