/* The sysmap command line: subcommands and shared helpers. */
#ifndef SYSMAP_TOOLS_CLI_H
#define SYSMAP_TOOLS_CLI_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "sysmap/opencl.h"
#include "sysmap/run.h"

/* Exit statuses of every subcommand. */
enum { CLI_OK = 0, CLI_ERROR = 1, CLI_USAGE = 2, CLI_INTERRUPTED = 130 };

int cli_run(int argc, char **argv);
int cli_devices(int argc, char **argv);
int cli_bench(int argc, char **argv);
int cli_conform(int argc, char **argv);
int cli_plot(int argc, char **argv);
int cli_tune(int argc, char **argv);

/* Prints "sysmap: <what>: <library message>" to stderr; returns CLI_ERROR. */
int cli_error(const char *what);

/* The command-line flag of a run setting (sysmap/run.h), and back; NULL
 * for none. */
const char *cli_flag(const char *setting);
const char *cli_setting(const char *flag);
/* Prints a library message with the settings it names said as flags:
 * "setting NAME", "the file of NAME", "use NAME", "resuming continues",
 * and a leading "NAME:" (or, with setting_first, a leading "NAME "). */
void cli_say(FILE *out, const char *msg, int setting_first);

/* The decimal digits at the start of text as a count into *out, *end after
 * them: 1, or 0 when there are none or the value does not fit a size_t.
 * Unlike strtoull, no sign or leading space ("-2" is not 2^64 - 2). */
int cli_parse_count(const char *text, const char **end, size_t *out);

/* Terminal progress bar on stderr: steps, rate, ETA. Returns non-zero once
 * SIGINT or SIGTERM arrived, which stops the run at the next step. */
typedef struct {
    int enabled;
    double t0;
    size_t first;     /* step the bar started at (resume) */
    double last_draw;
} cli_progress_t;
void cli_progress_init(cli_progress_t *bar, int enabled);
int cli_progress_update(void *bar, size_t done, size_t total);
void cli_progress_finish(cli_progress_t *bar);
void cli_install_signal_handlers(void);
/* The flag those handlers set: MPI ranks share it (cli_mpi.c). */
volatile sig_atomic_t *cli_stop_flag(void);

/* 1 when backend/device/precision (as for sm_backend_open) is a CPU device
 * and this process may run on fewer CPUs (*usable) than are online
 * (*online): its threads then share those (cli_cpumask.c). */
int cli_cpu_mask_restricted(const char *backend, const char *device, const char *precision,
                            long *usable, long *online);

/* The synthetic problem of sysmap bench and tune: N pixels, S templates
 * and W walkers of seeded normals, so every run times the same work. */
sm_status cli_bench_problem(size_t n, size_t s, size_t w, const sm_model_t *m,
                            sm_data_t **data, double **walkers);

/* "tuning of device I fp64: <shape> (<source>)" on stdout, a warning about
 * an ignored tuning database on stderr (cli_tune.c); cli_print_tuning
 * selects the device as sysmap run does and prints nothing when none. */
void cli_print_tuning_of(const sm_device_t *dev, const char *precision);
void cli_print_tuning(const char *device, const char *precision);

/* The end-of-run summary table. */
void cli_print_summary(FILE *out, const sm_run_t *run, const sm_data_t *data,
                       const char *input, const char *output);

#endif
