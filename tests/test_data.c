/* sm_data: construction, validation, accessors, digest, and the HDF5
 * loaders against files written here with the HDF5 C API. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hdf5.h>

#include "h5util.h"
#include "sysmap/data.h"
#include "testutil.h"

/* A 6-pixel map with 2 templates; pixels 1 and 4 are masked and hold
 * values that would be rejected if they were used. */
enum { NT = 6, S = 2, NU = 4 };
static const uint8_t mask6[NT] = {1, 0, 1, 1, 0, 1};
static double delta6[NT], tmpl6[S * NT];
/* The used pixels, compacted by hand. */
static const double delta_used[NU] = {0.1, 0.3, -0.2, 0.4};
static const double tmpl_used[S * NU] = {1.0, 2.0, 3.0, 4.0, -0.5, 0.25, 0.125, 8.0};

static void fill_map(void)
{
    const double d[NT] = {0.1, NAN, 0.3, -0.2, 1e30, 0.4};
    const double t[S * NT] = {1.0, NAN, 2.0, 3.0, INFINITY, 4.0,
                              -0.5, 7.0, 0.25, 0.125, NAN, 8.0};
    memcpy(delta6, d, sizeof d);
    memcpy(tmpl6, t, sizeof t);
}

#define ck_assert_fails(call, status, text)                                           \
    do {                                                                              \
        sm_status st_ = (call);                                                       \
        ck_assert_msg(st_ == (status), "%s returned %d, expected %d (%s)", #call,     \
                      (int)st_, (int)(status), sm_last_error());                      \
        ck_assert_msg(strstr(sm_last_error(), (text)) != NULL,                        \
                      "message \"%s\" lacks \"%s\"", sm_last_error(), (text));        \
    } while (0)

static void assert_used_map(const sm_data_t *data)
{
    ck_assert_uint_eq(sm_data_n_pix(data), NU);
    ck_assert_uint_eq(sm_data_n_sys(data), S);
    for (size_t j = 0; j < NU; j++)
        ck_assert_double_eq(sm_data_delta(data)[j], delta_used[j]);
    for (size_t k = 0; k < S * NU; k++)
        ck_assert_double_eq(sm_data_templates(data)[k], tmpl_used[k]);
}

START_TEST(create_compacts_masked_pixels)
{
    fill_map();
    sm_data_t *data = NULL;
    ck_assert_int_eq(sm_data_create(&data, NT, S, delta6, tmpl6, mask6), SM_OK);
    assert_used_map(data);
    ck_assert_str_eq(sm_data_template_name(data, 0), "t_1");
    ck_assert_str_eq(sm_data_template_name(data, 1), "t_2");
    ck_assert_ptr_null(sm_data_template_name(data, 2));
    ck_assert_ptr_null(sm_data_injected_a(data));
    ck_assert_ptr_null(sm_data_injected_b(data));
    /* mean 0.15; deviations -0.05, 0.15, -0.35, 0.25; sum of squares 0.21;
     * sqrt(0.21 / 4) */
    ck_assert_close(sm_data_delta_std(data), 0.22912878474779199, 1e-15, 0);
    sm_data_free(data);
}
END_TEST

START_TEST(create_without_mask_uses_every_pixel)
{
    const double d[3] = {1.0, 2.0, 6.0}, t[3] = {0.5, -0.5, 1.5};
    sm_data_t *data = NULL;
    ck_assert_int_eq(sm_data_create(&data, 3, 1, d, t, NULL), SM_OK);
    ck_assert_uint_eq(sm_data_n_pix(data), 3);
    ck_assert_double_eq(sm_data_delta(data)[2], 6.0);
    ck_assert_double_eq(sm_data_templates(data)[1], -0.5);
    /* mean 3, deviations -2, -1, 3: sqrt(14 / 3) */
    ck_assert_close(sm_data_delta_std(data), sqrt(14.0 / 3.0), 1e-15, 0);
    sm_data_free(data);
}
END_TEST

