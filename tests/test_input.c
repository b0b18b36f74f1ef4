/* The one loader: HEALPix maps assembled into the used pixels (counts to
 * overdensity over a completeness mask, UNSEEN templates dropping pixels,
 * ordering and resolution conversion on request), every bad input naming
 * its file, and HDF5 inputs giving the same layout interface. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fitsio.h>
#include <hdf5.h>

#include "sysmap/input.h"
#include "fitstest.h"
#include "testutil.h"

#define NPIX2 48 /* NSIDE 2 */

/* Distinct scratch paths in this process's own folder, so that file names
 * (which name single-column templates) carry no prefix. */
static const char *tmp(const char *name)
{
    static char dir[8192], paths[16][8300];
    static int next;
    if (dir[0] == '\0') {
        snprintf(dir, sizeof dir, "%s", sm_test_tmp_path("input"));
        ck_assert_int_eq(mkdir(dir, 0755), 0);
    }
    char *p = paths[next++ % 16];
    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    return p;
}

static double counts_of(int p)
{
    return 10.0 + p % 5;
}

static double weight_of(int p)
{
    return p == 1 ? 0.0 : p == 2 ? SM_HPX_UNSEEN : (p >= 10 && p < 20) ? 0.5 : 1.0;
}

/* A counts map (UNSEEN at 0), a completeness mask (0 at 1, UNSEEN at 2,
 * 0.5 on 10..19), a one-column template file (UNSEEN at 3) and a
 * two-column one, all RING NSIDE 2. */
typedef struct {
    const char *map, *mask, *stars, *cond;
    sm_hpx_source_t templates[2];
} files_t;

static void make_files(files_t *f)
{
    double m[NPIX2], w[NPIX2], t[NPIX2], c[2 * NPIX2];
    for (int p = 0; p < NPIX2; p++) {
        m[p] = p == 0 ? SM_HPX_UNSEEN : counts_of(p);
        w[p] = weight_of(p);
        t[p] = p == 3 ? SM_HPX_UNSEEN : 0.1 * p;
        c[p] = sin(p);
        c[NPIX2 + p] = 1.0 + 0.01 * p * p;
    }
    f->map = tmp("counts.fits");
    f->mask = tmp("completeness.fits");
    f->stars = tmp("stars.fits");
    f->cond = tmp("conditions.fits");
    ft_write_map(f->map, "RING", 2, "N_GAL", m);
    ft_write_map(f->mask, "RING", 2, "FRACDET", w);
    ft_write_map(f->stars, "RING", 2, "VALUE", t);
    ft_header_t h = {"HEALPIX", "RING", "IMPLICIT", 2, NULL};
    ft_col_t cols[2] = {{"SEEING", "D", TDOUBLE, c, NPIX2},
                        {"AIRMASS", "D", TDOUBLE, c + NPIX2, NPIX2}};
    ft_write_table(f->cond, &h, NPIX2, 2, cols);
    f->templates[0] = (sm_hpx_source_t){f->stars, NULL};
    f->templates[1] = (sm_hpx_source_t){f->cond, NULL};
}

static void healpix_input(sm_input_t *in, files_t *f)
{
    sm_input_default(in);
    in->map = (sm_hpx_source_t){f->map, NULL};
    in->map_kind = SM_MAP_COUNTS;
    in->templates = f->templates;
    in->n_templates = 2;
    in->mask = (sm_hpx_source_t){f->mask, NULL};
}

static void load_ok(const sm_input_t *in, sm_data_t **data, sm_pixels_t **pixels)
{
    sm_status st = sm_input_load(in, data, pixels);
    ck_assert_msg(st == SM_OK, "load: %s", sm_last_error());
}

static void expect_error(const sm_input_t *in, sm_status want, const char *message,
                         const char *file)
{
    sm_data_t *data = (sm_data_t *)1;
    sm_pixels_t *pixels = (sm_pixels_t *)1;
    ck_assert_int_eq(sm_input_load(in, &data, &pixels), want);
    ck_assert_ptr_null(data);
    ck_assert_ptr_null(pixels);
    ck_assert_msg(strstr(sm_last_error(), message) != NULL, "'%s' not in '%s'", message,
                  sm_last_error());
    if (file != NULL)
        ck_assert_msg(strstr(sm_last_error(), file) != NULL, "'%s' not named in '%s'", file,
                      sm_last_error());
}

