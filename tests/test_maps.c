/* Corrected overdensity and weight maps: values and linearised
 * uncertainties against hand derivations, the maps of a run against its
 * chain, and the FITS and HDF5 files they are written to. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "sysmap/healpix.h"
#include "sysmap/maps.h"
#include "sysmap/run.h"
#include "testutil.h"

static const double D[3] = {0.1, -0.2, 0.3}, T[3] = {1.0, 2.0, -1.0};

static sm_data_t *tiny_data(void)
{
    sm_data_t *data;
    ck_assert_int_eq(sm_data_create(&data, 3, 1, D, T, NULL), SM_OK);
    return data;
}

/* One template, combined model [a, b, sigma]: m = 1 + b t, w = 1/m,
 * c = (d - a t) w; grad c = (-t w, -c t w), grad w = (0, -w^2 t). */
START_TEST(combined_by_hand)
{
    sm_data_t *data = tiny_data();
    sm_model_t model = SM_MODEL_INIT(SM_MODEL_COMBINED, 0, 1, SM_MODEL_SIGMA_MIN_DEFAULT);
    double median[3] = {0.1, 0.2, 0.05};
    double caa = 0.01, cab = 0.002, cbb = 0.04, cov[4] = {caa, cab, cab, cbb};
    sm_maps_t *maps;
    ck_assert_int_eq(sm_maps_compute(&maps, data, &model, median, cov), SM_OK);
    ck_assert_uint_eq(maps->n_pix, 3);
    for (int j = 0; j < 3; j++) {
        double w = 1.0 / (1.0 + 0.2 * T[j]), c = (D[j] - 0.1 * T[j]) * w;
        double ga = -T[j] * w, gb = -c * T[j] * w;
        ck_assert_double_eq_tol(maps->weight[j], w, 1e-15);
        ck_assert_double_eq_tol(maps->delta_corr[j], c, 1e-15);
        ck_assert_double_eq_tol(maps->delta_corr_err[j],
                                sqrt(ga * ga * caa + 2 * ga * gb * cab + gb * gb * cbb), 1e-15);
        ck_assert_double_eq_tol(maps->weight_err[j], w * w * fabs(T[j]) * sqrt(cbb), 1e-15);
    }
    /* Pixel 0 by number: t = 1, m = 1.2, c = 0: err = sqrt(caa) / 1.2. */
    ck_assert_double_eq_tol(maps->delta_corr_err[0], 0.1 / 1.2, 1e-15);
    ck_assert_double_eq_tol(maps->weight_err[0], 0.2 / 1.44, 1e-15);
    sm_maps_free(maps);
    sm_data_free(data);
}
END_TEST

