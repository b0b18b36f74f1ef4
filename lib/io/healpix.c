/* HEALPix map files: FITS binary tables read and written with cfitsio,
 * pixel numbering with chealpix. */
#include "sysmap/healpix.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chealpix.h>
#include <fitsio.h>
#include <fitsio2.h> /* ffgbyt: reading a header's raw bytes before cfitsio parses it */

#include "error.h"
#include "fileutil.h"
#include "hpx_file.h"
#include "sysmap/sizes.h"

const char *sm_hpx_order_name(sm_hpx_order_t order)
{
    return order == SM_HPX_NESTED ? "NESTED" : "RING";
}

int sm_hpx_is_unseen(double x)
{
    return fabs(x - SM_HPX_UNSEEN) <= 1e-5 * fabs(SM_HPX_UNSEEN);
}

void sm_hpx_free(sm_hpx_map_t *map)
{
    if (map == NULL)
        return;
    for (size_t c = 0; map->col_names != NULL && c < map->n_cols; c++)
        free(map->col_names[c]);
    free(map->col_names);
    free(map->values);
    free(map->path);
    free(map);
}

/* cfitsio's text for a status, as "<text> (cfitsio status N)". */
static sm_status fits_fail(sm_status st, int status, const char *what)
{
    char text[FLEN_STATUS];
    fits_get_errstatus(status, text);
    fits_clear_errmsg();
    return sm_fail(st, "%s: %s (cfitsio status %d)", what, text, status);
}

static int is_pow2(int64_t n)
{
    return n > 0 && (n & (n - 1)) == 0;
}

/* The header of the map's binary table, as read. */
typedef struct {
    fitsfile *f;
    int64_t nside, npix;
    sm_hpx_order_t order;
    int explicit_index;     /* INDXSCHM = EXPLICIT */
    LONGLONG n_rows;
    int n_cols;             /* table columns */
    int index_col;          /* 1-based PIXEL/INDEX column of a partial map, 0 if none */
} table_t;

/* Header blocks read while checking one HDU (a 2.9 MB header is no map). */
#define SM_FITS_MAX_HEADER_BLOCKS 1000

/* One header card cfitsio can parse without overrunning its buffers:
 * printable ASCII, as FITS requires, and a value that is a quoted string
 * or no longer than one can be (an unquoted 70-character TTYPEn overflows
 * cfitsio 4.2's 70-byte column name; a fortified build aborts). */
static sm_status check_card(const char *c, int hdu, int n)
{
    for (int i = 0; i < 80; i++)
        if (c[i] < 0x20 || c[i] > 0x7e)
            return sm_fail(SM_EFORMAT, "HDU %d, header card %d: byte 0x%02x is not printable "
                                       "ASCII (not a FITS header)",
                           hdu, n, (unsigned)(unsigned char)c[i]);
    if (memcmp(c + 8, "= ", 2) != 0)
        return SM_OK;
    const char *v = c + 10, *end = c + 80;
    while (v < end && *v == ' ')
        v++;
    if (v < end && *v == '\'')
        return SM_OK;
    const char *slash = memchr(v, '/', (size_t)(end - v)), *stop = slash ? slash : end;
    while (stop > v && stop[-1] == ' ')
        stop--;
    if (stop - v > 68)
        return sm_fail(SM_EFORMAT, "HDU %d, header card %d (%.8s): an unquoted value of %d "
                                   "characters",
                       hdu, n, c, (int)(stop - v));
    return SM_OK;
}

/* Checks the raw header of the HDU after the current one, before cfitsio
 * parses it (the primary one it parsed on opening). *more = 0 when the
 * file ends instead. */
static sm_status check_next_header(fitsfile *f, int hdu, int *more)
{
    LONGLONG head = 0, start = 0, end = 0;
    int status = 0;
    *more = 0;
    if (fits_get_hduaddrll(f, &head, &start, &end, &status) != 0 ||
        end >= f->Fptr->filesize) {
        fits_clear_errmsg();
        return SM_OK; /* cfitsio reports the end itself */
    }
    *more = 1;
    char block[2880];
    for (int b = 0; b < SM_FITS_MAX_HEADER_BLOCKS; b++) {
        /* cfitsio reads whole blocks only, and a failed read leaves its
         * buffer in a state it then parses: a block the file does not
         * hold whole is left alone (cfitsio cannot read it either). */
        LONGLONG at = end + 2880 * (LONGLONG)b;
        if (at + 2880 > f->Fptr->filesize)
            return SM_OK;
        if (ffmbyt(f, at, REPORT_EOF, &status) != 0 ||
            ffgbyt(f, sizeof block, block, &status) != 0) {
            fits_clear_errmsg();
            return fits_fail(SM_EFORMAT, status, "reading a header");
        }
        for (int k = 0; k < 36; k++) {
            const char *card = block + 80 * k;
            sm_status st = check_card(card, hdu, 36 * b + k + 1);
            if (st != SM_OK)
                return st;
            if (memcmp(card, "END     ", 8) == 0)
                return SM_OK;
        }
    }
    return sm_fail(SM_EFORMAT, "HDU %d: no END card in its first %d header blocks", hdu,
                   SM_FITS_MAX_HEADER_BLOCKS);
}

/* Moves to the first binary table: HEALPix maps are never images. HDUs are
 * visited one by one, each header checked first (counting them all, as
 * fits_get_num_hdus does, would parse headers past the table too). */
