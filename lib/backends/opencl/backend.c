/* The OpenCL backend: uploads the map once, then per call packs the
 * half-ensemble's in-prior walkers, runs the fused kernel and merges the
 * per-group compensated partial sums on the host in double. */
#include "sysmap/opencl.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_data.h"
#include "cl.h"
#include "error.h"
#include "kernels.h"
#include "ksum.h"
#include "model_defines.h"
#include "tuning.h"

#define SM_CL_NSUMS 6

/* The kernel renormalises the product of |m| once per RENORM pixel
 * vectors instead of per pixel (a quarter of the fp64 Gaussian's time on
 * a Zen 5) when the host can bound every |m| of the batch by B with B^RENORM
 * below the largest normal: B < 2^128 (fp64) or 2^32 (fp32), less a margin
 * for the roundings of m and of B. Small factors cannot underflow:
 * 2^-53 x 8 and 2^-24 x 4 stay normal (kernels/loglike.cl). */
#define SM_CL_RENORM_FP64 8
#define SM_CL_RENORM_FP32 4
#define SM_CL_BOUND_FP64 0x1p120
#define SM_CL_BOUND_FP32 0x1p30 /* also covers max |t| rounded to fp32 */

/* Test hook: SYSMAP_OPENCL_INJECT_FAULT = "build" (a kernel that does not
 * compile), "alloc" (a device that allows 1 KiB per buffer), "lost" (the
 * device fails at the first evaluation), "nofp64" (the device reports no
 * fp64), "local32k" (the device reports 32 KiB of local memory) or
 * "devmem" (the device's memory is not the host's), for the paths a
 * working device cannot provoke. */
#define SM_CL_FAULT_ENV "SYSMAP_OPENCL_INJECT_FAULT"

typedef struct {
    const sm_data_t *data;
    sm_model_t model;
    size_t n_pix, n_dim;
    int fp32;
    size_t real_size;
    sm_device_t info;
    cl_context context;
    cl_command_queue queue;
    cl_program program;
    cl_kernel kernel;
    cl_mem delta, templates, params, partial;
    sm_cl_tuning_t tune;
    size_t groups, capacity;  /* capacity: walkers the buffers hold */
    size_t max_groups;        /* work-groups that fill the device */
    size_t preferred_vw, n_pad; /* the device's vector width; N padded to vw */
    size_t stride;              /* elements between template rows on the device */
    int fma;                    /* hardware fused multiply-add (CL_FP_FMA) */
    int host_memory;            /* the device's memory is the host's (a CPU device) */
    size_t base_align;          /* CL_DEVICE_MEM_BASE_ADDR_ALIGN, bytes */
    int in_place;               /* the kernel reads the caller's templates */
    void *params_host, *partial_host;
    size_t *walker_of_row;
    double *t_max;              /* per template, max |t| of the host's templates */
    const char *fault;
} opencl_t;

static int fault_is(const opencl_t *cl, const char *what)
{
    return cl->fault != NULL && strcmp(cl->fault, what) == 0;
}

static sm_status cl_fail(const opencl_t *cl, cl_int err, const char *what)
{
    return sm_fail(SM_EDEVICE, "OpenCL device %s: %s failed (%s)", cl->info.name, what,
                   sm_cl_error_name(err));
}

static void opencl_free(void *ctx)
{
    opencl_t *cl = ctx;
    if (cl == NULL)
        return;
    cl_mem mems[4] = {cl->delta, cl->templates, cl->params, cl->partial};
    for (int i = 0; i < 4; i++)
        if (mems[i] != NULL)
            clReleaseMemObject(mems[i]);
    if (cl->kernel != NULL)
        clReleaseKernel(cl->kernel);
    if (cl->program != NULL)
        clReleaseProgram(cl->program);
    if (cl->queue != NULL)
        clReleaseCommandQueue(cl->queue);
    if (cl->context != NULL)
        clReleaseContext(cl->context);
    free(cl->params_host);
    free(cl->partial_host);
    free(cl->walker_of_row);
    free(cl->t_max);
    free(cl);
}

