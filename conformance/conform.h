/* The conformance harness (sysmap conform) and its fixture generator:
 * internal types shared by the modules of conformance/. Not installed. */
#ifndef SYSMAP_CONFORM_H
#define SYSMAP_CONFORM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sysmap/backend.h"
#include "sysmap/data.h"
#include "sysmap/model.h"
#include "sysmap/rng.h"
#include "sysmap/status.h"

#define CONFORM_FORMAT_VERSION 1
#define CONFORM_MAX_SYS 16
#define CONFORM_NAME_LEN 64
#define CONFORM_TEXT_LEN 512

/* ---- maps (recipe.c) ---------------------------------------------------
 * A fixture stores how its map is made instead of the map: a recipe, a
 * seed and a few numbers, regenerated with integer-exact draws and
 * IEEE-754 basic arithmetic and sqrt only (no other libm function), so the
 * same map on every platform; the fixture's map digest checks that it did. */
typedef struct {
    char recipe[16];              /* standard, collinear, dynamic, exact */
    uint32_t seed;
    size_t n_pix, n_sys;
    double noise;                 /* width of the true overdensity */
    double inj_a[CONFORM_MAX_SYS], inj_b[CONFORM_MAX_SYS];
    double noise_gamma;           /* skew-normal shape of that overdensity; 0: symmetric */
} conform_recipe_t;

sm_status conform_map_make(const conform_recipe_t *recipe, sm_data_t **out);
/* The recipes' bell-shaped draw: zero mean, unit variance, |x| <= 2 sqrt 3
 * (an Irwin-Hall sum of four uniforms). */
double conform_bell(sm_rng_t *rng);

/* ---- rounding bound (bound.c) ------------------------------------------ */
/* First-order bound on the rounding error of the pixel sums' contribution
 * to lnL(params), in units of the unit roundoff u of the precision they are
 * computed in (inputs rounded to it included): a backend computing in that
 * precision is within u * bound of exact. INFINITY where lnL cannot be
 * resolved (some m_j = 0). */
double conform_lp_bound(const sm_data_t *data, const sm_model_t *model, const double *params);

/* ---- fixtures (fixtures.c) --------------------------------------------- */
typedef struct {
    char name[CONFORM_NAME_LEN];
    char description[CONFORM_TEXT_LEN];
    sm_model_t model;
    conform_recipe_t recipe;
    uint64_t map_digest;          /* sm_data_digest of the recipe's map */
    /* Log-likelihood sets, computed by the reference backend. */
    size_t n_sets;
    double *params;               /* (n_sets, n_dim) */
    double *lp;                   /* (n_sets,); -inf outside the prior */
    double *sums;                 /* (n_sets, 3): log_m, sq, log_phi */
    double *bound;                /* (n_sets,) conform_lp_bound */
    uint8_t *exact;               /* (n_sets,) 1: sums exact in binary64 */
    /* Reference chain (n_steps = 0: none), sampled in the original basis
     * from explicit initial walkers p0 with seed. */
    uint32_t seed;
    size_t n_walkers, n_steps, n_burn;
    double *p0;                   /* (W, n_dim) */
    double *chain;                /* (n_steps, W, n_dim) */
    double *chain_lp;             /* (n_steps, W) */
    /* Summary of the post-burn-in chain, original basis (sm_run's). */
    double *median, *std, *ess;   /* (n_dim,) */
    double *cov_a, *cov_b;        /* (S, S) */
} conform_fixture_t;

size_t conform_fixture_n_dim(const conform_fixture_t *fx);
/* FNV-1a 64 over every stored field in a fixed order. */
uint64_t conform_fixture_checksum(const conform_fixture_t *fx);
/* Allocates the arrays for n_sets sets and a chain of the given shape. */
sm_status conform_fixture_alloc(conform_fixture_t *fx, size_t n_sets, size_t n_walkers,
                                size_t n_steps);
void conform_fixture_free(conform_fixture_t *fx);
/* Writes path.tmp and renames it to path. */
sm_status conform_fixture_write(const char *path, const conform_fixture_t *fx);
/* SM_EIO: unreadable or truncated; SM_EFORMAT: wrong schema or a checksum
 * that does not match the content (corrupt). */
sm_status conform_fixture_read(const char *path, conform_fixture_t *fx);
/* 0 when a and b hold the same content; else 1 and the first difference
 * (field, index, both values) in buf. */
int conform_fixture_diff(const conform_fixture_t *a, const conform_fixture_t *b, char *buf,
                         size_t len);
