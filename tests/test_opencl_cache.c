/* The program binary cache: the file store on its own (FNV-1a 64 reference
 * vectors, key layout, directory rules, entry layout, damaged files, who
 * may write the directory and entries, FIFOs), then
 * sm_cl_build_program on OpenCL device 0 (PoCL in CI) with a kernel
 * out[i] = 2 * in[i] + OPT whose outputs are checked by hand arithmetic. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "cl.h"
#include "sysmap/status.h"
#include "testutil.h"

/* ---- helpers ---------------------------------------------------------- */

/* A fresh scratch directory for this test (sm_test_tmp_path names it per
 * process, and Check runs each test in its own process). */
static void scratch_dir(const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s", sm_test_tmp_path(name));
    ck_assert_int_eq(mkdir(out, 0755), 0);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
}

static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    ck_assert_int_ge(n, 0);
    rewind(f);
    unsigned char *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return buf;
}

static void spill(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, size, f), size);
    ck_assert_int_eq(fclose(f), 0);
}

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Counts the entries (*.bin) and anything else (left-over temporaries) in
 * dir; the last entry's path goes to path when given. */
static void count_files(const char *dir, int *entries, int *others, char *path, size_t size)
{
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot list %s", dir);
    *entries = *others = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (len > 4 && strcmp(e->d_name + len - 4, ".bin") == 0) {
            ++*entries;
            if (path != NULL)
                snprintf(path, size, "%s/%s", dir, e->d_name);
        } else {
            ++*others;
        }
    }
    closedir(d);
}

/* The path of the one entry in dir, asserting there is exactly one and no
 * temporary file beside it. */
static void only_entry(const char *dir, char *path, size_t size)
{
    int entries, others;
    count_files(dir, &entries, &others, path, size);
    ck_assert_int_eq(entries, 1);
    ck_assert_int_eq(others, 0);
}

static int contains(const unsigned char *buf, size_t size, const char *needle)
{
    size_t len = strlen(needle);
    for (size_t i = 0; i + len <= size; i++)
        if (memcmp(buf + i, needle, len) == 0)
            return 1;
    return 0;
}

static void use_cache_dir(const char *dir)
{
    ck_assert_int_eq(setenv("SYSMAP_CACHE_DIR", dir, 1), 0);
}

/* ---- the file store ---------------------------------------------------- */

START_TEST(test_hash_reference_vectors)
{
    /* FNV-1a 64 reference values (Fowler/Noll/Vo test suite). */
    ck_assert_uint_eq(sm_cache_hash("", 0), 0xcbf29ce484222325ull);
    ck_assert_uint_eq(sm_cache_hash("a", 1), 0xaf63dc4c8601ec8cull);
    ck_assert_uint_eq(sm_cache_hash("foobar", 6), 0x85944171f73967e8ull);
}
END_TEST

START_TEST(test_key_layout_and_entry_name)
{
    char dir[4096];
    scratch_dir("keys", dir, sizeof dir);
    use_cache_dir(dir);
    const char *ab_c[] = {"ab", "c"}, *a_bc[] = {"a", "bc"};
    sm_cache_entry_t e1, e2;
    ck_assert_int_eq(sm_cache_entry_init(&e1, ab_c, 2), 1);
    ck_assert_int_eq(sm_cache_entry_init(&e2, a_bc, 2), 1);
    /* Length-prefixed fields: the same concatenation gives different keys. */
    ck_assert_str_eq(e1.key, "2:ab\n1:c\n");
    ck_assert_uint_eq(e1.key_len, 9);
    ck_assert_str_eq(e2.key, "1:a\n2:bc\n");
    /* FNV-1a 64 of "2:ab\n1:c\n", by a Python transcription of FNV-1a. */
    char want[4200];
    snprintf(want, sizeof want, "%s/c4496df70cca88de.bin", dir);
    ck_assert_str_eq(e1.path, want);
    ck_assert_str_ne(e1.path, e2.path);
    sm_cache_entry_free(&e1);
    sm_cache_entry_free(&e2);
    ck_assert_ptr_null(e1.key);
    ck_assert_ptr_null(e1.path);
}
END_TEST

