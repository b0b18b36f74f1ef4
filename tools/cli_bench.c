/* sysmap bench: log-likelihood throughput per backend and precision on
 * synthetic maps, in pixel-walker evaluations per second, over a grid of
 * problem sizes; optionally the end-to-end cost of sampler steps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "sysmap/backend.h"
#include "sysmap/data.h"
#include "sysmap/registry.h"
#include "sysmap/rng.h"
#include "sysmap/run.h"
#include "sysmap/sizes.h"
#include "cli.h"

#define MAX_LIST 8
#define MAX_MODELS 16 /* kinds of the model table a --models mask can hold */

typedef struct {
    size_t values[MAX_LIST];
    size_t n;
} size_list_t;

typedef struct {
    size_list_t pixels, templates, walkers;
    sm_model_kind_t models[MAX_MODELS];
    size_t n_models;
    int likelihoods;      /* bit 0 Gaussian, bit 1 skew */
    int backends;         /* bits of the columns (column_of) */
    size_t repeats, run_steps;
    double min_seconds;
    const char *device;
    int json;
} bench_args_t;

/* What can be timed, from the registry: a backend that computes only in
 * fp64 is one column ("reference"), one that has fp32 too two
 * ("opencl-fp64", "opencl-fp32"). */
enum { MAX_COLUMNS = 16 };
typedef struct {
    const sm_backend_info_t *info;
    const char *precision;  /* NULL: the backend's only one */
    char label[48];
} column_t;

static size_t columns(column_t *out)
{
    size_t n = 0;
    for (size_t i = 0; sm_backend_info(i) != NULL; i++) {
        const sm_backend_info_t *be = sm_backend_info(i);
        for (int fp32 = 0; fp32 <= be->fp32 && n < MAX_COLUMNS; fp32++, n++) {
            out[n].info = be;
            out[n].precision = be->fp32 ? (fp32 ? "fp32" : "fp64") : NULL;
            snprintf(out[n].label, sizeof out[n].label, "%s%s%s", be->name,
                     out[n].precision ? "-" : "", out[n].precision ? out[n].precision : "");
        }
    }
    return n;
}

static void usage(FILE *out)
{
    char models[256];
    sm_model_kind_list(models, sizeof models);
    fprintf(out,
            "usage: sysmap bench [options]\n"
            "\n"
            "Times the batched log-likelihood of each backend and precision side by side on\n"
            "synthetic maps. Throughput is in G pixel-walker evaluations per second: walkers\n"
            "evaluated x pixels / wall time, each repeat evaluating half-ensemble batches (as\n"
            "the sampler calls the backend) for at least --seconds after one untimed batch;\n"
            "the median and range over repeats are shown. Lists (a,b,c) make a grid.\n"
            "\n"
            "  --pixels LIST      pixels N (default 50000)\n"
            "  --templates LIST   templates S (default 5)\n"
            "  --walkers LIST     ensemble sizes W (default 250)\n"
            "  --models LIST      %s\n"
            "                     (default combined)\n"
            "  --likelihood L     gaussian (default), skew, or both\n"
            "  --backends LIST    reference, opencl-fp64, opencl-fp32: each backend, and\n"
            "                     each precision of one that has two (default all)\n"
            "  --repeats R        repeats per measurement (default 5)\n"
            "  --seconds T        minimum time per repeat (default 0.5)\n"
            "  --run-steps K      also time K sampler steps end to end (in memory) and the\n"
            "                     host's share of them (default 0: skip)\n"
            "  --device D         device of the backends that have devices (as for sysmap\n"
            "                     run)\n"
            "  --json             one JSON object per measurement instead of the table\n",
            models);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int parse_sizes(const char *opt, const char *text, size_list_t *out)
{
    out->n = 0;
    const char *p = text, *end;
    do {
        size_t v = 0;
        if (!cli_parse_count(p, &end, &v) || v == 0 || (*end != ',' && *end != '\0') ||
            out->n == MAX_LIST) {
            fprintf(stderr, "sysmap bench: %s expects up to %d positive integers (digits only) "
                            "separated by commas, got '%s'\n", opt, MAX_LIST, text);
            return CLI_USAGE;
        }
        out->values[out->n++] = v;
        p = end + 1;
    } while (*end == ',');
    return CLI_OK;
}

/* Names of a comma list into bits of *mask (index in names). */
static int parse_names(const char *opt, const char *text, const char *const *names, size_t n,
                       int *mask)
{
    *mask = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *tok = buf, *next; tok != NULL; tok = next) {
        next = strchr(tok, ',');
        if (next != NULL)
            *next++ = '\0';
        size_t i = 0;
        while (i < n && strcmp(tok, names[i]) != 0)
            i++;
        if (i == n) {
            fprintf(stderr, "sysmap bench: %s: unknown name '%s'\n", opt, tok);
            return CLI_USAGE;
        }
        *mask |= 1 << i;
    }
    return CLI_OK;
}

