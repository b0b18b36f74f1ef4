/* The table of built-in backends: the one place the library names them,
 * and opening a backend by name. Adding a backend is one line here; its
 * descriptor lives in its folder under lib/backends/. */
#include "sysmap/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* The order of listings (the truth first) and of "auto"'s choice among
 * the backends that have devices. Each entry is the descriptor a backend's
 * folder defines (lib/backends/NAME/descriptor.c). */
#define SM_BACKENDS(X)       \
    X(sm_reference_backend) \
    X(sm_opencl_backend)

#define DECLARE(descriptor) extern const sm_backend_info_t descriptor;
SM_BACKENDS(DECLARE)
#undef DECLARE

#define ENTRY(descriptor) &descriptor,
static const sm_backend_info_t *const table[] = {SM_BACKENDS(ENTRY)};
#undef ENTRY

enum { N_BACKENDS = sizeof table / sizeof *table };

const sm_backend_info_t *sm_backend_info(size_t i)
{
    return i < N_BACKENDS ? table[i] : NULL;
}

sm_status sm_backend_find(const char *name, const sm_backend_info_t **info)
{
    *info = NULL;
    char names[160] = "auto";
    for (size_t i = 0; i < N_BACKENDS; i++) {
        if (name != NULL && strcmp(name, table[i]->name) == 0) {
            *info = table[i];
            return SM_OK;
        }
        size_t used = strlen(names);
        snprintf(names + used, sizeof names - used, ", %s", table[i]->name);
    }
    return sm_fail(SM_EINVAL, "unknown backend '%s' (available: %s)", name ? name : "(null)",
                   names);
}

/* Whether the backend has devices and finds one on this machine. */
static int has_device(const sm_backend_info_t *be)
{
    if (be->devices == NULL)
        return 0;
    sm_device_t *list = NULL;
    size_t n = 0;
    sm_status st = be->devices(&list, &n);
    sm_devices_free(list);
    return st == SM_OK && n > 0;
}

sm_status sm_backend_resolve(const char *name, const char *device,
                             const sm_backend_info_t **info)
{
    if (name != NULL && strcmp(name, "auto") != 0)
        return sm_backend_find(name, info);
    /* Only a machine without any device falls back, never a device that
     * fails: the chosen backend is reported with every run. */
    for (size_t i = 0; i < N_BACKENDS; i++)
        if (device != NULL ? table[i]->devices != NULL : has_device(table[i])) {
            *info = table[i];
            return SM_OK;
        }
    /* No device anywhere, or none to name one of: the host. Its open then
     * refuses a device by name. */
    size_t host = 0;
    while (host + 1 < N_BACKENDS && table[host]->devices != NULL)
        host++;
    *info = table[host];
    return SM_OK;
}

void sm_devices_free(sm_device_t *list)
{
    free(list);
}

/* Appends part[n_part] to *list[*n]. */
static sm_status append(sm_device_t **list, size_t *n, const sm_device_t *part, size_t n_part)
{
    sm_device_t *grown = realloc(*list, (*n + n_part) * sizeof *grown);
    if (grown == NULL)
        return SM_FAIL_NOMEM("device list");
    memcpy(grown + *n, part, n_part * sizeof *part);
    *list = grown;
    *n += n_part;
    return SM_OK;
}

sm_status sm_devices(const char *backend, sm_device_t **list, size_t *n)
{
    *list = NULL;
    *n = 0;
    const sm_backend_info_t *only = NULL;
    if (backend != NULL) {
        sm_status st = sm_backend_find(backend, &only);
        if (st != SM_OK)
            return st;
        if (only->devices == NULL)
            return sm_fail(SM_EDEVICE, "the %s backend has no devices to choose from",
                           only->name);
    }
    sm_status failure = SM_OK;
    for (size_t i = 0; i < N_BACKENDS; i++) {
        if ((only != NULL && table[i] != only) || table[i]->devices == NULL)
            continue;
        sm_device_t *part = NULL;
        size_t n_part = 0;
        sm_status st = table[i]->devices(&part, &n_part);
        /* One backend without devices does not hide another's; the last
         * reason (sm_last_error's) is what a list with none reports. */
        if (st == SM_OK)
            st = append(list, n, part, n_part);
        else
            failure = st;
        sm_devices_free(part);
        if (st == SM_ENOMEM) {
            sm_devices_free(*list);
            *list = NULL;
            *n = 0;
            return st;
        }
    }
    return *n == 0 ? failure : SM_OK;
}

sm_status sm_device_default(const char *backend, const char *spec, int need_fp64,
                            sm_device_t *chosen)
{
    const sm_backend_info_t *be;
    sm_status st = sm_backend_find(backend, &be);
    if (st != SM_OK)
        return st;
    if (be->default_device == NULL)
        return sm_fail(SM_EINVAL, "the %s backend has no devices to choose from", be->name);
    return be->default_device(spec, need_fp64, chosen);
}

sm_status sm_backend_open(sm_backend_t **out, const char *name, const char *device,
                          const char *precision, const sm_data_t *data, const sm_model_t *model)
{
    *out = NULL;
    const sm_backend_info_t *info;
    sm_status st = sm_backend_resolve(name, device, &info);
    return st == SM_OK ? info->open(out, device, precision, data, model) : st;
}
