/* A run's files: before any work, that its outputs can be written and
 * replace none of its inputs; after it, the corrected maps. */
#include "sysmap/run.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sysmap/chainfile.h"
#include "sysmap/maps.h"
#include "error.h"
#include "maps_plan.h"

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

/* The outputs (label, path; path NULL when not written) against the inputs
 * and each other. */
static sm_status check_clashes(const char *const outputs[][2], size_t n_out,
                               const char *const *inputs, size_t n_in)
{
    for (size_t o = 0; o < n_out; o++) {
        const char *out = outputs[o][1];
        for (size_t i = 0; out != NULL && i < n_in; i++)
            if (inputs[i] != NULL && same_file(out, inputs[i]))
                return sm_fail(SM_EINVAL, "%s %s is the input %s (the same file): the run would "
                                          "overwrite it; name another output",
                               outputs[o][0], out, inputs[i]);
        for (size_t p = 0; out != NULL && p < o; p++)
            if (outputs[p][1] != NULL && same_file(out, outputs[p][1]))
                return sm_fail(SM_EINVAL, "%s %s is the file of %s %s: the run would overwrite "
                                          "it; name another output",
                               outputs[o][0], out, outputs[p][0], outputs[p][1]);
    }
    return SM_OK;
}

sm_status sm_run_config_check_files(const sm_run_config_t *cfg, const sm_input_t *in)
{
    if (cfg == NULL || in == NULL)
        return sm_fail(SM_EINVAL, "sm_run_config_check_files: NULL argument");
    if (in->map.path == NULL && cfg->maps_out != NULL && is_fits_name(cfg->maps_out))
        return sm_fail(SM_EINVAL, "maps_out %s: FITS maps need a HEALPix input (a map); name "
                                  "an HDF5 file for an HDF5 input",
                       cfg->maps_out);
    char *partial = NULL;
    if (cfg->output != NULL) {
        size_t n = strlen(cfg->output);
        if ((partial = malloc(n + sizeof SM_CHAINFILE_PARTIAL_SUFFIX)) == NULL)
            return SM_FAIL_NOMEM("the partial file's name");
        memcpy(partial, cfg->output, n);
        memcpy(partial + n, SM_CHAINFILE_PARTIAL_SUFFIX, sizeof SM_CHAINFILE_PARTIAL_SUFFIX);
    }
    const char *const outputs[][2] = {{"output", cfg->output},
                                      {"output (its partial file)", partial},
                                      {"maps_out", cfg->maps_out}};
    size_t n_in = 4 + in->n_templates;
    const char **inputs = calloc(n_in, sizeof *inputs);
    sm_status st = inputs != NULL ? SM_OK : SM_FAIL_NOMEM("the list of inputs");
    if (st == SM_OK) {
        const char *fixed[4] = {in->hdf5, in->map.path, in->mask.path, cfg->init_path};
        memcpy(inputs, fixed, sizeof fixed);
        for (size_t t = 0; t < in->n_templates; t++)
            inputs[4 + t] = in->templates[t].path;
        st = check_clashes(outputs, 3, inputs, n_in);
    }
    /* output again when the run opens it; maps_out alike */
    for (size_t o = 0; o < 3 && st == SM_OK; o += 2)
        if (outputs[o][1] != NULL && (st = sm_chainfile_check_output(outputs[o][1])) != SM_OK)
            sm_fail_context(st, "%s", outputs[o][0]);
    free(inputs);
    free(partial);
    return st;
}

sm_status sm_run_write_maps(const sm_run_t *run, const sm_pixels_t *pixels, int *written)
{
    if (written != NULL)
        *written = 0;
    if (run == NULL || pixels == NULL)
        return sm_fail(SM_EINVAL, "sm_run_write_maps: NULL argument");
    const sm_run_config_t *c = sm_run_config(run);
    if (sm_pixels_nside(pixels) == 0 && c->maps_out == NULL)
        return SM_OK;
    sm_status st;
    if (c->maps_out != NULL && is_fits_name(c->maps_out)) {
        /* the FITS writer takes whole columns */
        sm_maps_t *maps = NULL;
        st = sm_maps_from_run(&maps, run, sm_run_data(run));
        if (st == SM_OK && c->output != NULL)
            st = sm_maps_write_hdf5(maps, pixels, c->output);
        if (st == SM_OK)
            st = sm_maps_write_fits(maps, pixels, c->maps_out);
        sm_maps_free(maps);
    } else {
        /* HDF5 only: computed a chunk at a time as they are written, once
         * per file (recomputing costs N S^2 operations, holding them 32
         * bytes a pixel) */
        sm_maps_plan_t plan;
        st = sm_maps_plan_from_run(&plan, run, sm_run_data(run));
        if (st == SM_OK && c->output != NULL)
            st = sm_maps_write_hdf5_plan(&plan, pixels, c->output);
        if (st == SM_OK && c->maps_out != NULL)
            st = sm_maps_write_hdf5_plan(&plan, pixels, c->maps_out);
        sm_maps_plan_clear(&plan);
    }
    if (st == SM_OK && written != NULL)
        *written = c->output != NULL || c->maps_out != NULL;
    return st;
}
