/* The tuning database (lib/backends/opencl/tuning_db.c) and the order in
 * which the OpenCL backend takes its launch shape: $SYSMAP_OPENCL_TUNING,
 * then the database entry, then a shipped default, then the heuristic. No
 * device is needed: the devices here are descriptions, and nothing is
 * timed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "testutil.h"
#include "tuning.h"
#include "tuning_db.h"

static const sm_device_t pocl = {.platform = "Portable Computing Language",
                                  .name = "pthread-cpu",
                                  .vendor = "v",
                                  .driver = "3.1",
                                  .device_class = SM_DEVICE_CPU};
static const sm_device_t intel = {.platform = "Intel(R) OpenCL",
                                   .name = "cpu",
                                   .vendor = "Intel(R) Corporation",
                                   .driver = "2026.22",
                                   .device_class = SM_DEVICE_CPU};
static const sm_device_t other = {.platform = "Some Runtime",
                                   .name = "cpu",
                                   .vendor = "v",
                                   .driver = "1.0",
                                   .device_class = SM_DEVICE_CPU};

/* A fresh cache directory of this test's own (mode 0700, as the cache
 * requires), with no override in the environment. */
static const char *fresh_cache(const char *name)
{
    const char *dir = sm_test_tmp_path(name);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    setenv("SYSMAP_CACHE_DIR", dir, 1);
    unsetenv(SM_CL_TUNING_ENV);
    return dir;
}

static void db_file(const char *dir, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", dir, SM_CL_TUNING_DB_FILE);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_ge(fputs(text, f), 0);
    ck_assert_int_eq(fclose(f), 0);
}

static void today(char out[16])
{
    time_t now = time(NULL);
    struct tm tm;
    strftime(out, 16, "%Y-%m-%d", gmtime_r(&now, &tm));
}

START_TEST(key_names_device_driver_precision_kernel)
{
    char k64[SM_CL_TUNING_KEY_MAX], k32[SM_CL_TUNING_KEY_MAX], k_other[SM_CL_TUNING_KEY_MAX];
    sm_device_t piped = pocl;
    snprintf(piped.name, sizeof piped.name, "a|b\tc");
    sm_cl_tuning_key(&pocl, 0, k64);
    sm_cl_tuning_key(&pocl, 1, k32);
    sm_cl_tuning_key(&piped, 0, k_other);
    ck_assert_ptr_nonnull(strstr(k64, "Portable Computing Language|pthread-cpu|3.1|fp64|"));
    ck_assert_ptr_nonnull(strstr(k32, "|fp32|"));
    /* 16 hex digits of the kernel hash end the key */
    ck_assert_uint_eq(strlen(strrchr(k64, '|') + 1), 16);
    ck_assert_ptr_nonnull(strstr(k_other, "|a_b_c|"));
}
END_TEST

START_TEST(store_find_replace)
{
    fresh_cache("db_roundtrip");
    sm_cl_tuned_t got;
    char warning[256], date[16];
    ck_assert_int_eq(sm_cl_tuning_db_find("k1", &got, warning, sizeof warning), 0);
    ck_assert_str_eq(warning, "");
    ck_assert_int_eq(sm_cl_tuning_db_store("k1", "wgs=4,wpt=8"), SM_OK);
    ck_assert_int_eq(sm_cl_tuning_db_store("k2", "wgs=16"), SM_OK);
    ck_assert_int_eq(sm_cl_tuning_db_store("k1", "wgs=2,wpt=32"), SM_OK);
    ck_assert_int_eq(sm_cl_tuning_db_find("k1", &got, warning, sizeof warning), 1);
    ck_assert_str_eq(got.shape, "wgs=2,wpt=32");
    today(date);
    ck_assert_str_eq(got.date, date);
    ck_assert_int_eq(sm_cl_tuning_db_find("k2", &got, warning, sizeof warning), 1);
    ck_assert_str_eq(got.shape, "wgs=16");
    ck_assert_int_eq(sm_cl_tuning_db_find("k", &got, warning, sizeof warning), 0);
    ck_assert_int_eq(sm_cl_tuning_db_store("k3", "wgs=4;rm"), SM_EINVAL);
}
END_TEST

/* A damaged file is ignored with a warning naming it and its first bad
 * line, and the next store replaces it. */
START_TEST(corrupt_file_warns_and_is_replaced)
{
    static const char *const damaged[] = {
        "k1\t2026-01-02\twgs=4\ngarbage\n",      /* no fields */
        "k1\t2026-01-02\twgs=4\nk2\t2026-01-02\twgs=4",   /* cut before its newline */
        "k1\t2026-1-2\twgs=4\n",                  /* bad date */
        "k1\t2026-01-02\twgs=4 ; x\n",            /* bad shape characters */
        "\t2026-01-02\twgs=4\n",                  /* empty key */
    };
    static const size_t bad_line[] = {2, 2, 1, 1, 1};
    for (size_t i = 0; i < sizeof damaged / sizeof *damaged; i++) {
        char name[32], path[512], warning[256], want[64];
        snprintf(name, sizeof name, "db_corrupt_%zu", i);
        const char *dir = fresh_cache(name);
        db_file(dir, path, sizeof path);
        write_text(path, damaged[i]);
        sm_cl_tuned_t got;
        ck_assert_int_eq(sm_cl_tuning_db_find("k1", &got, warning, sizeof warning), 0);
        snprintf(want, sizeof want, "(line %zu)", bad_line[i]);
        ck_assert_msg(strstr(warning, "corrupt tuning database") && strstr(warning, path) &&
                          strstr(warning, want),
                      "case %zu: %s", i, warning);
        ck_assert_int_eq(sm_cl_tuning_db_store("k2", "wpt=2"), SM_OK);
        ck_assert_int_eq(sm_cl_tuning_db_find("k2", &got, warning, sizeof warning), 1);
        ck_assert_str_eq(warning, "");
        ck_assert_int_eq(sm_cl_tuning_db_find("k1", &got, warning, sizeof warning), 0);
    }
}
END_TEST

