#include "testutil.h"

#include <math.h>

#include "sysmap/data.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int sm_test_run(Suite *suite)
{
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

const char *sm_test_tmp_path(const char *name)
{
    static char path[8192];
    const char *dir = SM_BINARY_DIR "/tests/tmp";
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/%ld-%s", dir, (long)getpid(), name);
    unlink(path);
    return path;
}

int sm_test_system(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    if (rc == -1 || !WIFEXITED(rc))
        return -1;
    return WEXITSTATUS(rc);
}

void sm_test_rerun_without_opencl(const char *flag, char *text, size_t len)
{
    char self[4096], empty[8192], out[8192];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    ck_assert_int_gt(n, 0);
    self[n] = '\0';
    snprintf(empty, sizeof empty, "%s", sm_test_tmp_path("empty-vendors"));
    ck_assert_int_eq(mkdir(empty, 0755), 0);
    snprintf(out, sizeof out, "%s", sm_test_tmp_path("child-output.txt"));
    ck_assert_int_eq(sm_test_system("OCL_ICD_VENDORS='%s' OCL_ICD_FILENAMES= '%s' %s '%s'", empty,
                                    self, flag, out),
                     0);
    FILE *f = fopen(out, "r");
    ck_assert_ptr_nonnull(f);
    size_t got = fread(text, 1, len - 1, f);
    text[got] = '\0';
    fclose(f);
    rmdir(empty);
    unlink(out);
}

double sm_test_normal(unsigned long *state)
{
    double u[2];
    for (int i = 0; i < 2; i++) {
        *state = *state * 6364136223846793005ul + 1442695040888963407ul;
        u[i] = ((double)(*state >> 11) + 0.5) / 9007199254740992.0;
    }
    return sqrt(-2.0 * log(u[0])) * cos(6.283185307179586 * u[1]);
}

sm_data_t *sm_test_make_map(size_t n, size_t s, const double *a, const double *b,
                            unsigned long seed)
{
    double *t = malloc(s * n * sizeof *t), *d = malloc(n * sizeof *d);
    ck_assert(t != NULL && d != NULL);
    for (size_t i = 0; i < s; i++)
        for (size_t j = 0; j < n; j++)
            t[i * n + j] = sm_test_normal(&seed) + (i > 0 ? 0.6 * t[(i - 1) * n + j] : 0.0);
    for (size_t j = 0; j < n; j++) {
        double add = 0.0, mult = 1.0;
        for (size_t i = 0; i < s; i++) {
            add += a[i] * t[i * n + j];
            mult += b[i] * t[i * n + j];
        }
        d[j] = 0.1 * sm_test_normal(&seed) * mult + add;
    }
    sm_data_t *data;
    ck_assert_int_eq(sm_data_create(&data, n, s, d, t, NULL), SM_OK);
    free(t);
    free(d);
    return data;
}

void sm_test_walkers(const sm_model_t *m, size_t n, unsigned long seed, size_t outside,
                     double *p)
{
    size_t d = sm_model_n_dim(m);
    for (size_t w = 0; w < n; w++) {
        for (size_t i = 0; i < d; i++)
            p[w * d + i] = 0.02 * sm_test_normal(&seed);
        p[w * d + sm_model_sigma_index(m)] = 0.1 * (1.0 + 0.1 * sm_test_normal(&seed));
        if (m->skew)
            p[w * d + sm_model_gamma_index(m)] = w == 1 ? 40.0 : 2.0 * sm_test_normal(&seed);
    }
    p[outside * d + sm_model_sigma_index(m)] = -0.1;
}
