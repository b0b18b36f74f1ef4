/* sysmap run under mpirun: launch detection, each rank's settings, serving
 * ranks, and rank 0's sharded run. */
#include "cli_mpi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* The warning when ranks (or the one process) run a CPU device on fewer
 * CPUs than their node has: Open MPI's default binding (one core per rank)
 * halves a 2-core node's throughput without a word otherwise. usable and
 * online are sums over the n_restricted ranks concerned. */
static void report_cpu_mask(long n_restricted, int size, long usable, long online)
{
    if (size > 1)
        fprintf(stderr, "sysmap run: warning: %ld of %d ranks run a CPU device on %.3g of the "
                        "%.3g online CPUs of their node (mean over those ranks)",
                n_restricted, size, (double)usable / n_restricted, (double)online / n_restricted);
    else
        fprintf(stderr, "sysmap run: warning: the CPU device runs on %ld of the %ld online CPUs",
                usable, online);
    fprintf(stderr, ": the process's CPU affinity is restricted and the device's threads share "
                    "those cores. Open MPI binds each rank to one core by default: launch with "
                    "`mpirun --bind-to none` (README, MPI); or widen the mask (taskset)\n");
}

#ifdef SYSMAP_MPI
#include "sysmap/mpi.h"

/* Room for one rank's complaint about its options. */
#define CLI_MPI_TEXT 512

static struct {
    int active;        /* MPI_Init was called */
    int rank, size;
    int serving;       /* configured with size > 1: rank 0 must release the others */
    char device[256];
    sm_mpi_rank_t self;
    FILE *held;        /* stderr's text until the options are agreed on */
    int saved_fd;      /* the real stderr meanwhile */
} mpi;

/* A rank's complaint about its options waits until every rank has parsed
 * its own, so that one rank prints one message (cli_mpi_agree_options)
 * instead of K ranks K copies. Without a temporary file, nothing is held. */
static void hold_stderr(void)
{
    fflush(stderr);
    mpi.held = tmpfile();
    mpi.saved_fd = mpi.held != NULL ? dup(STDERR_FILENO) : -1;
    if (mpi.saved_fd >= 0 && dup2(fileno(mpi.held), STDERR_FILENO) >= 0)
        return;
    if (mpi.saved_fd >= 0)
        close(mpi.saved_fd);
    if (mpi.held != NULL)
        fclose(mpi.held);
    mpi.held = NULL;
}

/* Restores stderr; text receives what was held. */
static void release_stderr(char text[CLI_MPI_TEXT])
{
    text[0] = '\0';
    if (mpi.held == NULL)
        return;
    fflush(stderr);
    dup2(mpi.saved_fd, STDERR_FILENO);
    close(mpi.saved_fd);
    rewind(mpi.held);
    text[fread(text, 1, CLI_MPI_TEXT - 1, mpi.held)] = '\0';
    fclose(mpi.held);
    mpi.held = NULL;
}

/* The held complaint as a message of its own: without the program prefix
 * (the printing rank adds it once) and on one line. */
static const char *complaint(char *text)
{
    static const char *const prefixes[] = {"sysmap run: ", "sysmap: "};
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (strncmp(text, prefixes[i], strlen(prefixes[i])) == 0) {
            text += strlen(prefixes[i]);
            break;
        }
    size_t n = strlen(text);
    while (n > 0 && text[n - 1] == '\n')
        text[--n] = '\0';
    for (char *p = strchr(text, '\n'); p != NULL; p = strchr(p, '\n'))
        *p = ' ';
    return n > 0 ? text : "bad options";
}

/* Set by Open MPI's mpirun, by PMIx launchers (Open MPI 5, Slurm) and by
 * PMI launchers (MPICH's hydra, Slurm). A plain `sysmap run` never starts
 * MPI. */
static int launched_by_mpi(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i]) != NULL)
            return 1;
    return 0;
}

void cli_mpi_init(void)
{
    if (!launched_by_mpi())
        return;
    int provided;
    /* Only the main thread calls MPI (PoCL's own threads never do). */
    MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    mpi.active = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &mpi.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &mpi.size);
    if (mpi.size > 1)
        hold_stderr();
}

