/* OpenCL platform and device discovery, device selection, error names. */
#include "cl.h"

#include <CL/cl_ext.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

#define NO_PLATFORM_MSG                                                                      \
    "no OpenCL platform found: install an OpenCL driver (ICD), e.g. Debian's pocl-opencl-icd " \
    "for the CPU"

/* The loader's platforms; *n = 0 is reported as SM_EDEVICE. Free *ids. */
static sm_status platform_ids(cl_platform_id **ids, cl_uint *n)
{
    *ids = NULL;
    *n = 0;
    cl_uint count = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &count);
    if (err == CL_PLATFORM_NOT_FOUND_KHR || (err == CL_SUCCESS && count == 0))
        return sm_fail(SM_EDEVICE, NO_PLATFORM_MSG);
    if (err != CL_SUCCESS)
        return sm_fail(SM_EDEVICE, "clGetPlatformIDs failed (%s)", sm_cl_error_name(err));
    cl_platform_id *p = malloc(count * sizeof *p);
    if (p == NULL)
        return SM_FAIL_NOMEM("OpenCL platform list");
    err = clGetPlatformIDs(count, p, &count);
    if (err != CL_SUCCESS || count == 0) {
        free(p);
        return err == CL_SUCCESS || err == CL_PLATFORM_NOT_FOUND_KHR
                   ? sm_fail(SM_EDEVICE, NO_PLATFORM_MSG)
                   : sm_fail(SM_EDEVICE, "clGetPlatformIDs failed (%s)", sm_cl_error_name(err));
    }
    *ids = p;
    *n = count;
    return SM_OK;
}

/* Every device of one platform; CL_DEVICE_NOT_FOUND gives *n = 0. Free *ids. */
static cl_int platform_device_ids(cl_platform_id platform, cl_device_id **ids, cl_uint *n)
{
    *ids = NULL;
    *n = 0;
    cl_uint count = 0;
    cl_int err = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, NULL, &count);
    if (err == CL_DEVICE_NOT_FOUND || (err == CL_SUCCESS && count == 0))
        return CL_SUCCESS;
    if (err != CL_SUCCESS)
        return err;
    cl_device_id *d = malloc(count * sizeof *d);
    if (d == NULL)
        return CL_OUT_OF_HOST_MEMORY;
    err = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, count, d, &count);
    if (err != CL_SUCCESS) {
        free(d);
        return err;
    }
    *ids = d;
    *n = count;
    return CL_SUCCESS;
}

/* A string property of a platform (device NULL) or of a device, copied into
 * dst[size]: cut at a UTF-8 character boundary, trailing blanks dropped
 * (some drivers pad their names). */
static cl_int info_string(cl_platform_id platform, cl_device_id device, cl_uint param,
                          char *dst, size_t size)
{
    size_t len = 0;
    cl_int err = device ? clGetDeviceInfo(device, param, 0, NULL, &len)
                        : clGetPlatformInfo(platform, param, 0, NULL, &len);
    if (err != CL_SUCCESS)
        return err;
    char *full = malloc(len + 1);
    if (full == NULL)
        return CL_OUT_OF_HOST_MEMORY;
    err = device ? clGetDeviceInfo(device, param, len, full, NULL)
                 : clGetPlatformInfo(platform, param, len, full, NULL);
    if (err == CL_SUCCESS) {
        full[len] = '\0';
        size_t n = strnlen(full, size - 1);
        if (n < strlen(full))
            while (n > 0 && ((unsigned char)full[n] & 0xC0) == 0x80)
                n--;
        while (n > 0 && isspace((unsigned char)full[n - 1]))
            n--;
        memcpy(dst, full, n);
        dst[n] = '\0';
    }
    free(full);
    return err;
}

/* Whether the space-separated extension list of device has cl_khr_fp64. */
static cl_int has_fp64_extension(cl_device_id device, int *yes)
{
    *yes = 0;
    size_t len = 0;
    cl_int err = clGetDeviceInfo(device, CL_DEVICE_EXTENSIONS, 0, NULL, &len);
    if (err != CL_SUCCESS)
        return err;
    char *ext = malloc(len + 1);
    if (ext == NULL)
        return CL_OUT_OF_HOST_MEMORY;
    err = clGetDeviceInfo(device, CL_DEVICE_EXTENSIONS, len, ext, NULL);
    if (err == CL_SUCCESS) {
        ext[len] = '\0';
        static const char want[] = "cl_khr_fp64";
        for (const char *p = strstr(ext, want); p != NULL; p = strstr(p + 1, want)) {
            char after = p[sizeof want - 1];
            if ((p == ext || isspace((unsigned char)p[-1])) &&
                (after == '\0' || isspace((unsigned char)after))) {
                *yes = 1;
                break;
            }
        }
    }
    free(ext);
    return err;
}