static void assert_private_dir(const char *path)
{
    struct stat st;
    ck_assert_msg(stat(path, &st) == 0, "%s missing", path);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_uint_eq(st.st_mode & 0777, 0700);
}

START_TEST(test_directory_rules)
{
    char root[1024], want[2048];
    scratch_dir("dirs", root, sizeof root);

    /* SYSMAP_CACHE_DIR wins, created with its missing parents. */
    snprintf(want, sizeof want, "%s/own/deeper/cache", root);
    use_cache_dir(want);
    ck_assert_int_eq(setenv("XDG_CACHE_HOME", root, 1), 0);
    char *dir = sm_cache_dir();
    ck_assert_ptr_nonnull(dir);
    ck_assert_str_eq(dir, want);
    assert_private_dir(want);
    free(dir);

    /* Empty SYSMAP_CACHE_DIR: $XDG_CACHE_HOME/sysmap. */
    use_cache_dir("");
    snprintf(want, sizeof want, "%s/sysmap", root);
    dir = sm_cache_dir();
    ck_assert_ptr_nonnull(dir);
    ck_assert_str_eq(dir, want);
    assert_private_dir(want);
    free(dir);

    /* Relative XDG_CACHE_HOME is ignored (XDG spec): $HOME/.cache/sysmap. */
    ck_assert_int_eq(unsetenv("SYSMAP_CACHE_DIR"), 0);
    ck_assert_int_eq(setenv("XDG_CACHE_HOME", "relative/cache", 1), 0);
    char home[1536];
    snprintf(home, sizeof home, "%s/home", root);
    ck_assert_int_eq(mkdir(home, 0755), 0);
    ck_assert_int_eq(setenv("HOME", home, 1), 0);
    snprintf(want, sizeof want, "%s/.cache/sysmap", home);
    dir = sm_cache_dir();
    ck_assert_ptr_nonnull(dir);
    ck_assert_str_eq(dir, want);
    assert_private_dir(want);
    free(dir);

    /* No usable variable at all: no cache, and no entry. */
    ck_assert_int_eq(unsetenv("XDG_CACHE_HOME"), 0);
    ck_assert_int_eq(unsetenv("HOME"), 0);
    ck_assert_ptr_null(sm_cache_dir());
    const char *fields[] = {"x"};
    sm_cache_entry_t e;
    ck_assert_int_eq(sm_cache_entry_init(&e, fields, 1), 0);
    ck_assert_ptr_null(e.path);
    ck_assert_ptr_null(e.key);
    unsigned char *data;
    size_t size;
    ck_assert_int_eq(sm_cache_load(&e, &data, &size), 0);
    ck_assert_int_eq(sm_cache_store(&e, "x", 1), 0);

    /* A directory that cannot be created (under a regular file). */
    char file[1536];
    snprintf(file, sizeof file, "%s/plain-file", root);
    write_text(file, "not a directory\n");
    snprintf(want, sizeof want, "%s/cache", file);
    use_cache_dir(want);
    ck_assert_ptr_null(sm_cache_dir());
    /* The regular file itself is not a directory either. */
    use_cache_dir(file);
    ck_assert_ptr_null(sm_cache_dir());
}
END_TEST

START_TEST(test_store_load_layout)
{
    char dir[4096];
    scratch_dir("layout", dir, sizeof dir);
    use_cache_dir(dir);
    const char *fields[] = {"ab", "c"};
    sm_cache_entry_t e;
    ck_assert_int_eq(sm_cache_entry_init(&e, fields, 2), 1);
    unsigned char *data;
    size_t size;
    ck_assert_int_eq(sm_cache_load(&e, &data, &size), 0); /* nothing stored yet */
    ck_assert_ptr_null(data);

    ck_assert_int_eq(sm_cache_store(&e, "foobar", 6), 1);
    char path[4200];
    only_entry(dir, path, sizeof path);
    ck_assert_str_eq(path, e.path);
    size_t file_size;
    unsigned char *file = slurp(e.path, &file_size);
    ck_assert_uint_eq(file_size, 32 + 9 + 6);
    ck_assert_int_eq(memcmp(file, "SMCLBIN1", 8), 0);
    ck_assert_uint_eq(le64(file + 8), 9);
    ck_assert_uint_eq(le64(file + 16), 6);
    ck_assert_uint_eq(le64(file + 24), 0x85944171f73967e8ull); /* FNV-1a 64 of "foobar" */
    ck_assert_int_eq(memcmp(file + 32, "2:ab\n1:c\n", 9), 0);
    ck_assert_int_eq(memcmp(file + 41, "foobar", 6), 0);

    ck_assert_int_eq(sm_cache_load(&e, &data, &size), 1);
    ck_assert_uint_eq(size, 6);
    ck_assert_int_eq(memcmp(data, "foobar", 6), 0);
    free(data);

    /* Replacing an entry, and an empty payload. */
    ck_assert_int_eq(sm_cache_store(&e, "", 0), 1);
    only_entry(dir, path, sizeof path);
    ck_assert_int_eq(sm_cache_load(&e, &data, &size), 1);
    ck_assert_uint_eq(size, 0);
    free(data);
    free(file);
    sm_cache_entry_free(&e);
}
END_TEST

