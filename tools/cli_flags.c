/* The library names a run's settings (sigma_min, resume); the command line
 * says them as its flags (--sigma-min, --resume) wherever it prints. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *const flags[][2] = {
    {"model", "--model"},         {"skew", "--skew"},
    {"sigma_min", "--sigma-min"}, {"walkers", "--walkers"},
    {"steps", "--steps"},         {"burn", "--burn"},
    {"seed", "--seed"},           {"basis", "--basis"},
    {"backend", "--backend"},     {"device", "--device"},
    {"precision", "--precision"}, {"flush_every", "--flush-every"},
    {"init", "--init"},           {"output", "-o"},
    {"maps_out", "--maps-out"},   {"resume", "--resume"},
    {"resample", "--resample"},   {"reorder", "--reorder"},
    {"allow_mixed_precision", "--allow-mixed-precision"},
};

const char *cli_flag(const char *setting)
{
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
        if (strcmp(flags[i][0], setting) == 0)
            return flags[i][1];
    return NULL;
}

const char *cli_setting(const char *flag)
{
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
        if (strcmp(flags[i][1], flag) == 0)
            return flags[i][0];
    return NULL;
}

/* The setting named at text (a whole word), or NULL. */
static const char *setting_at(const char *text, size_t *len)
{
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++) {
        size_t n = strlen(flags[i][0]);
        char next = text[n];
        if (strncmp(text, flags[i][0], n) == 0 &&
            (next == ' ' || next == ':' || next == ')' || next == '\0')) {
            *len = n;
            return flags[i][1];
        }
    }
    return NULL;
}

void cli_say(FILE *out, const char *msg, int setting_first)
{
    static const char *const before[] = {"setting ", "the file of ", "use "};
    for (const char *p = msg; *p != '\0';) {
        size_t len = 0;
        const char *flag = p == msg ? setting_at(p, &len) : NULL;
        if (flag != NULL && !setting_first && p[len] != ':')
            flag = NULL;
        for (size_t k = 0; flag == NULL && k < sizeof before / sizeof *before; k++) {
            size_t n = strlen(before[k]);
            if (strncmp(p, before[k], n) == 0 && (flag = setting_at(p + n, &len)) != NULL) {
                fputs(k == 0 ? "" : before[k], out);
                len += n;
            }
        }
        if (flag == NULL && strncmp(p, "resuming continues", 18) == 0) {
            flag = "--resume";
            len = 8;
        }
        if (flag != NULL) {
            fputs(flag, out);
            p += len;
        } else {
            fputc(*p++, out);
        }
    }
}
