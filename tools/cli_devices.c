/* sysmap devices: every device of every registered backend (today the
 * OpenCL platforms and devices), as a table or JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sysmap/registry.h"
#include "cli.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sysmap devices [--json]\n"
            "\n"
            "Lists the devices of every backend that has them (today every OpenCL platform\n"
            "and device the ICD loader finds), and the device `sysmap run --backend opencl`\n"
            "uses without --device: SYSMAP_DEVICE when set,\n"
            "else among fp64 devices GPUs and accelerators before CPUs, then the most\n"
            "compute units x clock, ties to the lowest index. --device takes the index #\n"
            "or the P:D (platform:device) pair.\n"
            "\n"
            "  --json        the same as JSON (memory in bytes, the whole OpenCL version)\n"
            "  -h, --help    this help\n");
}

/* The default device of backend for fp64 runs: its index, or -1 with the
 * reason. */
static long default_fp64(const char *backend, const char **why)
{
    sm_device_t chosen;
    if (sm_device_default(backend, NULL, 1, &chosen) != SM_OK) {
        *why = sm_last_error();
        return -1;
    }
    *why = NULL;
    return (long)chosen.index;
}

enum { COLS = 12, CELL = 160 };
typedef struct {
    char cell[COLS][CELL];
} row_t;

/* "OpenCL 3.0 PoCL ..." -> "3.0"; the full string is in --json. */
static const char *short_version(const char *version)
{
    static const char prefix[] = "OpenCL ";
    static char out[32];
    if (strncmp(version, prefix, sizeof prefix - 1) != 0)
        return version;
    const char *v = version + sizeof prefix - 1;
    size_t len = strcspn(v, " ");
    if (len >= sizeof out)
        len = sizeof out - 1;
    memcpy(out, v, len);
    out[len] = '\0';
    return out;
}

static int print_table(const sm_device_t *dev, size_t n)
{
    static const char *const head[COLS] = {"#",      "P:D", "type", "name",     "vendor",
                                           "driver", "OpenCL", "CUs", "MHz", "memory GiB",
                                           "max alloc GiB", "fp64"};
    static const int right[COLS] = {1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0};
    row_t *rows = calloc(n + 1, sizeof *rows);
    if (rows == NULL) {
        fprintf(stderr, "sysmap devices: out of memory for a table of %zu devices\n", n);
        return CLI_ERROR;
    }
    for (int c = 0; c < COLS; c++)
        snprintf(rows[0].cell[c], CELL, "%s", head[c]);
    for (size_t i = 0; i < n; i++) {
        char(*cell)[CELL] = rows[i + 1].cell;
        snprintf(cell[0], CELL, "%u", dev[i].index);
        snprintf(cell[1], CELL, "%u:%u", dev[i].platform_index, dev[i].device_index);
        snprintf(cell[2], CELL, "%s", sm_device_class_name(dev[i].device_class));
        snprintf(cell[3], CELL, "%s", dev[i].name);
        snprintf(cell[4], CELL, "%s", dev[i].vendor);
        snprintf(cell[5], CELL, "%s", dev[i].driver);
        snprintf(cell[6], CELL, "%s", short_version(dev[i].version));
        snprintf(cell[7], CELL, "%u", dev[i].compute_units);
        snprintf(cell[8], CELL, "%u", dev[i].clock_mhz);
        snprintf(cell[9], CELL, "%.2f", (double)dev[i].global_mem_bytes / GIB);
        snprintf(cell[10], CELL, "%.2f", (double)dev[i].max_alloc_bytes / GIB);
        snprintf(cell[11], CELL, "%s", dev[i].fp64 ? "yes" : "no");
    }
    int width[COLS] = {0};
    for (size_t r = 0; r <= n; r++)
        for (int c = 0; c < COLS; c++) {
            int len = (int)strlen(rows[r].cell[c]);
            if (len > width[c])
                width[c] = len;
        }
    unsigned last_platform = ~0u;
    for (size_t r = 0; r <= n; r++) {
        if (r > 0 && dev[r - 1].platform_index != last_platform) {
            last_platform = dev[r - 1].platform_index;
            printf("platform %u: %s\n", last_platform, dev[r - 1].platform);
        }
        for (int c = 0; c < COLS; c++) /* no trailing blanks after the last column */
            printf("%s%*s", c ? "  " : "", right[c] ? width[c] : c + 1 < COLS ? -width[c] : 0,
                   rows[r].cell[c]);
        printf("\n");
    }
    free(rows);
    printf("memory: GiB = 2^30 bytes; CUs: compute units; MHz: maximum clock\n");
    return CLI_OK;
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static void print_json(const sm_device_t *dev, size_t n, long def, const char *why)
{
    printf("{\n  \"devices\": [");
    for (size_t i = 0; i < n; i++) {
        printf("%s\n    {\"index\": %u, \"platform_index\": %u, \"device_index\": %u, ",
               i ? "," : "", dev[i].index, dev[i].platform_index, dev[i].device_index);
        const char *keys[] = {"backend", "platform", "type",   "name",
                              "vendor",  "driver",   "version"};
        const char *vals[] = {dev[i].backend, dev[i].platform,
                              sm_device_class_name(dev[i].device_class),
                              dev[i].name,    dev[i].vendor, dev[i].driver, dev[i].version};
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
            printf("\"%s\": ", keys[k]);
            json_string(vals[k]);
            printf(", ");
        }
        printf("\"compute_units\": %u, \"clock_mhz\": %u, \"global_mem_bytes\": %llu, "
               "\"max_alloc_bytes\": %llu, \"local_mem_bytes\": %llu, "
               "\"max_work_group_size\": %zu, \"fp64\": %s}",
               dev[i].compute_units, dev[i].clock_mhz, dev[i].global_mem_bytes,
               dev[i].max_alloc_bytes, dev[i].local_mem_bytes, dev[i].max_work_group_size,
               dev[i].fp64 ? "true" : "false");
    }
    printf("\n  ],\n");
    if (def >= 0)
        printf("  \"default_fp64\": %ld,\n  \"default_fp64_error\": null\n}\n", def);
    else {
        printf("  \"default_fp64\": null,\n  \"default_fp64_error\": ");
        json_string(why);
        printf("\n}\n");
    }
}

int cli_devices(int argc, char **argv)
{
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return CLI_OK;
        }
        if (strcmp(argv[i], "--json") != 0) {
            fprintf(stderr, "sysmap devices: unknown argument %s (try sysmap devices --help)\n",
                    argv[i]);
            return CLI_USAGE;
        }
        json = 1;
    }
    sm_device_t *dev;
    size_t n;
    if (sm_devices(NULL, &dev, &n) != SM_OK)
        return cli_error("devices");
    const char *why;
    long def = default_fp64(dev[0].backend, &why);
    int rc = CLI_OK;
    if (json) {
        print_json(dev, n, def, why);
    } else if ((rc = print_table(dev, n)) == CLI_OK) {
        const char *env = getenv("SYSMAP_DEVICE");
        if (def >= 0)
            printf("default device for fp64: %ld (%s)%s%s\n", def, dev[def].name,
                   env && env[0] ? ", from SYSMAP_DEVICE=" : "", env && env[0] ? env : "");
        else
            printf("default device for fp64: none (%s)\n", why);
        for (size_t i = 0; i < n; i++)
            for (int fp32 = !dev[i].fp64; fp32 < 2; fp32++)
                cli_print_tuning_of(&dev[i], fp32 ? "fp32" : "fp64");
    }
    sm_devices_free(dev);
    return rc;
}
