/* The struct_size of every public struct a caller fills (docs/design.md,
 * "ABI policy"): one never initialised, or one from a caller built against
 * an older header (a smaller struct), is refused with SM_EINVAL naming the
 * struct and what to do, before the library reads any other field. */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "sysmap/sysmap.h"
#include "testutil.h"

#define ck_assert_refused(call, text)                                                     \
    do {                                                                                  \
        sm_status st_ = (call);                                                           \
        ck_assert_msg(st_ == SM_EINVAL, "%s returned %d (%s)", #call, (int)st_,           \
                      sm_last_error());                                                   \
        ck_assert_msg(strstr(sm_last_error(), (text)) != NULL, "message \"%s\" lacks \"%s\"", \
                      sm_last_error(), (text));                                           \
    } while (0)

/* The message for a struct of type T whose struct_size is have. */
static const char *older(const char *type, size_t have, size_t need)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "%s: struct_size %zu, this libsysmap %s needs %zu: the caller was "
             "built against an older sysmap header", type, have, sm_version(), need);
    return buf;
}

/* A 3-pixel, 1-template map, for the calls that check a struct first. */
static sm_data_t *tiny_map(void)
{
    const double d[3] = {0.1, -0.2, 0.05}, t[3] = {1.0, -0.5, 0.3};
    sm_data_t *data;
    ck_assert_int_eq(sm_data_create(&data, 3, 1, d, t, NULL), SM_OK);
    return data;
}

START_TEST(run_config)
{
    sm_run_config_t cfg;
    sm_run_config_default(&cfg);
    ck_assert_uint_eq(cfg.struct_size, sizeof cfg);
    ck_assert_int_eq(sm_run_config_check(&cfg, 1), SM_OK);
    cfg.struct_size = 0;
    ck_assert_refused(sm_run_config_check(&cfg, 1),
                      "sm_run_config_t: struct_size is 0: initialise the struct with "
                      "sm_run_config_default");
    /* A caller whose header ended before the last field. */
    cfg.struct_size = offsetof(sm_run_config_t, init);
    ck_assert_refused(sm_run_config_check(&cfg, 1),
                      older("sm_run_config_t", offsetof(sm_run_config_t, init), sizeof cfg));
    sm_data_t *data = tiny_map();
    sm_run_t *run = (sm_run_t *)&cfg;
    ck_assert_refused(sm_run_create(&run, data, &cfg), "sm_run_config_t: struct_size");
    ck_assert_ptr_null(run);
    sm_data_free(data);
}
END_TEST

START_TEST(model_struct)
{
    sm_model_t m = SM_MODEL_INIT(SM_MODEL_ADDITIVE, 0, 1, SM_MODEL_SIGMA_MIN_DEFAULT);
    ck_assert_uint_eq(m.struct_size, sizeof m);
    ck_assert_int_eq(sm_model_validate(&m), SM_OK);
    m.struct_size = 0;
    ck_assert_refused(sm_model_validate(&m),
                      "sm_model_t: struct_size is 0: initialise the struct with SM_MODEL_INIT");
    m.struct_size = offsetof(sm_model_t, sigma_min);
    ck_assert_refused(sm_model_validate(&m),
                      older("sm_model_t", offsetof(sm_model_t, sigma_min), sizeof m));
    /* Every call that takes a model checks it, e.g. a backend's. */
    sm_data_t *data = tiny_map();
    sm_backend_t *be = (sm_backend_t *)&m;
    ck_assert_refused(sm_reference_create(&be, data, &m), "sm_model_t: struct_size");
    ck_assert_ptr_null(be);
    sm_data_free(data);
}
END_TEST

static int freed;

static sm_status no_sums(void *ctx, size_t k, const double *params, const int *in_prior,
                         sm_pixel_sums_t *sums)
{
    (void)ctx, (void)k, (void)params, (void)in_prior, (void)sums;
    return SM_OK;
}

static void count_free(void *ctx)
{
    (void)ctx;
    freed++;
}

