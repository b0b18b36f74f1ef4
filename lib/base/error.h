/* Internal: recording the message of a failing call. */
#ifndef SYSMAP_CORE_ERROR_H
#define SYSMAP_CORE_ERROR_H

#include "sysmap/status.h"

/* Records a printf-style message for sm_last_error() and returns status. */
sm_status sm_fail(sm_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefixes the current message with context ("reading x.h5: ...") and
 * returns status unchanged; used when passing a failure up. */
sm_status sm_fail_context(sm_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* sm_fail(SM_ENOMEM, ...) naming what could not be allocated. */
#define SM_FAIL_NOMEM(what) sm_fail(SM_ENOMEM, "out of memory allocating %s", (what))

/* GSL's default error handler aborts the process. Library code that calls
 * GSL routines which can fail runs them between these two calls and checks
 * their return codes; the caller's handler is restored afterwards. */
#include <gsl/gsl_errno.h>
static inline gsl_error_handler_t *sm_gsl_quiet(void)
{
    return gsl_set_error_handler_off();
}
static inline void sm_gsl_restore(gsl_error_handler_t *saved)
{
    gsl_set_error_handler(saved);
}

#endif