static unsigned long long max_alloc(const opencl_t *cl)
{
    return fault_is(cl, "alloc") ? 1024ull : cl->info.max_alloc_bytes;
}

/* "24.0 kB", "1.50 MB", "3.90 GB" (decimal units) into buf. */
static const char *format_bytes(char *buf, size_t len, unsigned long long bytes)
{
    static const char *const units[] = {"bytes", "kB", "MB", "GB", "TB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1000.0 && u < 4) {
        v /= 1000.0;
        u++;
    }
    snprintf(buf, len, u == 0 ? "%.0f %s" : "%.3g %s", v, units[u]);
    return buf;
}

/* A device buffer of bytes (the caller's memory at host when that is not
 * NULL), refusing up front what the device cannot hold (some drivers
 * allocate lazily and fail later, far from the cause). */
static sm_status make_buffer(opencl_t *cl, const char *what, size_t bytes, cl_mem_flags flags,
                             const void *host, cl_mem *out)
{
    char need[32], limit[32], total[32];
    format_bytes(need, sizeof need, bytes);
    if (bytes > max_alloc(cl))
        return sm_fail(SM_EDEVICE,
                       "out of device memory allocating %s (%s): OpenCL device %s allows %s "
                       "per buffer (%s in all)",
                       what, need, cl->info.name, format_bytes(limit, sizeof limit, max_alloc(cl)),
                       format_bytes(total, sizeof total, cl->info.global_mem_bytes));
    cl_int err;
    /* CL_MEM_USE_HOST_PTR with CL_MEM_READ_ONLY: the kernel never writes it. */
    *out = clCreateBuffer(cl->context, host != NULL ? flags | CL_MEM_USE_HOST_PTR : flags, bytes,
                          (void *)host, &err);
    if (err != CL_SUCCESS)
        return sm_fail(SM_EDEVICE, "out of device memory allocating %s (%s) on OpenCL device %s (%s)",
                       what, need, cl->info.name, sm_cl_error_name(err));
    return SM_OK;
}

/* Pixels converted and written per transfer: the host holds no copy of
 * the map besides the caller's. */
#define SM_CL_UPLOAD_CHUNK 65536

/* Row i (0 the map, then the templates) of the device layout, in the
 * kernel's precision and zero-padded to n_pad pixels. */
static sm_status upload_row(opencl_t *cl, size_t i, unsigned char *stage)
{
    size_t n = cl->n_pix, np = cl->n_pad, rs = cl->real_size;
    const double *src = i == 0 ? sm_data_delta(cl->data)
                               : sm_data_templates(cl->data) + (i - 1) * n;
    cl_mem dst = i == 0 ? cl->delta : cl->templates;
    size_t base = i == 0 ? 0 : (i - 1) * np;
    for (size_t j0 = 0; j0 < np; j0 += SM_CL_UPLOAD_CHUNK) {
        size_t m = np - j0 < SM_CL_UPLOAD_CHUNK ? np - j0 : SM_CL_UPLOAD_CHUNK;
        for (size_t j = 0; j < m; j++) {
            double x = j0 + j < n ? src[j0 + j] : 0.0;
            if (cl->fp32)
                ((float *)stage)[j] = (float)x;
            else
                ((double *)stage)[j] = x;
        }
        cl_int err = clEnqueueWriteBuffer(cl->queue, dst, CL_TRUE, (base + j0) * rs, m * rs,
                                          stage, 0, NULL, NULL);
        if (err != CL_SUCCESS)
            return cl_fail(cl, err, "uploading the map and templates");
    }
    return SM_OK;
}

/* On a device whose memory is the host's, the fp64 kernel reads the
 * caller's templates where they are (CL_MEM_USE_HOST_PTR: no second copy
 * of a survey map) when they start where the device wants buffers to; the
 * kernel's rows then have stride N, not the padded width. */
static int reads_in_place(const opencl_t *cl)
{
    uintptr_t at = (uintptr_t)sm_data_templates(cl->data);
    return cl->host_memory && !cl->fp32 && !fault_is(cl, "devmem") && cl->base_align > 0 &&
           at % cl->base_align == 0;
}

