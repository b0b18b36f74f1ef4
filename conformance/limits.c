/* conformance/tolerances.txt and conformance/budgets.txt (embedded at build
 * time): tables of "name fp64 fp32 justification" lines. Every line needs
 * its justification; unknown or missing names are errors, so the files and
 * the harness cannot drift apart. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conform.h"
#include "sysmap/status.h"

const char *conform_precision_name(conform_precision precision)
{
    return precision == CONFORM_FP32 ? "fp32" : "fp64";
}

static sm_status parse_value(const char *word, const char *file, int line, double *out)
{
    if (strcmp(word, "-") == 0) {
        *out = NAN;
        return SM_OK;
    }
    char *end;
    *out = strtod(word, &end);
    if (end == word || *end != '\0' || !isfinite(*out) || *out < 0)
        return sm_fail(SM_EFORMAT, "%s line %d: '%s' is not a non-negative number or '-'", file,
                       line, word);
    return SM_OK;
}

/* Splits "w1 w2 ..." into at most n words (the last keeps the rest). */
static size_t split(char *s, char **words, size_t n)
{
    size_t k = 0;
    while (k < n) {
        s += strspn(s, " \t");
        if (*s == '\0')
            break;
        words[k++] = s;
        if (k == n)
            break;
        s += strcspn(s, " \t");
        if (*s != '\0')
            *s++ = '\0';
    }
    return k;
}

/* One table row; with problem non-NULL, a "problem ..." line instead sets
 * *problem to the text after the keyword. */
static sm_status parse_row(char *line, const char *file, int n, conform_limits_t *t,
                           char **problem)
{
    char *s = line + strspn(line, " \t");
    if (problem != NULL && strncmp(s, "problem", 7) == 0 && (s[7] == ' ' || s[7] == '\t')) {
        *problem = s + 7;
        return SM_OK;
    }
    char *w[4];
    size_t k = split(line, w, 4);
    if (k == 0)
        return SM_OK;
    if (k < 4)
        return sm_fail(SM_EFORMAT, "%s line %d: expected 'name fp64 fp32 justification'", file,
                       n);
    if (t->n == sizeof t->rows / sizeof *t->rows)
        return sm_fail(SM_EFORMAT, "%s line %d: too many rows", file, n);
    conform_limit_t *row = &t->rows[t->n];
    if (strlen(w[0]) >= sizeof row->name || strlen(w[3]) >= sizeof row->why)
        return sm_fail(SM_EFORMAT, "%s line %d: name or justification too long", file, n);
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->rows[i].name, w[0]) == 0)
            return sm_fail(SM_EFORMAT, "%s line %d: '%s' given twice", file, n, w[0]);
    sm_status st = parse_value(w[1], file, n, &row->value[CONFORM_FP64]);
    if (st == SM_OK)
        st = parse_value(w[2], file, n, &row->value[CONFORM_FP32]);
    if (st != SM_OK)
        return st;
    snprintf(row->name, sizeof row->name, "%s", w[0]);
    snprintf(row->why, sizeof row->why, "%s", w[3]);
    t->n++;
    return SM_OK;
}

/* Parses every line; the text after "problem" (budgets only) into problem. */
static sm_status parse_table(const char *text, const char *file, conform_limits_t *t,
                             char *problem, size_t problem_len)
{
    memset(t, 0, sizeof *t);
    const char *p = text;
    sm_status st = SM_OK;
    for (int n = 1; st == SM_OK && *p != '\0'; n++) {
        size_t len = strcspn(p, "\n");
        char line[2 * CONFORM_TEXT_LEN];
        if (len >= sizeof line)
            return sm_fail(SM_EFORMAT, "%s line %d: longer than %zu characters", file, n,
                           sizeof line - 1);
        memcpy(line, p, len);
        line[len] = '\0';
        p += len + (p[len] == '\n');
        if (line[strspn(line, " \t")] == '#')
            continue;
        char *rest = NULL;
        st = parse_row(line, file, n, t, problem ? &rest : NULL);
        if (st == SM_OK && rest != NULL)
            snprintf(problem, problem_len, "%s", rest);
    }
    return st;
}

static const conform_limit_t *find(const conform_limits_t *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->rows[i].name, name) == 0)
            return &t->rows[i];
    return NULL;
}

/* Copies a row's values; both precisions or fp64 only must be given. */
static sm_status take(const conform_limits_t *t, const char *name, int need_fp32, double *out)
{
    const conform_limit_t *row = find(t, name);
    if (row == NULL)
        return sm_fail(SM_EFORMAT, "tolerances.txt: no row '%s'", name);
    if (isnan(row->value[CONFORM_FP64]) || (need_fp32 && isnan(row->value[CONFORM_FP32])))
        return sm_fail(SM_EFORMAT, "tolerances.txt: '%s' needs a value for %s", name,
                       need_fp32 ? "fp64 and fp32" : "fp64");
    out[0] = row->value[CONFORM_FP64];
    if (need_fp32)
        out[1] = row->value[CONFORM_FP32];
    return SM_OK;
}

