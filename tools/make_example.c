/* sysmap-make-example: writes the synthetic example map data/example.h5
 * (see data/README.md). Deterministic: the only randomness is its own
 * gsl_rng_mt19937 stream with a fixed seed, so the same GSL gives the same
 * file on any platform. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_math.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <hdf5.h>

#include "sysmap/version.h"

#define N_PIX 20480
#define N_SYS 5
#define SEED_DEFAULT 20240501UL
#define DELTA_SIGMA 0.1

static const char *const template_names[N_SYS] = {"stellar_density", "extinction", "seeing",
                                                  "sky_brightness", "airmass"};
static const double injected_a[N_SYS] = {0.02, -0.015, 0.01, 0.0, 0.025};
static const double injected_b[N_SYS] = {0.05, 0.0, -0.04, 0.03, 0.0};

typedef struct {
    double delta[N_PIX];            /* delta_g_obs */
    double templates[N_SYS][N_PIX]; /* standardised over used pixels */
    uint8_t mask[N_PIX];
} example_t;

static void usage(FILE *f)
{
    fprintf(f, "usage: sysmap-make-example [--seed N] OUT.h5\n"
               "Writes the synthetic example map (data/README.md describes it).\n");
}

/* Fibonacci lattice: N_PIX nearly equal-area points on the unit sphere. */
static void pixel_position(size_t j, double p[3])
{
    const double golden = M_PI * (3.0 - sqrt(5.0));
    double z = 1.0 - (2.0 * (double)j + 1.0) / N_PIX;
    double r = sqrt(1.0 - z * z), phi = golden * (double)j;
    p[0] = r * cos(phi);
    p[1] = r * sin(phi);
    p[2] = z;
}

/* A toy survey: a galactic plane (tilted against the equator) drives
 * stellar density and extinction; observing conditions vary with
 * declination (z) and with the survey's scanning pattern (longitude);
 * each gets its own noise and shares some with its neighbours, giving
 * correlations of about 0.3-0.7 between related templates. */
static void make_templates(gsl_rng *rng, example_t *ex)
{
    const double n_gal[3] = {0.3, -0.5, 0.8124038404635961}; /* unit vector */
    for (size_t j = 0; j < N_PIX; j++) {
        double p[3];
        pixel_position(j, p);
        double b = p[0] * n_gal[0] + p[1] * n_gal[1] + p[2] * n_gal[2]; /* sin(gal. latitude) */
        double phi = atan2(p[1], p[0]);
        double shared_conditions = gsl_ran_gaussian_ziggurat(rng, 1.0);
        double stars = exp(-fabs(b) / 0.25);
        double dust = exp(-fabs(b) / 0.4) + 0.3 * p[0] * p[1];
        double scan = sin(3.0 * phi) * (1.0 - p[2] * p[2]);
        double airmass = (p[2] - 0.4) * (p[2] - 0.4);
        ex->templates[0][j] = stars + 0.15 * gsl_ran_gaussian_ziggurat(rng, 1.0);
        ex->templates[1][j] = dust + 0.2 * gsl_ran_gaussian_ziggurat(rng, 1.0);
        ex->templates[2][j] = 0.4 * scan + 0.3 * airmass + 0.25 * shared_conditions +
                              0.1 * gsl_ran_gaussian_ziggurat(rng, 1.0);
        ex->templates[3][j] = 0.25 * scan + 0.2 * dust + 0.2 * shared_conditions +
                              0.15 * gsl_ran_gaussian_ziggurat(rng, 1.0);
        ex->templates[4][j] = airmass + 0.05 * gsl_ran_gaussian_ziggurat(rng, 1.0);
        /* the galactic plane |b| < 0.04 (4% of the sky) plus 1% bad pixels */
        double bad = gsl_rng_uniform(rng);
        ex->mask[j] = fabs(b) >= 0.04 && bad >= 0.01;
    }
}

/* Zero mean and unit population variance over the used pixels. */
static void standardise(example_t *ex)
{
    for (size_t i = 0; i < N_SYS; i++) {
        double *t = ex->templates[i], sum = 0, sq = 0;
        size_t n = 0;
        for (size_t j = 0; j < N_PIX; j++)
            if (ex->mask[j]) {
                sum += t[j];
                n++;
            }
        double mean = sum / (double)n;
        for (size_t j = 0; j < N_PIX; j++)
            if (ex->mask[j])
                sq += (t[j] - mean) * (t[j] - mean);
        double sd = sqrt(sq / (double)n);
        for (size_t j = 0; j < N_PIX; j++)
            t[j] = (t[j] - mean) / sd;
    }
}

/* delta_obs = delta (1 + b.t) + a.t with delta ~ N(0, DELTA_SIGMA^2). */
static void make_delta(gsl_rng *rng, example_t *ex)
{
    for (size_t j = 0; j < N_PIX; j++) {
        double delta = gsl_ran_gaussian_ziggurat(rng, DELTA_SIGMA), at = 0, bt = 0;
        for (size_t i = 0; i < N_SYS; i++) {
            at += injected_a[i] * ex->templates[i][j];
            bt += injected_b[i] * ex->templates[i][j];
        }
        ex->delta[j] = delta * (1.0 + bt) + at;
    }
}

static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("sysmap-make-example: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return -1;
}

/* Stored little-endian whatever the host, without modification times, so
 * the file is the same bytes everywhere. */
