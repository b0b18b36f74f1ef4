/* The pixel-sharded MPI backend on 2 ranks (test_mpi starts itself with
 * mpiexec -n 2; Check in no-fork mode on rank 0, rank 1 serves). Each test of the "sessions" case
 * is one sm_mpi_serve session of rank 1 with the settings in sessions[]
 * below, and rank 1 checks what its sm_mpi_serve returned. Truths: the
 * reference backend on the whole map, and pixel sums accumulated here in
 * long double; splits computed by hand. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sysmap/mpi.h"
#include "sysmap/reference.h"
#include "testutil.h"

#define N_PIX 5001
#define N_SYS 3
#define N_WALKERS 6

/* Rank 1's settings per session, and what its sm_mpi_serve must return. */
typedef struct {
    sm_mpi_rank_t self;
    const char *fault;    /* SYSMAP_MPI_INJECT_FAULT during the session */
    sm_status expect;
    const char *message;  /* in the returned message */
} session_t;

/* Rank 1's stop flag, set as if a signal had reached rank 1 only. */
static volatile sig_atomic_t rank1_stop = 1;

/* Rank settings in field order after struct_size. */
#define RANK(...) {sizeof(sm_mpi_rank_t), __VA_ARGS__}

static const session_t sessions[] = {
    /* 0: sharded = reference, every model; rank 1 weighs 3 */
    {RANK("reference", NULL, NULL, 3.0, 0, 0, NULL), NULL, SM_OK, ""},
    /* 1: auto weights on both ranks */
    {RANK("reference", NULL, NULL, SM_MPI_WEIGHT_AUTO, 8, 0, NULL), NULL, SM_OK, ""},
    /* 2: a bad weight on rank 1 */
    {RANK("reference", NULL, NULL, 0.0, 0, 0, NULL), NULL, SM_EINVAL, "rank 1 of 2: weight 0"},
    /* 3: an unknown backend on rank 1 */
    {RANK("nosuch", NULL, NULL, 1.0, 0, 0, NULL), NULL, SM_EINVAL,
     "rank 1 of 2: unknown backend 'nosuch'"},
    /* 4: rank 0's slice is empty, then a good setup on the same ranks */
    {RANK("reference", NULL, NULL, 1.0, 0, 0, NULL), NULL, SM_EINVAL,
     "rank 0 of 2: its slice is empty"},
    /* 5: rank 1's device fails from its 2nd evaluation on */
    {RANK("reference", NULL, NULL, 1.0, 0, 0, NULL), "2", SM_EDEVICE,
     "rank 1 of 2: injected fault"},
    /* 6: rank 0 ends with a failure */
    {RANK("reference", NULL, NULL, 1.0, 0, 0, NULL), NULL, SM_ECANCELLED,
     "rank 0 of 2 stopped the run"},
    /* 7: rank 1 in fp32 beside rank 0's fp64: refused on rank 0, which then
     * ends with that failure */
    {RANK("opencl", NULL, "fp32", 1.0, 0, 0, NULL), NULL, SM_EINVAL,
     "rank 0 of 2 ended the run with an error"},
    /* 8: the same, allowed by rank 0 */
    {RANK("opencl", NULL, "fp32", 1.0, 0, 0, NULL), NULL, SM_OK, ""},
    /* 9: a stop requested on rank 1 only */
    {RANK("reference", NULL, NULL, 1.0, 0, 0, &rank1_stop), NULL, SM_OK, ""},
    /* 10: rank 1's settings never initialised (struct_size 0) */
    {{0, "reference", NULL, NULL, 1.0, 0, 0, NULL}, NULL, SM_EINVAL,
     "rank 1 of 2: sm_mpi_rank_t: struct_size is 0: initialise the struct with sm_mpi_rank_init"},
};
#define N_SESSIONS (sizeof sessions / sizeof sessions[0])

static sm_data_t *map;
static sm_status release_status;

static void make_map(void)
{
    double a[N_SYS] = {0.02, -0.01, 0.015}, b[N_SYS] = {0.03, 0.0, -0.02};
    map = sm_test_make_map(N_PIX, N_SYS, a, b, 31);
}

static void free_map(void)
{
    sm_data_free(map);
}

static void release_session(void)
{
    sm_mpi_release(MPI_COMM_WORLD, release_status);
    release_status = SM_OK;
}

