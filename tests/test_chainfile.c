/* sm_chainfile: the emcee-layout run file, written in two batches and read
 * back with the HDF5 C API and with the library; resume and its
 * mismatches; partial files; unwritable paths. The finished file of
 * written_file_has_emcee_layout is left at EMCEE_FIXTURE for
 * emcee_reads_file.py, which checks it with emcee itself. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "sysmap/chainfile.h"
#include "sysmap/version.h"
#include "testutil.h"

#define EMCEE_FIXTURE SM_BINARY_DIR "/tests/tmp/emcee_layout.h5"

/* The known run (emcee_reads_file.py builds the same numbers): W walkers,
 * D parameters, STEPS steps written as 2 + 3; values are multiples of
 * 1/8, so every sum below is exact. */
enum { W = 6, D = 3, STEPS = 5, FIRST = 2 };
static const char *const names[D + 1] = {"a_1", "b_1", "sigma", "gamma"};

static double chain_value(int s, int w, int k)
{
    return (double)((7 * s + 3 * w * w + 5 * k * k * k + w * k) % 17) / 8.0 - 1.0;
}

static double chain[STEPS][W][D], log_prob[STEPS][W];

static void fill_run(void)
{
    for (int s = 0; s < STEPS; s++)
        for (int w = 0; w < W; w++) {
            log_prob[s][w] = 0.0;
            for (int k = 0; k < D; k++) {
                chain[s][w][k] = chain_value(s, w, k);
                log_prob[s][w] -= 0.5 * chain[s][w][k] * chain[s][w][k];
            }
        }
}

/* The state after a batch that ends at step `end`: accepted counts
 * w mod (end + 1) (at most one a step), a generator state that depends on
 * end, and walkers in the sampling basis = 2 x the chain's last row. */
typedef struct {
    double accepted[W], coords[W][D];
    sm_rng_state_t rng;
} batch_state;

static void state_after(int end, batch_state *b)
{
    for (int w = 0; w < W; w++) {
        b->accepted[w] = w % (end + 1);
        for (int k = 0; k < D; k++)
            b->coords[w][k] = 2.0 * chain[end - 1][w][k];
    }
    for (uint32_t i = 0; i < SM_RNG_KEY_LEN; i++)
        b->rng.key[i] = i * 2654435761u + 12345u + (uint32_t)(end == STEPS ? 0 : 1);
    b->rng.pos = end == STEPS ? 17 : 5;
    b->rng.has_gauss = end == STEPS;
    b->rng.gauss = end == STEPS ? -0.75 : 0.0;
}

static sm_chainfile_meta_t test_meta(void)
{
    sm_chainfile_meta_t m = {
        .struct_size = sizeof m, .n_walkers = W, .n_dim = D, .n_steps = STEPS, .n_burn = 1,
        .n_pix = 100, .n_sys = 1,
        .model = "combined", .skew = 0, .sampling_basis = "rotated", .seed = 42,
        .explicit_init = 0, .sigma_min = 1e-6, .data_digest = UINT64_C(0x0123456789abcdef),
        .backend = "reference", .device = "cpu", .precision = "fp64", .param_names = names};
    return m;
}

static void append_batch(sm_chainfile_t *cf, int from, int to)
{
    batch_state b;
    state_after(to, &b);
    ck_assert_int_eq(sm_chainfile_append(cf, (size_t)(to - from), &chain[from][0][0],
                                         &log_prob[from][0], b.accepted, &b.rng, &b.coords[0][0]),
                     SM_OK);
}

/* A partial file at path holding all STEPS steps, as a killed run leaves it. */
static void write_partial(const char *path)
{
    fill_run();
    sm_chainfile_meta_t meta = test_meta();
    sm_chainfile_t *cf = NULL;
    ck_assert_int_eq(sm_chainfile_create(&cf, path, &meta), SM_OK);
    append_batch(cf, 0, FIRST);
    append_batch(cf, FIRST, STEPS);
    sm_chainfile_free(cf);
}

static char *partial_of(const char *path)
{
    static char buf[8192];
    snprintf(buf, sizeof buf, "%s%s", path, SM_CHAINFILE_PARTIAL_SUFFIX);
    return buf;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

#define ck_assert_fails(call, status, text)                                           \
    do {                                                                              \
        sm_status st_ = (call);                                                       \
        ck_assert_msg(st_ == (status), "%s returned %d, expected %d (%s)", #call,     \
                      (int)st_, (int)(status), sm_last_error());                      \
        ck_assert_msg(strstr(sm_last_error(), (text)) != NULL,                        \
                      "message \"%s\" lacks \"%s\"", sm_last_error(), (text));        \
    } while (0)

/* ---- independent readers: the HDF5 C API, checking h5py's types ---- */

static hid_t open_attr_of_type(hid_t loc, const char *name, hid_t want_type, int rank)
{
    hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
    ck_assert_msg(attr >= 0, "attribute %s missing", name);
    hid_t type = H5Aget_type(attr), space = H5Aget_space(attr);
    ck_assert_msg(H5Tequal(type, want_type) > 0, "attribute %s has the wrong type", name);
    ck_assert_int_eq(H5Sget_simple_extent_ndims(space), rank);
    H5Tclose(type);
    H5Sclose(space);
    return attr;
}

static int64_t attr_i64(hid_t loc, const char *name)
{
    int64_t v;
    hid_t attr = open_attr_of_type(loc, name, H5T_STD_I64LE, 0);
    H5Aread(attr, H5T_NATIVE_INT64, &v);
    H5Aclose(attr);
    return v;
}

static double attr_f64(hid_t loc, const char *name)
{
    double v;
    hid_t attr = open_attr_of_type(loc, name, H5T_IEEE_F64LE, 0);
    H5Aread(attr, H5T_NATIVE_DOUBLE, &v);
    H5Aclose(attr);
    return v;
}

static hid_t h5py_bool(void)
{
    hid_t type = H5Tenum_create(H5T_STD_I8LE);
    int8_t no = 0, yes = 1;
    H5Tenum_insert(type, "FALSE", &no);
    H5Tenum_insert(type, "TRUE", &yes);
    return type;
}

static int attr_bool(hid_t loc, const char *name)
{
    int8_t v;
    hid_t type = h5py_bool();
    hid_t attr = open_attr_of_type(loc, name, type, 0);
    H5Aread(attr, type, &v);
    H5Aclose(attr);
    H5Tclose(type);
    return v;
}

static hid_t utf8_vlen(void)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    return type;
}

