"""The Python binding gives what the command line gives, bit for bit.

For the same map, seed and settings, sysmap.run_mcmc's chain, log-prob,
acceptance, medians and covariances equal those in `sysmap run`'s file
(combined; additive skew-normal in the original basis; multiplicative;
explicit initial walkers; the OpenCL backend), and the sampler reads like
emcee's (get_chain/get_log_prob with discard and thin as emcee's
HDFBackend slices the same file, the legacy chain/lnprobability, the
generator state). A continued run (run_mcmc(None, n)) equals one longer run
and `sysmap run` of that length; seed=None records the seed it drew; odd
walker counts and an empty posterior (n_burn == n_steps, with its warning)
work. The statistics functions agree with numpy under sys-mapping's
conventions; devices() lists what `sysmap devices` lists; bad arguments
raise with the library's message.

usage: python_binding.py SYSMAP_EXE SCRATCH_DIR   (PYTHONPATH: the build's python/)
"""
import json
import os
import subprocess
import sys

import warnings

import emcee
import h5py
import numpy as np

import sysmap

EXE, SCRATCH = sys.argv[1], sys.argv[2]
N, S = 400, 3


def path(name):
    return os.path.join(SCRATCH, name)


def make_map():
    rs = np.random.RandomState(3)
    t = rs.normal(size=(S, N))
    t[1] += 0.5 * t[0]
    d = rs.normal(0, 0.1, N) * (1 + np.array([0.05, 0.0, -0.03]) @ t) + \
        np.array([0.02, -0.01, 0.015]) @ t
    with h5py.File(path("map.h5"), "w") as f:
        f["delta_g_obs"] = d
        f["templates"] = t
    return d, t


def cli_run(name, *args):
    out = path(name + ".h5")
    subprocess.run([EXE, "run", path("map.h5"), "-o", out, "--quiet", *args], check=True)
    return out


def same_as_cli(label, result, flat, cli_file, burn):
    run = emcee.backends.HDFBackend(cli_file, read_only=True)
    assert np.array_equal(flat, run.get_chain(discard=burn, flat=True)), f"{label}: flat chain"
    assert np.array_equal(result.get_chain(), run.get_chain()), f"{label}: chain"
    assert np.array_equal(result.get_log_prob(), run.get_log_prob()), f"{label}: log_prob"
    for kw in (dict(discard=burn, thin=3), dict(discard=1, thin=4, flat=True)):
        assert np.array_equal(result.get_chain(**kw), run.get_chain(**kw)), (label, kw)
        assert np.array_equal(result.get_log_prob(**kw), run.get_log_prob(**kw)), (label, kw)
    assert np.array_equal(result.chain, np.swapaxes(run.get_chain(), 0, 1))
    assert np.array_equal(result.lnprobability, np.swapaxes(run.get_log_prob(), 0, 1))
    assert np.array_equal(result.acceptance_fraction, run.accepted / run.iteration)
    assert result.iteration == run.iteration and result.nwalkers == run.shape[0]
    state, last = run.random_state, result.get_last_sample()
    assert state[0] == last.random_state[0] and np.array_equal(state[1], last.random_state[1]) \
        and tuple(state[2:]) == tuple(last.random_state[2:]), f"{label}: generator state"
    assert np.array_equal(last.coords, run.get_last_sample().coords)
    with h5py.File(cli_file) as f:
        g = f["sysmap"]
        for key in ("median", "std", "cov_a", "cov_b", "var_a", "var_b", "acceptance_fraction",
                    "autocorr_time"):
            assert np.array_equal(getattr(result, key), g[key][...]), f"{label}: {key}"
        assert result.param_names == [n.decode() for n in g["param_names"][...]]
        assert result.backend == g.attrs["backend"] and result.device == g.attrs["device"]
    print(f"ok  {label}: {result!r} equals the CLI's file ({flat.shape[0]} samples)")


