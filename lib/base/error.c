#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SM_MSG_LEN 1024

static _Thread_local char last_message[SM_MSG_LEN];

const char *sm_status_string(sm_status status)
{
    switch (status) {
    case SM_OK: return "success";
    case SM_EINVAL: return "invalid argument";
    case SM_ENOMEM: return "out of memory";
    case SM_EIO: return "input/output error";
    case SM_EFORMAT: return "bad file format";
    case SM_ENUMERIC: return "numerical failure";
    case SM_EMISMATCH: return "settings mismatch";
    case SM_EDEVICE: return "device error";
    case SM_ECANCELLED: return "cancelled";
    }
    return "unknown status";
}

const char *sm_last_error(void)
{
    return last_message;
}

sm_status sm_fail(sm_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    return status;
}

sm_status sm_fail_context(sm_status status, const char *fmt, ...)
{
    char old[SM_MSG_LEN];
    memcpy(old, last_message, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    /* The message is cut at SM_MSG_LEN - 1 characters; cutting is fine. */
    size_t used = n < 0 ? 0 : (size_t)n;
    if (used + 2 < sizeof last_message) {
        memcpy(last_message + used, ": ", 2);
        used += 2;
        size_t room = sizeof last_message - 1 - used;
        size_t len = strnlen(old, room);
        memcpy(last_message + used, old, len);
        last_message[used + len] = '\0';
    }
    return status;
}