START_TEST(backend_ops)
{
    sm_model_t model = SM_MODEL_INIT(SM_MODEL_ADDITIVE, 0, 1, SM_MODEL_SIGMA_MIN_DEFAULT);
    sm_backend_ops_t ops = {.struct_size = 0, .pixel_sums = no_sums, .free = count_free};
    sm_backend_t *be = (sm_backend_t *)&ops;
    freed = 0;
    ck_assert_refused(sm_backend_create(&be, &ops, NULL, &model, 3, "mine", "cpu", "fp64"),
                      "sm_backend_ops_t: struct_size is 0");
    ck_assert_ptr_null(be);
    /* Its free may not be where this caller's struct has it: not called. */
    ck_assert_int_eq(freed, 0);
    ops.struct_size = offsetof(sm_backend_ops_t, free);
    ck_assert_refused(sm_backend_create(&be, &ops, NULL, &model, 3, "mine", "cpu", "fp64"),
                      older("sm_backend_ops_t", offsetof(sm_backend_ops_t, free), sizeof ops));
    ops.struct_size = sizeof ops;
    ck_assert_int_eq(sm_backend_create(&be, &ops, NULL, &model, 3, "mine", "cpu", "fp64"),
                     SM_OK);
    sm_backend_free(be);
    ck_assert_int_eq(freed, 1);
}
END_TEST

START_TEST(input)
{
    sm_input_t in;
    sm_input_default(&in);
    ck_assert_uint_eq(in.struct_size, sizeof in);
    in.hdf5 = SM_SOURCE_DIR "/data/example.h5";
    in.struct_size = 0;
    sm_data_t *data = (sm_data_t *)&in;
    sm_pixels_t *pixels = (sm_pixels_t *)&in;
    ck_assert_refused(sm_input_load(&in, &data, &pixels),
                      "sm_input_t: struct_size is 0: initialise the struct with sm_input_default");
    ck_assert_ptr_null(data);
    ck_assert_ptr_null(pixels);
    in.struct_size = sizeof in - 1;
    ck_assert_refused(sm_input_load(&in, &data, &pixels),
                      older("sm_input_t", sizeof in - 1, sizeof in));
}
END_TEST

START_TEST(chainfile_meta_and_summary)
{
    static const char *const names[2] = {"a_1", "sigma"};
    sm_chainfile_meta_t meta;
    sm_chainfile_meta_init(&meta);
    ck_assert_uint_eq(meta.struct_size, sizeof meta);
    meta.n_walkers = 4, meta.n_dim = 2, meta.n_steps = 2, meta.n_burn = 1;
    meta.n_pix = 3, meta.n_sys = 1, meta.model = "additive", meta.sampling_basis = "original";
    meta.seed = 1, meta.sigma_min = 1e-6, meta.backend = "reference", meta.device = "cpu";
    meta.precision = "fp64", meta.param_names = names;
    const char *path = sm_test_tmp_path("abi.h5");
    sm_chainfile_t *cf = (sm_chainfile_t *)&meta;
    size_t it = 0;
    meta.struct_size = 0;
    ck_assert_refused(sm_chainfile_create(&cf, path, &meta),
                      "sm_chainfile_meta_t: struct_size is 0: initialise the struct with "
                      "sm_chainfile_meta_init");
    ck_assert_ptr_null(cf);
    meta.struct_size = offsetof(sm_chainfile_meta_t, param_names);
    ck_assert_refused(sm_chainfile_resume(&cf, path, &meta, &it),
                      older("sm_chainfile_meta_t", offsetof(sm_chainfile_meta_t, param_names),
                            sizeof meta));
    ck_assert_ptr_null(cf);

    meta.struct_size = sizeof meta;
    ck_assert_int_eq(sm_chainfile_create(&cf, path, &meta), SM_OK);
    sm_chainfile_summary_t sum;
    sm_chainfile_summary_init(&sum);
    ck_assert_uint_eq(sum.struct_size, sizeof sum);
    sum.struct_size = 0;
    ck_assert_refused(sm_chainfile_write_summary(cf, &sum),
                      "sm_chainfile_summary_t: struct_size is 0: initialise the struct with "
                      "sm_chainfile_summary_init");
    sum.struct_size = offsetof(sm_chainfile_summary_t, n_kept);
    ck_assert_refused(sm_chainfile_write_summary(cf, &sum),
                      older("sm_chainfile_summary_t", offsetof(sm_chainfile_summary_t, n_kept),
                            sizeof sum));
    sm_chainfile_discard(cf);
}
END_TEST

static Suite *abi_suite(void)
{
    Suite *s = suite_create("abi");
    TCase *tc = tcase_create("struct_size");
    tcase_add_test(tc, model_struct);
    tcase_add_test(tc, run_config);
    tcase_add_test(tc, backend_ops);
    tcase_add_test(tc, input);
    tcase_add_test(tc, chainfile_meta_and_summary);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sm_test_run(abi_suite());
}