def check_combined(d, t):
    settings = dict(n_walkers=24, n_steps=50, n_burn=10, seed=7, backend="reference")
    flat, res = sysmap.run_mcmc(S, model="combined", delta_g_obs=d, delta_t=t, progress=False,
                                out=path("py.h5"), **settings)
    cli = cli_run("cli", "--walkers", "24", "--steps", "50", "--burn", "10", "--seed", "7",
                  "--backend", "reference")
    same_as_cli("combined", res, flat, cli, 10)
    with h5py.File(path("py.h5")) as a, h5py.File(cli) as b:
        assert np.array_equal(a["mcmc/chain"][...], b["mcmc/chain"][...]), "run_mcmc(out=)"
    # The statistics functions: the library's numbers, numpy's definitions.
    med = sysmap.get_mle_params(flat)
    assert np.array_equal(med, res.median)
    np.testing.assert_allclose(med, np.median(flat, axis=0), rtol=1e-15, atol=0)
    cov_a, cov_b = sysmap.get_param_covariance_from_chain(flat, S, "combined")
    np.testing.assert_allclose(cov_a, res.cov_a, rtol=1e-14, atol=0)
    np.testing.assert_allclose(cov_b, res.cov_b, rtol=1e-14, atol=0)
    np.testing.assert_allclose(cov_a, np.cov(flat[:, :S], rowvar=False), rtol=1e-10)
    np.testing.assert_allclose(cov_b, np.cov(flat[:, S:2 * S], rowvar=False), rtol=1e-10)
    var_a, var_b = sysmap.get_param_variance_from_chain(flat, S, "combined")
    assert np.array_equal(var_a, np.diag(cov_a)) and np.array_equal(var_b, np.diag(cov_b))
    # One template: sys-mapping's np.var (ddof 0), not the summaries' ddof 1.
    v1, _ = sysmap.get_param_variance_from_chain(flat[:, [0, 2 * S]], 1, "additive")
    np.testing.assert_allclose(v1, [np.var(flat[:, 0])], rtol=1e-13, atol=0)
    tau = res.get_autocorr_time(discard=10, thin=2, quiet=True)
    want = 2 * emcee.autocorr.integrated_time(res.get_chain(discard=10, thin=2), quiet=True)
    np.testing.assert_allclose(tau, want, rtol=1e-12)
    try:
        res.get_autocorr_time()
        raise AssertionError("a 50-step chain is too short for tol=50")
    except emcee.autocorr.AutocorrError as e:
        assert isinstance(e, sysmap.AutocorrError) and "shorter than 50 times" in str(e)
    print("ok  statistics: get_mle_params, get_param_{covariance,variance}_from_chain = numpy; "
          "get_autocorr_time = emcee's")


def check_other_models(d, t):
    flat, res = sysmap.run_mcmc(S, model="additive", use_skewed=True, basis="original",
                                delta_g_obs=d, delta_t=t, n_walkers=16, n_steps=40, n_burn=8,
                                seed=11, progress=False, backend="reference")
    cli = cli_run("cli-add-skew", "--model", "additive", "--skew", "--basis", "original",
                  "--walkers", "16", "--steps", "40", "--burn", "8", "--seed", "11",
                  "--backend", "reference")
    same_as_cli("additive skew, original basis", res, flat, cli, 8)
    cov_a, cov_b = sysmap.get_param_covariance_from_chain(flat, S, "additive")
    assert np.all(cov_b == 0) and np.array_equal(cov_a, res.cov_a)

    rs = np.random.RandomState(5)
    p0 = np.column_stack([rs.normal(0, 0.02, (16, S)), 0.1 * (1 + rs.normal(0, 0.1, 16))])
    with h5py.File(path("p0.h5"), "w") as f:
        f["p0"] = p0
    flat, res = sysmap.run_mcmc(S, model="multiplicative", delta_g_obs=d, delta_t=t,
                                n_walkers=16, n_steps=30, n_burn=5, init=p0, progress=False,
                                backend="reference")
    cli = cli_run("cli-mult", "--model", "multiplicative", "--walkers", "16", "--steps", "30",
                  "--burn", "5", "--init", path("p0.h5"), "--backend", "reference")
    same_as_cli("multiplicative, explicit p0", res, flat, cli, 5)
    cov_a, cov_b = sysmap.get_param_covariance_from_chain(flat, S, "multiplicative")
    assert np.array_equal(cov_a, cov_b)  # b = a: one vector
    np.testing.assert_allclose(cov_b, res.cov_b, rtol=1e-14, atol=0)


