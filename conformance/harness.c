/* The harness: which devices and precisions to check, and every selected
 * fixture's checks on each of them, then the timing checks. */
#include <stdlib.h>
#include <string.h>

#include "conform.h"
#include "sysmap/registry.h"
#include "error.h"
#include "clock.h"

void conform_case_of_path(const char *path, char *name, size_t len)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 3 && strcmp(base + n - 3, ".h5") == 0)
        n -= 3;
    snprintf(name, len, "%.*s", (int)n, base);
}

int conform_selected(const conform_options_t *opt, const char *name)
{
    if (opt->only == NULL)
        return 1;
    size_t len = strlen(name);
    for (const char *p = opt->only; *p;) {
        size_t n = strcspn(p, ",");
        if (n == len && strncmp(p, name, n) == 0)
            return 1;
        p += n + (p[n] == ',');
    }
    return 0;
}

static int want_precision(const conform_options_t *opt, conform_precision p)
{
    return opt->precision == NULL || strcmp(opt->precision, conform_precision_name(p)) == 0;
}

static sm_status add_target(conform_target_t **targets, size_t *n, const conform_target_t *t)
{
    conform_target_t *grown = realloc(*targets, (*n + 1) * sizeof *grown);
    if (grown == NULL)
        return SM_FAIL_NOMEM("the device list");
    *targets = grown;
    (*targets)[(*n)++] = *t;
    return SM_OK;
}

/* One target per precision the backend computes in, on dev (NULL: the
 * host of a backend without devices). */
static sm_status add_backend(const conform_options_t *opt, const sm_backend_info_t *be,
                             const sm_device_t *dev, conform_target_t **targets, size_t *n)
{
    sm_status st = SM_OK;
    int last = be->fp32 ? CONFORM_FP32 : CONFORM_FP64;
    for (int p = CONFORM_FP64; p <= last && st == SM_OK; p++) {
        if (!want_precision(opt, (conform_precision)p))
            continue;
        conform_target_t t;
        memset(&t, 0, sizeof t);
        snprintf(t.backend, sizeof t.backend, "%s", be->name);
        t.precision = (conform_precision)p;
        if (dev == NULL) {
            snprintf(t.label, sizeof t.label, "%s", be->name);
            snprintf(t.description, sizeof t.description, "%s", be->description);
            snprintf(t.klass, sizeof t.klass, "%s", be->name);
        } else {
            snprintf(t.label, sizeof t.label, "%s:%u", be->name, dev->index);
            snprintf(t.device_spec, sizeof t.device_spec, "%u", dev->index);
            snprintf(t.description, sizeof t.description,
                     "%s (%s, driver %s; %s, %u compute units, %u MHz, fp64 %s)", dev->name,
                     dev->platform, dev->driver, dev->version, dev->compute_units,
                     dev->clock_mhz, dev->fp64 ? "yes" : "no");
            snprintf(t.klass, sizeof t.klass, "%s", sm_device_class_name(dev->device_class));
            if (p == CONFORM_FP64 && !dev->fp64)
                snprintf(t.unavailable, sizeof t.unavailable, "the device has no fp64");
        }
        st = add_target(targets, n, &t);
    }
    return st;
}

/* "N", "P:D" or the label "backend:N" against a device. */
static int names_device(const char *spec, const sm_device_t *dev)
{
    char index[32], pair[32], label[64];
    snprintf(index, sizeof index, "%u", dev->index);
    snprintf(pair, sizeof pair, "%u:%u", dev->platform_index, dev->device_index);
    snprintf(label, sizeof label, "%s:%u", dev->backend, dev->index);
    return strcmp(spec, index) == 0 || strcmp(spec, pair) == 0 || strcmp(spec, label) == 0;
}

/* The targets of one backend that spec (NULL: all) selects; *matched is
 * set when spec names one of them. */
static sm_status add_targets_of(const conform_options_t *opt, const sm_backend_info_t *be,
                                conform_target_t **targets, size_t *n, int *matched)
{
    const char *spec = opt->device;
    if (be->devices == NULL) {
        if (spec != NULL && strcmp(spec, be->name) != 0)
            return SM_OK;
        *matched = 1;
        return add_backend(opt, be, NULL, targets, n);
    }
    if (spec != NULL && strcmp(spec, be->name) == 0)
        return sm_fail(SM_EINVAL, "--device %s: name one of its devices (N or P:D; see "
                                  "sysmap devices)", spec);
    sm_device_t *devs = NULL;
    size_t n_dev = 0;
    /* A backend without devices on this machine is no target, but the
     * failure is the answer when a device was asked for. */
    if (sm_devices(be->name, &devs, &n_dev) != SM_OK)
        return spec != NULL ? sm_fail_context(SM_EINVAL, "--device %s", spec) : SM_OK;
    sm_status st = SM_OK;
    for (size_t i = 0; i < n_dev && st == SM_OK; i++)
        if (spec == NULL || names_device(spec, &devs[i])) {
            *matched = 1;
            st = add_backend(opt, be, &devs[i], targets, n);
        }
    sm_devices_free(devs);
    return st;
}

sm_status conform_targets(const conform_options_t *opt, conform_target_t **targets, size_t *n)
{
    *targets = NULL;
    *n = 0;
    const char *spec = opt->device;
    sm_status st = SM_OK;
    int matched = 0;
    for (size_t i = 0; sm_backend_info(i) != NULL && st == SM_OK && !(matched && spec); i++)
        st = add_targets_of(opt, sm_backend_info(i), targets, n, &matched);
    if (st == SM_OK && spec != NULL && !matched)
        st = sm_fail(SM_EINVAL, "--device %s: no such device (reference, N or P:D; see "
                                "sysmap devices)",
                     spec);
    if (st == SM_OK && *n == 0)
        st = sm_fail(SM_EINVAL, "nothing to check: the reference backend computes in fp64 "
                                "only and no OpenCL device was found");
    if (st != SM_OK) {
        conform_targets_free(*targets, *n);
        *targets = NULL;
        *n = 0;
    }
    return st;
}

