/* The working template basis t_w = M t, M = R D^-1, and the maps back. */
#include "sysmap/basis.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_eigen.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>

#include "basis_in_place.h"
#include "data_struct.h"
#include "error.h"
#include "ksum.h"
#include "sysmap/sizes.h"

/* Relative size of the smallest correlation eigenvalue below which the
 * templates count as collinear: M would amplify roundoff beyond use. */
#define SM_BASIS_COLLINEAR_RTOL 1e-12
/* A template whose spread is roundoff-sized relative to its values is
 * constant: an exactly constant column still leaves ulp-scale deviations
 * around its rounded mean. */
#define SM_BASIS_CONSTANT_RTOL 1e-13
/* Eigenvector components this close in magnitude are tied for the sign. */
#define SM_BASIS_TIE_RTOL 1e-9

struct sm_basis {
    sm_basis_kind_t kind;
    size_t n_sys;
    double *m;      /* M (S, S) row-major */
    double *m_inv;  /* M^-1 = D R^T, exact inverse because R is orthogonal */
};

sm_status sm_basis_parse(const char *name, sm_basis_kind_t *kind)
{
    if (name && strcmp(name, "rotated") == 0) {
        *kind = SM_BASIS_ROTATED;
        return SM_OK;
    }
    if (name && strcmp(name, "original") == 0) {
        *kind = SM_BASIS_ORIGINAL;
        return SM_OK;
    }
    return sm_fail(SM_EINVAL, "unknown basis '%s' (expected rotated or original)",
                   name ? name : "(null)");
}

const char *sm_basis_name(sm_basis_kind_t kind)
{
    switch (kind) {
    case SM_BASIS_ROTATED:
        return "rotated";
    case SM_BASIS_ORIGINAL:
        return "original";
    }
    return "unknown";
}

/* The S x S matrices are checked first: S comes from the data, and GSL's
 * S x S workspace would wrap as silently as calloc's product. */
static sm_status basis_alloc(size_t s, sm_basis_kind_t kind, sm_basis_t **out)
{
    size_t cells, bytes;
    sm_status st = sm_size_mul(s, s, "template basis (S x S)", &cells);
    if (st == SM_OK)
        st = sm_size_bytes(cells, 4 * sizeof(double), "template basis (S x S)", &bytes);
    if (st != SM_OK)
        return st;
    sm_basis_t *b = calloc(1, sizeof *b);
    if (b != NULL) {
        b->kind = kind;
        b->n_sys = s;
        b->m = calloc(cells, sizeof *b->m);
        b->m_inv = calloc(cells, sizeof *b->m_inv);
    }
    if (b == NULL || b->m == NULL || b->m_inv == NULL) {
        sm_basis_free(b);
        return SM_FAIL_NOMEM("the template basis");
    }
    *out = b;
    return SM_OK;
}

void sm_basis_free(sm_basis_t *basis)
{
    if (!basis)
        return;
    free(basis->m);
    free(basis->m_inv);
    free(basis);
}

/* Mean and population standard deviation of each template (rows of t). */
static sm_status template_moments(const sm_data_t *data, double *mean, double *sd)
{
    size_t s = sm_data_n_sys(data), n = sm_data_n_pix(data);
    const double *t = sm_data_templates(data);
    for (size_t i = 0; i < s; i++) {
        const double *row = t + i * n;
        sm_ksum_t sum = {0, 0};
        double peak = 0;
        for (size_t j = 0; j < n; j++) {
            sm_ksum_add(&sum, row[j]);
            peak = fmax(peak, fabs(row[j]));
        }
        mean[i] = sm_ksum_value(&sum) / (double)n;
        sm_ksum_t sq = {0, 0};
        for (size_t j = 0; j < n; j++) {
            double d = row[j] - mean[i];
            sm_ksum_add(&sq, d * d);
        }
        sd[i] = sqrt(sm_ksum_value(&sq) / (double)n);
        if (sd[i] <= SM_BASIS_CONSTANT_RTOL * peak)
            return sm_fail(SM_ENUMERIC,
                           "template %zu ('%s') is constant over the used pixels: it cannot "
                           "be standardised, and its multiplicative term only rescales sigma",
                           i + 1, sm_data_template_name(data, i));
    }
    return SM_OK;
}

/* Correlation matrix (S, S) of the templates from their moments. */
static void template_correlation(const sm_data_t *data, const double *mean,
                                 const double *sd, gsl_matrix *corr)
{
    size_t s = sm_data_n_sys(data), n = sm_data_n_pix(data);
    const double *t = sm_data_templates(data);
    for (size_t i = 0; i < s; i++) {
        gsl_matrix_set(corr, i, i, 1.0);
        for (size_t k = 0; k < i; k++) {
            sm_ksum_t sum = {0, 0};
            for (size_t j = 0; j < n; j++)
                sm_ksum_add(&sum, (t[i * n + j] - mean[i]) * (t[k * n + j] - mean[k]));
            double r = sm_ksum_value(&sum) / ((double)n * sd[i] * sd[k]);
            gsl_matrix_set(corr, i, k, r);
            gsl_matrix_set(corr, k, i, r);
        }
    }
}

