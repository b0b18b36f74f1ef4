/* The run configuration by name (defaults, the one parser of user text,
 * its messages), the checks of a run's files before any work, the initial
 * walkers read from a file and the maps a run writes itself. */
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sysmap/maps.h"
#include "sysmap/run.h"
#include "testutil.h"

static void expect_refusal(sm_run_config_t *cfg, const char *name, const char *text,
                           const char *message)
{
    ck_assert_int_eq(sm_run_config_set(cfg, name, text), SM_EINVAL);
    ck_assert_str_eq(sm_last_error(), message);
}

static const char *get(const sm_run_config_t *cfg, const char *name)
{
    static char buf[64];
    ck_assert_int_eq(sm_run_config_get(cfg, name, buf, sizeof buf), SM_OK);
    return buf;
}

START_TEST(test_defaults_by_name)
{
    sm_run_config_t cfg;
    sm_run_config_default(&cfg);
    ck_assert_str_eq(get(&cfg, "model"), "combined");
    ck_assert_str_eq(get(&cfg, "skew"), "0");
    ck_assert_str_eq(get(&cfg, "sigma_min"), "1e-06");
    ck_assert_str_eq(get(&cfg, "walkers"), "250");
    ck_assert_str_eq(get(&cfg, "steps"), "1500");
    ck_assert_str_eq(get(&cfg, "burn"), "300");
    ck_assert_str_eq(get(&cfg, "seed"), "42");
    ck_assert_str_eq(get(&cfg, "basis"), "rotated");
    ck_assert_str_eq(get(&cfg, "backend"), "auto");
    ck_assert_str_eq(get(&cfg, "device"), "");
    ck_assert_str_eq(get(&cfg, "flush_every"), "50");
    ck_assert_str_eq(get(&cfg, "output"), "");
    ck_assert_str_eq(get(&cfg, "resume"), "0");
    char small[3];
    ck_assert_int_eq(sm_run_config_get(&cfg, "steps", small, sizeof small), SM_EINVAL);
    ck_assert_str_eq(sm_last_error(), "steps: a buffer of 3 bytes is too small for its value");
    ck_assert_int_eq(sm_run_config_get(&cfg, "walker", small, sizeof small), SM_EINVAL);
    ck_assert_str_eq(sm_last_error(), "unknown run setting 'walker'");
}
END_TEST

START_TEST(test_set_parses_text)
{
    sm_run_config_t cfg;
    sm_run_config_default(&cfg);
    const char *pairs[][2] = {{"model", "additive"}, {"skew", "true"},   {"sigma_min", "0.25"},
                              {"walkers", "64"},     {"steps", "18446744073709551615"},
                              {"burn", "0"},         {"seed", "4294967295"},
                              {"basis", "original"}, {"backend", "reference"},
                              {"device", "0:1"},     {"precision", "fp32"},
                              {"flush_every", "7"},  {"init", "p0.h5"},
                              {"output", "o.h5"},    {"maps_out", "m.fits"},
                              {"resume", "1"}};
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++)
        ck_assert_int_eq(sm_run_config_set(&cfg, pairs[i][0], pairs[i][1]), SM_OK);
    ck_assert_int_eq(cfg.model, SM_MODEL_ADDITIVE);
    ck_assert_int_eq(cfg.skew, 1);
    ck_assert_double_eq(cfg.sigma_min, 0.25);
    ck_assert_uint_eq(cfg.n_walkers, 64);
    ck_assert_uint_eq(cfg.n_steps, SIZE_MAX);
    ck_assert_uint_eq(cfg.n_burn, 0);
    ck_assert_uint_eq(cfg.seed, UINT32_MAX);
    ck_assert_int_eq(cfg.basis, SM_BASIS_ORIGINAL);
    ck_assert_uint_eq(cfg.flush_every, 7);
    ck_assert_str_eq(cfg.init_path, "p0.h5");
    ck_assert_str_eq(cfg.maps_out, "m.fits");
    ck_assert_int_eq(cfg.resume, 1);
    /* get reads back what set parsed */
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++)
        if (strcmp(pairs[i][0], "skew") != 0 && strcmp(pairs[i][0], "resume") != 0)
            ck_assert_str_eq(get(&cfg, pairs[i][0]), pairs[i][1]);
    ck_assert_int_eq(sm_run_config_set(&cfg, "skew", "false"), SM_OK);
    ck_assert_int_eq(cfg.skew, 0);
}
END_TEST

