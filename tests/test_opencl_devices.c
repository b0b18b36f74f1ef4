/* OpenCL device discovery and selection.
 *
 * The real platforms (PoCL at least) are checked against direct OpenCL
 * queries. Configurations no real machine offers on demand (a GPU without
 * fp64, a broken platform, names that need truncating, a device that changes
 * under us) come from fake platforms: this executable defines the four
 * OpenCL discovery entry points, which interpose on the ICD loader's for
 * libsysmap, and forwards to the loader unless a test installed a fake
 * configuration. The no-platform case runs this executable again with
 * OCL_ICD_VENDORS set to an empty directory, so the real loader finds none. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cl.h"
#include <CL/cl_ext.h>
#include "sysmap/opencl.h"
#include "testutil.h"

/* ---- fake platforms ---------------------------------------------------- */

typedef struct {
    char name[300];
    cl_device_type type;
    cl_uint units, clock;
    const char *extensions;
    cl_device_fp_config double_config;
    cl_uint failing_param; /* this query fails with CL_OUT_OF_RESOURCES; 0: none */
} fake_device_t;

typedef struct {
    const char *name;
    cl_int devices_error; /* what clGetDeviceIDs returns; CL_SUCCESS: the devices */
    size_t n;
    fake_device_t dev[4];
} fake_platform_t;

static fake_platform_t *fake;      /* NULL: the real loader */
static size_t fake_n;
static cl_int fake_platforms_error; /* what clGetPlatformIDs returns */

static void use_fake(fake_platform_t *platforms, size_t n)
{
    fake = platforms;
    fake_n = n;
    fake_platforms_error = CL_SUCCESS;
}

/* The loader's entry point: the next definition, or, when the linker left
 * libOpenCL out (--as-needed, nothing else of it referenced), its own. */
static void *real(const char *name)
{
    void *fn = dlsym(RTLD_NEXT, name);
    if (fn == NULL) {
        void *lib = dlopen("libOpenCL.so.1", RTLD_NOW | RTLD_LOCAL);
        fn = lib != NULL ? dlsym(lib, name) : NULL;
    }
    if (fn == NULL) {
        fprintf(stderr, "no real %s: %s\n", name, dlerror());
        abort();
    }
    return fn;
}

