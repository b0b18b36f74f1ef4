/* sysmap conform: the conformance harness (conformance/), checking every
 * backend against the reference fixtures in data/conformance. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conform.h"
#include "cli.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sysmap conform [options]\n"
            "\n"
            "Checks every backend (the reference and each OpenCL device, fp64 and fp32)\n"
            "against the reference fixtures: log-likelihoods, exact sums, chains, posterior\n"
            "medians and covariances, and a timing budget per device class. Prints a table\n"
            "(device x check: pass/FAIL/skip and the worst error / tolerance).\n"
            "\n"
            "  --device D        reference, N, P:D or a label (opencl:N) of sysmap devices;\n"
            "                    default: every device\n"
            "  --precision P     fp64 or fp32; default: both\n"
            "  --only LIST       comma-separated cases (see --list) and/or 'timing'\n"
            "  --fixtures DIR    fixture folder (default %s)\n"
            "  --report-dir DIR  also write DIR/conform.json and DIR/conform.xml (JUnit)\n"
            "  --list            list the cases, devices, tolerances and budgets, and exit\n"
            "  --inject FAULT    test the harness itself: wrap every backend in a fault\n"
            "                    (ulp, offset, swap, drop, fp32, slow, jitter); the run\n"
            "                    must fail\n"
            "  -h, --help        this help\n"
            "\n"
            "exit status: 0 every device conforms; 1 a device failed a numerical check\n"
            "(or the harness could not run); 2 usage; 3 numerically conformant but a\n"
            "timing budget missed; 4 fixtures could not be used (no device failed)\n",
            SYSMAP_CONFORM_FIXTURES);
}

typedef struct {
    conform_options_t opt;
    const char *report_dir;
    const char *inject;
    int list;
} args_t;

static int parse(int argc, char **argv, args_t *a)
{
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0)
            return -1;
        if (strcmp(opt, "--list") == 0) {
            a->list = 1;
            continue;
        }
        const char **slot = strcmp(opt, "--device") == 0       ? &a->opt.device
                            : strcmp(opt, "--precision") == 0  ? &a->opt.precision
                            : strcmp(opt, "--only") == 0       ? &a->opt.only
                            : strcmp(opt, "--fixtures") == 0   ? &a->opt.fixtures_dir
                            : strcmp(opt, "--report-dir") == 0 ? &a->report_dir
                            : strcmp(opt, "--inject") == 0     ? &a->inject
                                                               : NULL;
        if (slot == NULL || i + 1 >= argc) {
            fprintf(stderr, "sysmap conform: %s: %s (try sysmap conform --help)\n", opt,
                    slot ? "missing value" : "unknown option");
            return CLI_USAGE;
        }
        *slot = argv[++i];
    }
    if (a->opt.precision && strcmp(a->opt.precision, "fp64") != 0 &&
        strcmp(a->opt.precision, "fp32") != 0) {
        fprintf(stderr, "sysmap conform: --precision must be fp64 or fp32, got '%s'\n",
                a->opt.precision);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* The source tree's fixtures from a build tree, the installed ones after. */
static const char *default_fixtures(void)
{
    struct stat st;
    return stat(SYSMAP_CONFORM_FIXTURES, &st) == 0 ? SYSMAP_CONFORM_FIXTURES
                                                   : SYSMAP_CONFORM_FIXTURES_INSTALLED;
}

static void print_limits(const conform_limits_t *t, const char *title)
{
    printf("\n%s:\n", title);
    for (size_t i = 0; i < t->n; i++) {
        printf("  %-15s", t->rows[i].name);
        for (int p = 0; p < 2; p++) {
            if (isnan(t->rows[i].value[p]))
                printf(" %s %-8s", conform_precision_name((conform_precision)p), "-");
            else
                printf(" %s %-8g", conform_precision_name((conform_precision)p),
                       t->rows[i].value[p]);
        }
        printf(" %s\n", t->rows[i].why);
    }
}