static void assert_attr_str(hid_t loc, const char *name, const char *want)
{
    char *v = NULL;
    hid_t type = utf8_vlen();
    hid_t attr = open_attr_of_type(loc, name, type, 0);
    H5Aread(attr, type, &v);
    ck_assert_msg(v != NULL && strcmp(v, want) == 0, "%s = \"%s\", expected \"%s\"", name,
                  v ? v : "(null)", want);
    H5free_memory(v);
    H5Aclose(attr);
    H5Tclose(type);
}

/* Reads the first dims[0] rows of a float64 dataset whose other extents
 * are dims[1..]; with `exact` the first extent must be dims[0] too (a
 * growing dataset has room for every step of the run). */
static void read_rows(hid_t loc, const char *name, int rank, const hsize_t *dims, int exact,
                      double *buf)
{
    hid_t dset = H5Dopen2(loc, name, H5P_DEFAULT);
    ck_assert_msg(dset >= 0, "dataset %s missing", name);
    hid_t type = H5Dget_type(dset), space = H5Dget_space(dset);
    ck_assert(H5Tequal(type, H5T_IEEE_F64LE) > 0);
    hsize_t got[3], start[3] = {0}, n = 1;
    ck_assert_int_eq(H5Sget_simple_extent_dims(space, got, NULL), rank);
    ck_assert_uint_ge(got[0], dims[0]);
    for (int i = exact ? 0 : 1; i < rank; i++)
        ck_assert_uint_eq(got[i], dims[i]);
    for (int i = 0; i < rank; i++)
        n *= dims[i];
    hid_t mem = H5Screate_simple(1, &n, NULL);
    H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, dims, NULL);
    ck_assert_int_ge(H5Dread(dset, H5T_NATIVE_DOUBLE, mem, space, H5P_DEFAULT, buf), 0);
    H5Sclose(mem);
    H5Tclose(type);
    H5Sclose(space);
    H5Dclose(dset);
}

/* Reads a whole float64 dataset, checking its shape. */
static void read_f64(hid_t loc, const char *name, int rank, const hsize_t *dims, double *buf)
{
    read_rows(loc, name, rank, dims, 1, buf);
}

static void assert_growing(hid_t loc, const char *name)
{
    hid_t dset = H5Dopen2(loc, name, H5P_DEFAULT);
    hid_t space = H5Dget_space(dset), dcpl = H5Dget_create_plist(dset);
    hsize_t dims[3], maxdims[3];
    int rank = H5Sget_simple_extent_dims(space, dims, maxdims);
    ck_assert_int_eq(H5Pget_layout(dcpl), H5D_CHUNKED);
    ck_assert_msg(maxdims[0] == H5S_UNLIMITED, "%s: first axis not unlimited", name);
    for (int i = 1; i < rank; i++)
        ck_assert_uint_eq(maxdims[i], dims[i]);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Dclose(dset);
}

static void assert_rng(hid_t mcmc, const sm_rng_state_t *want)
{
    assert_attr_str(mcmc, "random_state_0", "MT19937");
    uint32_t key[SM_RNG_KEY_LEN];
    hid_t attr = open_attr_of_type(mcmc, "random_state_1", H5T_STD_U32LE, 1);
    H5Aread(attr, H5T_NATIVE_UINT32, key);
    H5Aclose(attr);
    ck_assert_int_eq(memcmp(key, want->key, sizeof key), 0);
    ck_assert_int_eq(attr_i64(mcmc, "random_state_2"), want->pos);
    ck_assert_int_eq(attr_i64(mcmc, "random_state_3"), want->has_gauss);
    ck_assert_double_eq(attr_f64(mcmc, "random_state_4"), want->gauss);
}

static void assert_mcmc(hid_t file, int steps, const batch_state *b)
{
    hid_t mcmc = H5Gopen2(file, "mcmc", H5P_DEFAULT);
    ck_assert_int_ge(mcmc, 0);
    ck_assert_int_eq(attr_i64(mcmc, "nwalkers"), W);
    ck_assert_int_eq(attr_i64(mcmc, "ndim"), D);
    ck_assert_int_eq(attr_i64(mcmc, "iteration"), steps);
    ck_assert_int_eq(attr_bool(mcmc, "has_blobs"), 0);
    char version[64];
    snprintf(version, sizeof version, "sysmap-%s", sm_version());
    assert_attr_str(mcmc, "version", version);
    static double c[STEPS][W][D], lp[STEPS][W];
    double acc[W];
    hsize_t cd[3] = {(hsize_t)steps, W, D}, ld[2] = {(hsize_t)steps, W}, ad[1] = {W};
    read_rows(mcmc, "chain", 3, cd, 0, &c[0][0][0]);
    read_rows(mcmc, "log_prob", 2, ld, 0, &lp[0][0]);
    read_f64(mcmc, "accepted", 1, ad, acc);
    ck_assert_int_eq(memcmp(c, chain, (size_t)steps * sizeof chain[0]), 0);
    ck_assert_int_eq(memcmp(lp, log_prob, (size_t)steps * sizeof log_prob[0]), 0);
    ck_assert_int_eq(memcmp(acc, b->accepted, sizeof acc), 0);
    assert_growing(mcmc, "chain");
    assert_growing(mcmc, "log_prob");
    assert_rng(mcmc, &b->rng);
    H5Gclose(mcmc);
}

