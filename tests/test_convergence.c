/* sm_stats_drift on AR(1) ensembles, whose autocorrelation time is known
 * in closed form: x_t = phi x_{t-1} + sqrt(1 - phi^2) e_t has unit
 * variance and tau = (1 + phi) / (1 - phi). The mean of n steps of W
 * independent walkers has variance v_n / (W n) with the finite-n factor
 * v_n = tau - 2 phi (1 - phi^n) / (n (1 - phi)^2), and the first and last
 * thirds, a third apart (phi^n3 < 1e-9), are independent. So a stationary
 * ensemble gives drift ~ N(0, 1), and a shift delta of the last third a
 * mean drift of delta / sqrt(2 v_n3 / (W n3)). */
#include <math.h>
#include <stdlib.h>

#include "sysmap/convergence.h"
#include "testutil.h"

enum { W = 32, THIRD = 200, STEPS = 3 * THIRD, D = 2, REPS = 200 };
static const double PHI[D] = {0.9, 0.5};

/* An AR(1) ensemble (STEPS, W, D), started stationary; parameter k of the
 * last third shifted by shift[k]. */
static void ar1_chain(double *chain, unsigned long *rng, const double *shift)
{
    for (size_t k = 0; k < D; k++) {
        double innov = sqrt(1.0 - PHI[k] * PHI[k]);
        for (size_t w = 0; w < W; w++) {
            double x = sm_test_normal(rng);
            for (size_t t = 0; t < STEPS; t++) {
                if (t > 0)
                    x = PHI[k] * x + innov * sm_test_normal(rng);
                chain[(t * W + w) * D + k] = x + (t >= STEPS - THIRD ? shift[k] : 0.0);
            }
        }
    }
}

static double finite_n_tau(double phi, double n)
{
    double q = 1.0 - phi;
    return (1.0 + phi) / q - 2.0 * phi * (1.0 - pow(phi, n)) / (n * q * q);
}

/* Mean and standard deviation of the drift over REPS ensembles. */
static void drift_moments(const double *shift, double *mean, double *sd, double *max_abs)
{
    double *chain = malloc(STEPS * W * D * sizeof *chain);
    ck_assert_ptr_nonnull(chain);
    unsigned long rng = 20240611UL;
    double sum[D] = {0}, sum2[D] = {0};
    *max_abs = 0.0;
    for (int r = 0; r < REPS; r++) {
        ar1_chain(chain, &rng, shift);
        double drift[D];
        ck_assert_int_eq(sm_stats_drift(chain, STEPS, W, D, drift), SM_OK);
        for (size_t k = 0; k < D; k++) {
            ck_assert(isfinite(drift[k]));
            sum[k] += drift[k];
            sum2[k] += drift[k] * drift[k];
            *max_abs = fmax(*max_abs, fabs(drift[k]));
        }
    }
    for (size_t k = 0; k < D; k++) {
        mean[k] = sum[k] / REPS;
        sd[k] = sqrt((sum2[k] - REPS * mean[k] * mean[k]) / (REPS - 1));
    }
    free(chain);
}

START_TEST(stationary_chains_give_standard_normal_drift)
{
    const double none[D] = {0.0, 0.0};
    double mean[D], sd[D], max_abs;
    drift_moments(none, mean, sd, &max_abs);
    for (size_t k = 0; k < D; k++) {
        /* 4 standard errors of the mean and of the sd of 200 N(0, 1) draws;
         * emcee's tau is biased low on a chain of 30 tau (phi 0.9), which
         * widens the sd to ~1.15. */
        ck_assert_msg(fabs(mean[k]) < 4.0 / sqrt(REPS), "phi %.1f: mean drift %.3f", PHI[k],
                      mean[k]);
        ck_assert_msg(sd[k] > 1.0 - 4.0 / sqrt(2.0 * REPS) && sd[k] < 1.15 + 4.0 / sqrt(2.0 * REPS),
                      "phi %.1f: drift sd %.3f, expected ~1", PHI[k], sd[k]);
    }
    /* No false alarm in 400 stationary parameters. */
    ck_assert_msg(max_abs < SM_STATS_DRIFT_THRESHOLD, "largest stationary |drift| %.2f", max_abs);
}
END_TEST

START_TEST(shifted_last_third_gives_the_analytic_drift)
{
    /* Shifts of 0.5 and 0.06 standard deviations: analytic drifts 6.6 and 2.0. The
     * shift raises the whole chain's tau a little, which lowers the drift (6.4). */
    const double shift[D] = {0.5, 0.06};
    double mean[D], sd[D], max_abs;
    drift_moments(shift, mean, sd, &max_abs);
    for (size_t k = 0; k < D; k++) {
        double want = shift[k] / sqrt(2.0 * finite_n_tau(PHI[k], THIRD) / (W * THIRD));
        /* 6% for the low bias of the estimated tau, plus 4 standard errors. */
        ck_assert_msg(fabs(mean[k] - want) < 0.06 * want + 4.0 * sd[k] / sqrt(REPS),
                      "phi %.1f, shift %.2f: mean drift %.3f, analytic %.3f", PHI[k], shift[k],
                      mean[k], want);
        ck_assert_msg(sd[k] > 0.7 && sd[k] < 1.3, "phi %.1f: drift sd %.3f", PHI[k], sd[k]);
    }
}
END_TEST

START_TEST(undefined_drift_is_nan)
{
    double chain[3 * 2 * 8 * 2], drift[2];
    unsigned long rng = 7UL;
    for (size_t i = 0; i < sizeof chain / sizeof *chain; i++)
        chain[i] = i % 2 == 0 ? sm_test_normal(&rng) : 1.5; /* parameter 1 constant */
    /* Thirds of 2 steps are too short. */
    ck_assert_int_eq(sm_stats_drift(chain, 3 * SM_STATS_DRIFT_MIN_THIRD - 1, 2, 2, drift), SM_OK);
    ck_assert(isnan(drift[0]) && isnan(drift[1]));
    ck_assert_int_eq(sm_stats_drift(chain, 24, 2, 2, drift), SM_OK);
    ck_assert(isfinite(drift[0]));
    ck_assert(isnan(drift[1]));
    ck_assert_int_eq(sm_stats_drift(NULL, 24, 2, 2, drift), SM_EINVAL);
    ck_assert_int_eq(sm_stats_drift(chain, 24, 0, 2, drift), SM_EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("convergence");
    TCase *tc = tcase_create("drift");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, stationary_chains_give_standard_normal_drift);
    tcase_add_test(tc, shifted_last_third_gives_the_analytic_drift);
    tcase_add_test(tc, undefined_drift_is_nan);
    suite_add_tcase(s, tc);
    return sm_test_run(s);
}
