/* Internal: the guarded read-only HDF5 file driver (h5guard.c). */
#ifndef SYSMAP_CORE_H5GUARD_H
#define SYSMAP_CORE_H5GUARD_H

#include <hdf5.h>

/* The driver's id for H5Pset_driver, registered on first use (and again
 * after H5close, which forgets drivers). */
hid_t sm_h5_guard_driver(void);

#endif