START_TEST(test_set_refuses_naming_the_setting)
{
    sm_run_config_t cfg;
    sm_run_config_default(&cfg);
    char too_big[32];
    snprintf(too_big, sizeof too_big, "%zu0", (size_t)SIZE_MAX);
    char expected[160];
    snprintf(expected, sizeof expected,
             "walkers expects a non-negative integer (digits only, at most %zu), got '%s'",
             (size_t)SIZE_MAX, too_big);
    expect_refusal(&cfg, "walkers", too_big, expected);
    const char *counts[] = {"-2", " 8", "8 ", "", "1e3", "0x10"};
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++)
        ck_assert_int_eq(sm_run_config_set(&cfg, "steps", counts[i]), SM_EINVAL);
    ck_assert_uint_eq(cfg.n_steps, 1500); /* a refused value changes nothing */
    expect_refusal(&cfg, "seed", "4294967296", "seed must be at most 4294967295, got 4294967296");
    expect_refusal(&cfg, "seed", "-1",
                   "seed expects a non-negative integer (digits only, at most "
                   "18446744073709551615), got '-1'");
    ck_assert_uint_eq(cfg.seed, 42);
    expect_refusal(&cfg, "sigma_min", "inf", "sigma_min expects a finite number, got 'inf'");
    expect_refusal(&cfg, "sigma_min", "1e-6x", "sigma_min expects a finite number, got '1e-6x'");
    expect_refusal(&cfg, "skew", "yes", "skew expects 0 or 1 (false or true), got 'yes'");
    expect_refusal(&cfg, "model", "linear",
                   "model: unknown model 'linear' (expected additive, multiplicative or "
                   "combined)");
    expect_refusal(&cfg, "basis", "pca", "basis: unknown basis 'pca' (expected rotated or original)");
    expect_refusal(&cfg, "n_walkers", "10", "unknown run setting 'n_walkers'");
    ck_assert_int_eq(sm_run_config_set(NULL, "steps", "1"), SM_EINVAL);
    ck_assert_int_eq(sm_run_config_set(&cfg, "steps", NULL), SM_EINVAL);
    ck_assert_str_eq(sm_last_error(), "sm_run_config_set: NULL configuration or value");
}
END_TEST

static void write_p0(const char *path, size_t w, size_t d, double sigma)
{
    double *p0 = calloc(w * d, sizeof *p0);
    unsigned long state = 5;
    for (size_t i = 0; i < w; i++) {
        for (size_t k = 0; k + 1 < d; k++)
            p0[i * d + k] = 0.01 * sm_test_normal(&state);
        p0[i * d + d - 1] = sigma * (1.0 + 0.1 * sm_test_normal(&state));
    }
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[2] = {w, d};
    hid_t space = H5Screate_simple(2, dims, NULL);
    hid_t dset = H5Dcreate2(file, "p0", H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT,
                            H5P_DEFAULT);
    H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, p0);
    H5Dclose(dset);
    H5Sclose(space);
    H5Fclose(file);
    free(p0);
}

static void small_config(sm_run_config_t *cfg)
{
    sm_run_config_default(cfg);
    cfg->model = SM_MODEL_ADDITIVE;
    cfg->backend = "reference";
    cfg->n_walkers = 8;
    cfg->n_steps = 6;
    cfg->n_burn = 2;
}

