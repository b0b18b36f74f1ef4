/* sysmap run's inputs: the HEALPix FITS options beside the HDF5 INPUT
 * argument, and one loader for both. */
#ifndef SYSMAP_TOOLS_CLI_INPUT_H
#define SYSMAP_TOOLS_CLI_INPUT_H

#include <stdio.h>

#include "sysmap/input.h"
#include "sysmap/run.h"

typedef struct {
    sm_input_t in;
    sm_hpx_source_t *templates;
    size_t cap;
    char **owned;            /* strings split off the command line */
    size_t n_owned;
} cli_input_t;

/* Consumes argv[i] (and its value val, NULL when there is none) when it is
 * one of these options; returns how many arguments it used (0: not one of
 * them) and sets *rc to CLI_USAGE after printing the reason when they are
 * wrong. */
int cli_input_option(cli_input_t *ci, const char *opt, const char *val, int *rc);

/* Whether the HEALPix options name a map. */
int cli_input_is_healpix(const cli_input_t *ci);

/* Checks the options against each other and the HDF5 INPUT (NULL when none
 * was given); CLI_OK or CLI_USAGE after printing the reason. */
int cli_input_check(const cli_input_t *ci, const char *hdf5);

/* Loads in.hdf5 or the HEALPix maps; prints the error and returns CLI_ERROR
 * on failure. Unless quiet, says how many footprint pixels a template left
 * out. */
int cli_input_load(cli_input_t *ci, int quiet, sm_data_t **data, sm_pixels_t **pixels);

/* The input as the summary names it. */
const char *cli_input_label(const cli_input_t *ci, const char *hdf5);

void cli_input_free(cli_input_t *ci);

/* The usage lines of these options. */
void cli_input_usage(FILE *out);

#endif
