/* What each rank takes: its share of the pixels and its device. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sysmap/registry.h"
#include "error.h"
#include "shard.h"

void sm_mpi_rank_init(sm_mpi_rank_t *self)
{
    memset(self, 0, sizeof *self);
    self->struct_size = sizeof *self;
    self->weight = 1.0;
}

sm_status sm_mpi_split(size_t n_pix, size_t n_ranks, const double *weights, size_t *first)
{
    if (n_ranks == 0 || weights == NULL || first == NULL)
        return sm_fail(SM_EINVAL, "pixel split: no ranks or NULL arguments");
    double total = 0.0;
    for (size_t r = 0; r < n_ranks; r++) {
        if (!isfinite(weights[r]) || weights[r] <= 0.0)
            return sm_fail(SM_EINVAL, "pixel split: weight of rank %zu is %g (expected a "
                                      "finite number > 0)", r, weights[r]);
        total += weights[r];
    }
    if (!isfinite(total))
        return sm_fail(SM_EINVAL, "pixel split: the weights add up to %g", total);
    /* Cumulative weights are non-decreasing, so the bounds are too. */
    double cum = 0.0;
    first[0] = 0;
    for (size_t r = 1; r < n_ranks; r++) {
        cum += weights[r - 1];
        double b = floor((double)n_pix * (cum / total) + 0.5);
        first[r] = b >= (double)n_pix ? n_pix : (size_t)b;
        if (first[r] < first[r - 1])
            first[r] = first[r - 1];
    }
    first[n_ranks] = n_pix;
    return SM_OK;
}

sm_status sm_mpi_list_entry(const char *list, int rank, int size, char *out, size_t len)
{
    if (list == NULL || out == NULL || len == 0 || rank < 0 || rank >= size)
        return sm_fail(SM_EINVAL, "per-rank option: NULL argument or rank %d of %d", rank, size);
    int entries = 1;
    for (const char *p = list; *p != '\0'; p++)
        entries += *p == ',';
    if (entries > 1 && entries != size)
        return sm_fail(SM_EINVAL, "'%s' has %d entries for %d MPI ranks (give one value for "
                                  "every rank, or one entry per rank)", list, entries, size);
    const char *start = list;
    for (int i = 0; entries > 1 && i < rank; i++)
        start = strchr(start, ',') + 1;
    size_t n = strcspn(start, ",");
    if (n == 0)
        return sm_fail(SM_EINVAL, "'%s': the entry of rank %d is empty", list, rank);
    if (n >= len)
        return sm_fail(SM_EINVAL, "'%s': the entry of rank %d is too long", list, rank);
    memcpy(out, start, n);
    out[n] = '\0';
    return SM_OK;
}

sm_status sm_mpi_rank_weight(const char *option, int rank, int size, double *weight)
{
    char entry[64];
    sm_status st = sm_mpi_list_entry(option != NULL ? option : "1", rank, size, entry,
                                     sizeof entry);
    if (st != SM_OK)
        return sm_fail_context(st, "rank weights");
    if (strcmp(entry, "auto") == 0) {
        *weight = SM_MPI_WEIGHT_AUTO;
        return SM_OK;
    }
    char *end;
    errno = 0;
    *weight = strtod(entry, &end);
    if (errno != 0 || end == entry || *end != '\0' || !isfinite(*weight) || *weight <= 0.0)
        return sm_fail(SM_EINVAL, "rank weights: '%s' (rank %d) is neither a number > 0 nor "
                                  "auto", entry, rank);
    return SM_OK;
}

/* The node-local rule: the (local mod n)-th device of backend of the class
 * the default rule picks. */
static sm_status local_device(const char *backend, int local, const char *precision, char *out,
                              size_t len)
{
    int need_fp64 = precision != NULL && strcmp(precision, "fp64") == 0;
    sm_device_t best, *list;
    size_t n;
    sm_status st = sm_device_default(backend, NULL, need_fp64, &best);
    if (st == SM_OK)
        st = sm_devices(backend, &list, &n);
    if (st != SM_OK)
        return st;
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += list[i].device_class == best.device_class && (!need_fp64 || list[i].fp64);
    if (count == 0) {  /* the list changed under us: leave it to the default rule */
        sm_devices_free(list);
        return SM_OK;
    }
    size_t pick = (size_t)local % count, seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (list[i].device_class != best.device_class || (need_fp64 && !list[i].fp64))
            continue;
        if (seen++ == pick) {
            snprintf(out, len, "%u", list[i].index);
            break;
        }
    }
    sm_devices_free(list);
    return SM_OK;
}

sm_status sm_mpi_rank_device(MPI_Comm comm, const char *option, const char *backend,
                             const char *precision, char *out, size_t len)
{
    int rank, size, local;
    MPI_Comm node;
    /* Collective first, whatever this rank decides after. */
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &local);
    MPI_Comm_free(&node);
    if (out == NULL || len == 0)
        return sm_fail(SM_EINVAL, "rank device: NULL output");
    out[0] = '\0';
    if (option != NULL) {
        sm_status st = sm_mpi_list_entry(option, rank, size, out, len);
        return st == SM_OK ? SM_OK : sm_fail_context(st, "device");
    }
    const char *env = getenv("SYSMAP_DEVICE");
    if (env != NULL && env[0] != '\0')
        return SM_OK;
    /* An unknown name is left to the backend's open to report, on every
     * rank alike; auto resolves here as it will there. */
    const sm_backend_info_t *info;
    if (sm_backend_resolve(backend, NULL, &info) != SM_OK || info->devices == NULL)
        return SM_OK;
    sm_status st = local_device(info->name, local, precision, out, len);
    return st == SM_OK ? SM_OK : sm_fail_context(st, "device of node-local rank %d", local);
}