static int write_dataset(hid_t file, const char *name, hid_t file_type, hid_t mem_type,
                         int rank, const hsize_t *dims, const void *buf)
{
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t set = -1;
    if (space >= 0 && dcpl >= 0 && H5Pset_obj_track_times(dcpl, 0) >= 0)
        set = H5Dcreate2(file, name, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    herr_t rc = set < 0 ? -1 : H5Dwrite(set, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    if (set >= 0)
        H5Dclose(set);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return rc < 0 ? fail("cannot write dataset '%s'", name) : 0;
}

/* A root attribute: rank 0 (scalar) or 1 with n entries. */
static int write_attr(hid_t file, const char *name, hid_t file_type, hid_t mem_type, int rank,
                      hsize_t n, const void *buf)
{
    hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, NULL);
    hid_t attr =
        space < 0 ? -1 : H5Acreate2(file, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = attr < 0 ? -1 : H5Awrite(attr, mem_type, buf);
    if (attr >= 0)
        H5Aclose(attr);
    if (space >= 0)
        H5Sclose(space);
    return rc < 0 ? fail("cannot write attribute '%s'", name) : 0;
}

static int write_contents(hid_t file, const example_t *ex, const char *generator)
{
    static const char description[] =
        "Synthetic galaxy overdensity map for sysmap: 20480 pixels on a Fibonacci sphere, "
        "5 standardised, mutually correlated systematics templates, "
        "delta_g_obs = delta (1 + injected_b . t) + injected_a . t with delta ~ N(0, 0.1^2) "
        "white; see data/README.md";
    const hsize_t n = N_PIX, dims2[2] = {N_SYS, N_PIX};
    const double sigma = DELTA_SIGMA;
    const char *desc = description;
    hid_t str = H5Tcopy(H5T_C_S1);
    if (str < 0 || H5Tset_size(str, H5T_VARIABLE) < 0 || H5Tset_cset(str, H5T_CSET_UTF8) < 0)
        return fail("cannot create the string type");
    const hid_t f64 = H5T_IEEE_F64LE, d = H5T_NATIVE_DOUBLE;
    int rc = write_dataset(file, "delta_g_obs", f64, d, 1, &n, ex->delta);
    rc = rc ? rc : write_dataset(file, "templates", f64, d, 2, dims2, ex->templates);
    rc = rc ? rc : write_dataset(file, "mask", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, &n, ex->mask);
    rc = rc ? rc : write_attr(file, "injected_a", f64, d, 1, N_SYS, injected_a);
    rc = rc ? rc : write_attr(file, "injected_b", f64, d, 1, N_SYS, injected_b);
    rc = rc ? rc : write_attr(file, "injected_sigma", f64, d, 0, 1, &sigma);
    rc = rc ? rc : write_attr(file, "template_names", str, str, 1, N_SYS, template_names);
    rc = rc ? rc : write_attr(file, "generator", str, str, 0, 1, &generator);
    rc = rc ? rc : write_attr(file, "description", str, str, 0, 1, &desc);
    H5Tclose(str);
    return rc;
}

/* Writes to OUT.tmp, syncs it and renames it over out, so out is either the
 * old file or the complete new one. */
static int write_file(const char *out, const example_t *ex, const char *generator)
{
    size_t len = strlen(out) + sizeof ".tmp";
    char *tmp = malloc(len);
    if (!tmp)
        return fail("out of memory");
    snprintf(tmp, len, "%s.tmp", out);
    int rc = -1;
    hid_t file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0) {
        fail("cannot create '%s'", tmp);
        goto done;
    }
    rc = write_contents(file, ex, generator);
    if (H5Fclose(file) < 0 && rc == 0)
        rc = fail("cannot close '%s'", tmp);
    if (rc == 0) {
        int fd = open(tmp, O_RDONLY);
        if (fd < 0 || fsync(fd) != 0)
            rc = fail("cannot sync '%s': %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    if (rc == 0 && rename(tmp, out) != 0)
        rc = fail("cannot rename '%s' to '%s': %s", tmp, out, strerror(errno));
    if (rc != 0)
        remove(tmp);
done:
    free(tmp);
    return rc;
}

/* Parses "--seed N" and the output path. 0 on success, 1 for --help. */
static int parse_args(int argc, char **argv, unsigned long *seed, const char **out)
{
    *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
        if (strcmp(argv[i], "--seed") == 0) {
            char *end;
            errno = 0;
            if (i + 1 == argc || argv[i + 1][0] == '-' ||
                (*seed = strtoul(argv[i + 1], &end, 10), errno != 0 || *end != '\0' ||
                 end == argv[i + 1]))
                return fail("--seed needs a non-negative integer");
            i++;
        } else if (argv[i][0] == '-' || *out) {
            return fail("unexpected argument '%s'", argv[i]);
        } else {
            *out = argv[i];
        }
    }
    return *out ? 0 : fail("missing output file");
}

int main(int argc, char **argv)
{
    unsigned long seed = SEED_DEFAULT;
    const char *out;
    int rc = parse_args(argc, argv, &seed, &out);
    if (rc != 0) {
        usage(rc > 0 ? stdout : stderr);
        return rc > 0 ? 0 : 2;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    example_t *ex = malloc(sizeof *ex);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!ex || !rng) {
        free(ex);
        gsl_rng_free(rng);
        fail("out of memory");
        return 1;
    }
    gsl_rng_set(rng, seed);
    make_templates(rng, ex);
    standardise(ex);
    make_delta(rng, ex);
    char generator[160];
    snprintf(generator, sizeof generator,
             "sysmap-make-example --seed %lu (sysmap %s; GSL gsl_rng_mt19937, "
             "gsl_ran_gaussian_ziggurat)",
             seed, SM_VERSION_STRING);
    rc = write_file(out, ex, generator);
    gsl_rng_free(rng);
    free(ex);
    return rc == 0 ? 0 : 1;
}