static int parse(int argc, char **argv, bench_args_t *a)
{
    column_t cols[MAX_COLUMNS];
    const char *backends[MAX_COLUMNS];
    size_t n_cols = columns(cols);
    for (size_t c = 0; c < n_cols; c++)
        backends[c] = cols[c].label;
    static const char *const likelihoods[] = {"gaussian", "skew", "both"};
    const char *models[MAX_MODELS];
    size_t n_kinds = sm_model_kind_count() < MAX_MODELS ? sm_model_kind_count() : MAX_MODELS;
    for (size_t k = 0; k < n_kinds; k++)
        models[k] = sm_model_name((sm_model_kind_t)k);
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0)
            return -1;
        if (strcmp(opt, "--json") == 0) {
            a->json = 1;
            continue;
        }
        if (val == NULL) {
            fprintf(stderr, "sysmap bench: unknown option or missing value: %s\n", opt);
            return CLI_USAGE;
        }
        i++;
        int rc = CLI_OK, mask;
        size_list_t one;
        if (strcmp(opt, "--pixels") == 0) {
            rc = parse_sizes(opt, val, &a->pixels);
        } else if (strcmp(opt, "--templates") == 0) {
            rc = parse_sizes(opt, val, &a->templates);
        } else if (strcmp(opt, "--walkers") == 0) {
            rc = parse_sizes(opt, val, &a->walkers);
            for (size_t k = 0; rc == CLI_OK && k < a->walkers.n; k++)
                if (a->walkers.values[k] % 2 != 0) {
                    fprintf(stderr, "sysmap bench: --walkers must be even\n");
                    rc = CLI_USAGE;
                }
        } else if (strcmp(opt, "--models") == 0) {
            rc = parse_names(opt, val, models, n_kinds, &mask);
            a->n_models = 0;
            for (int m = 0; m < (int)n_kinds; m++)
                if (mask & (1 << m))
                    a->models[a->n_models++] = (sm_model_kind_t)m;
        } else if (strcmp(opt, "--likelihood") == 0) {
            rc = parse_names(opt, val, likelihoods, 3, &mask);
            a->likelihoods = (mask & 4) ? 3 : mask;
        } else if (strcmp(opt, "--backends") == 0) {
            rc = parse_names(opt, val, backends, n_cols, &a->backends);
        } else if (strcmp(opt, "--repeats") == 0 || strcmp(opt, "--run-steps") == 0) {
            rc = parse_sizes(opt, val, &one);
            if (rc == CLI_OK && one.n == 1)
                *(strcmp(opt, "--repeats") == 0 ? &a->repeats : &a->run_steps) = one.values[0];
        } else if (strcmp(opt, "--seconds") == 0) {
            char *end;
            a->min_seconds = strtod(val, &end);
            if (end == val || *end != '\0' || !(a->min_seconds > 0)) {
                fprintf(stderr, "sysmap bench: --seconds expects a positive number\n");
                rc = CLI_USAGE;
            }
        } else if (strcmp(opt, "--device") == 0) {
            a->device = val;
        } else {
            fprintf(stderr, "sysmap bench: unknown option %s (try sysmap bench --help)\n", opt);
            rc = CLI_USAGE;
        }
        if (rc != CLI_OK)
            return rc;
    }
    return CLI_OK;
}

sm_status cli_bench_problem(size_t n, size_t s, size_t w, const sm_model_t *m,
                            sm_data_t **data, double **walkers)
{
    size_t d = sm_model_n_dim(m);
    sm_rng_t *rng;
    sm_status st = sm_rng_create(&rng, 2024);
    if (st != SM_OK)
        return st;
    double *t = malloc(n * s * sizeof *t), *map = malloc(n * sizeof *map);
    *walkers = malloc(w * d * sizeof **walkers);
    if (t == NULL || map == NULL || *walkers == NULL)
        st = SM_ENOMEM;
    for (size_t i = 0; st == SM_OK && i < n * s; i++)
        t[i] = sm_rng_gauss(rng);
    for (size_t j = 0; st == SM_OK && j < n; j++)
        map[j] = 0.1 * sm_rng_gauss(rng);
    for (size_t k = 0; st == SM_OK && k < w; k++) {
        for (size_t i = 0; i < d; i++)
            (*walkers)[k * d + i] = 0.01 * sm_rng_gauss(rng);
        (*walkers)[k * d + sm_model_sigma_index(m)] = 0.1 + 0.005 * sm_rng_gauss(rng);
    }
    if (st == SM_OK)
        st = sm_data_create(data, n, s, map, t, NULL);
    free(t);
    free(map);
    sm_rng_free(rng);
    return st;
}