START_TEST(store_without_cache_dir_fails)
{
    const char *dir = fresh_cache("db_nodir");
    char blocker[512];
    snprintf(blocker, sizeof blocker, "%s/file", dir);
    write_text(blocker, "x");
    setenv("SYSMAP_CACHE_DIR", blocker, 1); /* a file: no directory can be made there */
    ck_assert_int_eq(sm_cl_tuning_db_store("k", "wpt=2"), SM_EIO);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "no usable cache directory"));
}
END_TEST

START_TEST(precedence_env_db_shipped_heuristic)
{
    const char *dir = fresh_cache("precedence");
    sm_cl_tuning_t t;
    /* heuristic for an unknown runtime, shipped default for PoCL */
    ck_assert_int_eq(sm_cl_tuning(&other, 0, &t), SM_OK);
    ck_assert_str_eq(t.source, "heuristic");
    ck_assert_int_eq(sm_cl_tuning(&pocl, 0, &t), SM_OK);
    ck_assert_str_eq(t.source, "shipped default");
    ck_assert_uint_eq(t.wgs, 8);
    ck_assert_uint_eq(t.wpt, 16);
    /* Intel's runtime: its own row, vw 16 where the runtime prefers 1 */
    ck_assert_int_eq(sm_cl_tuning(&intel, 0, &t), SM_OK);
    ck_assert_str_eq(t.source, "shipped default");
    ck_assert_uint_eq(t.vw, 16);
    ck_assert_uint_eq(t.wgs, 1);
    ck_assert_uint_eq(t.wpt, 32);
    /* a tuned entry for fp64 only; its keys fit the problem like defaults */
    ck_assert_int_eq(sm_opencl_tuning_store(&pocl, "fp64", "wgs=2,wpt=4,ppi=64"), SM_OK);
    ck_assert_int_eq(sm_cl_tuning(&pocl, 0, &t), SM_OK);
    char want[32], date[16];
    today(date);
    snprintf(want, sizeof want, "tuned %s", date);
    ck_assert_str_eq(t.source, want);
    ck_assert_uint_eq(t.wgs, 2);
    ck_assert_uint_eq(t.wpt, 4);
    ck_assert_uint_eq(t.ppi, 64);
    ck_assert_uint_eq(t.groups_per_cu, 8); /* not tuned: the shipped value */
    ck_assert_uint_eq(t.given, 0);
    ck_assert_int_eq(sm_cl_tuning(&pocl, 1, &t), SM_OK);
    ck_assert_str_eq(t.source, "shipped default");
    /* the environment on top of the entry */
    setenv(SM_CL_TUNING_ENV, "wpt=32", 1);
    ck_assert_int_eq(sm_cl_tuning(&pocl, 0, &t), SM_OK);
    ck_assert_str_eq(t.source, "env");
    ck_assert_uint_eq(t.wpt, 32);
    ck_assert_uint_eq(t.wgs, 2);
    unsetenv(SM_CL_TUNING_ENV);
    /* the public view of the same */
    sm_opencl_tuning_t pub;
    ck_assert_int_eq(sm_opencl_tuning(&pocl, "fp64", &pub), SM_OK);
    ck_assert_str_eq(pub.shape, "wgs=2,wpt=4,ppi=64,gpc=8,wl=1");
    ck_assert_str_eq(pub.source, want);
    ck_assert_int_eq(sm_opencl_tuning(&pocl, "fp16", &pub), SM_EINVAL);
    ck_assert_int_eq(sm_opencl_tuning_store(&pocl, "fp64", "wgs=3"), SM_EINVAL);
    /* an entry whose values are out of range is skipped with a warning */
    char key[SM_CL_TUNING_KEY_MAX], path[512], text[1024];
    sm_cl_tuning_key(&pocl, 0, key);
    db_file(dir, path, sizeof path);
    snprintf(text, sizeof text, "%s\t2026-01-02\twgs=3\n", key);
    write_text(path, text);
    ck_assert_int_eq(sm_cl_tuning(&pocl, 0, &t), SM_OK);
    ck_assert_str_eq(t.source, "shipped default");
    ck_assert_uint_eq(t.wgs, 8);
    ck_assert_ptr_nonnull(strstr(t.warning, "tuning database entry 'wgs=3': bad value for wgs"));
    /* and a corrupt file likewise */
    write_text(path, "nonsense");
    ck_assert_int_eq(sm_cl_tuning(&pocl, 0, &t), SM_OK);
    ck_assert_str_eq(t.source, "shipped default");
    ck_assert_ptr_nonnull(strstr(t.warning, "corrupt tuning database"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("opencl_tuning");
    TCase *tc = tcase_create("tuning");
    tcase_add_test(tc, key_names_device_driver_precision_kernel);
    tcase_add_test(tc, store_find_replace);
    tcase_add_test(tc, corrupt_file_warns_and_is_replaced);
    tcase_add_test(tc, store_without_cache_dir_fails);
    tcase_add_test(tc, precedence_env_db_shipped_heuristic);
    suite_add_tcase(s, tc);
    return sm_test_run(s);
}