sm_status conform_tolerances_parse(const char *text, conform_tolerances_t *tol)
{
    static const char *const known[] = {"lp_factor", "exact_lp_ulps", "exact_log_ulps",
                                        "chain_ties_max", "median_z", "cov_z", "ess_factor"};
    sm_status st = parse_table(text, "tolerances.txt", &tol->table, NULL, 0);
    for (size_t i = 0; st == SM_OK && i < tol->table.n; i++) {
        int ok = 0;
        for (size_t k = 0; k < sizeof known / sizeof *known; k++)
            ok |= strcmp(tol->table.rows[i].name, known[k]) == 0;
        if (!ok)
            st = sm_fail(SM_EFORMAT, "tolerances.txt: unknown tolerance '%s'",
                         tol->table.rows[i].name);
    }
    if (st == SM_OK)
        st = take(&tol->table, "lp_factor", 1, tol->lp_factor);
    if (st == SM_OK)
        st = take(&tol->table, "exact_lp_ulps", 0, &tol->exact_lp_ulps);
    if (st == SM_OK)
        st = take(&tol->table, "exact_log_ulps", 0, &tol->exact_log_ulps);
    if (st == SM_OK)
        st = take(&tol->table, "chain_ties_max", 0, &tol->chain_ties_max);
    if (st == SM_OK)
        st = take(&tol->table, "median_z", 1, tol->median_z);
    if (st == SM_OK)
        st = take(&tol->table, "cov_z", 1, tol->cov_z);
    if (st == SM_OK)
        st = take(&tol->table, "ess_factor", 1, tol->ess_factor);
    return st;
}

/* "key=value" words of the problem line. */
static sm_status parse_problem(char *line, conform_budgets_t *b)
{
    int have = 0;
    char *words[8];
    size_t k = split(line, words, 8);
    for (size_t i = 0; i < k; i++) {
        char *eq = strchr(words[i], '=');
        if (eq == NULL)
            return sm_fail(SM_EFORMAT, "budgets.txt problem: '%s' is not key=value", words[i]);
        *eq = '\0';
        const char *key = words[i], *val = eq + 1;
        char *end;
        double x = strtod(val, &end);
        int number = end != val && *end == '\0' && x >= 0;
        if (strcmp(key, "model") == 0) {
            if (sm_model_parse(val, &b->model) != SM_OK)
                return sm_fail(SM_EFORMAT, "budgets.txt problem: unknown model '%s'", val);
        } else if (!number) {
            return sm_fail(SM_EFORMAT, "budgets.txt problem: %s=%s is not a number", key, val);
        } else if (strcmp(key, "skew") == 0) {
            b->skew = x != 0;
        } else if (strcmp(key, "n_sys") == 0) {
            b->n_sys = (size_t)x;
        } else if (strcmp(key, "n_pix") == 0) {
            b->n_pix = (size_t)x;
        } else if (strcmp(key, "walkers") == 0) {
            b->n_walkers = (size_t)x;
        } else if (strcmp(key, "seconds") == 0) {
            b->seconds = x;
        } else {
            return sm_fail(SM_EFORMAT, "budgets.txt problem: unknown key '%s'", key);
        }
        have++;
    }
    if (have != 6 || b->n_sys == 0 || b->n_sys > CONFORM_MAX_SYS || b->n_pix == 0 ||
        b->n_walkers < 2 || b->n_walkers % 2 != 0)
        return sm_fail(SM_EFORMAT, "budgets.txt problem: needs model, skew, n_sys (1..%d), "
                                   "n_pix, walkers (even) and seconds",
                       CONFORM_MAX_SYS);
    return SM_OK;
}

sm_status conform_budgets_parse(const char *text, conform_budgets_t *b)
{
    memset(b, 0, sizeof *b);
    char problem[CONFORM_TEXT_LEN] = "";
    sm_status st = parse_table(text, "budgets.txt", &b->floors, problem, sizeof problem);
    if (st == SM_OK && problem[0] == '\0')
        st = sm_fail(SM_EFORMAT, "budgets.txt: no 'problem' line");
    if (st == SM_OK)
        st = parse_problem(problem, b);
    return st;
}

double conform_budget_floor(const conform_budgets_t *b, const char *klass,
                            conform_precision precision)
{
    const conform_limit_t *row = find(&b->floors, klass);
    return row ? row->value[precision] : NAN;
}
