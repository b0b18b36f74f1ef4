/* The backend registry and the throughput measure: the table and its
 * lookups, device lists against the OpenCL backend's own, every backend
 * opened by name and device with the same log-probs, "auto" with and
 * without an OpenCL platform, the error paths, and the throughput's
 * bookkeeping (never its speed). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sysmap/backend.h"
#include "sysmap/opencl.h"
#include "sysmap/reference.h"
#include "sysmap/registry.h"
#include "testutil.h"

#define N_SYS 3
#define N_PIX 1003
#define N_WALKERS 6

static const double truth_a[N_SYS] = {0.02, -0.01, 0.015}, truth_b[N_SYS] = {0.05, 0.0, -0.03};

START_TEST(test_table_and_lookup)
{
    const sm_backend_info_t *ref = sm_backend_info(0), *cl = sm_backend_info(1);
    ck_assert_ptr_nonnull(ref);
    ck_assert_ptr_nonnull(cl);
    ck_assert_ptr_null(sm_backend_info(2));
    ck_assert_str_eq(ref->name, "reference");
    ck_assert_ptr_null(ref->devices);
    ck_assert_ptr_null(ref->default_device);
    ck_assert_int_eq(ref->fp32, 0);
    ck_assert_str_eq(cl->name, "opencl");
    ck_assert_ptr_nonnull(cl->devices);
    ck_assert_ptr_nonnull(cl->default_device);
    ck_assert_int_eq(cl->fp32, 1);
    const sm_backend_info_t *found;
    ck_assert_int_eq(sm_backend_find("opencl", &found), SM_OK);
    ck_assert_ptr_eq(found, cl);
    ck_assert_int_eq(sm_backend_find("reference", &found), SM_OK);
    ck_assert_ptr_eq(found, ref);
    ck_assert_int_eq(sm_backend_resolve("reference", "0", &found), SM_OK);
    ck_assert_ptr_eq(found, ref);
    /* This machine has PoCL: auto takes OpenCL, with or without a device. */
    ck_assert_int_eq(sm_backend_resolve("auto", NULL, &found), SM_OK);
    ck_assert_ptr_eq(found, cl);
    ck_assert_int_eq(sm_backend_resolve(NULL, "0", &found), SM_OK);
    ck_assert_ptr_eq(found, cl);

    ck_assert_str_eq(sm_device_class_name(SM_DEVICE_CPU), "CPU");
    ck_assert_str_eq(sm_device_class_name(SM_DEVICE_GPU), "GPU");
    ck_assert_str_eq(sm_device_class_name(SM_DEVICE_ACCELERATOR), "accelerator");
    ck_assert_str_eq(sm_device_class_name(SM_DEVICE_OTHER), "other");
    ck_assert_str_eq(sm_device_class_name((sm_device_class)99), "other");
}
END_TEST

START_TEST(test_unknown_backend)
{
    const sm_backend_info_t *found = sm_backend_info(0);
    ck_assert_int_eq(sm_backend_find("cuda", &found), SM_EINVAL);
    ck_assert_ptr_null(found);
    ck_assert_str_eq(sm_last_error(), "unknown backend 'cuda' (available: auto, reference, "
                                      "opencl)");
    ck_assert_int_eq(sm_backend_find(NULL, &found), SM_EINVAL);
    ck_assert_str_eq(sm_last_error(), "unknown backend '(null)' (available: auto, reference, "
                                      "opencl)");
    ck_assert_int_eq(sm_backend_resolve("auto2", NULL, &found), SM_EINVAL);
    ck_assert_str_eq(sm_last_error(), "unknown backend 'auto2' (available: auto, reference, "
                                      "opencl)");
    sm_device_t *list = (sm_device_t *)1;
    size_t n = 7;
    ck_assert_int_eq(sm_devices("cuda", &list, &n), SM_EINVAL);
    ck_assert_ptr_null(list);
    ck_assert_uint_eq(n, 0);
    sm_device_t dev;
    ck_assert_int_eq(sm_device_default("cuda", NULL, 1, &dev), SM_EINVAL);
    ck_assert_str_eq(sm_last_error(), "unknown backend 'cuda' (available: auto, reference, "
                                      "opencl)");

    sm_data_t *data = sm_test_make_map(10, N_SYS, truth_a, truth_b, 3);
    sm_model_t m = SM_MODEL_INIT(SM_MODEL_COMBINED, 0, N_SYS, SM_MODEL_SIGMA_MIN_DEFAULT);
    sm_backend_t *be = (sm_backend_t *)1;
    ck_assert_int_eq(sm_backend_open(&be, "cuda", NULL, NULL, data, &m), SM_EINVAL);
    ck_assert_ptr_null(be);
    ck_assert_str_eq(sm_last_error(), "unknown backend 'cuda' (available: auto, reference, "
                                      "opencl)");
    sm_data_free(data);
}
END_TEST