/* Each way a file at an entry's path can be wrong reads as a miss. */
START_TEST(test_damaged_files_miss)
{
    char dir[4096];
    scratch_dir("damaged", dir, sizeof dir);
    use_cache_dir(dir);
    const char *fields[] = {"ab", "c"};
    sm_cache_entry_t e;
    ck_assert_int_eq(sm_cache_entry_init(&e, fields, 2), 1);
    ck_assert_int_eq(sm_cache_store(&e, "foobar", 6), 1);
    size_t good_size;
    unsigned char *good = slurp(e.path, &good_size);
    unsigned char bad[64];
    unsigned char *data;
    size_t size;
    for (int kind = 0; kind < 7; kind++) {
        memcpy(bad, good, good_size);
        size_t bad_size = good_size;
        switch (kind) {
        case 0: bad_size = good_size - 1; break;           /* truncated payload */
        case 1: bad_size = 20; break;                      /* truncated header */
        case 2: bad[0] = 'X'; break;                       /* foreign magic */
        case 3: bad[41] ^= 1; break;                       /* flipped payload bit */
        case 4: bad[32] = '3'; break;                      /* another key, same name */
        case 5: bad[8] = 200; break;                       /* key longer than the file */
        case 6: bad[good_size] = '!'; bad_size++; break;   /* trailing bytes */
        }
        spill(e.path, bad, bad_size);
        ck_assert_msg(sm_cache_load(&e, &data, &size) == 0, "damage %d read as a hit", kind);
        ck_assert_ptr_null(data);
    }
    /* Not a regular file. */
    ck_assert_int_eq(unlink(e.path), 0);
    ck_assert_int_eq(mkdir(e.path, 0700), 0);
    ck_assert_int_eq(sm_cache_load(&e, &data, &size), 0);
    /* ... and a store that cannot rename over it leaves no temporary. */
    ck_assert_int_eq(sm_cache_store(&e, "foobar", 6), 0);
    ck_assert_int_eq(rmdir(e.path), 0);
    int entries, others;
    count_files(dir, &entries, &others, NULL, 0);
    ck_assert_int_eq(entries + others, 0);
    free(good);
    sm_cache_entry_free(&e);
}
END_TEST

/* Someone else's uid, for the cases only root can make. */
#define OTHER_UID 65534

/* Only a directory of this user's that nobody else may write is used. */
START_TEST(test_private_directory_only)
{
    char root[1024], dir[2048];
    scratch_dir("private", root, sizeof root);
    static const mode_t modes[] = {0755, 0700, 0777, 0770, 0757};
    for (size_t k = 0; k < sizeof modes / sizeof modes[0]; k++) {
        snprintf(dir, sizeof dir, "%s/mode-%o", root, (unsigned)modes[k]);
        ck_assert_int_eq(mkdir(dir, 0700), 0);
        ck_assert_int_eq(chmod(dir, modes[k]), 0);
        use_cache_dir(dir);
        char *got = sm_cache_dir();
        int usable = (modes[k] & 022) == 0;
        ck_assert_msg((got != NULL) == usable, "mode %o: %s", (unsigned)modes[k],
                      got ? got : "(none)");
        const char *fields[] = {"x"};
        sm_cache_entry_t e;
        ck_assert_int_eq(sm_cache_entry_init(&e, fields, 1), usable);
        ck_assert_int_eq(sm_cache_store(&e, "x", 1), usable);
        sm_cache_entry_free(&e);
        free(got);
    }
    if (geteuid() == 0) {
        snprintf(dir, sizeof dir, "%s/foreign", root);
        ck_assert_int_eq(mkdir(dir, 0700), 0);
        ck_assert_int_eq(chown(dir, OTHER_UID, OTHER_UID), 0);
        use_cache_dir(dir);
        ck_assert_ptr_null(sm_cache_dir());
    }
}
END_TEST

