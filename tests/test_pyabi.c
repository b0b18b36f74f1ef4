/* The Python binding's ctypes structures against the compiler's layout of
 * the headers they mirror (tests/py_abi.py compares), so a change to a
 * public struct that the binding does not follow fails here. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "sysmap/chainfile.h"
#include "sysmap/input.h"
#include "sysmap/model.h"
#include "sysmap/registry.h"
#include "sysmap/rng.h"
#include "sysmap/run.h"
#include "sysmap/stats.h"
#include "testutil.h"

static char args[8192];

static void add(const char *name, size_t value)
{
    size_t used = strlen(args);
    snprintf(args + used, sizeof args - used, " %s=%zu", name, value);
}

#define FIELD(cls, type, f) add(cls "." #f, offsetof(type, f))

START_TEST(ctypes_layout)
{
    args[0] = '\0';
    add("Model", sizeof(sm_model_t));
    FIELD("Model", sm_model_t, struct_size);
    FIELD("Model", sm_model_t, kind);
    FIELD("Model", sm_model_t, skew);
    FIELD("Model", sm_model_t, n_sys);
    FIELD("Model", sm_model_t, sigma_min);
    add("RunConfig", sizeof(sm_run_config_t));
    FIELD("RunConfig", sm_run_config_t, struct_size);
    FIELD("RunConfig", sm_run_config_t, model);
    FIELD("RunConfig", sm_run_config_t, skew);
    FIELD("RunConfig", sm_run_config_t, sigma_min);
    FIELD("RunConfig", sm_run_config_t, n_walkers);
    FIELD("RunConfig", sm_run_config_t, n_steps);
    FIELD("RunConfig", sm_run_config_t, n_burn);
    FIELD("RunConfig", sm_run_config_t, seed);
    FIELD("RunConfig", sm_run_config_t, basis);
    FIELD("RunConfig", sm_run_config_t, backend);
    FIELD("RunConfig", sm_run_config_t, device);
    FIELD("RunConfig", sm_run_config_t, precision);
    FIELD("RunConfig", sm_run_config_t, flush_every);
    FIELD("RunConfig", sm_run_config_t, init);
    FIELD("RunConfig", sm_run_config_t, init_path);
    FIELD("RunConfig", sm_run_config_t, output);
    FIELD("RunConfig", sm_run_config_t, maps_out);
    FIELD("RunConfig", sm_run_config_t, resume);
    add("HpxSource", sizeof(sm_hpx_source_t));
    FIELD("HpxSource", sm_hpx_source_t, column);
    add("Input", sizeof(sm_input_t));
    FIELD("Input", sm_input_t, map);
    FIELD("Input", sm_input_t, map_kind);
    FIELD("Input", sm_input_t, templates);
    FIELD("Input", sm_input_t, n_templates);
    FIELD("Input", sm_input_t, mask);
    FIELD("Input", sm_input_t, mask_min);
    FIELD("Input", sm_input_t, standardize);
    FIELD("Input", sm_input_t, resample);
    add("Summary", sizeof(sm_chainfile_summary_t));
    FIELD("Summary", sm_chainfile_summary_t, median);
    FIELD("Summary", sm_chainfile_summary_t, cov_b);
    FIELD("Summary", sm_chainfile_summary_t, autocorr_too_short);
    FIELD("Summary", sm_chainfile_summary_t, ess);
    FIELD("Summary", sm_chainfile_summary_t, wall_s);
    FIELD("Summary", sm_chainfile_summary_t, evals_per_s);
    FIELD("Summary", sm_chainfile_summary_t, eval_s);
    FIELD("Summary", sm_chainfile_summary_t, drift);
    FIELD("Summary", sm_chainfile_summary_t, n_kept);
    add("RngState", sizeof(sm_rng_state_t));
    FIELD("RngState", sm_rng_state_t, pos);
    FIELD("RngState", sm_rng_state_t, has_gauss);
    FIELD("RngState", sm_rng_state_t, gauss);
    add("AdditivePosterior", sizeof(sm_stats_additive_posterior_t));
    FIELD("AdditivePosterior", sm_stats_additive_posterior_t, rss);
    FIELD("AdditivePosterior", sm_stats_additive_posterior_t, cov_a);
    FIELD("AdditivePosterior", sm_stats_additive_posterior_t, sigma_median);
    add("Device", sizeof(sm_device_t));
    FIELD("Device", sm_device_t, index);
    FIELD("Device", sm_device_t, platform);
    FIELD("Device", sm_device_t, device_class);
    FIELD("Device", sm_device_t, compute_units);
    FIELD("Device", sm_device_t, global_mem_bytes);
    FIELD("Device", sm_device_t, max_work_group_size);
    FIELD("Device", sm_device_t, fp64);
    int rc = sm_test_system("PYTHONPATH=%s/python %s %s/tests/py_abi.py%s", SM_BINARY_DIR,
                            SM_PYTHON, SM_SOURCE_DIR, args);
    ck_assert_int_eq(rc, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pyabi");
    TCase *tc = tcase_create("pyabi");
    tcase_add_test(tc, ctypes_layout);
    suite_add_tcase(s, tc);
    return sm_test_run(s);
}