/* A 1-d string dataset of n entries equal to want. */
static void assert_strings(hid_t loc, const char *name, size_t n, const char *const *want)
{
    char *got[8];
    ck_assert_uint_le(n, 8);
    hid_t type = utf8_vlen();
    hid_t dset = H5Dopen2(loc, name, H5P_DEFAULT);
    hid_t space = H5Dget_space(dset);
    ck_assert_int_eq(H5Sget_simple_extent_npoints(space), (hssize_t)n);
    ck_assert_int_ge(H5Dread(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, got), 0);
    for (size_t k = 0; k < n; k++) {
        ck_assert_str_eq(got[k], want[k]);
        H5free_memory(got[k]);
    }
    H5Sclose(space);
    H5Dclose(dset);
    H5Tclose(type);
}

/* sysmap/warnings: the n given, then empty strings up to its capacity. */
static void assert_warnings(hid_t sys, size_t n, const char *const *want)
{
    static char got[SM_CHAINFILE_MAX_WARNINGS][SM_CHAINFILE_WARNING_LEN + 1];
    memset(got, 0, sizeof got);
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, SM_CHAINFILE_WARNING_LEN + 1);
    H5Tset_cset(type, H5T_CSET_UTF8);
    hid_t dset = H5Dopen2(sys, "warnings", H5P_DEFAULT);
    hid_t space = H5Dget_space(dset);
    ck_assert_int_eq(H5Sget_simple_extent_npoints(space), SM_CHAINFILE_MAX_WARNINGS);
    ck_assert_int_ge(H5Dread(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, got), 0);
    for (size_t k = 0; k < SM_CHAINFILE_MAX_WARNINGS; k++)
        ck_assert_str_eq(got[k], k < n ? want[k] : "");
    H5Sclose(space);
    H5Dclose(dset);
    H5Tclose(type);
}

static void assert_sysmap_settings(hid_t sys, const sm_chainfile_meta_t *m)
{
    assert_attr_str(sys, "model", m->model);
    ck_assert_int_eq(attr_bool(sys, "skew"), m->skew);
    assert_attr_str(sys, "basis", "original");
    assert_attr_str(sys, "sampling_basis", m->sampling_basis);
    assert_attr_str(sys, "backend", m->backend);
    assert_attr_str(sys, "device", m->device);
    assert_attr_str(sys, "precision", m->precision);
    assert_attr_str(sys, "version", sm_version());
    ck_assert_int_eq(attr_i64(sys, "seed"), m->seed);
    ck_assert_int_eq(attr_i64(sys, "n_pix"), m->n_pix);
    ck_assert_int_eq(attr_i64(sys, "n_sys"), m->n_sys);
    ck_assert_int_eq(attr_i64(sys, "n_walkers"), m->n_walkers);
    ck_assert_int_eq(attr_i64(sys, "n_dim"), m->n_dim);
    ck_assert_int_eq(attr_i64(sys, "n_steps"), m->n_steps);
    ck_assert_int_eq(attr_i64(sys, "n_burn"), m->n_burn);
    ck_assert_int_eq(attr_bool(sys, "explicit_init"), m->explicit_init);
    ck_assert_double_eq(attr_f64(sys, "sigma_min"), m->sigma_min);
    uint64_t digest;
    hid_t attr = open_attr_of_type(sys, "data_digest", H5T_STD_U64LE, 0);
    H5Aread(attr, H5T_NATIVE_UINT64, &digest);
    H5Aclose(attr);
    ck_assert_uint_eq(digest, m->data_digest);
    assert_strings(sys, "param_names", D, m->param_names);
}

/* The committed resume slot (sysmap/resume_slot) and the step it holds. */
static int committed_slot(hid_t sys)
{
    uint8_t slot = 9;
    hid_t dset = H5Dopen2(sys, "resume_slot", H5P_DEFAULT);
    ck_assert_int_ge(H5Dread(dset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, &slot), 0);
    H5Dclose(dset);
    ck_assert_uint_le(slot, 1);
    return slot;
}

static int64_t slot_iteration(hid_t sys, int slot)
{
    int64_t counters[2][3];
    hid_t dset = H5Dopen2(sys, "resume_counters", H5P_DEFAULT);
    ck_assert_int_ge(H5Dread(dset, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, counters),
                     0);
    H5Dclose(dset);
    return counters[slot][0];
}

/* ---- tests ---- */