/* OpenCL's size-query protocol for one value. */
static cl_int give(const void *value, size_t size, size_t room, void *out, size_t *size_ret)
{
    if (out != NULL && room < size)
        return CL_INVALID_VALUE;
    if (out != NULL)
        memcpy(out, value, size);
    if (size_ret != NULL)
        *size_ret = size;
    return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL clGetPlatformIDs(cl_uint num_entries, cl_platform_id *platforms,
                                                 cl_uint *num_platforms)
{
    if (fake == NULL) {
        cl_int (*fn)(cl_uint, cl_platform_id *, cl_uint *);
        *(void **)&fn = real("clGetPlatformIDs");
        return fn(num_entries, platforms, num_platforms);
    }
    if (fake_platforms_error != CL_SUCCESS)
        return fake_platforms_error;
    for (cl_uint i = 0; platforms != NULL && i < num_entries && i < fake_n; i++)
        platforms[i] = (cl_platform_id)(void *)&fake[i];
    if (num_platforms != NULL)
        *num_platforms = (cl_uint)fake_n;
    return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL clGetPlatformInfo(cl_platform_id platform,
                                                  cl_platform_info param_name,
                                                  size_t param_value_size, void *param_value,
                                                  size_t *param_value_size_ret)
{
    if (fake == NULL) {
        cl_int (*fn)(cl_platform_id, cl_platform_info, size_t, void *, size_t *);
        *(void **)&fn = real("clGetPlatformInfo");
        return fn(platform, param_name, param_value_size, param_value, param_value_size_ret);
    }
    const fake_platform_t *p = (const fake_platform_t *)(void *)platform;
    if (param_name != CL_PLATFORM_NAME)
        return CL_INVALID_VALUE;
    return give(p->name, strlen(p->name) + 1, param_value_size, param_value,
                param_value_size_ret);
}

CL_API_ENTRY cl_int CL_API_CALL clGetDeviceIDs(cl_platform_id platform,
                                               cl_device_type device_type, cl_uint num_entries,
                                               cl_device_id *devices, cl_uint *num_devices)
{
    if (fake == NULL) {
        cl_int (*fn)(cl_platform_id, cl_device_type, cl_uint, cl_device_id *, cl_uint *);
        *(void **)&fn = real("clGetDeviceIDs");
        return fn(platform, device_type, num_entries, devices, num_devices);
    }
    fake_platform_t *p = (fake_platform_t *)(void *)platform;
    ck_assert_uint_eq(device_type, CL_DEVICE_TYPE_ALL);
    if (p->devices_error != CL_SUCCESS)
        return p->devices_error;
    if (p->n == 0)
        return CL_DEVICE_NOT_FOUND;
    for (cl_uint i = 0; devices != NULL && i < num_entries && i < p->n; i++)
        devices[i] = (cl_device_id)(void *)&p->dev[i];
    if (num_devices != NULL)
        *num_devices = (cl_uint)p->n;
    return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL clGetDeviceInfo(cl_device_id device, cl_device_info param_name,
                                                size_t param_value_size, void *param_value,
                                                size_t *param_value_size_ret)
{
    if (fake == NULL) {
        cl_int (*fn)(cl_device_id, cl_device_info, size_t, void *, size_t *);
        *(void **)&fn = real("clGetDeviceInfo");
        return fn(device, param_name, param_value_size, param_value, param_value_size_ret);
    }
    const fake_device_t *d = (const fake_device_t *)(void *)device;
    size_t room = param_value_size;
    void *out = param_value;
    size_t *ret = param_value_size_ret;
    cl_ulong global = (cl_ulong)d->units << 30, alloc = global / 4, local = 32768;
    size_t wgs = 256;
    if (param_name == d->failing_param)
        return CL_OUT_OF_RESOURCES;
    switch (param_name) {
    case CL_DEVICE_NAME: return give(d->name, strlen(d->name) + 1, room, out, ret);
    case CL_DEVICE_VENDOR: return give("Fake vendor", 12, room, out, ret);
    case CL_DRIVER_VERSION: return give("9.9", 4, room, out, ret);
    case CL_DEVICE_VERSION: return give("OpenCL 1.2 fake", 16, room, out, ret);
    case CL_DEVICE_EXTENSIONS:
        return give(d->extensions, strlen(d->extensions) + 1, room, out, ret);
    case CL_DEVICE_TYPE: return give(&d->type, sizeof d->type, room, out, ret);
    case CL_DEVICE_MAX_COMPUTE_UNITS: return give(&d->units, sizeof d->units, room, out, ret);
    case CL_DEVICE_MAX_CLOCK_FREQUENCY: return give(&d->clock, sizeof d->clock, room, out, ret);
    case CL_DEVICE_GLOBAL_MEM_SIZE: return give(&global, sizeof global, room, out, ret);
    case CL_DEVICE_MAX_MEM_ALLOC_SIZE: return give(&alloc, sizeof alloc, room, out, ret);
    case CL_DEVICE_LOCAL_MEM_SIZE: return give(&local, sizeof local, room, out, ret);
    case CL_DEVICE_MAX_WORK_GROUP_SIZE: return give(&wgs, sizeof wgs, room, out, ret);
    case CL_DEVICE_DOUBLE_FP_CONFIG:
        return give(&d->double_config, sizeof d->double_config, room, out, ret);
    default: return CL_INVALID_VALUE;
    }
}

#define FP64_EXT "cl_khr_icd cl_khr_fp64 cl_khr_byte_addressable_store"
#define NO_FP64_EXT "cl_khr_icd xcl_khr_fp64 cl_khr_fp64_emulated cl_khr_fp16"

/* Platform 0: a GPU without fp64 (fastest), a GPU with fp64 through the 1.2
 * double config only, a CPU with fp64 and the largest units x clock.
 * Platform 1: clGetDeviceIDs fails. Platform 2: an accelerator with fp64,
 * exactly as fast as the fp64 GPU. Platform 3: no devices. Tests change
 * their copy, mixed. */
static const fake_platform_t mixed_init[4] = {
    {"Fake GPU platform",
     CL_SUCCESS,
     3,
     {{"Fast GPU   ", CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_DEFAULT, 80, 1500, NO_FP64_EXT, 0, 0},
      {"Double GPU", CL_DEVICE_TYPE_GPU, 40, 1000, "cl_khr_icd", CL_FP_FMA, 0},
      {"Big CPU", CL_DEVICE_TYPE_CPU, 64, 3000, FP64_EXT, 0, 0}}},
    {"Broken platform", CL_INVALID_PLATFORM, 0, {{"", 0, 0, 0, "", 0, 0}}},
    {"Fake accelerator platform",
     CL_SUCCESS,
     1,
     {{"Twin accelerator", CL_DEVICE_TYPE_ACCELERATOR, 20, 2000, FP64_EXT, 0, 0}}},
    {"Empty platform", CL_SUCCESS, 0, {{"", 0, 0, 0, "", 0, 0}}},
};

static fake_platform_t mixed[4];

static void reset(void)
{
    memcpy(mixed, mixed_init, sizeof mixed);
    fake = NULL;
    unsetenv("SYSMAP_DEVICE");
}

/* ---- real devices ------------------------------------------------------- */

static const char *const POCL = "Portable Computing Language";

/* The first PoCL device of the library's list (at least one must exist). */
static sm_device_t pocl_device(void)
{
    sm_device_t *list;
    size_t n;
    ck_assert_int_eq(sm_opencl_devices(&list, &n), SM_OK);
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].platform, POCL) == 0) {
            sm_device_t d = list[i];
            sm_opencl_devices_free(list);
            return d;
        }
    sm_opencl_devices_free(list);
    ck_abort_msg("no PoCL device among %zu devices", n);
    sm_device_t none = {0};
    return none;
}

