/* The machine's measured peak, for the roofline in RESULTS.md: double and
 * single precision FMA throughput (independent chains, all cores, the
 * compiler's widest SIMD) and streaming read bandwidth. Not part of the build:
 *
 *   cc -O3 -march=native -fopenmp tools/bench/peak.c -o peak && ./peak
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#define CHAINS 32  /* independent FMA chains per thread: hides FMA latency */
#define ITERS 20000000L

#define FMA_PEAK(T, name)                                                          \
    static double name(void)                                                       \
    {                                                                              \
        double t0 = omp_get_wtime();                                               \
        T sink = 0;                                                                \
        _Pragma("omp parallel reduction(+ : sink)")                                \
        {                                                                          \
            T acc[CHAINS], x = (T)0.999999, y = (T)1e-7;                           \
            for (int c = 0; c < CHAINS; c++)                                       \
                acc[c] = (T)c;                                                     \
            for (long i = 0; i < ITERS / CHAINS * 4; i++)                          \
                _Pragma("omp simd") for (int c = 0; c < CHAINS; c++) acc[c] =      \
                    acc[c] * x + y;                                                \
            for (int c = 0; c < CHAINS; c++)                                       \
                sink += acc[c];                                                    \
        }                                                                          \
        double dt = omp_get_wtime() - t0;                                          \
        if (sink == (T)-1)                                                         \
            puts("");                                                              \
        return 2.0 * (double)(ITERS / CHAINS * 4) * CHAINS * omp_get_max_threads() \
               / dt / 1e9;                                                         \
    }

FMA_PEAK(double, peak_fp64)
FMA_PEAK(float, peak_fp32)

static double read_bandwidth(void)
{
    size_t n = (size_t)1 << 26; /* 512 MiB of doubles: far beyond the caches */
    double *a = malloc(n * sizeof *a), sum = 0.0, best = 0.0;
#pragma omp parallel for
    for (size_t i = 0; i < n; i++)
        a[i] = (double)i;
    for (int r = 0; r < 5; r++) {
        double t0 = omp_get_wtime();
#pragma omp parallel for reduction(+ : sum)
        for (size_t i = 0; i < n; i++)
            sum += a[i];
        double gbs = (double)(n * sizeof *a) / (omp_get_wtime() - t0) / 1e9;
        best = gbs > best ? gbs : best;
    }
    free(a);
    return sum == -1.0 ? 0.0 : best;
}

int main(void)
{
    printf("threads %d\n", omp_get_max_threads());
    printf("fp64 FMA peak %.1f GFLOP/s\n", peak_fp64());
    printf("fp32 FMA peak %.1f GFLOP/s\n", peak_fp32());
    printf("read bandwidth %.1f GB/s\n", read_bandwidth());
    return 0;
}
