/* sysmap run: option parsing and the run itself. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sysmap/chainfile.h"
#include "sysmap/data.h"
#include "sysmap/run.h"
#include "sysmap/sizes.h"
#include "cli.h"
#include "cli_input.h"
#include "cli_mpi.h"

#if !defined(SYSMAP_EXAMPLE_MAP) || !defined(SYSMAP_EXAMPLE_MAP_INSTALLED)
#error "SYSMAP_EXAMPLE_MAP and SYSMAP_EXAMPLE_MAP_INSTALLED must be set by CMake"
#endif
#define DEFAULT_OUTPUT "sysmap-run.h5"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sysmap run [INPUT.h5] [options]\n"
            "\n"
            "Samples the posterior of the contamination parameters of INPUT (HDF5:\n"
            "delta_g_obs (N,), templates (S, N), optional mask (N,)); without INPUT, the\n"
            "example map (%s).\n"
            "\n"
            "  -o, --output OUT.h5   run file (default " DEFAULT_OUTPUT "); written as OUT.h5.partial\n"
            "                        and renamed when complete\n"
            "  --model NAME          combined (default), additive or multiplicative\n"
            "  --skew                skew-normal likelihood (adds parameter gamma)\n"
            "  --walkers W           ensemble size, >= 2 n_dim (default 250)\n"
            "  --steps N             steps including burn-in (default 1500)\n"
            "  --burn N              burn-in steps left out of the statistics, at most --steps\n"
            "                        (default 300); a warning says when it looks too short\n"
            "  --seed S              MT19937 seed, 0..4294967295 (default 42)\n"
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
            "  --basis B             sampling basis: rotated (default, standardised PCA) or\n"
            "                        original; outputs are always in the original basis\n"
            "  --sigma-min X         prior bound: sigma <= X has zero probability (default 1e-6)\n"
            "  --init P0.h5          initial walkers: dataset p0 (W, n_dim), original basis\n"
            "  --flush-every N       steps between writes of the run file (default 50)\n"
            "  --resume              continue OUT.h5.partial of an interrupted run\n"
            "  -q, --quiet           no progress bar and no summary\n"
            "  -h, --help            this help\n",
            SYSMAP_EXAMPLE_MAP);
    cli_input_usage(out);
}

static int parse_size(const char *opt, const char *text, size_t *out)
{
    const char *end;
    if (!cli_parse_count(text, &end, out) || *end != '\0') {
        fprintf(stderr, "sysmap run: %s expects a non-negative integer (digits only, at most "
                        "%zu), got '%s'\n", opt, (size_t)SIZE_MAX, text);
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int parse_double(const char *opt, const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(v)) {
        fprintf(stderr, "sysmap run: %s expects a finite number, got '%s'\n", opt, text);
        return CLI_USAGE;
    }
    *out = v;
    return CLI_OK;
}

typedef struct {
    sm_run_config_t cfg;
    const char *input, *output, *init, *rank_weights;
    int resume, quiet, allow_mixed;
    cli_input_t hpx; /* HEALPix inputs and map outputs (cli_input.c) */
} run_args_t;