START_TEST(test_real_devices_match_direct_queries)
{
    cl_uint n_plat = 0;
    ck_assert_int_eq(clGetPlatformIDs(0, NULL, &n_plat), CL_SUCCESS);
    cl_platform_id plats[16];
    ck_assert_uint_le(n_plat, 16);
    ck_assert_int_eq(clGetPlatformIDs(n_plat, plats, NULL), CL_SUCCESS);

    sm_device_t *list;
    size_t n;
    ck_assert_int_eq(sm_opencl_devices(&list, &n), SM_OK);
    size_t k = 0, pocl = 0;
    for (cl_uint p = 0; p < n_plat; p++) {
        char pname[256];
        ck_assert_int_eq(clGetPlatformInfo(plats[p], CL_PLATFORM_NAME, sizeof pname, pname, NULL),
                         CL_SUCCESS);
        cl_device_id ids[16];
        cl_uint nd = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 16, ids, &nd) != CL_SUCCESS)
            continue;
        for (cl_uint d = 0; d < nd; d++, k++) {
            ck_assert_uint_lt(k, n);
            const sm_device_t *got = &list[k];
            char name[256], ext[8192];
            cl_uint units, clock;
            cl_ulong global, alloc;
            cl_device_type type;
            clGetDeviceInfo(ids[d], CL_DEVICE_NAME, sizeof name, name, NULL);
            clGetDeviceInfo(ids[d], CL_DEVICE_EXTENSIONS, sizeof ext, ext, NULL);
            clGetDeviceInfo(ids[d], CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
            clGetDeviceInfo(ids[d], CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof clock, &clock, NULL);
            clGetDeviceInfo(ids[d], CL_DEVICE_GLOBAL_MEM_SIZE, sizeof global, &global, NULL);
            clGetDeviceInfo(ids[d], CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof alloc, &alloc, NULL);
            clGetDeviceInfo(ids[d], CL_DEVICE_TYPE, sizeof type, &type, NULL);
            ck_assert_uint_eq(got->index, k);
            ck_assert_uint_eq(got->platform_index, p);
            ck_assert_uint_eq(got->device_index, d);
            ck_assert_str_eq(got->platform, pname);
            ck_assert_int_eq(strncmp(got->name, name, strlen(got->name)), 0);
            ck_assert_uint_eq(got->compute_units, units);
            ck_assert_uint_eq(got->clock_mhz, clock);
            ck_assert_uint_eq(got->global_mem_bytes, global);
            ck_assert_uint_eq(got->max_alloc_bytes, alloc);
            if (strcmp(pname, POCL) == 0) {
                pocl++;
                ck_assert_uint_eq(type & CL_DEVICE_TYPE_CPU, CL_DEVICE_TYPE_CPU);
                ck_assert_str_eq(sm_device_class_name(got->device_class), "CPU");
                ck_assert_uint_gt(got->compute_units, 0);
                ck_assert_uint_gt(got->global_mem_bytes, 0);
                ck_assert_uint_gt(got->max_alloc_bytes, 0);
                ck_assert_uint_le(got->max_alloc_bytes, got->global_mem_bytes);
                ck_assert_uint_gt(got->local_mem_bytes, 0);
                ck_assert_uint_gt(got->max_work_group_size, 0);
                ck_assert_ptr_nonnull(strstr(ext, "cl_khr_fp64"));
                ck_assert_int_eq(got->fp64, 1);
                ck_assert_int_eq(strncmp(got->version, "OpenCL ", 7), 0);
            }
        }
    }
    ck_assert_uint_eq(k, n);
    ck_assert_uint_ge(pocl, 1);
    sm_opencl_devices_free(list);
}
END_TEST

