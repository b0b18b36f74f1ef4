/* The reports: a table for people, JSON and JUnit XML for machines, and the
 * exit status. Numerical failures, timing failures and fixture problems are
 * kept apart everywhere: a slow device is not a wrong one, and a broken
 * fixture says nothing about any device. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform.h"
#include "sysmap/status.h"
#include "sysmap/version.h"

/* One cell of the table: every result of one check on one target. */
typedef struct {
    int n, fail, pass, skip;
    double ratio;                    /* worst; NaN when none has one */
    const char *worst_case;
} cell_t;

static cell_t aggregate(const conform_target_t *t, conform_check check)
{
    cell_t c = {0, 0, 0, 0, NAN, NULL};
    for (size_t i = 0; i < t->n_results; i++) {
        const conform_result_t *r = &t->results[i];
        if (r->check != check)
            continue;
        c.n++;
        c.fail += r->verdict == CONFORM_FAIL;
        c.pass += r->verdict == CONFORM_PASS;
        c.skip += r->verdict == CONFORM_SKIP;
        if (!isnan(r->ratio) && (isnan(c.ratio) || r->ratio > c.ratio)) {
            c.ratio = r->ratio;
            c.worst_case = r->case_name;
        }
    }
    return c;
}

/* "pass", "fail", "skip" or "-" (no result); the table capitalises FAIL. */
static const char *cell_verdict(const cell_t *c)
{
    return c->fail ? "fail" : c->pass ? "pass" : c->skip ? "skip" : "-";
}

static int numerical_failure(const conform_report_t *rep)
{
    for (size_t i = 0; i < rep->n_targets; i++)
        for (int k = 0; k < CONFORM_N_CHECKS; k++)
            if (k != CONFORM_TIMING && aggregate(&rep->targets[i], (conform_check)k).fail)
                return 1;
    return 0;
}

static int timing_failure(const conform_report_t *rep)
{
    for (size_t i = 0; i < rep->n_targets; i++)
        if (aggregate(&rep->targets[i], CONFORM_TIMING).fail)
            return 1;
    return 0;
}

int conform_exit_status(const conform_report_t *rep)
{
    if (numerical_failure(rep))
        return CONFORM_EXIT_FAIL;
    if (rep->n_problems > 0)
        return CONFORM_EXIT_FIXTURE;
    if (timing_failure(rep))
        return CONFORM_EXIT_TIMING;
    return CONFORM_EXIT_PASS;
}

static const char *verdict_text(int status)
{
    switch (status) {
    case CONFORM_EXIT_PASS: return "PASS: every device conforms";
    case CONFORM_EXIT_FAIL: return "FAIL: a device failed a numerical check";
    case CONFORM_EXIT_TIMING: return "TIMING: numerically conformant, but a timing budget was "
                                     "missed";
    default: return "FIXTURES: some fixtures could not be used (no device failed)";
    }
}

static void format_ratio(char *buf, size_t len, double ratio)
{
    if (isnan(ratio))
        snprintf(buf, len, "-");
    else if (isinf(ratio))
        snprintf(buf, len, "inf");
    else
        snprintf(buf, len, ratio == 0 || (ratio >= 0.01 && ratio < 1000) ? "%.2f" : "%.1e",
                 ratio);
}

static void print_failures(FILE *out, const conform_report_t *rep, int timing)
{
    int any = 0;
    for (size_t i = 0; i < rep->n_targets; i++) {
        const conform_target_t *t = &rep->targets[i];
        for (size_t k = 0; k < t->n_results; k++) {
            const conform_result_t *r = &t->results[k];
            if (r->verdict != CONFORM_FAIL || (r->check == CONFORM_TIMING) != timing)
                continue;
            if (!any++)
                fprintf(out, timing ? "\ntiming failures (slow, not wrong):\n"
                                    : "\nnumerical failures:\n");
            fprintf(out, "  %s %s %s %s: %s\n", t->label, conform_precision_name(t->precision),
                    conform_check_name(r->check), r->case_name, r->detail);
        }
    }
}