/* Files read a chunk at a time at the footprint (issue 14): NSIDE 128
 * (196608 pixels, three chunks), a partial map listing its pixels in
 * descending order, a full-sky template in 1024-value cells and a partial
 * template in a scrambled order, each value checked against its formula. */
#define NSIDE_BIG 128
#define NPIX_BIG (12 * NSIDE_BIG * NSIDE_BIG)

static double map_of(long long p) { return 0.001 * (double)(p % 97) - 0.05; }
static double cell_of(long long p) { return p % 10 == 4 ? SM_HPX_UNSEEN : sin((double)p); }
static double scrambled_of(long long p) { return 2.0 * cos((double)p); }

START_TEST(partial_sky_in_any_order)
{
    static long long map_pix[NPIX_BIG / 2], tpl_pix[NPIX_BIG];
    static double map_val[NPIX_BIG / 2], cells[NPIX_BIG], tpl_val[NPIX_BIG];
    long long n_map = 0, n_tpl = 0;
    for (long long p = NPIX_BIG - 2; p >= 0; p -= 2) {
        map_pix[n_map] = p;
        map_val[n_map++] = map_of(p);
    }
    for (long long p = 0; p < NPIX_BIG; p++)
        cells[p] = cell_of(p);
    for (long long k = 0; k < NPIX_BIG; k++) {
        long long p = k * 40501 % NPIX_BIG; /* 40501 is prime to 2^16 x 3 */
        if (p % 4 == 2)
            continue;
        tpl_pix[n_tpl] = p;
        tpl_val[n_tpl++] = scrambled_of(p);
    }
    const char *map = tmp("big_map.fits"), *full = tmp("big_cells.fits"),
               *part = tmp("big_part.fits");
    ft_header_t explicit_h = {"HEALPIX", "RING", "EXPLICIT", NSIDE_BIG, NULL};
    ft_header_t implicit_h = {"HEALPIX", "RING", "IMPLICIT", NSIDE_BIG, NULL};
    ft_col_t map_cols[2] = {{"PIXEL", "K", TLONGLONG, map_pix, n_map},
                            {"DELTA", "D", TDOUBLE, map_val, n_map}};
    ft_col_t cell_col = {"CELLS", "1024D", TDOUBLE, cells, NPIX_BIG};
    ft_col_t part_cols[2] = {{"PIXEL", "K", TLONGLONG, tpl_pix, n_tpl},
                             {"SCRAMBLED", "D", TDOUBLE, tpl_val, n_tpl}};
    ft_write_table(map, &explicit_h, n_map, 2, map_cols);
    ft_write_table(full, &implicit_h, NPIX_BIG / 1024, 1, &cell_col);
    ft_write_table(part, &explicit_h, n_tpl, 2, part_cols);

    sm_hpx_source_t templates[2] = {{full, NULL}, {part, NULL}};
    sm_input_t in;
    sm_input_default(&in);
    in.map = (sm_hpx_source_t){map, NULL};
    in.templates = templates;
    in.n_templates = 2;
    sm_data_t *data = NULL;
    sm_pixels_t *pixels = NULL;
    load_ok(&in, &data, &pixels);
    /* used: listed by the map (even), with a cell value (p % 10 != 4) and
     * listed by the partial template (p % 4 != 2) */
    size_t n = 0;
    for (long long p = 0; p < NPIX_BIG; p += 4)
        n += p % 10 != 4;
    ck_assert_uint_eq(sm_data_n_pix(data), n);
    ck_assert_uint_eq(sm_pixels_n_used(pixels), n);
    ck_assert_uint_eq(sm_pixels_n_dropped(pixels), (size_t)n_map - n);
    const int64_t *index = sm_pixels_index(pixels);
    const double *d = sm_data_delta(data), *t = sm_data_templates(data);
    for (long long p = 0, j = 0; p < NPIX_BIG; p += 4) {
        if (p % 10 == 4)
            continue;
        ck_assert_int_eq(index[j], p);
        ck_assert_msg(d[j] == map_of(p) && t[j] == cell_of(p) && t[n + j] == scrambled_of(p),
                      "pixel %lld", p);
        j++;
    }
    sm_pixels_free(pixels);
    sm_data_free(data);
}
END_TEST

