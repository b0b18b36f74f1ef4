/* The sharded-backend protocol every rank runs: setting up a slice (split,
 * send, build the local backend, optionally measure and re-split) and
 * evaluating a batch (broadcast the parameters, local pixel sums, one
 * Allreduce of compensated pairs). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "error.h"
#include "ksum.h"
#include "shard.h"
#include "sysmap/registry.h"

#define SM_SHARD_TAG 7207
/* Test hook: SYSMAP_MPI_INJECT_FAULT=N in a rank's environment makes its
 * evaluations fail from the N-th on (a device lost mid-run), for the
 * mid-run failure a working device cannot provoke. */
#define SM_SHARD_FAULT_ENV "SYSMAP_MPI_INJECT_FAULT"
#define SM_SHARD_BATCH 125       /* walkers per probe when rank 0 names none */
#define SM_SHARD_PROBE_S 0.2     /* seconds each rank measures for auto weights */

void sm_shard_command(MPI_Comm comm, double header[SM_SHARD_HEADER])
{
    MPI_Bcast(header, SM_SHARD_HEADER, MPI_DOUBLE, 0, comm);
}

/* Neumaier merge of (sum, compensation) pairs, the Allreduce's operation:
 * the merged pair carries the exact rounding error of every addition. */
static void merge_pairs(void *in, void *inout, int *len, MPI_Datatype *type)
{
    (void)type;
    const double *a = in;
    double *b = inout;
    for (int i = 0; i < *len; i++) {
        sm_ksum_t acc = {b[2 * i], b[2 * i + 1]};
        sm_ksum_add(&acc, a[2 * i]);
        b[2 * i] = acc.sum;
        b[2 * i + 1] = acc.comp + a[2 * i + 1];
    }
}

static void free_local(sm_shard_t *sh)
{
    sm_backend_free(sh->local);
    sm_data_free(sh->slice);
    sh->local = NULL;
    sh->slice = NULL;
}

void sm_shard_clear(sm_shard_t *sh)
{
    free_local(sh);
    if (sh->have_op) {
        MPI_Op_free(&sh->merge);
        MPI_Type_free(&sh->pair);
    }
    free(sh->first);
    free(sh->weight);
    free(sh->desc);
    free(sh->payload);
    free(sh->in_prior);
    free(sh->sums);
    free(sh->pairs);
    free(sh->merged);
    memset(sh, 0, sizeof *sh);
}

/* Scratch for k walkers. Every rank grows at the same k (the header's), and
 * the capacity counts only once every rank has it, so ranks stay in step
 * even when one of them runs out of memory. */