static sm_mpi_rank_t rank0(double weight)
{
    sm_mpi_rank_t self = {sizeof self, "reference", NULL, NULL, weight, 0, 0, NULL};
    return self;
}

/* Walkers near the origin, one outside the prior (sigma < 0). */
static void make_walkers(const sm_model_t *m, double *p)
{
    unsigned long st = 7;
    size_t d = sm_model_n_dim(m);
    for (size_t w = 0; w < N_WALKERS; w++) {
        for (size_t i = 0; i < d; i++)
            p[w * d + i] = 0.03 * sm_test_normal(&st);
        p[w * d + sm_model_sigma_index(m)] = 0.1 * (1.0 + 0.1 * sm_test_normal(&st));
        if (m->skew)
            p[w * d + sm_model_gamma_index(m)] = 2.0 * sm_test_normal(&st);
    }
    p[2 * d + sm_model_sigma_index(m)] = -0.1;
}

/* Pixel sums of one walker over the whole map, in long double. */
static sm_pixel_sums_t direct_sums(const sm_model_t *m, const double *p)
{
    size_t n = sm_data_n_pix(map), s = m->n_sys;
    const double *d = sm_data_delta(map), *t = sm_data_templates(map);
    long a0 = sm_model_a_offset(m), b0 = sm_model_b_offset(m);
    double sigma = p[sm_model_sigma_index(m)];
    double gamma = m->skew ? p[sm_model_gamma_index(m)] : 0.0;
    double xi = m->skew ? sm_model_skew_xi(sigma, gamma) : 0.0;
    long double lm = 0, sq = 0, lp = 0;
    for (size_t j = 0; j < n; j++) {
        double add = 0.0, mult = 1.0;
        for (size_t i = 0; i < s; i++) {
            add += a0 >= 0 ? p[a0 + (long)i] * t[i * n + j] : 0.0;
            mult += b0 >= 0 ? p[b0 + (long)i] * t[i * n + j] : 0.0;
        }
        double u = (d[j] - add) / mult - xi;
        lm += log(fabs(mult));
        sq += (long double)u * u;
        if (m->skew)
            lp += sm_model_log_ndtr(gamma * u / sigma);
    }
    sm_pixel_sums_t out = {(double)lm, (double)sq, (double)lp};
    return out;
}

START_TEST(test_split)
{
    size_t first[4];
    double w13[] = {1.0, 3.0}, w111[] = {1.0, 1.0, 1.0};
    ck_assert_int_eq(sm_mpi_split(19472, 2, w13, first), SM_OK);
    ck_assert_uint_eq(first[0], 0);
    ck_assert_uint_eq(first[1], 4868); /* 19472 / 4 */
    ck_assert_uint_eq(first[2], 19472);
    ck_assert_int_eq(sm_mpi_split(10, 3, w111, first), SM_OK);
    /* round(10/3) = 3, round(20/3) = 7 */
    ck_assert_uint_eq(first[1], 3);
    ck_assert_uint_eq(first[2], 7);
    ck_assert_uint_eq(first[3], 10);
    ck_assert_int_eq(sm_mpi_split(1, 3, w111, first), SM_OK);
    /* round(1/3) = 0, round(2/3) = 1: ranks 0 and 2 get nothing */
    ck_assert_uint_eq(first[1], 0);
    ck_assert_uint_eq(first[2], 1);
    ck_assert_uint_eq(first[3], 1);
    double bad[][2] = {{1.0, 0.0}, {1.0, -2.0}, {1.0, NAN}, {1.0, INFINITY}};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(sm_mpi_split(10, 2, bad[i], first), SM_EINVAL);
        ck_assert_msg(strstr(sm_last_error(), "weight of rank 1") != NULL, "%s",
                      sm_last_error());
    }
    ck_assert_int_eq(sm_mpi_split(10, 0, w13, first), SM_EINVAL);
}
END_TEST