static int list(const args_t *a, const conform_settings_t *set, const conform_target_t *targets,
                size_t n_targets)
{
    char **paths = NULL;
    size_t n = 0;
    int rc = CLI_OK;
    if (conform_fixture_list(a->opt.fixtures_dir, &paths, &n) != SM_OK) {
        fprintf(stderr, "sysmap conform: %s\n", sm_last_error());
        rc = CONFORM_EXIT_FIXTURE;
    }
    printf("cases in %s:\n", a->opt.fixtures_dir);
    printf("  %-28s %-15s %-5s %3s %7s %5s %12s  %s\n", "name", "model", "skew", "S", "N",
           "sets", "chain", "description");
    for (size_t i = 0; i < n; i++) {
        conform_fixture_t fx;
        char name[CONFORM_NAME_LEN], chain[32] = "-";
        conform_case_of_path(paths[i], name, sizeof name);
        if (conform_fixture_read(paths[i], &fx) != SM_OK) {
            printf("  %-28s unusable: %s\n", name, sm_last_error());
            rc = CONFORM_EXIT_FIXTURE;
        } else {
            size_t exact = 0;
            for (size_t k = 0; k < fx.n_sets; k++)
                exact += fx.exact[k] != 0;
            if (fx.n_steps > 0)
                snprintf(chain, sizeof chain, "%zux%zu", fx.n_walkers, fx.n_steps);
            char sets[16];
            snprintf(sets, sizeof sets, exact ? "%zu+%zue" : "%zu", fx.n_sets - exact, exact);
            printf("  %-28s %-15s %-5s %3zu %7zu %5s %12s  %s\n", name,
                   sm_model_name(fx.model.kind), fx.model.skew ? "yes" : "no", fx.model.n_sys,
                   fx.recipe.n_pix, sets, chain, fx.description);
            conform_fixture_free(&fx);
        }
        free(paths[i]);
    }
    free(paths);
    printf("  (sets: log-likelihood parameter sets, +Ne exact ones; chain: walkers x steps)\n");
    printf("\ndevices:\n");
    for (size_t i = 0; i < n_targets; i++)
        printf("  %-10s %s %-11s %s%s%s\n", targets[i].label,
               conform_precision_name(targets[i].precision), targets[i].klass,
               targets[i].description, targets[i].unavailable[0] ? ": skipped, " : "",
               targets[i].unavailable);
    print_limits(&set->tol->table, "tolerances (conformance/tolerances.txt)");
    const conform_budgets_t *b = set->budgets;
    printf("\ntiming problem (conformance/budgets.txt): %s%s model, N = %zu, S = %zu, "
           "%zu walkers, >= %g s\n",
           sm_model_name(b->model), b->skew ? " skew-normal" : "", b->n_pix, b->n_sys,
           b->n_walkers, b->seconds);
    print_limits(&b->floors, "throughput floors in G pixel-walker evaluations/s");
    return rc;
}

static int write_reports(const char *dir, const conform_report_t *rep)
{
    char json[4096], xml[4096];
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "sysmap conform: cannot create %s: %s\n", dir, strerror(errno));
        return CLI_ERROR;
    }
    snprintf(json, sizeof json, "%s/conform.json", dir);
    snprintf(xml, sizeof xml, "%s/conform.xml", dir);
    if (conform_report_json(json, rep) != SM_OK || conform_report_junit(xml, rep) != SM_OK)
        return cli_error("report");
    printf("reports: %s, %s\n", json, xml);
    return CLI_OK;
}

static void join_command(int argc, char **argv, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "sysmap conform");
    for (int i = 1; i < argc && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, " %s", argv[i]);
}

int cli_conform(int argc, char **argv)
{
    args_t a;
    memset(&a, 0, sizeof a);
    int rc = parse(argc, argv, &a);
    if (rc == -1) {
        usage(stdout);
        return CLI_OK;
    }
    if (rc != CLI_OK)
        return rc;
    if (a.opt.fixtures_dir == NULL)
        a.opt.fixtures_dir = default_fixtures();
    conform_tolerances_t tol;
    conform_budgets_t budgets;
    conform_settings_t set = {&tol, &budgets, CONFORM_FAULT_NONE};
    if (conform_tolerances_parse(conform_tolerances_text, &tol) != SM_OK ||
        conform_budgets_parse(conform_budgets_text, &budgets) != SM_OK)
        return cli_error("built-in tolerances");
    if (a.inject != NULL && conform_fault_parse(a.inject, &set.fault) != SM_OK) {
        cli_error("--inject");
        return CLI_USAGE;
    }
    conform_target_t *targets = NULL;
    size_t n_targets = 0;
    if (conform_targets(&a.opt, &targets, &n_targets) != SM_OK) {
        cli_error("conform");
        return CLI_USAGE;
    }
    if (a.list) {
        rc = list(&a, &set, targets, n_targets);
        conform_targets_free(targets, n_targets);
        return rc;
    }
    char command[1024];
    join_command(argc, argv, command, sizeof command);
    char implementations[1024];
    conform_implementations(implementations, sizeof implementations);
    conform_report_t rep = {a.opt.fixtures_dir, command, set.fault, &tol, &budgets, targets,
                            n_targets, NULL, 0, 0, 0.0, implementations};
    sm_status st = conform_run(&a.opt, &set, &rep);
    if (st == SM_EINVAL) {
        rc = CLI_USAGE;
        cli_error("conform");
    } else if (st != SM_OK) {
        rc = cli_error("conform");
    } else {
        conform_report_table(stdout, &rep);
        rc = conform_exit_status(&rep);
        if (a.report_dir != NULL && write_reports(a.report_dir, &rep) != CLI_OK)
            rc = CLI_ERROR;
    }
    conform_targets_free(targets, n_targets);
    free(rep.problems);
    return rc;
}