/* Entry files others may write or own, FIFOs and oversized files are
 * misses; the next store replaces them. */
START_TEST(test_entry_file_rules)
{
    char dir[4096];
    scratch_dir("entries", dir, sizeof dir);
    use_cache_dir(dir);
    const char *fields[] = {"ab", "c"};
    sm_cache_entry_t e;
    ck_assert_int_eq(sm_cache_entry_init(&e, fields, 2), 1);
    unsigned char *data;
    size_t size;
    ck_assert_int_eq(sm_cache_store(&e, "foobar", 6), 1);
    ck_assert_int_eq(chmod(e.path, 0666), 0);
    ck_assert_int_eq(sm_cache_load(&e, &data, &size), 0);
    ck_assert_int_eq(chmod(e.path, 0644), 0);
    ck_assert_int_eq(sm_cache_load(&e, &data, &size), 1);
    ck_assert_int_eq(memcmp(data, "foobar", 6), 0);
    free(data);
    if (geteuid() == 0) {
        ck_assert_int_eq(chown(e.path, OTHER_UID, OTHER_UID), 0);
        ck_assert_int_eq(sm_cache_load(&e, &data, &size), 0);
    }

    /* A FIFO at the entry's path: skipped at once, then replaced. */
    ck_assert_int_eq(unlink(e.path), 0);
    ck_assert_int_eq(mkfifo(e.path, 0600), 0);
    time_t start = time(NULL);
    ck_assert_int_eq(sm_cache_load(&e, &data, &size), 0);
    ck_assert_int_le(time(NULL) - start, 5);
    ck_assert_int_eq(sm_cache_store(&e, "foobar", 6), 1);
    ck_assert_int_eq(sm_cache_load(&e, &data, &size), 1);
    free(data);

    /* Beyond SM_CACHE_ENTRY_MAX (a sparse file): not even read. */
    int fd = open(e.path, O_WRONLY | O_TRUNC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)SM_CACHE_ENTRY_MAX + 1), 0);
    close(fd);
    ck_assert_int_eq(sm_cache_load(&e, &data, &size), 0);
    ck_assert_ptr_null(data);
    sm_cache_entry_free(&e);
}
END_TEST

/* ---- sm_cl_build_program on device 0 ----------------------------------- */

#define N_ITEMS 37

static const char twice_source[] =
    "__kernel void twice(__global const int *in, __global int *out)\n"
    "{\n"
    "    size_t i = get_global_id(0);\n"
    "    out[i] = 2 * in[i] + OPT;\n"
    "}\n";

typedef struct {
    sm_device_t info;
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
} env_t;

/* 1 when device 0 is ready; plain return codes so forked children can use it. */
static int env_open(env_t *env)
{
    cl_platform_id platform;
    cl_int err;
    if (sm_opencl_select("0", 0, &env->info) != SM_OK ||
        sm_cl_device_ids(&env->info, &platform, &env->device) != SM_OK)
        return 0;
    env->context = clCreateContext(NULL, 1, &env->device, NULL, NULL, &err);
    if (err != CL_SUCCESS)
        return 0;
    env->queue = clCreateCommandQueue(env->context, env->device, 0, &err);
    return err == CL_SUCCESS;
}

static void env_close(env_t *env)
{
    clReleaseCommandQueue(env->queue);
    clReleaseContext(env->context);
}

static void open_device(env_t *env)
{
    ck_assert_msg(env_open(env), "OpenCL device 0: %s", sm_last_error());
}

/* Runs twice on in[i] = 3 i - 50; returns the number of wrong outputs
 * (out[i] must be 2 in[i] + opt), or -1 when the kernel could not run. */
