#include "tuning_db.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "error.h"
#include "kernels.h"

/* Larger files are not the database (a few lines per device). */
#define DB_MAX_BYTES (1 << 20)

/* Fields joined by '|', which (like tab and newline) cannot occur inside
 * one. */
static void append_field(char *key, size_t size, const char *field)
{
    size_t len = strlen(key);
    if (len > 0 && len + 1 < size)
        key[len++] = '|';
    for (const char *p = field; *p != '\0' && len + 1 < size; p++)
        key[len++] = *p == '|' || *p == '\t' || *p == '\n' || *p == '\r' ? '_' : *p;
    key[len] = '\0';
}

void sm_cl_tuning_key(const sm_device_t *dev, int fp32, char key[SM_CL_TUNING_KEY_MAX])
{
    char kernel[24];
    snprintf(kernel, sizeof kernel, "%016llx",
             (unsigned long long)sm_cache_hash(sm_kernel_loglike, strlen(sm_kernel_loglike)));
    key[0] = '\0';
    append_field(key, SM_CL_TUNING_KEY_MAX, dev->platform);
    append_field(key, SM_CL_TUNING_KEY_MAX, dev->name);
    append_field(key, SM_CL_TUNING_KEY_MAX, dev->driver);
    append_field(key, SM_CL_TUNING_KEY_MAX, fp32 ? "fp32" : "fp64");
    append_field(key, SM_CL_TUNING_KEY_MAX, kernel);
}

static char *db_path(void)
{
    char *dir = sm_cache_dir();
    if (dir == NULL)
        return NULL;
    size_t len = strlen(dir) + sizeof SM_CL_TUNING_DB_FILE + 1;
    char *path = malloc(len);
    if (path != NULL)
        snprintf(path, len, "%s/%s", dir, SM_CL_TUNING_DB_FILE);
    free(dir);
    return path;
}

/* The file's text, or NULL: missing, not a private regular file, too
 * large or unreadable. */
static char *read_db(const char *path)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return NULL;
    struct stat st;
    char *text = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && sm_cache_private_file(&st) &&
        st.st_size < DB_MAX_BYTES && (text = malloc((size_t)st.st_size + 1)) != NULL) {
        ssize_t got = read(fd, text, (size_t)st.st_size);
        if (got != (ssize_t)st.st_size) {
            free(text);
            text = NULL;
        } else {
            text[got] = '\0';
        }
    }
    close(fd);
    return text;
}

static int valid_date(const char *d, size_t len)
{
    static const char pattern[] = "dddd-dd-dd";
    if (len != sizeof pattern - 1)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (pattern[i] == 'd' ? d[i] < '0' || d[i] > '9' : d[i] != pattern[i])
            return 0;
    return 1;
}

static int valid_shape(const char *s, size_t len)
{
    if (len == 0 || len >= SM_CL_TUNING_SHAPE_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '=' ||
              s[i] == ','))
            return 0;
    return 1;
}

/* Checks every line of text; on the line of key (when key is not NULL)
 * fills *out. 1 when the whole text parses, 0 with the 1-based number of
 * the first bad line. */
static int parse_db(const char *text, const char *key, sm_cl_tuned_t *out, int *found,
                    size_t *bad_line)
{
    size_t line = 0;
    *found = 0;
    for (const char *p = text; *p != '\0';) {
        line++;
        const char *end = strchr(p, '\n');
        if (end == NULL) { /* every line ends in a newline, so this one was cut */
            *bad_line = line;
            return 0;
        }
        const char *t1 = memchr(p, '\t', (size_t)(end - p));
        const char *t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(end - t1 - 1)) : NULL;
        if (t2 == NULL || t1 == p || !valid_date(t1 + 1, (size_t)(t2 - t1 - 1)) ||
            !valid_shape(t2 + 1, (size_t)(end - t2 - 1))) {
            *bad_line = line;
            return 0;
        }
        if (key != NULL && strlen(key) == (size_t)(t1 - p) && memcmp(p, key, (size_t)(t1 - p)) == 0) {
            memcpy(out->date, t1 + 1, 10);
            out->date[10] = '\0';
            memcpy(out->shape, t2 + 1, (size_t)(end - t2 - 1));
            out->shape[end - t2 - 1] = '\0';
            *found = 1;
        }
        p = end + 1;
    }
    return 1;
}

int sm_cl_tuning_db_find(const char *key, sm_cl_tuned_t *out, char *warning,
                         size_t warning_size)
{
    warning[0] = '\0';
    char *path = db_path();
    char *text = path ? read_db(path) : NULL;
    int found = 0;
    size_t bad = 0;
    if (text != NULL && !parse_db(text, key, out, &found, &bad))
        snprintf(warning, warning_size, "ignored the corrupt tuning database %s (line %zu)",
                 path, bad);
    free(text);
    free(path);
    return found && warning[0] == '\0';
}

sm_status sm_cl_tuning_db_store(const char *key, const char *shape)
{
    if (!valid_shape(shape, strlen(shape)))
        return sm_fail(SM_EINVAL, "tuning database: bad shape '%s'", shape);
    char *path = db_path();
    if (path == NULL)
        return sm_fail(SM_EIO, "no usable cache directory for the tuning database "
                               "(SYSMAP_CACHE_DIR, XDG_CACHE_HOME or HOME)");
    /* Keep the other entries of an intact file; a corrupt one is replaced. */
    char *old = read_db(path);
    sm_cl_tuned_t unused;
    int found;
    size_t bad;
    if (old != NULL && !parse_db(old, NULL, &unused, &found, &bad)) {
        free(old);
        old = NULL;
    }
    char date[16];
    time_t now = time(NULL);
    struct tm tm;
    strftime(date, sizeof date, "%Y-%m-%d", gmtime_r(&now, &tm));
    size_t cap = (old ? strlen(old) : 0) + strlen(key) + strlen(shape) + 32;
    char *text = malloc(cap);
    if (text == NULL) {
        free(old);
        free(path);
        return SM_FAIL_NOMEM("the tuning database");
    }
    size_t len = 0, key_len = strlen(key);
    for (const char *p = old; p != NULL && *p != '\0';) {
        const char *end = strchr(p, '\n') + 1; /* parse_db saw every newline */
        if (!(strncmp(p, key, key_len) == 0 && p[key_len] == '\t')) {
            memcpy(text + len, p, (size_t)(end - p));
            len += (size_t)(end - p);
        }
        p = end;
    }
    snprintf(text + len, cap - len, "%s\t%s\t%s\n", key, date, shape);
    int ok = sm_cache_write_text(path, text);
    sm_status st = ok ? SM_OK : sm_fail(SM_EIO, "cannot write the tuning database %s", path);
    free(text);
    free(old);
    free(path);
    return st;
}