START_TEST(test_select_by_index_and_pair)
{
    sm_device_t want = pocl_device(), got;
    char spec[32];
    snprintf(spec, sizeof spec, "%u", want.index);
    ck_assert_int_eq(sm_opencl_select(spec, 1, &got), SM_OK);
    ck_assert_uint_eq(got.index, want.index);
    ck_assert_str_eq(got.name, want.name);
    snprintf(spec, sizeof spec, "%u:%u", want.platform_index, want.device_index);
    memset(&got, 0, sizeof got);
    ck_assert_int_eq(sm_opencl_select(spec, 0, &got), SM_OK);
    ck_assert_uint_eq(got.index, want.index);
    ck_assert_str_eq(got.name, want.name);
    ck_assert_uint_eq(got.compute_units, want.compute_units);
}
END_TEST

START_TEST(test_environment_sets_default_and_spec_overrides_it)
{
    sm_device_t want = pocl_device(), got;
    char spec[32];
    snprintf(spec, sizeof spec, "%u:%u", want.platform_index, want.device_index);
    setenv("SYSMAP_DEVICE", spec, 1);
    ck_assert_int_eq(sm_opencl_select(NULL, 1, &got), SM_OK);
    ck_assert_uint_eq(got.index, want.index);

    /* A bad SYSMAP_DEVICE fails, naming the variable... */
    setenv("SYSMAP_DEVICE", "4096", 1);
    ck_assert_int_eq(sm_opencl_select(NULL, 1, &got), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "SYSMAP_DEVICE=4096: device 4096 does not exist"));
    setenv("SYSMAP_DEVICE", "gpu", 1);
    ck_assert_int_eq(sm_opencl_select(NULL, 1, &got), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "SYSMAP_DEVICE=gpu: bad device 'gpu'"));
    /* ...and an explicit spec never looks at it. */
    snprintf(spec, sizeof spec, "%u", want.index);
    ck_assert_int_eq(sm_opencl_select(spec, 1, &got), SM_OK);
    ck_assert_uint_eq(got.index, want.index);

    /* Empty counts as unset: the default rule picks a fp64 device. */
    setenv("SYSMAP_DEVICE", "", 1);
    ck_assert_int_eq(sm_opencl_select(NULL, 1, &got), SM_OK);
    ck_assert_int_eq(got.fp64, 1);
}
END_TEST

START_TEST(test_malformed_specs)
{
    static const char *const bad[] = {"x", "0:", ":0", "-1", "1:2:3", "", " 0", "+0", "0x1",
                                      "1.5", "0 ", "0:0:"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sm_device_t got;
        ck_assert_int_eq(sm_opencl_select(bad[i], 0, &got), SM_EINVAL);
        char want[64];
        snprintf(want, sizeof want, "bad device '%s'", bad[i]);
        const char *msg = sm_last_error();
        ck_assert_msg(strstr(msg, want) != NULL, "spec '%s': %s", bad[i], msg);
        ck_assert_ptr_nonnull(strstr(msg, "device index N"));
        ck_assert_ptr_nonnull(strstr(msg, "platform:device pair P:D"));
    }
}
END_TEST

START_TEST(test_out_of_range_lists_devices)
{
    sm_device_t want = pocl_device(), got;
    char item[300];
    static const char *const specs[] = {"4096", "99999999999999999999999"};
    for (size_t i = 0; i < 2; i++) {
        ck_assert_int_eq(sm_opencl_select(specs[i], 0, &got), SM_EINVAL);
        const char *msg = sm_last_error();
        char head[80];
        snprintf(head, sizeof head, "device %s does not exist; ", specs[i]);
        ck_assert_msg(strncmp(msg, head, strlen(head)) == 0, "%s", msg);
        snprintf(item, sizeof item, "%u = %s (%s)", want.index, want.name, POCL);
        ck_assert_msg(strstr(msg, item) != NULL, "'%s' not in: %s", item, msg);
    }
    ck_assert_int_eq(sm_opencl_select("4096:0", 0, &got), SM_EINVAL);
    snprintf(item, sizeof item, "%u:%u = %s (%s)", want.platform_index, want.device_index,
             want.name, POCL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "device 4096:0 does not exist; "));
    ck_assert_msg(strstr(sm_last_error(), item) != NULL, "%s", sm_last_error());
    snprintf(item, sizeof item, "%u:4096", want.platform_index);
    ck_assert_int_eq(sm_opencl_select(item, 0, &got), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "does not exist"));
}
END_TEST

