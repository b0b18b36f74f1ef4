/* sysmap: command-line front end of libsysmap. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sysmap/status.h"
#include "sysmap/version.h"
#include "cli.h"
#include "cli_mpi.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sysmap <command> [options]\n"
            "\n"
            "Infers the systematic contamination of a galaxy overdensity map from\n"
            "template maps (Berlfein et al. 2024) with an emcee-exact ensemble sampler.\n"
            "\n"
            "commands:\n"
            "  run [INPUT]   sample the posterior of a map (the example map without INPUT)\n"
            "  devices       list the OpenCL platforms and devices (--device takes their index)\n"
            "  bench         log-likelihood throughput of every backend and precision\n"
            "  tune          time OpenCL launch shapes and store the fastest for a device\n"
            "  conform       check every device against the reference fixtures (conformance)\n"
            "  plot RUN.h5   corner, trace and weight-map PNGs of a run (Python, matplotlib)\n"
            "\n"
            "options:\n"
            "  -h, --help    this help; `sysmap run --help` for the run options\n"
            "  --version     print the version\n");
}

int cli_error(const char *what)
{
    fprintf(stderr, "sysmap: %s: ", what);
    cli_say(stderr, sm_last_error(), 0);
    fputc('\n', stderr);
    return CLI_ERROR;
}

int cli_parse_count(const char *text, const char **end, size_t *out)
{
    size_t v = 0;
    const char *p = text;
    for (; *p >= '0' && *p <= '9'; p++) {
        size_t digit = (size_t)(*p - '0');
        if (v > (SIZE_MAX - digit) / 10)
            return 0;
        v = 10 * v + digit;
    }
    *end = p;
    *out = v;
    return p != text;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("sysmap %s\n", sm_version());
        return CLI_OK;
    }
    if (strcmp(cmd, "run") == 0) {
        cli_mpi_init();
        return cli_mpi_finalize(cli_run(argc - 1, argv + 1));
    }
    if (strcmp(cmd, "devices") == 0)
        return cli_devices(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0)
        return cli_bench(argc - 1, argv + 1);
    if (strcmp(cmd, "tune") == 0)
        return cli_tune(argc - 1, argv + 1);
    if (strcmp(cmd, "conform") == 0)
        return cli_conform(argc - 1, argv + 1);
    if (strcmp(cmd, "plot") == 0)
        return cli_plot(argc - 1, argv + 1);
    fprintf(stderr, "sysmap: unknown command '%s' (try sysmap --help)\n", cmd);
    return CLI_USAGE;
}
