/* sysmap run: HEALPix FITS input options and the map outputs. */
#include "cli_input.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sysmap/maps.h"
#include "cli.h"

void cli_input_usage(FILE *out)
{
    fprintf(out,
            "\n"
            "HEALPix FITS input (instead of INPUT.h5; FILE:COLUMN picks a column):\n"
            "  --map FILE            galaxy map: overdensity, or counts with --counts\n"
            "  --counts              the map holds galaxy counts: delta = n / (nbar w) - 1\n"
            "  --templates F1,F2     template maps; a file without :COLUMN gives every\n"
            "                        column as a template (repeatable)\n"
            "  --mask FILE           mask, completeness or random-count map w (UNSEEN = 0)\n"
            "  --mask-min X          use pixels with w > X (default 0)\n"
            "  --standardize         templates to zero mean, unit variance over used pixels\n"
            "  --reorder             convert files in another ordering to the map's\n"
            "  --resample            ud_grade files of another NSIDE to the map's\n"
            "outputs (HEALPix input: also always in the run file, group maps):\n"
            "  --maps-out FILE       corrected overdensity and weight maps with their\n"
            "                        1-sigma: HEALPix FITS (.fits) or HDF5 (other names)\n");
}

/* Prints "sysmap run: <message>", sets *rc to CLI_USAGE, returns 1 (the
 * option itself was consumed). */
__attribute__((format(printf, 2, 3))) static int usage_error(int *rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sysmap run: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    *rc = CLI_USAGE;
    return 1;
}

static char *keep(cli_input_t *ci, char *s)
{
    char **owned = s != NULL ? realloc(ci->owned, (ci->n_owned + 1) * sizeof *owned) : NULL;
    if (owned == NULL) {
        free(s);
        return NULL;
    }
    ci->owned = owned;
    ci->owned[ci->n_owned++] = s;
    return s;
}

/* "file.fits:COLUMN": split at the last ':' unless the whole text names an
 * existing file or what follows looks like a path. */
static int parse_source(cli_input_t *ci, const char *text, sm_hpx_source_t *src)
{
    char *copy = keep(ci, strdup(text));
    if (copy == NULL)
        return 0;
    char *colon = strrchr(copy, ':');
    src->path = copy;
    src->column = NULL;
    if (colon != NULL && colon != copy && colon[1] != '\0' && strchr(colon, '/') == NULL &&
        access(text, F_OK) != 0) {
        *colon = '\0';
        src->column = colon + 1;
    }
    return 1;
}

static int add_templates(cli_input_t *ci, const char *list, int *rc)
{
    char *copy = keep(ci, strdup(list));
    if (copy == NULL)
        return usage_error(rc, "out of memory for --templates");
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        if (ci->in.n_templates == ci->cap) {
            size_t cap = ci->cap ? 2 * ci->cap : 8;
            sm_hpx_source_t *t = realloc(ci->templates, cap * sizeof *t);
            if (t == NULL)
                return usage_error(rc, "out of memory for --templates");
            ci->templates = t;
            ci->cap = cap;
        }
        if (!parse_source(ci, tok, &ci->templates[ci->in.n_templates++]))
            return usage_error(rc, "out of memory for --templates");
    }
    ci->in.templates = ci->templates;
    return 2;
}

int cli_input_option(cli_input_t *ci, const char *opt, const char *val, int *rc)
{
    int *flag = strcmp(opt, "--standardize") == 0 ? &ci->in.standardize
                : strcmp(opt, "--reorder") == 0   ? &ci->in.reorder
                : strcmp(opt, "--resample") == 0  ? &ci->in.resample
                                                  : NULL;
    if (flag != NULL) {
        *flag = 1;
        return 1;
    }
    if (strcmp(opt, "--counts") == 0) {
        ci->in.map_kind = SM_MAP_COUNTS;
        return 1;
    }
    int known = strcmp(opt, "--map") == 0 || strcmp(opt, "--templates") == 0 ||
                strcmp(opt, "--mask") == 0 || strcmp(opt, "--mask-min") == 0 ||
                strcmp(opt, "--maps-out") == 0;
    if (!known)
        return 0;
    if (val == NULL)
        return usage_error(rc, "%s needs a value", opt);
    if (strcmp(opt, "--templates") == 0)
        return add_templates(ci, val, rc);
    if (strcmp(opt, "--maps-out") == 0) {
        ci->maps_out = val;
        return 2;
    }
    if (strcmp(opt, "--mask-min") == 0) {
        char *end;
        errno = 0;
        ci->in.mask_min = strtod(val, &end);
        if (errno != 0 || end == val || *end != '\0' || !isfinite(ci->in.mask_min) ||
            ci->in.mask_min < 0)
            return usage_error(rc, "--mask-min expects a finite number >= 0, got '%s'", val);
        return 2;
    }
    sm_hpx_source_t *src = strcmp(opt, "--map") == 0 ? &ci->in.map : &ci->in.mask;
    if (!parse_source(ci, val, src))
        return usage_error(rc, "out of memory for %s", opt);
    return 2;
}