START_TEST(test_device_ids_of_real_device)
{
    sm_device_t want = pocl_device();
    cl_platform_id plats[16], plat;
    cl_device_id ids[16], dev;
    ck_assert_int_eq(clGetPlatformIDs(16, plats, NULL), CL_SUCCESS);
    ck_assert_int_eq(
        clGetDeviceIDs(plats[want.platform_index], CL_DEVICE_TYPE_ALL, 16, ids, NULL),
        CL_SUCCESS);
    ck_assert_int_eq(sm_cl_device_ids(&want, &plat, &dev), SM_OK);
    ck_assert_ptr_eq(plat, plats[want.platform_index]);
    ck_assert_ptr_eq(dev, ids[want.device_index]);
}
END_TEST

/* ---- fake configurations ------------------------------------------------ */

START_TEST(test_fake_listing_skips_broken_platforms)
{
    use_fake(mixed, 4);
    sm_device_t *list;
    size_t n;
    ck_assert_int_eq(sm_opencl_devices(&list, &n), SM_OK);
    ck_assert_uint_eq(n, 4);
    static const char *const names[] = {"Fast GPU", "Double GPU", "Big CPU", "Twin accelerator"};
    static const char *const types[] = {"GPU", "GPU", "CPU", "accelerator"};
    static const unsigned plat[] = {0, 0, 0, 2}, dev[] = {0, 1, 2, 0};
    static const int fp64[] = {0, 1, 1, 1};
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_eq(list[i].index, i);
        ck_assert_str_eq(list[i].name, names[i]); /* "Fast GPU   " loses its padding */
        ck_assert_str_eq(sm_device_class_name(list[i].device_class), types[i]);
        ck_assert_uint_eq(list[i].platform_index, plat[i]);
        ck_assert_uint_eq(list[i].device_index, dev[i]);
        ck_assert_int_eq(list[i].fp64, fp64[i]);
        ck_assert_str_eq(list[i].vendor, "Fake vendor");
        ck_assert_str_eq(list[i].driver, "9.9");
        ck_assert_str_eq(list[i].version, "OpenCL 1.2 fake");
        ck_assert_uint_eq(list[i].global_mem_bytes, (unsigned long long)list[i].compute_units << 30);
        ck_assert_uint_eq(list[i].max_alloc_bytes, list[i].global_mem_bytes / 4);
        ck_assert_uint_eq(list[i].local_mem_bytes, 32768);
        ck_assert_uint_eq(list[i].max_work_group_size, 256);
    }
    ck_assert_str_eq(list[3].platform, "Fake accelerator platform");
    ck_assert_uint_eq(list[2].compute_units, 64);
    ck_assert_uint_eq(list[2].clock_mhz, 3000);
    sm_opencl_devices_free(list);

    sm_device_t got;
    ck_assert_int_eq(sm_opencl_select("2:0", 1, &got), SM_OK);
    ck_assert_str_eq(got.name, "Twin accelerator");
    ck_assert_int_eq(sm_opencl_select("1:0", 1, &got), SM_EINVAL); /* the skipped platform */
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "device 1:0 does not exist; 4 devices: "
                                                  "0:0 = Fast GPU (Fake GPU platform), 0:1 = "));
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "2:0 = Twin accelerator (Fake accelerator platform)"));
}
END_TEST

START_TEST(test_default_rule)
{
    use_fake(mixed, 4);
    sm_device_t got;
    /* fp64: the GPU and the accelerator tie at 40 x 1000 = 20 x 2000; the
     * lower index wins; the faster CPU comes after both. */
    ck_assert_int_eq(sm_opencl_select(NULL, 1, &got), SM_OK);
    ck_assert_str_eq(got.name, "Double GPU");
    ck_assert_uint_eq(got.index, 1);
    /* Without fp64 the fastest GPU. */
    ck_assert_int_eq(sm_opencl_select(NULL, 0, &got), SM_OK);
    ck_assert_str_eq(got.name, "Fast GPU");
    /* Only CPUs with fp64: the most units x clock (64 x 3000 > 40 x 1000
     * once the GPU is a CPU too). */
    mixed[0].dev[1].type = CL_DEVICE_TYPE_CPU;
    mixed[2].dev[0].type = CL_DEVICE_TYPE_CPU;
    ck_assert_int_eq(sm_opencl_select(NULL, 1, &got), SM_OK);
    ck_assert_str_eq(got.name, "Big CPU");
}
END_TEST