void conform_report_table(FILE *out, const conform_report_t *rep)
{
    fprintf(out, "sysmap conform %s: %zu case%s from %s\n", sm_version(), rep->n_cases,
            rep->n_cases == 1 ? "" : "s",
            rep->fixtures_dir);
    if (rep->fault != CONFORM_FAULT_NONE)
        fprintf(out, "FAULT INJECTED: %s (this run tests the harness, not a device)\n",
                conform_fault_name(rep->fault));
    fprintf(out, "\n%-12s %-9s %-11s", "device", "precision", "class");
    for (int k = 0; k < CONFORM_N_CHECKS; k++)
        fprintf(out, " %-13s", conform_check_name((conform_check)k));
    fprintf(out, " time\n");
    for (size_t i = 0; i < rep->n_targets; i++) {
        const conform_target_t *t = &rep->targets[i];
        fprintf(out, "%-12s %-9s %-11s", t->label, conform_precision_name(t->precision),
                t->klass);
        if (t->unavailable[0]) {
            fprintf(out, " skipped: %s\n", t->unavailable);
            continue;
        }
        for (int k = 0; k < CONFORM_N_CHECKS; k++) {
            cell_t c = aggregate(t, (conform_check)k);
            char ratio[16], cell[32];
            format_ratio(ratio, sizeof ratio, c.ratio);
            snprintf(cell, sizeof cell, c.n ? "%s %s" : "%s", c.fail ? "FAIL" : cell_verdict(&c),
                     ratio);
            fprintf(out, " %-13s", cell);
        }
        fprintf(out, " %.1f s\n", t->wall_s);
    }
    fprintf(out, "\ncells: verdict and worst margin over the cases = worst error / tolerance "
                 "(<= 1 passes; chain: ties / ties allowed; timing: floor / throughput);\n"
                 "time: seconds spent on the device's checks\n");
    fprintf(out, "\ndevices:\n");
    for (size_t i = 0; i < rep->n_targets; i++) {
        const conform_target_t *t = &rep->targets[i];
        if (i > 0 && strcmp(t->label, rep->targets[i - 1].label) == 0)
            continue;
        fprintf(out, "  %-10s %s\n", t->label, t->description);
    }
    fprintf(out, "OpenCL implementations: %s\n",
            rep->implementations ? rep->implementations : "not enumerated");
    fprintf(out, "\nworst cases:\n");
    for (size_t i = 0; i < rep->n_targets; i++)
        for (int k = 0; k < CONFORM_N_CHECKS; k++) {
            const conform_target_t *t = &rep->targets[i];
            cell_t c = aggregate(t, (conform_check)k);
            char ratio[16];
            format_ratio(ratio, sizeof ratio, c.ratio);
            if (c.worst_case != NULL && !t->unavailable[0])
                fprintf(out, "  %-10s %s %-8s %-7s %s\n", t->label,
                        conform_precision_name(t->precision), conform_check_name((conform_check)k),
                        ratio, c.worst_case);
        }
    print_failures(out, rep, 0);
    print_failures(out, rep, 1);
    if (rep->n_problems > 0)
        fprintf(out, "\nfixture problems (not device failures; these cases were not checked):\n");
    for (size_t i = 0; i < rep->n_problems; i++) /* the message names the file */
        fprintf(out, "  %s\n", rep->problems[i].message);
    int status = conform_exit_status(rep);
    fprintf(out, "\n%s (exit %d); %.1f s\n", verdict_text(status), status, rep->wall_s);
}

/* ---- JSON ----------------------------------------------------------------- */

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

/* NaN as null, infinity as 1e999 (parsed as infinity by common readers). */
static void json_number(FILE *f, double x)
{
    if (isnan(x))
        fprintf(f, "null");
    else if (isinf(x))
        fprintf(f, x > 0 ? "1e999" : "-1e999");
    else
        fprintf(f, "%.17g", x);
}

static void json_limits(FILE *f, const conform_limits_t *t, const char *key)
{
    fprintf(f, "[");
    for (size_t i = 0; i < t->n; i++) {
        fprintf(f, "%s\n    {\"%s\": ", i ? "," : "", key);
        json_string(f, t->rows[i].name);
        fprintf(f, ", \"fp64\": ");
        json_number(f, t->rows[i].value[CONFORM_FP64]);
        fprintf(f, ", \"fp32\": ");
        json_number(f, t->rows[i].value[CONFORM_FP32]);
        fprintf(f, ", \"justification\": ");
        json_string(f, t->rows[i].why);
        fprintf(f, "}");
    }
    fprintf(f, "\n  ]");
}

