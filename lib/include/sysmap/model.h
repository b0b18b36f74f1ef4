/* Contamination models, parameter layout and the per-walker log-likelihood. */
#ifndef SYSMAP_MODEL_H
#define SYSMAP_MODEL_H

#include <stddef.h>
#include "sysmap/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Indices into the model table (lib/numerics/model.c); a kind without a
 * constant here is still usable by its index or name. */
typedef enum {
    SM_MODEL_ADDITIVE = 0,      /* free a, b = 0 */
    SM_MODEL_MULTIPLICATIVE,    /* free b, a = b (one vector acting both ways) */
    SM_MODEL_COMBINED           /* free a and b */
} sm_model_kind_t;

/* One row of the model table: everything a kind's parameter layout
 * follows from. theta starts with n_blocks free vectors of S entries;
 * a reads block a_block, b reads block b_block (-1: held at 0; equal
 * blocks: b = a). Then sigma, then gamma when skew is on. */
typedef struct {
    const char *name;  /* as the CLI, Python and run files spell it */
    int n_blocks;
    int a_block;
    int b_block;
} sm_model_kind_info_t;

SM_API size_t sm_model_kind_count(void);
/* The table's row for kind; NULL for a kind outside the table. */
SM_API const sm_model_kind_info_t *sm_model_kind_info(sm_model_kind_t kind);
/* "additive, multiplicative or combined": the table's names, for help
 * texts and messages. */
SM_API sm_status sm_model_kind_list(char *buf, size_t len);

#define SM_MODEL_SIGMA_MIN_DEFAULT 1e-6

/* A model on S templates. Parameter vector layout (from the table):
 * additive [a_1..a_S, sigma], multiplicative [b_1..b_S, sigma] (that vector
 * is a as well: d_obs = d (1 + b.t) + b.t, as in the reference package),
 * combined [a_1..a_S, b_1..b_S, sigma], then gamma when skew is on.
 * Initialise with SM_MODEL_INIT. */
typedef struct {
    size_t struct_size;  /* sizeof(sm_model_t) as the caller compiled it */
    sm_model_kind_t kind;
    int skew;            /* non-zero: skew-normal likelihood (Eq. 18) */
    size_t n_sys;        /* S */
    double sigma_min;    /* prior: sigma <= sigma_min gives -inf */
} sm_model_t;

/* An initialiser: sm_model_t m = SM_MODEL_INIT(SM_MODEL_COMBINED, 0, S,
 * SM_MODEL_SIGMA_MIN_DEFAULT); */
#define SM_MODEL_INIT(kind, skew, n_sys, sigma_min) \
    {sizeof(sm_model_t), (kind), (skew), (n_sys), (sigma_min)}

SM_API sm_status sm_model_parse(const char *name, sm_model_kind_t *kind);
SM_API const char *sm_model_name(sm_model_kind_t kind);
/* Checks struct_size, kind, S >= 1 and a finite non-negative sigma_min. */
SM_API sm_status sm_model_validate(const sm_model_t *model);

/* The layout accessors read the kind's table row: they take a model whose
 * kind sm_model_validate accepts. */
SM_API size_t sm_model_n_cont(const sm_model_t *model);  /* free contamination parameters */
SM_API size_t sm_model_n_dim(const sm_model_t *model);   /* n_cont + 1 (+1 skew) */
/* Offsets into the parameter vector; -1 where the block is absent (b in
 * the additive model). Multiplicative: a and b are both at 0, the same
 * entries. */
SM_API long sm_model_a_offset(const sm_model_t *model);
SM_API long sm_model_b_offset(const sm_model_t *model);
SM_API size_t sm_model_sigma_index(const sm_model_t *model);
SM_API long sm_model_gamma_index(const sm_model_t *model);
/* Name of parameter i ("a_1", "b_3", "sigma", "gamma") into buf. */
SM_API sm_status sm_model_param_name(const sm_model_t *model, size_t i, char *buf, size_t len);

/* Pixel sums of one parameter vector over N pixels. A backend produces them
 * (over any subset of pixels: they add), the model turns them into lnL. */
typedef struct {
    double log_m;   /* sum_j ln|m_j| */
    double sq;      /* sum_j r_j^2 (Gaussian) or u_j^2 (skew) */
    double log_phi; /* sum_j ln Phi(gamma u_j / sigma) (skew only) */
} sm_pixel_sums_t;

/* Whether the prior admits params (sigma > sigma_min); when not, the
 * log-probability is -inf and the pixel sums need not be computed. */
SM_API int sm_model_in_prior(const sm_model_t *model, const double *params);
/* Shift of the skew-normal location: xi = -sigma delta sqrt(2/pi). */
SM_API double sm_model_skew_xi(double sigma, double gamma);
/* Stable ln Phi(x), the log of the standard normal CDF, for all finite x. */
SM_API double sm_model_log_ndtr(double x);
/* Log-probability from the pixel sums over n_pix pixels: lnL plus prior;
 * -inf outside the prior or when lnL is not finite. */
SM_API double sm_model_log_prob(const sm_model_t *model, size_t n_pix,
                                const double *params, const sm_pixel_sums_t *sums);

#ifdef __cplusplus
}
#endif
#endif