int cli_mpi_agree_options(int rc, void (*usage)(FILE *out))
{
    char text[CLI_MPI_TEXT];
    release_stderr(text);
    enum { HELP, RUN, FAILED, STATUS, N_VERDICT };
    int help = rc == -1, failed = !help && rc != CLI_OK;
    /* One MPI_MAX: whether any rank asked for help, for a run, failed, and
     * the highest failure status. */
    int mine[N_VERDICT] = {help, !help, failed, failed ? rc : CLI_OK}, any[N_VERDICT];
    memcpy(any, mine, sizeof any);
    if (mpi.active && mpi.size > 1)
        MPI_Allreduce(mine, any, N_VERDICT, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (!any[FAILED] && !any[HELP]) {
        fputs(text, stderr); /* whatever an accepted option said */
        return CLI_OK;
    }
    if (!any[FAILED] && !any[RUN]) {
        if (!mpi.active || mpi.rank == 0)
            usage(stdout);
        return -1;
    }
    if (!mpi.active || mpi.size == 1)
        return rc; /* its message went straight to stderr */
    /* A bad option anywhere, or --help on some ranks only: one message,
     * naming the (lowest) rank, from rank 0; every rank exits with it. */
    int culprit = any[FAILED] ? failed : help;
    const char *why = failed ? complaint(text)
                             : "--help on some ranks only (their command lines differ); "
                               "nothing ran";
    sm_mpi_agree_text(MPI_COMM_WORLD, culprit ? SM_EINVAL : SM_OK, why);
    if (mpi.rank == 0)
        fprintf(stderr, "sysmap run: %s\n", sm_last_error());
    return any[FAILED] ? any[STATUS] : CLI_USAGE;
}

int cli_mpi_finalize(int rc)
{
    if (!mpi.active)
        return rc;
    char text[CLI_MPI_TEXT];
    release_stderr(text); /* held only when cli_run returned before agreeing */
    fputs(text, stderr);
    if (mpi.serving && mpi.rank == 0)
        sm_mpi_release(MPI_COMM_WORLD, rc == CLI_OK            ? SM_OK
                                       : rc == CLI_INTERRUPTED ? SM_ECANCELLED
                                                               : SM_EINVAL);
    MPI_Finalize();
    return rc;
}

static void warn_cpu_mask(const sm_run_config_t *cfg, int rank, int size)
{
    long usable = 0, online = 0;
    const char *device = size > 1 ? (mpi.device[0] != '\0' ? mpi.device : NULL) : cfg->device;
    int restricted = cli_cpu_mask_restricted(cfg->backend, device, cfg->precision, &usable,
                                             &online);
    long counts[3] = {restricted, restricted ? usable : 0, restricted ? online : 0};
    if (size > 1)
        MPI_Reduce(rank == 0 ? MPI_IN_PLACE : counts, counts, 3, MPI_LONG, MPI_SUM, 0,
                   MPI_COMM_WORLD);
    if (rank == 0 && counts[0] > 0)
        report_cpu_mask(counts[0], size, counts[1], counts[2]);
}

int cli_mpi_configure(const sm_run_config_t *cfg, const char *rank_weights, int allow_mixed)
{
    int rank = mpi.active ? mpi.rank : 0, size = mpi.active ? mpi.size : 1;
    double weight;
    sm_status st = sm_mpi_rank_weight(rank_weights, rank, size, &weight);
    if (size > 1) {
        /* Collective on every rank, whatever the weight said. */
        sm_status dev = sm_mpi_rank_device(MPI_COMM_WORLD, cfg->device, cfg->backend,
                                           cfg->precision, mpi.device, sizeof mpi.device);
        st = sm_mpi_agree(MPI_COMM_WORLD, st != SM_OK ? st : dev);
    }
    if (st != SM_OK) {
        if (rank == 0) {
            fputs("sysmap run: ", stderr);
            cli_say(stderr, sm_last_error(), 0);
            fputc('\n', stderr);
        }
        return CLI_ERROR;
    }
    warn_cpu_mask(cfg, rank, size);
    if (size == 1)
        return CLI_OK;
    sm_mpi_rank_init(&mpi.self);
    mpi.self.backend = cfg->backend;
    mpi.self.device = mpi.device[0] != '\0' ? mpi.device : NULL;
    mpi.self.precision = cfg->precision;
    mpi.self.weight = weight;
    mpi.self.batch = cfg->n_walkers / 2;
    mpi.self.allow_mixed_precision = allow_mixed;
    /* A signal on any rank stops the run after the step (rank 0 flushes). */
    mpi.self.stop = cli_stop_flag();
    mpi.serving = 1;
    return CLI_OK;
}

int cli_mpi_is_server(void)
{
    return mpi.serving && mpi.rank > 0;
}

int cli_mpi_serve(void)
{
    /* Rank 0 prints the failure, naming the rank it happened on. A signal
     * here is rank 0's to act on (mpi.self.stop), not this rank's alone. */
    cli_install_signal_handlers();
    sm_status st = sm_mpi_serve(MPI_COMM_WORLD, &mpi.self);
    return st == SM_OK ? CLI_OK : st == SM_ECANCELLED ? CLI_INTERRUPTED : CLI_ERROR;
}

typedef struct {
    const sm_mpi_rank_t *self;
    sm_mpi_layout_t *layout;
} sharded_t;

static sm_status sharded(void *user, const sm_data_t *work, const sm_model_t *model,
                         sm_backend_t **out)
{
    sharded_t *s = user;
    return sm_mpi_backend_create(out, MPI_COMM_WORLD, work, model, s->self, &s->layout);
}

static void print_layout(FILE *out, const sm_mpi_layout_t *l)
{
    fprintf(out, "%zu pixels over %zu MPI ranks:\n", l->first[l->n_ranks], l->n_ranks);
    for (size_t r = 0; r < l->n_ranks; r++)
        fprintf(out, "  rank %zu: pixels [%zu, %zu) (%zu), weight %.6g, %s %s on %s\n", r,
                l->first[r], l->first[r + 1], l->first[r + 1] - l->first[r], l->weight[r],
                l->backend[r], l->precision[r], l->device[r]);
}

sm_status cli_mpi_run_create(sm_run_t **run, sm_data_t *data, const sm_run_config_t *cfg,
                             int quiet)
{
    if (!mpi.serving)
        return sm_run_create_adopting(run, data, cfg, NULL, NULL);
    sharded_t s = {&mpi.self, NULL};
    sm_status st = sm_run_create_adopting(run, data, cfg, sharded, &s);
    if (st == SM_OK && !quiet)
        print_layout(stdout, s.layout);
    sm_mpi_layout_free(s.layout);
    return st;
}

#else /* a build without MPI: one process, as always */

void cli_mpi_init(void) {}

int cli_mpi_agree_options(int rc, void (*usage)(FILE *out))
{
    if (rc == -1)
        usage(stdout);
    return rc;
}

int cli_mpi_finalize(int rc)
{
    return rc;
}

int cli_mpi_configure(const sm_run_config_t *cfg, const char *rank_weights, int allow_mixed)
{
    (void)allow_mixed; /* one process has one precision */
    long usable, online;
    if (rank_weights == NULL) {
        if (cli_cpu_mask_restricted(cfg->backend, cfg->device, cfg->precision, &usable, &online))
            report_cpu_mask(1, 1, usable, online);
        return CLI_OK;
    }
    fprintf(stderr, "sysmap run: --rank-weights needs a build with MPI (cmake -DSYSMAP_MPI=ON) "
                    "and a launch by mpirun\n");
    return CLI_USAGE;
}

int cli_mpi_is_server(void)
{
    return 0;
}

int cli_mpi_serve(void)
{
    return CLI_ERROR;
}

sm_status cli_mpi_run_create(sm_run_t **run, sm_data_t *data, const sm_run_config_t *cfg,
                             int quiet)
{
    (void)quiet;
    return sm_run_create_adopting(run, data, cfg, NULL, NULL);
}

#endif