START_TEST(test_fp64_missing)
{
    use_fake(mixed, 4);
    sm_device_t got;
    ck_assert_int_eq(sm_opencl_select("0", 1, &got), SM_EDEVICE);
    ck_assert_str_eq(sm_last_error(), "device 0 (Fast GPU) has no fp64 support (cl_khr_fp64); "
                                      "use precision fp32 or another device");
    setenv("SYSMAP_DEVICE", "0:0", 1);
    ck_assert_int_eq(sm_opencl_select(NULL, 1, &got), SM_EDEVICE);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "SYSMAP_DEVICE=0:0: device 0:0 (Fast GPU) has "
                                                  "no fp64 support"));
    ck_assert_int_eq(sm_opencl_select("0", 0, &got), SM_OK);
    ck_assert_int_eq(got.fp64, 0);

    /* No fp64 device at all. */
    unsetenv("SYSMAP_DEVICE");
    use_fake(mixed, 1);
    mixed[0].dev[1].double_config = 0;
    mixed[0].dev[2].extensions = NO_FP64_EXT;
    ck_assert_int_eq(sm_opencl_select(NULL, 1, &got), SM_EDEVICE);
    ck_assert_str_eq(sm_last_error(), "none of the 3 OpenCL device(s) has fp64 support "
                                      "(cl_khr_fp64); use precision fp32 or install a driver "
                                      "for a device with fp64");
    ck_assert_int_eq(sm_opencl_select(NULL, 0, &got), SM_OK);
    ck_assert_str_eq(got.name, "Fast GPU");
}
END_TEST

START_TEST(test_no_device_on_any_platform)
{
    /* The broken platform and the empty one: nothing to list. */
    use_fake(mixed + 1, 1);
    sm_device_t *list = NULL;
    size_t n = 7;
    ck_assert_int_eq(sm_opencl_devices(&list, &n), SM_EDEVICE);
    ck_assert_str_eq(sm_last_error(), "no OpenCL device found on 1 platform(s): platform 0 "
                                      "(Broken platform): clGetDeviceIDs failed "
                                      "(CL_INVALID_PLATFORM)");
    ck_assert_ptr_null(list);
    ck_assert_uint_eq(n, 0);
    use_fake(mixed + 3, 1);
    ck_assert_int_eq(sm_opencl_devices(&list, &n), SM_EDEVICE);
    ck_assert_str_eq(sm_last_error(), "no OpenCL device found on 1 platform(s)");

    /* A device whose query fails takes its platform out. */
    use_fake(mixed, 1);
    mixed[0].dev[2].failing_param = CL_DEVICE_MAX_CLOCK_FREQUENCY;
    ck_assert_int_eq(sm_opencl_devices(&list, &n), SM_EDEVICE);
    ck_assert_str_eq(sm_last_error(), "no OpenCL device found on 1 platform(s): platform 0 "
                                      "(Fake GPU platform) device 2: "
                                      "CL_DEVICE_MAX_CLOCK_FREQUENCY failed "
                                      "(CL_OUT_OF_RESOURCES)");
    /* ...while the other platforms stay usable, at their own P. */
    use_fake(mixed, 3);
    ck_assert_int_eq(sm_opencl_devices(&list, &n), SM_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(list[0].name, "Twin accelerator");
    ck_assert_uint_eq(list[0].index, 0);
    ck_assert_uint_eq(list[0].platform_index, 2);
    sm_opencl_devices_free(list);
    /* A device without the (pre-1.2) double config query is just no fp64. */
    mixed[0].dev[2].failing_param = CL_DEVICE_DOUBLE_FP_CONFIG;
    mixed[0].dev[2].extensions = NO_FP64_EXT;
    ck_assert_int_eq(sm_opencl_devices(&list, &n), SM_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(list[2].fp64, 0);
    sm_opencl_devices_free(list);
}
END_TEST

START_TEST(test_platform_query_failures)
{
    use_fake(mixed, 4);
    sm_device_t *list = NULL;
    size_t n;
    fake_platforms_error = CL_PLATFORM_NOT_FOUND_KHR;
    ck_assert_int_eq(sm_opencl_devices(&list, &n), SM_EDEVICE);
    ck_assert_str_eq(sm_last_error(), "no OpenCL platform found: install an OpenCL driver (ICD), "
                                      "e.g. Debian's pocl-opencl-icd for the CPU");
    fake_platforms_error = CL_OUT_OF_HOST_MEMORY;
    ck_assert_int_eq(sm_opencl_devices(&list, &n), SM_EDEVICE);
    ck_assert_str_eq(sm_last_error(), "clGetPlatformIDs failed (CL_OUT_OF_HOST_MEMORY)");
    use_fake(mixed, 0);
    ck_assert_int_eq(sm_opencl_devices(&list, &n), SM_EDEVICE);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "no OpenCL platform found"));
    sm_device_t got;
    ck_assert_int_eq(sm_opencl_select("0", 0, &got), SM_EDEVICE);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "no OpenCL platform found"));
}
END_TEST