/* A file of walkers starts the run as the same walkers given in memory. */
START_TEST(test_init_file_is_init_in_memory)
{
    const double a[2] = {0.02, -0.01}, b[2] = {0, 0};
    sm_data_t *data = sm_test_make_map(300, 2, a, b, 7);
    char path[256];
    snprintf(path, sizeof path, "%s", sm_test_tmp_path("run_config_p0.h5"));
    write_p0(path, 8, 3, 0.1);
    sm_run_config_t cfg;
    small_config(&cfg);
    cfg.init_path = path;
    sm_run_t *from_file, *from_memory;
    ck_assert_int_eq(sm_run_create(&from_file, data, &cfg), SM_OK);
    ck_assert_msg(sm_run_execute(from_file, NULL, 0, NULL, NULL) == SM_OK, "%s", sm_last_error());
    double p0[8 * 3];
    ck_assert_int_eq(sm_data_load_walkers(path, 8, 3, p0), SM_OK);
    small_config(&cfg);
    cfg.init = p0;
    ck_assert_int_eq(sm_run_create(&from_memory, data, &cfg), SM_OK);
    ck_assert_int_eq(sm_run_execute(from_memory, NULL, 0, NULL, NULL), SM_OK);
    ck_assert_mem_eq(sm_run_chain(from_file), sm_run_chain(from_memory), 6 * 8 * 3 * sizeof(double));
    sm_run_free(from_file);
    sm_run_free(from_memory);

    /* both, a wrong shape, a missing file: refused, naming the setting */
    cfg.init_path = path;
    sm_run_t *run;
    ck_assert_int_eq(sm_run_create(&run, data, &cfg), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "init: both initial walkers and a file"));
    cfg.init = NULL;
    cfg.n_walkers = 10;
    ck_assert_int_eq(sm_run_create(&run, data, &cfg), SM_EFORMAT);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "init: "));
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "(10, 3)"));
    cfg.init_path = sm_test_tmp_path("run_config_no_such_p0.h5");
    ck_assert_int_ne(sm_run_create(&run, data, &cfg), SM_OK);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "init: "));
    sm_data_free(data);
}
END_TEST

START_TEST(test_files_checked_before_any_work)
{
    char in_path[256], link[256];
    snprintf(in_path, sizeof in_path, "%s", sm_test_tmp_path("run_config_in.h5"));
    snprintf(link, sizeof link, "%s", sm_test_tmp_path("run_config_in_link.h5"));
    FILE *f = fopen(in_path, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    unlink(link);
    ck_assert_int_eq(symlink(in_path, link), 0);
    sm_input_t in;
    sm_input_default(&in);
    in.hdf5 = in_path;
    sm_run_config_t cfg;
    sm_run_config_default(&cfg);
    ck_assert_int_eq(sm_run_config_check_files(&cfg, &in), SM_OK); /* in memory, no maps */
    cfg.output = link;
    ck_assert_int_eq(sm_run_config_check_files(&cfg, &in), SM_EINVAL);
    char expected[1024];
    snprintf(expected, sizeof expected, "output %s is the input %s (the same file): the run "
             "would overwrite it; name another output", link, in_path);
    ck_assert_str_eq(sm_last_error(), expected);

    char out[256], partial[280];
    snprintf(out, sizeof out, "%s", sm_test_tmp_path("run_config_out.h5"));
    snprintf(partial, sizeof partial, "%s.partial", out);
    cfg.output = out;
    cfg.init_path = partial;
    ck_assert_int_eq(sm_run_config_check_files(&cfg, &in), SM_EINVAL);
    ck_assert_msg(strstr(sm_last_error(), "output (its partial file) ") != NULL, "%s", sm_last_error());
    cfg.init_path = NULL;
    cfg.maps_out = out;
    ck_assert_int_eq(sm_run_config_check_files(&cfg, &in), SM_EINVAL);
    snprintf(expected, sizeof expected, "maps_out %s is the file of output %s: the run would "
             "overwrite it; name another output", out, out);
    ck_assert_str_eq(sm_last_error(), expected);
    cfg.maps_out = "maps.fits";
    ck_assert_int_eq(sm_run_config_check_files(&cfg, &in), SM_EINVAL);
    ck_assert_str_eq(sm_last_error(), "maps_out maps.fits: FITS maps need a HEALPix input (a "
                                      "map); name an HDF5 file for an HDF5 input");
    cfg.maps_out = NULL;
    cfg.output = "";
    ck_assert_int_eq(sm_run_config_check_files(&cfg, &in), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "output: "));
    cfg.output = sm_test_tmp_path("run_config_missing_dir/out.h5");
    ck_assert_int_eq(sm_run_config_check_files(&cfg, &in), SM_EIO);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "output: "));
    ck_assert_int_eq(sm_run_config_check_files(NULL, &in), SM_EINVAL);
    ck_assert_int_eq(sm_run_config_check_files(&cfg, NULL), SM_EINVAL);
}
END_TEST