static sm_status grow(sm_shard_t *sh, size_t k, int collective)
{
    if (k <= sh->capacity)
        return SM_OK;
    size_t n_pairs = 2 * (1 + 3 * k);
    sm_status st = SM_OK;
    void *p;
#define SM_GROW(field, count)                                            \
    if (st == SM_OK) {                                                   \
        p = realloc(sh->field, (count) * sizeof *sh->field);             \
        if (p == NULL)                                                   \
            st = SM_FAIL_NOMEM("scratch for " #field);                   \
        else                                                             \
            sh->field = p;                                               \
    }
    SM_GROW(payload, k * (sh->n_dim + 1));
    SM_GROW(in_prior, k);
    SM_GROW(sums, k);
    SM_GROW(pairs, n_pairs);
    SM_GROW(merged, n_pairs);
#undef SM_GROW
    if (collective)
        st = sm_mpi_agree(sh->comm, st);
    if (st == SM_OK)
        sh->capacity = k;
    return st;
}

/* Receives (or, on rank 0, sends) the slices of the split in sh->first and
 * builds this rank's backend on its slice. */
static sm_status distribute(sm_shard_t *sh, const sm_data_t *full, const sm_mpi_rank_t *self)
{
    free_local(sh);
    size_t s = sh->model.n_sys, lo = sh->first[sh->rank], n = sh->first[sh->rank + 1] - lo;
    double *delta = NULL, *templates = NULL;
    sm_status st = SM_OK;
    if (n == 0)
        st = sm_fail(SM_EINVAL, "its slice is empty: weight %g gives it none of the %zu pixels",
                     sh->weight[sh->rank], sh->n_total);
    else if (n > INT_MAX)
        st = sm_fail(SM_EINVAL, "its slice of %zu pixels exceeds an MPI message (%d)", n,
                     INT_MAX);
    else if ((delta = malloc(n * sizeof *delta)) == NULL ||
             (templates = malloc(s * n * sizeof *templates)) == NULL)
        st = sm_fail(SM_ENOMEM, "out of memory for its slice of %zu pixels x %zu templates", n,
                     s);
    st = sm_mpi_agree(sh->comm, st);
    if (st != SM_OK) {
        free(delta);
        free(templates);
        return st;
    }
    if (sh->rank == 0) {
        const double *d = sm_data_delta(full), *t = sm_data_templates(full);
        for (int r = 1; r < sh->size; r++) {
            size_t a = sh->first[r], m = sh->first[r + 1] - a;
            MPI_Send(d + a, (int)m, MPI_DOUBLE, r, SM_SHARD_TAG, sh->comm);
            for (size_t i = 0; i < s; i++)
                MPI_Send(t + i * sh->n_total + a, (int)m, MPI_DOUBLE, r, SM_SHARD_TAG, sh->comm);
        }
        memcpy(delta, d + lo, n * sizeof *delta);
        for (size_t i = 0; i < s; i++)
            memcpy(templates + i * n, t + i * sh->n_total + lo, n * sizeof *templates);
    } else {
        MPI_Recv(delta, (int)n, MPI_DOUBLE, 0, SM_SHARD_TAG, sh->comm, MPI_STATUS_IGNORE);
        for (size_t i = 0; i < s; i++)
            MPI_Recv(templates + i * n, (int)n, MPI_DOUBLE, 0, SM_SHARD_TAG, sh->comm,
                     MPI_STATUS_IGNORE);
    }
    st = sm_data_create(&sh->slice, n, s, delta, templates, NULL);
    free(delta);
    free(templates);
    if (st == SM_OK)
        st = sm_backend_open(&sh->local, self->backend, self->device, self->precision,
                             sh->slice, &sh->model);
    if (st != SM_OK)
        free_local(sh);
    return sm_mpi_agree(sh->comm, st);
}

/* This rank's throughput in pixel-walker evaluations per second, on
 * batches of in-prior walkers at the origin (the cost does not depend on
 * where the walkers are). */
static sm_status measure(sm_shard_t *sh, double *rate)
{
    size_t k = sh->batch, d = sh->n_dim;
    sm_status st = grow(sh, k, 0);
    if (st != SM_OK)
        return st;
    memset(sh->payload, 0, k * d * sizeof *sh->payload);
    double sigma = sh->model.sigma_min > 0.0 ? 2.0 * sh->model.sigma_min + 1.0 : 1.0;
    for (size_t w = 0; w < k; w++)
        sh->payload[w * d + sm_model_sigma_index(&sh->model)] = sigma;
    sm_throughput_t tp;
    st = sm_backend_throughput(sh->local, k, sh->payload, SM_SHARD_PROBE_S, &tp);
    *rate = tp.evals_per_s;
    return st;
}

/* Measures every rank on the current split, then re-splits by the rates. */
static sm_status balance(sm_shard_t *sh, const sm_data_t *full, const sm_mpi_rank_t *self)
{
    double rate = 1.0;
    sm_status st = sm_mpi_agree(sh->comm, measure(sh, &rate));
    if (st != SM_OK)
        return st;
    MPI_Allgather(&rate, 1, MPI_DOUBLE, sh->weight, 1, MPI_DOUBLE, sh->comm);
    size_t *old = malloc((size_t)(sh->size + 1) * sizeof *old);
    st = sm_mpi_agree(sh->comm, old == NULL ? SM_FAIL_NOMEM("pixel split") : SM_OK);
    if (st != SM_OK) {
        free(old);
        return st;
    }
    memcpy(old, sh->first, (size_t)(sh->size + 1) * sizeof *old);
    /* Every rank computes the same split from the same rates. */
    st = sm_mpi_split(sh->n_total, (size_t)sh->size, sh->weight, sh->first);
    int moved = st == SM_OK && memcmp(old, sh->first, (size_t)(sh->size + 1) * sizeof *old) != 0;
    free(old);
    if (st == SM_OK && moved)
        st = distribute(sh, full, self);
    return st;
}

/* Rank 0 collects every rank's backend, device and precision. */
static sm_status describe(sm_shard_t *sh)
{
    char mine[SM_SHARD_NDESC][SM_SHARD_DESC];
    snprintf(mine[SM_SHARD_BACKEND], SM_SHARD_DESC, "%s", sm_backend_name(sh->local));
    snprintf(mine[SM_SHARD_DEVICE], SM_SHARD_DESC, "%s", sm_backend_device(sh->local));
    snprintf(mine[SM_SHARD_PRECISION], SM_SHARD_DESC, "%s", sm_backend_precision(sh->local));
    sm_status st = SM_OK;
    if (sh->rank == 0 && (sh->desc = malloc((size_t)sh->size * sizeof mine)) == NULL)
        st = SM_FAIL_NOMEM("rank descriptions");
    st = sm_mpi_agree(sh->comm, st);
    if (st == SM_OK)
        MPI_Gather(mine, (int)sizeof mine, MPI_CHAR, sh->desc, (int)sizeof mine, MPI_CHAR, 0,
                   sh->comm);
    return st;
}

/* The model and sizes of a SETUP header, and this rank's weight. */
static sm_status read_setup(sm_shard_t *sh, const double *h, const sm_mpi_rank_t *self)
{
    sh->model.struct_size = sizeof sh->model;
    sh->model.kind = (sm_model_kind_t)(int)h[1];
    sh->model.skew = (int)h[2];
    sh->model.n_sys = (size_t)h[3];
    sh->n_total = (size_t)h[4];
    sh->batch = h[5] > 0 ? (size_t)h[5] : SM_SHARD_BATCH;
    sh->model.sigma_min = h[6];
    sh->n_dim = sm_model_n_dim(&sh->model);
    const char *fault = getenv(SM_SHARD_FAULT_ENV);
    sh->fault_at = fault != NULL ? strtoul(fault, NULL, 10) : 0;
    if (self == NULL)
        return sm_fail(SM_EINVAL, "no rank settings (NULL)");
    sm_status st = SM_ABI_CHECK(self, sm_mpi_rank_t, "sm_mpi_rank_init");
    if (st != SM_OK)
        return st;
    sh->stop = self->stop;
    if (self->weight != SM_MPI_WEIGHT_AUTO && !(isfinite(self->weight) && self->weight > 0.0))
        return sm_fail(SM_EINVAL, "weight %g: expected a finite number > 0 or auto",
                       self->weight);
    sh->first = malloc((size_t)(sh->size + 1) * sizeof *sh->first);
    sh->weight = malloc((size_t)sh->size * sizeof *sh->weight);
    if (sh->first == NULL || sh->weight == NULL)
        return SM_FAIL_NOMEM("pixel split");
    return SM_OK;
}

sm_status sm_shard_setup(sm_shard_t *sh, MPI_Comm comm, const double *header,
                         const sm_data_t *full, const sm_mpi_rank_t *self)
{
    sm_shard_clear(sh);
    sh->comm = comm;
    MPI_Comm_rank(comm, &sh->rank);
    MPI_Comm_size(comm, &sh->size);
    MPI_Type_contiguous(2, MPI_DOUBLE, &sh->pair);
    MPI_Type_commit(&sh->pair);
    MPI_Op_create(merge_pairs, 1, &sh->merge);
    sh->have_op = 1;
    sm_status st = sm_mpi_agree(comm, read_setup(sh, header, self));
    if (st == SM_OK) {
        double w = self->weight;
        MPI_Allgather(&w, 1, MPI_DOUBLE, sh->weight, 1, MPI_DOUBLE, comm);
        int automatic = 0;
        for (int r = 0; r < sh->size; r++)
            automatic |= sh->weight[r] == SM_MPI_WEIGHT_AUTO;
        /* Auto weights start from an equal split. */
        for (int r = 0; automatic && r < sh->size; r++)
            sh->weight[r] = 1.0;
        st = sm_mpi_split(sh->n_total, (size_t)sh->size, sh->weight, sh->first);
        if (st == SM_OK)
            st = distribute(sh, full, self);
        if (st == SM_OK && automatic)
            st = balance(sh, full, self);
    }
    if (st == SM_OK)
        st = describe(sh);
    if (st != SM_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", sm_last_error());
        sm_shard_clear(sh);
        return sm_fail(st, "%s", msg);
    }
    return SM_OK;
}

sm_status sm_shard_eval(sm_shard_t *sh, size_t k, const double *params, const int *in_prior,
                        sm_pixel_sums_t *sums)
{
    size_t d = sh->n_dim;
    sm_status st = grow(sh, k, 1);
    if (st != SM_OK)
        return st;
    double *payload = sh->payload;
    if (sh->rank == 0) {
        memcpy(payload, params, k * d * sizeof *payload);
        for (size_t w = 0; w < k; w++)
            payload[k * d + w] = in_prior[w] ? 1.0 : 0.0;
    }
    MPI_Bcast(payload, (int)(k * (d + 1)), MPI_DOUBLE, 0, sh->comm);
    size_t n_in = 0;
    for (size_t w = 0; w < k; w++) {
        sh->in_prior[w] = payload[k * d + w] != 0.0;
        n_in += (size_t)sh->in_prior[w];
    }
    sh->evals++;
    if (sh->local == NULL)
        st = sm_fail(SM_EINVAL, "no slice to evaluate (its setup failed)");
    else if (sh->fault_at > 0 && sh->evals >= sh->fault_at)
        st = sm_fail(SM_EDEVICE, "injected fault (" SM_SHARD_FAULT_ENV "=%zu) at evaluation %zu",
                     sh->fault_at, sh->evals);
    else if (n_in > 0)
        st = sm_backend_pixel_sums(sh->local, k, payload, sh->in_prior, sh->sums);
    double *pairs = sh->pairs;
    memset(pairs, 0, 2 * (1 + 3 * k) * sizeof *pairs);
    /* Counts ride in the first pair: small integers add exactly, so the
     * merge's compensation term carries the stop count unchanged. */
    pairs[0] = st != SM_OK;
    pairs[1] = sh->stop != NULL && *sh->stop != 0;
    for (size_t w = 0; st == SM_OK && w < k; w++) {
        if (!sh->in_prior[w])
            continue;
        pairs[2 + 6 * w] = sh->sums[w].log_m;
        pairs[4 + 6 * w] = sh->sums[w].sq;
        pairs[6 + 6 * w] = sh->sums[w].log_phi;
    }
    MPI_Allreduce(pairs, sh->merged, (int)(1 + 3 * k), sh->pair, sh->merge, sh->comm);
    const double *m = sh->merged;
    if (m[1] > 0.0 && sh->stop != NULL)
        *sh->stop = 1;
    if (m[0] > 0.0)
        return sm_mpi_share_failure(sh->comm, st, NULL, (int)m[0]);
    for (size_t w = 0; sums != NULL && w < k; w++) {
        if (!in_prior[w])
            continue;
        sums[w].log_m = m[2 + 6 * w] + m[3 + 6 * w];
        sums[w].sq = m[4 + 6 * w] + m[5 + 6 * w];
        sums[w].log_phi = m[6 + 6 * w] + m[7 + 6 * w];
    }
    return SM_OK;
}