START_TEST(test_long_names_cut_on_character_boundary)
{
    use_fake(mixed, 1);
    /* 126 'a', then e-acute (2 bytes): byte 127, the last that fits before
     * the NUL, is its first half, so the whole character goes. */
    memset(mixed[0].dev[0].name, 'a', 126);
    strcpy(mixed[0].dev[0].name + 126, "\xc3\xa9 and more text");
    memset(mixed[0].dev[1].name, 'b', 250);
    mixed[0].dev[1].name[250] = '\0';
    sm_device_t *list;
    size_t n;
    ck_assert_int_eq(sm_opencl_devices(&list, &n), SM_OK);
    ck_assert_uint_eq(strlen(list[0].name), 126);
    ck_assert_int_eq(strspn(list[0].name, "a"), 126);
    ck_assert_uint_eq(strlen(list[1].name), sizeof list[1].name - 1);
    ck_assert_int_eq(strspn(list[1].name, "b"), sizeof list[1].name - 1);
    sm_opencl_devices_free(list);
    /* The cut names still find their device again. */
    sm_device_t got;
    cl_platform_id plat;
    cl_device_id dev;
    ck_assert_int_eq(sm_opencl_select("1", 1, &got), SM_OK);
    ck_assert_int_eq(sm_cl_device_ids(&got, &plat, &dev), SM_OK);
    ck_assert_ptr_eq(plat, (cl_platform_id)(void *)&mixed[0]);
    ck_assert_ptr_eq(dev, (cl_device_id)(void *)&mixed[0].dev[1]);
}
END_TEST

START_TEST(test_device_ids_notice_changes)
{
    use_fake(mixed, 4);
    sm_device_t got;
    cl_platform_id plat;
    cl_device_id dev;
    ck_assert_int_eq(sm_opencl_select("3", 1, &got), SM_OK);
    ck_assert_int_eq(sm_cl_device_ids(&got, &plat, &dev), SM_OK);
    ck_assert_ptr_eq(plat, (cl_platform_id)(void *)&mixed[2]);
    ck_assert_ptr_eq(dev, (cl_device_id)(void *)&mixed[2].dev[0]);

    strcpy(mixed[2].dev[0].name, "Other accelerator");
    ck_assert_int_eq(sm_cl_device_ids(&got, &plat, &dev), SM_EDEVICE);
    ck_assert_str_eq(sm_last_error(), "OpenCL device 3 (Twin accelerator) is gone: platform 2 "
                                      "now has 1 device(s), device Other accelerator in its place");
    mixed[2].n = 0;
    ck_assert_int_eq(sm_cl_device_ids(&got, &plat, &dev), SM_EDEVICE);
    ck_assert_str_eq(sm_last_error(), "OpenCL device 3 (Twin accelerator) is gone: platform 2 "
                                      "now has 0 device(s)");
    use_fake(mixed, 2);
    ck_assert_int_eq(sm_cl_device_ids(&got, &plat, &dev), SM_EDEVICE);
    ck_assert_str_eq(sm_last_error(), "OpenCL device 3 (Twin accelerator) is gone: platform 2 "
                                      "no longer exists (2 platform(s))");
    use_fake(mixed, 2);
    got.platform_index = 1;
    ck_assert_int_eq(sm_cl_device_ids(&got, &plat, &dev), SM_EDEVICE);
    ck_assert_str_eq(sm_last_error(), "OpenCL device 3 (Twin accelerator): clGetDeviceIDs on "
                                      "platform 1 failed (CL_INVALID_PLATFORM)");
    fake_platforms_error = CL_PLATFORM_NOT_FOUND_KHR;
    ck_assert_int_eq(sm_cl_device_ids(&got, &plat, &dev), SM_EDEVICE);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "OpenCL device 3 (Twin accelerator): no "
                                                  "OpenCL platform found"));
}
END_TEST

/* ---- no platform through the real loader -------------------------------- */

#define CHILD_FLAG "--list-devices-into"

/* The child: sm_opencl_devices' status and message, written to path. */
static int list_devices_into(const char *path)
{
    sm_device_t *list;
    size_t n;
    sm_status st = sm_opencl_devices(&list, &n);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return 2;
    fprintf(f, "%d\n%s", (int)st, st == SM_OK ? "" : sm_last_error());
    fclose(f);
    if (st == SM_OK)
        sm_opencl_devices_free(list);
    return 0;
}

