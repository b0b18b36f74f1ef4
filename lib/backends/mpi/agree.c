/* Agreement on failure across ranks: a rank that fails still joins every
 * collective of the step, reports its failure through them, and every rank
 * returns the same message naming it. */
#include <stdio.h>

#include "error.h"
#include "shard.h"

/* Long enough for a library message with its context. */
#define SM_MPI_MSG 768

sm_status sm_mpi_share_failure(MPI_Comm comm, sm_status local, const char *text, int n_failed)
{
    int rank, size, lowest;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    int mine = local != SM_OK ? rank : size;
    MPI_Allreduce(&mine, &lowest, 1, MPI_INT, MPI_MIN, comm);
    int code = local;
    char msg[SM_MPI_MSG] = "";
    if (rank == lowest)
        snprintf(msg, sizeof msg, "%s", text != NULL ? text : sm_last_error());
    MPI_Bcast(&code, 1, MPI_INT, lowest, comm);
    MPI_Bcast(msg, SM_MPI_MSG, MPI_CHAR, lowest, comm);
    msg[SM_MPI_MSG - 1] = '\0';
    if (n_failed > 1)
        return sm_fail((sm_status)code, "rank %d of %d (and %d more rank%s): %s", lowest, size,
                       n_failed - 1, n_failed > 2 ? "s" : "", msg);
    return sm_fail((sm_status)code, "rank %d of %d: %s", lowest, size, msg);
}

sm_status sm_mpi_agree_text(MPI_Comm comm, sm_status local, const char *text)
{
    int failed = local != SM_OK, n_failed;
    MPI_Allreduce(&failed, &n_failed, 1, MPI_INT, MPI_SUM, comm);
    return n_failed == 0 ? SM_OK : sm_mpi_share_failure(comm, local, text, n_failed);
}

sm_status sm_mpi_agree(MPI_Comm comm, sm_status local)
{
    return sm_mpi_agree_text(comm, local, NULL);
}
