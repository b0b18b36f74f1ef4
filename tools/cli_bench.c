/* sysmap bench: log-likelihood throughput per backend and precision on a
 * synthetic map, in pixel-walker evaluations per second. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sysmap/backend.h"
#include "sysmap/data.h"
#include "sysmap/rng.h"
#include "cli.h"

typedef struct {
    size_t n_pix, n_sys, n_walkers, repeats;
    sm_model_kind model;
    int skew;
    double min_seconds;
    const char *device;
} bench_args_t;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sysmap bench [options]\n"
            "\n"
            "Times the batched log-likelihood of every backend and precision side by side on\n"
            "one synthetic map. Throughput is pixel-walker evaluations per second: walkers\n"
            "evaluated x pixels per walker / wall time, each repeat evaluating the whole\n"
            "ensemble as the sampler does (two half-ensemble batches) for at least\n"
            "--seconds; the median and range over repeats are shown.\n"
            "\n"
            "  --pixels N       pixels (default 50000)\n"
            "  --templates S    templates (default 5)\n"
            "  --walkers W      ensemble size (default 250)\n"
            "  --model NAME     combined (default), additive or multiplicative\n"
            "  --skew           skew-normal likelihood\n"
            "  --repeats R      repeats per backend (default 5)\n"
            "  --seconds T      minimum time per repeat (default 0.5)\n"
            "  --device D       OpenCL device (as for sysmap run)\n");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The map and walkers: seeded normals, so every run times the same work. */
static sm_status make_problem(const bench_args_t *a, const sm_model_t *m, sm_data_t **data,
                              double **walkers)
{
    size_t n = a->n_pix, s = a->n_sys, d = sm_model_n_dim(m);
    sm_rng_t *rng;
    sm_status st = sm_rng_create(&rng, 2024);
    if (st != SM_OK)
        return st;
    double *t = malloc(n * s * sizeof *t), *map = malloc(n * sizeof *map);
    *walkers = malloc(a->n_walkers * d * sizeof **walkers);
    if (t == NULL || map == NULL || *walkers == NULL) {
        fprintf(stderr, "sysmap bench: out of memory for %zu pixels x %zu templates\n", n, s);
        st = SM_ENOMEM;
    }
    for (size_t i = 0; st == SM_OK && i < n * s; i++)
        t[i] = sm_rng_gauss(rng);
    for (size_t j = 0; st == SM_OK && j < n; j++)
        map[j] = 0.1 * sm_rng_gauss(rng);
    for (size_t w = 0; st == SM_OK && w < a->n_walkers; w++) {
        for (size_t k = 0; k < d; k++)
            (*walkers)[w * d + k] = 0.01 * sm_rng_gauss(rng);
        (*walkers)[w * d + sm_model_sigma_index(m)] = 0.1 + 0.005 * sm_rng_gauss(rng);
    }
    if (st == SM_OK)
        st = sm_data_create(data, n, s, map, t, NULL);
    free(t);
    free(map);
    sm_rng_free(rng);
    return st;
}

/* Median and range of the throughput (G pixel-walker/s) over the repeats. */
static sm_status time_backend(const bench_args_t *a, sm_backend_t *be, const double *walkers,
                              double *gpw)
{
    size_t d = sm_model_n_dim(sm_backend_model(be)), half = a->n_walkers / 2;
    double *lp = malloc(a->n_walkers * sizeof *lp);
    if (lp == NULL)
        return SM_ENOMEM;
    sm_status st = SM_OK;
    /* Warm-up: first-call costs (buffer growth, driver setup) are not timed. */
    for (size_t h = 0; h < 2 && st == SM_OK; h++)
        st = sm_backend_log_prob(be, half, walkers + h * half * d, lp);
    for (size_t r = 0; r < a->repeats && st == SM_OK; r++) {
        size_t evaluations = 0;
        double t0 = now_s(), elapsed = 0.0;
        while (st == SM_OK && elapsed < a->min_seconds) {
            for (size_t h = 0; h < 2 && st == SM_OK; h++)
                st = sm_backend_log_prob(be, half, walkers + h * half * d, lp + h * half);
            evaluations += 2 * half;
            elapsed = now_s() - t0;
        }
        gpw[r] = (double)evaluations * (double)a->n_pix / elapsed / 1e9;
    }
    free(lp);
    if (st == SM_OK)
        qsort(gpw, a->repeats, sizeof *gpw, cmp_double);
    return st;
}

