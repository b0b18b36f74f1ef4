/* A run's settings by name: the defaults, and the one parser the front
 * ends (CLI, Python) pass user text through, so every value is refused in
 * one place with one message naming the setting. */
#include "sysmap/run.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

void sm_run_config_default(sm_run_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->struct_size = sizeof *cfg;
    cfg->model = SM_MODEL_COMBINED;
    cfg->sigma_min = SM_MODEL_SIGMA_MIN_DEFAULT;
    cfg->n_walkers = 250;
    cfg->n_steps = 1500;
    cfg->n_burn = 300;
    cfg->seed = 42;
    cfg->basis = SM_BASIS_ROTATED;
    cfg->backend = "auto";
    cfg->flush_every = 50;
}

typedef enum { KIND_COUNT, KIND_SEED, KIND_REAL, KIND_FLAG, KIND_TEXT, KIND_MODEL,
               KIND_BASIS } kind_t;

typedef struct {
    const char *name;
    kind_t kind;
    size_t offset;
} setting_t;

#define AT(field) offsetof(sm_run_config_t, field)
static const setting_t settings[] = {
    {"model", KIND_MODEL, AT(model)},         {"skew", KIND_FLAG, AT(skew)},
    {"sigma_min", KIND_REAL, AT(sigma_min)},  {"walkers", KIND_COUNT, AT(n_walkers)},
    {"steps", KIND_COUNT, AT(n_steps)},       {"burn", KIND_COUNT, AT(n_burn)},
    {"seed", KIND_SEED, AT(seed)},            {"basis", KIND_BASIS, AT(basis)},
    {"backend", KIND_TEXT, AT(backend)},      {"device", KIND_TEXT, AT(device)},
    {"precision", KIND_TEXT, AT(precision)}, /* the backend knows its precisions */
    {"flush_every", KIND_COUNT, AT(flush_every)},
    {"init", KIND_TEXT, AT(init_path)},       {"output", KIND_TEXT, AT(output)},
    {"maps_out", KIND_TEXT, AT(maps_out)},    {"resume", KIND_FLAG, AT(resume)},
};
#undef AT

static const setting_t *find(const char *name)
{
    for (size_t i = 0; name != NULL && i < sizeof settings / sizeof *settings; i++)
        if (strcmp(settings[i].name, name) == 0)
            return &settings[i];
    return NULL;
}

/* Digits only: no sign, space or exponent ("-2" is not 2^64 - 2). */
static int parse_count(const char *text, size_t *out)
{
    size_t v = 0;
    const char *p = text;
    for (; *p >= '0' && *p <= '9'; p++) {
        size_t digit = (size_t)(*p - '0');
        if (v > (SIZE_MAX - digit) / 10)
            return 0;
        v = v * 10 + digit;
    }
    if (p == text || *p != '\0')
        return 0;
    *out = v;
    return 1;
}

static sm_status set_count(const char *name, const char *text, size_t *out)
{
    if (!parse_count(text, out))
        return sm_fail(SM_EINVAL, "%s expects a non-negative integer (digits only, at most %zu), "
                                  "got '%s'", name, (size_t)SIZE_MAX, text);
    return SM_OK;
}

static sm_status set_value(sm_run_config_t *cfg, const setting_t *s, const char *text)
{
    void *field = (char *)cfg + s->offset;
    size_t n = 0;
    sm_status st = SM_OK;
    switch (s->kind) {
    case KIND_COUNT:
        return set_count(s->name, text, field);
    case KIND_SEED:
        st = set_count(s->name, text, &n);
        if (st == SM_OK && n > UINT32_MAX)
            return sm_fail(SM_EINVAL, "seed must be at most 4294967295, got %s", text);
        if (st == SM_OK)
            *(uint32_t *)field = (uint32_t)n;
        return st;
    case KIND_REAL: {
        char *end;
        errno = 0;
        double v = strtod(text, &end);
        if (errno != 0 || end == text || *end != '\0' || !isfinite(v))
            return sm_fail(SM_EINVAL, "%s expects a finite number, got '%s'", s->name, text);
        *(double *)field = v;
        return SM_OK;
    }
    case KIND_FLAG: {
        int on = strcmp(text, "1") == 0 || strcmp(text, "true") == 0;
        if (!on && strcmp(text, "0") != 0 && strcmp(text, "false") != 0)
            return sm_fail(SM_EINVAL, "%s expects 0 or 1 (false or true), got '%s'", s->name,
                           text);
        *(int *)field = on;
        return SM_OK;
    }
    case KIND_MODEL:
        st = sm_model_parse(text, field);
        break;
    case KIND_BASIS:
        st = sm_basis_parse(text, field);
        break;
    case KIND_TEXT:
        *(const char **)field = text;
        return SM_OK;
    }
    return st != SM_OK ? sm_fail_context(st, "%s", s->name) : SM_OK;
}

sm_status sm_run_config_set(sm_run_config_t *cfg, const char *name, const char *text)
{
    const setting_t *s = find(name);
    if (cfg == NULL || text == NULL)
        return sm_fail(SM_EINVAL, "sm_run_config_set: NULL configuration or value");
    if (s == NULL)
        return sm_fail(SM_EINVAL, "unknown run setting '%s'", name != NULL ? name : "(null)");
    return set_value(cfg, s, text);
}

sm_status sm_run_config_get(const sm_run_config_t *cfg, const char *name, char *buf,
                            size_t len)
{
    const setting_t *s = find(name);
    if (cfg == NULL || buf == NULL || s == NULL)
        return sm_fail(SM_EINVAL, "unknown run setting '%s'", name != NULL ? name : "(null)");
    const void *field = (const char *)cfg + s->offset;
    const char *text;
    int n;
    switch (s->kind) {
    case KIND_COUNT:
        n = snprintf(buf, len, "%zu", *(const size_t *)field);
        break;
    case KIND_SEED:
        n = snprintf(buf, len, "%lu", (unsigned long)*(const uint32_t *)field);
        break;
    case KIND_REAL: /* the shortest text that reads back the same */
        for (int digits = 1; digits <= 17; digits++) {
            n = snprintf(buf, len, "%.*g", digits, *(const double *)field);
            if (n < 0 || (size_t)n >= len || strtod(buf, NULL) == *(const double *)field)
                break;
        }
        break;
    case KIND_FLAG:
        n = snprintf(buf, len, "%d", *(const int *)field);
        break;
    case KIND_MODEL:
        n = snprintf(buf, len, "%s", sm_model_name(*(const sm_model_kind_t *)field));
        break;
    case KIND_BASIS:
        n = snprintf(buf, len, "%s", sm_basis_name(*(const sm_basis_kind_t *)field));
        break;
    case KIND_TEXT:
    default:
        text = *(const char *const *)field;
        n = snprintf(buf, len, "%s", text != NULL ? text : "");
        break;
    }
    if (n < 0 || (size_t)n >= len)
        return sm_fail(SM_EINVAL, "%s: a buffer of %zu bytes is too small for its value", name,
                       len);
    return SM_OK;
}