void conform_implementations(char *buf, size_t len)
{
    sm_device_t *devs = NULL;
    size_t n = 0;
    if (sm_devices(NULL, &devs, &n) != SM_OK || n == 0) {
        snprintf(buf, len, "none found (%s): only the reference backend was checked",
                 n == 0 && devs != NULL ? "no device" : sm_last_error());
        sm_devices_free(devs);
        return;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && devs[i].platform_index == devs[i - 1].platform_index &&
            strcmp(devs[i].backend, devs[i - 1].backend) == 0)
            continue;
        size_t count = 0;
        for (size_t j = i; j < n && devs[j].platform_index == devs[i].platform_index &&
                           strcmp(devs[j].backend, devs[i].backend) == 0;
             j++)
            count++;
        int w = snprintf(buf + used, len - used, "%s%s (driver %s, %zu device%s)",
                         used ? "; " : "", devs[i].platform, devs[i].driver, count,
                         count == 1 ? "" : "s");
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
    sm_devices_free(devs);
}

void conform_targets_free(conform_target_t *targets, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(targets[i].results);
    free(targets);
}

static sm_status add_problem(conform_report_t *rep, const char *file, const char *message)
{
    conform_fixture_problem_t *grown =
        realloc(rep->problems, (rep->n_problems + 1) * sizeof *grown);
    if (grown == NULL)
        return SM_FAIL_NOMEM("the fixture problems");
    rep->problems = grown;
    conform_fixture_problem_t *p = &rep->problems[rep->n_problems++];
    snprintf(p->file, sizeof p->file, "%s", file);
    snprintf(p->message, sizeof p->message, "%s", message);
    return SM_OK;
}

/* The fixture's map, checked against the generator's digest. */
static sm_status regenerate(const conform_fixture_t *fx, sm_data_t **data)
{
    sm_status st = conform_map_make(&fx->recipe, data);
    uint64_t digest = st == SM_OK ? sm_data_digest(*data) : 0;
    if (st == SM_OK && digest != fx->map_digest) {
        sm_data_free(*data);
        *data = NULL;
        st = sm_fail(SM_EFORMAT,
                     "the map regenerated from its recipe differs from the generator's "
                     "(digest %016llx, fixture %016llx): the fixture is corrupt or this "
                     "platform's arithmetic differs",
                     (unsigned long long)digest, (unsigned long long)fx->map_digest);
    }
    return st;
}

static sm_status check_case(const conform_settings_t *set, conform_report_t *rep,
                            const char *path)
{
    conform_fixture_t fx;
    sm_data_t *data = NULL;
    sm_status st = conform_fixture_read(path, &fx);
    if (st == SM_OK) {
        st = regenerate(&fx, &data);
        if (st != SM_OK)
            sm_fail_context(st, "fixture %s", path);
    }
    if (st != SM_OK) {
        conform_fixture_free(&fx);
        return add_problem(rep, path, sm_last_error());
    }
    rep->n_cases++;
    st = SM_OK;
    for (size_t i = 0; i < rep->n_targets && st == SM_OK; i++) {
        conform_target_t *t = &rep->targets[i];
        if (t->unavailable[0])
            continue;
        double t0 = sm_now_s();
        st = conform_check_lp(set, t, &fx, data);
        if (st == SM_OK)
            st = conform_check_chain(set, t, &fx, data);
        t->wall_s += sm_now_s() - t0;
    }
    sm_data_free(data);
    conform_fixture_free(&fx);
    return st;
}

/* Every name in --only must be a fixture or "timing". */
static sm_status check_only(const conform_options_t *opt, char **paths, size_t n)
{
    for (const char *p = opt->only ? opt->only : ""; *p;) {
        size_t len = strcspn(p, ",");
        int found = len == 6 && strncmp(p, "timing", 6) == 0;
        for (size_t i = 0; i < n && !found; i++) {
            char name[CONFORM_NAME_LEN];
            conform_case_of_path(paths[i], name, sizeof name);
            found = strlen(name) == len && strncmp(name, p, len) == 0;
        }
        if (!found)
            return sm_fail(SM_EINVAL, "--only: no case '%.*s' in %s (sysmap conform --list)",
                           (int)len, p, opt->fixtures_dir);
        p += len + (p[len] == ',');
    }
    return SM_OK;
}

sm_status conform_run(const conform_options_t *opt, const conform_settings_t *set,
                      conform_report_t *rep)
{
    double t0 = sm_now_s();
    char **paths = NULL;
    size_t n = 0;
    sm_status st = conform_fixture_list(opt->fixtures_dir, &paths, &n);
    if (st != SM_OK)
        st = add_problem(rep, opt->fixtures_dir, sm_last_error());
    else
        st = check_only(opt, paths, n);
    for (size_t i = 0; i < n && st == SM_OK; i++) {
        char name[CONFORM_NAME_LEN];
        conform_case_of_path(paths[i], name, sizeof name);
        if (conform_selected(opt, name))
            st = check_case(set, rep, paths[i]);
    }
    for (size_t i = 0; i < rep->n_targets && st == SM_OK; i++) {
        conform_target_t *t = &rep->targets[i];
        if (t->unavailable[0] || !conform_selected(opt, "timing"))
            continue;
        double t1 = sm_now_s();
        st = conform_check_timing(set, t);
        t->wall_s += sm_now_s() - t1;
    }
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    rep->wall_s = sm_now_s() - t0;
    return st;
}
