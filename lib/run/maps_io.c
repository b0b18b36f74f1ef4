/* Writing the corrected and weight maps: HEALPix FITS and HDF5, each
 * replacing its target in one rename. */
#include "sysmap/maps.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "fileutil.h"
#include "h5util.h"
#include "h5failsafe.h"
#include "maps_plan.h"


static const char *const fits_names[SM_MAPS_N] = {"DELTA_CORR", "DELTA_CORR_ERR", "WEIGHT",
                                               "WEIGHT_ERR"};
static const char *const h5_names[SM_MAPS_N] = {"delta_corr", "delta_corr_err", "weight",
                                             "weight_err"};
#define POINT_TEXT "posterior median, original template basis"
#define ERR_TEXT                                                                                \
    "1-sigma linearised at the median from the posterior covariance (ddof 1) of the free a "   \
    "and b, cross terms included"

static const double *column(const sm_maps_t *maps, size_t k)
{
    const double *cols[SM_MAPS_N] = {maps->delta_corr, maps->delta_corr_err, maps->weight,
                                  maps->weight_err};
    return cols[k];
}

static sm_status check(const sm_maps_t *maps, const sm_pixels_t *pixels, const char *path)
{
    if (maps == NULL || pixels == NULL || path == NULL)
        return sm_fail(SM_EINVAL, "writing maps: NULL argument");
    if (maps->n_pix != sm_pixels_n_used(pixels))
        return sm_fail(SM_EINVAL, "%s: %zu map values for a layout of %zu used pixels", path,
                       maps->n_pix, sm_pixels_n_used(pixels));
    return SM_OK;
}

sm_status sm_maps_write_fits(const sm_maps_t *maps, const sm_pixels_t *pixels, const char *path)
{
    sm_status st = check(maps, pixels, path);
    if (st != SM_OK)
        return st;
    if (sm_pixels_nside(pixels) == 0)
        return sm_fail(SM_EINVAL, "%s: HEALPix FITS maps need a HEALPix input; this input is an "
                                  "array of %zu pixels (write the HDF5 maps instead)",
                       path, sm_pixels_n_total(pixels));
    size_t n = maps->n_pix;
    double *values = malloc(SM_MAPS_N * (n ? n : 1) * sizeof *values);
    if (values == NULL)
        return SM_FAIL_NOMEM("map columns");
    for (size_t k = 0; k < SM_MAPS_N; k++)
        memcpy(values + k * n, column(maps, k), n * sizeof *values);
    const sm_hpx_key_t keys[] = {{"SM_POINT", POINT_TEXT, "where the maps are evaluated"},
                                 {"SM_ERR", "linearised", "the _ERR columns: " ERR_TEXT}};
    st = sm_hpx_write(path, sm_pixels_nside(pixels), sm_pixels_order(pixels), n,
                      sm_pixels_index(pixels), SM_MAPS_N, fits_names, values, keys,
                      sizeof keys / sizeof keys[0]);
    free(values);
    return st;
}

/* Pixel centres per transfer: theta and phi are computed and written a
 * chunk at a time instead of as two more full columns in memory. */
/* Values computed and written per HDF5 write: the maps of a survey are
 * never held whole on their way to the file. */
#define SM_MAPS_CHUNK 65536

/* Fills cols[0..k-1] with the values of pixels j0 .. j0 + count - 1. */
typedef sm_status (*fill_fn)(void *user, size_t j0, size_t count, double *const *cols);

/* Datasets names[0..k-1] (k <= SM_MAPS_N) of n float64 each, a chunk at a time. */
static sm_status write_columns(hid_t g, const char *const *names, size_t k, size_t n,
                               fill_fn fill, void *user)
{
    hsize_t dims[1] = {n};
    hid_t space = H5Screate_simple(1, dims, NULL);
    hid_t sets[SM_MAPS_N] = {H5I_INVALID_HID, H5I_INVALID_HID, H5I_INVALID_HID,
                             H5I_INVALID_HID};
    double *buf = malloc(k * SM_MAPS_CHUNK * sizeof *buf);
    double *cols[SM_MAPS_N];
    for (size_t c = 0; c < k; c++)
        cols[c] = buf != NULL ? buf + c * SM_MAPS_CHUNK : NULL;
    sm_status st = buf != NULL ? SM_OK : SM_FAIL_NOMEM("map columns");
    for (size_t c = 0; c < k && st == SM_OK; c++) {
        sets[c] = space < 0 ? H5I_INVALID_HID
                            : H5Dcreate2(g, names[c], H5T_IEEE_F64LE, space, H5P_DEFAULT,
                                         H5P_DEFAULT, H5P_DEFAULT);
        if (sets[c] < 0)
            st = sm_fail(SM_EIO, "cannot write dataset '%s'", names[c]);
    }
    for (size_t j0 = 0; j0 < n && st == SM_OK; j0 += SM_MAPS_CHUNK) {
        hsize_t start[1] = {j0}, count[1] = {n - j0 < SM_MAPS_CHUNK ? n - j0 : SM_MAPS_CHUNK};
        st = fill(user, j0, count[0], cols);
        hid_t mem = st == SM_OK ? H5Screate_simple(1, count, NULL) : H5I_INVALID_HID;
        int ok = mem >= 0 &&
                 H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL) >= 0;
        for (size_t c = 0; c < k && st == SM_OK; c++)
            if (!ok || H5Dwrite(sets[c], H5T_NATIVE_DOUBLE, mem, space, H5P_DEFAULT, cols[c]) < 0)
                st = sm_fail(SM_EIO, "cannot write dataset '%s'", names[c]);
        sm_h5_close(mem);
    }
    for (size_t c = 0; c < k; c++)
        sm_h5_close(sets[c]);
    sm_h5_close(space);
    free(buf);
    return st;
}

