/* Internal: recording the message of a failing call (sm_fail and
 * sm_fail_context are public, in sysmap/status.h). */
#ifndef SYSMAP_CORE_ERROR_H
#define SYSMAP_CORE_ERROR_H

#include "sysmap/status.h"

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