static void assert_same_device(const sm_device_t *a, const sm_device_t *b)
{
    ck_assert_str_eq(a->backend, b->backend);
    ck_assert_uint_eq(a->index, b->index);
    ck_assert_uint_eq(a->platform_index, b->platform_index);
    ck_assert_uint_eq(a->device_index, b->device_index);
    ck_assert_str_eq(a->platform, b->platform);
    ck_assert_str_eq(a->name, b->name);
    ck_assert_str_eq(a->driver, b->driver);
    ck_assert_str_eq(a->version, b->version);
    ck_assert_int_eq(a->device_class, b->device_class);
    ck_assert_uint_eq(a->compute_units, b->compute_units);
    ck_assert_uint_eq(a->global_mem_bytes, b->global_mem_bytes);
    ck_assert_int_eq(a->fp64, b->fp64);
}

/* The registry's list is the OpenCL backend's, record for record. */
START_TEST(test_devices_are_the_backends_own)
{
    sm_device_t *all, *cl, *direct;
    size_t n_all, n_cl, n_direct;
    ck_assert_int_eq(sm_opencl_devices(&direct, &n_direct), SM_OK);
    ck_assert_int_eq(sm_devices(NULL, &all, &n_all), SM_OK);
    ck_assert_int_eq(sm_devices("opencl", &cl, &n_cl), SM_OK);
    ck_assert_uint_gt(n_direct, 0);
    ck_assert_uint_eq(n_all, n_direct);
    ck_assert_uint_eq(n_cl, n_direct);
    int pocl = 0;
    for (size_t i = 0; i < n_direct; i++) {
        assert_same_device(&all[i], &direct[i]);
        assert_same_device(&cl[i], &direct[i]);
        ck_assert_str_eq(all[i].backend, "opencl");
        ck_assert_uint_eq(all[i].index, i);
        pocl += strcmp(all[i].platform, "Portable Computing Language") == 0 &&
                all[i].device_class == SM_DEVICE_CPU;
    }
    ck_assert_int_ge(pocl, 1);
    sm_devices_free(all);
    sm_devices_free(cl);
    sm_opencl_devices_free(direct);

    sm_device_t chosen, direct_choice;
    ck_assert_int_eq(sm_device_default("opencl", NULL, 1, &chosen), SM_OK);
    ck_assert_int_eq(sm_opencl_select(NULL, 1, &direct_choice), SM_OK);
    assert_same_device(&chosen, &direct_choice);
    ck_assert(chosen.fp64);

    sm_device_t *none = (sm_device_t *)1;
    size_t n = 3;
    ck_assert_int_eq(sm_devices("reference", &none, &n), SM_EDEVICE);
    ck_assert_ptr_null(none);
    ck_assert_uint_eq(n, 0);
    ck_assert_str_eq(sm_last_error(), "the reference backend has no devices to choose from");
    ck_assert_int_eq(sm_device_default("reference", NULL, 1, &chosen), SM_EINVAL);
    ck_assert_str_eq(sm_last_error(), "the reference backend has no devices to choose from");
    sm_devices_free(NULL);
}
END_TEST