static sm_status find_table(fitsfile *f)
{
    int status = 0, type = 0, h = 1, more = 1;
    for (;; h++) {
        sm_status st = h > 1 ? check_next_header(f, h, &more) : SM_OK;
        if (st != SM_OK)
            return st;
        if (!more || fits_movabs_hdu(f, h, &type, &status) != 0)
            break;
        if (type == BINARY_TBL)
            return SM_OK;
    }
    if (status != 0 && status != END_OF_FILE)
        return fits_fail(SM_EFORMAT, status, "reading the FITS structure");
    fits_clear_errmsg();
    int n_hdus = h - 1;
    return sm_fail(SM_EFORMAT, "not a HEALPix map: no binary table in its %d HDU%s (a HEALPix map "
                               "is a FITS binary table)",
                   n_hdus, n_hdus == 1 ? "" : "s");
}

/* A string keyword, or "" (and 0 returned) when it is absent. */
static int read_str_key(fitsfile *f, const char *key, char value[FLEN_VALUE])
{
    int status = 0;
    value[0] = '\0';
    if (fits_read_key(f, TSTRING, key, value, NULL, &status) != 0) {
        fits_clear_errmsg();
        value[0] = '\0';
        return 0;
    }
    return 1;
}

/* NSIDE as written: cfitsio, asked for an integer, turns 8.5 into 8. */
static sm_status read_nside(fitsfile *f, LONGLONG *nside)
{
    double x = 0;
    int status = 0;
    if (fits_read_key(f, TDOUBLE, "NSIDE", &x, NULL, &status) != 0) {
        fits_clear_errmsg();
        return sm_fail(SM_EFORMAT, "no NSIDE keyword (or not a number)");
    }
    if (!(x >= 1 && x <= (double)SM_HPX_NSIDE_MAX))
        return sm_fail(SM_EFORMAT, "NSIDE %.17g is out of range 1..2^29", x);
    if (x != floor(x))
        return sm_fail(SM_EFORMAT, "NSIDE %.17g is not an integer", x);
    *nside = (LONGLONG)x;
    return SM_OK;
}

static sm_status read_header(table_t *t)
{
    char v[FLEN_VALUE];
    if (!read_str_key(t->f, "PIXTYPE", v))
        return sm_fail(SM_EFORMAT, "not a HEALPix map: its binary table has no PIXTYPE keyword");
    if (strcasecmp(v, "HEALPIX") != 0)
        return sm_fail(SM_EFORMAT, "not a HEALPix map: PIXTYPE is '%s', not 'HEALPIX'", v);
    if (!read_str_key(t->f, "ORDERING", v))
        return sm_fail(SM_EFORMAT, "no ORDERING keyword (RING or NESTED)");
    if (strcasecmp(v, "RING") == 0)
        t->order = SM_HPX_RING;
    else if (strcasecmp(v, "NESTED") == 0 || strcasecmp(v, "NEST") == 0)
        t->order = SM_HPX_NESTED;
    else
        return sm_fail(SM_EFORMAT, "ORDERING is '%s', not RING or NESTED", v);
    LONGLONG nside = 0;
    sm_status st = read_nside(t->f, &nside);
    if (st != SM_OK)
        return st;
    if (t->order == SM_HPX_NESTED && !is_pow2(nside))
        return sm_fail(SM_EFORMAT, "NSIDE %lld of a NESTED map is not a power of two", nside);
    t->nside = nside;
    t->npix = sm_hpx_npix(nside);
    t->explicit_index = read_str_key(t->f, "INDXSCHM", v) && strcasecmp(v, "EXPLICIT") == 0;
    int status = 0;
    if (fits_get_num_rowsll(t->f, &t->n_rows, &status) != 0 ||
        fits_get_num_cols(t->f, &t->n_cols, &status) != 0)
        return fits_fail(SM_EFORMAT, status, "reading the table size");
    return SM_OK;
}

static void column_name(fitsfile *f, int col, char name[FLEN_VALUE])
{
    char key[FLEN_KEYWORD];
    int status = 0;
    fits_make_keyn("TTYPE", col, key, &status);
    if (!read_str_key(f, key, name))
        snprintf(name, FLEN_VALUE, "column %d", col);
}

static int is_index_name(const char *name)
{
    return strcasecmp(name, "PIXEL") == 0 || strcasecmp(name, "INDEX") == 0;
}

static int is_integer_type(int type)
{
    return type == TBYTE || type == TSBYTE || type == TSHORT || type == TUSHORT || type == TINT ||
           type == TUINT || type == TLONG || type == TULONG || type == TLONGLONG ||
           type == TULONGLONG;
}

/* Checks a column's type and that it holds the number of values the map
 * needs; *type is its cfitsio type code. */