START_TEST(digest_is_stable_and_sensitive)
{
    fill_map();
    sm_data_t *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    ck_assert_int_eq(sm_data_create(&a, NT, S, delta6, tmpl6, mask6), SM_OK);
    ck_assert_int_eq(sm_data_create(&b, NU, S, delta_used, tmpl_used, NULL), SM_OK);
    /* FNV-1a 64 over struct.pack('<QQ', 4, 2) + the used map and templates
     * as '<d' bytes, computed in Python. */
    ck_assert_uint_eq(sm_data_digest(a), UINT64_C(0x9823460b030f7982));
    ck_assert_uint_eq(sm_data_digest(b), sm_data_digest(a));

    double t2[S * NU];
    memcpy(t2, tmpl_used, sizeof t2);
    t2[7] = nextafter(t2[7], 9.0); /* one ulp in the last template value */
    ck_assert_int_eq(sm_data_create(&c, NU, S, delta_used, t2, NULL), SM_OK);
    ck_assert_uint_ne(sm_data_digest(c), sm_data_digest(a));
    /* The same template values as 4 templates of 2 pixels: another map. */
    ck_assert_int_eq(sm_data_create(&d, 2, 4, delta_used, tmpl_used, NULL), SM_OK);
    ck_assert_uint_ne(sm_data_digest(d), sm_data_digest(a));
    sm_data_free(a);
    sm_data_free(b);
    sm_data_free(c);
    sm_data_free(d);
}
END_TEST

START_TEST(create_rejects_bad_input)
{
    fill_map();
    sm_data_t *data = (sm_data_t *)&data;
    ck_assert_fails(sm_data_create(NULL, NT, S, delta6, tmpl6, mask6), SM_EINVAL, "out");
    ck_assert_fails(sm_data_create(&data, NT, S, NULL, tmpl6, mask6), SM_EINVAL, "delta_g_obs");
    ck_assert_ptr_eq(data, (sm_data_t *)&data); /* a NULL argument leaves *out alone */
    ck_assert_fails(sm_data_create(&data, NT, S, delta6, NULL, mask6), SM_EINVAL, "templates");
    ck_assert_fails(sm_data_create(&data, NT, 0, delta6, tmpl6, mask6), SM_EINVAL,
                    "no templates (S = 0)");
    ck_assert_ptr_null(data);
    ck_assert_fails(sm_data_create(&data, 0, S, delta6, tmpl6, NULL), SM_EINVAL, "empty map");
    const uint8_t none[NT] = {0};
    ck_assert_fails(sm_data_create(&data, NT, S, delta6, tmpl6, none), SM_EINVAL,
                    "all 6 pixels are masked");
    /* Unmasked, pixel 1 of delta is NaN; pixel 4 of template 0 is Inf. */
    ck_assert_fails(sm_data_create(&data, NT, S, delta6, tmpl6, NULL), SM_EINVAL,
                    "delta_g_obs: NaN at pixel 1");
    uint8_t m[NT] = {1, 0, 1, 1, 1, 1};
    delta6[4] = 0.0;
    ck_assert_fails(sm_data_create(&data, NT, S, delta6, tmpl6, m), SM_EINVAL,
                    "templates: Inf at template 0, pixel 4");
    tmpl6[4] = -INFINITY;
    ck_assert_fails(sm_data_create(&data, NT, S, delta6, tmpl6, m), SM_EINVAL,
                    "templates: -Inf at template 0, pixel 4");
    tmpl6[4] = 0.0;
    ck_assert_fails(sm_data_create(&data, NT, S, delta6, tmpl6, m), SM_EINVAL,
                    "templates: NaN at template 1, pixel 4");
    ck_assert_ptr_null(data);
}
END_TEST

/* Squares of values beyond SM_DATA_VALUE_MAX overflow: refused at load,
 * named by dataset and pixel; masked pixels may hold anything. */