static int kernel_errors(const env_t *env, cl_program program, int opt)
{
    int in[N_ITEMS], out[N_ITEMS];
    for (int i = 0; i < N_ITEMS; i++) {
        in[i] = 3 * i - 50;
        out[i] = -12345;
    }
    cl_int err;
    cl_kernel kernel = clCreateKernel(program, "twice", &err);
    if (err != CL_SUCCESS)
        return -1;
    cl_mem in_buf = clCreateBuffer(env->context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                                   sizeof in, in, &err);
    cl_mem out_buf = clCreateBuffer(env->context, CL_MEM_WRITE_ONLY, sizeof out, NULL, &err);
    size_t global = N_ITEMS;
    int wrong = -1;
    if (in_buf != NULL && out_buf != NULL &&
        clSetKernelArg(kernel, 0, sizeof in_buf, &in_buf) == CL_SUCCESS &&
        clSetKernelArg(kernel, 1, sizeof out_buf, &out_buf) == CL_SUCCESS &&
        clEnqueueNDRangeKernel(env->queue, kernel, 1, NULL, &global, NULL, 0, NULL, NULL) ==
            CL_SUCCESS &&
        clEnqueueReadBuffer(env->queue, out_buf, CL_TRUE, 0, sizeof out, out, 0, NULL, NULL) ==
            CL_SUCCESS) {
        wrong = 0;
        for (int i = 0; i < N_ITEMS; i++)
            wrong += out[i] != 2 * in[i] + opt;
    }
    if (in_buf != NULL)
        clReleaseMemObject(in_buf);
    if (out_buf != NULL)
        clReleaseMemObject(out_buf);
    clReleaseKernel(kernel);
    return wrong;
}

/* Builds twice with -DOPT=opt, checks its outputs and returns *cached. */
static int build_and_run(const env_t *env, int opt)
{
    char options[64];
    snprintf(options, sizeof options, "-DOPT=%d", opt);
    cl_program program = NULL;
    int cached = -1;
    sm_status st = sm_cl_build_program(env->context, env->device, &env->info, twice_source,
                                       options, &program, &cached);
    ck_assert_msg(st == SM_OK, "build failed: %s", sm_last_error());
    ck_assert_ptr_nonnull(program);
    ck_assert_int_eq(kernel_errors(env, program, opt), 0);
    clReleaseProgram(program);
    ck_assert(cached == 0 || cached == 1);
    return cached;
}

START_TEST(test_miss_then_hit)
{
    char dir[4096], path[4200];
    scratch_dir("hit", dir, sizeof dir);
    use_cache_dir(dir);
    env_t env;
    open_device(&env);
    ck_assert_int_eq(build_and_run(&env, 5), 0);
    only_entry(dir, path, sizeof path);
    size_t size;
    unsigned char *file = slurp(path, &size);
    ck_assert_uint_gt(size, 32);
    ck_assert_int_eq(memcmp(file, "SMCLBIN1", 8), 0);
    /* The stored key holds the device and the whole source. */
    ck_assert(contains(file, size, env.info.name));
    ck_assert(contains(file, size, twice_source));
    free(file);
    ck_assert_int_eq(build_and_run(&env, 5), 1);
    ck_assert_int_eq(build_and_run(&env, 5), 1);
    only_entry(dir, path, sizeof path);

    /* *cached may be NULL. */
    cl_program program;
    ck_assert_int_eq(sm_cl_build_program(env.context, env.device, &env.info, twice_source,
                                         "-DOPT=5", &program, NULL),
                     SM_OK);
    ck_assert_int_eq(kernel_errors(&env, program, 5), 0);
    clReleaseProgram(program);
    env_close(&env);
}
END_TEST

START_TEST(test_options_are_part_of_the_key)
{
    char dir[4096];
    scratch_dir("options", dir, sizeof dir);
    use_cache_dir(dir);
    env_t env;
    open_device(&env);
    ck_assert_int_eq(build_and_run(&env, 5), 0);
    ck_assert_int_eq(build_and_run(&env, 7), 0);
    int entries, others;
    count_files(dir, &entries, &others, NULL, 0);
    ck_assert_int_eq(entries, 2);
    ck_assert_int_eq(others, 0);
    ck_assert_int_eq(build_and_run(&env, 7), 1);
    ck_assert_int_eq(build_and_run(&env, 5), 1);
    env_close(&env);
}
END_TEST

