/* A complete inference run: basis, backend, initial walkers, sampling,
 * statistics and the run file. What `sysmap run` does, as one call. */
#ifndef SYSMAP_RUN_H
#define SYSMAP_RUN_H

#include <stddef.h>
#include <stdint.h>
#include "sysmap/backend.h"
#include "sysmap/basis.h"
#include "sysmap/chainfile.h"
#include "sysmap/data.h"
#include "sysmap/input.h"
#include "sysmap/model.h"
#include "sysmap/rng.h"
#include "sysmap/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every setting of a run. sm_run_config_default fills the defaults; the
 * front ends (CLI, Python) pass user text through sm_run_config_set, so a
 * value is parsed and refused in one place, with one message. Strings are
 * borrowed: they must outlive the configuration and any run made from it. */
typedef struct {
    size_t struct_size;      /* sizeof(sm_run_config_t) as the caller compiled it */
    sm_model_kind_t model;     /* "model": default combined */
    int skew;                /* "skew": default 0 */
    double sigma_min;        /* "sigma_min": default SM_MODEL_SIGMA_MIN_DEFAULT */
    size_t n_walkers;        /* "walkers": default 250 */
    size_t n_steps;          /* "steps": default 1500 (burn-in included) */
    size_t n_burn;           /* "burn": default 300 */
    uint32_t seed;           /* "seed": default 42 */
    sm_basis_kind_t basis;     /* "basis": sampling basis, default rotated */
    const char *backend;     /* "backend": "auto" (default), "opencl" or "reference" */
    const char *device;      /* "device": the backend's device choice, NULL = its default */
    const char *precision;   /* "precision": fp64 or fp32, NULL = the backend's default */
    size_t flush_every;      /* "flush_every": steps between file flushes, default 50 */
    const double *init;      /* (W, n_dim) initial walkers in the original
                                basis, or NULL for the seeded draw */
    const char *init_path;   /* "init": HDF5 file of the initial walkers
                                (dataset p0), read by sm_run_create; NULL: none */
    const char *output;      /* "output": the run file, NULL = in memory */
    const char *maps_out;    /* "maps_out": the corrected maps, FITS (.fits)
                                or HDF5 (other names); NULL = none */
    int resume;              /* "resume": continue output's partial file */
} sm_run_config_t;

SM_API void sm_run_config_default(sm_run_config_t *cfg);

/* Sets the setting `name` (the quoted names above; "skew" and "resume"
 * take 0/1 or false/true) from text: counts are digits only, sigma_min a
 * finite number, seed at most 4294967295, model and basis one of their
 * names (backend, device and precision are the backend's to check). SM_EINVAL for an unknown name or a bad value, with a
 * message that starts with the setting's name. String settings borrow
 * text. */
SM_API sm_status sm_run_config_set(sm_run_config_t *cfg, const char *name, const char *text);

/* The setting `name` as text into buf (len bytes; "" for an unset string),
 * e.g. a default for a help text. SM_EINVAL for an unknown name or a
 * buffer too small. */
SM_API sm_status sm_run_config_get(const sm_run_config_t *cfg, const char *name, char *buf,
                                   size_t len);

/* What sm_run_create checks without the data: the model, walkers
 * (>= 2 n_dim for n_sys templates), steps, burn-in and flush interval. Pass
 * the fewest templates the input can have when its count is not known yet
 * (e.g. 1), to refuse a bad configuration before a long load. */
SM_API sm_status sm_run_config_check(const sm_run_config_t *cfg, size_t n_sys);

/* Called after every step; a non-zero return stops the run (SM_ECANCELLED)
 * after the file holds every complete step. */
typedef int (*sm_progress_fn)(void *user, size_t done, size_t total);

typedef struct sm_run sm_run_t;

/* Validates the configuration against the data and builds basis and backend. */
SM_API sm_status sm_run_create(sm_run_t **out, const sm_data_t *data, const sm_run_config_t *cfg);
SM_API void sm_run_free(sm_run_t *run);

/* Builds a run's backend on work, the data in the sampling basis (which
 * outlives the backend), for model. */
typedef sm_status (*sm_backend_factory_fn)(void *user, const sm_data_t *work,
                                           const sm_model_t *model, sm_backend_t **out);
/* sm_run_create with the backend built by factory instead of from cfg's
 * backend, device and precision: e.g. the pixel-sharded MPI backend
 * (sysmap/mpi.h) or a wrapper around a built-in backend. */
