"""sysmap's chain equals emcee's, element for element.

For each case, a small synthetic map is written to HDF5, `sysmap run` samples
it in the original basis, and emcee 3 (Debian's python3-emcee) runs the same
seed protocol (DESIGN.md: numpy RandomState draws the initial walkers, the
sampler continues from its state) on a numpy log-probability of the same
model, on the reference backend (and one case on OpenCL fp64). The chains
must be identical; log-probabilities agree to 1e-12 relative (compensated
vs numpy's pairwise sums).

usage: emcee_chain_equality.py SYSMAP_EXE SCRATCH_DIR
"""
import math
import os
import subprocess
import sys

import emcee
import h5py
import numpy as np

LOG_NDTR = np.frompyfunc(lambda x: math.log(0.5 * math.erfc(-x / math.sqrt(2.0))), 1, 1)


def make_map(path, n_pix=400, n_sys=3, seed=123):
    rs = np.random.RandomState(seed)
    t = rs.normal(size=(n_sys, n_pix))
    t[1] += 0.5 * t[0]  # correlated templates
    delta = rs.normal(0.0, 0.1, n_pix)
    a = np.array([0.02, -0.01, 0.015])[:n_sys]
    b = np.array([0.05, 0.0, -0.03])[:n_sys]
    d_obs = delta * (1.0 + b @ t) + a @ t
    with h5py.File(path, "w") as f:
        f["delta_g_obs"] = d_obs
        f["templates"] = t
    return d_obs, t


def log_prob_factory(model, skew, d_obs, t, sigma_min=1e-6):
    n_sys = t.shape[0]
    n_cont = 2 * n_sys if model == "combined" else n_sys

    def log_prob(theta):
        theta = np.atleast_2d(theta)
        a = theta[:, :n_sys] if model != "multiplicative" else np.zeros((len(theta), n_sys))
        if model == "combined":
            b = theta[:, n_sys:2 * n_sys]
        elif model == "multiplicative":
            b = theta[:, :n_sys]
        else:
            b = np.zeros((len(theta), n_sys))
        sigma = theta[:, n_cont]
        m = 1.0 + b @ t
        r = (d_obs[None, :] - a @ t) / m
        n = d_obs.size
        with np.errstate(all="ignore"):
            if skew:
                gamma = theta[:, n_cont + 1]
                xi = -sigma * gamma / np.sqrt(1.0 + gamma**2) * np.sqrt(2.0 / np.pi)
                u = r - xi[:, None]
                z = (gamma / sigma)[:, None] * u
                lnphi = np.array(LOG_NDTR(z), dtype=float).sum(axis=1)
                lp = (-0.5 * n * np.log(2 * np.pi * sigma**2) - (u**2).sum(axis=1) / (2 * sigma**2)
                      + n * np.log(2.0) + lnphi - np.log(np.abs(m)).sum(axis=1))
            else:
                lp = (-0.5 * n * np.log(2 * np.pi * sigma**2) - (r**2).sum(axis=1) / (2 * sigma**2)
                      - np.log(np.abs(m)).sum(axis=1))
        lp[~(sigma > sigma_min)] = -np.inf
        lp[~np.isfinite(lp)] = -np.inf
        return lp

    return log_prob, n_cont + 1 + (1 if skew else 0), n_cont


def seeded_p0(seed, n_walkers, n_dim, n_cont, skew, d_obs):
    rs = np.random.RandomState(seed)
    p0 = np.zeros((n_walkers, n_dim))
    p0[:, :n_cont] = rs.normal(0.0, 0.05, (n_walkers, n_cont))
    p0[:, n_cont] = np.std(d_obs) * (1.0 + rs.normal(0.0, 0.1, n_walkers))
    if skew:
        p0[:, n_cont + 1] = rs.normal(0.0, 0.1, n_walkers)
    return p0, rs


def run_case(exe, scratch, name, model, skew, n_walkers, n_steps, seed, explicit_init,
             backend="reference"):
    inp = os.path.join(scratch, name + "-in.h5")
    out = os.path.join(scratch, name + "-out.h5")
    d_obs, t = make_map(inp)
    log_prob, n_dim, n_cont = log_prob_factory(model, skew, d_obs, t)
    p0, rs = seeded_p0(seed, n_walkers, n_dim, n_cont, skew, d_obs)
    args = [exe, "run", inp, "-o", out, "--model", model, "--walkers", str(n_walkers),
            "--steps", str(n_steps), "--burn", "10", "--seed", str(seed), "--basis", "original",
            "--quiet", "--flush-every", "7", "--backend", backend]
    if skew:
        args.append("--skew")
    if explicit_init:
        # Explicit walkers: the generator starts fresh from the seed.
        p0 = p0 * 1.5 + 0.01
        rs = np.random.RandomState(seed)
        init = os.path.join(scratch, name + "-p0.h5")
        with h5py.File(init, "w") as f:
            f["p0"] = p0
        args += ["--init", init]
    subprocess.run(args, check=True)

    np.random.set_state(rs.get_state())
    sampler = emcee.EnsembleSampler(n_walkers, n_dim, log_prob, vectorize=True)
    sampler.run_mcmc(p0, n_steps, progress=False)

    ours = emcee.backends.HDFBackend(out, read_only=True)
    chain, lp = ours.get_chain(), ours.get_log_prob()
    want_chain, want_lp = sampler.get_chain(), sampler.get_log_prob()
    assert chain.shape == want_chain.shape, (chain.shape, want_chain.shape)
    diff = np.argwhere(chain != want_chain)
    assert diff.size == 0, f"{name}: chains differ first at (step, walker, param) {diff[0]}"
    finite = np.isfinite(want_lp)
    assert np.array_equal(finite, np.isfinite(lp)), f"{name}: -inf pattern differs"
    rel = np.max(np.abs(lp[finite] - want_lp[finite]) / np.abs(want_lp[finite]))
    assert rel < 1e-12, f"{name}: log_prob differs by {rel:.3g} relative"
    assert np.array_equal(ours.accepted, sampler.backend.accepted), f"{name}: accepted differs"
    frac = sampler.acceptance_fraction.mean()
    print(f"{name}: {n_steps} steps x {n_walkers} walkers x {n_dim} params identical; "
          f"log_prob within {rel:.2g}; acceptance {frac:.3f}")


def main():
    exe, scratch = sys.argv[1], sys.argv[2]
    os.makedirs(scratch, exist_ok=True)
    run_case(exe, scratch, "combined", "combined", False, 32, 100, 42, False)
    run_case(exe, scratch, "additive-skew", "additive", True, 16, 80, 7, False)
    run_case(exe, scratch, "multiplicative", "multiplicative", False, 10, 60, 0, False)
    run_case(exe, scratch, "combined-init", "combined", False, 32, 50, 42, True)
    run_case(exe, scratch, "combined-skew-opencl", "combined", True, 32, 60, 5, False, "opencl")


if __name__ == "__main__":
    main()