START_TEST(additive_and_multiplicative)
{
    sm_data_t *data = tiny_data();
    sm_model_t add = SM_MODEL_INIT(SM_MODEL_ADDITIVE, 0, 1, SM_MODEL_SIGMA_MIN_DEFAULT);
    sm_model_t mult = SM_MODEL_INIT(SM_MODEL_MULTIPLICATIVE, 1, 1,
                                    SM_MODEL_SIGMA_MIN_DEFAULT); /* skew: gamma last */
    double p_add[2] = {0.1, 0.05}, p_mult[3] = {0.2, 0.05, 0.3}, c1[1] = {0.01};
    sm_maps_t *maps;
    ck_assert_int_eq(sm_maps_compute(&maps, data, &add, p_add, c1), SM_OK);
    for (int j = 0; j < 3; j++) {
        ck_assert_double_eq(maps->weight[j], 1.0);
        ck_assert_double_eq(maps->weight_err[j], 0.0);
        ck_assert_double_eq_tol(maps->delta_corr[j], D[j] - 0.1 * T[j], 1e-15);
        ck_assert_double_eq_tol(maps->delta_corr_err[j], fabs(T[j]) * 0.1, 1e-15);
    }
    sm_maps_free(maps);
    /* Multiplicative, b = a = 0.2: c = (d - b t) w, and b enters twice:
     * dc/db = -t w - c t w = -(1 + c) t w. */
    ck_assert_int_eq(sm_maps_compute(&maps, data, &mult, p_mult, c1), SM_OK);
    for (int j = 0; j < 3; j++) {
        double w = 1.0 / (1.0 + 0.2 * T[j]), c = (D[j] - 0.2 * T[j]) * w;
        ck_assert_double_eq_tol(maps->weight[j], w, 1e-15);
        ck_assert_double_eq_tol(maps->delta_corr[j], c, 1e-15);
        ck_assert_double_eq_tol(maps->delta_corr_err[j], fabs((1.0 + c) * T[j] * w) * 0.1, 1e-15);
        ck_assert_double_eq_tol(maps->weight_err[j], w * w * fabs(T[j]) * 0.1, 1e-15);
    }
    /* Pixel 1 by number: t = 2, m = 1.4, c = (-0.2 - 0.4) / 1.4 = -3/7,
     * dc/db = -(4/7) 2 / 1.4 = -40/49, err = 0.1 x 40/49. */
    ck_assert_double_eq_tol(maps->delta_corr[1], -3.0 / 7.0, 1e-15);
    ck_assert_double_eq_tol(maps->delta_corr_err[1], 4.0 / 49.0, 1e-15);
    sm_maps_free(maps);
    sm_data_free(data);
}
END_TEST

/* c and w of the multiplicative model (b = a) at pixel j of S = 2 templates. */
static void mult_values(const double *d, const double *t, size_t n, size_t j, const double *b,
                        double *c, double *w)
{
    double bt = b[0] * t[j] + b[1] * t[n + j];
    *w = 1.0 / (1.0 + bt);
    *c = (d[j] - bt) * *w;
}

/* Multiplicative, S = 2, a full covariance: the uncertainties equal
 * sqrt(g^T C g) with g from central differences of c(b) and w(b), an
 * independent truth for the summed partials (step 1e-6: error ~1e-10). */
START_TEST(multiplicative_numerical_gradient)
{
    static const double d[4] = {0.1, -0.2, 0.3, 0.05};
    static const double t[8] = {1.0, 2.0, -1.0, 0.5, 0.3, -0.7, 0.4, 1.5};
    sm_data_t *data;
    ck_assert_int_eq(sm_data_create(&data, 4, 2, d, t, NULL), SM_OK);
    sm_model_t mult = SM_MODEL_INIT(SM_MODEL_MULTIPLICATIVE, 0, 2, SM_MODEL_SIGMA_MIN_DEFAULT);
    double p[3] = {0.15, -0.08, 0.2}, cov[4] = {0.004, -0.0015, -0.0015, 0.009};
    sm_maps_t *maps;
    ck_assert_int_eq(sm_maps_compute(&maps, data, &mult, p, cov), SM_OK);
    const double h = 1e-6;
    for (size_t j = 0; j < 4; j++) {
        double gc[2], gw[2], c, w;
        for (size_t i = 0; i < 2; i++) {
            double up[2] = {p[0], p[1]}, dn[2] = {p[0], p[1]}, cu, wu, cd, wd;
            up[i] += h;
            dn[i] -= h;
            mult_values(d, t, 4, j, up, &cu, &wu);
            mult_values(d, t, 4, j, dn, &cd, &wd);
            gc[i] = (cu - cd) / (2 * h);
            gw[i] = (wu - wd) / (2 * h);
        }
        mult_values(d, t, 4, j, p, &c, &w);
        double qc = gc[0] * gc[0] * cov[0] + 2 * gc[0] * gc[1] * cov[1] + gc[1] * gc[1] * cov[3];
        double qw = gw[0] * gw[0] * cov[0] + 2 * gw[0] * gw[1] * cov[1] + gw[1] * gw[1] * cov[3];
        ck_assert_double_eq_tol(maps->delta_corr[j], c, 1e-15);
        ck_assert_double_eq_tol(maps->weight[j], w, 1e-15);
        ck_assert_close(maps->delta_corr_err[j], sqrt(qc), 1e-8, 0);
        ck_assert_close(maps->weight_err[j], sqrt(qw), 1e-8, 0);
    }
    sm_maps_free(maps);
    sm_data_free(data);
}
END_TEST