static sm_device_class class_of(cl_device_type type)
{
    if (type & CL_DEVICE_TYPE_GPU)
        return SM_DEVICE_GPU;
    if (type & CL_DEVICE_TYPE_ACCELERATOR)
        return SM_DEVICE_ACCELERATOR;
    if (type & CL_DEVICE_TYPE_CPU)
        return SM_DEVICE_CPU;
    return SM_DEVICE_OTHER;
}

/* Fills every field of out but the indices; *what names the failing query. */
static cl_int describe_device(cl_device_id device, sm_device_t *out, const char **what)
{
    cl_device_type type = 0;
    cl_uint units = 0, clock = 0;
    cl_ulong global = 0, max_alloc = 0, local = 0;
    size_t wgs = 0;
    cl_int err = CL_SUCCESS;
#define QUERY(param, var)                                                    \
    if (err == CL_SUCCESS) {                                                 \
        *what = #param;                                                      \
        err = clGetDeviceInfo(device, param, sizeof(var), &(var), NULL);     \
    }
#define QUERY_STRING(param, field)                                           \
    if (err == CL_SUCCESS) {                                                 \
        *what = #param;                                                      \
        err = info_string(NULL, device, param, out->field, sizeof out->field); \
    }
    QUERY_STRING(CL_DEVICE_NAME, name)
    QUERY_STRING(CL_DEVICE_VENDOR, vendor)
    QUERY_STRING(CL_DRIVER_VERSION, driver)
    QUERY_STRING(CL_DEVICE_VERSION, version)
    QUERY(CL_DEVICE_TYPE, type)
    QUERY(CL_DEVICE_MAX_COMPUTE_UNITS, units)
    QUERY(CL_DEVICE_MAX_CLOCK_FREQUENCY, clock)
    QUERY(CL_DEVICE_GLOBAL_MEM_SIZE, global)
    QUERY(CL_DEVICE_MAX_MEM_ALLOC_SIZE, max_alloc)
    QUERY(CL_DEVICE_LOCAL_MEM_SIZE, local)
    QUERY(CL_DEVICE_MAX_WORK_GROUP_SIZE, wgs)
#undef QUERY
#undef QUERY_STRING
    int fp64 = 0;
    if (err == CL_SUCCESS) {
        *what = "CL_DEVICE_EXTENSIONS";
        err = has_fp64_extension(device, &fp64);
    }
    if (err != CL_SUCCESS)
        return err;
    /* OpenCL 1.2 made double a core optional feature: a non-zero double
     * config means support even without the extension string. Pre-1.2
     * drivers reject the query, which then just means no. */
    cl_device_fp_config dconf = 0;
    if (!fp64 && clGetDeviceInfo(device, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof dconf, &dconf,
                                 NULL) == CL_SUCCESS)
        fp64 = dconf != 0;
    out->device_class = class_of(type);
    out->compute_units = units;
    out->clock_mhz = clock;
    out->global_mem_bytes = global;
    out->max_alloc_bytes = max_alloc;
    out->local_mem_bytes = local;
    out->max_work_group_size = wgs;
    out->fp64 = fp64;
    return CL_SUCCESS;
}

/* Appends the devices of platform p to list[*n..]; on failure leaves *n
 * unchanged and describes the failure in why[why_size]. */