SM_API sm_status sm_run_create_with_backend(sm_run_t **out, const sm_data_t *data,
                                            const sm_run_config_t *cfg,
                                            sm_backend_factory_fn factory, void *user);

/* sm_run_create_with_backend (factory NULL: sm_run_create) for a map too
 * large to hold twice: the run takes data over, succeeding or not (it is
 * freed with the run, or before this returns an error), and turns its
 * templates into the sampling basis in place instead of copying them.
 * The chains are the same bits as sm_run_create's; sm_run_data then
 * returns the data with the sampling-basis templates, from which the maps
 * (sm_maps_from_run, sm_run_write_maps) take the original ones by M^-1
 * (equal to sm_run_create's maps to rounding). */
SM_API sm_status sm_run_create_adopting(sm_run_t **out, sm_data_t *data,
                                        const sm_run_config_t *cfg,
                                        sm_backend_factory_fn factory, void *user);

/* Samples. out_path NULL keeps everything in memory. With resume, continues
 * out_path's partial file (settings must match). */
SM_API sm_status sm_run_execute(sm_run_t *run, const char *out_path, int resume,
                                sm_progress_fn progress, void *user);

/* Before any work, the files of cfg against the input in (either may
 * name no files): output, its partial file and maps_out can be written and
 * none is an input (in's files, init_path) or another output, through
 * symbolic and hard links; FITS maps need a HEALPix input. SM_EINVAL for a
 * clash or an unusable name, else sm_chainfile_check_output's status. */
SM_API sm_status sm_run_config_check_files(const sm_run_config_t *cfg, const sm_input_t *in);

/* After a complete execute: the corrected maps (sysmap/maps.h) of a
 * HEALPix input (pixels with an NSIDE), or of any input when maps_out is
 * set, go into the run file (group maps, when output is set) and to
 * maps_out (FITS for a .fits name, else HDF5). *written (may be NULL)
 * says whether any were written. */
SM_API sm_status sm_run_write_maps(const sm_run_t *run, const sm_pixels_t *pixels, int *written);

SM_API const sm_model_t *sm_run_model(const sm_run_t *run);
SM_API const sm_basis_t *sm_run_basis(const sm_run_t *run);
SM_API const sm_backend_t *sm_run_backend(const sm_run_t *run);
SM_API const sm_data_t *sm_run_data(const sm_run_t *run);
SM_API const char *sm_run_param_name(const sm_run_t *run, size_t i);
/* After execute: chain (n_steps, W, n_dim) and log_prob (n_steps, W) in the
 * original basis, and the summary. */
SM_API const double *sm_run_chain(const sm_run_t *run);
SM_API const double *sm_run_log_prob(const sm_run_t *run);
SM_API const sm_chainfile_summary_t *sm_run_summary(const sm_run_t *run);
/* The configuration; after sm_run_extend its n_steps counts every step. */
SM_API const sm_run_config_t *sm_run_config(const sm_run_t *run);

/* Warnings about the last execute or extend (the library never prints):
 * an empty posterior (n_burn == n_steps) and a burn-in that looks too short
 * (sysmap/convergence.h). i < sm_run_n_warnings; the text stays valid until
 * the next execute, extend or free. */
SM_API size_t sm_run_n_warnings(const sm_run_t *run);
SM_API const char *sm_run_warning(const sm_run_t *run, size_t i);

/* Continues an in-memory run (executed with out_path NULL) for n_more
 * steps from its final walkers, log-probs, acceptance counts and generator
 * state, as emcee's run_mcmc(None, n_more): the chain is that of one run of
 * n_steps + n_more steps, bit for bit. Grows the chain (earlier pointers
 * from sm_run_chain / sm_run_log_prob / sm_run_summary become invalid),
 * adds n_more to n_steps, keeps n_burn, and recomputes summary and
 * warnings. SM_EINVAL for a run not executed, executed into a file, or
 * whose last execute or extend failed. */
SM_API sm_status sm_run_extend(sm_run_t *run, size_t n_more, sm_progress_fn progress, void *user);

/* The generator state after the last step (emcee's
 * get_last_sample().random_state); SM_EINVAL before a successful execute. */
SM_API sm_status sm_run_rng_state(const sm_run_t *run, sm_rng_state_t *out);

#ifdef __cplusplus
}
#endif
#endif
