/* Building OpenCL programs through the on-disk binary cache: a hit loads the
 * stored binary; a miss, or a binary the driver rejects, builds the source
 * and stores its binary for next time. */
#include "cl.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "error.h"

/* Part of every key: bump it when what goes into a binary changes beyond
 * the source and the options, so old entries stop matching. */
#define SM_CL_CACHE_VERSION "sysmap OpenCL program cache 1"

/* NULL on any failure: the caller then builds from source. */
static cl_program from_binary(cl_context context, cl_device_id device,
                              const unsigned char *binary, size_t size, const char *options)
{
    cl_int err, binary_status;
    cl_program program = clCreateProgramWithBinary(context, 1, &device, &size, &binary,
                                                   &binary_status, &err);
    if (err == CL_SUCCESS && binary_status == CL_SUCCESS &&
        clBuildProgram(program, 1, &device, options, NULL, NULL) == CL_SUCCESS)
        return program;
    if (program != NULL)
        clReleaseProgram(program);
    return NULL;
}

static char *build_log(cl_program program, cl_device_id device)
{
    size_t size = 0;
    if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) !=
        CL_SUCCESS)
        return NULL;
    char *log = malloc(size + 1);
    if (log != NULL && clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size, log,
                                             NULL) != CL_SUCCESS) {
        free(log);
        return NULL;
    }
    if (log != NULL)
        log[size] = '\0';
    return log;
}

/* The log from the line of its first error on, trimmed: warnings before it
 * would otherwise fill the 1 KiB message. */
static const char *log_excerpt(char *log)
{
    char *start = strstr(log, "error:");
    if (start == NULL)
        start = log;
    while (start > log && start[-1] != '\n')
        start--;
    while (isspace((unsigned char)*start))
        start++;
    size_t len = strlen(start);
    while (len > 0 && isspace((unsigned char)start[len - 1]))
        start[--len] = '\0';
    return len > 0 ? start : "no build log";
}

static sm_status from_source(cl_context context, cl_device_id device,
                             const sm_device_t *info, const char *source,
                             const char *options, cl_program *out)
{
    cl_int err;
    cl_program program = clCreateProgramWithSource(context, 1, &source, NULL, &err);
    if (err != CL_SUCCESS)
        return sm_fail(SM_EDEVICE,
                       "OpenCL kernel build failed on %s (%s): creating the program from source",
                       info->name, sm_cl_error_name(err));
    err = clBuildProgram(program, 1, &device, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        char *log = build_log(program, device);
        sm_fail(SM_EDEVICE, "OpenCL kernel build failed on %s (%s): %s", info->name,
                sm_cl_error_name(err), log != NULL ? log_excerpt(log) : "no build log");
        free(log);
        clReleaseProgram(program);
        return SM_EDEVICE;
    }
    *out = program;
    return SM_OK;
}

/* Best effort: a binary that cannot be fetched or written is just not
 * cached. The program may span more devices of the context than this one. */
static void store_binary(cl_program program, cl_device_id device, const sm_cache_entry_t *entry)
{
    cl_uint n = 0;
    if (clGetProgramInfo(program, CL_PROGRAM_NUM_DEVICES, sizeof n, &n, NULL) != CL_SUCCESS ||
        n == 0)
        return;
    cl_device_id *devices = calloc(n, sizeof *devices);
    size_t *sizes = calloc(n, sizeof *sizes);
    unsigned char **binaries = calloc(n, sizeof *binaries);
    cl_uint i = n;
    if (devices != NULL && sizes != NULL && binaries != NULL &&
        clGetProgramInfo(program, CL_PROGRAM_DEVICES, n * sizeof *devices, devices, NULL) ==
            CL_SUCCESS &&
        clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, n * sizeof *sizes, sizes, NULL) ==
            CL_SUCCESS)
        for (i = 0; i < n && devices[i] != device; i++)
            ;
    /* Entries left NULL are the other devices, which the query skips. */
    if (i < n && sizes[i] > 0 && (binaries[i] = malloc(sizes[i])) != NULL &&
        clGetProgramInfo(program, CL_PROGRAM_BINARIES, n * sizeof *binaries, binaries, NULL) ==
            CL_SUCCESS)
        sm_cache_store(entry, binaries[i], sizes[i]);
    if (i < n)
        free(binaries[i]);
    free(binaries);
    free(sizes);
    free(devices);
}

sm_status sm_cl_build_program(cl_context context, cl_device_id device,
                              const sm_device_t *info, const char *source,
                              const char *options, cl_program *program, int *cached)
{
    if (cached != NULL)
        *cached = 0;
    *program = NULL;
    if (options == NULL)
        options = "";
    const char *fields[] = {SM_CL_CACHE_VERSION, info->platform, info->name, info->vendor,
                            info->driver,        info->version,  options,    source};
    sm_cache_entry_t entry;
    unsigned char *binary;
    size_t size;
    if (sm_cache_entry_init(&entry, fields, sizeof fields / sizeof *fields) &&
        sm_cache_load(&entry, &binary, &size)) {
        *program = from_binary(context, device, binary, size, options);
        free(binary);
    }
    sm_status st = SM_OK;
    if (*program != NULL) {
        if (cached != NULL)
            *cached = 1;
    } else {
        st = from_source(context, device, info, source, options, program);
        if (st == SM_OK && entry.path != NULL)
            store_binary(*program, device, &entry);
    }
    sm_cache_entry_free(&entry);
    return st;
}
