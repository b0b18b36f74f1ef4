/* HEALPix map files: reading what survey tools write (files made here with
 * cfitsio directly), ordering and resolution changes against hand-known
 * pixel numbers, writing, and every malformed file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fitsio.h>

#include "sysmap/healpix.h"
#include "fitstest.h"
#include "testutil.h"

static sm_hpx_map_t *read_ok(const char *path, const char *column)
{
    sm_hpx_map_t *m = NULL;
    sm_status st = sm_hpx_read(&m, path, column);
    ck_assert_msg(st == SM_OK, "%s: %s", path, sm_last_error());
    return m;
}

static void expect_read_error(const char *path, const char *column, sm_status want,
                              const char *message)
{
    sm_hpx_map_t *m = (sm_hpx_map_t *)1;
    sm_status st = sm_hpx_read(&m, path, column);
    ck_assert_int_eq(st, want);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(sm_last_error(), message) != NULL, "'%s' not in '%s'", message,
                  sm_last_error());
    ck_assert_msg(strstr(sm_last_error(), path) != NULL, "file not named in '%s'",
                  sm_last_error());
}

START_TEST(full_sky_double)
{
    const char *path = sm_test_tmp_path("full.fits");
    double v[48];
    for (int p = 0; p < 48; p++)
        v[p] = p == 5 ? SM_HPX_UNSEEN : 0.5 * p;
    ft_write_map(path, "RING", 2, "SIGNAL", v);
    sm_hpx_map_t *m = read_ok(path, NULL);
    ck_assert_int_eq(m->nside, 2);
    ck_assert_int_eq(m->order, SM_HPX_RING);
    ck_assert_int_eq(m->partial, 0);
    ck_assert_uint_eq(m->n_cols, 1);
    ck_assert_str_eq(m->col_names[0], "SIGNAL");
    ck_assert_str_eq(m->path, path);
    for (int p = 0; p < 48; p++)
        ck_assert_double_eq(m->values[p], v[p]);
    sm_hpx_free(m);
}
END_TEST

/* healpy's layout: float32 values in 1024-element vector cells, UNSEEN
 * rounded to float32, and NESTED ordering. */
START_TEST(full_sky_vector_float32)
{
    const char *path = sm_test_tmp_path("vector.fits");
    enum { NPIX = 12 * 16 * 16 };
    static float v[NPIX];
    for (int p = 0; p < NPIX; p++)
        v[p] = p % 7 == 0 ? (float)SM_HPX_UNSEEN : (float)p * 0.25f;
    ft_header_t h = {"HEALPIX", "NESTED", "IMPLICIT", 16, NULL};
    ft_col_t col = {"TEMPERATURE", "1024E", TFLOAT, v, NPIX};
    ft_write_table(path, &h, NPIX / 1024, 1, &col);
    sm_hpx_map_t *m = read_ok(path, NULL);
    ck_assert_int_eq(m->order, SM_HPX_NESTED);
    ck_assert_int_eq(m->nside, 16);
    for (int p = 0; p < NPIX; p++)
        ck_assert_double_eq(m->values[p], p % 7 == 0 ? SM_HPX_UNSEEN : (double)p * 0.25);
    sm_hpx_free(m);
}
END_TEST

/* A partial-sky file lists its pixels (healpy's partial=True); several
 * value columns; an integer column whose TNULL marks missing values. */
