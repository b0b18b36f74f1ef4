/* The other ranks' side: follow rank 0's commands until it releases us. */
#include <stdio.h>

#include "error.h"
#include "shard.h"

sm_status sm_mpi_serve(MPI_Comm comm, const sm_mpi_rank_t *self)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    if (rank == 0)
        return sm_fail(SM_EINVAL, "rank 0 drives the sampler; sm_mpi_serve is for the other "
                                  "ranks");
    sm_shard_t sh = {0};
    sm_status first = SM_OK;
    char first_msg[1024] = "";
    for (;;) {
        double header[SM_SHARD_HEADER];
        sm_shard_command(comm, header);
        sm_status st = SM_OK;
        switch ((int)header[0]) {
        case SM_SHARD_SETUP: st = sm_shard_setup(&sh, comm, header, NULL, self); break;
        case SM_SHARD_EVAL: st = sm_shard_eval(&sh, (size_t)header[1], NULL, NULL, NULL); break;
        case SM_SHARD_STOP: sm_shard_clear(&sh); break;
        case SM_SHARD_QUIT: {
            sm_shard_clear(&sh);
            sm_status root = (sm_status)(int)header[1];
            if (first != SM_OK)
                return sm_fail(first, "%s", first_msg);
            if (root == SM_ECANCELLED)
                return sm_fail(root, "rank 0 of %d stopped the run (interrupted)", size);
            if (root != SM_OK)
                return sm_fail(root, "rank 0 of %d ended the run with an error", size);
            return SM_OK;
        }
        default:
            /* Only rank 0's own code sends commands; this is a broken build. */
            sm_shard_clear(&sh);
            return sm_fail(SM_EINVAL, "unknown command %g from rank 0", header[0]);
        }
        if (st != SM_OK && first == SM_OK) {
            first = st;
            snprintf(first_msg, sizeof first_msg, "%s", sm_last_error());
        }
    }
}