/* Parses argv into args; returns CLI_OK, CLI_USAGE, or -1 for --help. */
static int parse_args(int argc, char **argv, run_args_t *args)
{
    sm_run_config_default(&args->cfg);
    args->output = DEFAULT_OUTPUT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int takes_value = 1, rc = CLI_OK;
        size_t n;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            return -1;
        int used = cli_input_option(&args->hpx, a, val, &rc);
        if (used > 0) {
            if (rc != CLI_OK)
                return rc;
            i += used - 1;
            continue;
        }
        if (strcmp(a, "--skew") == 0) {
            args->cfg.skew = 1;
            takes_value = 0;
        } else if (strcmp(a, "--resume") == 0) {
            args->resume = 1;
            takes_value = 0;
        } else if (strcmp(a, "--allow-mixed-precision") == 0) {
            args->allow_mixed = 1;
            takes_value = 0;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            args->quiet = 1;
            takes_value = 0;
        } else if (a[0] != '-') {
            if (args->input != NULL) {
                fprintf(stderr, "sysmap run: more than one input ('%s', '%s')\n", args->input, a);
                return CLI_USAGE;
            }
            args->input = a;
            takes_value = 0;
        } else if (val == NULL) {
            fprintf(stderr, "sysmap run: unknown option or missing value: %s\n", a);
            return CLI_USAGE;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            args->output = val;
        } else if (strcmp(a, "--model") == 0) {
            if (sm_model_parse(val, &args->cfg.model) != SM_OK) {
                cli_error("--model");
                return CLI_USAGE;
            }
        } else if (strcmp(a, "--basis") == 0) {
            if (sm_basis_parse(val, &args->cfg.basis) != SM_OK) {
                cli_error("--basis");
                return CLI_USAGE;
            }
        } else if (strcmp(a, "--walkers") == 0) {
            rc = parse_size(a, val, &args->cfg.n_walkers);
        } else if (strcmp(a, "--steps") == 0) {
            rc = parse_size(a, val, &args->cfg.n_steps);
        } else if (strcmp(a, "--burn") == 0) {
            rc = parse_size(a, val, &args->cfg.n_burn);
        } else if (strcmp(a, "--flush-every") == 0) {
            rc = parse_size(a, val, &args->cfg.flush_every);
        } else if (strcmp(a, "--seed") == 0) {
            rc = parse_size(a, val, &n);
            if (rc == CLI_OK && n > UINT32_MAX) {
                fprintf(stderr, "sysmap run: --seed must be at most 4294967295, got %s\n", val);
                rc = CLI_USAGE;
            }
            args->cfg.seed = (uint32_t)n;
        } else if (strcmp(a, "--sigma-min") == 0) {
            rc = parse_double(a, val, &args->cfg.sigma_min);
        } else if (strcmp(a, "--backend") == 0) {
            args->cfg.backend = val;
        } else if (strcmp(a, "--device") == 0) {
            args->cfg.device = val;
        } else if (strcmp(a, "--precision") == 0) {
            args->cfg.precision = val;
        } else if (strcmp(a, "--init") == 0) {
            args->init = val;
        } else if (strcmp(a, "--rank-weights") == 0) {
            args->rank_weights = val;
        } else {
            fprintf(stderr, "sysmap run: unknown option %s (try sysmap run --help)\n", a);
            return CLI_USAGE;
        }
        if (rc != CLI_OK)
            return rc;
        i += takes_value;
    }
    int rc = cli_input_check(&args->hpx, args->input);
    if (rc != CLI_OK)
        return rc;
    if (args->input == NULL && !cli_input_is_healpix(&args->hpx))
        args->input = access(SYSMAP_EXAMPLE_MAP, R_OK) == 0 ? SYSMAP_EXAMPLE_MAP
                                                             : SYSMAP_EXAMPLE_MAP_INSTALLED;
    return CLI_OK;
}

/* What the options refute without the data, so that a bad value is not
 * reported after a long load: the walkers are checked against the fewest
 * templates the input can have (sm_run_create checks the exact count). */
static int check_before_load(const run_args_t *args)
{
    size_t n_sys = args->hpx.in.n_templates > 0 ? args->hpx.in.n_templates : 1;
    if (sm_run_config_check(&args->cfg, n_sys) == SM_OK)
        return CLI_OK;
    fprintf(stderr, "sysmap run: %s\n", sm_last_error());
    return CLI_ERROR; /* as when sm_run_create refutes them */
}

/* Folder identity and name of a path that does not exist yet. */
static int folder_and_name(const char *path, struct stat *folder, char *name, size_t len)
{
    char *a = strdup(path), *b = strdup(path);
    int ok = a != NULL && b != NULL && stat(dirname(a), folder) == 0;
    if (ok)
        snprintf(name, len, "%s", basename(b));
    free(a);
    free(b);
    return ok;
}

/* Whether a and b name one file: through symbolic and hard links (device
 * and inode), and, for files still to be made, one name in one folder. */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    int ea = stat(a, &sa) == 0, eb = stat(b, &sb) == 0;
    if (ea || eb)
        return ea && eb && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    char na[PATH_MAX], nb[PATH_MAX];
    return folder_and_name(a, &sa, na, sizeof na) && folder_and_name(b, &sb, nb, sizeof nb) &&
           sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino && strcmp(na, nb) == 0;
}

/* Before any work: every output can be written, and none is an input or
 * another output (a run would replace its own input). */
