/* Rank 0's side of a pixel-sharded backend: a backend over all pixels whose
 * pixel sums are the merged sums of every rank's slice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "error.h"
#include "shard.h"

static sm_status root_pixel_sums(void *ctx, size_t k, const double *params, const int *in_prior,
                                 sm_pixel_sums_t *sums)
{
    sm_shard_t *sh = ctx;
    double header[SM_SHARD_HEADER] = {SM_SHARD_EVAL, (double)k};
    sm_shard_command(sh->comm, header);
    return sm_shard_eval(sh, k, params, in_prior, sums);
}

static void root_free(void *ctx)
{
    sm_shard_t *sh = ctx;
    double header[SM_SHARD_HEADER] = {SM_SHARD_STOP};
    sm_shard_command(sh->comm, header);
    sm_shard_clear(sh);
    free(sh);
}

static const sm_backend_ops_t root_ops = {
    .struct_size = sizeof(sm_backend_ops_t),
    .pixel_sums = root_pixel_sums, .free = root_free};

static const char *desc_of(const sm_shard_t *sh, int rank, int which)
{
    return sh->desc + ((size_t)rank * SM_SHARD_NDESC + (size_t)which) * SM_SHARD_DESC;
}

/* "K MPI ranks: n x device, ..." with each distinct device once, in rank
 * order: short for many ranks, and independent of the split. */
static char *devices_text(const sm_shard_t *sh)
{
    /* Room for every rank's entry: nothing is ever cut. */
    size_t cap = 64 + (size_t)sh->size * (SM_SHARD_DESC + 16), used = 0;
    char *text = malloc(cap);
    if (text == NULL)
        return NULL;
    used += (size_t)snprintf(text, cap, "%d MPI ranks:", sh->size);
    for (int r = 0; r < sh->size; r++) {
        const char *dev = desc_of(sh, r, SM_SHARD_DEVICE);
        int seen = 0, count = 0;
        for (int q = 0; q < sh->size; q++) {
            int same = strcmp(desc_of(sh, q, SM_SHARD_DEVICE), dev) == 0;
            seen |= same && q < r;
            count += same;
        }
        if (!seen)
            used += (size_t)snprintf(text + used, cap - used, "%s %d x %s", r > 0 ? "," : "",
                                     count, dev);
    }
    return text;
}

/* The ranks' common backend name or precision, else "mixed". */
static const char *common(const sm_shard_t *sh, int which)
{
    for (int r = 1; r < sh->size; r++)
        if (strcmp(desc_of(sh, r, which), desc_of(sh, 0, which)) != 0)
            return "mixed";
    return desc_of(sh, 0, which);
}

static int same_precision(const sm_shard_t *sh, int a, int b)
{
    return strcmp(desc_of(sh, a, SM_SHARD_PRECISION), desc_of(sh, b, SM_SHARD_PRECISION)) == 0;
}

/* Refuses ranks whose precisions differ, naming each precision's ranks
 * ("fp64 on ranks 0, 2; fp32 on rank 1"), unless allowed. */
static sm_status check_precisions(const sm_shard_t *sh, int allowed)
{
    if (allowed || strcmp(common(sh, SM_SHARD_PRECISION), "mixed") != 0)
        return SM_OK;
    char text[512] = "";
    size_t used = 0;
    for (int r = 0; r < sh->size && used < sizeof text; r++) {
        int seen = 0, count = 0;
        for (int q = 0; q < sh->size; q++) {
            seen |= q < r && same_precision(sh, q, r);
            count += same_precision(sh, q, r);
        }
        if (seen)
            continue;
        used += (size_t)snprintf(text + used, sizeof text - used, "%s%s on rank%s",
                                 used > 0 ? "; " : "", desc_of(sh, r, SM_SHARD_PRECISION),
                                 count > 1 ? "s" : "");
        for (int q = r, n = 0; q < sh->size && used < sizeof text; q++)
            if (same_precision(sh, q, r))
                used += (size_t)snprintf(text + used, sizeof text - used, "%s %d",
                                         n++ > 0 ? "," : "", q);
    }
    return sm_fail(SM_EINVAL, "the ranks compute in different precisions (%s): their chain "
                              "differs from a one-rank run's; give every rank the same "
                              "precision, or allow mixed precisions (setting "
                              "allow_mixed_precision)", text);
}

void sm_mpi_layout_free(sm_mpi_layout_t *layout)
{
    if (layout == NULL)
        return;
    for (size_t r = 0; r < layout->n_ranks; r++) {
        free(layout->backend != NULL ? layout->backend[r] : NULL);
        free(layout->device != NULL ? layout->device[r] : NULL);
        free(layout->precision != NULL ? layout->precision[r] : NULL);
    }
    free(layout->first);
    free(layout->weight);
    free(layout->backend);
    free(layout->device);
    free(layout->precision);
    free(layout);
}