static sm_status fill_angles(void *user, size_t j0, size_t count, double *const *cols)
{
    const sm_pixels_t *pixels = user;
    sm_hpx_pix2ang(sm_pixels_nside(pixels), sm_pixels_order(pixels), count,
                   sm_pixels_index(pixels) + j0, cols[0], cols[1]);
    return SM_OK;
}

static sm_status fill_from_maps(void *user, size_t j0, size_t count, double *const *cols)
{
    const sm_maps_t *maps = user;
    for (size_t k = 0; k < SM_MAPS_N; k++)
        memcpy(cols[k], column(maps, k) + j0, count * sizeof **cols);
    return SM_OK;
}

static sm_status fill_from_plan(void *user, size_t j0, size_t count, double *const *cols)
{
    return sm_maps_plan_fill(user, j0, count, cols);
}

static sm_status write_group(hid_t file, size_t n, fill_fn fill, void *user,
                             const sm_pixels_t *pixels)
{
    static const char *const angles[2] = {"theta", "phi"};
    hid_t g = H5I_INVALID_HID;
    hsize_t dims[1] = {n};
    int64_t nside = sm_pixels_nside(pixels);
    sm_status st = SM_OK;
    if (H5Lexists(file, "maps", H5P_DEFAULT) > 0 && H5Ldelete(file, "maps", H5P_DEFAULT) < 0)
        st = sm_fail(SM_EIO, "cannot replace group 'maps'");
    if (st == SM_OK && (g = H5Gcreate2(file, "maps", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        st = sm_fail(SM_EIO, "cannot create group 'maps'");
    if (st == SM_OK)
        st = sm_h5_write_dataset(g, "pixel", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, dims,
                                 sm_pixels_index(pixels));
    if (st == SM_OK)
        st = write_columns(g, h5_names, SM_MAPS_N, n, fill, user);
    if (st == SM_OK && nside > 0)
        st = write_columns(g, angles, 2, n, fill_angles, (void *)pixels);
    if (st == SM_OK)
        st = sm_h5_set_attr_int(g, "nside", nside);
    if (st == SM_OK)
        st = sm_h5_set_attr_str(g, "ordering",
                                nside > 0 ? sm_hpx_order_name(sm_pixels_order(pixels)) : "none");
    if (st == SM_OK)
        st = sm_h5_set_attr_int(g, "n_total", (int64_t)sm_pixels_n_total(pixels));
    if (st == SM_OK)
        st = sm_h5_set_attr_str(g, "point", POINT_TEXT);
    if (st == SM_OK)
        st = sm_h5_set_attr_str(g, "basis", "original");
    if (st == SM_OK)
        st = sm_h5_set_attr_str(g, "uncertainty", ERR_TEXT);
    sm_h5_close(g);
    return st;
}

/* The maps of n pixels from fill into the group maps of path. */
static sm_status write_hdf5(const char *path, size_t n, fill_fn fill, void *user,
                            const sm_pixels_t *pixels)
{
    sm_status st;
    char *tmp = sm_file_tmp_name(path);
    if (tmp == NULL)
        return SM_FAIL_NOMEM("file name");
    sm_h5_quiet_t quiet;
    sm_h5_quiet_begin(&quiet);
    hid_t file = H5I_INVALID_HID;
    /* Into a copy of an existing file (the run file), else a new one, through
     * the fail-safe driver: a full disk is an error, not a crash at exit. */
    sm_h5_failsafe_t fs = {0, 0};
    int exists = access(path, F_OK) == 0;
    st = exists ? sm_file_copy(path, tmp) : SM_OK;
    if (st == SM_OK)
        st = sm_h5_failsafe_open(tmp, H5F_ACC_RDWR, !exists, &fs, &file);
    if (st == SM_OK)
        st = write_group(file, n, fill, user, pixels);
    if (file >= 0 && H5Fclose(file) < 0 && st == SM_OK)
        st = sm_fail(SM_EIO, "cannot close %s", tmp);
    if (file >= 0 && fs.failed && st == SM_OK)
        st = sm_fail(SM_EIO, "writing %s failed: %s", tmp, strerror(fs.failed));
    sm_h5_quiet_end(&quiet);
    if (st == SM_OK)
        st = sm_file_commit(tmp, path);
    else
        unlink(tmp);
    free(tmp);
    return st == SM_OK ? SM_OK : sm_fail_context(st, "writing maps to %s", path);
}

sm_status sm_maps_write_hdf5(const sm_maps_t *maps, const sm_pixels_t *pixels, const char *path)
{
    sm_status st = check(maps, pixels, path);
    return st == SM_OK ? write_hdf5(path, maps->n_pix, fill_from_maps, (void *)maps, pixels)
                       : st;
}

sm_status sm_maps_write_hdf5_plan(const sm_maps_plan_t *plan, const sm_pixels_t *pixels,
                                  const char *path)
{
    size_t n = sm_data_n_pix(plan->data);
    if (n != sm_pixels_n_used(pixels))
        return sm_fail(SM_EINVAL, "%s: %zu map values for a layout of %zu used pixels", path, n,
                       sm_pixels_n_used(pixels));
    return write_hdf5(path, n, fill_from_plan, (void *)plan, pixels);
}
