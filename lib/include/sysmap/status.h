/* Status codes and error messages shared by every sysmap call. */
#ifndef SYSMAP_STATUS_H
#define SYSMAP_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SM_OK = 0,
    SM_EINVAL,      /* invalid argument or bad input data */
    SM_ENOMEM,      /* allocation failed */
    SM_EIO,         /* file missing, unreadable, unwritable or not HDF5 */
    SM_EFORMAT,     /* file readable but wrong schema: dataset, dtype, shape */
    SM_ENUMERIC,    /* NaN log-probability, singular matrix, failed decomposition */
    SM_EMISMATCH,   /* resume with settings that differ from the file's */
    SM_EDEVICE,     /* compute device unavailable or failed */
    SM_ECANCELLED   /* stopped by the progress callback (e.g. on SIGINT) */
} sm_status;

/* Short fixed description of a status code ("invalid argument", ...). */
const char *sm_status_string(sm_status status);

/* Message of the last failing sysmap call in this thread, naming the problem
 * (e.g. "templates: NaN at template 2, pixel 17"); "" when none. */
const char *sm_last_error(void);

#ifdef __cplusplus
}
#endif
#endif