START_TEST(partial_sky_columns)
{
    const char *path = sm_test_tmp_path("partial.fits");
    int pix[4] = {40, 3, 17, 0};
    double sig[4] = {1.5, -2.0, 3.25, 0.0};
    int cnt[4] = {7, -99, 12, 0};
    const char *extra[] = {"TNULL3=-99", NULL};
    ft_header_t h = {"HEALPIX", "RING", "EXPLICIT", 2, extra};
    ft_col_t cols[3] = {{"PIXEL", "J", TINT, pix, 4},
                        {"SIGNAL", "D", TDOUBLE, sig, 4},
                        {"N_GAL", "J", TINT, cnt, 4}};
    ft_write_table(path, &h, 4, 3, cols);
    sm_hpx_map_t *m = read_ok(path, NULL);
    ck_assert_int_eq(m->partial, 1);
    ck_assert_uint_eq(m->n_cols, 2);
    ck_assert_str_eq(m->col_names[0], "SIGNAL");
    ck_assert_str_eq(m->col_names[1], "N_GAL");
    for (int p = 0; p < 48; p++) {
        double want_s = SM_HPX_UNSEEN, want_n = SM_HPX_UNSEEN;
        for (int r = 0; r < 4; r++)
            if (pix[r] == p) {
                want_s = sig[r];
                want_n = cnt[r] == -99 ? SM_HPX_UNSEEN : cnt[r];
            }
        ck_assert_double_eq(m->values[p], want_s);
        ck_assert_double_eq(m->values[48 + p], want_n);
    }
    sm_hpx_free(m);
    m = read_ok(path, "n_gal"); /* case-insensitive */
    ck_assert_uint_eq(m->n_cols, 1);
    ck_assert_str_eq(m->col_names[0], "N_GAL");
    ck_assert_double_eq(m->values[40], 7.0);
    sm_hpx_free(m);
    expect_read_error(path, "DEPTH", SM_EFORMAT, "no column 'DEPTH' (value columns: 'SIGNAL', "
                                                 "'N_GAL')");
}
END_TEST

START_TEST(write_read_back)
{
    const char *path = sm_test_tmp_path("written.fits");
    int64_t pix[3] = {2, 11, 7};
    double values[6] = {0.1, 0.2, 0.3, 1.0, 2.0, 3.0};
    const char *names[2] = {"A", "B"};
    sm_hpx_key_t key = {"SM_NOTE", "hello", "a comment"};
    ck_assert_int_eq(sm_hpx_write(path, 1, SM_HPX_NESTED, 3, pix, 2, names, values, &key, 1),
                     SM_OK);
    char tmp[8300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ck_assert_int_ne(access(tmp, F_OK), 0);
    sm_hpx_map_t *m = read_ok(path, NULL);
    ck_assert_int_eq(m->order, SM_HPX_NESTED);
    ck_assert_int_eq(m->nside, 1);
    ck_assert_uint_eq(m->n_cols, 2);
    for (int p = 0; p < 12; p++) {
        double a = SM_HPX_UNSEEN, b = SM_HPX_UNSEEN;
        for (int j = 0; j < 3; j++)
            if (pix[j] == p) {
                a = values[j];
                b = values[3 + j];
            }
        ck_assert_double_eq(m->values[p], a);
        ck_assert_double_eq(m->values[12 + p], b);
    }
    sm_hpx_free(m);
    /* The header a FITS reader sees. */
    fitsfile *f = NULL;
    int status = 0, type = 0;
    char v[FLEN_VALUE];
    fits_open_diskfile(&f, path, READONLY, &status);
    fits_movabs_hdu(f, 2, &type, &status);
    fits_read_key(f, TSTRING, "INDXSCHM", v, NULL, &status);
    ck_assert_str_eq(v, "IMPLICIT");
    fits_read_key(f, TSTRING, "SM_NOTE", v, NULL, &status);
    ck_assert_str_eq(v, "hello");
    ck_assert_int_eq(status, 0);
    fits_close_file(f, &status);
    /* A folder that does not exist: an error naming the path, nothing left. */
    ck_assert_int_eq(sm_hpx_write("/nonexistent-dir/x.fits", 1, SM_HPX_RING, 3, pix, 2, names,
                                  values, NULL, 0),
                     SM_EIO);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "/nonexistent-dir/x.fits"));
    int64_t bad[1] = {12};
    ck_assert_int_eq(sm_hpx_write(path, 1, SM_HPX_RING, 1, bad, 1, names, values, NULL, 0),
                     SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "pixel 12 is outside"));
}
END_TEST

/* NSIDE 2: the four northernmost pixels, RING 0..3, are sub-pixel 3 (the
 * north corner) of base pixels 0..3 in NESTED: 3, 7, 11, 15. */