/* Every *.h5 in dir, sorted by name, as malloc'd paths. */
sm_status conform_fixture_list(const char *dir, char ***paths, size_t *n);

/* ---- tolerances and budgets (limits.c), from the embedded files --------
 * Both files are tables of lines "name fp64 fp32 justification", '-' for
 * a value that does not apply; '#' starts a comment line. */
typedef enum { CONFORM_FP64 = 0, CONFORM_FP32 = 1 } conform_precision;

typedef struct {
    char name[32];
    double value[2];               /* by conform_precision; NaN for '-' */
    char why[CONFORM_TEXT_LEN];
} conform_limit_t;

typedef struct {
    conform_limit_t rows[32];
    size_t n;
} conform_limits_t;

typedef struct {
    conform_limits_t table;
    double lp_factor[2];     /* |lp - ref| <= factor * u * bound */
    double exact_lp_ulps;    /* exact sets: ulps of lp ... */
    double exact_log_ulps;   /* ... plus N times this many ulps of ln 2 */
    double chain_ties_max;   /* fp64: accept/reject ties allowed per chain */
    double median_z[2];      /* medians: standard errors of the difference */
    double cov_z[2];         /* covariances: standard errors of the difference */
    double ess_factor[2];    /* share of the fixture's ESS that is trusted */
} conform_tolerances_t;

typedef struct {
    conform_limits_t floors;  /* per device class: G pixel-walker evaluations/s */
    /* The timing problem (the "problem" line). */
    sm_model_kind_t model;
    int skew;
    size_t n_sys, n_pix, n_walkers;
    double seconds;           /* minimum measuring time */
} conform_budgets_t;

extern const char conform_tolerances_text[];  /* conformance/tolerances.txt */
extern const char conform_budgets_text[];     /* conformance/budgets.txt */

sm_status conform_tolerances_parse(const char *text, conform_tolerances_t *tol);
sm_status conform_budgets_parse(const char *text, conform_budgets_t *budgets);
/* The floor for a device class; NaN when the file has none. */
double conform_budget_floor(const conform_budgets_t *budgets, const char *klass,
                            conform_precision precision);
const char *conform_precision_name(conform_precision precision);

/* ---- fault injection (faults.c) ----------------------------------------- */
typedef enum {
    CONFORM_FAULT_NONE = 0,
    CONFORM_FAULT_ULP,     /* lp raised by 4 ulp */
    CONFORM_FAULT_OFFSET,  /* lp raised by 1e-6 */
    CONFORM_FAULT_SWAP,    /* walkers 0 and 1 of every batch swapped */
    CONFORM_FAULT_DROP,    /* the last pixel left out */
    CONFORM_FAULT_FP32,    /* fp32 kernels while claiming fp64 */
    CONFORM_FAULT_SLOW,    /* 2e6 pixel-walker evaluations per second */
    CONFORM_FAULT_JITTER   /* lp off by a deterministic amount in [-1e-3, 1e-3] */
} conform_fault;

sm_status conform_fault_parse(const char *name, conform_fault *fault);
const char *conform_fault_name(conform_fault fault);
/* sm_backend_open, wrapped by a backend that injects fault (NONE: the
 * plain backend). The wrapper reports the inner backend's name and device,
 * and the precision that was asked for. */
sm_status conform_backend_open(const char *name, const char *device, const char *precision,
                               conform_fault fault, const sm_data_t *data,
                               const sm_model_t *model, sm_backend_t **out);

/* ---- results (checks.c, chaincheck.c, timing.c; report.c) -------------- */
typedef enum { CONFORM_LP, CONFORM_EXACT, CONFORM_CHAIN, CONFORM_SUMMARY, CONFORM_TIMING,
               CONFORM_N_CHECKS } conform_check;
typedef enum { CONFORM_PASS, CONFORM_FAIL, CONFORM_SKIP } conform_verdict;

const char *conform_check_name(conform_check check);

typedef struct {
    char case_name[CONFORM_NAME_LEN];
    conform_check check;
    conform_verdict verdict;
    double ratio;            /* worst error / tolerance (<= 1 passes); NaN: none */
    char detail[CONFORM_TEXT_LEN];
} conform_result_t;