static sm_status check_column(const table_t *t, int col, const char *name, int *type)
{
    int status = 0;
    LONGLONG repeat = 0, width = 0;
    if (fits_get_coltypell(t->f, col, type, &repeat, &width, &status) != 0)
        return fits_fail(SM_EFORMAT, status, name);
    if (*type < 0 || (!is_integer_type(*type) && *type != TFLOAT && *type != TDOUBLE))
        return sm_fail(SM_EFORMAT, "column '%s' is not a real or integer column", name);
    if (t->explicit_index) {
        if (repeat != 1)
            return sm_fail(SM_EFORMAT,
                           "column '%s' holds %lld values per row; a partial-sky map has one",
                           name, repeat);
        return SM_OK;
    }
    /* Both come from the header: their product may exceed any count. */
    size_t values = 0;
    if (t->n_rows < 0 || repeat < 0 ||
        sm_size_mul((size_t)t->n_rows, (size_t)repeat, name, &values) != SM_OK ||
        values > (size_t)INT64_MAX)
        return sm_fail(SM_EFORMAT, "column '%s': %lld rows of %lld values overflow a count",
                       name, (long long)t->n_rows, (long long)repeat);
    if ((int64_t)values != t->npix)
        return sm_fail(SM_EFORMAT,
                       "column '%s' holds %lld values, but NSIDE %lld needs 12 x %lld^2 = %lld",
                       name, (long long)values, (long long)t->nside, (long long)t->nside,
                       (long long)t->npix);
    return SM_OK;
}

/* The pixel numbers of a partial-sky map: distinct and in range. */
static sm_status read_index(const table_t *t, int64_t *pix)
{
    int status = 0, anynul = 0, type;
    char name[FLEN_VALUE];
    column_name(t->f, t->index_col, name);
    sm_status st = check_column(t, t->index_col, name, &type);
    if (st != SM_OK)
        return st;
    if (!is_integer_type(type))
        return sm_fail(SM_EFORMAT, "pixel column '%s' is not an integer column", name);
    LONGLONG nul = -1;
    if (fits_read_col(t->f, TLONGLONG, t->index_col, 1, 1, t->n_rows, &nul, pix, &anynul,
                      &status) != 0)
        return fits_fail(SM_EFORMAT, status, name);
    uint8_t *seen = calloc((size_t)t->npix, 1);
    if (seen == NULL)
        return SM_FAIL_NOMEM("pixel list");
    for (LONGLONG r = 0; r < t->n_rows && st == SM_OK; r++) {
        if (pix[r] < 0 || pix[r] >= t->npix)
            st = sm_fail(SM_EFORMAT, "pixel column '%s', row %lld: pixel %lld is outside "
                                     "0..%lld for NSIDE %lld",
                         name, r + 1, (long long)pix[r], (long long)(t->npix - 1),
                         (long long)t->nside);
        else if (seen[pix[r]]++)
            st = sm_fail(SM_EFORMAT, "pixel column '%s', row %lld: pixel %lld is listed twice",
                         name, r + 1, (long long)pix[r]);
    }
    free(seen);
    return st;
}

/* Reads column col into the full-sky map out (npix,). */
static sm_status read_values(const table_t *t, int col, const char *name, const int64_t *pix,
                             double *buf, double *out)
{
    int status = 0, anynul = 0, type;
    sm_status st = check_column(t, col, name, &type);
    if (st != SM_OK)
        return st;
    /* Integer columns mark missing values with TNULL; for real columns
     * nulval 0 turns null checking off, so NaN stays NaN (an error in a
     * used pixel, unlike UNSEEN). */
    double nulval = is_integer_type(type) ? SM_HPX_UNSEEN : 0.0;
    LONGLONG n = pix != NULL ? t->n_rows : t->npix;
    if (fits_read_col(t->f, TDOUBLE, col, 1, 1, n, &nulval, pix != NULL ? buf : out, &anynul,
                      &status) != 0)
        return fits_fail(SM_EFORMAT, status, name);
    if (pix != NULL) {
        for (int64_t p = 0; p < t->npix; p++)
            out[p] = SM_HPX_UNSEEN;
        for (LONGLONG r = 0; r < n; r++)
            out[pix[r]] = buf[r];
    }
    for (int64_t p = 0; p < t->npix; p++)
        if (sm_hpx_is_unseen(out[p]))
            out[p] = SM_HPX_UNSEEN;
    return SM_OK;
}

/* The value columns to read: all but a partial map's pixel column, or the
 * one named. cols gets their 1-based numbers. */
static sm_status pick_columns(table_t *t, const char *column, int *cols, size_t *n)
{
    char name[FLEN_VALUE], list[512] = "";
    *n = 0;
    for (int c = 1; c <= t->n_cols; c++) {
        column_name(t->f, c, name);
        if (t->explicit_index && t->index_col == 0 && is_index_name(name)) {
            t->index_col = c;
            continue;
        }
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s'%s'", used ? ", " : "", name);
        if (column == NULL || strcasecmp(column, name) == 0)
            cols[(*n)++] = c;
    }
    if (t->explicit_index && t->index_col == 0)
        return sm_fail(SM_EFORMAT, "partial-sky map (INDXSCHM = EXPLICIT) without a PIXEL or "
                                   "INDEX column");
    if (*n == 0 && column != NULL)
        return sm_fail(SM_EFORMAT, "no column '%s' (value columns: %s)", column,
                       list[0] ? list : "none");
    if (*n == 0)
        return sm_fail(SM_EFORMAT, "no value column");
    if (column != NULL && *n > 1)
        *n = 1; /* the first of equally named columns */
    return SM_OK;
}

/* The memory the map takes, checked before any of it is asked for: NSIDE
 * 2^29 means 3.5e18 pixels, whose bytes wrap a size_t. A partial map lists
 * each pixel at most once, so its rows take no more than the map. */