static int check_outputs(const run_args_t *args)
{
    size_t n_out = strlen(args->output);
    char *partial = malloc(n_out + sizeof SM_CHAINFILE_PARTIAL_SUFFIX);
    if (partial == NULL) {
        fprintf(stderr, "sysmap run: out of memory\n");
        return CLI_ERROR;
    }
    memcpy(partial, args->output, n_out);
    memcpy(partial + n_out, SM_CHAINFILE_PARTIAL_SUFFIX, sizeof SM_CHAINFILE_PARTIAL_SUFFIX);
    const sm_input_t *in = &args->hpx.in;
    const char *outputs[][2] = {{"-o", args->output},
                                {"-o (its partial file)", partial},
                                {"--maps-out", args->hpx.maps_out}};
    size_t n_inputs = 5 + in->n_templates;
    const char **inputs = calloc(n_inputs, sizeof *inputs);
    int rc = inputs != NULL ? CLI_OK : CLI_ERROR;
    if (inputs != NULL) {
        const char *fixed[5] = {args->input, in->map.path, in->mask.path, args->init, NULL};
        memcpy(inputs, fixed, sizeof fixed);
        for (size_t t = 0; t < in->n_templates; t++)
            inputs[4 + t] = in->templates[t].path;
    }
    for (size_t o = 0; o < 3 && rc == CLI_OK; o++) {
        const char *out = outputs[o][1];
        for (size_t i = 0; out != NULL && i < n_inputs && rc == CLI_OK; i++)
            if (inputs[i] != NULL && same_file(out, inputs[i])) {
                fprintf(stderr, "sysmap run: %s %s is the input %s (the same file): the run "
                                "would overwrite it; name another output\n",
                        outputs[o][0], out, inputs[i]);
                rc = CLI_USAGE;
            }
        for (size_t p = 0; out != NULL && p < o && rc == CLI_OK; p++)
            if (same_file(out, outputs[p][1])) {
                fprintf(stderr, "sysmap run: %s %s is the file of %s %s: the run would "
                                "overwrite it; name another output\n",
                        outputs[o][0], out, outputs[p][0], outputs[p][1]);
                rc = CLI_USAGE;
            }
    }
    /* -o through the library (it checks again when it runs), --maps-out alike */
    for (size_t o = 0; o < 3 && rc == CLI_OK; o += 2)
        if (outputs[o][1] != NULL) {
            sm_status st = sm_chainfile_check_output(outputs[o][1]);
            if (st != SM_OK) {
                fprintf(stderr, "sysmap run: %s: %s\n", outputs[o][0], sm_last_error());
                rc = st == SM_EINVAL ? CLI_USAGE : CLI_ERROR;
            }
        }
    if (inputs == NULL)
        fprintf(stderr, "sysmap run: out of memory\n");
    free(inputs);
    free(partial);
    return rc;
}

int cli_run(int argc, char **argv)
{
    run_args_t args = {0};
    sm_input_default(&args.hpx.in);
    int rc = parse_args(argc, argv, &args);
    if (rc == CLI_OK)
        rc = check_before_load(&args);
    if (rc == CLI_OK)
        rc = check_outputs(&args);
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
    double *init = NULL;
    sm_pixels_t *pixels = NULL;
    if (cli_input_load(&args.hpx, args.input, args.quiet, &data, &pixels) != CLI_OK) {
        cli_input_free(&args.hpx);
        return CLI_ERROR;
    }
    if (args.init != NULL) {
        sm_model_t model = SM_MODEL_INIT(args.cfg.model, args.cfg.skew, sm_data_n_sys(data),
                            args.cfg.sigma_min);
        size_t n_dim = sm_model_n_dim(&model), count, bytes;
        if (sm_size_mul(args.cfg.n_walkers, n_dim, "--init: walkers x parameters", &count) !=
                SM_OK ||
            sm_size_bytes(count, sizeof *init, "--init: the initial walkers", &bytes) != SM_OK) {
            rc = cli_error("--init");
            goto done;
        }
        init = malloc(bytes);
        if (init == NULL) {
            fprintf(stderr, "sysmap: out of memory for %zu initial walkers\n", args.cfg.n_walkers);
            rc = CLI_ERROR;
            goto done;
        }
        if (sm_data_load_walkers(args.init, args.cfg.n_walkers, n_dim, init) != SM_OK) {
            rc = cli_error("--init");
            goto done;
        }
        args.cfg.init = init;
    }
    if (cli_mpi_run_create(&run, data, &args.cfg, args.quiet) != SM_OK) {
        rc = cli_error("run");
        goto done;
    }
    cli_progress_t bar;
    cli_progress_init(&bar, !args.quiet && isatty(STDERR_FILENO));
    cli_install_signal_handlers();
    sm_status st = sm_run_execute(run, args.output, args.resume, cli_progress_update, &bar);
    cli_progress_finish(&bar);
    if (st == SM_ECANCELLED) {
        fprintf(stderr, "sysmap: interrupted: %s\n", sm_last_error());
        rc = CLI_INTERRUPTED;
    } else if (st != SM_OK) {
        rc = cli_error("run");
    } else {
        if (!args.quiet)
            cli_print_summary(stdout, run, data, cli_input_label(&args.hpx, args.input),
                              args.output);
        else /* the summary table carries them otherwise */
            for (size_t i = 0; i < sm_run_n_warnings(run); i++)
                fprintf(stderr, "sysmap: warning: %s\n", sm_run_warning(run, i));
        rc = cli_input_write_maps(&args.hpx, run, data, pixels, args.output,
                                  args.quiet ? NULL : stdout);
    }
done:
    sm_pixels_free(pixels);
    cli_input_free(&args.hpx);
    sm_run_free(run);
    free(init);
    sm_data_free(data);
    return rc;
}