static double *read_dataset(const char *path, const char *name, size_t n)
{
    double *x = malloc(n * sizeof *x);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t dset = H5Dopen2(file, name, H5P_DEFAULT);
    ck_assert_int_ge(H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x), 0);
    H5Dclose(dset);
    H5Fclose(file);
    return x;
}

/* The run's maps are sm_maps_from_run's, in the run file and maps_out:
 * N = 140001 pixels, so the HDF5 writer's chunks of 65536 (two whole, one
 * partial) are each the right slice. */
START_TEST(test_run_writes_its_maps)
{
    enum { N = 140001 };
    const double a[1] = {0.03}, b[1] = {0};
    sm_data_t *data = sm_test_make_map(N, 1, a, b, 11);
    int64_t *idx = malloc(N * sizeof *idx);
    ck_assert_ptr_nonnull(idx);
    for (size_t j = 0; j < N; j++)
        idx[j] = (int64_t)j;
    sm_pixels_t *plain, *hpx;
    ck_assert_int_eq(sm_pixels_create(&plain, 2 * N, N, idx, 0, SM_HPX_RING), SM_OK);
    ck_assert_int_eq(sm_pixels_create(&hpx, 12 * 128 * 128, N, idx, 128, SM_HPX_RING), SM_OK);
    free(idx);
    char out[256], maps_out[256];
    snprintf(out, sizeof out, "%s", sm_test_tmp_path("run_config_maps_run.h5"));
    snprintf(maps_out, sizeof maps_out, "%s", sm_test_tmp_path("run_config_maps.h5"));
    unlink(maps_out);
    sm_run_config_t cfg;
    small_config(&cfg);
    cfg.output = out;
    sm_run_t *run;
    ck_assert_int_eq(sm_run_create(&run, data, &cfg), SM_OK);
    int written = -1;
    ck_assert_int_eq(sm_run_write_maps(run, hpx, &written), SM_EINVAL); /* not executed */
    ck_assert_int_eq(written, 0);
    ck_assert_int_eq(sm_run_execute(run, out, 0, NULL, NULL), SM_OK);
    ck_assert_int_eq(sm_run_write_maps(run, plain, &written), SM_OK); /* nothing asked */
    ck_assert_int_eq(written, 0);
    ck_assert_int_eq(access(maps_out, F_OK), -1);
    ck_assert_int_eq(sm_run_write_maps(run, hpx, &written), SM_OK); /* HEALPix: run file */
    ck_assert_int_eq(written, 1);
    sm_maps_t *maps;
    ck_assert_int_eq(sm_maps_from_run(&maps, run, data), SM_OK);
    double *got = read_dataset(out, "maps/delta_corr", N);
    ck_assert_int_eq(memcmp(got, maps->delta_corr, N * sizeof(double)), 0);
    free(got);
    sm_run_free(run);

    cfg.maps_out = maps_out; /* any input with maps_out: both files */
    ck_assert_int_eq(sm_run_create(&run, data, &cfg), SM_OK);
    ck_assert_int_eq(sm_run_execute(run, out, 0, NULL, NULL), SM_OK);
    ck_assert_int_eq(sm_run_write_maps(run, plain, NULL), SM_OK);
    got = read_dataset(maps_out, "maps/weight_err", N);
    ck_assert_int_eq(memcmp(got, maps->weight_err, N * sizeof(double)), 0);
    free(got);
    ck_assert_int_eq(sm_run_write_maps(NULL, plain, &written), SM_EINVAL);
    ck_assert_int_eq(sm_run_write_maps(run, NULL, &written), SM_EINVAL);
    sm_maps_free(maps);
    sm_run_free(run);
    sm_pixels_free(plain);
    sm_pixels_free(hpx);
    sm_data_free(data);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("run_config");
    TCase *tc = tcase_create("run_config");
    tcase_add_test(tc, test_defaults_by_name);
    tcase_add_test(tc, test_set_parses_text);
    tcase_add_test(tc, test_set_refuses_naming_the_setting);
    tcase_add_test(tc, test_init_file_is_init_in_memory);
    tcase_add_test(tc, test_files_checked_before_any_work);
    tcase_add_test(tc, test_run_writes_its_maps);
    suite_add_tcase(s, tc);
    return sm_test_run(s);
}