static sm_status make_layout(const sm_shard_t *sh, sm_mpi_layout_t **out)
{
    size_t k = (size_t)sh->size;
    sm_mpi_layout_t *l = calloc(1, sizeof *l);
    if (l == NULL)
        return SM_FAIL_NOMEM("layout");
    l->n_ranks = k;
    l->first = malloc((k + 1) * sizeof *l->first);
    l->weight = malloc(k * sizeof *l->weight);
    l->backend = calloc(k, sizeof *l->backend);
    l->device = calloc(k, sizeof *l->device);
    l->precision = calloc(k, sizeof *l->precision);
    int ok = l->first && l->weight && l->backend && l->device && l->precision;
    for (size_t r = 0; ok && r < k; r++) {
        l->backend[r] = strdup(desc_of(sh, (int)r, SM_SHARD_BACKEND));
        l->device[r] = strdup(desc_of(sh, (int)r, SM_SHARD_DEVICE));
        l->precision[r] = strdup(desc_of(sh, (int)r, SM_SHARD_PRECISION));
        ok = l->backend[r] && l->device[r] && l->precision[r];
    }
    if (!ok) {
        sm_mpi_layout_free(l);
        return SM_FAIL_NOMEM("layout");
    }
    memcpy(l->first, sh->first, (k + 1) * sizeof *l->first);
    memcpy(l->weight, sh->weight, k * sizeof *l->weight);
    *out = l;
    return SM_OK;
}

static sm_status check_args(MPI_Comm comm, const sm_data_t *data, const sm_model_t *model,
                            const sm_mpi_rank_t *self)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    if (rank != 0)
        return sm_fail(SM_EINVAL, "the sharded backend is created on rank 0 (this is rank %d; "
                                  "the others run sm_mpi_serve)", rank);
    if (size < 2)
        return sm_fail(SM_EINVAL, "the sharded backend needs at least 2 MPI ranks (got %d)",
                       size);
    if (data == NULL || model == NULL || self == NULL)
        return sm_fail(SM_EINVAL, "sharded backend: NULL data, model or rank settings");
    sm_status st = SM_ABI_CHECK(self, sm_mpi_rank_t, "sm_mpi_rank_init");
    if (st == SM_OK)
        st = sm_model_validate(model);
    if (st == SM_OK && sm_data_n_sys(data) != model->n_sys)
        st = sm_fail(SM_EINVAL, "sharded backend: data has %zu templates, model expects %zu",
                     sm_data_n_sys(data), model->n_sys);
    return st;
}

sm_status sm_mpi_backend_create(sm_backend_t **out, MPI_Comm comm, const sm_data_t *data,
                                const sm_model_t *model, const sm_mpi_rank_t *self,
                                sm_mpi_layout_t **layout)
{
    *out = NULL;
    if (layout != NULL)
        *layout = NULL;
    /* Argument errors return before any message, so no rank waits. */
    sm_status st = check_args(comm, data, model, self);
    if (st != SM_OK)
        return st;
    sm_shard_t *sh = calloc(1, sizeof *sh);
    if (sh == NULL)
        return SM_FAIL_NOMEM("sharded backend");
    double header[SM_SHARD_HEADER] = {SM_SHARD_SETUP,         (double)model->kind,
                                      (double)model->skew,    (double)model->n_sys,
                                      (double)sm_data_n_pix(data), (double)self->batch,
                                      model->sigma_min};
    sm_shard_command(comm, header);
    st = sm_shard_setup(sh, comm, header, data, self);
    if (st != SM_OK) {
        free(sh);
        return st;
    }
    if ((st = check_precisions(sh, self->allow_mixed_precision)) != SM_OK) {
        root_free(sh); /* the other ranks drop their slices */
        return st;
    }
    char *devices = devices_text(sh);
    if (devices == NULL) {
        root_free(sh);
        return SM_FAIL_NOMEM("device description");
    }
    if (layout != NULL && (st = make_layout(sh, layout)) != SM_OK) {
        free(devices);
        root_free(sh);
        return st;
    }
    st = sm_backend_create(out, &root_ops, sh, model, sm_data_n_pix(data),
                           common(sh, SM_SHARD_BACKEND), devices, common(sh, SM_SHARD_PRECISION));
    free(devices);
    if (st != SM_OK && layout != NULL) {
        sm_mpi_layout_free(*layout);
        *layout = NULL;
    }
    return st;
}

void sm_mpi_release(MPI_Comm comm, sm_status status)
{
    double header[SM_SHARD_HEADER] = {SM_SHARD_QUIT, (double)status};
    sm_shard_command(comm, header);
}