START_TEST(reorder_known_pixels)
{
    sm_hpx_map_t m = {0};
    double v[48];
    for (int p = 0; p < 48; p++)
        v[p] = p;
    char *names[1] = {"X"};
    m.path = "mem";
    m.nside = 2;
    m.order = SM_HPX_RING;
    m.n_cols = 1;
    m.col_names = names;
    m.values = v;
    ck_assert_int_eq(sm_hpx_reorder(&m, SM_HPX_NESTED), SM_OK);
    ck_assert_int_eq(m.order, SM_HPX_NESTED);
    ck_assert_double_eq(v[3], 0.0);
    ck_assert_double_eq(v[7], 1.0);
    ck_assert_double_eq(v[11], 2.0);
    ck_assert_double_eq(v[15], 3.0);
    ck_assert_int_eq(sm_hpx_reorder(&m, SM_HPX_RING), SM_OK);
    for (int p = 0; p < 48; p++)
        ck_assert_double_eq(v[p], p);
    m.nside = 3; /* RING allows any NSIDE, NESTED does not */
    ck_assert_int_eq(sm_hpx_reorder(&m, SM_HPX_NESTED), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "NSIDE 3 is not a power of two"));
}
END_TEST

/* Degrading averages the observed sub-pixels (contiguous in NESTED),
 * upgrading copies the parent. */
START_TEST(resample_nested)
{
    sm_hpx_map_t *m = calloc(1, sizeof *m);
    m->path = strdup("mem");
    m->nside = 2;
    m->order = SM_HPX_NESTED;
    m->n_cols = 1;
    m->col_names = calloc(1, sizeof(char *));
    m->col_names[0] = strdup("X");
    m->values = malloc(48 * sizeof(double));
    for (int p = 0; p < 48; p++)
        m->values[p] = p;
    m->values[1] = SM_HPX_UNSEEN;                   /* parent 0: mean of 0, 2, 3 */
    for (int k = 4; k < 8; k++)
        m->values[k] = SM_HPX_UNSEEN;               /* parent 1: nothing observed */
    ck_assert_int_eq(sm_hpx_resample(m, 1), SM_OK);
    ck_assert_int_eq(m->nside, 1);
    ck_assert_double_eq_tol(m->values[0], 5.0 / 3.0, 1e-15);
    ck_assert_double_eq(m->values[1], SM_HPX_UNSEEN);
    ck_assert_double_eq(m->values[2], (8 + 9 + 10 + 11) / 4.0);
    ck_assert_double_eq(m->values[11], (44 + 45 + 46 + 47) / 4.0);
    ck_assert_int_eq(sm_hpx_resample(m, 2), SM_OK);
    for (int k = 8; k < 12; k++)
        ck_assert_double_eq(m->values[k], (8 + 9 + 10 + 11) / 4.0);
    ck_assert_int_eq(sm_hpx_resample(m, 3), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "powers of two"));
    sm_hpx_free(m);
}
END_TEST

/* NSIDE 1, pixel 0 (either ordering): z = 2/3, phi = pi/4. */
START_TEST(pixel_angles)
{
    int64_t pix[2] = {0, 4};
    double theta[2], phi[2];
    sm_hpx_pix2ang(1, SM_HPX_RING, 2, pix, theta, phi);
    ck_assert_double_eq_tol(theta[0], acos(2.0 / 3.0), 1e-14);
    ck_assert_double_eq_tol(phi[0], atan(1.0), 1e-14);
    ck_assert_double_eq_tol(theta[1], 2 * atan(1.0), 1e-14); /* equatorial base pixel 4 */
    ck_assert_double_eq_tol(phi[1], 0.0, 1e-14);
    sm_hpx_pix2ang(1, SM_HPX_NESTED, 1, pix, theta, phi);
    ck_assert_double_eq_tol(theta[0], acos(2.0 / 3.0), 1e-14);
}
END_TEST