START_TEST(create_rejects_overflowing_values)
{
    const double d[4] = {0.1, -0.2, 1e300, 0.3}, t[8] = {1, 2, 3, 4, 5, 6, -1e101, 8};
    const double edge[4] = {1e100, -1e100, 0.5, 0.25}, ok_t[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const uint8_t skip2[4] = {1, 1, 0, 1};
    sm_data_t *data = NULL;
    ck_assert_fails(sm_data_create(&data, 4, 2, d, ok_t, NULL), SM_EINVAL,
                    "delta_g_obs: value 1e+300 at pixel 2 is beyond +-1e+100, where squares of "
                    "values overflow");
    ck_assert_ptr_null(data);
    ck_assert_fails(sm_data_create(&data, 4, 2, edge, t, NULL), SM_EINVAL,
                    "templates: value -1e+101 at template 1, pixel 2 is beyond +-1e+100");
    ck_assert_int_eq(sm_data_create(&data, 4, 2, d, ok_t, skip2), SM_OK);
    ck_assert_uint_eq(sm_data_n_pix(data), 3);
    sm_data_free(data);
    ck_assert_int_eq(sm_data_create(&data, 4, 2, edge, ok_t, NULL), SM_OK);
    ck_assert_double_eq(sm_data_delta(data)[0], 1e100);
    sm_data_free(data);
}
END_TEST

/* ---- HDF5 inputs written with the C API ---- */

static void put(hid_t loc, const char *name, hid_t type, int rank, const hsize_t *dims,
                const void *buf)
{
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t dset = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(dset, 0);
    ck_assert_int_ge(H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), 0);
    H5Dclose(dset);
    H5Sclose(space);
}

static void put_attr(hid_t loc, const char *name, hid_t type, hsize_t n, const void *buf)
{
    hid_t space = H5Screate_simple(1, &n, NULL);
    hid_t attr = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(attr, 0);
    ck_assert_int_ge(H5Awrite(attr, type, buf), 0);
    H5Aclose(attr);
    H5Sclose(space);
}

static hid_t new_file(const char *path)
{
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(file, 0);
    return file;
}

static hid_t vlen_str_type(void)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    return type;
}

/* delta_g_obs and templates of the test map, and the mask unless omitted. */
static hid_t map_file(const char *path, int with_mask)
{
    fill_map();
    hsize_t n = NT, st[2] = {S, NT};
    hid_t file = new_file(path);
    put(file, "delta_g_obs", H5T_NATIVE_DOUBLE, 1, &n, delta6);
    put(file, "templates", H5T_NATIVE_DOUBLE, 2, st, tmpl6);
    if (with_mask)
        put(file, "mask", H5T_NATIVE_UINT8, 1, &n, mask6);
    return file;
}

START_TEST(load_reads_map_mask_names_and_injected)
{
    const char *path = sm_test_tmp_path("good.h5");
    hid_t file = map_file(path, 1);
    const char *names[S] = {"stars", "dust E(B-V)"};
    hid_t str = vlen_str_type();
    put_attr(file, "template_names", str, S, names);
    H5Tclose(str);
    const double ia[S] = {0.01, -0.02}, ib[S] = {0.5, 0.25};
    put_attr(file, "injected_a", H5T_NATIVE_DOUBLE, S, ia);
    put_attr(file, "injected_b", H5T_NATIVE_DOUBLE, S, ib);
    H5Fclose(file);

    sm_data_t *data = NULL;
    ck_assert_int_eq(sm_data_load_hdf5(&data, path), SM_OK);
    assert_used_map(data);
    ck_assert_str_eq(sm_data_template_name(data, 0), "stars");
    ck_assert_str_eq(sm_data_template_name(data, 1), "dust E(B-V)");
    ck_assert_double_eq(sm_data_injected_a(data)[1], -0.02);
    ck_assert_double_eq(sm_data_injected_b(data)[0], 0.5);
    ck_assert_uint_eq(sm_data_digest(data), UINT64_C(0x9823460b030f7982));
    sm_data_free(data);
}
END_TEST

