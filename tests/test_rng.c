/* The numpy-compatible generator against numpy 1.24's RandomState. Truths
 * printed by, for seed in (42, 0, 4294967295):
 *   rs = np.random.RandomState(seed)
 *   rs.randint(0, 2**32, size=3, dtype=np.uint32); rs.random_sample(3)
 *   rs.randint(7, size=8); rs.randint(1000, size=4)
 *   x = np.arange(11); rs.shuffle(x); rs.standard_normal(3)
 *   rs.get_state()[2:]; rs.random_sample()
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sysmap/rng.h"
#include "testutil.h"

typedef struct {
    uint32_t seed;
    uint32_t raw[3];
    double uniform[3];
    uint64_t randint7[8], randint1000[4];
    size_t shuffle11[11];
    double normal[3];
    int pos, has_gauss;
    double gauss, next_uniform;
} numpy_truth_t;

static const numpy_truth_t truths[] = {
    {42, {1608637542u, 3421126067u, 4083286876u},
     {0.1834347898661638, 0.7796910002727693, 0.596850157946487},
     {1, 2, 6, 2, 2, 4, 3, 2}, {661, 308, 769, 343},
     {10, 2, 7, 6, 8, 9, 3, 0, 4, 1, 5},
     {-2.439105815056023, 0.6034412250381314, -0.2510439680857766},
     51, 1, -0.16386711649477018, 0.6183860093330873},
    {0, {2357136044u, 2546248239u, 3071714933u},
     {0.8442657485810173, 0.8579456176227568, 0.8472517387841254},
     {3, 5, 2, 4, 6, 0, 0, 4}, {314, 705, 486, 551},
     {2, 3, 4, 6, 0, 10, 9, 5, 1, 8, 7},
     {0.42837336964863926, -0.12346314911436336, 1.4143771877719702},
     45, 1, -0.12405066439134643, 0.5204774795512048},
    {4294967295u, {419326371u, 479346978u, 3918654476u},
     {0.5626933782475836, 0.5263213126361638, 0.7706147359158074},
     {0, 3, 2, 3, 3, 2, 3, 5}, {438, 87, 311, 726},
     {3, 10, 2, 6, 8, 1, 7, 0, 4, 9, 5},
     {1.3189513595836415, 0.5647725776374815, -0.44105044161642515},
     50, 1, 0.075767278510407, 0.6005460880151369},
};

static void check_stream(sm_rng_t *rng, const numpy_truth_t *t)
{
    for (int i = 0; i < 3; i++)
        ck_assert_uint_eq(sm_rng_next32(rng), t->raw[i]);
    for (int i = 0; i < 3; i++)
        ck_assert_double_eq(sm_rng_uniform(rng), t->uniform[i]);
    for (int i = 0; i < 8; i++)
        ck_assert_uint_eq(sm_rng_randint(rng, 7), t->randint7[i]);
    for (int i = 0; i < 4; i++)
        ck_assert_uint_eq(sm_rng_randint(rng, 1000), t->randint1000[i]);
    size_t x[11];
    for (size_t i = 0; i < 11; i++)
        x[i] = i;
    sm_rng_shuffle(rng, x, 11);
    for (int i = 0; i < 11; i++)
        ck_assert_uint_eq(x[i], t->shuffle11[i]);
    for (int i = 0; i < 3; i++)
        ck_assert_double_eq(sm_rng_gauss(rng), t->normal[i]);
}

START_TEST(test_numpy_streams)
{
    const numpy_truth_t *t = &truths[_i];
    sm_rng_t *rng;
    ck_assert_int_eq(sm_rng_create(&rng, t->seed), SM_OK);
    check_stream(rng, t);
    sm_rng_state_t st;
    sm_rng_get_state(rng, &st);
    ck_assert_int_eq(st.pos, t->pos);
    ck_assert_int_eq(st.has_gauss, t->has_gauss);
    ck_assert_double_eq(st.gauss, t->gauss);
    ck_assert_double_eq(sm_rng_uniform(rng), t->next_uniform);
    sm_rng_free(rng);
}
END_TEST

START_TEST(test_state_round_trip)
{
    /* A generator restored from a saved state continues the same stream,
     * cached Gaussian included. */
    sm_rng_t *a, *b;
    ck_assert_int_eq(sm_rng_create(&a, 42), SM_OK);
    ck_assert_int_eq(sm_rng_create(&b, 7), SM_OK);
    for (int i = 0; i < 1000; i++)
        (void)sm_rng_uniform(a);
    (void)sm_rng_gauss(a);
    sm_rng_state_t st;
    sm_rng_get_state(a, &st);
    ck_assert_int_eq(st.has_gauss, 1);
    ck_assert_int_eq(sm_rng_set_state(b, &st), SM_OK);
    ck_assert_double_eq(sm_rng_gauss(a), sm_rng_gauss(b));
    for (int i = 0; i < 2000; i++)
        ck_assert_uint_eq(sm_rng_next32(a), sm_rng_next32(b));
    sm_rng_free(a);
    sm_rng_free(b);
}
END_TEST

START_TEST(test_bad_state)
{
    sm_rng_t *rng;
    ck_assert_int_eq(sm_rng_create(&rng, 1), SM_OK);
    sm_rng_state_t st;
    sm_rng_get_state(rng, &st);
    st.pos = 625;
    ck_assert_int_eq(sm_rng_set_state(rng, &st), SM_EINVAL);
    ck_assert_ptr_nonnull(strstr(sm_last_error(), "position 625"));
    sm_rng_free(rng);
}
END_TEST

START_TEST(test_randint_bounds)
{
    /* n = 1 draws nothing (numpy returns the offset without a draw). */
    sm_rng_t *a, *b;
    ck_assert_int_eq(sm_rng_create(&a, 3), SM_OK);
    ck_assert_int_eq(sm_rng_create(&b, 3), SM_OK);
    ck_assert_uint_eq(sm_rng_randint(a, 1), 0);
    ck_assert_uint_eq(sm_rng_next32(a), sm_rng_next32(b));
    /* Every value of a power-of-two range appears; none beyond it. */
    int seen[16] = {0};
    for (int i = 0; i < 4000; i++) {
        uint64_t v = sm_rng_randint(a, 16);
        ck_assert_uint_lt(v, 16);
        seen[v]++;
    }
    for (int i = 0; i < 16; i++)
        ck_assert_int_gt(seen[i], 150);
    sm_rng_free(a);
    sm_rng_free(b);
}
END_TEST

static Suite *rng_suite(void)
{
    Suite *s = suite_create("rng");
    TCase *tc = tcase_create("numpy");
    tcase_add_loop_test(tc, test_numpy_streams, 0, (int)(sizeof truths / sizeof *truths));
    tcase_add_test(tc, test_state_round_trip);
    tcase_add_test(tc, test_bad_state);
    tcase_add_test(tc, test_randint_bounds);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sm_test_run(rng_suite());
}