static sm_status add_platform(cl_platform_id platform, unsigned p, sm_device_t **list,
                              size_t *n, size_t *cap, char *why, size_t why_size)
{
    char pname[sizeof(*list)->platform];
    const char *what = "CL_PLATFORM_NAME";
    cl_int err = info_string(platform, NULL, CL_PLATFORM_NAME, pname, sizeof pname);
    if (err != CL_SUCCESS) {
        snprintf(why, why_size, "platform %u: %s failed (%s)", p, what, sm_cl_error_name(err));
        return SM_OK;
    }
    cl_device_id *ids;
    cl_uint count;
    err = platform_device_ids(platform, &ids, &count);
    if (err != CL_SUCCESS) {
        snprintf(why, why_size, "platform %u (%s): clGetDeviceIDs failed (%s)", p, pname,
                 sm_cl_error_name(err));
        return SM_OK;
    }
    if (*n + count > *cap) {
        size_t grown = *n + count + 4;
        sm_device_t *bigger = realloc(*list, grown * sizeof *bigger);
        if (bigger == NULL) {
            free(ids);
            return SM_FAIL_NOMEM("OpenCL device list");
        }
        *list = bigger;
        *cap = grown;
    }
    for (cl_uint d = 0; d < count; d++) {
        sm_device_t *dev = &(*list)[*n + d];
        memset(dev, 0, sizeof *dev);
        err = describe_device(ids[d], dev, &what);
        if (err != CL_SUCCESS) {
            snprintf(why, why_size, "platform %u (%s) device %u: %s failed (%s)", p, pname,
                     (unsigned)d, what, sm_cl_error_name(err));
            free(ids);
            return SM_OK;
        }
        snprintf(dev->backend, sizeof dev->backend, "opencl");
        dev->index = (unsigned)(*n + d);
        dev->platform_index = p;
        dev->device_index = (unsigned)d;
        memcpy(dev->platform, pname, sizeof pname);
    }
    *n += count;
    free(ids);
    return SM_OK;
}

void sm_opencl_devices_free(sm_device_t *devices)
{
    free(devices);
}

sm_status sm_opencl_devices(sm_device_t **devices, size_t *n)
{
    *devices = NULL;
    *n = 0;
    cl_platform_id *platforms;
    cl_uint n_platforms;
    sm_status st = platform_ids(&platforms, &n_platforms);
    if (st != SM_OK)
        return st;
    sm_device_t *list = NULL;
    size_t count = 0, cap = 0;
    char why[512] = "";
    /* A broken platform is skipped, so one bad ICD does not hide the others;
     * P in "P:D" stays the loader's platform position. */
    for (cl_uint p = 0; p < n_platforms && st == SM_OK; p++)
        st = add_platform(platforms[p], (unsigned)p, &list, &count, &cap, why, sizeof why);
    free(platforms);
    if (st == SM_OK && count == 0)
        st = sm_fail(SM_EDEVICE, "no OpenCL device found on %u platform(s)%s%s",
                     (unsigned)n_platforms, why[0] ? ": " : "", why);
    if (st != SM_OK) {
        free(list);
        return st;
    }
    *devices = list;
    *n = count;
    return SM_OK;
}

/* Reads a non-empty run of decimal digits at *p, advancing *p. */
static int parse_digits(const char **p, unsigned long long *value)
{
    const char *s = *p;
    if (!isdigit((unsigned char)*s))
        return 0;
    char *end;
    errno = 0;
    *value = strtoull(s, &end, 10);
    if (errno == ERANGE)
        *value = ~0ull; /* out of range of any device list */
    *p = end;
    return 1;
}

/* "device N does not exist; K devices: 0 = name (platform), ..." */
static sm_status no_such_device(const char *spec, int pair, const sm_device_t *list,
                                size_t n)
{
    char text[900] = "";
    size_t used = 0;
    for (size_t i = 0; i < n && used < sizeof text; i++) {
        int w = pair ? snprintf(text + used, sizeof text - used, "%s%u:%u = %s (%s)",
                                i ? ", " : "", list[i].platform_index, list[i].device_index,
                                list[i].name, list[i].platform)
                     : snprintf(text + used, sizeof text - used, "%s%u = %s (%s)",
                                i ? ", " : "", list[i].index, list[i].name, list[i].platform);
        used += w < 0 ? 0 : (size_t)w;
    }
    return sm_fail(SM_EINVAL, "device %s does not exist; %zu device%s: %s", spec, n,
                   n == 1 ? "" : "s", text);
}

