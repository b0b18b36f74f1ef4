/* sysmap run: option parsing and the run itself. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sysmap/data.h"
#include "sysmap/run.h"
#include "cli.h"
#include "cli_input.h"
#include "cli_mpi.h"

#if !defined(SYSMAP_EXAMPLE_MAP) || !defined(SYSMAP_EXAMPLE_MAP_INSTALLED)
#error "SYSMAP_EXAMPLE_MAP and SYSMAP_EXAMPLE_MAP_INSTALLED must be set by CMake"
#endif
#define DEFAULT_OUTPUT "sysmap-run.h5"

static void usage(FILE *out)
{
    char models[256];
    sm_model_kind_list(models, sizeof models);
    /* the library's defaults, in the order the text shows them */
    static const char *const shown[] = {"model", "walkers", "steps", "burn",
                                        "seed",  "basis",   "sigma_min", "flush_every"};
    char d[sizeof shown / sizeof *shown][32];
    sm_run_config_t cfg;
    sm_run_config_default(&cfg);
    for (size_t k = 0; k < sizeof shown / sizeof *shown; k++)
        if (sm_run_config_get(&cfg, shown[k], d[k], sizeof d[k]) != SM_OK)
            d[k][0] = '\0';
    fprintf(out,
            "usage: sysmap run [INPUT.h5] [options]\n"
            "\n"
            "Samples the posterior of the contamination parameters of INPUT (HDF5:\n"
            "delta_g_obs (N,), templates (S, N), optional mask (N,)); without INPUT, the\n"
            "example map (%s).\n"
            "\n"
            "  -o, --output OUT.h5   run file (default " DEFAULT_OUTPUT "); written as OUT.h5.partial\n"
            "                        and renamed when complete\n"
            "  --model NAME          %s (default %s)\n"
            "  --skew                skew-normal likelihood (adds parameter gamma)\n"
            "  --walkers W           ensemble size, >= 2 n_dim (default %s)\n"
            "  --steps N             steps including burn-in (default %s)\n"
            "  --burn N              burn-in steps left out of the statistics, at most --steps\n"
            "                        (default %s); a warning says when it looks too short\n"
            "  --seed S              MT19937 seed, 0..4294967295 (default %s)\n"
            "  --backend NAME        auto (default: opencl when the machine has an OpenCL\n"
            "                        device, else reference), opencl, or reference (GSL, fp64)\n"
            "  --device D            OpenCL device: index N or platform:device P:D (see\n"
            "                        sysmap devices); default $SYSMAP_DEVICE, else the\n"
            "                        fastest fp64 device\n"
            "  --precision P         fp64 (default where the device has it) or fp32\n"
            "  --rank-weights W      under mpirun: each rank's share of the pixels, one number\n"
            "                        per rank (e.g. 1,3) or auto (measured throughput); default\n"
            "                        equal; --device also takes one entry per rank (0,1)\n"
            "  --allow-mixed-precision  under mpirun: accept ranks computing in different\n"
            "                        precisions (fp64 and fp32; the chain then differs from a\n"
            "                        one-rank run's); refused by default\n"
            "  --basis B             sampling basis: rotated or original (default %s);\n"
            "                        outputs are always in the original basis\n"
            "  --sigma-min X         prior bound: sigma <= X has zero probability (default %s)\n"
            "  --init P0.h5          initial walkers: dataset p0 (W, n_dim), original basis\n"
            "  --flush-every N       steps between writes of the run file (default %s)\n"
            "  --resume              continue OUT.h5.partial of an interrupted run\n"
            "  -q, --quiet           no progress bar and no summary\n"
            "  -h, --help            this help\n",
            SYSMAP_EXAMPLE_MAP, models, d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]);
    cli_input_usage(out);
}

typedef struct {
    sm_run_config_t cfg;
    const char *input, *rank_weights;
    int quiet, allow_mixed;
    cli_input_t hpx; /* HEALPix inputs (cli_input.c) */
} run_args_t;

/* The library's verdict on a setting, said with the CLI's flags;
 * setting_first: the message starts with the setting's name. */
static int refused(int setting_first)
{
    fputs("sysmap run: ", stderr);
    cli_say(stderr, sm_last_error(), setting_first);
    fputc('\n', stderr);
    return CLI_USAGE;
}