START_TEST(unseen_tolerance)
{
    ck_assert(sm_hpx_is_unseen(SM_HPX_UNSEEN));
    ck_assert(sm_hpx_is_unseen((double)(float)SM_HPX_UNSEEN));
    ck_assert(!sm_hpx_is_unseen(-1.6e30));
    ck_assert(!sm_hpx_is_unseen(0.0));
    ck_assert(!sm_hpx_is_unseen(NAN));
}
END_TEST

/* Every malformed file: an error naming the file and the problem. */
START_TEST(bad_files)
{
    double v[48] = {0};
    int pix[2] = {0, 1};
    char path[8192];
    expect_read_error(sm_test_tmp_path("missing.fits"), NULL, SM_EIO,
                      "cannot open HEALPix map");
    ck_assert_msg(strstr(sm_last_error(), "No such file or directory") != NULL, "%s",
                  sm_last_error());
    snprintf(path, sizeof path, "%s", sm_test_tmp_path("bad.fits"));
    FILE *txt = fopen(path, "w");
    fputs("PIXTYPE = HEALPIX\n", txt);
    fclose(txt);
    expect_read_error(path, NULL, SM_EIO, "cannot read it as FITS");
    ft_write_image(path);
    expect_read_error(path, NULL, SM_EFORMAT, "not a HEALPix map: no binary table");

    ft_col_t col = {"SIGNAL", "D", TDOUBLE, v, 48};
    ft_header_t h = {NULL, "RING", NULL, 2, NULL};
    ft_write_table(path, &h, 48, 1, &col);
    expect_read_error(path, NULL, SM_EFORMAT, "no PIXTYPE keyword");
    h.pixtype = "CAR";
    ft_write_table(path, &h, 48, 1, &col);
    expect_read_error(path, NULL, SM_EFORMAT, "PIXTYPE is 'CAR', not 'HEALPIX'");
    h.pixtype = "HEALPIX";
    h.ordering = NULL;
    ft_write_table(path, &h, 48, 1, &col);
    expect_read_error(path, NULL, SM_EFORMAT, "no ORDERING keyword");
    h.ordering = "GALACTIC";
    ft_write_table(path, &h, 48, 1, &col);
    expect_read_error(path, NULL, SM_EFORMAT, "ORDERING is 'GALACTIC'");
    h.ordering = "RING";
    h.nside = -1;
    ft_write_table(path, &h, 48, 1, &col);
    expect_read_error(path, NULL, SM_EFORMAT, "no NSIDE keyword");
    h.nside = 4; /* 48 values do not make an NSIDE 4 map */
    ft_write_table(path, &h, 48, 1, &col);
    expect_read_error(path, NULL, SM_EFORMAT,
                      "column 'SIGNAL' holds 48 values, but NSIDE 4 needs 12 x 4^2 = 192");
    h.nside = 0;
    ft_write_table(path, &h, 48, 1, &col);
    expect_read_error(path, NULL, SM_EFORMAT, "NSIDE 0 is out of range");
    h.nside = 3;
    h.ordering = "NESTED";
    col.n = 108;
    double v3[108] = {0};
    col.data = v3;
    ft_write_table(path, &h, 108, 1, &col);
    expect_read_error(path, NULL, SM_EFORMAT, "NSIDE 3 of a NESTED map is not a power of two");

    char names[2][8] = {"a", "b"};
    ft_col_t str = {"NAME", "8A", TSTRING, (char *[]){names[0], names[1]}, 2};
    ft_header_t hs = {"HEALPIX", "RING", "EXPLICIT", 1, NULL};
    ft_col_t pcol = {"PIXEL", "J", TINT, pix, 2};
    ft_write_table(path, &hs, 2, 1, &str);
    expect_read_error(path, NULL, SM_EFORMAT, "without a PIXEL or INDEX column");
    ft_col_t two[2] = {pcol, str};
    ft_write_table(path, &hs, 2, 2, two);
    expect_read_error(path, NULL, SM_EFORMAT, "column 'NAME' is not a real or integer column");
    ft_col_t dup[2] = {pcol, {"SIGNAL", "D", TDOUBLE, v, 2}};
    pix[1] = 0;
    ft_write_table(path, &hs, 2, 2, dup);
    expect_read_error(path, NULL, SM_EFORMAT, "row 2: pixel 0 is listed twice");
    pix[1] = 12;
    ft_write_table(path, &hs, 2, 2, dup);
    expect_read_error(path, NULL, SM_EFORMAT, "row 2: pixel 12 is outside 0..11 for NSIDE 1");
    pix[1] = 1;
    ft_col_t vec[2] = {pcol, {"SIGNAL", "2D", TDOUBLE, v, 4}};
    ft_write_table(path, &hs, 2, 2, vec);
    expect_read_error(path, NULL, SM_EFORMAT, "holds 2 values per row; a partial-sky map has one");
    ft_col_t fpix[2] = {{"PIXEL", "D", TDOUBLE, v, 2}, {"SIGNAL", "D", TDOUBLE, v, 2}};
    ft_write_table(path, &hs, 2, 2, fpix);
    expect_read_error(path, NULL, SM_EFORMAT, "pixel column 'PIXEL' is not an integer column");
}
END_TEST