/* Every backend by name (and each OpenCL fp64 device by index and by
 * P:D) gives the reference's log-probs: bit for bit for the reference
 * itself, within 1e-12 relative for OpenCL fp64. */
START_TEST(test_open_each_backend_and_device)
{
    sm_data_t *data = sm_test_make_map(N_PIX, N_SYS, truth_a, truth_b, 11);
    sm_model_t m = SM_MODEL_INIT(SM_MODEL_COMBINED, 1, N_SYS, SM_MODEL_SIGMA_MIN_DEFAULT);
    double p[N_WALKERS * 16], truth[N_WALKERS], lp[N_WALKERS];
    sm_test_walkers(&m, N_WALKERS, 5, 4, p);
    sm_backend_t *direct, *be;
    ck_assert_int_eq(sm_reference_create(&direct, data, &m), SM_OK);
    ck_assert_int_eq(sm_backend_log_prob(direct, N_WALKERS, p, truth), SM_OK);
    sm_backend_free(direct);
    ck_assert(isinf(truth[4]) && truth[4] < 0);
    ck_assert(isfinite(truth[0]) && isfinite(truth[1]));

    ck_assert_int_eq(sm_backend_open(&be, "reference", NULL, "fp64", data, &m), SM_OK);
    ck_assert_int_eq(sm_backend_log_prob(be, N_WALKERS, p, lp), SM_OK);
    ck_assert_int_eq(memcmp(lp, truth, sizeof lp), 0);
    ck_assert_str_eq(sm_backend_name(be), "reference");
    sm_backend_free(be);

    sm_device_t *devs;
    size_t n_dev, opened = 0;
    ck_assert_int_eq(sm_devices("opencl", &devs, &n_dev), SM_OK);
    for (size_t i = 0; i < n_dev; i++) {
        if (!devs[i].fp64)
            continue;
        char specs[2][32];
        snprintf(specs[0], sizeof specs[0], "%u", devs[i].index);
        snprintf(specs[1], sizeof specs[1], "%u:%u", devs[i].platform_index,
                 devs[i].device_index);
        for (int s = 0; s < 2; s++) {
            ck_assert_msg(sm_backend_open(&be, "opencl", specs[s], "fp64", data, &m) == SM_OK,
                          "%s", sm_last_error());
            ck_assert_str_eq(sm_backend_name(be), "opencl");
            ck_assert_str_eq(sm_backend_precision(be), "fp64");
            ck_assert_int_eq(sm_backend_log_prob(be, N_WALKERS, p, lp), SM_OK);
            for (size_t w = 0; w < N_WALKERS; w++) {
                if (isfinite(truth[w]))
                    ck_assert_close(lp[w], truth[w], 1e-12, 0.0);
                else
                    ck_assert(lp[w] == truth[w]);
            }
            sm_backend_free(be);
            opened++;
        }
    }
    sm_devices_free(devs);
    ck_assert_uint_ge(opened, 2);
    sm_data_free(data);
}
END_TEST

START_TEST(test_open_errors)
{
    sm_data_t *data = sm_test_make_map(10, N_SYS, truth_a, truth_b, 3);
    sm_model_t m = SM_MODEL_INIT(SM_MODEL_COMBINED, 0, N_SYS, SM_MODEL_SIGMA_MIN_DEFAULT);
    sm_backend_t *be = (sm_backend_t *)1;
    ck_assert_int_eq(sm_backend_open(&be, "reference", NULL, "fp32", data, &m), SM_EINVAL);
    ck_assert_ptr_null(be);
    ck_assert_str_eq(sm_last_error(), "the reference backend computes in fp64 only (got "
                                      "precision 'fp32')");
    ck_assert_int_eq(sm_backend_open(&be, "reference", "0", NULL, data, &m), SM_EINVAL);
    ck_assert_str_eq(sm_last_error(), "the reference backend has no devices to choose from "
                                      "(got device '0')");
    ck_assert_int_eq(sm_backend_open(&be, "opencl", "4096", "fp64", data, &m), SM_EINVAL);
    ck_assert_ptr_null(be);
    ck_assert_msg(strncmp(sm_last_error(), "device 4096 does not exist; ", 28) == 0, "%s",
                  sm_last_error());
    ck_assert_int_eq(sm_backend_open(&be, "auto", "4096", NULL, data, &m), SM_EINVAL);
    ck_assert_msg(strstr(sm_last_error(), "device 4096 does not exist; ") != NULL, "%s",
                  sm_last_error());
    sm_device_t dev;
    ck_assert_int_eq(sm_device_default("opencl", "x", 0, &dev), SM_EINVAL);
    ck_assert_msg(strncmp(sm_last_error(), "bad device 'x'", 14) == 0, "%s", sm_last_error());
    sm_data_free(data);
}
END_TEST