/* One device in one precision: the rows of the report. */
typedef struct {
    char label[CONFORM_NAME_LEN];    /* "reference", "opencl:0" */
    char backend[16];                /* sm_backend_open name */
    char device_spec[16];            /* its device argument ("" for none) */
    char description[768];           /* the device, as the harness describes it */
    char klass[16];                  /* reference, CPU, GPU, accelerator, other */
    conform_precision precision;
    char unavailable[CONFORM_TEXT_LEN]; /* why the device was not checked, or "" */
    double wall_s;
    conform_result_t *results;
    size_t n_results, cap_results;
} conform_target_t;

sm_status conform_target_add(conform_target_t *target, const conform_result_t *result);

/* A fixture that could not be used: not a failure of any device. */
typedef struct {
    char file[CONFORM_TEXT_LEN];
    char message[CONFORM_TEXT_LEN];
} conform_fixture_problem_t;

/* ---- the checks ---------------------------------------------------------- */
typedef struct {
    const conform_tolerances_t *tol;
    const conform_budgets_t *budgets;
    conform_fault fault;
} conform_settings_t;

/* Log-likelihood sets (lp: general sets; exact: the exact ones). Adds one
 * result for each to target. */
sm_status conform_check_lp(const conform_settings_t *set, conform_target_t *target,
                           const conform_fixture_t *fx, const sm_data_t *data);
/* The chain (fp64: element for element with named ties; fp32: sampled
 * freely) and the summary of it against the fixture's. */
sm_status conform_check_chain(const conform_settings_t *set, conform_target_t *target,
                              const conform_fixture_t *fx, const sm_data_t *data);
/* The summary (medians, covariances of a and b) of a chain of the
 * fixture's shape against the fixture's: the summary check. */
sm_status conform_summary_compare(const conform_settings_t *set, conform_precision precision,
                                  const conform_fixture_t *fx, const double *chain,
                                  conform_result_t *result);
/* Throughput on the budgets' problem against the floor of the class. */
sm_status conform_check_timing(const conform_settings_t *set, conform_target_t *target);

/* Opens the target's backend on data (with the settings' fault). */
sm_status conform_open(const conform_settings_t *set, const conform_target_t *target,
                       const sm_data_t *data, const sm_model_t *model, sm_backend_t **out);

/* ---- reports (report.c) ------------------------------------------------- */
typedef struct {
    const char *fixtures_dir;
    const char *command;
    conform_fault fault;
    const conform_tolerances_t *tol;
    const conform_budgets_t *budgets;
    conform_target_t *targets;
    size_t n_targets;
    conform_fixture_problem_t *problems;
    size_t n_problems;
    size_t n_cases;
    double wall_s;
    const char *implementations; /* conform_implementations' text */
} conform_report_t;

/* ---- the harness (harness.c) ------------------------------------------- */
typedef struct {
    const char *fixtures_dir;
    const char *device;      /* "reference", "N", "P:D"; NULL: every device */
    const char *precision;   /* "fp64", "fp32"; NULL: both */
    const char *only;        /* comma-separated fixture names and/or "timing"; NULL: all */
} conform_options_t;

/* The devices x precisions to check (the report's rows). SM_EINVAL for a
 * --device that names no device. */
sm_status conform_targets(const conform_options_t *opt, conform_target_t **targets,
                          size_t *n);
void conform_targets_free(conform_target_t *targets, size_t n);
/* The OpenCL implementations (platforms) this process finds, with their
 * drivers and device counts; with none, says that only the reference
 * backend was checked. */
void conform_implementations(char *buf, size_t len);
/* Whether a fixture (by file name without .h5) or "timing" is selected. */
int conform_selected(const conform_options_t *opt, const char *name);
/* Runs every selected check on every target; fills rep (whose targets,
 * settings and fixtures_dir the caller set). Unusable fixtures become
 * rep->problems. SM_EINVAL when --only names something that does not exist. */
sm_status conform_run(const conform_options_t *opt, const conform_settings_t *set,
                      conform_report_t *rep);
/* The stem of a path: "dir/case.h5" -> "case". */
void conform_case_of_path(const char *path, char *name, size_t len);

enum {
    CONFORM_EXIT_PASS = 0,
    CONFORM_EXIT_FAIL = 1,      /* a device failed a numerical check (or could not run) */
    CONFORM_EXIT_TIMING = 3,    /* numerics pass, some timing budget missed */
    CONFORM_EXIT_FIXTURE = 4    /* no device failed, but fixtures could not be used */
};
int conform_exit_status(const conform_report_t *report);
void conform_report_table(FILE *out, const conform_report_t *report);
sm_status conform_report_json(const char *path, const conform_report_t *report);
sm_status conform_report_junit(const char *path, const conform_report_t *report);

#endif
