/* sysmap plot: the plots are Python (matplotlib, healpy); this runs the
 * package's plot module on the Python the build found ($SYSMAP_PYTHON
 * overrides) with the package from the build tree, else the one installed
 * beside this program, else the configured install folder. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#if !defined(SYSMAP_PYTHON_EXE) || !defined(SYSMAP_PYTHON_BUILD_DIR) || \
    !defined(SYSMAP_PYTHON_INSTALL_DIR) || !defined(SYSMAP_PYTHON_FROM_BINDIR)
#error "SYSMAP_PYTHON_EXE, SYSMAP_PYTHON_{BUILD,INSTALL}_DIR, SYSMAP_PYTHON_FROM_BINDIR unset"
#endif

static int has_package(const char *dir)
{
    char probe[PATH_MAX];
    int n = snprintf(probe, sizeof probe, "%s/sysmap/plot.py", dir);
    return n > 0 && (size_t)n < sizeof probe && access(probe, R_OK) == 0;
}

/* The package folder into dir (PATH_MAX bytes). */
static void package_dir(char *dir)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    snprintf(dir, PATH_MAX, "%s", SYSMAP_PYTHON_BUILD_DIR);
    if (has_package(dir))
        return;
    if (n > 0) {
        exe[n] = '\0';
        const char *rel = SYSMAP_PYTHON_FROM_BINDIR;
        if (rel[0] == '/')
            snprintf(dir, PATH_MAX, "%s", rel);
        else
            snprintf(dir, PATH_MAX, "%s/%s", dirname(exe), rel);
        if (has_package(dir))
            return;
    }
    snprintf(dir, PATH_MAX, "%s", SYSMAP_PYTHON_INSTALL_DIR);
}

int cli_plot(int argc, char **argv)
{
    const char *py = getenv("SYSMAP_PYTHON");
    if (py == NULL || py[0] == '\0')
        py = SYSMAP_PYTHON_EXE;
    char dir[PATH_MAX];
    package_dir(dir);
    const char *old = getenv("PYTHONPATH");
    size_t len = strlen(dir) + (old != NULL ? strlen(old) + 1 : 0) + 1;
    char *path = malloc(len);
    char **args = malloc(((size_t)argc + 3) * sizeof *args);
    if (path == NULL || args == NULL) {
        fprintf(stderr, "sysmap plot: out of memory\n");
        free(path);
        free(args);
        return CLI_ERROR;
    }
    snprintf(path, len, "%s%s%s", dir, old != NULL ? ":" : "", old != NULL ? old : "");
    setenv("PYTHONPATH", path, 1);
    free(path);
    args[0] = (char *)py;
    args[1] = "-m";
    args[2] = "sysmap.plot";
    for (int i = 1; i < argc; i++)
        args[i + 2] = argv[i];
    args[argc + 2] = NULL;
    execvp(py, args);
    fprintf(stderr, "sysmap plot: cannot run %s: %s (set SYSMAP_PYTHON to a python3 with "
                    "numpy, h5py and matplotlib)\n",
            py, strerror(errno));
    free(args);
    return CLI_ERROR;
}