/* Flips eigenvector column c so its largest-magnitude component is
 * positive: eigenvectors are defined only up to sign, and this makes M the
 * same on every platform. Among components equal in magnitude up to
 * roundoff (e.g. (1, -1)/sqrt 2) the first one counts, so a last-bit
 * difference cannot flip the sign. */
static void fix_sign(gsl_matrix *evec, size_t c)
{
    double peak = 0;
    for (size_t r = 0; r < evec->size1; r++)
        peak = fmax(peak, fabs(gsl_matrix_get(evec, r, c)));
    size_t lead = 0;
    while (fabs(gsl_matrix_get(evec, lead, c)) < (1 - SM_BASIS_TIE_RTOL) * peak)
        lead++;
    if (gsl_matrix_get(evec, lead, c) < 0) {
        gsl_vector_view col = gsl_matrix_column(evec, c);
        gsl_vector_scale(&col.vector, -1.0);
    }
}

/* Checks the templates (none constant, none a combination of others) and
 * fills M: R D^-1 and M^-1 = D R^T from the decomposed correlation, or the
 * identity for the original basis. Both bases check alike, so a sampler
 * never runs on templates that leave the posterior improper in one basis
 * and are refused in the other. */
static sm_status basis_matrices(sm_basis_t *b, const sm_data_t *data)
{
    size_t s = b->n_sys;
    sm_status st = SM_OK;
    double *mean = malloc(s * sizeof *mean), *sd = malloc(s * sizeof *sd);
    gsl_matrix *corr = gsl_matrix_alloc(s, s), *evec = gsl_matrix_alloc(s, s);
    gsl_vector *eval = gsl_vector_alloc(s);
    gsl_eigen_symmv_workspace *ws = gsl_eigen_symmv_alloc(s);
    if (!mean || !sd || !corr || !evec || !eval || !ws) {
        st = SM_FAIL_NOMEM("the template correlation matrix");
        goto done;
    }
    if ((st = template_moments(data, mean, sd)) != SM_OK)
        goto done;
    template_correlation(data, mean, sd, corr);

    gsl_error_handler_t *old = sm_gsl_quiet();
    int rc = gsl_eigen_symmv(corr, eval, evec, ws);
    sm_gsl_restore(old);
    if (rc != GSL_SUCCESS) {
        st = sm_fail(SM_ENUMERIC, "eigen-decomposition of the template correlation failed: %s",
                     gsl_strerror(rc));
        goto done;
    }
    gsl_eigen_symmv_sort(eval, evec, GSL_EIGEN_SORT_VAL_DESC);
    double lmax = gsl_vector_get(eval, 0), lmin = gsl_vector_get(eval, s - 1);
    if (!(lmin > SM_BASIS_COLLINEAR_RTOL * lmax)) {
        st = sm_fail(SM_ENUMERIC,
                     "templates are (nearly) collinear: template correlation matrix has "
                     "eigenvalues %.3g (smallest) and %.3g (largest)",
                     lmin, lmax);
        goto done;
    }
    if (b->kind == SM_BASIS_ORIGINAL) {
        for (size_t i = 0; i < s; i++)
            b->m[i * s + i] = b->m_inv[i * s + i] = 1.0;
        goto done;
    }
    for (size_t k = 0; k < s; k++) {
        fix_sign(evec, k);
        for (size_t i = 0; i < s; i++) {
            double r_ki = gsl_matrix_get(evec, i, k);  /* row k of R = eigenvector k */
            b->m[k * s + i] = r_ki / sd[i];
            b->m_inv[i * s + k] = sd[i] * r_ki;
        }
    }
done:
    gsl_eigen_symmv_free(ws);
    gsl_vector_free(eval);
    gsl_matrix_free(evec);
    gsl_matrix_free(corr);
    free(sd);
    free(mean);
    return st;
}

sm_status sm_basis_create(sm_basis_t **out, const sm_data_t *data, sm_basis_kind_t kind)
{
    *out = NULL;
    if (kind != SM_BASIS_ROTATED && kind != SM_BASIS_ORIGINAL)
        return sm_fail(SM_EINVAL, "unknown basis kind %d", (int)kind);
    sm_basis_t *b = NULL;
    sm_status st = basis_alloc(sm_data_n_sys(data), kind, &b);
    if (st != SM_OK)
        return st;
    st = basis_matrices(b, data);
    if (st != SM_OK) {
        sm_basis_free(b);
        return st;
    }
    *out = b;
    return SM_OK;
}

sm_basis_kind_t sm_basis_kind_of(const sm_basis_t *basis)
{
    return basis->kind;
}

size_t sm_basis_n_sys(const sm_basis_t *basis)
{
    return basis->n_sys;
}

const double *sm_basis_matrix(const sm_basis_t *basis)
{
    return basis->m;
}