START_TEST(load_accepts_bool_mask_and_fixed_names)
{
    const char *path = sm_test_tmp_path("bool.h5");
    hid_t file = map_file(path, 0);
    /* h5py's bool: an enum of int8 with FALSE = 0, TRUE = 1. */
    hid_t boolean = H5Tenum_create(H5T_NATIVE_INT8);
    int8_t no = 0, yes = 1;
    H5Tenum_insert(boolean, "FALSE", &no);
    H5Tenum_insert(boolean, "TRUE", &yes);
    hsize_t n = NT;
    put(file, "mask", boolean, 1, &n, mask6);
    H5Tclose(boolean);
    /* numpy 'S5' strings: fixed length, NUL padded. */
    hid_t fixed = H5Tcopy(H5T_C_S1);
    H5Tset_size(fixed, 5);
    H5Tset_strpad(fixed, H5T_STR_NULLPAD);
    put_attr(file, "template_names", fixed, S, "seein" "ebv\0\0");
    H5Tclose(fixed);
    H5Fclose(file);

    sm_data_t *data = NULL;
    ck_assert_int_eq(sm_data_load_hdf5(&data, path), SM_OK);
    assert_used_map(data);
    ck_assert_str_eq(sm_data_template_name(data, 0), "seein");
    ck_assert_str_eq(sm_data_template_name(data, 1), "ebv");
    ck_assert_ptr_null(sm_data_injected_a(data));
    sm_data_free(data);
}
END_TEST

START_TEST(load_without_mask_rejects_unmasked_nan)
{
    const char *path = sm_test_tmp_path("nomask.h5");
    H5Fclose(map_file(path, 0));
    sm_data_t *data = NULL;
    ck_assert_fails(sm_data_load_hdf5(&data, path), SM_EINVAL, "delta_g_obs: NaN at pixel 1");
    ck_assert_msg(strstr(sm_last_error(), path) != NULL, "no path in %s", sm_last_error());
    ck_assert_ptr_null(data);
}
END_TEST

/* A file with one dataset changed from the good schema; load must fail
 * with status and message. */
/* An input of n pixels and s templates whose datasets hold no data (HDF5
 * allocates storage lazily): shapes that no machine could load. */
static void shapes_only(const char *path, hsize_t n, hsize_t s)
{
    hsize_t dims[2] = {s, n};
    hid_t file = new_file(path);
    const char *names[2] = {"delta_g_obs", "templates"};
    for (int rank = 1; rank <= 2; rank++) {
        hid_t space = H5Screate_simple(rank, rank == 1 ? &n : dims, NULL);
        H5Dclose(H5Dcreate2(file, names[rank - 1], H5T_NATIVE_DOUBLE, space, H5P_DEFAULT,
                            H5P_DEFAULT, H5P_DEFAULT));
        H5Sclose(space);
    }
    H5Fclose(file);
}

static void expect_load_failure(const char *path, sm_status status, const char *text)
{
    sm_data_t *data = (sm_data_t *)&data;
    ck_assert_fails(sm_data_load_hdf5(&data, path), status, text);
    ck_assert_ptr_null(data);
}

START_TEST(load_rejects_missing_datasets)
{
    const char *path = sm_test_tmp_path("missing.h5");
    hsize_t n = NT;
    fill_map();
    hid_t file = new_file(path);
    put(file, "delta_g_obs", H5T_NATIVE_DOUBLE, 1, &n, delta6);
    H5Fclose(file);
    expect_load_failure(path, SM_EFORMAT, "missing dataset 'templates'");
    ck_assert_msg(strstr(sm_last_error(), path) != NULL, "no path in %s", sm_last_error());

    file = new_file(path);
    H5Fclose(file);
    expect_load_failure(path, SM_EFORMAT, "missing dataset 'delta_g_obs'");
}
END_TEST