/* NSIDE must be an integer as written (cfitsio would truncate 8.5). */
START_TEST(nside_must_be_an_integer)
{
    double v[768];
    for (int p = 0; p < 768; p++)
        v[p] = 0.001 * p;
    char path[4096];
    snprintf(path, sizeof path, "%s", sm_test_tmp_path("nside.fits"));
    ft_write_map(path, "RING", 8, "SIGNAL", v);
    ft_set_key(path, "NSIDE", 8.5, NULL);
    expect_read_error(path, NULL, SM_EFORMAT, "NSIDE 8.5 is not an integer");
    ft_set_key(path, "NSIDE", 1e10, NULL);
    expect_read_error(path, NULL, SM_EFORMAT, "NSIDE 10000000000 is out of range 1..2^29");
    ft_set_key(path, "NSIDE", 0, "eight");
    expect_read_error(path, NULL, SM_EFORMAT, "no NSIDE keyword (or not a number)");
    ft_set_key(path, "NSIDE", 8.0, NULL); /* a real that is an integer is one */
    sm_hpx_map_t *m = read_ok(path, NULL);
    ck_assert_int_eq(m->nside, 8);
    ck_assert_double_eq(m->values[767], 0.767);
    sm_hpx_free(m);
}
END_TEST

/* Headers that promise more than a file can hold: refused before any of
 * it is allocated, naming NSIDE and the size. */
