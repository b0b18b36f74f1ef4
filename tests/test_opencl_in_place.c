/* The OpenCL backend reading the caller's templates in place (a CPU device
 * whose memory is the host's, fp64, page-aligned templates) against the
 * same backend copying them to padded device rows (the "devmem" test hook,
 * as on a GPU): the same log-probabilities to the last bit for every model,
 * both likelihoods and maps whose size is no multiple of any vector width;
 * fp32 always copies. Needs PoCL (device 0). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sysmap/opencl.h"
#include "backend_data.h"
#include "testutil.h"

#define N_SYS 3
#define N_WALKERS 7

static int in_place(const sm_data_t *data, const sm_model_t *m, const char *precision,
                    const double *p, double *lp)
{
    sm_backend_t *be;
    ck_assert_msg(sm_opencl_create(&be, data, m, "0", precision) == SM_OK, "%s",
                  sm_last_error());
    ck_assert_int_eq(sm_backend_log_prob(be, N_WALKERS, p, lp), SM_OK);
    int copied = sm_backend_data_copied(be);
    sm_backend_free(be);
    return !copied;
}

START_TEST(in_place_equals_copy)
{
    static const size_t sizes[] = {1, 1003, 40009};
    const double a[N_SYS] = {0.02, -0.01, 0.015}, b[N_SYS] = {0.05, 0.0, -0.03};
    int kinds = (int)sm_model_kind_count();
    sm_model_t m = SM_MODEL_INIT((sm_model_kind_t)(_i % kinds), _i / kinds, N_SYS,
                                 SM_MODEL_SIGMA_MIN_DEFAULT);
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        sm_data_t *data = sm_test_make_map(sizes[k], N_SYS, a, b, 77 + sizes[k]);
        ck_assert_uint_eq((uintptr_t)sm_data_templates(data) % 4096, 0);
        double p[N_WALKERS * 8], here[N_WALKERS], there[N_WALKERS];
        sm_test_walkers(&m, N_WALKERS, 5, 2, p);
        ck_assert_msg(in_place(data, &m, "fp64", p, here), "fp64 on PoCL did not read in place");
        setenv("SYSMAP_OPENCL_INJECT_FAULT", "devmem", 1);
        ck_assert(!in_place(data, &m, "fp64", p, there));
        unsetenv("SYSMAP_OPENCL_INJECT_FAULT");
        for (size_t w = 0; w < N_WALKERS; w++)
            ck_assert_msg(memcmp(&here[w], &there[w], sizeof(double)) == 0,
                          "N=%zu walker %zu: in place %.17g, copied %.17g", sizes[k], w,
                          here[w], there[w]);
        ck_assert(!in_place(data, &m, "fp32", p, there));
        sm_data_free(data);
    }
}
END_TEST

static Suite *in_place_suite(void)
{
    Suite *s = suite_create("opencl_in_place");
    TCase *tc = tcase_create("pocl");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, in_place_equals_copy, 0, 2 * (int)sm_model_kind_count());
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sm_test_run(in_place_suite());
}