START_TEST(load_rejects_wrong_dtypes)
{
    const char *path = sm_test_tmp_path("dtype.h5");
    hsize_t n = NT, st[2] = {S, NT};
    int32_t ints[S * NT] = {0};
    float floats[NT] = {0};
    int16_t shorts[NT] = {1, 1, 1, 1, 1, 1};
    fill_map();

    hid_t file = new_file(path);
    put(file, "delta_g_obs", H5T_NATIVE_DOUBLE, 1, &n, delta6);
    put(file, "templates", H5T_NATIVE_INT32, 2, st, ints);
    H5Fclose(file);
    expect_load_failure(path, SM_EFORMAT, "templates: expected float64, found int32");

    file = new_file(path);
    put(file, "delta_g_obs", H5T_NATIVE_FLOAT, 1, &n, floats);
    put(file, "templates", H5T_NATIVE_DOUBLE, 2, st, tmpl6);
    H5Fclose(file);
    expect_load_failure(path, SM_EFORMAT, "delta_g_obs: expected float64, found float32");

    file = map_file(path, 0);
    put(file, "mask", H5T_NATIVE_INT16, 1, &n, shorts);
    H5Fclose(file);
    expect_load_failure(path, SM_EFORMAT, "mask: expected uint8 or bool, found int16");

    file = map_file(path, 1);
    const int64_t bad_names[S] = {1, 2};
    put_attr(file, "template_names", H5T_NATIVE_INT64, S, bad_names);
    H5Fclose(file);
    expect_load_failure(path, SM_EFORMAT, "template_names: expected strings, found int64");
}
END_TEST

START_TEST(load_rejects_shape_mismatches)
{
    const char *path = sm_test_tmp_path("shape.h5");
    hsize_t n = NT, short_n = NT - 1, st[2] = {S, NT - 1};
    fill_map();

    hid_t file = new_file(path);
    put(file, "delta_g_obs", H5T_NATIVE_DOUBLE, 1, &n, delta6);
    put(file, "templates", H5T_NATIVE_DOUBLE, 2, st, tmpl6);
    H5Fclose(file);
    expect_load_failure(path, SM_EFORMAT,
                        "templates: shape (2, 5) does not match delta_g_obs shape (6,)");

    file = new_file(path);
    put(file, "delta_g_obs", H5T_NATIVE_DOUBLE, 1, &n, delta6);
    put(file, "templates", H5T_NATIVE_DOUBLE, 1, &n, tmpl6);
    H5Fclose(file);
    expect_load_failure(path, SM_EFORMAT, "templates: expected 2 dimensions, found shape (6,)");

    file = map_file(path, 0);
    put(file, "mask", H5T_NATIVE_UINT8, 1, &short_n, mask6);
    H5Fclose(file);
    expect_load_failure(path, SM_EFORMAT,
                        "mask: shape (5,) does not match delta_g_obs shape (6,)");

    file = map_file(path, 1);
    const char *one[1] = {"stars"};
    hid_t str = vlen_str_type();
    put_attr(file, "template_names", str, 1, one);
    H5Tclose(str);
    H5Fclose(file);
    expect_load_failure(path, SM_EFORMAT, "template_names: expected 2 strings, found 1");

    file = map_file(path, 1);
    const double three[3] = {1, 2, 3};
    put_attr(file, "injected_b", H5T_NATIVE_DOUBLE, 3, three);
    H5Fclose(file);
    expect_load_failure(path, SM_EFORMAT, "injected_b: 3 values for 2 templates");

    /* S = 0 templates: a valid schema, refused as data. */
    hsize_t none[2] = {0, NT};
    file = new_file(path);
    put(file, "delta_g_obs", H5T_NATIVE_DOUBLE, 1, &n, delta6);
    put(file, "templates", H5T_NATIVE_DOUBLE, 2, none, tmpl6);
    H5Fclose(file);
    expect_load_failure(path, SM_EINVAL, "no templates");

    /* N = 0 pixels: refused before any template row is read. */
    hsize_t zero = 0, empty[2] = {S, 0};
    file = new_file(path);
    put(file, "delta_g_obs", H5T_NATIVE_DOUBLE, 1, &zero, delta6);
    put(file, "templates", H5T_NATIVE_DOUBLE, 2, empty, tmpl6);
    H5Fclose(file);
    expect_load_failure(path, SM_EINVAL, "delta_g_obs: empty map (no pixels)");
}
END_TEST

