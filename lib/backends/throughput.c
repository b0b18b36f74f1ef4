/* The one throughput measure: the MPI load balance, `sysmap bench` and the
 * conformance timing check all time a backend with it. */
#include "sysmap/backend.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "error.h"

sm_status sm_backend_throughput(sm_backend_t *be, size_t k, const double *params,
                                double min_seconds, sm_throughput_t *result)
{
    if (result != NULL)
        memset(result, 0, sizeof *result);
    if (be == NULL || params == NULL || result == NULL || k == 0)
        return sm_fail(SM_EINVAL, "throughput: NULL argument or no walkers");
    if (!(min_seconds >= 0.0) || isinf(min_seconds))
        return sm_fail(SM_EINVAL, "throughput: min_seconds must be finite and >= 0, got %g",
                       min_seconds);
    const sm_model_t *m = sm_backend_model(be);
    size_t d = sm_model_n_dim(m);
    for (size_t w = 0; w < k; w++)
        if (!sm_model_in_prior(m, params + w * d))
            return sm_fail(SM_EINVAL, "throughput: walker %zu is outside the prior, so its "
                                      "likelihood would not be computed", w);
    double *lp = malloc(k * sizeof *lp);
    if (lp == NULL)
        return SM_FAIL_NOMEM("throughput log-probs");
    sm_status st = sm_backend_log_prob(be, k, params, lp);
    size_t reps = 0;
    double t0 = sm_now_s(), elapsed = 0.0;
    while (st == SM_OK && (reps == 0 || elapsed < min_seconds)) {
        st = sm_backend_log_prob(be, k, params, lp);
        reps++;
        elapsed = sm_now_s() - t0;
    }
    free(lp);
    if (st != SM_OK)
        return st;
    result->walkers = k;
    result->pixels = sm_backend_n_pix(be);
    result->repetitions = reps;
    result->seconds = elapsed;
    /* A clock too coarse to see one batch is not infinite speed. */
    result->evals_per_s = elapsed > 0.0 ? (double)k * (double)result->pixels * (double)reps /
                                              elapsed
                                        : 0.0;
    return SM_OK;
}