/* The map and templates in the kernel's precision, each row zero-padded to
 * n_pad pixels (the kernel masks the padding), uploaded once; or the
 * templates read in place. Their largest magnitudes bound |m| for the
 * sparse renormalisation (fp32's rounding of them is within its margin). */
static sm_status upload_data(opencl_t *cl)
{
    size_t s = cl->model.n_sys, n = cl->n_pix, np = cl->n_pad, rs = cl->real_size;
    cl->in_place = reads_in_place(cl);
    cl->stride = cl->in_place ? n : np;
    char map_what[96], tpl_what[96];
    snprintf(map_what, sizeof map_what, "the map (%zu pixels x %zu bytes)", np, rs);
    snprintf(tpl_what, sizeof tpl_what, "the templates (%zu x %zu pixels x %zu bytes)", s,
             cl->stride, rs);
    const double *t = sm_data_templates(cl->data);
    sm_status st = make_buffer(cl, map_what, np * rs, CL_MEM_READ_ONLY, NULL, &cl->delta);
    if (st == SM_OK)
        st = make_buffer(cl, tpl_what, cl->stride * s * rs, CL_MEM_READ_ONLY,
                         cl->in_place ? t : NULL, &cl->templates);
    unsigned char *stage = st == SM_OK ? malloc(SM_CL_UPLOAD_CHUNK * rs) : NULL;
    if (st == SM_OK)
        cl->t_max = calloc(s, sizeof *cl->t_max);
    if (st == SM_OK && (stage == NULL || cl->t_max == NULL))
        st = SM_FAIL_NOMEM("the upload buffer");
    for (size_t i = 0; i <= (cl->in_place ? 0 : s) && st == SM_OK; i++)
        st = upload_row(cl, i, stage);
    for (size_t i = 0; st == SM_OK && i < s; i++)
        for (size_t j = 0; j < n; j++)
            if (fabs(t[i * n + j]) > cl->t_max[i])
                cl->t_max[i] = fabs(t[i * n + j]);
    free(stage);
    return st;
}

/* What the compiled kernel needs may exceed what the device said of
 * itself (registers, its own local memory): checked before any launch so
 * that a shape it cannot run is an error naming the limit. */
static sm_status check_built_kernel(const opencl_t *cl, cl_device_id dev)
{
    size_t max_wgs = 0;
    cl_ulong local = 0;
    cl_int err = clGetKernelWorkGroupInfo(cl->kernel, dev, CL_KERNEL_WORK_GROUP_SIZE,
                                          sizeof max_wgs, &max_wgs, NULL);
    if (err == CL_SUCCESS)
        err = clGetKernelWorkGroupInfo(cl->kernel, dev, CL_KERNEL_LOCAL_MEM_SIZE, sizeof local,
                                       &local, NULL);
    if (err != CL_SUCCESS)
        return cl_fail(cl, err, "querying the built kernel's work-group limits");
    if (max_wgs < cl->tune.wgs)
        return sm_fail(SM_EDEVICE, "launch shape wgs=%zu: the built kernel runs work-groups of "
                                   "at most %zu work-items on OpenCL device %s "
                                   "(CL_KERNEL_WORK_GROUP_SIZE); lower wgs or wpt",
                       cl->tune.wgs, max_wgs, cl->info.name);
    if (local > cl->info.local_mem_bytes)
        return sm_fail(SM_EDEVICE, "launch shape wgs=%zu: the built kernel needs %llu bytes of "
                                   "local memory, OpenCL device %s has %llu "
                                   "(CL_KERNEL_LOCAL_MEM_SIZE)",
                       cl->tune.wgs, (unsigned long long)local, cl->info.name,
                       cl->info.local_mem_bytes);
    return SM_OK;
}