START_TEST(load_rejects_unreadable_files)
{
    const char *path = sm_test_tmp_path("truncated.h5");
    H5Fclose(map_file(path, 1));
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(truncate(path, st.st_size / 2), 0);
    expect_load_failure(path, SM_EIO, "not an HDF5 file or corrupt");
    ck_assert_msg(strstr(sm_last_error(), path) != NULL, "no path in %s", sm_last_error());

    const char *text = sm_test_tmp_path("text.h5");
    FILE *f = fopen(text, "w");
    ck_assert_ptr_nonnull(f);
    fputs("delta_g_obs,templates\n1,2\n", f);
    fclose(f);
    expect_load_failure(text, SM_EIO, "not an HDF5 file or corrupt");

    const char *missing = sm_test_tmp_path("does-not-exist.h5");
    expect_load_failure(missing, SM_EIO, "No such file or directory");
    ck_assert_msg(strstr(sm_last_error(), missing) != NULL, "no path in %s", sm_last_error());

    sm_data_t *data;
    ck_assert_fails(sm_data_load_hdf5(&data, NULL), SM_EINVAL, "path");
    ck_assert_fails(sm_data_load_hdf5(NULL, missing), SM_EINVAL, "out");
}
END_TEST

static herr_t count_prints(hid_t stack, void *data)
{
    (void)stack;
    ++*(int *)data;
    return 0;
}

/* HDF5 would print its error stack on failures; the library must not,
 * and must give the caller its own error handler back. */
START_TEST(load_never_prints_and_restores_handler)
{
    int prints = 0;
    H5Eset_auto2(H5E_DEFAULT, count_prints, &prints);
    const char *text = sm_test_tmp_path("quiet.h5");
    FILE *f = fopen(text, "w");
    fputs("not hdf5", f);
    fclose(f);
    sm_data_t *data;
    ck_assert_int_eq(sm_data_load_hdf5(&data, text), SM_EIO);
    H5Fclose(map_file(text, 0));
    hsize_t n = NT;
    const int16_t shorts[NT] = {1, 1, 1, 1, 1, 1};
    hid_t file = H5Fopen(text, H5F_ACC_RDWR, H5P_DEFAULT);
    put(file, "mask", H5T_NATIVE_INT16, 1, &n, shorts);
    H5Fclose(file);
    ck_assert_int_eq(sm_data_load_hdf5(&data, text), SM_EFORMAT);
    ck_assert_int_eq(prints, 0);

    H5E_auto2_t func;
    void *client;
    H5Eget_auto2(H5E_DEFAULT, &func, &client);
    ck_assert_ptr_eq((void *)func, (void *)count_prints);
    ck_assert_ptr_eq(client, &prints);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}
END_TEST

