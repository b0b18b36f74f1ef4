"""sysmap's drop-in functions give sys-mapping 1.1.0's numbers.

data/parity/sys_mapping_1.1.0.npz holds what the reference package itself
computed (tools/parity/make_parity_fixtures.py, with JAX); this test needs
only numpy and libsysmap:

- make_log_prob: the log-probability of 8 parameter vectors for each model
  (additive, multiplicative, combined), Gaussian and skew-normal, S = 3 and
  S = 1, within 1e-10 relative (-inf exactly where sys-mapping gives -inf),
  on the reference backend and on every OpenCL fp64 device; one vector at a
  time and the batch agree exactly on the reference backend;
- get_mle_params, get_param_variance_from_chain,
  get_param_covariance_from_chain on fixed chains, every model, S = 3 and 1
  (ddof 1 and ddof 0 conventions, b = a, zeros): within 1e-12 relative;
- run_additive_analytic: the library's exact moments and sysmap's draws
  against the moments of sys-mapping's draws, within 5 Monte-Carlo
  standard errors.

usage: parity_sys_mapping.py FIXTURE.npz   (PYTHONPATH: the build's python/)
"""
import sys

import numpy as np

import sysmap

LNL_RTOL, STATS_RTOL = 1e-10, 1e-12
MODELS = ("additive", "multiplicative", "combined")


def rel_err(got, want):
    """Largest |got - want| / |want| (absolute where want is 0); inf where
    the finite/-inf pattern differs."""
    got, want = np.asarray(got, float), np.asarray(want, float)
    if got.shape != want.shape or not np.array_equal(np.isfinite(got), np.isfinite(want)) \
            or not np.array_equal(got[~np.isfinite(got)], want[~np.isfinite(want)]):
        return np.inf
    fin = np.isfinite(want)
    if not fin.any():
        return 0.0
    den = np.where(want[fin] == 0, 1.0, np.abs(want[fin]))
    return float(np.max(np.abs(got[fin] - want[fin]) / den))


def check_lnl(f, backend, device=None):
    d, t = f["delta_g_obs"], f["delta_t"]
    worst = (0.0, "")
    for case in f["cases"]:
        case = str(case)
        s, model, kind = int(case[1]), case.split("_")[1], case.split("_")[2]
        skew = kind == "skew"
        th, want = f["theta_" + case], f["lp_" + case]
        lp, n_dim = sysmap.make_log_prob(s, model, d, t[:s], skew, float(f["sigma_min"]),
                                         backend=backend, device=device, precision="fp64")
        lpv, _ = sysmap.make_log_prob(s, model, d, t[:s], skew, float(f["sigma_min"]),
                                      vectorize=True, backend=backend, device=device,
                                      precision="fp64")
        assert n_dim == th.shape[1], (case, n_dim)
        one = np.array([lp(x) for x in th])
        batch = lpv(th)
        assert all(isinstance(lp(x), float) for x in th[:2])
        if backend == "reference":
            assert np.array_equal(one, batch), f"{case}: one at a time != batch"
        for label, got in (("scalar", one), ("vectorised", batch)):
            e = rel_err(got, want)
            assert e <= LNL_RTOL, f"{backend} {case} {label}: rel. error {e:.3g} ({got} vs {want})"
            worst = max(worst, (e, case))
        # sys-mapping's own two forms, for the record: they agree as closely.
        assert rel_err(f["lpvec_" + case], want) <= LNL_RTOL
    name = f"{backend}{'' if device is None else ' device ' + device} ({lp.precision})"
    print(f"ok  make_log_prob {name}: {len(f['cases'])} cases x 8 vectors within "
          f"{worst[0]:.2g} relative of sys-mapping (worst {worst[1]}; tolerance {LNL_RTOL:g})")