static sm_status check_sizes(const table_t *t, size_t n_cols)
{
    size_t cells, bytes;
    sm_status st = sm_size_mul(n_cols, (size_t)t->npix, "map values", &cells);
    if (st == SM_OK)
        st = sm_size_bytes(cells, sizeof(double), "map values", &bytes);
    if (st == SM_OK && t->explicit_index && t->n_rows > t->npix)
        st = sm_fail(SM_EFORMAT, "a partial-sky map of %lld rows lists more than the %lld "
                                 "pixels there are",
                     (long long)t->n_rows, (long long)t->npix);
    if (st != SM_OK)
        return sm_fail_context(st, "NSIDE %lld (12 x NSIDE^2 = %lld pixels, %zu column%s)",
                               (long long)t->nside, (long long)t->npix, n_cols,
                               n_cols == 1 ? "" : "s");
    return SM_OK;
}

/* A header may promise far more rows than the file holds (a few kB
 * claiming NSIDE 8192): refused before the map's memory is asked for.
 * The last block's padding may be missing; cfitsio reports that itself. */
static sm_status check_data_present(const table_t *t)
{
    LONGLONG head = 0, start = 0, end = 0;
    int status = 0;
    if (fits_get_hduaddrll(t->f, &head, &start, &end, &status) != 0)
        return fits_fail(SM_EFORMAT, status, "reading the table's position");
    LONGLONG size = t->f->Fptr->filesize; /* of the decompressed image for .gz files */
    if (end > size + 2880)
        return sm_fail(SM_EFORMAT, "the table's header (NSIDE %lld) promises %lld bytes of data, "
                                   "but the file holds %lld: truncated or a bad header",
                       (long long)t->nside, (long long)(end - start),
                       (long long)(size > start ? size - start : 0));
    return SM_OK;
}

/* Everything checked before values are read: the table, its value
 * columns (*cols, *n) and a partial map's pixel list (*pix, n_rows rows). */
static sm_status open_table(table_t *t, const char *column, int **cols, size_t *n, int64_t **pix)
{
    sm_status st = find_table(t->f);
    if (st == SM_OK)
        st = read_header(t);
    if (st != SM_OK)
        return st;
    *cols = malloc((size_t)(t->n_cols > 0 ? t->n_cols : 1) * sizeof **cols);
    if (*cols == NULL)
        return SM_FAIL_NOMEM("column list");
    st = pick_columns(t, column, *cols, n);
    if (st == SM_OK)
        st = check_sizes(t, *n);
    if (st == SM_OK)
        st = check_data_present(t);
    if (st == SM_OK && t->explicit_index) {
        *pix = malloc((t->n_rows > 0 ? (size_t)t->n_rows : 1) * sizeof **pix);
        st = *pix != NULL ? read_index(t, *pix) : SM_FAIL_NOMEM("partial-sky map");
    }
    return st;
}

static sm_status read_map(table_t *t, const char *column, sm_hpx_map_t *map)
{
    int *cols = NULL;
    int64_t *pix = NULL;
    double *buf = NULL;
    size_t n = 0;
    sm_status st = open_table(t, column, &cols, &n, &pix);
    if (st == SM_OK && pix != NULL &&
        (buf = malloc((t->n_rows > 0 ? (size_t)t->n_rows : 1) * sizeof *buf)) == NULL)
        st = SM_FAIL_NOMEM("partial-sky map");
    if (st == SM_OK) {
        map->nside = t->nside;
        map->order = t->order;
        map->partial = t->explicit_index;
        map->col_names = calloc(n, sizeof *map->col_names);
        map->values = malloc(n * (size_t)t->npix * sizeof *map->values);
        if (map->col_names == NULL || map->values == NULL)
            st = SM_FAIL_NOMEM("map values");
        else
            map->n_cols = n;
    }
    for (size_t c = 0; c < n && st == SM_OK; c++) {
        char name[FLEN_VALUE];
        column_name(t->f, cols[c], name);
        map->col_names[c] = strdup(name);
        if (map->col_names[c] == NULL)
            st = SM_FAIL_NOMEM("column name");
        else
            st = read_values(t, cols[c], name, pix, buf, map->values + c * (size_t)t->npix);
    }
    free(cols);
    free(pix);
    free(buf);
    return st;
}

/* cfitsio opens a gzip or zip file (by its magic bytes, whatever its name)
 * by allocating the uncompressed size its trailer or header claims, then
 * inflating into it. A claim deflate cannot produce from the compressed
 * bytes (it expands data at most about 1032 times) marks a damaged file; an
 * honest claim must still fit in memory. */
