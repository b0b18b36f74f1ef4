/* Status codes and error messages shared by every sysmap call. */
#ifndef SYSMAP_STATUS_H
#define SYSMAP_STATUS_H

#include "sysmap/export.h"

#if defined(__GNUC__) || defined(__clang__)
#define SM_PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define SM_PRINTF_LIKE(fmt, args)
#endif

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
SM_API const char *sm_status_string(sm_status status);

/* Message of the last failing sysmap call in this thread, naming the problem
 * (e.g. "templates: NaN at template 2, pixel 17"); "" when none. */
SM_API const char *sm_last_error(void);

/* For code that reports failures the way the library does, e.g. the
 * pixel_sums of a caller's own backend (sysmap/backend.h): records a
 * printf-style message for sm_last_error() and returns status. */
SM_API sm_status sm_fail(sm_status status, const char *fmt, ...) SM_PRINTF_LIKE(2, 3);

/* Prefixes the current message with context ("reading x.h5: ...") and
 * returns status unchanged: passing a failure up with where it happened. */
SM_API sm_status sm_fail_context(sm_status status, const char *fmt, ...) SM_PRINTF_LIKE(2, 3);

#ifdef __cplusplus
}
#endif
#endif