/* ---- no OpenCL platform: this executable again, with an empty vendor
 * directory for the loader ------------------------------------------------ */

#define CHILD_FLAG "--auto-without-platform"

static int auto_without_platform(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return 2;
    const sm_backend_info_t *info;
    sm_device_t *list;
    size_t n;
    sm_status st = sm_backend_resolve("auto", NULL, &info);
    fprintf(f, "%d %s\n", (int)st, st == SM_OK ? info->name : "-");
    st = sm_backend_resolve("auto", "0", &info);
    fprintf(f, "%d %s\n", (int)st, st == SM_OK ? info->name : "-");
    st = sm_devices(NULL, &list, &n);
    fprintf(f, "%d %zu %s\n", (int)st, n, st == SM_OK ? "" : sm_last_error());
    sm_devices_free(list);
    fclose(f);
    return 0;
}

START_TEST(test_auto_without_platform)
{
    char text[1024];
    sm_test_rerun_without_opencl(CHILD_FLAG, text, sizeof text);
    char want[1024];
    /* No device: auto is the reference, but with a device named it is
     * the backend that has devices (whose open then says why there are
     * none); the list fails with the loader's reason. */
    snprintf(want, sizeof want,
             "0 reference\n0 opencl\n%d 0 no OpenCL platform found: install an OpenCL "
             "driver (ICD), e.g. Debian's pocl-opencl-icd for the CPU\n",
             (int)SM_EDEVICE);
    ck_assert_str_eq(text, want);
}
END_TEST

/* ---- throughput ---------------------------------------------------------- */

/* A backend that counts its batches and the vectors in them. */
typedef struct {
    size_t batches, vectors;
} counter_t;

static sm_status count_sums(void *ctx, size_t k, const double *params, const int *in_prior,
                            sm_pixel_sums_t *sums)
{
    (void)params;
    counter_t *c = ctx;
    c->batches++;
    for (size_t w = 0; w < k; w++) {
        c->vectors += (size_t)in_prior[w];
        sums[w].log_m = sums[w].sq = sums[w].log_phi = 0.0;
    }
    return SM_OK;
}

static void count_free(void *ctx)
{
    (void)ctx;
}

/* The counting backend over n_pix pixels. */
static sm_backend_t *counter_backend(counter_t *count, const sm_model_t *m, size_t n_pix)
{
    static const sm_backend_ops_t ops = {sizeof(sm_backend_ops_t), count_sums, count_free};
    sm_backend_t *be;
    ck_assert_int_eq(sm_backend_create(&be, &ops, count, m, n_pix, "counter", "none", "fp64"),
                     SM_OK);
    return be;
}

