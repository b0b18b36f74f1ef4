/* Internal: the sharded-backend protocol. Rank 0 broadcasts a command
 * header; then every rank runs the same sequence of collectives for it, so
 * a failure on one rank is agreed on (sm_mpi_agree) before anything could
 * wait for the failed rank. */
#ifndef SYSMAP_MPI_SHARD_H
#define SYSMAP_MPI_SHARD_H

#include "sysmap/mpi.h"

/* Commands, header[0]. Headers are doubles: every field is an integer far
 * below 2^53, plus sigma_min. */
enum { SM_SHARD_SETUP = 1, SM_SHARD_EVAL, SM_SHARD_STOP, SM_SHARD_QUIT };
/* SETUP: kind, skew, n_sys, n_total, batch, sigma_min. EVAL: k. QUIT: status. */
#define SM_SHARD_HEADER 7

/* One rank's share of a sharded backend (all fields zero when idle). */
typedef struct {
    MPI_Comm comm;
    int rank, size;
    sm_model_t model;
    size_t n_dim, n_total, batch;
    size_t *first;                /* (size + 1,) */
    double *weight;               /* (size,) */
    sm_data_t *slice;             /* [first[rank], first[rank + 1]) */
    sm_backend_t *local;
    char *desc;                   /* rank 0: (size, SM_SHARD_NDESC, SM_SHARD_DESC) */
    MPI_Datatype pair;            /* (sum, compensation) */
    MPI_Op merge;
    int have_op;
    size_t evals, fault_at;       /* SYSMAP_MPI_INJECT_FAULT (0: none) */
    volatile sig_atomic_t *stop;  /* this rank's stop flag (sm_mpi_rank_t), or NULL */
    size_t capacity;              /* walkers the scratch below holds */
    double *payload;              /* (k, n_dim) parameters, then k in-prior flags */
    int *in_prior;
    sm_pixel_sums_t *sums;
    double *pairs, *merged;       /* (1 + 3k) pairs: (failures, stops), then the sums */
} sm_shard_t;

/* What rank 0 learns about each rank's backend, SM_SHARD_DESC chars each. */
enum { SM_SHARD_BACKEND, SM_SHARD_DEVICE, SM_SHARD_PRECISION, SM_SHARD_NDESC };
#define SM_SHARD_DESC 256

/* Rank 0 sends header; every other rank receives it into header. */
void sm_shard_command(MPI_Comm comm, double header[SM_SHARD_HEADER]);

/* After a SETUP header: full is the whole working data on rank 0, NULL
 * elsewhere. On failure the shard is left idle on every rank. */
sm_status sm_shard_setup(sm_shard_t *sh, MPI_Comm comm, const double *header,
                         const sm_data_t *full, const sm_mpi_rank_t *self);

/* After an EVAL header for k walkers: params, in_prior and sums on rank 0
 * (sums receives the merged sums over every rank), NULL elsewhere. */
sm_status sm_shard_eval(sm_shard_t *sh, size_t k, const double *params, const int *in_prior,
                        sm_pixel_sums_t *sums);

/* Frees the slice and its backend; the shard is idle again. */
void sm_shard_clear(sm_shard_t *sh);

/* Every rank learns that n_failed ranks failed (n_failed > 0); each returns
 * the lowest failing rank's status and message (its text, or its
 * sm_last_error() when text is NULL), prefixed with that rank. */
sm_status sm_mpi_share_failure(MPI_Comm comm, sm_status local, const char *text, int n_failed);

#endif