/* Damages the one entry in dir in the way kind says; other_entry is a valid
 * entry for -DOPT=7 (another key). */
static void damage_entry(const char *path, int kind, const char *other_entry)
{
    size_t size;
    unsigned char *file = slurp(path, &size);
    switch (kind) {
    case 0: /* bytes overwritten in the middle of the binary */
        for (size_t i = size / 2; i < size / 2 + 64 && i < size; i++)
            file[i] ^= 0x5a;
        spill(path, file, size);
        break;
    case 1: /* truncated (PoCL itself crashes on a truncated binary) */
        ck_assert_int_eq(truncate(path, (off_t)(size / 2)), 0);
        break;
    case 2: /* a foreign file */
        write_text(path, "this is not a sysmap cache entry\n");
        break;
    case 3: { /* an intact entry whose binary the driver rejects */
        sm_cache_entry_t e = {(char *)file + 32, (size_t)le64(file + 8), (char *)path};
        unsigned char garbage[4096];
        memset(garbage, 'A', sizeof garbage);
        ck_assert_int_eq(sm_cache_store(&e, garbage, sizeof garbage), 1);
        break;
    }
    case 4: { /* another key's entry under this name, as after a hash collision */
        size_t other_size;
        unsigned char *other = slurp(other_entry, &other_size);
        spill(path, other, other_size);
        free(other);
        break;
    }
    }
    free(file);
}

START_TEST(test_damaged_entry_is_rebuilt)
{
    int kind = _i;
    char other_dir[4096], other_path[4200], dir[4096], path[4200];
    env_t env;
    open_device(&env);
    scratch_dir("other", other_dir, sizeof other_dir);
    use_cache_dir(other_dir);
    ck_assert_int_eq(build_and_run(&env, 7), 0);
    only_entry(other_dir, other_path, sizeof other_path);

    scratch_dir("damaged-entry", dir, sizeof dir);
    use_cache_dir(dir);
    ck_assert_int_eq(build_and_run(&env, 5), 0);
    only_entry(dir, path, sizeof path);
    damage_entry(path, kind, other_path);
    /* Built from source (outputs checked: not the OPT=7 binary), and the
     * entry is replaced by a valid one. */
    ck_assert_int_eq(build_and_run(&env, 5), 0);
    only_entry(dir, path, sizeof path);
    ck_assert_int_eq(build_and_run(&env, 5), 1);
    env_close(&env);
}
END_TEST

START_TEST(test_build_failure_carries_the_log)
{
    char dir[4096];
    scratch_dir("failure", dir, sizeof dir);
    use_cache_dir(dir);
    env_t env;
    open_device(&env);
    const char *bad = "__kernel void broken(__global int *out)\n"
                      "{\n"
                      "    out[0] = sm_undeclared_identifier;\n"
                      "}\n";
    cl_program program = (cl_program)&env; /* must come back NULL */
    int cached = -1;
    ck_assert_int_eq(sm_cl_build_program(env.context, env.device, &env.info, bad, NULL,
                                         &program, &cached),
                     SM_EDEVICE);
    ck_assert_ptr_null(program);
    ck_assert_int_eq(cached, 0);
    char prefix[512];
    snprintf(prefix, sizeof prefix, "OpenCL kernel build failed on %s (CL_BUILD_PROGRAM_FAILURE): ",
             env.info.name);
    const char *msg = sm_last_error();
    ck_assert_msg(strncmp(msg, prefix, strlen(prefix)) == 0, "message: %s", msg);
    ck_assert_msg(strstr(msg, "sm_undeclared_identifier") != NULL, "message: %s", msg);
    int entries, others;
    count_files(dir, &entries, &others, NULL, 0);
    ck_assert_int_eq(entries + others, 0);
    env_close(&env);
}
END_TEST