static sm_status build(opencl_t *cl)
{
    char model_defines[256];
    sm_status st = sm_model_kernel_defines(&cl->model, model_defines, sizeof model_defines);
    if (st != SM_OK)
        return st;
    const char *extra = getenv(SM_CL_OPTIONS_ENV);
    char options[1024];
    int n_opt = snprintf(options, sizeof options,
                         "-cl-std=CL1.2 -DPRECISION=%d %s -DWGS=%zu -DWPT=%zu -DVW=%zu "
                         "-DUSE_FMA=%d -DRENORM=%d %s",
                         cl->fp32 ? 32 : 64, model_defines, cl->tune.wgs, cl->tune.wpt,
                         cl->tune.vw, cl->fma, cl->fp32 ? SM_CL_RENORM_FP32 : SM_CL_RENORM_FP64,
                         extra ? extra : "");
    if (n_opt < 0 || (size_t)n_opt >= sizeof options)
        return sm_fail(SM_EINVAL, "%s: the kernel build options exceed %zu bytes",
                       SM_CL_OPTIONS_ENV, sizeof options);
    const char *source = sm_kernel_loglike;
    char *broken = NULL;
    if (fault_is(cl, "build")) {
        size_t len = strlen(source);
        broken = malloc(len + 64);
        if (broken == NULL)
            return SM_FAIL_NOMEM("kernel source");
        snprintf(broken, len + 64, "%s\nint injected_fault = undeclared_identifier;\n", source);
        source = broken;
    }
    cl_device_id dev;
    cl_platform_id plat;
    st = sm_cl_device_ids(&cl->info, &plat, &dev);
    if (st == SM_OK) {
        cl_int err;
        cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)plat, 0};
        cl->context = clCreateContext(props, 1, &dev, NULL, NULL, &err);
        if (err == CL_SUCCESS)
            cl->queue = clCreateCommandQueue(cl->context, dev, 0, &err);
        if (err != CL_SUCCESS)
            st = cl_fail(cl, err, "creating a context and queue");
    }
    if (st == SM_OK)
        st = sm_cl_build_program(cl->context, dev, &cl->info, source, options, &cl->program,
                                 NULL);
    free(broken);
    if (st == SM_OK) {
        cl_int err;
        cl->kernel = clCreateKernel(cl->program, "loglike", &err);
        if (err != CL_SUCCESS)
            st = cl_fail(cl, err, "creating kernel loglike");
    }
    if (st == SM_OK)
        st = check_built_kernel(cl, dev);
    return st;
}

/* Buffers for k walkers: parameters in, per-group partial sums out. */
static sm_status reserve(opencl_t *cl, size_t k)
{
    if (k <= cl->capacity)
        return SM_OK;
    if (cl->params != NULL)
        clReleaseMemObject(cl->params);
    if (cl->partial != NULL)
        clReleaseMemObject(cl->partial);
    cl->params = cl->partial = NULL;
    size_t params_bytes = k * cl->n_dim * cl->real_size;
    size_t partial_bytes = k * cl->groups * SM_CL_NSUMS * cl->real_size;
    void *ph = realloc(cl->params_host, params_bytes);
    if (ph != NULL)
        cl->params_host = ph;
    void *qh = realloc(cl->partial_host, partial_bytes);
    if (qh != NULL)
        cl->partial_host = qh;
    size_t *map = realloc(cl->walker_of_row, k * sizeof *map);
    if (map != NULL)
        cl->walker_of_row = map;
    if (ph == NULL || qh == NULL || map == NULL)
        return SM_FAIL_NOMEM("OpenCL batch buffers");
    sm_status st = make_buffer(cl, "the walkers' parameters", params_bytes, CL_MEM_READ_ONLY,
                               NULL, &cl->params);
    if (st == SM_OK)
        st = make_buffer(cl, "the partial sums", partial_bytes, CL_MEM_WRITE_ONLY, NULL,
                         &cl->partial);
    if (st == SM_OK)
        cl->capacity = k;
    return st;
}