def check_continue(d, t):
    """run_mcmc(None, n) continues: the chain of one longer run, and of the CLI."""
    settings = dict(delta_g_obs=d, delta_t=t, n_walkers=17, n_burn=6, seed=9,
                    progress=False, backend="reference")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sysmap.SysmapWarning)  # short chains drift
        _, res = sysmap.run_mcmc(S, n_steps=20, **settings)
        state = res.run_mcmc(None, 15)
        res.run_mcmc(res.get_last_sample(), 5)
        flat, whole = sysmap.run_mcmc(S, n_steps=40, **settings)
    for name in ("get_chain", "get_log_prob"):
        assert np.array_equal(getattr(res, name)(), getattr(whole, name)()), name
    for key in ("acceptance_fraction", "median", "cov_a", "autocorr_time"):
        assert np.array_equal(getattr(res, key), getattr(whole, key)), key
    assert res.iteration == 40 and np.array_equal(state.coords, res.get_chain()[34])
    cli = cli_run("cli-cont", "--walkers", "17", "--steps", "40", "--burn", "6", "--seed", "9",
                  "--backend", "reference")  # (prints the same drift warning)
    same_as_cli("17 walkers, 20 + 15 + 5 steps", res, res.get_chain(discard=6, flat=True), cli, 6)
    try:
        res.run_mcmc(np.zeros((17, 2 * S + 1)), 5)
        raise AssertionError("another start accepted")
    except ValueError as e:
        assert "last sample only" in str(e)
    _, drawn = sysmap.run_mcmc(S, n_steps=8, **{**settings, "seed": None})
    _, again = sysmap.run_mcmc(S, n_steps=8, **{**settings, "seed": drawn.seed})
    assert np.array_equal(drawn.get_chain(), again.get_chain()) and 0 <= drawn.seed < 2 ** 32
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        flat, empty = sysmap.run_mcmc(S, n_steps=6, **settings)
    assert flat.shape == (0, 2 * S + 1) and empty.n_kept == 0, (flat.shape, empty.n_kept)
    assert any(issubclass(w.category, sysmap.SysmapWarning) for w in caught), caught
    print(f"ok  continuation = one longer run = the CLI's; seed=None drew {drawn.seed}; "
          f"n_burn == n_steps: {caught[0].message}")


def check_opencl(d, t):
    devs = sysmap.devices()
    listing = subprocess.run([EXE, "devices"], capture_output=True, text=True, check=True).stdout
    for dv in devs:
        assert dv["name"] in listing, f"{dv['name']} not in sysmap devices"
    # The same records as `sysmap devices --json`, through the same registry.
    doc = json.loads(subprocess.run([EXE, "devices", "--json"], capture_output=True, text=True,
                                    check=True).stdout)
    # Not global_mem_bytes: PoCL reports a share of the memory free at the
    # time, which differs between two processes.
    keys = ("backend", "index", "platform_index", "device_index", "name", "type",
            "max_alloc_bytes", "fp64")
    assert [{k: dv[k] for k in keys} for dv in devs] == \
        [{k: js[k] for k in keys} for js in doc["devices"]], (devs, doc)
    print(f"ok  devices(): {len(devs)} device(s), as `sysmap devices` lists: "
          + ", ".join(f"{dv['index']}: {dv['name']} ({dv['type']}, fp64 {dv['fp64']})"
                      for dv in devs))
    if not any(dv["fp64"] for dv in devs):
        print("skip opencl: no fp64 device")
        return
    flat, res = sysmap.run_mcmc(S, delta_g_obs=d, delta_t=t, n_walkers=24, n_steps=30,
                                n_burn=5, progress=False, backend="opencl", precision="fp64")
    cli = cli_run("cli-ocl", "--walkers", "24", "--steps", "30", "--burn", "5", "--backend",
                  "opencl", "--precision", "fp64")
    same_as_cli("opencl fp64", res, flat, cli, 5)