START_TEST(test_throughput_bookkeeping)
{
    sm_model_t m = SM_MODEL_INIT(SM_MODEL_ADDITIVE, 0, N_SYS, SM_MODEL_SIGMA_MIN_DEFAULT);
    counter_t count = {0, 0};
    sm_backend_t *be = counter_backend(&count, &m, 777);
    double p[6 * 8];
    sm_test_walkers(&m, 6, 2, 5, p); /* the first 5 are in the prior */
    sm_throughput_t tp;
    /* min_seconds 0: the untimed batch and exactly one timed one. */
    ck_assert_int_eq(sm_backend_throughput(be, 5, p, 0.0, &tp), SM_OK);
    ck_assert_uint_eq(count.batches, 2);
    ck_assert_uint_eq(count.vectors, 10);
    ck_assert_uint_eq(tp.walkers, 5);
    ck_assert_uint_eq(tp.pixels, 777);
    ck_assert_uint_eq(tp.repetitions, 1);
    ck_assert(tp.seconds >= 0.0);
    ck_assert(tp.seconds == 0.0 ? tp.evals_per_s == 0.0
                                : tp.evals_per_s == 5.0 * 777.0 * 1.0 / tp.seconds);

    /* A minimum time: the timed batches cover it, one untimed batch more. */
    count.batches = count.vectors = 0;
    ck_assert_int_eq(sm_backend_throughput(be, 3, p, 0.02, &tp), SM_OK);
    ck_assert_uint_eq(count.batches, tp.repetitions + 1);
    ck_assert_uint_eq(count.vectors, 3 * (tp.repetitions + 1));
    ck_assert_uint_eq(tp.walkers, 3);
    ck_assert(tp.seconds >= 0.02);
    ck_assert(tp.evals_per_s == 3.0 * 777.0 * (double)tp.repetitions / tp.seconds);
    sm_backend_free(be);
}
END_TEST

START_TEST(test_throughput_errors)
{
    sm_model_t m = SM_MODEL_INIT(SM_MODEL_ADDITIVE, 0, N_SYS, SM_MODEL_SIGMA_MIN_DEFAULT);
    counter_t count = {0, 0};
    sm_backend_t *be = counter_backend(&count, &m, 10);
    double p[4 * 8];
    sm_test_walkers(&m, 4, 2, 2, p); /* walker 2 outside the prior */
    sm_throughput_t tp;
    memset(&tp, 0xff, sizeof tp);
    ck_assert_int_eq(sm_backend_throughput(be, 4, p, 0.0, &tp), SM_EINVAL);
    ck_assert_str_eq(sm_last_error(), "throughput: walker 2 is outside the prior, so its "
                                      "likelihood would not be computed");
    ck_assert_uint_eq(tp.repetitions, 0);
    ck_assert(tp.evals_per_s == 0.0);
    ck_assert_int_eq(sm_backend_throughput(be, 2, p, -1.0, &tp), SM_EINVAL);
    ck_assert_str_eq(sm_last_error(), "throughput: min_seconds must be finite and >= 0, got -1");
    ck_assert_int_eq(sm_backend_throughput(be, 2, p, NAN, &tp), SM_EINVAL);
    ck_assert_int_eq(sm_backend_throughput(be, 2, p, INFINITY, &tp), SM_EINVAL);
    ck_assert_int_eq(sm_backend_throughput(be, 0, p, 0.0, &tp), SM_EINVAL);
    ck_assert_str_eq(sm_last_error(), "throughput: NULL argument or no walkers");
    ck_assert_int_eq(sm_backend_throughput(NULL, 2, p, 0.0, &tp), SM_EINVAL);
    ck_assert_int_eq(sm_backend_throughput(be, 2, NULL, 0.0, &tp), SM_EINVAL);
    ck_assert_int_eq(sm_backend_throughput(be, 2, p, 0.0, NULL), SM_EINVAL);
    ck_assert_uint_eq(count.batches, 0);
    sm_backend_free(be);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("registry");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_table_and_lookup);
    tcase_add_test(tc, test_unknown_backend);
    tcase_add_test(tc, test_devices_are_the_backends_own);
    tcase_add_test(tc, test_open_each_backend_and_device);
    tcase_add_test(tc, test_open_errors);
    tcase_add_test(tc, test_auto_without_platform);
    suite_add_tcase(s, tc);
    TCase *tp = tcase_create("throughput");
    tcase_add_test(tp, test_throughput_bookkeeping);
    tcase_add_test(tp, test_throughput_errors);
    suite_add_tcase(s, tp);
    return s;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], CHILD_FLAG) == 0)
        return auto_without_platform(argv[2]);
    return sm_test_run(suite());
}