def check_stats(f):
    worst = 0.0
    for s in (3, 1):
        chain = f[f"chain{s}"]
        e = rel_err(sysmap.get_mle_params(chain), f[f"mle_S{s}"])
        worst = max(worst, e)
        assert e <= STATS_RTOL, (s, "median", e)
        for model in MODELS:
            va, vb = sysmap.get_param_variance_from_chain(chain, s, model)
            ca, cb = sysmap.get_param_covariance_from_chain(chain, s, model)
            for key, got in (("var_a", va), ("var_b", vb), ("cov_a", ca), ("cov_b", cb)):
                want = f[f"{key}_S{s}_{model}"]
                e = rel_err(got, want)
                assert e <= STATS_RTOL, f"S={s} {model} {key}: {e:.3g}\n{got}\n{want}"
                worst = max(worst, e)
            if model == "additive":
                assert not cb.any() and not vb.any()
            if model == "multiplicative":
                assert np.array_equal(ca, cb)
    # S = 1 is sys-mapping's np.var (ddof 0): n/(n-1) below np.cov's ddof 1.
    n = f["chain1"].shape[0]
    ca, _ = sysmap.get_param_covariance_from_chain(f["chain1"], 1, "combined")
    assert abs(ca[0, 0] / np.cov(f["chain1"][:, 0]) - (n - 1) / n) < 1e-13
    print(f"ok  get_mle_params, get_param_{{variance,covariance}}_from_chain: 3 models x S = 3, 1 "
          f"within {worst:.2g} relative of sys-mapping (tolerance {STATS_RTOL:g})")


def check_analytic(f):
    d, t = f["delta_g_obs"], f["delta_t"]
    for s in (3, 1):
        n_ref = int(f[f"analytic_n_S{s}"])
        mean_ref, cov_ref = f[f"analytic_mean_S{s}"], f[f"analytic_cov_S{s}"]
        flat, smp = sysmap.run_additive_analytic(s, delta_g_obs=d, delta_t=t[:s])
        assert flat.shape == (100_000, s + 1) and smp.n_dim == s + 1
        assert (smp.acceptance_fraction, smp.rhat, smp.num_divergences, smp.ess) == \
            (1.0, 1.0, 0, 100_000.0)
        again, _ = sysmap.run_additive_analytic(s, delta_g_obs=d, delta_t=t[:s])
        assert np.array_equal(flat, again), "seeded draws are reproducible"
        sd_ref = np.sqrt(np.diag(cov_ref))
        # The exact mean of a against sys-mapping's sample mean (one sample's error).
        z_exact = np.abs(smp.a_ols - mean_ref[:s]) / (sd_ref[:s] / np.sqrt(n_ref))
        # Exact covariance of a: sample variance's standard error ~ var sqrt(2/n).
        z_cov_exact = np.abs(np.diag(smp.cov_a) / np.diag(cov_ref)[:s] - 1) / np.sqrt(2 / n_ref)
        # sysmap's draws against sys-mapping's: two samples' errors.
        mean, cov = flat.mean(axis=0), np.cov(flat, rowvar=False)
        z_mean = np.abs(mean - mean_ref) / (sd_ref * np.sqrt(2 / n_ref))
        z_var = np.abs(np.diag(cov) / np.diag(cov_ref) - 1) / np.sqrt(4 / n_ref)
        corr = cov / np.outer(np.sqrt(np.diag(cov)), np.sqrt(np.diag(cov)))
        corr_ref = cov_ref / np.outer(sd_ref, sd_ref)
        off = ~np.eye(s + 1, dtype=bool)  # correlations off the diagonal: se (1 - rho^2)/sqrt(n)
        z_corr = np.abs(corr - corr_ref)[off] / ((1 - corr_ref[off] ** 2) * np.sqrt(2 / n_ref))
        worst = max(z_exact.max(), z_cov_exact.max(), z_mean.max(), z_var.max(),
                    z_corr.max(initial=0))
        assert worst < 5, (s, z_exact, z_cov_exact, z_mean, z_var, z_corr)
        print(f"ok  run_additive_analytic S={s}: exact mean and covariance of a, and the "
              f"moments of 1e5 numpy draws, agree with sys-mapping's JAX draws within "
              f"{worst:.2f} standard errors")


def main():
    f = np.load(sys.argv[1])
    print(f"fixture: {sys.argv[1]} ({f['versions']})")
    check_lnl(f, "reference")
    try:
        devs = [dv for dv in sysmap.devices() if dv["fp64"]]
    except sysmap.SysmapError as e:
        devs = []
        print(f"skip opencl: {e}")
    for dv in devs:
        check_lnl(f, "opencl", str(dv["index"]))
    if not devs:
        print("skip opencl: no fp64 OpenCL device")
    check_stats(f)
    check_analytic(f)


if __name__ == "__main__":
    main()