START_TEST(hostile_headers)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", sm_test_tmp_path("hostile.fits"));
    /* tests/regressions/fits/make_nside29_header.py: NSIDE 2^29, two byte
     * columns of 2^30 values per row, 12 x 2^28 rows. */
    const char *nside29[] = {
        "XTENSION= 'BINTABLE'",           "BITPIX  =                    8",
        "NAXIS   =                    2", "NAXIS1  =           2147483648",
        "NAXIS2  =           3221225472", "PCOUNT  =                    0",
        "GCOUNT  =                    1", "TFIELDS =                    2",
        "TTYPE1  = 'A       '",           "TFORM1  = '1073741824B'",
        "TTYPE2  = 'B       '",           "TFORM2  = '1073741824B'",
        "PIXTYPE = 'HEALPIX '",           "ORDERING= 'RING    '",
        "NSIDE   =            536870912", "INDXSCHM= 'IMPLICIT'"};
    ft_write_cards(path, nside29, 16, 28800);
    expect_read_error(path, NULL, SM_EINVAL,
                      "NSIDE 536870912 (12 x NSIDE^2 = 3458764513820540928 pixels, 2 columns): "
                      "map values: 6917529027641081856 x 8 overflows the size range");

    /* NSIDE 1024 in 100 bytes: 12582912 rows of one double (in 2880-byte blocks). */
    const char *short1024[] = {
        "XTENSION= 'BINTABLE'",           "BITPIX  =                    8",
        "NAXIS   =                    2", "NAXIS1  =                    8",
        "NAXIS2  =             12582912", "PCOUNT  =                    0",
        "GCOUNT  =                    1", "TFIELDS =                    1",
        "TTYPE1  = 'SIGNAL  '",           "TFORM1  = 'D       '",
        "PIXTYPE = 'HEALPIX '",           "ORDERING= 'NESTED  '",
        "NSIDE   =                 1024"};
    ft_write_cards(path, short1024, 13, 100);
    expect_read_error(path, NULL, SM_EFORMAT,
                      "the table's header (NSIDE 1024) promises 100664640 bytes of data, but the "
                      "file holds 100: truncated or a bad header");

    /* Rows times values per row beyond any count. */
    const char *wrap[] = {
        "XTENSION= 'BINTABLE'",           "BITPIX  =                    8",
        "NAXIS   =                    2", "NAXIS1  =              8388608",
        "NAXIS2  =        1099511627776", "PCOUNT  =                    0",
        "GCOUNT  =                    1", "TFIELDS =                    1",
        "TTYPE1  = 'SIGNAL  '",           "TFORM1  = '8388608B'",
        "PIXTYPE = 'HEALPIX '",           "ORDERING= 'RING    '",
        "NSIDE   =                    1"};
    ft_write_cards(path, wrap, 13, 100);
    expect_read_error(path, NULL, SM_EFORMAT,
                      "column 'SIGNAL': 1099511627776 rows of 8388608 values overflow a count");

    /* Compressed files whose stated size deflate cannot reach (cfitsio
     * would allocate it): a gzip trailer and a zip header. */
    unsigned char gz[64] = {0x1f, 0x8b, 8, 0};
    memset(gz + 60, 0xff, 4);
    FILE *out = fopen(path, "wb");
    ck_assert_uint_eq(fwrite(gz, 1, sizeof gz, out), sizeof gz);
    fclose(out);
    expect_read_error(path, NULL, SM_EFORMAT,
                      "its gzip trailer claims 4294967295 bytes uncompressed, more than 64 "
                      "compressed bytes can hold: a damaged file");
    unsigned char zip[26] = {'P', 'K', 3, 4};
    memset(zip + 22, 0x7f, 4);
    out = fopen(path, "wb");
    ck_assert_uint_eq(fwrite(zip, 1, sizeof zip, out), sizeof zip);
    fclose(out);
    expect_read_error(path, NULL, SM_EFORMAT, "its zip header claims 2139062143 bytes");

    /* Header cards cfitsio 4.2 would overrun its buffers on (an unquoted
     * 70-character TTYPE1 aborts a fortified build) or that are no text. */
    char long_name[96];
    snprintf(long_name, sizeof long_name, "TTYPE1  = %070d", 7);
    const char *overlong[] = {
        "XTENSION= 'BINTABLE'",           "BITPIX  =                    8",
        "NAXIS   =                    2", "NAXIS1  =                    8",
        "NAXIS2  =                   12", "PCOUNT  =                    0",
        "GCOUNT  =                    1", "TFIELDS =                    1",
        long_name,                        "TFORM1  = 'D       '"};
    ft_write_cards(path, overlong, 10, 2880);
    expect_read_error(path, NULL, SM_EFORMAT,
                      "HDU 2, header card 9 (TTYPE1  ): an unquoted value of 70 characters");
    overlong[8] = "TTYPE1  = 'SIGNAL' / caf\xc3\xa9";
    ft_write_cards(path, overlong, 10, 2880);
    expect_read_error(path, NULL, SM_EFORMAT,
                      "HDU 2, header card 9: byte 0xc3 is not printable ASCII (not a FITS header)");
    /* A header without END: refused after a bounded read. */
    const char *endless[] = {"XTENSION= 'BINTABLE'"};
    ft_write_cards(path, endless, 1, 0);
    FILE *grow = fopen(path, "r+b");
    ck_assert_ptr_nonnull(grow);
    ck_assert_int_eq(fseek(grow, 2880 + 80, SEEK_SET), 0); /* over the END card */
    for (int k = 0; k < 36 * 1000; k++)
        ck_assert_int_eq(fprintf(grow, "%-80s", "COMMENT no end"), 80);
    fclose(grow);
    expect_read_error(path, NULL, SM_EFORMAT, "HDU 2: no END card in its first 1000 header blocks");

    /* A partial map listing more rows than NSIDE 1 has pixels. */
    int pix[13];
    double v[13] = {0};
    for (int r = 0; r < 13; r++)
        pix[r] = r;
    ft_header_t h = {"HEALPIX", "RING", "EXPLICIT", 1, NULL};
    ft_col_t cols[2] = {{"PIXEL", "J", TINT, pix, 13}, {"SIGNAL", "D", TDOUBLE, v, 13}};
    ft_write_table(path, &h, 13, 2, cols);
    expect_read_error(path, NULL, SM_EFORMAT,
                      "a partial-sky map of 13 rows lists more than the 12 pixels there are");
}
END_TEST

