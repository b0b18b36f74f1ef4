"""The conformance fixtures against independent truths: every reference chain
of a Gaussian case is emcee 3's chain (replayed with emcee and a numpy
likelihood from the fixture's p0 and seed, on the map the generator
exports), and every stored summary (median, std, covariances, ESS) is what
numpy and emcee compute from the stored chain.

usage: conform_fixtures.py MAKE_FIXTURES_EXE FIXTURES_DIR SCRATCH_DIR
"""
import glob
import os
import subprocess
import sys

import emcee
import h5py
import numpy as np

MAKE, FIXTURES, SCRATCH = sys.argv[1:4]
os.makedirs(SCRATCH, exist_ok=True)


def blocks(model, s):
    """Columns of a and b, and sigma's index. Multiplicative: one vector that
    is both a and b (sys_mapping's unpack_params: b = a)."""
    a = list(range(s))
    b = {"additive": [], "multiplicative": a, "combined": list(range(s, 2 * s))}[model]
    return a, b, 2 * s if model == "combined" else s


def numpy_log_prob(d, t, model, s, sigma_min):
    a_idx, b_idx, i_sigma = blocks(model, s)
    n = d.size

    def log_prob(p):  # vectorised: p (k, n_dim)
        add = p[:, a_idx] @ t
        m = 1.0 + (p[:, b_idx] @ t if b_idx else np.zeros((p.shape[0], n)))
        sigma = p[:, i_sigma]
        r = (d - add) / m
        lnl = (-0.5 * n * np.log(2 * np.pi * sigma**2) - np.log(np.abs(m)).sum(axis=1)
               - (r**2).sum(axis=1) / (2 * sigma**2))
        return np.where((sigma > sigma_min) & np.isfinite(lnl), lnl, -np.inf)

    return log_prob


def check_summary(f, name):
    chain = f["chain/chain"][...]
    burn = int(f["chain"].attrs["n_burn"])
    s = int(f.attrs["n_sys"])
    model = f.attrs["model"]
    model = model.decode() if isinstance(model, bytes) else model
    post = chain[burn:]
    flat = post.reshape(-1, chain.shape[2])
    assert np.array_equal(np.median(flat, axis=0), f["chain/median"][...]), name
    np.testing.assert_allclose(flat.std(axis=0, ddof=1), f["chain/std"][...], rtol=1e-12)
    a_idx, b_idx, _ = blocks(model, s)
    for idx, key in ((a_idx, "chain/cov_a"), (b_idx, "chain/cov_b")):
        want = np.cov(flat[:, idx].T, ddof=1).reshape(s, s) if idx else np.zeros((s, s))
        np.testing.assert_allclose(f[key][...], want, rtol=1e-10, atol=1e-300)
    tau = emcee.autocorr.integrated_time(post, c=5, tol=0, quiet=True)
    np.testing.assert_allclose(f["chain/ess"][...], flat.shape[0] / tau, rtol=1e-8)


def replay(f, name):
    path = os.path.join(SCRATCH, name + ".map.h5")
    subprocess.run([MAKE, "--export-map", name, path], check=True)
    with h5py.File(path, "r") as m:
        d, t = m["delta_g_obs"][...], m["templates"][...]
    model = f.attrs["model"]
    model = model.decode() if isinstance(model, bytes) else model
    lp = numpy_log_prob(d, t, model, int(f.attrs["n_sys"]), float(f.attrs["sigma_min"]))
    p0 = f["chain/p0"][...]
    seed = int(f["chain"].attrs["seed"])
    steps = int(f["chain"].attrs["n_steps"])
    np.random.seed(seed)
    sampler = emcee.EnsembleSampler(p0.shape[0], p0.shape[1], lp, vectorize=True)
    sampler.run_mcmc(p0, steps)
    ours = f["chain/chain"][...]
    same = np.all(sampler.get_chain() == ours, axis=(1, 2))
    assert same.all(), f"{name}: emcee's chain differs from step {np.argmin(same) + 1}"
    np.testing.assert_allclose(sampler.get_log_prob(), f["chain/log_prob"][...], rtol=1e-12)
    print(f"{name}: emcee's chain, {steps} steps x {p0.shape[0]} walkers")


n_chains = 0
for path in sorted(glob.glob(os.path.join(FIXTURES, "*.h5"))):
    name = os.path.basename(path)[:-3]
    with h5py.File(path, "r") as f:
        if "chain" not in f:
            continue
        n_chains += 1
        check_summary(f, name)
        if not f.attrs["skew"]:
            replay(f, name)
assert n_chains == 6, n_chains
print(f"{n_chains} reference chains: summaries are numpy's and emcee's")
