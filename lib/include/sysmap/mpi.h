/* Pixel-sharded runs over MPI (in builds with MPI: -DSYSMAP_MPI=ON, or AUTO
 * where CMake finds MPI).
 *
 * Rank 0 of a communicator runs the sampler with a backend from
 * sm_mpi_backend_create; every other rank runs sm_mpi_serve. Rank r holds
 * the contiguous slice [first[r], first[r+1]) of the used pixels (in the
 * sampling basis) on its own backend and device; each batch of k walkers
 * costs one broadcast of the parameters and one MPI_Allreduce of the
 * per-walker pixel sums (Neumaier-merged (sum, compensation) pairs). So the
 * chain equals the one-rank chain up to accept/reject ties from summation
 * order. A failure on any rank (no device, out of memory, an empty slice, a
 * failed evaluation) makes the call fail on every rank with a message that
 * names the rank; nothing hangs. Ranks computing in different precisions
 * are refused unless rank 0 allows it (their chain is not the one-rank
 * chain). A stop request on any rank (its flag, e.g. set by a signal
 * handler) reaches every rank with the next evaluation, at no extra
 * message.
 *
 * The header includes <mpi.h>: link MPI (CMake: MPI::MPI_C) next to sysmap. */
#ifndef SYSMAP_MPI_H
#define SYSMAP_MPI_H

#include <mpi.h>
#include <signal.h>
#include <stddef.h>

#include "sysmap/backend.h"
#include "sysmap/data.h"
#include "sysmap/model.h"
#include "sysmap/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A weight that asks for the measured throughput of the rank's backend. */
#define SM_MPI_WEIGHT_AUTO (-1.0)

/* What one rank contributes. Initialise with sm_mpi_rank_init. */
typedef struct {
    size_t struct_size;     /* sizeof(sm_mpi_rank_t) as the caller compiled it */
    const char *backend;    /* "auto" (NULL), "opencl" or "reference": sm_backend_open */
    const char *device;     /* this rank's device, NULL = the backend's default;
                               sm_mpi_rank_device gives the documented rule */
    const char *precision;  /* NULL = the backend's default */
    double weight;          /* share of the pixels, finite and > 0, or
                               SM_MPI_WEIGHT_AUTO (then every rank is measured:
                               weight = pixel-walker evaluations per second
                               on an equal split, then the pixels are re-split) */
    size_t batch;           /* walkers per evaluation the run asks for (W / 2),
                               for the auto measurement; 0 = 125. Rank 0's counts. */
    int allow_mixed_precision; /* 0: setup fails, naming each rank's precision,
                               when the ranks' precisions differ (the chain then
                               differs from a one-rank run's); else the backend's
                               precision is "mixed". Rank 0's counts. */
    volatile sig_atomic_t *stop; /* this rank's stop flag, or NULL: every evaluation
                               counts the ranks whose flag is set (inside its one
                               Allreduce) and, when any is, sets every rank's flag,
                               so rank 0's progress callback stops the run after
                               the step wherever the signal landed */
} sm_mpi_rank_t;

/* Sets struct_size, backend, device and precision NULL (the defaults),
 * weight 1, batch 0, allow_mixed_precision 0, stop NULL. */
SM_API void sm_mpi_rank_init(sm_mpi_rank_t *self);

/* The split of a sharded backend, as rank 0 sees it. */
typedef struct {
    size_t n_ranks;
    size_t *first;          /* (n_ranks + 1,) */
    double *weight;         /* (n_ranks,) weights the split followed */
    char **backend;         /* (n_ranks,) each rank's backend name */
    char **device;          /* (n_ranks,) its device */
    char **precision;       /* (n_ranks,) */
} sm_mpi_layout_t;

SM_API void sm_mpi_layout_free(sm_mpi_layout_t *layout);

/* Rank 0 of comm (size >= 2; every other rank in sm_mpi_serve): splits data
 * (the run's data in the sampling basis: sm_run_create_with_backend hands it
 * over) by the ranks' weights, sends each rank its slice, and returns a
 * backend over all pixels. Collective. layout may be NULL; otherwise it
 * receives the split (free with sm_mpi_layout_free). The backend's name and
 * precision are the ranks' common ones (else "mixed"; different precisions
 * fail with SM_EINVAL unless self->allow_mixed_precision), its device
 * "K MPI ranks: n x device, ..." (each distinct device once). Freeing it
 * frees every rank's slice. */
SM_API sm_status sm_mpi_backend_create(sm_backend_t **out, MPI_Comm comm, const sm_data_t *data,
                                       const sm_model_t *model, const sm_mpi_rank_t *self,
                                       sm_mpi_layout_t **layout);

/* Every rank of comm but 0: holds and evaluates slices for rank 0's
 * backends until rank 0 calls sm_mpi_release. Returns SM_OK, the first
 * failure seen (on this rank or another, naming the rank), or rank 0's
 * status when rank 0 ended with a failure. comm carries nothing else
 * meanwhile. */
SM_API sm_status sm_mpi_serve(MPI_Comm comm, const sm_mpi_rank_t *self);

/* Rank 0, after freeing its sharded backends: ends every rank's
 * sm_mpi_serve; a status other than SM_OK is handed to them as rank 0's. */
SM_API void sm_mpi_release(MPI_Comm comm, sm_status status);

/* Collective: every rank of comm passes its own status and gets SM_OK
 * when all passed SM_OK, else the status and message of the lowest failing
 * rank, as "rank R of K: message" (naming how many others failed too). For
 * a caller's own per-rank checks, so that no rank goes on alone. */
SM_API sm_status sm_mpi_agree(MPI_Comm comm, sm_status local);
/* sm_mpi_agree with text (when not NULL) as this rank's message instead of
 * sm_last_error(): for checks whose message is the caller's own. */
SM_API sm_status sm_mpi_agree_text(MPI_Comm comm, sm_status local, const char *text);

/* The split of n_pix pixels over n_ranks by weights (finite, > 0):
 * first[0] = 0, first[r] = round(n_pix * (w_0 + ... + w_{r-1}) / sum w),
 * first[n_ranks] = n_pix. A slice may be empty when n_pix is small. */
SM_API sm_status sm_mpi_split(size_t n_pix, size_t n_ranks, const double *weights, size_t *first);

/* Entry rank of a per-rank option value: a single value applies to every
 * rank, a comma-separated list must have exactly size entries. */
SM_API sm_status sm_mpi_list_entry(const char *list, int rank, int size, char *out, size_t len);

/* This rank's weight from a per-rank option value (sm_mpi_list_entry): a
 * number > 0, or "auto" for SM_MPI_WEIGHT_AUTO; option NULL gives 1. */
SM_API sm_status sm_mpi_rank_weight(const char *option, int rank, int size, double *weight);

/* This rank's device for backend and precision (collective over comm):
 *   1. option given: its entry for this rank (sm_mpi_list_entry);
 *   2. else SYSMAP_DEVICE in this rank's environment (the backend reads it);
 *   3. else for "opencl", and for "auto" (NULL) on a machine with an OpenCL
 *      device: the node-local rank L (MPI_COMM_TYPE_SHARED) takes the
 *      (L mod n)-th of the n devices of the class the default rule picks
 *      (GPUs and accelerators before CPUs; fp64 devices when precision is
 *      "fp64"), in `sysmap devices` order;
 *   4. the reference backend (and "auto" without OpenCL) has no device.
 * out receives a device spec, or "" for the backend's default. */
SM_API sm_status sm_mpi_rank_device(MPI_Comm comm, const char *option, const char *backend,
                                    const char *precision, char *out, size_t len);

#ifdef __cplusplus
}
#endif
#endif