START_TEST(counts_over_completeness)
{
    files_t f;
    sm_input_t in;
    make_files(&f);
    healpix_input(&in, &f);
    sm_data_t *data;
    sm_pixels_t *pix;
    load_ok(&in, &data, &pix);
    /* Used: 4..47 (0 UNSEEN map, 1 and 2 zero weight, 3 UNSEEN template). */
    size_t n = NPIX2 - 4;
    ck_assert_uint_eq(sm_data_n_pix(data), n);
    ck_assert_uint_eq(sm_data_n_sys(data), 3);
    ck_assert_uint_eq(sm_pixels_n_used(pix), n);
    ck_assert_uint_eq(sm_pixels_n_total(pix), NPIX2);
    ck_assert_uint_eq(sm_pixels_n_dropped(pix), 1);
    ck_assert_int_eq(sm_pixels_nside(pix), 2);
    ck_assert_int_eq(sm_pixels_order(pix), SM_HPX_RING);
    ck_assert_str_eq(sm_data_template_name(data, 0), "stars");
    ck_assert_str_eq(sm_data_template_name(data, 1), "SEEING");
    ck_assert_str_eq(sm_data_template_name(data, 2), "AIRMASS");
    /* nbar = sum n / sum w over the used pixels: 10 pixels of w = 0.5. */
    double sum_n = 0.0, sum_w = 0.0;
    for (int p = 4; p < NPIX2; p++) {
        sum_n += counts_of(p);
        sum_w += weight_of(p);
    }
    ck_assert_double_eq(sum_w, 39.0);
    const double *d = sm_data_delta(data), *t = sm_data_templates(data);
    for (size_t j = 0; j < n; j++) {
        int p = (int)j + 4;
        ck_assert_int_eq(sm_pixels_index(pix)[j], p);
        ck_assert_double_eq_tol(d[j], counts_of(p) / (sum_n / sum_w * weight_of(p)) - 1.0,
                                1e-15);
        ck_assert_double_eq(t[j], 0.1 * p);
        ck_assert_double_eq(t[n + j], sin(p));
        ck_assert_double_eq(t[2 * n + j], 1.0 + 0.01 * p * p);
    }
    sm_data_free(data);
    sm_pixels_free(pix);
}
END_TEST

START_TEST(overdensity_column_threshold_standardize)
{
    files_t f;
    sm_input_t in;
    make_files(&f);
    healpix_input(&in, &f);
    in.map_kind = SM_MAP_OVERDENSITY;
    in.mask_min = 0.5; /* drops the ten pixels of w = 0.5 too */
    in.standardize = 1;
    sm_hpx_source_t only[1] = {{f.cond, "airmass"}};
    in.templates = only;
    in.n_templates = 1;
    sm_data_t *data;
    sm_pixels_t *pix;
    load_ok(&in, &data, &pix);
    size_t n = sm_data_n_pix(data);
    ck_assert_uint_eq(n, NPIX2 - 3 - 10); /* pixel 3 is used: no template UNSEEN there */
    ck_assert_uint_eq(sm_pixels_n_dropped(pix), 0);
    ck_assert_str_eq(sm_data_template_name(data, 0), "AIRMASS");
    double mean = 0.0, ss = 0.0, raw_mean = 0.0, raw_ss = 0.0;
    for (size_t j = 0; j < n; j++) {
        int p = (int)sm_pixels_index(pix)[j];
        ck_assert(p >= 3 && !(p >= 10 && p < 20));
        ck_assert_double_eq(sm_data_delta(data)[j], counts_of(p)); /* taken as given */
        double raw = 1.0 + 0.01 * p * p;
        raw_mean += raw / (double)n;
        mean += sm_data_templates(data)[j] / (double)n;
    }
    for (size_t j = 0; j < n; j++) {
        int p = (int)sm_pixels_index(pix)[j];
        double raw = 1.0 + 0.01 * p * p;
        raw_ss += (raw - raw_mean) * (raw - raw_mean);
        ss += sm_data_templates(data)[j] * sm_data_templates(data)[j];
    }
    ck_assert_double_eq_tol(mean, 0.0, 1e-14);
    ck_assert_double_eq_tol(ss / (double)n, 1.0, 1e-13);
    int p0 = (int)sm_pixels_index(pix)[0];
    ck_assert_double_eq_tol(sm_data_templates(data)[0],
                            (1.0 + 0.01 * p0 * p0 - raw_mean) / sqrt(raw_ss / (double)n), 1e-13);
    sm_data_free(data);
    sm_pixels_free(pix);
}
END_TEST