/* Parses argv into args; returns CLI_OK, CLI_USAGE, or -1 for --help. */
static int parse_args(int argc, char **argv, run_args_t *args)
{
    sm_run_config_default(&args->cfg);
    args->cfg.output = DEFAULT_OUTPUT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            return -1;
        int rc = CLI_OK, used = cli_input_option(&args->hpx, a, val, &rc);
        if (used > 0) {
            if (rc != CLI_OK)
                return rc;
            i += used - 1;
            continue;
        }
        const char *setting = cli_setting(strcmp(a, "--output") == 0 ? "-o" : a);
        if (strcmp(a, "--skew") == 0 || strcmp(a, "--resume") == 0) {
            if (sm_run_config_set(&args->cfg, setting, "1") != SM_OK)
                return refused(1);
        } else if (strcmp(a, "--allow-mixed-precision") == 0) {
            args->allow_mixed = 1;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            args->quiet = 1;
        } else if (a[0] != '-') {
            if (args->input != NULL) {
                fprintf(stderr, "sysmap run: more than one input ('%s', '%s')\n", args->input, a);
                return CLI_USAGE;
            }
            args->input = a;
        } else if (val == NULL) {
            fprintf(stderr, "sysmap run: unknown option or missing value: %s\n", a);
            return CLI_USAGE;
        } else if (strcmp(a, "--rank-weights") == 0) {
            args->rank_weights = argv[++i];
        } else if (setting != NULL) {
            if (sm_run_config_set(&args->cfg, setting, argv[++i]) != SM_OK)
                return refused(1);
        } else {
            fprintf(stderr, "sysmap run: unknown option %s (try sysmap run --help)\n", a);
            return CLI_USAGE;
        }
    }
    int rc = cli_input_check(&args->hpx, args->input);
    if (rc != CLI_OK)
        return rc;
    if (args->input == NULL && !cli_input_is_healpix(&args->hpx))
        args->input = access(SYSMAP_EXAMPLE_MAP, R_OK) == 0 ? SYSMAP_EXAMPLE_MAP
                                                             : SYSMAP_EXAMPLE_MAP_INSTALLED;
    args->hpx.in.hdf5 = cli_input_is_healpix(&args->hpx) ? NULL : args->input;
    return CLI_OK;
}

/* What the library refutes before a long load: the settings, with the
 * walkers checked against the fewest templates the input can have
 * (sm_run_create checks the exact count), then the files. */
static int check_before_load(const run_args_t *args)
{
    size_t n_sys = args->hpx.in.n_templates > 0 ? args->hpx.in.n_templates : 1;
    if (sm_run_config_check(&args->cfg, n_sys) != SM_OK) {
        refused(0);
        return CLI_ERROR; /* as when sm_run_create refutes them */
    }
    sm_status st = sm_run_config_check_files(&args->cfg, &args->hpx.in);
    if (st == SM_OK)
        return CLI_OK;
    refused(1);
    return st == SM_EINVAL ? CLI_USAGE : CLI_ERROR;
}

int cli_run(int argc, char **argv)
{
    run_args_t args = {0};
    sm_input_default(&args.hpx.in);
    int rc = parse_args(argc, argv, &args);
    if (rc == CLI_OK)
        rc = check_before_load(&args);
    /* Under mpirun every rank reaches this verdict before any other
     * collective call, so a rank's bad option cannot leave the others
     * waiting. -1: help, printed. */
    rc = cli_mpi_agree_options(rc, usage);
    if (rc != CLI_OK) {
        cli_input_free(&args.hpx);
        return rc == -1 ? CLI_OK : rc;
    }
    rc = cli_mpi_configure(&args.cfg, args.rank_weights, args.allow_mixed);
    if (rc == CLI_OK && cli_mpi_is_server())
        rc = cli_mpi_serve();
    if (rc != CLI_OK || cli_mpi_is_server()) {
        cli_input_free(&args.hpx);
        return rc;
    }

    sm_data_t *data = NULL;
    sm_run_t *run = NULL;
    sm_pixels_t *pixels = NULL;
    if (cli_input_load(&args.hpx, args.quiet, &data, &pixels) != CLI_OK) {
        cli_input_free(&args.hpx);
        return CLI_ERROR;
    }
    /* The run takes data over (its templates turn into the sampling basis
     * in place): the summary below reads only its names and sizes. */
    if (cli_mpi_run_create(&run, data, &args.cfg, args.quiet) != SM_OK) {
        rc = cli_error("run");
        goto done;
    }
    cli_progress_t bar;
    cli_progress_init(&bar, !args.quiet && isatty(STDERR_FILENO));
    cli_install_signal_handlers();
    sm_status st = sm_run_execute(run, args.cfg.output, args.cfg.resume, cli_progress_update,
                                  &bar);
    cli_progress_finish(&bar);
    int maps = 0;
    if (st == SM_ECANCELLED) {
        fputs("sysmap: interrupted: ", stderr);
        cli_say(stderr, sm_last_error(), 0);
        fputc('\n', stderr);
        rc = CLI_INTERRUPTED;
    } else if (st != SM_OK) {
        rc = cli_error("run");
    } else {
        if (!args.quiet)
            cli_print_summary(stdout, run, data, cli_input_label(&args.hpx, args.input),
                              args.cfg.output);
        else /* the summary table carries them otherwise */
            for (size_t i = 0; i < sm_run_n_warnings(run); i++)
                fprintf(stderr, "sysmap: warning: %s\n", sm_run_warning(run, i));
        if (sm_run_write_maps(run, pixels, &maps) != SM_OK)
            rc = cli_error("maps");
        else if (maps && !args.quiet)
            printf("maps at the posterior median (corrected overdensity, weight 1/(1 + b.t), "
                   "linearised 1-sigma): %s (group maps)%s%s\n",
                   args.cfg.output, args.cfg.maps_out != NULL ? " and " : "",
                   args.cfg.maps_out != NULL ? args.cfg.maps_out : "");
    }
done:
    sm_pixels_free(pixels);
    cli_input_free(&args.hpx);
    sm_run_free(run);
    return rc;
}