/* The device spec names ("N" or "P:D"), as an index into list. */
static sm_status find_device(const char *spec, const sm_device_t *list, size_t n,
                             size_t *found)
{
    const char *p = spec;
    unsigned long long a = 0, b = 0;
    int pair = 0;
    int ok = parse_digits(&p, &a);
    if (ok && *p == ':') {
        p++;
        pair = 1;
        ok = parse_digits(&p, &b);
    }
    if (!ok || *p != '\0')
        return sm_fail(SM_EINVAL,
                       "bad device '%s': expected a device index N or a platform:device pair "
                       "P:D (decimal, see `sysmap devices`)",
                       spec);
    for (size_t i = 0; i < n; i++) {
        if (pair ? list[i].platform_index == a && list[i].device_index == b
                 : list[i].index == a) {
            *found = i;
            return SM_OK;
        }
    }
    return no_such_device(spec, pair, list, n);
}

/* The header's default rule: GPUs and accelerators first, then the largest
 * compute units x clock, ties to the lowest index. */
static int default_device(const sm_device_t *list, size_t n, int need_fp64,
                          size_t *found)
{
    int have = 0;
    int best_rank = 0;
    unsigned long long best_score = 0;
    for (size_t i = 0; i < n; i++) {
        if (need_fp64 && !list[i].fp64)
            continue;
        int rank = list[i].device_class == SM_DEVICE_GPU ||
                   list[i].device_class == SM_DEVICE_ACCELERATOR;
        unsigned long long score = (unsigned long long)list[i].compute_units * list[i].clock_mhz;
        if (!have || rank > best_rank || (rank == best_rank && score > best_score)) {
            have = 1;
            best_rank = rank;
            best_score = score;
            *found = i;
        }
    }
    return have;
}

sm_status sm_opencl_select(const char *spec, int need_fp64, sm_device_t *chosen)
{
    int from_env = 0;
    if (spec == NULL) {
        spec = getenv("SYSMAP_DEVICE");
        if (spec != NULL && spec[0] == '\0')
            spec = NULL;
        from_env = spec != NULL;
    }
    sm_device_t *list;
    size_t n;
    sm_status st = sm_opencl_devices(&list, &n);
    if (st != SM_OK)
        return st;
    size_t i = 0;
    if (spec != NULL) {
        st = find_device(spec, list, n, &i);
        if (st == SM_OK && need_fp64 && !list[i].fp64)
            st = sm_fail(SM_EDEVICE,
                         "device %s (%s) has no fp64 support (cl_khr_fp64); use precision "
                         "fp32 or another device",
                         spec, list[i].name);
        if (st != SM_OK && from_env)
            sm_fail_context(st, "SYSMAP_DEVICE=%s", spec);
    } else if (!default_device(list, n, need_fp64, &i)) {
        st = sm_fail(SM_EDEVICE,
                     "none of the %zu OpenCL device(s) has fp64 support (cl_khr_fp64); use "
                     "precision fp32 or install a driver for a device with fp64",
                     n);
    }
    if (st == SM_OK)
        *chosen = list[i];
    sm_opencl_devices_free(list);
    return st;
}

sm_status sm_cl_device_ids(const sm_device_t *dev, cl_platform_id *platform,
                           cl_device_id *device)
{
    cl_platform_id *platforms;
    cl_uint n_platforms;
    sm_status st = platform_ids(&platforms, &n_platforms);
    if (st != SM_OK)
        return sm_fail_context(st, "OpenCL device %u (%s)", dev->index, dev->name);
    if (dev->platform_index >= n_platforms) {
        free(platforms);
        return sm_fail(SM_EDEVICE, "OpenCL device %u (%s) is gone: platform %u no longer exists (%u platform(s))",
                       dev->index, dev->name, dev->platform_index, (unsigned)n_platforms);
    }
    cl_platform_id plat = platforms[dev->platform_index];
    free(platforms);
    cl_device_id *ids;
    cl_uint count;
    cl_int err = platform_device_ids(plat, &ids, &count);
    if (err != CL_SUCCESS)
        return sm_fail(SM_EDEVICE, "OpenCL device %u (%s): clGetDeviceIDs on platform %u failed (%s)",
                       dev->index, dev->name, dev->platform_index, sm_cl_error_name(err));
    char name[sizeof dev->name] = "";
    if (dev->device_index < count)
        err = info_string(NULL, ids[dev->device_index], CL_DEVICE_NAME, name, sizeof name);
    if (dev->device_index >= count || err != CL_SUCCESS || strcmp(name, dev->name) != 0) {
        free(ids);
        return sm_fail(SM_EDEVICE,
                       "OpenCL device %u (%s) is gone: platform %u now has %u device(s)%s%s%s",
                       dev->index, dev->name, dev->platform_index, (unsigned)count,
                       name[0] ? ", device " : "", name[0] ? name : "",
                       name[0] ? " in its place" : "");
    }
    *platform = plat;
    *device = ids[dev->device_index];
    free(ids);
    return SM_OK;
}