/* A NESTED template whose value is its NESTED pixel number: after
 * conversion, RING pixels 0..3 hold 3, 7, 11, 15. A NSIDE 1 template whose
 * value is its base pixel: upgraded, RING pixels 0..3 hold 0..3. */
START_TEST(reorder_and_resample_on_request)
{
    files_t f;
    sm_input_t in;
    make_files(&f);
    double m[NPIX2], nest[NPIX2], base[12];
    for (int p = 0; p < NPIX2; p++) {
        m[p] = 0.01 * p;
        nest[p] = p;
    }
    for (int p = 0; p < 12; p++)
        base[p] = p;
    const char *map = tmp("delta.fits"), *tn = tmp("nested.fits"), *t1 = tmp("coarse.fits");
    ft_write_map(map, "RING", 2, "DELTA", m);
    ft_write_map(tn, "NESTED", 2, "T", nest);
    ft_write_map(t1, "RING", 1, "T", base);
    sm_hpx_source_t ts[2] = {{tn, NULL}, {t1, NULL}};
    sm_input_default(&in);
    in.map = (sm_hpx_source_t){map, NULL};
    in.templates = ts;
    in.n_templates = 2;
    expect_error(&in, SM_EINVAL, "ORDERING NESTED differs from the map's", tn);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "(setting reorder)"));
    in.reorder = 1;
    expect_error(&in, SM_EINVAL, "NSIDE 1 differs from the map's", t1);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "(setting resample)"));
    in.resample = 1;
    sm_data_t *data;
    sm_pixels_t *pix;
    load_ok(&in, &data, &pix);
    ck_assert_uint_eq(sm_data_n_pix(data), NPIX2);
    const double *t = sm_data_templates(data);
    double want_nest[4] = {3, 7, 11, 15};
    for (int p = 0; p < 4; p++) {
        ck_assert_double_eq(t[p], want_nest[p]);
        ck_assert_double_eq(t[NPIX2 + p], p);
    }
    sm_data_free(data);
    sm_pixels_free(pix);
}
END_TEST