static void json_target(FILE *f, const conform_target_t *t)
{
    fprintf(f, "\n    {\"label\": ");
    json_string(f, t->label);
    fprintf(f, ", \"backend\": ");
    json_string(f, t->backend);
    fprintf(f, ", \"device\": ");
    json_string(f, t->description);
    fprintf(f, ", \"class\": ");
    json_string(f, t->klass);
    fprintf(f, ", \"precision\": \"%s\", \"unavailable\": ", conform_precision_name(t->precision));
    if (t->unavailable[0])
        json_string(f, t->unavailable);
    else
        fprintf(f, "null");
    fprintf(f, ", \"wall_s\": %.3f,\n     \"checks\": {", t->wall_s);
    for (int k = 0; k < CONFORM_N_CHECKS; k++) {
        cell_t c = aggregate(t, (conform_check)k);
        fprintf(f, "%s\"%s\": {\"verdict\": \"%s\", \"worst_ratio\": ", k ? ", " : "",
                conform_check_name((conform_check)k), cell_verdict(&c));
        json_number(f, c.ratio);
        fprintf(f, ", \"worst_case\": ");
        if (c.worst_case)
            json_string(f, c.worst_case);
        else
            fprintf(f, "null");
        fprintf(f, "}");
    }
    fprintf(f, "},\n     \"results\": [");
    for (size_t i = 0; i < t->n_results; i++) {
        const conform_result_t *r = &t->results[i];
        static const char *const verdicts[] = {"pass", "fail", "skip"};
        fprintf(f, "%s\n       {\"case\": ", i ? "," : "");
        json_string(f, r->case_name);
        fprintf(f, ", \"check\": \"%s\", \"verdict\": \"%s\", \"ratio\": ",
                conform_check_name(r->check), verdicts[r->verdict]);
        json_number(f, r->ratio);
        fprintf(f, ", \"detail\": ");
        json_string(f, r->detail);
        fprintf(f, "}");
    }
    fprintf(f, "]}");
}

static sm_status close_report(FILE *f, const char *path)
{
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return sm_fail(SM_EIO, "cannot write %s", path);
    return SM_OK;
}

sm_status conform_report_json(const char *path, const conform_report_t *rep)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return sm_fail(SM_EIO, "cannot create %s", path);
    int status = conform_exit_status(rep);
    const conform_budgets_t *b = rep->budgets;
    fprintf(f, "{\n  \"sysmap_version\": ");
    json_string(f, sm_version());
    fprintf(f, ",\n  \"command\": ");
    json_string(f, rep->command);
    fprintf(f, ",\n  \"fixtures\": ");
    json_string(f, rep->fixtures_dir);
    fprintf(f, ",\n  \"opencl_implementations\": ");
    json_string(f, rep->implementations ? rep->implementations : "");
    /* What shapes the run: the launch-shape override, extra compiler
     * options and the ICD vendor folder (null when unset). */
    static const char *const env[] = {"SYSMAP_OPENCL_TUNING", "SYSMAP_OPENCL_OPTIONS",
                                      "OCL_ICD_VENDORS"};
    fprintf(f, ",\n  \"environment\": {");
    for (size_t i = 0; i < sizeof env / sizeof *env; i++) {
        const char *v = getenv(env[i]);
        fprintf(f, "%s\"%s\": ", i ? ", " : "", env[i]);
        if (v != NULL)
            json_string(f, v);
        else
            fputs("null", f);
    }
    fprintf(f, "}");
    fprintf(f, ",\n  \"n_cases\": %zu,\n  \"injected_fault\": \"%s\",\n", rep->n_cases,
            conform_fault_name(rep->fault));
    fprintf(f, "  \"exit_status\": %d,\n  \"verdict\": ", status);
    json_string(f, verdict_text(status));
    fprintf(f, ",\n  \"wall_s\": %.3f,\n  \"tolerances\": ", rep->wall_s);
    json_limits(f, &rep->tol->table, "name");
    fprintf(f, ",\n  \"timing_problem\": {\"model\": \"%s\", \"skew\": %s, \"n_sys\": %zu, "
               "\"n_pix\": %zu, \"walkers\": %zu, \"seconds\": %g},\n  \"budgets\": ",
            sm_model_name(b->model), b->skew ? "true" : "false", b->n_sys, b->n_pix,
            b->n_walkers, b->seconds);
    json_limits(f, &b->floors, "class");
    fprintf(f, ",\n  \"fixture_problems\": [");
    for (size_t i = 0; i < rep->n_problems; i++) {
        fprintf(f, "%s\n    {\"file\": ", i ? "," : "");
        json_string(f, rep->problems[i].file);
        fprintf(f, ", \"message\": ");
        json_string(f, rep->problems[i].message);
        fprintf(f, "}");
    }
    fprintf(f, "],\n  \"targets\": [");
    for (size_t i = 0; i < rep->n_targets; i++) {
        fprintf(f, "%s", i ? "," : "");
        json_target(f, &rep->targets[i]);
    }
    fprintf(f, "\n  ]\n}\n");
    return close_report(f, path);
}