START_TEST(test_lists)
{
    char out[16];
    ck_assert_int_eq(sm_mpi_list_entry("0,9", 1, 2, out, sizeof out), SM_OK);
    ck_assert_str_eq(out, "9");
    ck_assert_int_eq(sm_mpi_list_entry("1:0", 3, 4, out, sizeof out), SM_OK);
    ck_assert_str_eq(out, "1:0");
    ck_assert_int_eq(sm_mpi_list_entry("0,1,2", 0, 2, out, sizeof out), SM_EINVAL);
    ck_assert_msg(strstr(sm_last_error(), "3 entries for 2 MPI ranks") != NULL, "%s",
                  sm_last_error());
    ck_assert_int_eq(sm_mpi_list_entry("0,,1", 1, 3, out, sizeof out), SM_EINVAL);
    ck_assert_msg(strstr(sm_last_error(), "entry of rank 1 is empty") != NULL, "%s",
                  sm_last_error());
    ck_assert_int_eq(sm_mpi_list_entry("123456789012345678", 0, 1, out, sizeof out), SM_EINVAL);
    double w;
    ck_assert_int_eq(sm_mpi_rank_weight(NULL, 1, 2, &w), SM_OK);
    ck_assert(w == 1.0);
    ck_assert_int_eq(sm_mpi_rank_weight("1,2.5", 1, 2, &w), SM_OK);
    ck_assert(w == 2.5);
    ck_assert_int_eq(sm_mpi_rank_weight("auto", 0, 2, &w), SM_OK);
    ck_assert(w == SM_MPI_WEIGHT_AUTO);
    const char *bad[] = {"x", "0", "-1", "inf", "1e999", "2,1e-400x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_int_eq(sm_mpi_rank_weight(bad[i], 1, 2, &w), SM_EINVAL);
        ck_assert_msg(strstr(sm_last_error(), "rank weights") != NULL, "%s", sm_last_error());
    }
}
END_TEST

/* Sharded lnL and pixel sums equal the reference backend's and the direct
 * sums for every model x {Gaussian, skew}; the split follows the weights;
 * the device rule and the device text. */
START_TEST(test_session_equality)
{
    char dev[16];
    ck_assert_int_eq(sm_mpi_rank_device(MPI_COMM_WORLD, "3,4", "opencl", NULL, dev, sizeof dev),
                     SM_OK);
    ck_assert_str_eq(dev, "3");
    ck_assert_int_eq(sm_mpi_rank_device(MPI_COMM_WORLD, NULL, "reference", NULL, dev,
                                        sizeof dev), SM_OK);
    ck_assert_str_eq(dev, "");
    for (int kind = 0; kind < (int)sm_model_kind_count(); kind++) {
        for (int skew = 0; skew < 2; skew++) {
            sm_model_t m = SM_MODEL_INIT((sm_model_kind_t)kind, skew, N_SYS,
                                         SM_MODEL_SIGMA_MIN_DEFAULT);
            size_t d = sm_model_n_dim(&m);
            double p[N_WALKERS * 8], lp[N_WALKERS], want[N_WALKERS];
            make_walkers(&m, p);
            sm_backend_t *ref, *be;
            sm_mpi_layout_t *layout;
            sm_mpi_rank_t self = rank0(kind == 0 ? 1.0 : 3.0);
            ck_assert_int_eq(sm_reference_create(&ref, map, &m), SM_OK);
            ck_assert_int_eq(sm_mpi_backend_create(&be, MPI_COMM_WORLD, map, &m, &self, &layout),
                             SM_OK);
            /* weights (1, 3): round(5001 / 4) = 1250; (3, 3): round(5001 / 2) = 2501 */
            ck_assert_uint_eq(layout->n_ranks, 2);
            ck_assert_uint_eq(layout->first[1], kind == 0 ? 1250 : 2501);
            ck_assert_uint_eq(layout->first[2], N_PIX);
            ck_assert(layout->weight[1] == 3.0);
            ck_assert_str_eq(layout->backend[1], "reference");
            ck_assert_str_eq(sm_backend_name(be), "reference");
            ck_assert_str_eq(sm_backend_precision(be), "fp64");
            ck_assert_str_eq(sm_backend_device(be),
                             "2 MPI ranks: 2 x host CPU (GSL, double, Neumaier sums)");
            ck_assert_uint_eq(sm_backend_n_pix(be), N_PIX);
            ck_assert_int_eq(sm_backend_log_prob(ref, N_WALKERS, p, want), SM_OK);
            ck_assert_int_eq(sm_backend_log_prob(be, N_WALKERS, p, lp), SM_OK);
            for (size_t w = 0; w < N_WALKERS; w++) {
                if (w == 2) {
                    ck_assert(isinf(lp[w]) && lp[w] < 0);
                    continue;
                }
                ck_assert_close(lp[w], want[w], 1e-13, 0.0);
            }
            int in_prior[N_WALKERS] = {1, 1, 0, 1, 1, 1};
            sm_pixel_sums_t sums[N_WALKERS];
            ck_assert_int_eq(sm_backend_pixel_sums(be, N_WALKERS, p, in_prior, sums), SM_OK);
            for (size_t w = 0; w < N_WALKERS; w++) {
                if (!in_prior[w])
                    continue;
                sm_pixel_sums_t t = direct_sums(&m, p + w * d);
                ck_assert_close(sums[w].log_m, t.log_m, 1e-12, 1e-12);
                ck_assert_close(sums[w].sq, t.sq, 1e-12, 0.0);
                ck_assert_close(sums[w].log_phi, t.log_phi, 1e-12, 0.0);
            }
            sm_mpi_layout_free(layout);
            sm_backend_free(be);
            sm_backend_free(ref);
        }
    }
}
END_TEST

