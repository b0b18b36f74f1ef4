/* Likelihood throughput of the OpenCL backend in wall time and in CPU time:
 * on a shared machine the CPU seconds this process gets are steadier than
 * the wall clock, so A/B comparisons of kernel variants use
 * pixel-walkers per 2 CPU-seconds (a 2-core device kept busy). Combined
 * model, synthetic map, the whole ensemble per repeat as the sampler
 * evaluates it (two half-ensemble batches). Not part of the build:
 *
 *   cc -O2 -Ilib/include tools/bench/cputime.c -Lbuild/lib -lsysmap -o cputime
 *   LD_LIBRARY_PATH=build/lib ./cputime fp64 skew 50000 5 250 1.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "sysmap/backend.h"
#include "sysmap/data.h"
#include "sysmap/model.h"
#include "sysmap/opencl.h"

static double wall_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu_s(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           1e-6 * (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec);
}

/* Uniform in [-1.7, 1.7): unit variance, reproducible. */
static double uniform(unsigned long *state)
{
    *state = *state * 6364136223846793005UL + 1442695040888963407UL;
    return ((double)(*state >> 11) / 9007199254740992.0 - 0.5) * 3.4641016151377544;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: cputime fp64|fp32 gauss|skew N S W SECONDS\n");
        return 2;
    }
    size_t n = strtoul(argv[3], NULL, 10), s = strtoul(argv[4], NULL, 10);
    size_t w = strtoul(argv[5], NULL, 10), half = w / 2;
    double seconds = atof(argv[6]);
    sm_model_t m = SM_MODEL_INIT(SM_MODEL_COMBINED, strcmp(argv[2], "skew") == 0, s,
                                 SM_MODEL_SIGMA_MIN_DEFAULT);
    size_t d = sm_model_n_dim(&m);
    double *t = malloc(n * s * sizeof *t), *map = malloc(n * sizeof *map);
    double *walkers = malloc(w * d * sizeof *walkers), *lp = malloc(w * sizeof *lp);
    if (t == NULL || map == NULL || walkers == NULL || lp == NULL)
        return 1;
    unsigned long state = 2024;
    for (size_t i = 0; i < n * s; i++)
        t[i] = uniform(&state);
    for (size_t j = 0; j < n; j++)
        map[j] = 0.1 * uniform(&state);
    for (size_t k = 0; k < w; k++) {
        for (size_t i = 0; i < d; i++)
            walkers[k * d + i] = 0.01 * uniform(&state);
        walkers[k * d + sm_model_sigma_index(&m)] = 0.1 + 0.005 * uniform(&state);
        if (m.skew) /* gamma spread so that ln Phi sees both tails */
            walkers[k * d + (size_t)sm_model_gamma_index(&m)] = 2.0 * uniform(&state);
    }
    sm_data_t *data;
    sm_backend_t *be;
    if (sm_data_create(&data, n, s, map, t, NULL) != SM_OK ||
        sm_opencl_create(&be, data, &m, NULL, argv[1]) != SM_OK) {
        fprintf(stderr, "cputime: %s\n", sm_last_error());
        return 1;
    }
    for (size_t h = 0; h < 2; h++) /* warm-up */
        sm_backend_log_prob(be, half, walkers + h * half * d, lp);
    double w0 = wall_s(), c0 = cpu_s(), elapsed = 0.0;
    size_t evaluations = 0;
    while (elapsed < seconds) {
        for (size_t h = 0; h < 2; h++)
            sm_backend_log_prob(be, half, walkers + h * half * d, lp + h * half);
        evaluations += 2 * half;
        elapsed = wall_s() - w0;
    }
    double cpu = cpu_s() - c0, pw = (double)evaluations * (double)n;
    printf("wall %.4f cpu2 %.4f\n", pw / elapsed / 1e9, 2.0 * pw / cpu / 1e9);
    sm_backend_free(be);
    sm_data_free(data);
    free(t);
    free(map);
    free(walkers);
    free(lp);
    return 0;
}