/* Sorted throughputs (G pixel-walker/s) of the repeats, on half-ensemble
 * batches as the sampler calls the backend. */
static sm_status time_backend(const bench_args_t *a, sm_backend_t *be, size_t w,
                              const double *walkers, double *gpw)
{
    sm_status st = SM_OK;
    for (size_t r = 0; r < a->repeats && st == SM_OK; r++) {
        sm_throughput_t tp;
        st = sm_backend_throughput(be, w / 2, walkers, a->min_seconds, &tp);
        gpw[r] = tp.evals_per_s / 1e9;
    }
    if (st == SM_OK)
        qsort(gpw, a->repeats, sizeof *gpw, cmp_double);
    return st;
}

/* Seconds per sampler step of a short in-memory run on this backend, and
 * the share of them that is not the backend's evaluations. */
static sm_status time_steps(const bench_args_t *a, const sm_data_t *data, const sm_model_t *m,
                            size_t w, const column_t *col, double *per_step, double *host)
{
    sm_run_config_t cfg;
    sm_run_config_default(&cfg);
    cfg.model = m->kind;
    cfg.skew = m->skew;
    cfg.n_walkers = w;
    cfg.n_steps = a->run_steps;
    cfg.n_burn = a->run_steps / 2;
    cfg.backend = col->info->name;
    cfg.precision = col->precision;
    cfg.device = col->info->devices != NULL ? a->device : NULL;
    sm_run_t *run;
    sm_status st = sm_run_create(&run, data, &cfg);
    if (st == SM_OK)
        st = sm_run_execute(run, NULL, 0, NULL, NULL);
    if (st == SM_OK) {
        const sm_chainfile_summary_t *sum = sm_run_summary(run);
        *per_step = sum->wall_s / (double)a->run_steps;
        *host = sum->wall_s > 0 ? 1.0 - sum->eval_s / sum->wall_s : 0.0;
    }
    sm_run_free(run);
    return st;
}

static void print_row(const bench_args_t *a, const sm_model_t *m, size_t n, size_t w,
                      const sm_backend_t *be, const double *gpw, double per_step, double host)
{
    double median = gpw[a->repeats / 2];
    double eval_us = (double)n / (median * 1e3);
    const char *lik = m->skew ? "skew" : "gaussian";
    if (a->json) {
        printf("{\"backend\": \"%s\", \"precision\": \"%s\", \"device\": \"%s\", \"model\": "
               "\"%s\", \"likelihood\": \"%s\", \"n_pix\": %zu, \"n_sys\": %zu, "
               "\"n_walkers\": %zu, \"gpw_median\": %.6g, \"gpw_min\": %.6g, \"gpw_max\": "
               "%.6g, \"us_per_eval\": %.6g, \"s_per_step\": %.6g, \"host_fraction\": %.4g}\n",
               sm_backend_name(be), sm_backend_precision(be), sm_backend_device(be),
               sm_model_name(m->kind), lik, n, m->n_sys, w, median, gpw[0],
               gpw[a->repeats - 1], eval_us, per_step, host);
        return;
    }
    printf("%-10s %-5s %-15s %-8s %7zu %3zu %5zu %9.4f [%7.4f,%7.4f] %10.2f", sm_backend_name(be),
           sm_backend_precision(be), sm_model_name(m->kind), lik, n, m->n_sys, w, median,
           gpw[0], gpw[a->repeats - 1], eval_us);
    if (per_step > 0)
        printf(" %9.4f %6.1f%%", per_step, 100.0 * host);
    printf("\n");
}

/* The memory of one problem, refused up front when a count overflows or
 * the machine has less: the templates twice (the host's and the backend's
 * copy), then the walkers with a log-prob each. */
static int check_problem_size(size_t n, size_t s, size_t w, const sm_model_t *m)
{
    char what[160];
    snprintf(what, sizeof what, "a problem of %zu pixels x %zu templates and %zu walkers", n,
             s, w);
    size_t count, bytes;
    sm_status st = sm_size_mul(n, s, what, &count);
    if (st == SM_OK)
        st = sm_size_mul(count, 2, what, &count);
    if (st == SM_OK)
        st = sm_size_bytes(count, sizeof(double), what, &bytes);
    /* n_dim is small once the templates fit */
    if (st == SM_OK)
        st = sm_size_mul(w, sm_model_n_dim(m) + 1, what, &count);
    if (st == SM_OK)
        st = sm_size_bytes(count, sizeof(double), what, &bytes);
    if (st != SM_OK) {
        fprintf(stderr, "sysmap bench: %s\n", sm_last_error());
        return CLI_ERROR;
    }
    return CLI_OK;
}