START_TEST(bad_parameters)
{
    sm_data_t *data = tiny_data();
    sm_model_t mult = SM_MODEL_INIT(SM_MODEL_MULTIPLICATIVE, 0, 1, SM_MODEL_SIGMA_MIN_DEFAULT);
    double p[2] = {-1.0, 0.05}, c1[1] = {0.01}; /* m = 1 - t = 0 at pixel 0 */
    sm_maps_t *maps = (sm_maps_t *)1;
    ck_assert_int_eq(sm_maps_compute(&maps, data, &mult, p, c1), SM_ENUMERIC);
    ck_assert_ptr_null(maps);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "1 + b.t is 0 at used pixel 0"));
    sm_model_t two = SM_MODEL_INIT(SM_MODEL_MULTIPLICATIVE, 0, 2, SM_MODEL_SIGMA_MIN_DEFAULT);
    ck_assert_int_eq(sm_maps_compute(&maps, data, &two, p, c1), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "model of 2 templates for data of 1"));
    ck_assert_int_eq(sm_maps_compute(&maps, data, &two, NULL, c1), SM_EINVAL);
    sm_data_free(data);
}
END_TEST

/* The maps of a run use its median and the covariance of the contamination
 * block over the post-burn-in chain (checked here with a plain two-pass
 * covariance of the chain). */
START_TEST(maps_of_a_run)
{
    double a[2] = {0.02, -0.01}, b[2] = {0.05, 0.0};
    sm_data_t *data = sm_test_make_map(300, 2, a, b, 11);
    sm_run_config_t cfg;
    sm_run_config_default(&cfg);
    cfg.n_walkers = 16;
    cfg.n_steps = 60;
    cfg.n_burn = 20;
    sm_run_t *run;
    ck_assert_int_eq(sm_run_create(&run, data, &cfg), SM_OK);
    sm_maps_t *maps = (sm_maps_t *)1;
    ck_assert_int_eq(sm_maps_from_run(&maps, run, data), SM_EINVAL); /* not executed yet */
    ck_assert_ptr_null(maps);
    ck_assert_int_eq(sm_run_execute(run, NULL, 0, NULL, NULL), SM_OK);
    ck_assert_int_eq(sm_maps_from_run(&maps, run, data), SM_OK);
    const size_t d = 5, nc = 4, n = 40 * 16;
    const double *post = sm_run_chain(run) + 20 * 16 * d;
    double mean[4] = {0}, cov[16] = {0};
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < nc; i++)
            mean[i] += post[k * d + i] / (double)n;
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < nc; i++)
            for (size_t l = 0; l < nc; l++)
                cov[i * nc + l] +=
                    (post[k * d + i] - mean[i]) * (post[k * d + l] - mean[l]) / (double)(n - 1);
    sm_model_t model = SM_MODEL_INIT(SM_MODEL_COMBINED, 0, 2, SM_MODEL_SIGMA_MIN_DEFAULT);
    sm_maps_t *want;
    ck_assert_int_eq(sm_maps_compute(&want, data, &model, sm_run_summary(run)->median, cov),
                     SM_OK);
    for (size_t j = 0; j < 300; j++) {
        ck_assert_double_eq(maps->weight[j], want->weight[j]);
        ck_assert_double_eq(maps->delta_corr[j], want->delta_corr[j]);
        ck_assert_double_eq_tol(maps->delta_corr_err[j], want->delta_corr_err[j],
                                1e-10 * want->delta_corr_err[j]);
        ck_assert_double_eq_tol(maps->weight_err[j], want->weight_err[j],
                                1e-10 * want->weight_err[j]);
    }
    sm_maps_free(maps);
    sm_maps_free(want);
    sm_run_free(run);
    sm_data_free(data);
}
END_TEST