static sm_status check_compressed(int fd, const char *path)
{
    unsigned char head[30] = {0}, tail[4];
    struct stat st;
    ssize_t n = fstat(fd, &st) == 0 ? pread(fd, head, sizeof head, 0) : -1;
    uint64_t claimed;
    const char *kind;
    if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b) {
        if (st.st_size < 4 || pread(fd, tail, 4, st.st_size - 4) != 4)
            return SM_OK; /* cfitsio reports a gzip file this short itself */
        claimed = (uint64_t)tail[0] | (uint64_t)tail[1] << 8 | (uint64_t)tail[2] << 16 |
                  (uint64_t)tail[3] << 24;
        kind = "gzip trailer";
    } else if (n >= 26 && head[0] == 'P' && head[1] == 'K') { /* cfitsio looks no further */
        claimed = (uint64_t)head[22] | (uint64_t)head[23] << 8 | (uint64_t)head[24] << 16 |
                  (uint64_t)head[25] << 24;
        kind = "zip header";
    } else {
        return SM_OK;
    }
    if (claimed > (uint64_t)st.st_size * 1100 + 65536)
        return sm_fail(SM_EFORMAT, "%s: its %s claims %llu bytes uncompressed, more than %lld "
                                   "compressed bytes can hold: a damaged file",
                       path, kind, (unsigned long long)claimed, (long long)st.st_size);
    size_t bytes;
    sm_status rc = sm_size_bytes((size_t)claimed, 1, "the uncompressed file", &bytes);
    return rc == SM_OK ? SM_OK : sm_fail_context(rc, "%s", path);
}

/* The file opened for cfitsio, after the checks it cannot make itself. */
static sm_status open_fits(const char *path, fitsfile **f)
{
    int fd;
    sm_status st = sm_file_open_regular(path, "HEALPix map", &fd);
    if (st == SM_OK) {
        st = check_compressed(fd, path);
        close(fd);
    }
    if (st != SM_OK)
        return st;
    int status = 0;
    if (fits_open_diskfile(f, path, READONLY, &status) != 0) {
        fits_fail(SM_EIO, status, "cannot read it as FITS");
        return sm_fail_context(SM_EIO, "%s", path);
    }
    return SM_OK;
}

static void close_fits(fitsfile *f)
{
    int status = 0;
    if (f != NULL)
        fits_close_file(f, &status);
    fits_clear_errmsg();
}

sm_status sm_hpx_read(sm_hpx_map_t **out, const char *path, const char *column)
{
    if (path == NULL || out == NULL)
        return sm_fail(SM_EINVAL, "sm_hpx_read: %s is NULL", path == NULL ? "path" : "out");
    *out = NULL;
    table_t t = {0};
    sm_status st = open_fits(path, &t.f);
    if (st != SM_OK)
        return st;
    sm_hpx_map_t *map = calloc(1, sizeof *map);
    st = map != NULL ? SM_OK : SM_FAIL_NOMEM("map");
    if (st == SM_OK && (map->path = strdup(path)) == NULL)
        st = SM_FAIL_NOMEM("map path");
    if (st == SM_OK)
        st = read_map(&t, column, map);
    close_fits(t.f);
    if (st != SM_OK) {
        sm_hpx_free(map);
        return sm_fail_context(st, "%s", path);
    }
    *out = map;
    return SM_OK;
}

/* ---- Column by column, at chosen pixels (hpx_file.h) ---- */

struct sm_hpx_file {
    table_t t;
    char *path;
    size_t n_cols;
    int *cols;          /* (n_cols,) 1-based table columns */
    int *types;         /* (n_cols,) their cfitsio types */
    LONGLONG *repeat;   /* (n_cols,) values per row */
    char **names;       /* (n_cols,) */
    int64_t *pix;       /* (n_rows,) a partial map's pixels, else NULL */
};

/* Values read per cfitsio call: 512 kB of buffer whatever the map's size. */
#define SM_HPX_CHUNK 65536

void sm_hpx_close(sm_hpx_file_t *f)
{
    if (f == NULL)
        return;
    close_fits(f->t.f);
    for (size_t c = 0; f->names != NULL && c < f->n_cols; c++)
        free(f->names[c]);
    free(f->names);
    free(f->cols);
    free(f->types);
    free(f->repeat);
    free(f->pix);
    free(f->path);
    free(f);
}

static sm_status open_columns(sm_hpx_file_t *f, const char *column)
{
    sm_status st = open_table(&f->t, column, &f->cols, &f->n_cols, &f->pix);
    if (st != SM_OK)
        return st;
    f->names = calloc(f->n_cols, sizeof *f->names);
    f->types = calloc(f->n_cols, sizeof *f->types);
    f->repeat = calloc(f->n_cols, sizeof *f->repeat);
    if (f->names == NULL || f->types == NULL || f->repeat == NULL)
        return SM_FAIL_NOMEM("column names");
    for (size_t c = 0; c < f->n_cols && st == SM_OK; c++) {
        char name[FLEN_VALUE];
        int status = 0;
        column_name(f->t.f, f->cols[c], name);
        st = check_column(&f->t, f->cols[c], name, &f->types[c]);
        if (st == SM_OK)
            fits_get_coltypell(f->t.f, f->cols[c], NULL, &f->repeat[c], NULL, &status);
        if (st == SM_OK && (f->names[c] = strdup(name)) == NULL)
            st = SM_FAIL_NOMEM("column name");
    }
    return st;
}

sm_status sm_hpx_open(sm_hpx_file_t **out, const char *path, const char *column)
{
    *out = NULL;
    sm_hpx_file_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return SM_FAIL_NOMEM("map");
    sm_status st = open_fits(path, &f->t.f);
    if (st != SM_OK) {
        free(f);
        return st;
    }
    if ((f->path = strdup(path)) == NULL)
        st = SM_FAIL_NOMEM("map path");
    if (st == SM_OK)
        st = open_columns(f, column);
    if (st != SM_OK) {
        sm_hpx_close(f);
        return sm_fail_context(st, "%s", path);
    }
    *out = f;
    return SM_OK;
}