static int bench_case(const bench_args_t *a, const sm_model_t *m, size_t n, size_t w,
                      double *gpw)
{
    sm_data_t *data = NULL;
    double *walkers = NULL;
    int rc = check_problem_size(n, m->n_sys, w, m);
    if (rc != CLI_OK)
        return rc;
    if (cli_bench_problem(n, m->n_sys, w, m, &data, &walkers) != SM_OK) {
        free(walkers);
        fprintf(stderr, "sysmap bench: cannot make a map of %zu pixels x %zu templates\n", n,
                m->n_sys);
        return CLI_ERROR;
    }
    column_t cols[MAX_COLUMNS];
    size_t n_cols = columns(cols);
    for (size_t k = 0; k < n_cols; k++) {
        if (!(a->backends & (1 << k)))
            continue;
        sm_backend_t *be;
        const column_t *col = &cols[k];
        const char *device = col->info->devices != NULL ? a->device : NULL;
        if (sm_backend_open(&be, col->info->name, device, col->precision, data, m) != SM_OK) {
            fprintf(stderr, "sysmap bench: %s %s skipped: %s\n", col->info->name,
                    col->precision ? col->precision : "fp64", sm_last_error());
            continue;
        }
        double per_step = 0.0, host = 0.0;
        if (time_backend(a, be, w, walkers, gpw) != SM_OK ||
            (a->run_steps > 0 && time_steps(a, data, m, w, col, &per_step, &host) != SM_OK))
            rc = cli_error(col->info->name);
        else
            print_row(a, m, n, w, be, gpw, per_step, host);
        fflush(stdout);
        sm_backend_free(be);
    }
    sm_data_free(data);
    free(walkers);
    return rc;
}

int cli_bench(int argc, char **argv)
{
    bench_args_t a = {{{50000}, 1}, {{5}, 1}, {{250}, 1}, {SM_MODEL_COMBINED}, 1, 1, ~0,
                      5, 0, 0.5, NULL, 0};
    int rc = parse(argc, argv, &a);
    if (rc == -1) {
        usage(stdout);
        return CLI_OK;
    }
    if (rc != CLI_OK)
        return rc;
    size_t gpw_bytes;
    if (sm_size_bytes(a.repeats, sizeof(double), "--repeats", &gpw_bytes) != SM_OK) {
        fprintf(stderr, "sysmap bench: %s\n", sm_last_error());
        return CLI_USAGE;
    }
    double *gpw = malloc(gpw_bytes);
    if (gpw == NULL) {
        fprintf(stderr, "sysmap bench: out of memory for %zu repeats\n", a.repeats);
        return CLI_ERROR;
    }
    if (!a.json) {
        printf("sysmap bench: G pixel-walker evaluations per second, median [min, max] of %zu "
               "repeats of >= %.2f s; us per log-prob evaluation",
               a.repeats, a.min_seconds);
        if (a.run_steps > 0)
            printf("; s per sampler step over %zu steps and the host's share of it (all but "
                   "the backend's evaluations)",
                   a.run_steps);
        printf("\n%-10s %-5s %-15s %-8s %7s %3s %5s %9s %17s %10s%s\n", "backend", "prec",
               "model", "lnL", "N", "S", "W", "Gpw/s", "[min, max]", "us/eval",
               a.run_steps > 0 ? "    s/step   host" : "");
    }
    for (size_t im = 0; im < a.n_models && rc == CLI_OK; im++)
        for (int skew = 0; skew < 2; skew++) {
            if (!(a.likelihoods & (1 << skew)))
                continue;
            for (size_t is = 0; is < a.templates.n; is++)
                for (size_t in = 0; in < a.pixels.n; in++)
                    for (size_t iw = 0; iw < a.walkers.n; iw++) {
                        sm_model_t m = SM_MODEL_INIT(a.models[im], skew, a.templates.values[is],
                                        SM_MODEL_SIGMA_MIN_DEFAULT);
                        int r = bench_case(&a, &m, a.pixels.values[in], a.walkers.values[iw],
                                           gpw);
                        rc = rc == CLI_OK ? r : rc;
                    }
        }
    struct rusage ru;
    if (!a.json && getrusage(RUSAGE_SELF, &ru) == 0)
        printf("peak host memory (max RSS of this process): %.1f MB\n", (double)ru.ru_maxrss / 1e3);
    /* The launch shape in force for each device column (tuning is the
     * OpenCL backend's, the only one with devices). */
    column_t cols[MAX_COLUMNS];
    size_t n_cols = columns(cols);
    for (size_t c = 0; c < n_cols && !a.json; c++)
        if ((a.backends & (1 << c)) && cols[c].info->devices != NULL)
            cli_print_tuning(a.device, cols[c].precision);
    free(gpw);
    return rc;
}