/* A log far longer than the message: it is cut, the first error kept. */
START_TEST(test_long_log_keeps_the_first_error)
{
    char dir[4096];
    scratch_dir("long-log", dir, sizeof dir);
    use_cache_dir(dir);
    env_t env;
    open_device(&env);
    char source[8192];
    size_t used = (size_t)snprintf(source, sizeof source,
                                   "__kernel void broken(__global int *out)\n{\n");
    for (int i = 0; i < 40; i++)
        used += (size_t)snprintf(source + used, sizeof source - used,
                                 "    out[%d] = sm_undeclared_%02d;\n", i, i);
    snprintf(source + used, sizeof source - used, "}\n");
    cl_program program;
    ck_assert_int_eq(sm_cl_build_program(env.context, env.device, &env.info, source, "-DOPT=1",
                                         &program, NULL),
                     SM_EDEVICE);
    const char *msg = sm_last_error();
    ck_assert_msg(strstr(msg, "sm_undeclared_00") != NULL, "message: %s", msg);
    ck_assert_uint_lt(strlen(msg), 1024);
    env_close(&env);
}
END_TEST

START_TEST(test_no_program_object)
{
    char dir[4096];
    scratch_dir("no-context", dir, sizeof dir);
    use_cache_dir(dir);
    env_t env;
    open_device(&env);
    ck_assert_int_eq(build_and_run(&env, 5), 0);
    /* A hit that cannot be loaded falls back to source, which fails too. */
    cl_program program;
    int cached = -1;
    ck_assert_int_eq(sm_cl_build_program(NULL, env.device, &env.info, twice_source, "-DOPT=5",
                                         &program, &cached),
                     SM_EDEVICE);
    ck_assert_int_eq(cached, 0);
    ck_assert_ptr_null(program);
    const char *msg = sm_last_error();
    ck_assert_msg(strstr(msg, "OpenCL kernel build failed on") != NULL, "message: %s", msg);
    ck_assert_msg(strstr(msg, "CL_INVALID_CONTEXT") != NULL, "message: %s", msg);
    env_close(&env);
}
END_TEST

START_TEST(test_unusable_cache_still_builds)
{
    char root[4096], file[4200], under_file[4300];
    scratch_dir("unusable", root, sizeof root);
    snprintf(file, sizeof file, "%s/plain-file", root);
    write_text(file, "not a directory\n");
    snprintf(under_file, sizeof under_file, "%s/cache", file);
    use_cache_dir(under_file);
    env_t env;
    open_device(&env);
    ck_assert_int_eq(build_and_run(&env, 5), 0);
    ck_assert_int_eq(build_and_run(&env, 5), 0);

    /* No SYSMAP_CACHE_DIR, XDG_CACHE_HOME or HOME. */
    ck_assert_int_eq(unsetenv("SYSMAP_CACHE_DIR"), 0);
    ck_assert_int_eq(unsetenv("XDG_CACHE_HOME"), 0);
    ck_assert_int_eq(unsetenv("HOME"), 0);
    ck_assert_int_eq(build_and_run(&env, 5), 0);
    ck_assert_int_eq(build_and_run(&env, 5), 0);
    env_close(&env);
}
END_TEST

START_TEST(test_xdg_cache_home)
{
    char root[4096], sub[4200], path[4300];
    scratch_dir("xdg", root, sizeof root);
    ck_assert_int_eq(unsetenv("SYSMAP_CACHE_DIR"), 0);
    ck_assert_int_eq(setenv("XDG_CACHE_HOME", root, 1), 0);
    env_t env;
    open_device(&env);
    ck_assert_int_eq(build_and_run(&env, 5), 0);
    snprintf(sub, sizeof sub, "%s/sysmap", root);
    assert_private_dir(sub);
    only_entry(sub, path, sizeof path);
    ck_assert_int_eq(build_and_run(&env, 5), 1);
    env_close(&env);
}
END_TEST

/* An entry whose binary is cut in half but whose length and digest were
 * rewritten to match (PoCL aborts on such a binary): planted in a cache
 * directory anyone may write, it is never loaded, since such a directory
 * is not used at all. */
