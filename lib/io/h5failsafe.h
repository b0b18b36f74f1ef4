/* Internal: opening HDF5 files for writing through the fail-safe driver
 * (h5failsafe.c): once a write fails, it and every later write of that
 * open are dropped, HDF5 is told they succeeded, and the errno goes to the
 * caller's state. HDF5 1.10 cannot recover from a failed write (every later
 * flush and H5Fclose fail and the process crashes at exit); with this
 * driver the file keeps what reached it and the caller reports the error. */
#ifndef SYSMAP_CORE_H5FAILSAFE_H
#define SYSMAP_CORE_H5FAILSAFE_H

#include <hdf5.h>

#include "sysmap/status.h"

typedef struct {
    int failed;     /* errno of the first failed write, 0 while none */
    int open_errno; /* errno of a failed open (HDF5 may clobber errno) */
} sm_h5_failsafe_t;

/* Opens path with flags, or creates it (truncating) when create; state
 * must outlive the file. As the library's other files: closing closes
 * every object in it, and HDF5's own file locking is off. */
sm_status sm_h5_failsafe_open(const char *path, unsigned flags, int create,
                              sm_h5_failsafe_t *state, hid_t *file);

#endif
