#include "fitstest.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fitsio.h>

static void ok(int status, const char *what)
{
    char text[FLEN_STATUS] = "";
    if (status != 0)
        fits_get_errstatus(status, text);
    ck_assert_msg(status == 0, "cfitsio %s: %s (%d)", what, text, status);
}

void ft_write_table(const char *path, const ft_header_t *h, long long n_rows, int n_cols,
                    const ft_col_t *cols)
{
    fitsfile *f = NULL;
    int status = 0;
    char *names[16], *forms[16];
    ck_assert_int_le(n_cols, 16);
    for (int c = 0; c < n_cols; c++) {
        names[c] = (char *)cols[c].name;
        forms[c] = (char *)cols[c].form;
    }
    unlink(path);
    fits_create_diskfile(&f, path, &status);
    fits_create_tbl(f, BINARY_TBL, n_rows, n_cols, names, forms, NULL, "xtension", &status);
    ok(status, "create table");
    if (h->pixtype != NULL)
        fits_write_key(f, TSTRING, "PIXTYPE", (void *)h->pixtype, NULL, &status);
    if (h->ordering != NULL)
        fits_write_key(f, TSTRING, "ORDERING", (void *)h->ordering, NULL, &status);
    if (h->nside >= 0) {
        LONGLONG ns = h->nside;
        fits_write_key(f, TLONGLONG, "NSIDE", &ns, NULL, &status);
    }
    if (h->indxschm != NULL)
        fits_write_key(f, TSTRING, "INDXSCHM", (void *)h->indxschm, NULL, &status);
    for (const char *const *e = h->extra; e != NULL && *e != NULL; e++) {
        char key[FLEN_KEYWORD];
        LONGLONG v;
        ck_assert_int_eq(sscanf(*e, "%70[^=]=%lld", key, &v), 2);
        fits_write_key(f, TLONGLONG, key, &v, NULL, &status);
    }
    ok(status, "write keys");
    for (int c = 0; c < n_cols; c++)
        fits_write_col(f, cols[c].type, c + 1, 1, 1, cols[c].n, (void *)cols[c].data, &status);
    ok(status, "write columns");
    fits_close_file(f, &status);
    ok(status, "close");
}

void ft_write_map(const char *path, const char *ordering, long long nside, const char *name,
                  const double *values)
{
    ft_header_t h = {"HEALPIX", ordering, "IMPLICIT", nside, NULL};
    ft_col_t col = {name, "D", TDOUBLE, values, 12 * nside * nside};
    ft_write_table(path, &h, 12 * nside * nside, 1, &col);
}

void ft_write_image(const char *path)
{
    fitsfile *f = NULL;
    int status = 0;
    long naxes[2] = {4, 3};
    float pix[12] = {0};
    unlink(path);
    fits_create_diskfile(&f, path, &status);
    fits_create_img(f, FLOAT_IMG, 2, naxes, &status);
    fits_write_img(f, TFLOAT, 1, 12, pix, &status);
    fits_close_file(f, &status);
    ok(status, "image");
}

void ft_set_key(const char *path, const char *key, double value, const char *text)
{
    fitsfile *f = NULL;
    int status = 0, type = 0;
    fits_open_file(&f, path, READWRITE, &status);
    fits_movabs_hdu(f, 2, &type, &status);
    if (text != NULL)
        fits_update_key(f, TSTRING, key, (void *)text, NULL, &status);
    else
        fits_update_key(f, TDOUBLE, key, &value, NULL, &status);
    fits_close_file(f, &status);
    ok(status, "update key");
}

/* Header cards in 2880-byte blocks, END last. */
static void write_block(FILE *out, const char *const *cards, size_t n)
{
    char card[81];
    size_t written = 0;
    for (size_t k = 0; k <= n; k++, written++) {
        snprintf(card, sizeof card, "%-80s", k < n ? cards[k] : "END");
        ck_assert_uint_eq(fwrite(card, 1, 80, out), 80);
    }
    for (; written % 36 != 0; written++)
        ck_assert_uint_eq(fwrite("                                                            "
                                 "                    ",
                                 1, 80, out),
                          80);
}

void ft_write_cards(const char *path, const char *const *cards, size_t n_cards,
                    size_t data_bytes)
{
    static const char *const primary[] = {"SIMPLE  =                    T",
                                          "BITPIX  =                    8",
                                          "NAXIS   =                    0",
                                          "EXTEND  =                    T"};
    FILE *out = fopen(path, "wb");
    ck_assert_ptr_nonnull(out);
    write_block(out, primary, 4);
    write_block(out, cards, n_cards);
    for (size_t k = 0; k < data_bytes; k++)
        ck_assert_int_eq(fputc(1, out), 1);
    ck_assert_int_eq(fclose(out), 0);
}