/* ---- JUnit XML ------------------------------------------------------------ */

static void xml_string(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
                fputc(*s, f);
        }
    }
}

static void junit_target(FILE *f, const conform_target_t *t)
{
    int fails = 0, skips = 0;
    for (size_t i = 0; i < t->n_results; i++) {
        fails += t->results[i].verdict == CONFORM_FAIL;
        skips += t->results[i].verdict == CONFORM_SKIP;
    }
    const char *prec = conform_precision_name(t->precision);
    fprintf(f, "  <testsuite name=\"");
    xml_string(f, t->label);
    fprintf(f, " %s\" tests=\"%zu\" failures=\"%d\" errors=\"0\" skipped=\"%d\" time=\"%.3f\">\n",
            prec, t->unavailable[0] ? 1 : t->n_results, fails,
            t->unavailable[0] ? 1 : skips, t->wall_s);
    if (t->unavailable[0]) {
        fprintf(f, "    <testcase classname=\"conform.%s.%s\" name=\"device\">"
                   "<skipped message=\"", t->label, prec);
        xml_string(f, t->unavailable);
        fprintf(f, "\"/></testcase>\n");
    }
    for (size_t i = 0; i < t->n_results; i++) {
        const conform_result_t *r = &t->results[i];
        fprintf(f, "    <testcase classname=\"conform.");
        xml_string(f, t->label);
        fprintf(f, ".%s.%s\" name=\"", prec, conform_check_name(r->check));
        xml_string(f, r->case_name);
        fprintf(f, "\">");
        if (r->verdict == CONFORM_FAIL) {
            fprintf(f, "<failure type=\"%s\" message=\"",
                    r->check == CONFORM_TIMING ? "timing" : "numerical");
            xml_string(f, r->detail);
            fprintf(f, "\"/>");
        } else if (r->verdict == CONFORM_SKIP) {
            fprintf(f, "<skipped message=\"");
            xml_string(f, r->detail);
            fprintf(f, "\"/>");
        } else {
            fprintf(f, "<system-out>");
            xml_string(f, r->detail);
            fprintf(f, "</system-out>");
        }
        fprintf(f, "</testcase>\n");
    }
    fprintf(f, "  </testsuite>\n");
}

sm_status conform_report_junit(const char *path, const conform_report_t *rep)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return sm_fail(SM_EIO, "cannot create %s", path);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"sysmap conform\" "
               "time=\"%.3f\">\n",
            rep->wall_s);
    for (size_t i = 0; i < rep->n_targets; i++)
        junit_target(f, &rep->targets[i]);
    if (rep->n_problems > 0) {
        fprintf(f, "  <testsuite name=\"fixtures\" tests=\"%zu\" failures=\"0\" errors=\"%zu\" "
                   "skipped=\"0\">\n",
                rep->n_problems, rep->n_problems);
        for (size_t i = 0; i < rep->n_problems; i++) {
            fprintf(f, "    <testcase classname=\"conform.fixtures\" name=\"");
            xml_string(f, rep->problems[i].file);
            fprintf(f, "\"><error type=\"fixture\" message=\"");
            xml_string(f, rep->problems[i].message);
            fprintf(f, "\"/></testcase>\n");
        }
        fprintf(f, "  </testsuite>\n");
    }
    fprintf(f, "</testsuites>\n");
    return close_report(f, path);
}