START_TEST(bad_healpix_inputs)
{
    files_t f;
    sm_input_t in;
    make_files(&f);
    double v[NPIX2];
    const char *bad = tmp("bad.fits");

    for (int p = 0; p < NPIX2; p++)
        v[p] = SM_HPX_UNSEEN;
    ft_write_map(bad, "RING", 2, "N_GAL", v);
    healpix_input(&in, &f);
    in.map.path = bad;
    expect_error(&in, SM_EINVAL, "every pixel of column 'N_GAL' is UNSEEN", bad);

    for (int p = 0; p < NPIX2; p++)
        v[p] = 0.0;
    ft_write_map(bad, "RING", 2, "W", v);
    healpix_input(&in, &f);
    in.mask.path = bad;
    expect_error(&in, SM_EINVAL, "none of its 47 pixels with a value has mask weight > 0", bad);

    for (int p = 0; p < NPIX2; p++)
        v[p] = p == 9 ? NAN : p == 0 ? NAN : 1.0; /* pixel 0 is outside the footprint */
    ft_write_map(bad, "RING", 2, "T", v);
    healpix_input(&in, &f);
    sm_hpx_source_t one[1] = {{bad, NULL}};
    in.templates = one;
    in.n_templates = 1;
    expect_error(&in, SM_EINVAL, "NaN at pixel 9 of column 'T'", bad);

    for (int p = 0; p < NPIX2; p++)
        v[p] = p == 30 ? -1.0 : 5.0;
    ft_write_map(bad, "RING", 2, "N", v);
    healpix_input(&in, &f);
    in.map.path = bad;
    expect_error(&in, SM_EINVAL, "negative count -1 at pixel 30", bad);
    for (int p = 0; p < NPIX2; p++)
        v[p] = 0.0;
    ft_write_map(bad, "RING", 2, "N", v);
    expect_error(&in, SM_EINVAL, "no galaxies in the 45 used pixels", bad);

    healpix_input(&in, &f);
    in.standardize = 1;
    for (int p = 0; p < NPIX2; p++)
        v[p] = 2.5;
    ft_write_map(bad, "RING", 2, "FLAT", v);
    in.templates = one;
    in.n_templates = 1;
    expect_error(&in, SM_EINVAL, "template 1 ('bad') is constant over the 45 used pixels", NULL);

    healpix_input(&in, &f);
    sm_hpx_source_t missing_col[1] = {{f.cond, "EBV"}};
    in.templates = missing_col;
    in.n_templates = 1;
    expect_error(&in, SM_EFORMAT, "no column 'EBV' (value columns: 'SEEING', 'AIRMASS')", f.cond);
    ft_write_image(bad);
    one[0].column = NULL;
    in.templates = one;
    expect_error(&in, SM_EFORMAT, "not a HEALPix map", bad);
    ft_write_map(bad, "RING", 1, "T", v);
    expect_error(&in, SM_EINVAL, "NSIDE 1 differs from the map's", bad);

    healpix_input(&in, &f);
    in.n_templates = 0;
    expect_error(&in, SM_EINVAL, "no template maps", NULL);
    healpix_input(&in, &f);
    in.mask_min = -0.5;
    expect_error(&in, SM_EINVAL, "mask threshold -0.5", NULL);
    healpix_input(&in, &f);
    in.hdf5 = "x.h5";
    expect_error(&in, SM_EINVAL, "both an HDF5 file (x.h5) and a HEALPix map", NULL);
    sm_input_default(&in);
    expect_error(&in, SM_EINVAL, "no galaxy map", NULL);
}
END_TEST