START_TEST(test_session_auto)
{
    sm_model_t m = SM_MODEL_INIT(SM_MODEL_COMBINED, 0, N_SYS, SM_MODEL_SIGMA_MIN_DEFAULT);
    double p[N_WALKERS * 8], lp[N_WALKERS], want[N_WALKERS];
    make_walkers(&m, p);
    sm_backend_t *ref, *be;
    sm_mpi_layout_t *layout;
    sm_mpi_rank_t self = rank0(SM_MPI_WEIGHT_AUTO);
    self.batch = 8;
    ck_assert_int_eq(sm_reference_create(&ref, map, &m), SM_OK);
    ck_assert_int_eq(sm_mpi_backend_create(&be, MPI_COMM_WORLD, map, &m, &self, &layout), SM_OK);
    /* The measured rates (pixel-walker evaluations per second) became the
     * weights, and the split follows them. */
    size_t first[3];
    ck_assert(layout->weight[0] > 1e3 && layout->weight[1] > 1e3);
    ck_assert_int_eq(sm_mpi_split(N_PIX, 2, layout->weight, first), SM_OK);
    ck_assert_uint_eq(layout->first[1], first[1]);
    ck_assert_int_eq(sm_backend_log_prob(ref, N_WALKERS, p, want), SM_OK);
    ck_assert_int_eq(sm_backend_log_prob(be, N_WALKERS, p, lp), SM_OK);
    for (size_t w = 0; w < N_WALKERS; w++)
        if (w != 2)
            ck_assert_close(lp[w], want[w], 1e-13, 0.0);
    sm_mpi_layout_free(layout);
    sm_backend_free(be);
    sm_backend_free(ref);
}
END_TEST

/* Setup failures on rank 1 reach rank 0 naming the rank (sessions 2, 3, 10). */
START_TEST(test_session_rank1_setup_fails)
{
    sm_model_t m = SM_MODEL_INIT(SM_MODEL_ADDITIVE, 0, N_SYS, SM_MODEL_SIGMA_MIN_DEFAULT);
    sm_backend_t *be = (sm_backend_t *)&m;
    sm_mpi_rank_t self = rank0(1.0);
    sm_status st = sm_mpi_backend_create(&be, MPI_COMM_WORLD, map, &m, &self, NULL);
    ck_assert_int_eq(st, sessions[_i].expect);
    ck_assert_ptr_null(be);
    ck_assert_msg(strstr(sm_last_error(), sessions[_i].message) != NULL, "%s", sm_last_error());
}
END_TEST