/* Copies the in-prior walkers' parameters into consecutive rows. */
static size_t pack(opencl_t *cl, size_t k, const double *params, const int *in_prior)
{
    size_t rows = 0, d = cl->n_dim;
    for (size_t w = 0; w < k; w++) {
        if (!in_prior[w])
            continue;
        for (size_t i = 0; i < d; i++) {
            double x = params[w * d + i];
            if (cl->fp32)
                ((float *)cl->params_host)[rows * d + i] = (float)x;
            else
                ((double *)cl->params_host)[rows * d + i] = x;
        }
        cl->walker_of_row[rows++] = w;
    }
    return rows;
}

/* Whether every |m| = |1 + b.t| of these walkers is bounded by
 * 1 + sum_i |b_i| max|t_i| < the sparse renormalisation's bound (NaN
 * parameters fail the test: dense). */
static int sparse_ok(const opencl_t *cl, size_t k, const double *params, const int *in_prior)
{
    long b0 = sm_model_b_offset(&cl->model);
    if (b0 < 0)
        return 1;
    double limit = cl->fp32 ? SM_CL_BOUND_FP32 : SM_CL_BOUND_FP64;
    for (size_t w = 0; w < k; w++) {
        if (!in_prior[w])
            continue;
        double bound = 1.0;
        for (size_t i = 0; i < cl->model.n_sys; i++)
            bound += fabs(params[w * cl->n_dim + (size_t)b0 + i]) * cl->t_max[i];
        if (!(bound < limit))
            return 0;
    }
    return 1;
}

static double partial_at(const opencl_t *cl, size_t i)
{
    return cl->fp32 ? (double)((const float *)cl->partial_host)[i]
                    : ((const double *)cl->partial_host)[i];
}