static sm_maps_t *fake_maps(size_t n, double base)
{
    sm_maps_t *m = calloc(1, sizeof *m);
    m->n_pix = n;
    m->delta_corr = malloc(n * sizeof(double));
    m->delta_corr_err = malloc(n * sizeof(double));
    m->weight = malloc(n * sizeof(double));
    m->weight_err = malloc(n * sizeof(double));
    for (size_t j = 0; j < n; j++) {
        m->delta_corr[j] = base + (double)j;
        m->delta_corr_err[j] = 0.01 * (double)j;
        m->weight[j] = 1.0 + 0.1 * (double)j;
        m->weight_err[j] = 0.001 * (double)j;
    }
    return m;
}

START_TEST(fits_file)
{
    char path[8192];
    snprintf(path, sizeof path, "%s", sm_test_tmp_path("maps.fits"));
    int64_t idx[3] = {1, 4, 10};
    sm_pixels_t *pix;
    ck_assert_int_eq(sm_pixels_create(&pix, 12, 3, idx, 1, SM_HPX_NESTED), SM_OK);
    sm_maps_t *maps = fake_maps(3, 0.5);
    ck_assert_int_eq(sm_maps_write_fits(maps, pix, path), SM_OK);
    sm_hpx_map_t *m;
    ck_assert_int_eq(sm_hpx_read(&m, path, NULL), SM_OK);
    ck_assert_int_eq(m->order, SM_HPX_NESTED);
    ck_assert_uint_eq(m->n_cols, 4);
    const char *names[4] = {"DELTA_CORR", "DELTA_CORR_ERR", "WEIGHT", "WEIGHT_ERR"};
    const double *cols[4] = {maps->delta_corr, maps->delta_corr_err, maps->weight,
                             maps->weight_err};
    for (int c = 0; c < 4; c++) {
        ck_assert_str_eq(m->col_names[c], names[c]);
        for (int p = 0, j = 0; p < 12; p++) {
            if (j < 3 && idx[j] == p)
                ck_assert_double_eq(m->values[c * 12 + p], cols[c][j++]);
            else
                ck_assert_double_eq(m->values[c * 12 + p], SM_HPX_UNSEEN);
        }
    }
    sm_hpx_free(m);
    sm_pixels_t *plain;
    ck_assert_int_eq(sm_pixels_create(&plain, 12, 3, idx, 0, SM_HPX_RING), SM_OK);
    ck_assert_int_eq(sm_maps_write_fits(maps, plain, path), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "HEALPix FITS maps need a HEALPix input"));
    sm_maps_t *short_maps = fake_maps(2, 0.0);
    ck_assert_int_eq(sm_maps_write_fits(short_maps, pix, path), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "2 map values for a layout of 3"));
    sm_maps_free(short_maps);
    sm_pixels_free(plain);
    sm_pixels_free(pix);
    sm_maps_free(maps);
}
END_TEST

static void read_f64(hid_t f, const char *name, double *buf)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    ck_assert_msg(d >= 0, "dataset %s", name);
    ck_assert(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    H5Dclose(d);
}

static int64_t attr_int(hid_t g, const char *name)
{
    int64_t v = -1;
    hid_t a = H5Aopen(g, name, H5P_DEFAULT);
    ck_assert(a >= 0 && H5Aread(a, H5T_NATIVE_INT64, &v) >= 0);
    H5Aclose(a);
    return v;
}

static int exists(const char *path)
{
    return access(path, F_OK) == 0;
}