def expect(exc, message, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except exc as e:
        assert message in str(e), f"'{message}' not in '{e}'"
        print(f"ok  {exc.__name__}: {e}")
        return
    raise AssertionError(f"no {exc.__name__} ({message})")


def check_errors(d, t):
    run = dict(delta_g_obs=d, delta_t=t, progress=False, backend="reference", n_steps=5,
               n_burn=1)
    expect(sysmap.SysmapError, "13 walkers", sysmap.run_mcmc, S, n_walkers=13, **run)
    bad = d.copy()
    bad[5] = np.nan
    expect(sysmap.SysmapError, "NaN at pixel 5", sysmap.run_mcmc, S,
           **{**run, "delta_g_obs": bad})
    expect(ValueError, "unknown model 'linear'", sysmap.run_mcmc, S, model="linear", **run)
    expect(ValueError, "delta_t: shape (3, 400), expected (n_sys, n_pix) = (2, 400)",
           sysmap.run_mcmc, 2, **run)
    expect(ValueError, "init: shape (3, 7)", sysmap.run_mcmc, S, init=np.zeros((3, 7)), **run)
    expect(sysmap.SysmapError, "unknown backend", sysmap.run_mcmc, S,
           **{**run, "backend": "cuda"})
    expect(ValueError, "has 7 (or 8 with gamma)", sysmap.get_param_covariance_from_chain,
           np.zeros((10, 5)), S, "combined")
    env = dict(os.environ, SYSMAP_LIBRARY=path("nope.so"))
    proc = subprocess.run([sys.executable, "-c", "import sysmap; sysmap.version()"], env=env,
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "set SYSMAP_LIBRARY" in proc.stderr \
        and "nope.so" in proc.stderr, proc.stderr
    print("ok  SYSMAP_LIBRARY pointing nowhere: ImportError naming it")
    code = ("import numpy as np, sysmap; rs = np.random.RandomState(1); "
            "sysmap.run_mcmc(1, delta_g_obs=rs.normal(size=50), delta_t=rs.normal(size=(1, 50)), "
            "n_walkers=8, n_steps=20, n_burn=2, backend='reference')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and "sysmap: step 20/20 (100%)" in proc.stderr, proc.stderr
    print("ok  progress=True reports steps on stderr")


def check_layouts(d, t):
    """Names, n_dim, parameter names and the layout helpers follow the
    library's model table (truths written out by hand)."""
    # The table's first rows (a model added later goes after them).
    assert sysmap._lib.models()[:3] == ["additive", "multiplicative", "combined"]
    for s, model, skew, names in (
            (3, "multiplicative", True, ["b_1", "b_2", "b_3", "sigma", "gamma"]),
            (3, "additive", False, ["a_1", "a_2", "a_3", "sigma"]),
            (1, "combined", True, ["a_1", "b_1", "sigma", "gamma"])):
        fn, n_dim = sysmap.make_log_prob(s, model, d, t[:s], use_skewed=skew)
        assert fn.param_names == names and n_dim == len(names), (fn.param_names, n_dim)
    theta = np.arange(1.0, 9.0)
    a, b, sigma, gamma = sysmap.unpack_params(theta, 3, "combined", use_skewed=True)
    assert a.tolist() == [1, 2, 3] and b.tolist() == [4, 5, 6] and (sigma, gamma) == (7, 8)
    a, b, sigma, gamma = sysmap.unpack_params(theta[:4], 2, "multiplicative", use_skewed=True)
    assert a.tolist() == b.tolist() == [1, 2] and (sigma, gamma) == (3, 4)
    a, b, sigma, gamma = sysmap.unpack_params(theta[:3], 2, "additive")
    assert a.tolist() == [1, 2] and b.tolist() == [0, 0] and sigma == 3 and gamma is None
    assert sysmap.pack_params([1, 2], [9, 9], 3, 4, model="multiplicative").tolist() == [1, 2, 3, 4]
    assert sysmap.pack_params([1], [2], 3, model="combined").tolist() == [1, 2, 3]
    assert [sysmap.n_free_params(5, m) for m in sysmap._lib.models()[:3]] == [5, 5, 10]
    expect(ValueError, "combined model requires b", sysmap.pack_params, [1], None, 3)
    expect(ValueError, "Unknown model 'linear'. Choose additive, multiplicative, ",
           sysmap.unpack_params, theta, 3, "linear")
    expect(ValueError, "unknown model 'linear' (expected additive, multiplicative",
           sysmap.make_log_prob, 3, "linear", d, t)
    print("ok  model names, layouts and parameter names from the library's table")


def main():
    os.makedirs(SCRATCH, exist_ok=True)
    d, t = make_map()
    check_combined(d, t)
    check_other_models(d, t)
    check_continue(d, t)
    check_opencl(d, t)
    check_errors(d, t)
    check_layouts(d, t)


if __name__ == "__main__":
    main()