int cli_input_is_healpix(const cli_input_t *ci)
{
    return ci->in.map.path != NULL;
}

static int is_fits_name(const char *path)
{
    static const char *const ext[] = {".fits", ".fit", ".fts", ".FITS"};
    size_t n = strlen(path);
    for (size_t k = 0; k < sizeof ext / sizeof ext[0]; k++) {
        size_t e = strlen(ext[k]);
        if (n > e && strcmp(path + n - e, ext[k]) == 0)
            return 1;
    }
    return 0;
}

int cli_input_check(const cli_input_t *ci, const char *hdf5)
{
    int rc = CLI_OK, healpix = cli_input_is_healpix(ci);
    if (healpix && hdf5 != NULL)
        usage_error(&rc, "give either INPUT.h5 (%s) or --map (%s), not both", hdf5,
                    ci->in.map.path);
    else if (healpix && ci->in.n_templates == 0)
        usage_error(&rc, "--map %s needs --templates", ci->in.map.path);
    else if (!healpix && (ci->in.n_templates > 0 || ci->in.mask.path != NULL ||
                          ci->in.map_kind == SM_MAP_COUNTS || ci->in.standardize ||
                          ci->in.reorder || ci->in.resample || ci->in.mask_min != 0))
        usage_error(&rc, "--templates, --mask, --counts, --mask-min, --standardize, --reorder "
                         "and --resample need a HEALPix --map");
    else if (!healpix && ci->maps_out != NULL && is_fits_name(ci->maps_out))
        usage_error(&rc, "--maps-out %s: FITS maps need a HEALPix input (--map); name an HDF5 "
                         "file for an HDF5 input",
                    ci->maps_out);
    return rc;
}

int cli_input_load(cli_input_t *ci, const char *hdf5, int quiet, sm_data_t **data,
                   sm_pixels_t **pixels)
{
    ci->in.hdf5 = cli_input_is_healpix(ci) ? NULL : hdf5;
    if (sm_input_load(&ci->in, data, pixels) != SM_OK)
        return cli_error("input");
    size_t dropped = sm_pixels_n_dropped(*pixels);
    if (!quiet && dropped > 0)
        fprintf(stderr, "sysmap: note: %zu pixel%s of the map's footprint %s no value in some "
                        "template and %s left out\n",
                dropped, dropped == 1 ? "" : "s", dropped == 1 ? "has" : "have",
                dropped == 1 ? "is" : "are");
    return CLI_OK;
}

const char *cli_input_label(const cli_input_t *ci, const char *hdf5)
{
    return cli_input_is_healpix(ci) ? ci->in.map.path : hdf5;
}

int cli_input_write_maps(const cli_input_t *ci, const sm_run_t *run, const sm_data_t *data,
                         const sm_pixels_t *pixels, const char *run_file, FILE *report)
{
    if (!cli_input_is_healpix(ci) && ci->maps_out == NULL)
        return CLI_OK;
    sm_maps_t *maps = NULL;
    int rc = CLI_OK;
    if (sm_maps_from_run(&maps, run, data) != SM_OK ||
        sm_maps_write_hdf5(maps, pixels, run_file) != SM_OK)
        rc = cli_error("maps");
    else if (ci->maps_out != NULL &&
             (is_fits_name(ci->maps_out) ? sm_maps_write_fits(maps, pixels, ci->maps_out)
                                         : sm_maps_write_hdf5(maps, pixels, ci->maps_out)) !=
                 SM_OK)
        rc = cli_error("maps");
    if (rc == CLI_OK && report != NULL)
        fprintf(report,
                "maps at the posterior median (corrected overdensity, weight 1/(1 + b.t), "
                "linearised 1-sigma): %s (group maps)%s%s\n",
                run_file, ci->maps_out != NULL ? " and " : "",
                ci->maps_out != NULL ? ci->maps_out : "");
    sm_maps_free(maps);
    return rc;
}

void cli_input_free(cli_input_t *ci)
{
    for (size_t k = 0; k < ci->n_owned; k++)
        free(ci->owned[k]);
    free(ci->owned);
    free(ci->templates);
}
