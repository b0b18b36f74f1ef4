/* Run files: the chain in emcee's HDFBackend layout (group "mcmc"), sysmap's
 * settings and summaries (group "sysmap"). A run writes PATH.partial and
 * renames it to PATH when complete; a partial file counts complete steps
 * only and can be resumed by sysmap or continued by emcee. */
#ifndef SYSMAP_CHAINFILE_H
#define SYSMAP_CHAINFILE_H

#include <stddef.h>
#include <stdint.h>
#include "sysmap/rng.h"
#include "sysmap/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SM_CHAINFILE_PARTIAL_SUFFIX ".partial"

/* Attribute sysmap/format_version of a run file. 1 (files without it): the
 * multiplicative model fixed a = 0. 2: it ties a = b, one free vector. 3:
 * the resume state in two slots with checksums, committed by one byte, and
 * every step's rows allocated at creation (a kill at any point leaves a
 * resumable file). A resume refuses any other version. */
#define SM_CHAINFILE_FORMAT_VERSION 3

/* sysmap/warnings: room for this many warnings of up to this many bytes
 * (fixed-length UTF-8 strings, the run's warnings first, then empty ones;
 * a longer warning is cut and ends in "..."). */
#define SM_CHAINFILE_MAX_WARNINGS 8
#define SM_CHAINFILE_WARNING_LEN 4096

/* Settings of a run; a resume must match all but n_steps. Initialise with
 * sm_chainfile_meta_init. */
typedef struct {
    size_t struct_size;          /* sizeof(sm_chainfile_meta_t) as the caller compiled it */
    size_t n_walkers, n_dim, n_steps, n_burn;
    size_t n_pix, n_sys;
    const char *model;           /* "additive", "multiplicative", "combined" */
    int skew;
    const char *sampling_basis;  /* "rotated" or "original" */
    uint32_t seed;
    int explicit_init;           /* initial walkers given, not drawn from seed */
    double sigma_min;
    uint64_t data_digest;        /* sm_data_digest of the input */
    const char *backend, *device, *precision;
    const char *const *param_names;  /* n_dim names */
} sm_chainfile_meta_t;

/* Zeroes meta and sets its struct_size. */
SM_API void sm_chainfile_meta_init(sm_chainfile_meta_t *meta);

/* Results of a run, all in the original template basis. Initialise with
 * sm_chainfile_summary_init. */
typedef struct {
    size_t struct_size;                 /* sizeof(sm_chainfile_summary_t) as compiled */
    const double *median;               /* (n_dim,) */
    const double *std;                  /* (n_dim,) standard deviation, ddof 1 */
    const double *var_a, *var_b;        /* (S,) */
    const double *cov_a, *cov_b;        /* (S, S) */
    const double *acceptance_fraction;  /* (W,) */
    const double *autocorr_time;        /* (n_dim,) in steps */
    int autocorr_too_short;
    const double *ess;                  /* (n_dim,) effective samples */
    double wall_s;                      /* sampling wall time, seconds */
    double evals_per_s;                 /* log-prob evaluations per second */
    double eval_s;                      /* of wall_s, seconds in the backend's
                                           evaluations; the rest is the host's */
    const double *drift;                /* (n_dim,) post-burn-in drift, Monte-Carlo
                                           standard errors (sysmap/convergence.h) */
    size_t n_kept;                      /* post-burn-in steps; 0 = empty posterior,
                                           every statistic NaN */
} sm_chainfile_summary_t;

/* Zeroes summary and sets its struct_size. */
SM_API void sm_chainfile_summary_init(sm_chainfile_summary_t *summary);

typedef struct sm_chainfile sm_chainfile_t;

/* Checks, before any work, that a run can write PATH: PATH and PATH.partial
 * are not directories, their folder exists and is writable, and no other
 * run is writing PATH.partial. SM_EINVAL for an empty path, else SM_EIO. */
SM_API sm_status sm_chainfile_check_output(const char *path);

/* Starts PATH.partial (replacing any), with the mcmc group at iteration 0,
 * the sysmap settings and the space of meta->n_steps steps reserved on disk.
 * The handle locks PATH.partial until finish, discard or free: while it is
 * held, create and resume of the same PATH fail ("another run is writing
 * PATH"); the lock dies with the process. Fails, leaving no file, if PATH's
 * folder is not writable or the disk too full. */
SM_API sm_status sm_chainfile_create(sm_chainfile_t **out, const char *path,
                                     const sm_chainfile_meta_t *meta);

/* Opens and locks PATH.partial of an interrupted run. SM_EMISMATCH names the
 * first setting that differs from meta; SM_EFORMAT a resume state that does
 * not match its checksums; *iteration is the complete steps in it. */
SM_API sm_status sm_chainfile_resume(sm_chainfile_t **out, const char *path,
                                     const sm_chainfile_meta_t *meta, size_t *iteration);

/* The stored chain (iteration, W, n_dim) and log_prob (iteration, W),
 * checked against their checksums (SM_EFORMAT naming the dataset). */
SM_API sm_status sm_chainfile_read_chain(sm_chainfile_t *file, double *chain, double *log_prob);
/* The state to continue from: walkers in the sampling basis (W, n_dim),
 * their log_prob (W,), accepted counts (W,) and the generator, checked
 * against their checksums and for consistency (SM_EFORMAT naming the
 * dataset). */
SM_API sm_status sm_chainfile_read_state(sm_chainfile_t *file, double *coords_work, double *lp,
                                         double *accepted, sm_rng_state_t *rng);

/* Appends n complete steps: chain (n, W, n_dim) in the original basis and
 * log_prob (n, W); stores accepted counts, generator state and the last
 * walkers in the sampling basis. Crash-consistent: killed at any point, the
 * file resumes from before or after these steps; on failure nothing more
 * is written to it. */
SM_API sm_status sm_chainfile_append(sm_chainfile_t *file, size_t n, const double *chain,
                                     const double *log_prob, const double *accepted,
                                     const sm_rng_state_t *rng, const double *coords_work);

/* The summary datasets (sysmap/median, ..., drift) and attributes (n_kept, ...). */
SM_API sm_status sm_chainfile_write_summary(sm_chainfile_t *file,
                                            const sm_chainfile_summary_t *summary);
/* The run's warnings into sysmap/warnings; n may be 0, at most
 * SM_CHAINFILE_MAX_WARNINGS (SM_EINVAL). */
SM_API sm_status sm_chainfile_write_warnings(sm_chainfile_t *file, size_t n,
                                             const char *const *warnings);

/* Closes and renames PATH.partial to PATH. Releases file in every case
 * (on failure PATH.partial stays); do not free it afterwards. */
SM_API sm_status sm_chainfile_finish(sm_chainfile_t *file);

/* Closes without finishing (leaves PATH.partial resumable) and unlocks. */
SM_API void sm_chainfile_free(sm_chainfile_t *file);

/* Closes, removing PATH.partial when this handle made it (sm_chainfile_create):
 * a run that failed leaves no file. */
SM_API void sm_chainfile_discard(sm_chainfile_t *file);

#ifdef __cplusplus
}
#endif
#endif