const char *sm_cl_error_name(cl_int err)
{
    switch (err) {
#define NAME(code) \
    case code: return #code;
    NAME(CL_SUCCESS)
    NAME(CL_DEVICE_NOT_FOUND)
    NAME(CL_DEVICE_NOT_AVAILABLE)
    NAME(CL_COMPILER_NOT_AVAILABLE)
    NAME(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    NAME(CL_OUT_OF_RESOURCES)
    NAME(CL_OUT_OF_HOST_MEMORY)
    NAME(CL_PROFILING_INFO_NOT_AVAILABLE)
    NAME(CL_MEM_COPY_OVERLAP)
    NAME(CL_IMAGE_FORMAT_MISMATCH)
    NAME(CL_IMAGE_FORMAT_NOT_SUPPORTED)
    NAME(CL_BUILD_PROGRAM_FAILURE)
    NAME(CL_MAP_FAILURE)
    NAME(CL_MISALIGNED_SUB_BUFFER_OFFSET)
    NAME(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    NAME(CL_COMPILE_PROGRAM_FAILURE)
    NAME(CL_LINKER_NOT_AVAILABLE)
    NAME(CL_LINK_PROGRAM_FAILURE)
    NAME(CL_DEVICE_PARTITION_FAILED)
    NAME(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
    NAME(CL_INVALID_VALUE)
    NAME(CL_INVALID_DEVICE_TYPE)
    NAME(CL_INVALID_PLATFORM)
    NAME(CL_INVALID_DEVICE)
    NAME(CL_INVALID_CONTEXT)
    NAME(CL_INVALID_QUEUE_PROPERTIES)
    NAME(CL_INVALID_COMMAND_QUEUE)
    NAME(CL_INVALID_HOST_PTR)
    NAME(CL_INVALID_MEM_OBJECT)
    NAME(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)
    NAME(CL_INVALID_IMAGE_SIZE)
    NAME(CL_INVALID_SAMPLER)
    NAME(CL_INVALID_BINARY)
    NAME(CL_INVALID_BUILD_OPTIONS)
    NAME(CL_INVALID_PROGRAM)
    NAME(CL_INVALID_PROGRAM_EXECUTABLE)
    NAME(CL_INVALID_KERNEL_NAME)
    NAME(CL_INVALID_KERNEL_DEFINITION)
    NAME(CL_INVALID_KERNEL)
    NAME(CL_INVALID_ARG_INDEX)
    NAME(CL_INVALID_ARG_VALUE)
    NAME(CL_INVALID_ARG_SIZE)
    NAME(CL_INVALID_KERNEL_ARGS)
    NAME(CL_INVALID_WORK_DIMENSION)
    NAME(CL_INVALID_WORK_GROUP_SIZE)
    NAME(CL_INVALID_WORK_ITEM_SIZE)
    NAME(CL_INVALID_GLOBAL_OFFSET)
    NAME(CL_INVALID_EVENT_WAIT_LIST)
    NAME(CL_INVALID_EVENT)
    NAME(CL_INVALID_OPERATION)
    NAME(CL_INVALID_GL_OBJECT)
    NAME(CL_INVALID_BUFFER_SIZE)
    NAME(CL_INVALID_MIP_LEVEL)
    NAME(CL_INVALID_GLOBAL_WORK_SIZE)
    NAME(CL_INVALID_PROPERTY)
    NAME(CL_INVALID_IMAGE_DESCRIPTOR)
    NAME(CL_INVALID_COMPILER_OPTIONS)
    NAME(CL_INVALID_LINKER_OPTIONS)
    NAME(CL_INVALID_DEVICE_PARTITION_COUNT)
    NAME(CL_PLATFORM_NOT_FOUND_KHR)
#undef NAME
    }
    static _Thread_local char unknown[48];
    snprintf(unknown, sizeof unknown, "unknown OpenCL error %d", (int)err);
    return unknown;
}