const char *sm_hpx_file_path(const sm_hpx_file_t *f)
{
    return f->path;
}

int64_t sm_hpx_file_nside(const sm_hpx_file_t *f)
{
    return f->t.nside;
}

sm_hpx_order_t sm_hpx_file_order(const sm_hpx_file_t *f)
{
    return f->t.order;
}

size_t sm_hpx_file_n_cols(const sm_hpx_file_t *f)
{
    return f->n_cols;
}

const char *sm_hpx_file_col_name(const sm_hpx_file_t *f, size_t c)
{
    return f->names[c];
}

/* Values (one per pixel the file lists) in the table's order. */
static size_t n_values(const sm_hpx_file_t *f)
{
    return f->pix != NULL ? (size_t)f->t.n_rows : (size_t)f->t.npix;
}

static int64_t value_pixel(const sm_hpx_file_t *f, size_t e)
{
    return f->pix != NULL ? f->pix[e] : (int64_t)e;
}

/* Values e0 .. e0 + m - 1 of column c, UNSEEN for no value (as
 * read_values). A full-sky column may hold many values per row; cfitsio
 * reads on across rows from the row and element where e0 lies. */
static sm_status read_chunk(sm_hpx_file_t *f, size_t c, size_t e0, size_t m, double *buf)
{
    int status = 0, anynul = 0;
    double nulval = is_integer_type(f->types[c]) ? SM_HPX_UNSEEN : 0.0;
    LONGLONG repeat = f->repeat[c], row = (LONGLONG)e0 / repeat + 1,
             elem = (LONGLONG)e0 % repeat + 1;
    if (fits_read_col(f->t.f, TDOUBLE, f->cols[c], row, elem, (LONGLONG)m, &nulval, buf,
                      &anynul, &status) != 0)
        return sm_fail_context(fits_fail(SM_EFORMAT, status, f->names[c]), "%s", f->path);
    for (size_t i = 0; i < m; i++)
        if (sm_hpx_is_unseen(buf[i]))
            buf[i] = SM_HPX_UNSEEN;
    return SM_OK;
}

/* Where pixel q is in the increasing list at (n when absent). *cur is
 * where the last search ended: a map's increasing pixels scan forward,
 * anything else is found by bisection. */
static size_t locate(const int64_t *at, size_t n, int64_t q, size_t *cur)
{
    size_t lo = *cur, hi = n;
    if (lo > 0 && at[lo - 1] >= q) {
        hi = lo;
        lo = 0;
    }
    for (int step = 0; step < 8 && lo < hi && at[lo] < q; step++)
        lo++;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (at[mid] < q)
            lo = mid + 1;
        else
            hi = mid;
    }
    *cur = lo;
    return lo < n && at[lo] == q ? lo : n;
}

sm_status sm_hpx_read_at(sm_hpx_file_t *f, size_t c, size_t n, const int64_t *at, double *out)
{
    double *buf = malloc(SM_HPX_CHUNK * sizeof *buf);
    if (buf == NULL)
        return SM_FAIL_NOMEM("map values");
    for (size_t k = 0; k < n; k++)
        out[k] = SM_HPX_UNSEEN;
    size_t total = n_values(f), cur = 0;
    sm_status st = SM_OK;
    for (size_t e0 = 0; e0 < total && st == SM_OK; e0 += SM_HPX_CHUNK) {
        size_t m = total - e0 < SM_HPX_CHUNK ? total - e0 : SM_HPX_CHUNK;
        st = read_chunk(f, c, e0, m, buf);
        for (size_t i = 0; i < m && st == SM_OK; i++) {
            size_t k = locate(at, n, value_pixel(f, e0 + i), &cur);
            if (k < n)
                out[k] = buf[i];
        }
    }
    free(buf);
    return st;
}

typedef struct {
    int64_t pix;
    double val;
} pixel_value_t;

static int by_pixel(const void *a, const void *b)
{
    int64_t x = ((const pixel_value_t *)a)->pix, y = ((const pixel_value_t *)b)->pix;
    return (x > y) - (x < y);
}

/* A partial map may list its pixels in any order. */
static sm_status sort_by_pixel(int64_t *pix, double *val, size_t n)
{
    int sorted = 1;
    for (size_t k = 1; k < n && sorted; k++)
        sorted = pix[k - 1] < pix[k];
    if (sorted)
        return SM_OK;
    pixel_value_t *pv = malloc(n * sizeof *pv);
    if (pv == NULL)
        return SM_FAIL_NOMEM("pixel list");
    for (size_t k = 0; k < n; k++)
        pv[k] = (pixel_value_t){pix[k], val[k]};
    qsort(pv, n, sizeof *pv, by_pixel);
    for (size_t k = 0; k < n; k++) {
        pix[k] = pv[k].pix;
        val[k] = pv[k].val;
    }
    free(pv);
    return SM_OK;
}

/* Two passes over the column: counting, then keeping, so that only the
 * pixels with a value are ever held. */