START_TEST(test_session_empty_slice_then_recovery)
{
    sm_model_t m = SM_MODEL_INIT(SM_MODEL_ADDITIVE, 0, N_SYS, SM_MODEL_SIGMA_MIN_DEFAULT);
    sm_backend_t *be;
    sm_mpi_rank_t self = rank0(1e-12);
    ck_assert_int_eq(sm_mpi_backend_create(&be, MPI_COMM_WORLD, map, &m, &self, NULL),
                     SM_EINVAL);
    ck_assert_msg(strstr(sm_last_error(), "rank 0 of 2: its slice is empty: weight 1e-12 gives "
                                          "it none of the 5001 pixels") != NULL,
                  "%s", sm_last_error());
    /* Argument errors stay on rank 0 and send nothing. */
    sm_model_t wrong = m;
    wrong.n_sys = 2;
    ck_assert_int_eq(sm_mpi_backend_create(&be, MPI_COMM_WORLD, map, &wrong, &self, NULL),
                     SM_EINVAL);
    ck_assert_msg(strstr(sm_last_error(), "data has 3 templates, model expects 2") != NULL, "%s",
                  sm_last_error());
    self.weight = 1.0;
    double p[N_WALKERS * 8], lp[N_WALKERS];
    make_walkers(&m, p);
    ck_assert_int_eq(sm_mpi_backend_create(&be, MPI_COMM_WORLD, map, &m, &self, NULL), SM_OK);
    ck_assert_int_eq(sm_backend_log_prob(be, N_WALKERS, p, lp), SM_OK);
    ck_assert(isfinite(lp[0]));
    sm_backend_free(be);
}
END_TEST

START_TEST(test_session_fault_mid_run)
{
    sm_model_t m = SM_MODEL_INIT(SM_MODEL_MULTIPLICATIVE, 1, N_SYS, SM_MODEL_SIGMA_MIN_DEFAULT);
    double p[N_WALKERS * 8], lp[N_WALKERS];
    make_walkers(&m, p);
    sm_backend_t *be;
    sm_mpi_rank_t self = rank0(1.0);
    ck_assert_int_eq(sm_mpi_backend_create(&be, MPI_COMM_WORLD, map, &m, &self, NULL), SM_OK);
    ck_assert_int_eq(sm_backend_log_prob(be, N_WALKERS, p, lp), SM_OK);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(sm_backend_log_prob(be, N_WALKERS, p, lp), SM_EDEVICE);
        ck_assert_msg(strstr(sm_last_error(), "rank 1 of 2: injected fault") != NULL, "%s",
                      sm_last_error());
    }
    sm_backend_free(be);
}
END_TEST

START_TEST(test_session_rank0_fails)
{
    release_status = SM_ECANCELLED;
}
END_TEST

/* Session 7: fp64 here, fp32 on rank 1; session 8: allowed. */
START_TEST(test_session_mixed_precision)
{
    sm_model_t m = SM_MODEL_INIT(SM_MODEL_ADDITIVE, 0, N_SYS, SM_MODEL_SIGMA_MIN_DEFAULT);
    sm_backend_t *be;
    sm_mpi_rank_t self = rank0(1.0);
    self.allow_mixed_precision = _i == 1;
    sm_status st = sm_mpi_backend_create(&be, MPI_COMM_WORLD, map, &m, &self, NULL);
    if (_i == 0) {
        ck_assert_int_eq(st, SM_EINVAL);
        ck_assert_ptr_null(be);
        ck_assert_msg(strstr(sm_last_error(), "different precisions (fp64 on rank 0; fp32 on "
                                              "rank 1)") != NULL &&
                          strstr(sm_last_error(), "setting allow_mixed_precision") != NULL,
                      "%s", sm_last_error());
        release_status = SM_EINVAL; /* as sysmap run ends after it */
        return;
    }
    ck_assert_int_eq(st, SM_OK);
    ck_assert_str_eq(sm_backend_precision(be), "mixed");
    double p[N_WALKERS * 8], lp[N_WALKERS];
    make_walkers(&m, p);
    ck_assert_int_eq(sm_backend_log_prob(be, N_WALKERS, p, lp), SM_OK);
    ck_assert(isfinite(lp[0]));
    sm_backend_free(be);
}
END_TEST

/* Session 9: rank 1's stop flag reaches rank 0's with the first
 * evaluation, which still returns its results. */