static int parse(int argc, char **argv, bench_args_t *a)
{
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0)
            return -1;
        if (strcmp(opt, "--skew") == 0) {
            a->skew = 1;
            continue;
        }
        if (val == NULL) {
            fprintf(stderr, "sysmap bench: unknown option or missing value: %s\n", opt);
            return CLI_USAGE;
        }
        char *end = NULL;
        double x = strtod(val, &end);
        int numeric = end != val && *end == '\0' && x > 0;
        i++;
        if (strcmp(opt, "--model") == 0) {
            if (sm_model_parse(val, &a->model) != SM_OK) {
                cli_error("--model");
                return CLI_USAGE;
            }
        } else if (strcmp(opt, "--device") == 0) {
            a->device = val;
        } else if (!numeric) {
            fprintf(stderr, "sysmap bench: %s expects a positive number, got '%s'\n", opt, val);
            return CLI_USAGE;
        } else if (strcmp(opt, "--pixels") == 0) {
            a->n_pix = (size_t)x;
        } else if (strcmp(opt, "--templates") == 0) {
            a->n_sys = (size_t)x;
        } else if (strcmp(opt, "--walkers") == 0) {
            a->n_walkers = (size_t)x;
        } else if (strcmp(opt, "--repeats") == 0) {
            a->repeats = (size_t)x;
        } else if (strcmp(opt, "--seconds") == 0) {
            a->min_seconds = x;
        } else {
            fprintf(stderr, "sysmap bench: unknown option %s\n", opt);
            return CLI_USAGE;
        }
    }
    if (a->n_walkers < 2 || a->n_walkers % 2 != 0) {
        fprintf(stderr, "sysmap bench: --walkers must be even and at least 2\n");
        return CLI_USAGE;
    }
    return CLI_OK;
}

int cli_bench(int argc, char **argv)
{
    bench_args_t a = {50000, 5, 250, 5, SM_MODEL_COMBINED, 0, 0.5, NULL};
    int rc = parse(argc, argv, &a);
    if (rc == -1) {
        usage(stdout);
        return CLI_OK;
    }
    if (rc != CLI_OK)
        return rc;
    sm_model_t model = {a.model, a.skew, a.n_sys, SM_SIGMA_MIN_DEFAULT};
    sm_data_t *data = NULL;
    double *walkers = NULL;
    double *gpw = malloc(a.repeats * sizeof *gpw);
    if (gpw == NULL || make_problem(&a, &model, &data, &walkers) != SM_OK) {
        free(gpw);
        free(walkers);
        return cli_error("bench");
    }
    printf("sysmap bench: %s%s model, N = %zu pixels, S = %zu templates, W = %zu walkers "
           "(batches of %zu); %zu repeats of >= %.2f s\n",
           sm_model_name(a.model), a.skew ? " skew-normal" : "", a.n_pix, a.n_sys, a.n_walkers,
           a.n_walkers / 2, a.repeats, a.min_seconds);
    printf("throughput in G pixel-walker evaluations per second (median [min, max]); "
           "per log-prob evaluation in microseconds\n\n");
    printf("%-10s %-9s %-44s %10s %21s %12s\n", "backend", "precision", "device", "Gpw/s",
           "[min, max]", "us/eval");
    static const char *const runs[][2] = {{"reference", NULL}, {"opencl", "fp64"},
                                          {"opencl", "fp32"}};
    for (size_t k = 0; k < sizeof runs / sizeof *runs; k++) {
        sm_backend_t *be;
        const char *device = strcmp(runs[k][0], "opencl") == 0 ? a.device : NULL;
        if (sm_backend_open(runs[k][0], device, runs[k][1], data, &model, &be) != SM_OK) {
            printf("%-10s %-9s skipped: %s\n", runs[k][0], runs[k][1] ? runs[k][1] : "fp64",
                   sm_last_error());
            continue;
        }
        if (time_backend(&a, be, walkers, gpw) != SM_OK) {
            rc = cli_error(runs[k][0]);
        } else {
            double median = gpw[a.repeats / 2];
            printf("%-10s %-9s %-44.44s %10.4f   [%7.4f, %7.4f] %12.2f\n", sm_backend_name(be),
                   sm_backend_precision(be), sm_backend_device(be), median, gpw[0],
                   gpw[a.repeats - 1], (double)a.n_pix / (median * 1e3));
        }
        sm_backend_free(be);
    }
    sm_data_free(data);
    free(walkers);
    free(gpw);
    return rc;
}