sm_status sm_hpx_read_seen(sm_hpx_file_t *f, size_t c, int64_t **pix, double **val, size_t *n)
{
    *pix = NULL;
    *val = NULL;
    *n = 0;
    double *buf = malloc(SM_HPX_CHUNK * sizeof *buf);
    if (buf == NULL)
        return SM_FAIL_NOMEM("map values");
    size_t total = n_values(f), seen = 0;
    sm_status st = SM_OK;
    for (int pass = 0; pass < 2 && st == SM_OK; pass++) {
        if (pass == 1 && seen > 0) {
            *pix = malloc(seen * sizeof **pix);
            *val = malloc(seen * sizeof **val);
            if (*pix == NULL || *val == NULL) {
                st = SM_FAIL_NOMEM("map values");
                break;
            }
        }
        size_t k = 0;
        for (size_t e0 = 0; e0 < total && st == SM_OK && (pass == 0 || seen > 0);
             e0 += SM_HPX_CHUNK) {
            size_t m = total - e0 < SM_HPX_CHUNK ? total - e0 : SM_HPX_CHUNK;
            st = read_chunk(f, c, e0, m, buf);
            for (size_t i = 0; i < m && st == SM_OK; i++) {
                if (sm_hpx_is_unseen(buf[i]))
                    continue;
                if (pass == 1) {
                    (*pix)[k] = value_pixel(f, e0 + i);
                    (*val)[k] = buf[i];
                }
                k++;
            }
        }
        seen = k;
    }
    free(buf);
    if (st == SM_OK)
        st = sort_by_pixel(*pix, *val, seen);
    if (st != SM_OK) {
        free(*pix);
        free(*val);
        *pix = NULL;
        *val = NULL;
        return st;
    }
    *n = seen;
    return SM_OK;
}

/* perm[p] = the pixel number, in the other ordering, of pixel p of from. */
static sm_status reorder_map(sm_hpx_map_t *map, sm_hpx_order_t to)
{
    size_t npix = (size_t)sm_hpx_npix(map->nside);
    int64_t *perm = malloc(npix * sizeof *perm);
    double *tmp = malloc(npix * sizeof *tmp);
    if (perm == NULL || tmp == NULL) {
        free(perm);
        free(tmp);
        return SM_FAIL_NOMEM("reordering");
    }
    for (size_t p = 0; p < npix; p++) {
        if (to == SM_HPX_NESTED)
            ring2nest64(map->nside, (int64_t)p, &perm[p]);
        else
            nest2ring64(map->nside, (int64_t)p, &perm[p]);
    }
    for (size_t c = 0; c < map->n_cols; c++) {
        double *v = map->values + c * npix;
        for (size_t p = 0; p < npix; p++)
            tmp[perm[p]] = v[p];
        memcpy(v, tmp, npix * sizeof *v);
    }
    map->order = to;
    free(perm);
    free(tmp);
    return SM_OK;
}

sm_status sm_hpx_reorder(sm_hpx_map_t *map, sm_hpx_order_t order)
{
    if (map->order == order)
        return SM_OK;
    if (!is_pow2(map->nside))
        return sm_fail(SM_EINVAL, "%s: NSIDE %lld is not a power of two, so it has no %s ordering",
                       map->path, (long long)map->nside, sm_hpx_order_name(order));
    return reorder_map(map, order);
}

/* In NESTED ordering the sub-pixels of a pixel are contiguous. */
static void resample_nested(const double *in, int64_t nside_in, double *out, int64_t nside_out)
{
    int64_t npix_out = sm_hpx_npix(nside_out);
    if (nside_out < nside_in) {
        int64_t f = (nside_in / nside_out) * (nside_in / nside_out);
        for (int64_t p = 0; p < npix_out; p++) {
            double sum = 0.0;
            int64_t seen = 0;
            for (int64_t k = p * f; k < (p + 1) * f; k++) {
                if (!sm_hpx_is_unseen(in[k])) {
                    sum += in[k];
                    seen++;
                }
            }
            out[p] = seen > 0 ? sum / (double)seen : SM_HPX_UNSEEN;
        }
    } else {
        int64_t f = (nside_out / nside_in) * (nside_out / nside_in);
        for (int64_t p = 0; p < npix_out; p++)
            out[p] = in[p / f];
    }
}

sm_status sm_hpx_resample(sm_hpx_map_t *map, int64_t nside)
{
    if (nside == map->nside)
        return SM_OK;
    if (!is_pow2(nside) || nside > SM_HPX_NSIDE_MAX || !is_pow2(map->nside))
        return sm_fail(SM_EINVAL, "%s: cannot resample NSIDE %lld to %lld: both must be powers "
                                  "of two",
                       map->path, (long long)map->nside, (long long)nside);
    sm_hpx_order_t order = map->order;
    sm_status st = sm_hpx_reorder(map, SM_HPX_NESTED);
    if (st != SM_OK)
        return st;
    size_t npix_in = (size_t)sm_hpx_npix(map->nside), npix_out = (size_t)sm_hpx_npix(nside);
    size_t cells, bytes;
    st = sm_size_mul(map->n_cols, npix_out, "resampled map", &cells);
    if (st == SM_OK)
        st = sm_size_bytes(cells, sizeof(double), "resampled map", &bytes);
    if (st != SM_OK)
        return sm_fail_context(st, "%s: NSIDE %lld", map->path, (long long)nside);
    double *values = malloc(bytes);
    if (values == NULL)
        return SM_FAIL_NOMEM("resampled map");
    for (size_t c = 0; c < map->n_cols; c++)
        resample_nested(map->values + c * npix_in, map->nside, values + c * npix_out, nside);
    free(map->values);
    map->values = values;
    map->nside = nside;
    return sm_hpx_reorder(map, order);
}