START_TEST(test_no_platform_with_empty_vendor_directory)
{
    char text[1024];
    sm_test_rerun_without_opencl(CHILD_FLAG, text, sizeof text);
    int status = -1, at = 0;
    ck_assert_int_eq(sscanf(text, "%d\n%n", &status, &at), 1);
    ck_assert_int_eq(status, SM_EDEVICE);
    ck_assert_str_eq(text + at, "no OpenCL platform found: install an OpenCL driver (ICD), e.g. "
                                "Debian's pocl-opencl-icd for the CPU");
}
END_TEST

/* ---- error names --------------------------------------------------------- */

START_TEST(test_error_names)
{
    /* Codes as the OpenCL 1.2 specification numbers them. */
    static const struct {
        cl_int code;
        const char *name;
    } known[] = {
        {0, "CL_SUCCESS"},
        {-1, "CL_DEVICE_NOT_FOUND"},
        {-4, "CL_MEM_OBJECT_ALLOCATION_FAILURE"},
        {-5, "CL_OUT_OF_RESOURCES"},
        {-6, "CL_OUT_OF_HOST_MEMORY"},
        {-11, "CL_BUILD_PROGRAM_FAILURE"},
        {-19, "CL_KERNEL_ARG_INFO_NOT_AVAILABLE"},
        {-30, "CL_INVALID_VALUE"},
        {-33, "CL_INVALID_DEVICE"},
        {-36, "CL_INVALID_COMMAND_QUEUE"},
        {-38, "CL_INVALID_MEM_OBJECT"},
        {-45, "CL_INVALID_PROGRAM_EXECUTABLE"},
        {-52, "CL_INVALID_KERNEL_ARGS"},
        {-54, "CL_INVALID_WORK_GROUP_SIZE"},
        {-61, "CL_INVALID_BUFFER_SIZE"},
        {-63, "CL_INVALID_GLOBAL_WORK_SIZE"},
        {-68, "CL_INVALID_DEVICE_PARTITION_COUNT"},
        {-1001, "CL_PLATFORM_NOT_FOUND_KHR"},
    };
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        ck_assert_str_eq(sm_cl_error_name(known[i].code), known[i].name);
    /* Every standard code has a name. */
    for (cl_int code = 0; code >= -68; code--) {
        int standard = code >= -19 || code <= -30;
        const char *name = sm_cl_error_name(code);
        ck_assert_msg((strncmp(name, "CL_", 3) == 0) == standard, "%d -> %s", code, name);
    }
    ck_assert_str_eq(sm_cl_error_name(-20), "unknown OpenCL error -20");
    ck_assert_str_eq(sm_cl_error_name(-69), "unknown OpenCL error -69");
    ck_assert_str_eq(sm_cl_error_name(-9999), "unknown OpenCL error -9999");
    ck_assert_str_eq(sm_cl_error_name(7), "unknown OpenCL error 7");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("opencl_devices");
    TCase *real_tc = tcase_create("real");
    tcase_add_checked_fixture(real_tc, reset, reset);
    tcase_add_test(real_tc, test_real_devices_match_direct_queries);
    tcase_add_test(real_tc, test_select_by_index_and_pair);
    tcase_add_test(real_tc, test_environment_sets_default_and_spec_overrides_it);
    tcase_add_test(real_tc, test_malformed_specs);
    tcase_add_test(real_tc, test_out_of_range_lists_devices);
    tcase_add_test(real_tc, test_device_ids_of_real_device);
    tcase_add_test(real_tc, test_no_platform_with_empty_vendor_directory);
    tcase_add_test(real_tc, test_error_names);
    suite_add_tcase(s, real_tc);
    TCase *fake_tc = tcase_create("fake");
    tcase_add_checked_fixture(fake_tc, reset, reset);
    tcase_add_test(fake_tc, test_fake_listing_skips_broken_platforms);
    tcase_add_test(fake_tc, test_default_rule);
    tcase_add_test(fake_tc, test_fp64_missing);
    tcase_add_test(fake_tc, test_no_device_on_any_platform);
    tcase_add_test(fake_tc, test_platform_query_failures);
    tcase_add_test(fake_tc, test_long_names_cut_on_character_boundary);
    tcase_add_test(fake_tc, test_device_ids_notice_changes);
    suite_add_tcase(s, fake_tc);
    return s;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], CHILD_FLAG) == 0)
        return list_devices_into(argv[2]);
    return sm_test_run(suite());
}