START_TEST(test_session_stop_elsewhere)
{
    sm_model_t m = SM_MODEL_INIT(SM_MODEL_COMBINED, 0, N_SYS, SM_MODEL_SIGMA_MIN_DEFAULT);
    volatile sig_atomic_t stop = 0;
    sm_backend_t *ref, *be;
    sm_mpi_rank_t self = rank0(1.0);
    self.stop = &stop;
    double p[N_WALKERS * 8], lp[N_WALKERS], want[N_WALKERS];
    make_walkers(&m, p);
    ck_assert_int_eq(sm_reference_create(&ref, map, &m), SM_OK);
    ck_assert_int_eq(sm_mpi_backend_create(&be, MPI_COMM_WORLD, map, &m, &self, NULL), SM_OK);
    ck_assert_int_eq(stop, 0);
    ck_assert_int_eq(sm_backend_log_prob(be, N_WALKERS, p, lp), SM_OK);
    ck_assert_int_eq(stop, 1);
    ck_assert_int_eq(sm_backend_log_prob(ref, N_WALKERS, p, want), SM_OK);
    ck_assert_close(lp[0], want[0], 1e-13, 0.0);
    sm_backend_free(be);
    sm_backend_free(ref);
}
END_TEST

static Suite *mpi_suite(void)
{
    Suite *s = suite_create("mpi");
    TCase *pure = tcase_create("pure");
    tcase_add_test(pure, test_split);
    tcase_add_test(pure, test_lists);
    suite_add_tcase(s, pure);
    /* In sessions[] order: one sm_mpi_serve session of rank 1 each. */
    TCase *tc = tcase_create("sessions");
    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, make_map, free_map);
    tcase_add_checked_fixture(tc, NULL, release_session);
    tcase_add_test(tc, test_session_equality);
    tcase_add_test(tc, test_session_auto);
    tcase_add_loop_test(tc, test_session_rank1_setup_fails, 2, 4);
    tcase_add_test(tc, test_session_empty_slice_then_recovery);
    tcase_add_test(tc, test_session_fault_mid_run);
    tcase_add_test(tc, test_session_rank0_fails);
    tcase_add_loop_test(tc, test_session_mixed_precision, 0, 2);
    tcase_add_test(tc, test_session_stop_elsewhere);
    tcase_add_loop_test(tc, test_session_rank1_setup_fails, 10, 11);
    suite_add_tcase(s, tc);
    return s;
}

/* Rank 1: one session per entry, each checked against its expectation. */
static int serve_sessions(void)
{
    int failures = 0;
    for (size_t i = 0; i < N_SESSIONS; i++) {
        const session_t *ses = &sessions[i];
        if (i == 0) {
            char dev[16];
            sm_status a = sm_mpi_rank_device(MPI_COMM_WORLD, "3,4", "opencl", NULL, dev,
                                             sizeof dev);
            failures += a != SM_OK || strcmp(dev, "4") != 0;
            a = sm_mpi_rank_device(MPI_COMM_WORLD, NULL, "reference", NULL, dev, sizeof dev);
            failures += a != SM_OK || dev[0] != '\0';
        }
        if (ses->fault != NULL)
            setenv("SYSMAP_MPI_INJECT_FAULT", ses->fault, 1);
        sm_status st = sm_mpi_serve(MPI_COMM_WORLD, &ses->self);
        unsetenv("SYSMAP_MPI_INJECT_FAULT");
        if (st != ses->expect || strstr(sm_last_error(), ses->message) == NULL) {
            fprintf(stderr, "rank 1, session %zu: status %d (expected %d): '%s' (expected '%s')\n",
                    i, (int)st, (int)ses->expect, st == SM_OK ? "" : sm_last_error(),
                    ses->message);
            failures++;
        }
    }
    return failures;
}

int main(int argc, char **argv)
{
    /* Run directly (as ctest does), it starts itself on 2 ranks. */
    if (getenv("OMPI_COMM_WORLD_SIZE") == NULL && getenv("PMIX_RANK") == NULL &&
        getenv("PMI_SIZE") == NULL) {
        execl(SM_MPIEXEC, SM_MPIEXEC, SM_MPIEXEC_NP, "2", argv[0], (char *)NULL);
        perror("test_mpi: starting " SM_MPIEXEC);
        return EXIT_FAILURE;
    }
    MPI_Init(&argc, &argv);
    int rank, size, rc;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size != 2) {
        fprintf(stderr, "test_mpi runs on exactly 2 ranks (mpirun -n 2), not %d\n", size);
        MPI_Finalize();
        return EXIT_FAILURE;
    }
    if (rank == 0) {
        rc = sm_test_run(mpi_suite());
    } else {
        rc = serve_sessions() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    MPI_Finalize();
    return rc;
}
