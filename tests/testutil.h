/* Shared helpers for the Check suites. */
#ifndef SYSMAP_TESTUTIL_H
#define SYSMAP_TESTUTIL_H

#include <check.h>
#include <stddef.h>

#include "sysmap/model.h"

/* Runs a suite; returns the process exit status (0 when all pass). */
int sm_test_run(Suite *suite);

/* |got - want| <= rtol * |want| + atol, with a message naming both. */
#define ck_assert_close(got, want, rtol, atol)                                   \
    do {                                                                          \
        double got_ = (got), want_ = (want);                                      \
        double tol_ = (rtol) * (want_ < 0 ? -want_ : want_) + (atol);             \
        double diff_ = got_ - want_;                                              \
        ck_assert_msg(diff_ <= tol_ && -diff_ <= tol_,                            \
                      "%s = %.17g, expected %.17g (tolerance %.3g)", #got, got_,  \
                      want_, tol_);                                               \
    } while (0)

/* A path under the build tree's scratch folder for this test, created fresh. */
const char *sm_test_tmp_path(const char *name);

/* Runs a shell command, returns its exit status (-1 when it did not exit). */
int sm_test_system(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs this test executable again as `SELF flag OUT` with the ICD loader
 * pointed at an empty vendor folder (no OpenCL platform), and puts what the
 * child wrote to OUT into text (len bytes, NUL-terminated). The child's
 * main answers flag by writing to OUT and returning 0. Fails the test when
 * the child does not exit 0. */
void sm_test_rerun_without_opencl(const char *flag, char *text, size_t len);

/* Normal draws from a 64-bit LCG through Box-Muller: deterministic inputs
 * that owe nothing to the library's own generator. */
double sm_test_normal(unsigned long *state);

/* n parameter vectors (n, n_dim) of model m near zero contamination
 * (N(0, 0.02)), sigma ~ 0.1 (1 + N(0, 0.1)), gamma ~ N(0, 2) with walker 1
 * at gamma = 40 (its ln Phi terms reach far into both tails), and walker
 * outside at sigma = -0.1 (outside the prior); n >= 2. */
void sm_test_walkers(const sm_model_t *m, size_t n, unsigned long seed, size_t outside,
                     double *p);

/* A synthetic map: S templates (each correlated 0.6 with the previous),
 * delta ~ N(0, 0.1^2), delta_obs = delta (1 + b.t) + a.t; a, b of S. */
struct sm_data;
struct sm_data *sm_test_make_map(size_t n, size_t s, const double *a, const double *b,
                                 unsigned long seed);

#endif