START_TEST(test_forged_entry_in_shared_dir)
{
    char own[4096], shared[4096], path[4200], planted[8400];
    env_t env;
    open_device(&env);
    scratch_dir("own", own, sizeof own);
    use_cache_dir(own);
    ck_assert_int_eq(build_and_run(&env, 5), 0);
    only_entry(own, path, sizeof path);
    size_t size;
    unsigned char *file = slurp(path, &size);
    size_t key_len = (size_t)le64(file + 8), payload = size - 32 - key_len, cut = payload / 2;
    unsigned char field[8];
    uint64_t hash = sm_cache_hash(file + 32 + key_len, cut);
    for (int i = 0; i < 8; i++)
        field[i] = (unsigned char)(cut >> (8 * i));
    memcpy(file + 16, field, 8);
    for (int i = 0; i < 8; i++)
        field[i] = (unsigned char)(hash >> (8 * i));
    memcpy(file + 24, field, 8);

    scratch_dir("shared", shared, sizeof shared);
    ck_assert_int_eq(chmod(shared, 0777), 0);
    snprintf(planted, sizeof planted, "%s/%s", shared, strrchr(path, '/') + 1);
    spill(planted, file, 32 + key_len + cut);
    use_cache_dir(shared);
    ck_assert_int_eq(build_and_run(&env, 5), 0); /* from source, outputs checked */
    ck_assert_int_eq(build_and_run(&env, 5), 0); /* and nothing stored there */
    size_t left;
    unsigned char *after = slurp(planted, &left);
    ck_assert_uint_eq(left, 32 + key_len + cut);
    free(after);
    free(file);
    env_close(&env);
}
END_TEST

#define N_BUILDERS 3

/* Builders released together into an empty cache. The test process must
 * not have touched OpenCL before forking (driver threads do not survive a
 * fork), so each child opens the device itself. */
START_TEST(test_concurrent_builders)
{
    char dir[4096], path[4200];
    scratch_dir("concurrent", dir, sizeof dir);
    use_cache_dir(dir);
    int gate[2];
    ck_assert_int_eq(pipe(gate), 0);
    pid_t pids[N_BUILDERS];
    for (int c = 0; c < N_BUILDERS; c++) {
        pids[c] = fork();
        ck_assert_int_ge(pids[c], 0);
        if (pids[c] == 0) {
            close(gate[1]);
            char byte;
            if (read(gate[0], &byte, 1) != 0) /* EOF: all released */
                _exit(2);
            env_t env;
            cl_program program;
            if (!env_open(&env) ||
                sm_cl_build_program(env.context, env.device, &env.info, twice_source,
                                    "-DOPT=5", &program, NULL) != SM_OK)
                _exit(3);
            _exit(kernel_errors(&env, program, 5) == 0 ? 0 : 4);
        }
    }
    close(gate[0]);
    close(gate[1]);
    for (int c = 0; c < N_BUILDERS; c++) {
        int status;
        ck_assert_int_eq(waitpid(pids[c], &status, 0), pids[c]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "builder %d ended with status %d", c, status);
    }
    only_entry(dir, path, sizeof path);
    env_t env;
    open_device(&env);
    ck_assert_int_eq(build_and_run(&env, 5), 1);
    env_close(&env);
}
END_TEST

static Suite *opencl_cache_suite(void)
{
    Suite *s = suite_create("opencl_cache");
    TCase *store = tcase_create("store");
    tcase_add_test(store, test_hash_reference_vectors);
    tcase_add_test(store, test_key_layout_and_entry_name);
    tcase_add_test(store, test_directory_rules);
    tcase_add_test(store, test_store_load_layout);
    tcase_add_test(store, test_damaged_files_miss);
    tcase_add_test(store, test_private_directory_only);
    tcase_add_test(store, test_entry_file_rules);
    suite_add_tcase(s, store);
    TCase *build = tcase_create("build");
    tcase_add_test(build, test_miss_then_hit);
    tcase_add_test(build, test_options_are_part_of_the_key);
    tcase_add_loop_test(build, test_damaged_entry_is_rebuilt, 0, 5);
    tcase_add_test(build, test_build_failure_carries_the_log);
    tcase_add_test(build, test_long_log_keeps_the_first_error);
    tcase_add_test(build, test_no_program_object);
    tcase_add_test(build, test_unusable_cache_still_builds);
    tcase_add_test(build, test_xdg_cache_home);
    tcase_add_test(build, test_concurrent_builders);
    tcase_add_test(build, test_forged_entry_in_shared_dir);
    suite_add_tcase(s, build);
    return s;
}

int main(void)
{
    return sm_test_run(opencl_cache_suite());
}
