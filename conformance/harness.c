/* The harness: which devices and precisions to check, and every selected
 * fixture's checks on each of them, then the timing checks. */
#include <stdlib.h>
#include <string.h>

#include "conform.h"
#include "sysmap/opencl.h"
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

static sm_status add_opencl(const conform_options_t *opt, const sm_opencl_device_t *dev,
                            conform_target_t **targets, size_t *n)
{
    sm_status st = SM_OK;
    for (int p = CONFORM_FP64; p <= CONFORM_FP32 && st == SM_OK; p++) {
        if (!want_precision(opt, (conform_precision)p))
            continue;
        conform_target_t t;
        memset(&t, 0, sizeof t);
        snprintf(t.label, sizeof t.label, "opencl:%u", dev->index);
        snprintf(t.backend, sizeof t.backend, "opencl");
        snprintf(t.device_spec, sizeof t.device_spec, "%u", dev->index);
        snprintf(t.description, sizeof t.description,
                 "%s (%s, driver %s; %s, %u compute units, %u MHz, fp64 %s)", dev->name,
                 dev->platform, dev->driver, dev->version, dev->compute_units, dev->clock_mhz,
                 dev->fp64 ? "yes" : "no");
        snprintf(t.klass, sizeof t.klass, "%s", dev->type);
        t.precision = (conform_precision)p;
        if (p == CONFORM_FP64 && !dev->fp64)
            snprintf(t.unavailable, sizeof t.unavailable,
                     "the device has no fp64 (cl_khr_fp64)");
        st = add_target(targets, n, &t);
    }
    return st;
}

/* "N" or "P:D" against a device. */
static int names_device(const char *spec, const sm_opencl_device_t *dev)
{
    char buf[32];
    if (strchr(spec, ':'))
        snprintf(buf, sizeof buf, "%u:%u", dev->platform_index, dev->device_index);
    else
        snprintf(buf, sizeof buf, "%u", dev->index);
    return strcmp(spec, buf) == 0;
}

sm_status conform_targets(const conform_options_t *opt, conform_target_t **targets, size_t *n)
{
    *targets = NULL;
    *n = 0;
    const char *spec = opt->device;
    sm_status st = SM_OK;
    if ((spec == NULL || strcmp(spec, "reference") == 0) && want_precision(opt, CONFORM_FP64)) {
        conform_target_t t;
        memset(&t, 0, sizeof t);
        snprintf(t.label, sizeof t.label, "reference");
        snprintf(t.backend, sizeof t.backend, "reference");
        snprintf(t.description, sizeof t.description,
                 "the GSL double-precision reference backend on the host (Neumaier sums)");
        snprintf(t.klass, sizeof t.klass, "reference");
        t.precision = CONFORM_FP64;
        st = add_target(targets, n, &t);
    }
    int want_opencl = spec == NULL || strcmp(spec, "reference") != 0;
    sm_opencl_device_t *devs = NULL;
    size_t n_dev = 0;
    if (st == SM_OK && want_opencl && sm_opencl_devices(&devs, &n_dev) != SM_OK) {
        /* No OpenCL platform: the reference alone, unless a device was asked for. */
        if (spec != NULL)
            st = sm_fail_context(SM_EINVAL, "--device %s", spec);
        n_dev = 0;
    }
    int matched = 0;
    for (size_t i = 0; i < n_dev && st == SM_OK; i++)
        if (spec == NULL || names_device(spec, &devs[i])) {
            matched = 1;
            st = add_opencl(opt, &devs[i], targets, n);
        }
    sm_opencl_devices_free(devs);
    if (st == SM_OK && want_opencl && spec != NULL && !matched)
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
    sm_opencl_device_t *devs = NULL;
    size_t n = 0;
    if (sm_opencl_devices(&devs, &n) != SM_OK || n == 0) {
        snprintf(buf, len, "none found (%s): only the reference backend was checked",
                 n == 0 && devs != NULL ? "no OpenCL device" : sm_last_error());
        sm_opencl_devices_free(devs);
        return;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && devs[i].platform_index == devs[i - 1].platform_index)
            continue;
        size_t count = 0;
        for (size_t j = i; j < n && devs[j].platform_index == devs[i].platform_index; j++)
            count++;
        int w = snprintf(buf + used, len - used, "%s%s (driver %s, %zu device%s)",
                         used ? "; " : "", devs[i].platform, devs[i].driver, count,
                         count == 1 ? "" : "s");
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
    sm_opencl_devices_free(devs);
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
