#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[4096];

/* Removes the scratch file when the fuzzer exits normally. */
static void remove_scratch(void)
{
    if (path[0] != '\0')
        unlink(path);
}

const char *fuzz_write_input(const uint8_t *data, size_t size, const char *suffix)
{
    if (path[0] == '\0') {
        const char *dir = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/sysmap-fuzz-%ld%s", dir != NULL ? dir : "/tmp",
                 (long)getpid(), suffix);
        atexit(remove_scratch);
    }
    FILE *f = fopen(path, "wb");
    if (f == NULL || (size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}