START_TEST(hdf5_group)
{
    char path[8192], tmp[8300];
    snprintf(path, sizeof path, "%s", sm_test_tmp_path("maps.h5"));
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int64_t idx[3] = {0, 2, 5};
    sm_pixels_t *plain, *hpx;
    ck_assert_int_eq(sm_pixels_create(&plain, 6, 3, idx, 0, SM_HPX_RING), SM_OK);
    ck_assert_int_eq(sm_pixels_create(&hpx, 12, 3, idx, 1, SM_HPX_RING), SM_OK);
    /* An existing file keeps its other contents. */
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t one[1] = {1};
    double keep = 42.0;
    hid_t s = H5Screate_simple(1, one, NULL);
    hid_t d = H5Dcreate2(f, "keep", H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &keep);
    H5Dclose(d);
    H5Sclose(s);
    H5Fclose(f);
    sm_maps_t *first = fake_maps(3, 0.0), *second = fake_maps(3, 100.0);
    ck_assert_int_eq(sm_maps_write_hdf5(first, plain, path), SM_OK);
    ck_assert_int_eq(sm_maps_write_hdf5(second, hpx, path), SM_OK); /* replaces the group */
    ck_assert(!exists(tmp));
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    double v[3], theta[3], phi[3];
    read_f64(f, "keep", v);
    ck_assert_double_eq(v[0], 42.0);
    read_f64(f, "maps/delta_corr", v);
    ck_assert_double_eq(v[2], 102.0);
    read_f64(f, "maps/weight", v);
    ck_assert_double_eq(v[1], 1.1);
    read_f64(f, "maps/theta", theta);
    read_f64(f, "maps/phi", phi);
    ck_assert_double_eq_tol(theta[0], acos(2.0 / 3.0), 1e-14); /* NSIDE 1 RING pixel 0 */
    ck_assert_double_eq_tol(phi[0], atan(1.0), 1e-14);
    hid_t g = H5Gopen2(f, "maps", H5P_DEFAULT);
    ck_assert_int_eq(attr_int(g, "nside"), 1);
    ck_assert_int_eq(attr_int(g, "n_total"), 12);
    H5Gclose(g);
    H5Fclose(f);
    /* A new file; a plain layout has no angles. */
    unlink(path);
    ck_assert_int_eq(sm_maps_write_hdf5(first, plain, path), SM_OK);
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    int64_t pixel[3];
    hid_t pd = H5Dopen2(f, "maps/pixel", H5P_DEFAULT);
    H5Dread(pd, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, pixel);
    H5Dclose(pd);
    ck_assert_int_eq(pixel[2], 5);
    ck_assert_int_le(H5Lexists(f, "maps/theta", H5P_DEFAULT), 0);
    g = H5Gopen2(f, "maps", H5P_DEFAULT);
    ck_assert_int_eq(attr_int(g, "nside"), 0);
    H5Gclose(g);
    H5Fclose(f);
    /* Not an HDF5 file: an error, the file untouched, nothing left over. */
    FILE *txt = fopen(path, "w");
    fputs("not hdf5\n", txt);
    fclose(txt);
    ck_assert_int_eq(sm_maps_write_hdf5(first, plain, path), SM_EIO);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "writing maps to"));
    ck_assert(!exists(tmp));
    char line[32] = "";
    txt = fopen(path, "r");
    ck_assert_ptr_nonnull(fgets(line, sizeof line, txt));
    fclose(txt);
    ck_assert_str_eq(line, "not hdf5\n");
    ck_assert_int_eq(sm_maps_write_hdf5(first, plain, "/nonexistent-dir/m.h5"), SM_EIO);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "/nonexistent-dir/m.h5"));
    sm_maps_free(first);
    sm_maps_free(second);
    sm_pixels_free(plain);
    sm_pixels_free(hpx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("maps");
    TCase *tc = tcase_create("maps");
    tcase_add_test(tc, combined_by_hand);
    tcase_add_test(tc, additive_and_multiplicative);
    tcase_add_test(tc, multiplicative_numerical_gradient);
    tcase_add_test(tc, bad_parameters);
    tcase_add_test(tc, maps_of_a_run);
    tcase_add_test(tc, fits_file);
    tcase_add_test(tc, hdf5_group);
    suite_add_tcase(s, tc);
    return sm_test_run(s);
}