/* A FIFO, a directory, a device: refused at once, never waited on. */
START_TEST(non_regular_files)
{
    char fifo[4096], dir[4096], want[4200];
    snprintf(fifo, sizeof fifo, "%s", sm_test_tmp_path("map.fifo"));
    snprintf(dir, sizeof dir, "%s", sm_test_tmp_path("map-dir.fits"));
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    time_t start = time(NULL);
    snprintf(want, sizeof want, "HEALPix map %s is a FIFO (named pipe), not a regular file",
             fifo);
    expect_read_error(fifo, NULL, SM_EIO, want);
    snprintf(want, sizeof want, "HEALPix map %s is a directory", dir);
    expect_read_error(dir, NULL, SM_EIO, want);
    expect_read_error("/dev/null", NULL, SM_EIO, "HEALPix map /dev/null is a character device");
    ck_assert_int_le(time(NULL) - start, 5);
}
END_TEST

/* Sizes of conversions and writes are checked, not wrapped. */
START_TEST(huge_nside_conversions)
{
    double v[12] = {0};
    char path[4096];
    snprintf(path, sizeof path, "%s", sm_test_tmp_path("small.fits"));
    ft_write_map(path, "NESTED", 1, "SIGNAL", v);
    sm_hpx_map_t *m = read_ok(path, NULL);
    ck_assert_int_eq(sm_hpx_resample(m, SM_HPX_NSIDE_MAX), SM_EINVAL);
    ck_assert_msg(strstr(sm_last_error(), "NSIDE 536870912: resampled map: "
                                          "3458764513820540928 x 8 overflows") != NULL,
                  "%s", sm_last_error());
    ck_assert_int_eq(m->nside, 1);
    sm_hpx_free(m);
    const char *names[] = {"X"};
    ck_assert_int_eq(sm_hpx_write(path, SM_HPX_NSIDE_MAX, SM_HPX_RING, 0, NULL, 1, names, v,
                                  NULL, 0),
                     SM_EINVAL);
    ck_assert_msg(strstr(sm_last_error(), "NSIDE 536870912: map column: 3458764513820540928 x 8 "
                                          "overflows") != NULL,
                  "%s", sm_last_error());
}
END_TEST

int main(void)
{
    Suite *s = suite_create("healpix");
    TCase *tc = tcase_create("healpix");
    tcase_add_test(tc, full_sky_double);
    tcase_add_test(tc, full_sky_vector_float32);
    tcase_add_test(tc, partial_sky_columns);
    tcase_add_test(tc, write_read_back);
    tcase_add_test(tc, reorder_known_pixels);
    tcase_add_test(tc, resample_nested);
    tcase_add_test(tc, pixel_angles);
    tcase_add_test(tc, unseen_tolerance);
    tcase_add_test(tc, bad_files);
    tcase_add_test(tc, nside_must_be_an_integer);
    tcase_add_test(tc, hostile_headers);
    tcase_add_test(tc, non_regular_files);
    tcase_add_test(tc, huge_nside_conversions);
    suite_add_tcase(s, tc);
    return sm_test_run(s);
}