/* out[k] = sum_i a[k, i] t[i, j] over the S templates (stride n) at pixel
 * j: one order of operations for every copy of the working templates. */
static void times_column(const double *a, size_t s, const double *t, size_t n, size_t j,
                         double *out)
{
    for (size_t k = 0; k < s; k++) {
        double v = 0;
        for (size_t i = 0; i < s; i++)
            v += a[k * s + i] * t[i * n + j];
        out[k] = v;
    }
}

static sm_status check_n_sys(const sm_basis_t *basis, const sm_data_t *data)
{
    if (sm_data_n_sys(data) != basis->n_sys)
        return sm_fail(SM_EINVAL, "basis is for %zu templates but the data has %zu",
                       basis->n_sys, sm_data_n_sys(data));
    return SM_OK;
}

sm_status sm_basis_apply(const sm_basis_t *basis, const sm_data_t *data, sm_data_t **out)
{
    *out = NULL;
    size_t s = basis->n_sys, n = sm_data_n_pix(data);
    sm_status st = check_n_sys(basis, data);
    if (st != SM_OK)
        return st;
    const double *t = sm_data_templates(data);
    double *tw = malloc(s * n * sizeof *tw), *delta = malloc(n * sizeof *delta);
    double *col = malloc(s * sizeof *col);
    if (tw == NULL || delta == NULL || col == NULL) {
        free(tw);
        free(delta);
        free(col);
        return SM_FAIL_NOMEM("the working-basis templates");
    }
    for (size_t j = 0; j < n; j++) {
        times_column(basis->m, s, t, n, j, col);
        for (size_t k = 0; k < s; k++)
            tw[k * n + j] = col[k];
    }
    free(col);
    memcpy(delta, sm_data_delta(data), n * sizeof *delta);
    /* adopted, not copied: the working map is the only second copy */
    st = sm_data_adopt(out, n, s, delta, tw);
    if (st != SM_OK)
        return sm_fail_context(st, "building the %s-basis templates", sm_basis_name(basis->kind));
    return SM_OK;
}

sm_status sm_basis_apply_in_place(const sm_basis_t *basis, sm_data_t *data)
{
    size_t s = basis->n_sys, n = data->n_pix;
    sm_status st = check_n_sys(basis, data);
    if (st != SM_OK)
        return st;
    double *col = malloc(s * sizeof *col);
    if (col == NULL)
        return SM_FAIL_NOMEM("the working-basis templates");
    for (size_t j = 0; j < n; j++) {
        times_column(basis->m, s, data->templates, n, j, col);
        for (size_t k = 0; k < s; k++)
            data->templates[k * n + j] = col[k];
    }
    free(col);
    return SM_OK;
}

void sm_basis_original_at(const sm_basis_t *basis, const sm_data_t *work, size_t j, double *t)
{
    times_column(basis->m_inv, basis->n_sys, work->templates, work->n_pix, j, t);
}

/* out[k] = sum_i a[i * s + k] in[i]: x -> A^T x for row-major A (S, S). */
static void transpose_times(const double *a, size_t s, const double *in, double *out)
{
    for (size_t k = 0; k < s; k++) {
        double v = 0;
        for (size_t i = 0; i < s; i++)
            v += a[i * s + k] * in[i];
        out[k] = v;
    }
}

/* Copies each row and maps its a and b blocks by A^T. */
static void map_params(const double *a, size_t s, const sm_model_t *model, size_t n,
                       const double *in, double *out)
{
    size_t nd = sm_model_n_dim(model);
    long blocks[2] = {sm_model_a_offset(model), sm_model_b_offset(model)};
    for (size_t r = 0; r < n; r++) {
        const double *src = in + r * nd;
        double *dst = out + r * nd;
        memcpy(dst, src, nd * sizeof *dst);
        /* The multiplicative model's one vector is both blocks: map it once. */
        for (size_t q = 0; q < 2; q++)
            if (blocks[q] >= 0 && (q == 0 || blocks[1] != blocks[0]))
                transpose_times(a, s, src + blocks[q], dst + blocks[q]);
    }
}

void sm_basis_params_to_original(const sm_basis_t *basis, const sm_model_t *model,
                                 size_t n, const double *work, double *orig)
{
    map_params(basis->m, basis->n_sys, model, n, work, orig);
}

void sm_basis_params_to_working(const sm_basis_t *basis, const sm_model_t *model,
                                size_t n, const double *orig, double *work)
{
    map_params(basis->m_inv, basis->n_sys, model, n, orig, work);
}

void sm_basis_cov_to_original(const sm_basis_t *basis, const double *cov_work,
                              double *cov_orig)
{
    size_t s = basis->n_sys;
    const double *m = basis->m;
    for (size_t k = 0; k < s; k++)
        for (size_t l = 0; l < s; l++) {
            double v = 0;
            for (size_t i = 0; i < s; i++)
                for (size_t j = 0; j < s; j++)
                    v += m[i * s + k] * cov_work[i * s + j] * m[j * s + l];
            cov_orig[k * s + l] = v;
        }
}
