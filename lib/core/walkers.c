/* Explicit initial walkers from an HDF5 file (`sysmap run --init`). */
#include "sysmap/data.h"

#include "error.h"
#include "h5util.h"

#define SM_WALKERS_DATASET "p0"

sm_status sm_walkers_load_hdf5(const char *path, size_t n_walkers, size_t n_dim, double *out)
{
    if (path == NULL || out == NULL)
        return sm_fail(SM_EINVAL, "initial walkers: NULL path or buffer");
    sm_h5_quiet_t quiet;
    sm_h5_quiet_begin(&quiet);
    hid_t file = H5I_INVALID_HID, dset = H5I_INVALID_HID;
    hsize_t dims[2];
    sm_status st = sm_h5_open_file(path, H5F_ACC_RDONLY, &file);
    if (st == SM_OK)
        st = sm_h5_open_dataset(file, SM_WALKERS_DATASET, &dset);
    if (st == SM_OK)
        st = sm_h5_shape(dset, SM_WALKERS_DATASET, 2, dims);
    if (st == SM_OK && (dims[0] != n_walkers || dims[1] != n_dim)) {
        char got[64];
        st = sm_fail(SM_EFORMAT, "dataset '%s' has shape %s, the run needs (%zu, %zu) "
                                 "(walkers, parameters)",
                     SM_WALKERS_DATASET, sm_h5_format_shape(got, sizeof got, 2, dims), n_walkers,
                     n_dim);
    }
    if (st == SM_OK)
        st = sm_h5_read_f64(dset, SM_WALKERS_DATASET, out);
    sm_h5_close(dset);
    sm_h5_close(file);
    sm_h5_quiet_end(&quiet);
    return st;
}
