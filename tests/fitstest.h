/* Test helper: FITS files written with cfitsio directly, independent of the
 * library's writer, so the reader is checked against files made another way. */
#ifndef SYSMAP_TESTS_FITSTEST_H
#define SYSMAP_TESTS_FITSTEST_H

#include <stddef.h>

typedef struct {
    const char *name;   /* TTYPE */
    const char *form;   /* TFORM, e.g. "D", "E", "J", "K", "1024E", "8A" */
    int type;           /* cfitsio type of data: TDOUBLE, TFLOAT, TINT, TLONGLONG, TSTRING */
    const void *data;
    long long n;        /* values written from row 1, element 1 */
} ft_col_t;

/* Header of the binary table; a NULL string or negative nside leaves the
 * keyword out. extra: "KEY=VALUE" integer keywords (e.g. "TNULL1=-99"), NULL-ended. */
typedef struct {
    const char *pixtype, *ordering, *indxschm;
    long long nside;
    const char *const *extra;
} ft_header_t;

/* Writes path (replacing it): an empty primary HDU, then a binary table of
 * n_rows rows with the given columns and header. */
void ft_write_table(const char *path, const ft_header_t *h, long long n_rows, int n_cols,
                    const ft_col_t *cols);

/* A full-sky map: one float64 column "name" of 12 nside^2 values. */
void ft_write_map(const char *path, const char *ordering, long long nside, const char *name,
                  const double *values);

/* A FITS file with only a primary image (not a HEALPix map). */
void ft_write_image(const char *path);

/* Sets keyword key of the binary table (HDU 2) of path to a real value
 * (e.g. NSIDE = 8.5), or to a string when text is not NULL. */
void ft_set_key(const char *path, const char *key, double value, const char *text);

/* Writes path byte by byte, without cfitsio: an empty primary HDU, then a
 * binary table header of the given cards ("KEY = value", padded here to 80
 * characters; END is added) and data_bytes bytes of 0x01. For headers
 * cfitsio would refuse to write, such as one claiming NSIDE 2^29. */
void ft_write_cards(const char *path, const char *const *cards, size_t n_cards,
                    size_t data_bytes);

#endif