START_TEST(walkers_load)
{
    const char *path = sm_test_tmp_path("p0.h5");
    double p0[4][3] = {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}, {10, 11, 0.5}};
    hsize_t dims[2] = {4, 3};
    hid_t file = new_file(path);
    put(file, "p0", H5T_NATIVE_DOUBLE, 2, dims, p0);
    H5Fclose(file);
    double got[12];
    ck_assert_int_eq(sm_data_load_walkers(path, 4, 3, got), SM_OK);
    for (int k = 0; k < 12; k++)
        ck_assert_double_eq(got[k], p0[k / 3][k % 3]);
    ck_assert_fails(sm_data_load_walkers(path, 6, 3, got), SM_EFORMAT,
                    "p0: shape (4, 3) does not match the run's (n_walkers, n_dim) = (6, 3)");

    p0[2][1] = NAN;
    file = new_file(path);
    put(file, "p0", H5T_NATIVE_DOUBLE, 2, dims, p0);
    H5Fclose(file);
    ck_assert_fails(sm_data_load_walkers(path, 4, 3, got), SM_EINVAL,
                    "p0: NaN at walker 2, parameter 1");

    file = new_file(path);
    put(file, "walkers", H5T_NATIVE_DOUBLE, 2, dims, p0);
    H5Fclose(file);
    ck_assert_fails(sm_data_load_walkers(path, 4, 3, got), SM_EFORMAT, "missing dataset 'p0'");
    ck_assert_fails(sm_data_load_walkers(sm_test_tmp_path("no-p0.h5"), 4, 3, got), SM_EIO,
                    "no-p0.h5: No such file");
    ck_assert_fails(sm_data_load_walkers(NULL, 4, 3, got), SM_EINVAL, "path");
    ck_assert_fails(sm_data_load_walkers(path, SIZE_MAX / 2, 3, got), SM_EINVAL,
                    "initial walkers: 9223372036854775807 x 3 overflows");
}
END_TEST

/* A FIFO, a directory and a device are refused at once, naming the path
 * and what it is (a FIFO used to block the open forever). */
START_TEST(load_refuses_non_regular_files)
{
    char fifo[4096], dir[4096];
    snprintf(fifo, sizeof fifo, "%s", sm_test_tmp_path("input.fifo"));
    snprintf(dir, sizeof dir, "%s", sm_test_tmp_path("input-dir.h5"));
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    time_t start = time(NULL);
    char want[4200];
    snprintf(want, sizeof want, "HDF5 input %s is a FIFO (named pipe), not a regular file", fifo);
    expect_load_failure(fifo, SM_EIO, want);
    snprintf(want, sizeof want, "HDF5 input %s is a directory, not a regular file", dir);
    expect_load_failure(dir, SM_EIO, want);
    expect_load_failure("/dev/null", SM_EIO,
                        "HDF5 input /dev/null is a character device, not a regular file");
    double p0[6];
    snprintf(want, sizeof want, "initial walkers file %s is a FIFO (named pipe)", fifo);
    ck_assert_fails(sm_data_load_walkers(fifo, 2, 3, p0), SM_EIO, want);
    /* The helper every HDF5 reader and the run file go through. */
    hid_t file = H5I_INVALID_HID;
    snprintf(want, sizeof want, "HDF5 file %s is a FIFO (named pipe)", fifo);
    ck_assert_fails(sm_h5_open_file(fifo, H5F_ACC_RDWR, &file), SM_EIO, want);
    ck_assert_int_lt(file, 0);
    ck_assert_int_le(time(NULL) - start, 5);
}
END_TEST

/* Datasets whose values the file does not hold are refused before any
 * buffer is allocated for them. */
START_TEST(load_refuses_unstored_data)
{
    const char *path = sm_test_tmp_path("unstored.h5");
    hsize_t n = NT, st[2] = {S, NT};
    fill_map();
    hid_t file = new_file(path);
    put(file, "delta_g_obs", H5T_NATIVE_DOUBLE, 1, &n, delta6);
    hid_t space = H5Screate_simple(2, st, NULL);
    H5Dclose(H5Dcreate2(file, "templates", H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT,
                        H5P_DEFAULT));
    H5Fclose(file);
    expect_load_failure(path, SM_EFORMAT,
                        "templates: 12 values need 96 bytes, but the file stores 0 bytes of them "
                        "(truncated, never written or damaged)");

    /* Compressed and never written. */
    file = new_file(path);
    put(file, "delta_g_obs", H5T_NATIVE_DOUBLE, 1, &n, delta6);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hsize_t chunk[2] = {1, NT};
    H5Pset_chunk(dcpl, 2, chunk);
    H5Pset_deflate(dcpl, 4);
    H5Dclose(H5Dcreate2(file, "templates", H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, dcpl,
                        H5P_DEFAULT));
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Fclose(file);
    expect_load_failure(path, SM_EFORMAT, "but the file stores 0 bytes of them compressed");

    /* 2^40 pixels and no templates: the map alone exceeds any memory. */
    shapes_only(path, (hsize_t)1 << 40, 0);
    expect_load_failure(path, SM_ENOMEM, "delta_g_obs: 1099511627776 elements need");
    /* S x N beyond memory. */
    shapes_only(path, (hsize_t)1 << 20, (hsize_t)1 << 20);
    expect_load_failure(path, SM_ENOMEM, "templates: 1099511627776 elements need");
}
END_TEST