static sm_status opencl_pixel_sums(void *ctx, size_t k, const double *params,
                                   const int *in_prior, sm_pixel_sums_t *sums)
{
    opencl_t *cl = ctx;
    sm_status st = reserve(cl, k);
    if (st != SM_OK)
        return st;
    size_t rows = pack(cl, k, params, in_prior);
    if (rows == 0)
        return SM_OK;
    if (fault_is(cl, "lost"))
        return cl_fail(cl, CL_DEVICE_NOT_AVAILABLE, "running the likelihood kernel");
    /* Walker blocks side by side along dimension 1 (GPUs), or, with
     * walker_loop, only as many lanes as the device needs beside the pixel
     * groups, each running its blocks one after another over tiles of ppi
     * vectors per work-item (CPUs: a large map then streams from memory
     * once per call, not once per walker block). */
    size_t items = (rows + cl->tune.wpt - 1) / cl->tune.wpt, lanes = items;
    size_t tile = cl->n_pad / cl->tune.vw;
    if (cl->tune.walker_loop) {
        size_t fill = (cl->max_groups + cl->groups - 1) / cl->groups;
        lanes = fill < items ? fill : items;
        tile = cl->tune.ppi * cl->tune.wgs;
    }
    cl_int n_pix = (cl_int)cl->n_pix, n_pad = (cl_int)cl->n_pad, n_rows = (cl_int)rows, err;
    cl_int stride = (cl_int)cl->stride;
    cl_int dense = !sparse_ok(cl, k, params, in_prior);
    cl_int tile_arg = tile < (size_t)INT_MAX ? (cl_int)tile : INT_MAX;
    err = clEnqueueWriteBuffer(cl->queue, cl->params, CL_FALSE, 0,
                               rows * cl->n_dim * cl->real_size, cl->params_host, 0, NULL, NULL);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(cl->kernel, 0, sizeof n_pix, &n_pix);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(cl->kernel, 1, sizeof n_pad, &n_pad);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(cl->kernel, 2, sizeof stride, &stride);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(cl->kernel, 3, sizeof n_rows, &n_rows);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(cl->kernel, 4, sizeof tile_arg, &tile_arg);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(cl->kernel, 5, sizeof dense, &dense);
    cl_mem args[4] = {cl->delta, cl->templates, cl->params, cl->partial};
    for (cl_uint i = 0; i < 4 && err == CL_SUCCESS; i++)
        err = clSetKernelArg(cl->kernel, i + 6, sizeof(cl_mem), &args[i]);
    size_t global[2] = {cl->groups * cl->tune.wgs, lanes}, local[2] = {cl->tune.wgs, 1};
    if (err == CL_SUCCESS)
        err = clEnqueueNDRangeKernel(cl->queue, cl->kernel, 2, NULL, global, local, 0, NULL,
                                     NULL);
    if (err == CL_SUCCESS)
        err = clEnqueueReadBuffer(cl->queue, cl->partial, CL_TRUE, 0,
                                  rows * cl->groups * SM_CL_NSUMS * cl->real_size,
                                  cl->partial_host, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return cl_fail(cl, err, "running the likelihood kernel");
    for (size_t r = 0; r < rows; r++) {
        sm_ksum_t acc[3] = {{0, 0}, {0, 0}, {0, 0}};
        for (size_t g = 0; g < cl->groups; g++) {
            size_t base = (r * cl->groups + g) * SM_CL_NSUMS;
            for (int q = 0; q < 3; q++) {
                sm_ksum_add(&acc[q], partial_at(cl, base + 2 * (size_t)q));
                sm_ksum_add(&acc[q], partial_at(cl, base + 2 * (size_t)q + 1));
            }
        }
        sm_pixel_sums_t *out = &sums[cl->walker_of_row[r]];
        out->sq = sm_ksum_value(&acc[0]);
        out->log_m = sm_ksum_value(&acc[1]);
        out->log_phi = sm_ksum_value(&acc[2]);
    }
    return SM_OK;
}

static const sm_backend_ops_t opencl_ops = {
    .struct_size = sizeof(sm_backend_ops_t),
    .pixel_sums = opencl_pixel_sums, .free = opencl_free};

/* What the kernel is specialised for on this device unless the launch
 * shape says otherwise: pixels per SIMD vector (the preferred vector width
 * for the precision on CPUs, PoCL: 8 doubles or 16 floats with AVX-512; 1
 * on GPUs and accelerators, whose work-items are already SIMD lanes) and
 * hardware fused multiply-add. */
static sm_status query_features(opencl_t *cl)
{
    cl_platform_id plat;
    cl_device_id dev;
    sm_status st = sm_cl_device_ids(&cl->info, &plat, &dev);
    if (st != SM_OK)
        return st;
    cl_uint width = 1;
    cl_device_fp_config config = 0;
    cl_int err = clGetDeviceInfo(dev, cl->fp32 ? CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT
                                               : CL_DEVICE_PREFERRED_VECTOR_WIDTH_DOUBLE,
                                 sizeof width, &width, NULL);
    if (err == CL_SUCCESS)
        err = clGetDeviceInfo(dev, cl->fp32 ? CL_DEVICE_SINGLE_FP_CONFIG
                                            : CL_DEVICE_DOUBLE_FP_CONFIG,
                              sizeof config, &config, NULL);
    cl_bool unified = CL_FALSE;
    cl_uint align_bits = 0;
    if (err == CL_SUCCESS)
        err = clGetDeviceInfo(dev, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified, NULL);
    if (err == CL_SUCCESS)
        err = clGetDeviceInfo(dev, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align_bits, &align_bits,
                              NULL);
    if (err != CL_SUCCESS)
        return cl_fail(cl, err, "querying the vector width, floating-point capabilities and "
                                "memory model");
    cl->preferred_vw = cl->info.device_class != SM_DEVICE_CPU ? 1 : width;
    cl->fma = (config & CL_FP_FMA) != 0;
    cl->host_memory = unified == CL_TRUE && cl->info.device_class == SM_DEVICE_CPU;
    cl->base_align = align_bits / 8;
    return SM_OK;
}

static sm_status choose_precision(const char *precision, const sm_device_t *dev,
                                  int *fp32)
{
    if (precision == NULL) {
        *fp32 = !dev->fp64; /* the default: fp64 where the device has it */
        return SM_OK;
    }
    if (strcmp(precision, "fp32") == 0) {
        *fp32 = 1;
        return SM_OK;
    }
    if (strcmp(precision, "fp64") != 0)
        return sm_fail(SM_EINVAL, "unknown precision '%s' (expected fp64 or fp32)", precision);
    if (!dev->fp64)
        return sm_fail(SM_EDEVICE,
                       "OpenCL device %u (%s) has no fp64 support (cl_khr_fp64); use "
                       "precision fp32 or another device",
                       dev->index, dev->name);
    *fp32 = 0;
    return SM_OK;
}

sm_status sm_opencl_create(sm_backend_t **out, const sm_data_t *data, const sm_model_t *model,
                           const char *device, const char *precision)
{
    *out = NULL;
    if (data == NULL || model == NULL)
        return sm_fail(SM_EINVAL, "opencl backend: NULL data or model");
    sm_status st = sm_model_validate(model);
    if (st != SM_OK)
        return st;
    if (sm_data_n_sys(data) != model->n_sys)
        return sm_fail(SM_EINVAL, "opencl backend: data has %zu templates, model expects %zu",
                       sm_data_n_sys(data), model->n_sys);
    opencl_t *cl = calloc(1, sizeof *cl);
    if (cl == NULL)
        return SM_FAIL_NOMEM("opencl backend");
    cl->data = data;
    cl->model = *model;
    cl->n_pix = sm_data_n_pix(data);
    cl->n_dim = sm_model_n_dim(model);
    cl->fault = getenv(SM_CL_FAULT_ENV);
    int need_fp64 = precision != NULL && strcmp(precision, "fp64") == 0;
    st = sm_opencl_select(device, need_fp64 && !fault_is(cl, "nofp64"), &cl->info);
    if (fault_is(cl, "nofp64"))
        cl->info.fp64 = 0;
    if (fault_is(cl, "local32k"))
        cl->info.local_mem_bytes = 32768;
    if (st == SM_OK)
        st = choose_precision(precision, &cl->info, &cl->fp32);
    /* The kernel indexes templates with int, rows padded to the vector
     * width. */
    if (st == SM_OK && (cl->n_pix + SM_CL_MAX_VW) * model->n_sys > (size_t)INT_MAX)
        st = sm_fail(SM_EINVAL, "opencl backend: %zu pixels x %zu templates exceed the "
                                "kernel's int indexing (%d); split the map across ranks",
                     cl->n_pix, model->n_sys, INT_MAX);
    if (st != SM_OK) {
        opencl_free(cl);
        return st;
    }
    cl->real_size = cl->fp32 ? sizeof(float) : sizeof(double);
    st = sm_cl_tuning(&cl->info, cl->fp32, &cl->tune);
    if (st == SM_OK)
        st = query_features(cl);
    if (st == SM_OK)
        st = sm_cl_shape_resolve(&cl->info, cl->preferred_vw, model->n_sys, cl->real_size,
                                 &cl->tune);
    if (st != SM_OK) {
        opencl_free(cl);
        return st;
    }
    size_t vw = cl->tune.vw;
    cl->n_pad = (cl->n_pix + vw - 1) / vw * vw;
    size_t per_group = cl->tune.wgs * cl->tune.ppi * vw;
    cl->max_groups = (size_t)(cl->info.compute_units ? cl->info.compute_units : 1) *
                     cl->tune.groups_per_cu;
    cl->groups = (cl->n_pad + per_group - 1) / per_group;
    if (cl->groups > cl->max_groups)
        cl->groups = cl->max_groups;
    st = build(cl);
    if (st == SM_OK)
        st = upload_data(cl);
    if (st != SM_OK) {
        opencl_free(cl);
        return st;
    }
    char desc[512];
    snprintf(desc, sizeof desc, "%s (%s, driver %s)", cl->info.name, cl->info.platform,
             cl->info.driver);
    if (!cl->in_place)
        cl->data = NULL; /* uploaded: never read again */
    sm_status created = sm_backend_create(out, &opencl_ops, cl, model, cl->n_pix, "opencl", desc,
                                          cl->fp32 ? "fp32" : "fp64");
    if (created == SM_OK && !cl->in_place)
        sm_backend_mark_data_copied(*out);
    return created;
}