void sm_hpx_pix2ang(int64_t nside, sm_hpx_order_t order, size_t n, const int64_t *pixels,
                    double *theta, double *phi)
{
    for (size_t j = 0; j < n; j++) {
        if (order == SM_HPX_NESTED)
            pix2ang_nest64(nside, pixels[j], &theta[j], &phi[j]);
        else
            pix2ang_ring64(nside, pixels[j], &theta[j], &phi[j]);
    }
}

static int write_key_str(fitsfile *f, const char *key, const char *value, const char *comment,
                         int *status)
{
    return fits_write_key(f, TSTRING, key, (void *)value, comment, status);
}

static int write_header(fitsfile *f, int64_t nside, sm_hpx_order_t order, const sm_hpx_key_t *keys,
                        size_t n_keys, int *status)
{
    LONGLONG ns = nside, first = 0, last = sm_hpx_npix(nside) - 1;
    double bad = SM_HPX_UNSEEN;
    write_key_str(f, "PIXTYPE", "HEALPIX", "HEALPIX pixelisation", status);
    write_key_str(f, "ORDERING", sm_hpx_order_name(order), "pixel ordering scheme", status);
    fits_write_key(f, TLONGLONG, "NSIDE", &ns, "resolution parameter", status);
    fits_write_key(f, TLONGLONG, "FIRSTPIX", &first, "first pixel #", status);
    fits_write_key(f, TLONGLONG, "LASTPIX", &last, "last pixel #", status);
    write_key_str(f, "INDXSCHM", "IMPLICIT", "indexing: implicit", status);
    write_key_str(f, "OBJECT", "FULLSKY", "full-sky map", status);
    fits_write_key(f, TDOUBLE, "BAD_DATA", &bad, "sentinel value for no data (UNSEEN)", status);
    for (size_t k = 0; k < n_keys; k++)
        write_key_str(f, keys[k].key, keys[k].value, keys[k].comment, status);
    return *status;
}

static sm_status write_table(const char *tmp, int64_t nside, sm_hpx_order_t order, size_t n,
                             const int64_t *pixels, size_t n_cols, const char *const *names,
                             const double *values, const sm_hpx_key_t *keys, size_t n_keys)
{
    size_t npix = (size_t)sm_hpx_npix(nside), bytes;
    sm_status st = sm_size_bytes(npix, sizeof(double), "map column", &bytes);
    if (st != SM_OK)
        return sm_fail_context(st, "NSIDE %lld", (long long)nside);
    double *col = malloc(bytes);
    char **forms = calloc(n_cols, sizeof *forms);
    if (col == NULL || forms == NULL) {
        free(col);
        free(forms);
        return SM_FAIL_NOMEM("map columns");
    }
    for (size_t c = 0; c < n_cols; c++)
        forms[c] = "D";
    fitsfile *f = NULL;
    int status = 0;
    unlink(tmp);
    fits_create_diskfile(&f, tmp, &status);
    fits_create_tbl(f, BINARY_TBL, (LONGLONG)npix, (int)n_cols, (char **)names, forms, NULL,
                    "xtension", &status);
    write_header(f, nside, order, keys, n_keys, &status);
    for (size_t c = 0; c < n_cols && status == 0; c++) {
        for (size_t p = 0; p < npix; p++)
            col[p] = SM_HPX_UNSEEN;
        for (size_t j = 0; j < n; j++)
            col[pixels[j]] = values[c * n + j];
        fits_write_col(f, TDOUBLE, (int)c + 1, 1, 1, (LONGLONG)npix, col, &status);
    }
    int close_status = 0;
    if (f != NULL)
        fits_close_file(f, &close_status);
    free(col);
    free(forms);
    if (status == 0)
        status = close_status;
    return status == 0 ? SM_OK : fits_fail(SM_EIO, status, "writing it");
}

sm_status sm_hpx_write(const char *path, int64_t nside, sm_hpx_order_t order, size_t n,
                       const int64_t *pixels, size_t n_cols, const char *const *names,
                       const double *values, const sm_hpx_key_t *keys, size_t n_keys)
{
    if (path == NULL || names == NULL || values == NULL || (n > 0 && pixels == NULL) ||
        n_cols == 0)
        return sm_fail(SM_EINVAL, "sm_hpx_write: NULL argument or no columns");
    if (nside < 1 || nside > SM_HPX_NSIDE_MAX)
        return sm_fail(SM_EINVAL, "%s: NSIDE %lld is out of range 1..2^29", path,
                       (long long)nside);
    for (size_t j = 0; j < n; j++)
        if (pixels[j] < 0 || pixels[j] >= sm_hpx_npix(nside))
            return sm_fail(SM_EINVAL, "%s: pixel %lld is outside the map of NSIDE %lld", path,
                           (long long)pixels[j], (long long)nside);
    char *tmp = sm_file_tmp_name(path);
    if (tmp == NULL)
        return SM_FAIL_NOMEM("file name");
    sm_status st = write_table(tmp, nside, order, n, pixels, n_cols, names, values, keys, n_keys);
    if (st == SM_OK)
        st = sm_file_commit(tmp, path);
    else
        unlink(tmp);
    free(tmp);
    return st == SM_OK ? SM_OK : sm_fail_context(st, "%s", path);
}