START_TEST(written_file_has_emcee_layout)
{
    sm_test_tmp_path("mkdir"); /* creates the scratch folder */
    const char *path = EMCEE_FIXTURE;
    unlink(path);
    write_partial(path);
    ck_assert(!exists(path));
    ck_assert(exists(partial_of(path)));

    /* Resume the killed run, add the summary and finish it. */
    sm_chainfile_meta_t meta = test_meta();
    sm_chainfile_t *cf = NULL;
    size_t it = 0;
    ck_assert_int_eq(sm_chainfile_resume(&cf, path, &meta, &it), SM_OK);
    ck_assert_uint_eq(it, STEPS);
    const double median[D] = {0.5, -0.25, 0.125}, std[D] = {1, 2, 3}, var_a[1] = {0.0625},
                 var_b[1] = {4.0}, cov_a[1] = {0.0625}, cov_b[1] = {4.0},
                 acc_frac[W] = {0.2, 0.4, 0.6, 0.8, 1.0, 0.0}, tau[D] = {10, 20, 30},
                 ess[D] = {3, 1.5, 1}, drift[D] = {0.5, -9.25, NAN};
    sm_chainfile_summary_t sum = {sizeof sum, median, std, var_a, var_b, cov_a, cov_b, acc_frac,
                                  tau, 1, ess, 12.5, 4096.0, 7.5, drift, 4};
    const char *const warnings[2] = {"first warning", "second: a_1 drifts by 9.2"};
    ck_assert_int_eq(sm_chainfile_write_summary(cf, &sum), SM_OK);
    ck_assert_int_eq(sm_chainfile_write_warnings(cf, 2, warnings), SM_OK);
    ck_assert_int_eq(sm_chainfile_finish(cf), SM_OK);
    ck_assert(exists(path));
    ck_assert(!exists(partial_of(path)));

    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(file, 0);
    batch_state b;
    state_after(STEPS, &b);
    assert_mcmc(file, STEPS, &b);

    hid_t sys = H5Gopen2(file, "sysmap", H5P_DEFAULT);
    assert_sysmap_settings(sys, &meta);
    double coords[2][W][D], got[W];
    hsize_t wd[3] = {2, W, D}, w1[1] = {W}, d1[1] = {D}, s1[1] = {1}, ss[2] = {1, 1};
    read_f64(sys, "resume_coords", 3, wd, &coords[0][0][0]);
    int slot = committed_slot(sys);
    ck_assert_int_eq(memcmp(coords[slot], b.coords, sizeof coords[slot]), 0);
    ck_assert_int_eq(slot_iteration(sys, slot), STEPS);
    read_f64(sys, "median", 1, d1, got);
    ck_assert_int_eq(memcmp(got, median, sizeof median), 0);
    read_f64(sys, "std", 1, d1, got);
    ck_assert_int_eq(memcmp(got, std, sizeof std), 0);
    read_f64(sys, "autocorr_time", 1, d1, got);
    ck_assert_int_eq(memcmp(got, tau, sizeof tau), 0);
    read_f64(sys, "ess", 1, d1, got);
    ck_assert_int_eq(memcmp(got, ess, sizeof ess), 0);
    read_f64(sys, "acceptance_fraction", 1, w1, got);
    ck_assert_int_eq(memcmp(got, acc_frac, sizeof acc_frac), 0);
    read_f64(sys, "var_a", 1, s1, got);
    ck_assert_double_eq(got[0], 0.0625);
    read_f64(sys, "var_b", 1, s1, got);
    ck_assert_double_eq(got[0], 4.0);
    read_f64(sys, "cov_a", 2, ss, got);
    ck_assert_double_eq(got[0], 0.0625);
    read_f64(sys, "cov_b", 2, ss, got);
    ck_assert_double_eq(got[0], 4.0);
    ck_assert_int_eq(attr_bool(sys, "autocorr_too_short"), 1);
    ck_assert_double_eq(attr_f64(sys, "wall_s"), 12.5);
    ck_assert_double_eq(attr_f64(sys, "evals_per_s"), 4096.0);
    ck_assert_double_eq(attr_f64(sys, "eval_s"), 7.5);
    read_f64(sys, "drift", 1, d1, got);
    ck_assert_int_eq(memcmp(got, drift, 2 * sizeof *drift), 0);
    ck_assert(isnan(got[2]));
    ck_assert_int_eq(attr_i64(sys, "n_kept"), 4);
    ck_assert_int_eq(attr_i64(sys, "format_version"), SM_CHAINFILE_FORMAT_VERSION);
    assert_warnings(sys, 2, warnings);
    H5Gclose(sys);
    H5Fclose(file);
}
END_TEST