static void write_h5(const char *path, int with_mask)
{
    double d[10], t[20];
    uint8_t mask[10];
    for (int j = 0; j < 10; j++) {
        d[j] = 0.1 * j;
        t[j] = j;
        t[10 + j] = j * j;
        mask[j] = j != 2 && j != 7;
    }
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dn[1] = {10}, dt[2] = {2, 10};
    hid_t s1 = H5Screate_simple(1, dn, NULL), s2 = H5Screate_simple(2, dt, NULL);
    hid_t a = H5Dcreate2(f, "delta_g_obs", H5T_IEEE_F64LE, s1, H5P_DEFAULT, H5P_DEFAULT,
                         H5P_DEFAULT);
    hid_t b = H5Dcreate2(f, "templates", H5T_IEEE_F64LE, s2, H5P_DEFAULT, H5P_DEFAULT,
                         H5P_DEFAULT);
    H5Dwrite(a, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, d);
    H5Dwrite(b, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, t);
    if (with_mask) {
        hid_t c = H5Dcreate2(f, "mask", H5T_STD_U8LE, s1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        H5Dwrite(c, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, mask);
        H5Dclose(c);
    }
    H5Dclose(a);
    H5Dclose(b);
    H5Sclose(s1);
    H5Sclose(s2);
    H5Fclose(f);
}

/* Values whose squares overflow are refused where they are read, named by
 * file, column and HEALPix pixel; so is a FIFO given as a template. */
START_TEST(hostile_healpix_inputs)
{
    files_t f;
    sm_input_t in;
    make_files(&f);
    double v[NPIX2];
    const char *bad = tmp("huge.fits");
    for (int p = 0; p < NPIX2; p++)
        v[p] = p == 5 ? 1e300 : 0.1 * p;
    ft_write_map(bad, "RING", 2, "T", v);
    healpix_input(&in, &f);
    sm_hpx_source_t one[1] = {{bad, NULL}};
    in.templates = one;
    in.n_templates = 1;
    expect_error(&in, SM_EINVAL,
                 "value 1e+300 at pixel 5 of column 'T' is beyond +-1e+100, where squares of "
                 "values overflow",
                 bad);
    /* Counts over a mask weight of 1e-300 make a huge overdensity. */
    for (int p = 0; p < NPIX2; p++)
        v[p] = p == 7 ? 1e-300 : 1.0;
    ft_write_map(bad, "RING", 2, "W", v);
    healpix_input(&in, &f);
    in.mask.path = bad;
    expect_error(&in, SM_EINVAL, "pixel 7: 12 galaxies at mask weight 1e-300 give an overdensity",
                 f.map);

    const char *fifo = tmp("template.fifo");
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    healpix_input(&in, &f);
    one[0].path = fifo;
    in.templates = one;
    in.n_templates = 1;
    expect_error(&in, SM_EIO, "is a FIFO (named pipe), not a regular file", fifo);
}
END_TEST

START_TEST(hdf5_through_the_same_loader)
{
    const char *path = tmp("input.h5");
    sm_input_t in;
    sm_input_default(&in);
    in.hdf5 = path;
    for (int with_mask = 0; with_mask < 2; with_mask++) {
        write_h5(path, with_mask);
        sm_data_t *data;
        sm_pixels_t *pix;
        load_ok(&in, &data, &pix);
        size_t n = with_mask ? 8 : 10;
        ck_assert_uint_eq(sm_data_n_pix(data), n);
        ck_assert_uint_eq(sm_pixels_n_used(pix), n);
        ck_assert_uint_eq(sm_pixels_n_total(pix), 10);
        ck_assert_int_eq(sm_pixels_nside(pix), 0);
        for (size_t j = 0; j < n; j++) {
            int64_t p = sm_pixels_index(pix)[j];
            ck_assert_int_eq(p, with_mask ? (int64_t)(j + (j >= 2) + (j >= 6)) : (int64_t)j);
            ck_assert_double_eq(sm_data_delta(data)[j], 0.1 * (double)p);
            ck_assert_double_eq(sm_data_templates(data)[n + j], (double)(p * p));
        }
        sm_data_free(data);
        sm_pixels_free(pix);
    }
    in.hdf5 = tmp("nope.h5");
    expect_error(&in, SM_EIO, "nope.h5", NULL);
}
END_TEST

START_TEST(pixel_layout_checks)
{
    sm_pixels_t *p = NULL;
    int64_t idx[2] = {0, 5};
    ck_assert_int_eq(sm_pixels_create(&p, 5, 2, idx, 0, SM_HPX_RING), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "index 5 at 1 is outside 0..4"));
    ck_assert_int_eq(sm_pixels_create(&p, 1, 2, idx, 0, SM_HPX_RING), SM_EINVAL);
    ck_assert_int_eq(sm_pixels_create(&p, 6, 2, idx, 0, SM_HPX_RING), SM_OK);
    ck_assert_int_eq(sm_pixels_index(p)[1], 5);
    sm_pixels_free(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("input");
    TCase *tc = tcase_create("input");
    tcase_add_test(tc, counts_over_completeness);
    tcase_add_test(tc, overdensity_column_threshold_standardize);
    tcase_add_test(tc, reorder_and_resample_on_request);
    tcase_add_test(tc, bad_healpix_inputs);
    tcase_add_test(tc, hdf5_through_the_same_loader);
    tcase_add_test(tc, hostile_healpix_inputs);
    tcase_add_test(tc, pixel_layout_checks);
    tcase_add_test(tc, partial_sky_in_any_order);
    suite_add_tcase(s, tc);
    return sm_test_run(s);
}
