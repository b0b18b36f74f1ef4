#include "sysmap/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "error.h"

sm_status sm_stats_median(const double *flat, size_t n, size_t n_dim, double *median)
{
    if (flat == NULL || median == NULL)
        return sm_fail(SM_EINVAL, "median: NULL chain or output");
    if (n == 0 || n_dim == 0)
        return sm_fail(SM_EINVAL, "median: empty chain (%zu samples, %zu parameters)", n, n_dim);
    double *col = malloc(n * sizeof *col);
    if (col == NULL)
        return SM_FAIL_NOMEM("median column");
    for (size_t d = 0; d < n_dim; d++) {
        int has_nan = 0;
        for (size_t i = 0; i < n; i++) {
            col[i] = flat[i * n_dim + d];
            has_nan |= isnan(col[i]);
        }
        /* np.median propagates NaN; sorting NaN has no defined order. */
        if (has_nan) {
            median[d] = NAN;
            continue;
        }
        gsl_sort(col, 1, n);
        median[d] = n % 2 ? col[n / 2] : (col[n / 2 - 1] + col[n / 2]) / 2.0;
    }
    free(col);
    return SM_OK;
}

sm_status sm_stats_covariance(const double *flat, size_t n, size_t n_dim, size_t col, size_t k,
                              double *cov)
{
    if (flat == NULL || cov == NULL)
        return sm_fail(SM_EINVAL, "covariance: NULL chain or output");
    if (n < 2)
        return sm_fail(SM_EINVAL, "covariance: needs at least 2 samples, got %zu", n);
    if (k == 0 || col > n_dim || k > n_dim - col)
        return sm_fail(SM_EINVAL, "covariance: columns [%zu, %zu) outside the %zu parameters",
                       col, col + k, n_dim);
    double *mean = malloc(k * sizeof *mean);
    if (mean == NULL)
        return SM_FAIL_NOMEM("covariance means");
    /* Two passes (means first) keep the ddof = 1 estimate free of cancellation. */
    for (size_t i = 0; i < k; i++)
        mean[i] = gsl_stats_mean(flat + col + i, n_dim, n);
    for (size_t i = 0; i < k; i++) {
        for (size_t j = 0; j <= i; j++) {
            double c = gsl_stats_covariance_m(flat + col + i, n_dim, flat + col + j, n_dim, n,
                                              mean[i], mean[j]);
            cov[i * k + j] = c;
            cov[j * k + i] = c;
        }
    }
    free(mean);
    return SM_OK;
}

sm_status sm_stats_param_covariance(const double *flat, size_t n, const sm_model_t *model,
                                    double *cov_a, double *cov_b)
{
    if (flat == NULL || cov_a == NULL || cov_b == NULL)
        return sm_fail(SM_EINVAL, "parameter covariance: NULL chain or output");
    sm_status st = sm_model_validate(model);
    if (st != SM_OK)
        return sm_fail_context(st, "parameter covariance");
    size_t s = model->n_sys;
    size_t n_dim = sm_model_n_dim(model);
    long a_off = sm_model_a_offset(model);
    long b_off = sm_model_b_offset(model);
    /* Multiplicative: the one free vector is both a and b (a and b offsets
     * are equal), so cov_a = cov_b, as the reference package reports them.
     * A block the model does not free (b in the additive model) is zero.
     * The package's S = 1 case uses ddof = 0; here ddof = 1 throughout. */
    struct {
        long off;
        double *cov;
        const char *name;
    } blocks[2] = {{a_off, cov_a, "a"}, {b_off, cov_b, "b"}};
    for (size_t b = 0; b < 2; b++) {
        if (blocks[b].off < 0) {
            memset(blocks[b].cov, 0, s * s * sizeof *blocks[b].cov);
            continue;
        }
        st = sm_stats_covariance(flat, n, n_dim, (size_t)blocks[b].off, s, blocks[b].cov);
        if (st != SM_OK)
            return sm_fail_context(st, "covariance of %s", blocks[b].name);
    }
    return SM_OK;
}