START_TEST(partial_file_counts_complete_steps)
{
    const char *path = sm_test_tmp_path("partial.h5");
    fill_run();
    sm_chainfile_meta_t meta = test_meta();
    sm_chainfile_t *cf = NULL;
    ck_assert_int_eq(sm_chainfile_create(&cf, path, &meta), SM_OK);
    ck_assert(exists(partial_of(path)));
    append_batch(cf, 0, FIRST);

    /* Between appends the file on disk is complete and closed: another
     * reader sees the first batch only. */
    hid_t file = H5Fopen(partial_of(path), H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(file, 0);
    batch_state b;
    state_after(FIRST, &b);
    assert_mcmc(file, FIRST, &b);
    H5Fclose(file);

    sm_chainfile_free(cf);  /* no finish: the partial file stays */
    ck_assert(exists(partial_of(path)));
    ck_assert(!exists(path));
}
END_TEST

START_TEST(resume_reads_chain_and_state_and_continues)
{
    const char *path = sm_test_tmp_path("resume.h5");
    write_partial(path);
    sm_chainfile_meta_t meta = test_meta();
    meta.n_steps = STEPS + 2; /* a longer run may continue a shorter one */
    sm_chainfile_t *cf = NULL;
    size_t it = 0;
    ck_assert_int_eq(sm_chainfile_resume(&cf, path, &meta, &it), SM_OK);
    ck_assert_uint_eq(it, STEPS);

    static double c[STEPS + 2][W][D], lp[STEPS + 2][W];
    ck_assert_int_eq(sm_chainfile_read_chain(cf, &c[0][0][0], &lp[0][0]), SM_OK);
    ck_assert_int_eq(memcmp(c, chain, sizeof chain), 0);
    ck_assert_int_eq(memcmp(lp, log_prob, sizeof log_prob), 0);

    batch_state want, got;
    state_after(STEPS, &want);
    double last_lp[W];
    ck_assert_int_eq(sm_chainfile_read_state(cf, &got.coords[0][0], last_lp, got.accepted,
                                             &got.rng),
                     SM_OK);
    ck_assert_int_eq(memcmp(got.coords, want.coords, sizeof got.coords), 0);
    ck_assert_int_eq(memcmp(last_lp, log_prob[STEPS - 1], sizeof last_lp), 0);
    ck_assert_int_eq(memcmp(got.accepted, want.accepted, sizeof got.accepted), 0);
    ck_assert_int_eq(memcmp(got.rng.key, want.rng.key, sizeof got.rng.key), 0);
    ck_assert_int_eq(got.rng.pos, 17);
    ck_assert_int_eq(got.rng.has_gauss, 1);
    ck_assert_double_eq(got.rng.gauss, -0.75);

    /* Two more steps (the first two rows again) after the resumed ones. */
    ck_assert_int_eq(sm_chainfile_append(cf, 2, &chain[0][0][0], &log_prob[0][0], want.accepted,
                                         &want.rng, &want.coords[0][0]),
                     SM_OK);
    ck_assert_int_eq(sm_chainfile_append(cf, 0, &chain[0][0][0], &log_prob[0][0], want.accepted,
                                         &want.rng, &want.coords[0][0]),
                     SM_OK); /* nothing to add is not an error */
    ck_assert_int_eq(sm_chainfile_read_chain(cf, &c[0][0][0], &lp[0][0]), SM_OK);
    ck_assert_int_eq(memcmp(c[STEPS], chain[0], 2 * sizeof chain[0]), 0);
    ck_assert_int_eq(memcmp(lp[STEPS + 1], log_prob[1], sizeof log_prob[1]), 0);
    ck_assert_int_eq(sm_chainfile_finish(cf), SM_OK);

    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t mcmc = H5Gopen2(file, "mcmc", H5P_DEFAULT), sys = H5Gopen2(file, "sysmap", H5P_DEFAULT);
    ck_assert_int_eq(attr_i64(mcmc, "iteration"), STEPS + 2);
    ck_assert_int_eq(attr_i64(sys, "n_steps"), STEPS + 2);
    ck_assert_int_eq(slot_iteration(sys, committed_slot(sys)), STEPS + 2);
    H5Gclose(sys);
    H5Gclose(mcmc);
    H5Fclose(file);
}
END_TEST

/* Each setting changed alone must stop a resume, naming it and both values. */
START_TEST(resume_rejects_each_changed_setting)
{
    const char *path = sm_test_tmp_path("mismatch.h5");
    write_partial(path);
    const char *const other_names[D + 1] = {"a_1", "b_2", "sigma", "gamma"};
    sm_chainfile_meta_t m;
    sm_chainfile_t *cf = (sm_chainfile_t *)&cf;
    size_t it = 99;
#define EXPECT_MISMATCH(assign, text)                                                    \
    do {                                                                                 \
        m = test_meta();                                                                 \
        assign;                                                                          \
        ck_assert_fails(sm_chainfile_resume(&cf, path, &m, &it), SM_EMISMATCH, text);    \
        ck_assert_ptr_null(cf);                                                          \
    } while (0)
    EXPECT_MISMATCH(m.model = "additive",
                    "resume: model differs (file \"combined\", requested \"additive\")");
    EXPECT_MISMATCH(m.skew = 1, "resume: skew differs (file 0, requested 1)");
    EXPECT_MISMATCH(m.n_sys = 2, "resume: n_sys differs (file 1, requested 2)");
    EXPECT_MISMATCH(m.n_pix = 99, "resume: n_pix differs (file 100, requested 99)");
    EXPECT_MISMATCH(m.data_digest = 1, "resume: data_digest differs (file 0x0123456789abcdef, "
                                       "requested 0x0000000000000001)");
    EXPECT_MISMATCH(m.sampling_basis = "original",
                    "resume: sampling_basis differs (file \"rotated\", requested \"original\")");
    EXPECT_MISMATCH(m.seed = 7, "resume: seed differs (file 42, requested 7)");
    EXPECT_MISMATCH(m.explicit_init = 1, "resume: explicit_init differs (file 0, requested 1)");
    EXPECT_MISMATCH(m.n_walkers = 8, "resume: n_walkers differs (file 6, requested 8)");
    EXPECT_MISMATCH(m.n_dim = 4, "resume: n_dim differs (file 3, requested 4)");
    EXPECT_MISMATCH(m.n_burn = 2, "resume: n_burn differs (file 1, requested 2)");
    EXPECT_MISMATCH(m.sigma_min = 1e-5,
                    "resume: sigma_min differs (file 9.9999999999999995e-07, requested "
                    "1.0000000000000001e-05)");
    EXPECT_MISMATCH(m.backend = "opencl",
                    "resume: backend differs (file \"reference\", requested \"opencl\")");
    EXPECT_MISMATCH(m.device = "gpu0", "resume: device differs (file \"cpu\", requested \"gpu0\")");
    EXPECT_MISMATCH(m.precision = "fp32",
                    "resume: precision differs (file \"fp64\", requested \"fp32\")");
    EXPECT_MISMATCH(m.param_names = other_names,
                    "resume: param_names[1] differs (file \"b_1\", requested \"b_2\")");
    EXPECT_MISMATCH(m.n_steps = STEPS - 1,
                    "resume: n_steps 4 is fewer than the 5 complete steps in the file");
    ck_assert_uint_eq(it, 99); /* untouched on failure */
    ck_assert(exists(partial_of(path)));
}
END_TEST

/* Sets mcmc/iteration of path's partial file, as emcee advances it. */
static void set_emcee_iteration(const char *path, int64_t it)
{
    hid_t file = H5Fopen(partial_of(path), H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t mcmc = H5Gopen2(file, "mcmc", H5P_DEFAULT);
    hid_t attr = H5Aopen(mcmc, "iteration", H5P_DEFAULT);
    H5Awrite(attr, H5T_NATIVE_INT64, &it);
    H5Aclose(attr);
    H5Gclose(mcmc);
    H5Fclose(file);
}

/* A kill after an append's commit: emcee's copy of the state (iteration,
 * accepted, random_state) is behind or half written; the resume restores
 * it from the committed slot. */
START_TEST(resume_rolls_forward_an_append_cut_before_iteration)
{
    const char *path = sm_test_tmp_path("rollforward.h5");
    write_partial(path);
    set_emcee_iteration(path, FIRST);
    hid_t file = H5Fopen(partial_of(path), H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t mcmc = H5Gopen2(file, "mcmc", H5P_DEFAULT);
    hid_t dset = H5Dopen2(mcmc, "accepted", H5P_DEFAULT);
    double zeros[W] = {0};
    H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros);
    H5Dclose(dset);
    int64_t pos = 3;
    hid_t attr = H5Aopen(mcmc, "random_state_2", H5P_DEFAULT);
    H5Awrite(attr, H5T_NATIVE_INT64, &pos);
    H5Aclose(attr);
    H5Gclose(mcmc);
    H5Fclose(file);

    sm_chainfile_meta_t meta = test_meta();
    sm_chainfile_t *cf = NULL;
    size_t it = 0;
    ck_assert_int_eq(sm_chainfile_resume(&cf, path, &meta, &it), SM_OK);
    ck_assert_uint_eq(it, STEPS);
    sm_chainfile_free(cf);
    file = H5Fopen(partial_of(path), H5F_ACC_RDONLY, H5P_DEFAULT);
    batch_state b;
    state_after(STEPS, &b);
    assert_mcmc(file, STEPS, &b); /* emcee sees every step again */
    H5Fclose(file);
}
END_TEST

/* emcee continued the file: its walkers in the sampling basis are stale. */
START_TEST(resume_rejects_a_file_continued_elsewhere)
{
    const char *path = sm_test_tmp_path("continued.h5");
    fill_run();
    sm_chainfile_meta_t meta0 = test_meta();
    sm_chainfile_t *cf0 = NULL;
    ck_assert_int_eq(sm_chainfile_create(&cf0, path, &meta0), SM_OK);
    append_batch(cf0, 0, FIRST);
    sm_chainfile_free(cf0);
    set_emcee_iteration(path, STEPS);

    sm_chainfile_meta_t meta = test_meta();
    sm_chainfile_t *cf = NULL;
    size_t it = 0;
    ck_assert_fails(sm_chainfile_resume(&cf, path, &meta, &it), SM_EMISMATCH,
                    "the chain has 5 steps but sysmap's walker state is from step 2");
    ck_assert_ptr_null(cf);
    ck_assert_msg(strstr(sm_last_error(), partial_of(path)) != NULL, "%s", sm_last_error());
    ck_assert_ptr_null(cf);
}
END_TEST

/* Sets sysmap/format_version of path's partial file; version 0 deletes it,
 * as in files from before the attribute. */
static void set_format_version(const char *path, int64_t version)
{
    hid_t file = H5Fopen(partial_of(path), H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t sys = H5Gopen2(file, "sysmap", H5P_DEFAULT);
    if (H5Aexists(sys, "format_version") > 0)
        ck_assert_int_ge(H5Adelete(sys, "format_version"), 0);
    if (version != 0) {
        hid_t space = H5Screate(H5S_SCALAR);
        hid_t attr = H5Acreate2(sys, "format_version", H5T_STD_I64LE, space, H5P_DEFAULT,
                                H5P_DEFAULT);
        H5Awrite(attr, H5T_NATIVE_INT64, &version);
        H5Aclose(attr);
        H5Sclose(space);
    }
    H5Gclose(sys);
    H5Fclose(file);
}

/* Format version 1 (no attribute) meant a = 0 in the multiplicative model. */
START_TEST(resume_rejects_other_format_versions)
{
    const char *path = sm_test_tmp_path("v1.h5");
    write_partial(path);
    sm_chainfile_meta_t meta = test_meta();
    sm_chainfile_t *cf = NULL;
    size_t it = 0;
    set_format_version(path, 0);
    ck_assert_fails(sm_chainfile_resume(&cf, path, &meta, &it), SM_EMISMATCH,
                    "written by an older sysmap (format version 1): its multiplicative model "
                    "set a = 0, this version uses b = a; start a new run");
    ck_assert_ptr_null(cf);
    set_format_version(path, SM_CHAINFILE_FORMAT_VERSION + 1);
    ck_assert_fails(sm_chainfile_resume(&cf, path, &meta, &it), SM_EMISMATCH,
                    "written by a newer sysmap (format version 4");
    set_format_version(path, 2);
    ck_assert_fails(sm_chainfile_resume(&cf, path, &meta, &it), SM_EMISMATCH,
                    "older sysmap (format version 2): it kept one copy of the resume state");
    set_format_version(path, SM_CHAINFILE_FORMAT_VERSION);
    ck_assert_int_eq(sm_chainfile_resume(&cf, path, &meta, &it), SM_OK);
    ck_assert_uint_eq(it, STEPS);
    sm_chainfile_free(cf);
}
END_TEST

static herr_t count_prints(hid_t stack, void *data)
{
    (void)stack;
    ++*(int *)data;
    return 0;
}

START_TEST(resume_rejects_missing_or_corrupt_partial)
{
    int prints = 0; /* HDF5 would print these failures; the library must not */
    H5Eset_auto2(H5E_DEFAULT, count_prints, &prints);
    const char *path = sm_test_tmp_path("gone.h5");
    sm_chainfile_meta_t meta = test_meta();
    sm_chainfile_t *cf = NULL;
    size_t it = 0;
    ck_assert_fails(sm_chainfile_resume(&cf, path, &meta, &it), SM_EIO, partial_of(path));
    ck_assert_msg(strstr(sm_last_error(), "No such file") != NULL, "%s", sm_last_error());

    FILE *f = fopen(partial_of(path), "w");
    ck_assert_ptr_nonnull(f);
    fputs("not a run file\n", f);
    fclose(f);
    ck_assert_fails(sm_chainfile_resume(&cf, path, &meta, &it), SM_EIO,
                    "not an HDF5 file or corrupt");

    /* An HDF5 file without the sysmap group is not a run file. */
    hid_t file = H5Fcreate(partial_of(path), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(H5Gcreate2(file, "mcmc", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Fclose(file);
    ck_assert_fails(sm_chainfile_resume(&cf, path, &meta, &it), SM_EFORMAT,
                    "missing group 'sysmap'");
    ck_assert_msg(strstr(sm_last_error(), partial_of(path)) != NULL, "%s", sm_last_error());
    ck_assert_ptr_null(cf);
    ck_assert_int_eq(prints, 0);
}
END_TEST

START_TEST(create_fails_on_unwritable_path)
{
    sm_chainfile_meta_t meta = test_meta();
    sm_chainfile_t *cf = (sm_chainfile_t *)&cf;
    const char *path = "/nonexistent-sysmap-dir/run.h5";
    ck_assert_fails(sm_chainfile_create(&cf, path, &meta), SM_EIO,
                    "cannot create /nonexistent-sysmap-dir/run.h5.partial: No such file");
    ck_assert_ptr_null(cf);
    if (geteuid() != 0) { /* root writes anywhere */
        char dir[8192];
        snprintf(dir, sizeof dir, "%s", sm_test_tmp_path("readonly"));
        ck_assert_int_eq(mkdir(dir, 0555), 0);
        char inside[8300];
        snprintf(inside, sizeof inside, "%s/run.h5", dir);
        ck_assert_fails(sm_chainfile_create(&cf, inside, &meta), SM_EIO, "Permission denied");
        rmdir(dir);
    }
}
END_TEST

START_TEST(calls_reject_bad_arguments)
{
    const char *path = sm_test_tmp_path("args.h5");
    sm_chainfile_meta_t meta = test_meta();
    sm_chainfile_t *cf = NULL;
    size_t it;
    ck_assert_fails(sm_chainfile_create(NULL, path, &meta), SM_EINVAL, "NULL");
    ck_assert_fails(sm_chainfile_create(&cf, NULL, &meta), SM_EINVAL, "NULL");
    ck_assert_fails(sm_chainfile_resume(&cf, path, NULL, &it), SM_EINVAL, "NULL");
    meta.n_walkers = 0;
    ck_assert_fails(sm_chainfile_create(&cf, path, &meta), SM_EINVAL, "n_walkers (0)");
    meta = test_meta();
    meta.param_names = NULL;
    ck_assert_fails(sm_chainfile_create(&cf, path, &meta), SM_EINVAL, "param_names");
    ck_assert(!exists(partial_of(path)));

    /* A fresh file: no step to read, and no state to continue from. */
    meta = test_meta();
    ck_assert_int_eq(sm_chainfile_create(&cf, path, &meta), SM_OK);
    double c[1], lp[W], acc[W], coords[W * D];
    sm_rng_state_t rng;
    ck_assert_int_eq(sm_chainfile_read_chain(cf, c, lp), SM_OK);
    ck_assert_fails(sm_chainfile_read_state(cf, coords, lp, acc, &rng), SM_EINVAL,
                    "no complete step to continue from");
    ck_assert_fails(sm_chainfile_append(cf, 1, NULL, lp, acc, &rng, coords), SM_EINVAL, "NULL");
    ck_assert_fails(sm_chainfile_write_summary(cf, NULL), SM_EINVAL, "NULL");
    ck_assert_fails(sm_chainfile_write_warnings(cf, 1, NULL), SM_EINVAL, "NULL");
    ck_assert_fails(sm_chainfile_finish(NULL), SM_EINVAL, "NULL");
    sm_chainfile_free(cf);
    sm_chainfile_free(NULL);

    /* A resume of a file with no complete step gives iteration 0. */
    ck_assert_int_eq(sm_chainfile_resume(&cf, path, &meta, &it), SM_OK);
    ck_assert_uint_eq(it, 0);
    sm_chainfile_free(cf);
}
END_TEST

/* The partial file vanished under a running run: the append names it. */
START_TEST(append_and_finish_fail_when_the_file_is_gone)
{
    const char *path = sm_test_tmp_path("vanished.h5");
    fill_run();
    sm_chainfile_meta_t meta = test_meta();
    sm_chainfile_t *cf = NULL;
    ck_assert_int_eq(sm_chainfile_create(&cf, path, &meta), SM_OK);
    ck_assert_int_eq(unlink(partial_of(path)), 0);
    batch_state b;
    state_after(FIRST, &b);
    ck_assert_fails(sm_chainfile_append(cf, FIRST, &chain[0][0][0], &log_prob[0][0], b.accepted,
                                        &b.rng, &b.coords[0][0]),
                    SM_EIO, partial_of(path));
    ck_assert_fails(sm_chainfile_finish(cf), SM_EIO, partial_of(path));
    ck_assert(!exists(path));
}
END_TEST

/* Outputs checked before any work, and one run at a time on a PATH. */
START_TEST(outputs_are_checked_and_locked)
{
    char dir[8192];
    snprintf(dir, sizeof dir, "%s", sm_test_tmp_path("outdir"));
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    ck_assert_fails(sm_chainfile_check_output(""), SM_EINVAL, "the output path is empty");
    ck_assert_fails(sm_chainfile_check_output(dir), SM_EIO, "is a directory");
    ck_assert_fails(sm_chainfile_check_output("/nonexistent-sysmap-dir/run.h5"), SM_EIO,
                    "the folder /nonexistent-sysmap-dir: No such file");
    const char *path = sm_test_tmp_path("locked.h5");
    ck_assert_int_eq(sm_chainfile_check_output(path), SM_OK);

    sm_chainfile_meta_t meta = test_meta();
    sm_chainfile_t *cf = NULL, *other = (sm_chainfile_t *)&other;
    size_t it = 99;
    ck_assert_int_eq(sm_chainfile_create(&cf, path, &meta), SM_OK);
    /* Open-file-description locks: another open of the file conflicts even
     * in this process, as another process would. */
    ck_assert_fails(sm_chainfile_check_output(path), SM_EIO, "another run is writing");
    ck_assert_fails(sm_chainfile_create(&other, path, &meta), SM_EIO, "another run is writing");
    ck_assert_ptr_null(other);
    ck_assert_fails(sm_chainfile_resume(&other, path, &meta, &it), SM_EIO,
                    "another run is writing");
    ck_assert(exists(partial_of(path))); /* the refused calls left it alone */
    sm_chainfile_discard(cf);             /* a failed run: no file */
    ck_assert(!exists(partial_of(path)));
    ck_assert_int_eq(sm_chainfile_check_output(path), SM_OK);

    /* An empty partial file (a run killed while it made the file) resumes
     * from step 0; a free keeps the file and releases the lock. */
    FILE *f = fopen(partial_of(path), "w");
    fclose(f);
    ck_assert_int_eq(sm_chainfile_resume(&cf, path, &meta, &it), SM_OK);
    ck_assert_uint_eq(it, 0);
    sm_chainfile_free(cf);
    ck_assert(exists(partial_of(path)));
    ck_assert_int_eq(sm_chainfile_check_output(path), SM_OK);
    /* A failed create leaves a file it did not make as it was. */
    meta.n_walkers = 0;
    ck_assert_fails(sm_chainfile_create(&cf, path, &meta), SM_EINVAL, "n_walkers");
    ck_assert(exists(partial_of(path)));
}
END_TEST

/* Flips one bit of element `index` of dataset name (in group grp) of path's
 * partial file. */
static void flip_bit(const char *path, const char *name, size_t index)
{
    hid_t file = H5Fopen(partial_of(path), H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t dset = H5Dopen2(file, name, H5P_DEFAULT);
    hid_t space = H5Dget_space(dset);
    hssize_t n = H5Sget_simple_extent_npoints(space);
    uint64_t *v = malloc((size_t)n * sizeof *v);
    hid_t type = H5Dget_type(dset);
    ck_assert_uint_eq(H5Tget_size(type), 8);
    ck_assert_int_ge(H5Dread(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    v[index] ^= UINT64_C(1) << 20;
    ck_assert_int_ge(H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    free(v);
    H5Tclose(type);
    H5Sclose(space);
    H5Dclose(dset);
    H5Fclose(file);
}

/* One flipped bit anywhere in the resume state or the chain is found and
 * named; nothing resumes silently into another chain. */
START_TEST(resume_finds_a_flipped_bit)
{
    const char *path = sm_test_tmp_path("flipped.h5");
    const struct {
        const char *name;
        size_t index;
        const char *message;
    } cases[] = {
        /* two appends: the first commits slot 1, the second slot 0 */
        {"sysmap/resume_coords", 4, "sysmap/resume_coords does not match its checksum"},
        {"sysmap/resume_accepted", 2, "sysmap/resume_accepted does not match"},
        {"sysmap/resume_counters", 1, "resume_counters and resume_rng_gauss does not match"},
        {"mcmc/chain", 7, "mcmc/chain does not match its checksum"},
        {"mcmc/log_prob", W * STEPS - 1, "mcmc/log_prob does not match its checksum"},
        {"sysmap/resume_digest", 3, "mcmc/chain does not match its checksum"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        write_partial(path);
        flip_bit(path, cases[c].name, cases[c].index);
        sm_chainfile_meta_t meta = test_meta();
        sm_chainfile_t *cf = NULL;
        size_t it = 0;
        static double ch[STEPS][W][D], lp[STEPS][W];
        /* the resume checks the state (it restores emcee's copy from it),
         * reading the chain checks the chain */
        sm_status st = sm_chainfile_resume(&cf, path, &meta, &it);
        if (st == SM_OK)
            st = sm_chainfile_read_chain(cf, &ch[0][0][0], &lp[0][0]);
        ck_assert_msg(st == SM_EFORMAT, "%s: status %d (%s)", cases[c].name, (int)st,
                      sm_last_error());
        ck_assert_msg(strstr(sm_last_error(), cases[c].message) != NULL, "%s: %s",
                      cases[c].name, sm_last_error());
        ck_assert_msg(strstr(sm_last_error(), partial_of(path)) != NULL, "%s", sm_last_error());
        sm_chainfile_free(cf);
    }
}
END_TEST

/* The warnings dataset has room for SM_CHAINFILE_MAX_WARNINGS; a longer
 * warning is cut, saying so. */
START_TEST(warnings_fit_their_room)
{
    const char *path = sm_test_tmp_path("warnings.h5");
    fill_run();
    sm_chainfile_meta_t meta = test_meta();
    sm_chainfile_t *cf = NULL;
    ck_assert_int_eq(sm_chainfile_create(&cf, path, &meta), SM_OK);
    const char *many[SM_CHAINFILE_MAX_WARNINGS + 1] = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
    ck_assert_fails(sm_chainfile_write_warnings(cf, SM_CHAINFILE_MAX_WARNINGS + 1, many),
                    SM_EINVAL, "9 warnings, room for 8");
    char *longer = malloc(SM_CHAINFILE_WARNING_LEN + 100);
    memset(longer, 'x', SM_CHAINFILE_WARNING_LEN + 99);
    longer[SM_CHAINFILE_WARNING_LEN + 99] = '\0';
    const char *one[1] = {longer};
    ck_assert_int_eq(sm_chainfile_write_warnings(cf, 1, one), SM_OK);
    ck_assert_int_eq(sm_chainfile_finish(cf), SM_OK);
    longer[SM_CHAINFILE_WARNING_LEN - 3] = '.';
    longer[SM_CHAINFILE_WARNING_LEN - 2] = '.';
    longer[SM_CHAINFILE_WARNING_LEN - 1] = '.';
    longer[SM_CHAINFILE_WARNING_LEN] = '\0';
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t sys = H5Gopen2(file, "sysmap", H5P_DEFAULT);
    assert_warnings(sys, 1, one);
    H5Gclose(sys);
    H5Fclose(file);
    free(longer);
}
END_TEST

static Suite *chainfile_suite(void)
{
    Suite *s = suite_create("chainfile");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, written_file_has_emcee_layout);
    tcase_add_test(tc, partial_file_counts_complete_steps);
    tcase_add_test(tc, resume_reads_chain_and_state_and_continues);
    tcase_add_test(tc, resume_rejects_each_changed_setting);
    tcase_add_test(tc, resume_rolls_forward_an_append_cut_before_iteration);
    tcase_add_test(tc, resume_rejects_a_file_continued_elsewhere);
    tcase_add_test(tc, resume_rejects_other_format_versions);
    tcase_add_test(tc, resume_rejects_missing_or_corrupt_partial);
    tcase_add_test(tc, create_fails_on_unwritable_path);
    tcase_add_test(tc, calls_reject_bad_arguments);
    tcase_add_test(tc, append_and_finish_fail_when_the_file_is_gone);
    tcase_add_test(tc, outputs_are_checked_and_locked);
    tcase_add_test(tc, resume_finds_a_flipped_bit);
    tcase_add_test(tc, warnings_fit_their_room);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sm_test_run(chainfile_suite());
}