/* A filter that writes but never has to undo anything. */
static size_t pass_through(unsigned flags, size_t n_values, const unsigned values[],
                           size_t nbytes, size_t *buf_size, void **buf)
{
    (void)flags, (void)n_values, (void)values, (void)buf_size, (void)buf;
    return nbytes;
}

/* Writes the test map with templates through filter id (registered for
 * the write only, named name), as h5py writes LZF or Blosc. */
static void write_filtered(const char *path, H5Z_filter_t id, const char *name)
{
    H5Z_class2_t cls = {H5Z_CLASS_T_VERS, id, 1, 1, name, NULL, NULL, pass_through};
    ck_assert_int_ge(H5Zregister(&cls), 0);
    hsize_t n = NT, st[2] = {S, NT}, chunk[2] = {1, NT};
    fill_map();
    hid_t file = new_file(path);
    put(file, "delta_g_obs", H5T_NATIVE_DOUBLE, 1, &n, delta6);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE), space = H5Screate_simple(2, st, NULL);
    H5Pset_chunk(dcpl, 2, chunk);
    ck_assert_int_ge(H5Pset_filter(dcpl, id, H5Z_FLAG_MANDATORY, 0, NULL), 0);
    hid_t dset = H5Dcreate2(file, "templates", H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, dcpl,
                            H5P_DEFAULT);
    ck_assert_int_ge(H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, tmpl6), 0);
    H5Dclose(dset);
    H5Sclose(space);
    H5Pclose(dcpl);
    H5Fclose(file);
    ck_assert_int_ge(H5Zunregister(id), 0);
}

START_TEST(load_names_missing_filters)
{
    const char *path = sm_test_tmp_path("filtered.h5");
    write_filtered(path, 32000, "lzf");
    expect_load_failure(path, SM_EFORMAT,
                        "dataset 'templates' uses filter LZF (id 32000), which this HDF5 "
                        "library lacks");
    write_filtered(path, 40000, "my own filter");
    expect_load_failure(path, SM_EFORMAT, "uses filter my own filter (id 40000)");
    write_filtered(path, 40001, NULL);
    expect_load_failure(path, SM_EFORMAT, "uses filter (unnamed) (id 40001)");
}
END_TEST

static Suite *data_suite(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, create_compacts_masked_pixels);
    tcase_add_test(tc, create_without_mask_uses_every_pixel);
    tcase_add_test(tc, digest_is_stable_and_sensitive);
    tcase_add_test(tc, create_rejects_bad_input);
    tcase_add_test(tc, load_reads_map_mask_names_and_injected);
    tcase_add_test(tc, load_accepts_bool_mask_and_fixed_names);
    tcase_add_test(tc, load_without_mask_rejects_unmasked_nan);
    tcase_add_test(tc, load_rejects_missing_datasets);
    tcase_add_test(tc, load_rejects_wrong_dtypes);
    tcase_add_test(tc, load_rejects_shape_mismatches);
    tcase_add_test(tc, load_rejects_unreadable_files);
    tcase_add_test(tc, load_never_prints_and_restores_handler);
    tcase_add_test(tc, walkers_load);
    tcase_add_test(tc, create_rejects_overflowing_values);
    tcase_add_test(tc, load_refuses_non_regular_files);
    tcase_add_test(tc, load_refuses_unstored_data);
    tcase_add_test(tc, load_names_missing_filters);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sm_test_run(data_suite());
}
