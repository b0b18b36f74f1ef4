/* sysmap run under an MPI launcher. Every rank parses the same command
 * line; rank 0 runs the sampler on a pixel-sharded backend (sysmap/mpi.h)
 * and the other ranks serve their slices. Without a launcher, or in a build
 * without MPI, these change nothing. */
#ifndef SYSMAP_TOOLS_CLI_MPI_H
#define SYSMAP_TOOLS_CLI_MPI_H

#include <stdio.h>

#include "sysmap/run.h"

/* MPI_Init, when an MPI launcher started this process; with more than one
 * rank, stderr is held until cli_mpi_agree_options. */
void cli_mpi_init(void);
/* Rank 0 releases the serving ranks (telling them whether rc is a
 * failure); then MPI_Finalize. Returns rc. */
int cli_mpi_finalize(int rc);
/* Every rank, right after option parsing and before anything else
 * (collective): rc is this rank's verdict on its options (CLI_OK, -1 for
 * --help, else a failure whose message went to stderr, held back since
 * cli_mpi_init). Returns the verdict of all ranks: CLI_OK; -1 when every
 * rank asked for help (printed once with usage); else, after rank 0
 * printed one message naming the (lowest) rank that failed, the highest
 * failure status (CLI_USAGE for --help on some ranks only). */
int cli_mpi_agree_options(int rc, void (*usage)(FILE *out));
/* Every rank, after cli_mpi_agree_options (collective): this rank's device
 * and weight, agreed on by all ranks; allow_mixed: accept ranks in
 * different precisions (rank 0's counts). Returns a CLI status. */
int cli_mpi_configure(const sm_run_config_t *cfg, const char *rank_weights, int allow_mixed);
/* Non-zero on the ranks other than 0 of a run with more than one rank. */
int cli_mpi_is_server(void);
/* Those ranks: serve rank 0 until it is done; returns the exit status. */
int cli_mpi_serve(void);
/* Rank 0: sm_run_create_adopting (the run takes data over: one copy of a
 * survey map), on a sharded backend over every rank when there is more
 * than one (printing the split unless quiet). */
sm_status cli_mpi_run_create(sm_run_t **run, sm_data_t *data, const sm_run_config_t *cfg,
                             int quiet);

#endif
