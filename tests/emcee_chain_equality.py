"""sysmap's chain and log-probabilities equal emcee's, bit for bit.

For each case, a small synthetic map is written to HDF5, `sysmap run` samples
it in the original basis, and emcee 3 (Debian's python3-emcee) runs the
seeded protocol: numpy's RandomState(seed) draws the initial walkers
(contamination N(0, 0.05), sigma np.std(d_obs) (1 + N(0, 0.1)), gamma
N(0, 0.1)) and the sampler continues from its state. emcee's log-probability
is a numpy transcription of the reference backend's arithmetic (the same
operations in the same order, Neumaier sums, glibc's log and GSL's erfc),
so on the reference backend chain, log_prob and acceptance counts must be
identical to the bit, for every model, odd and even walker counts; on
OpenCL fp64 the chain is identical and log_prob within 1e-12 relative.

usage: emcee_chain_equality.py SYSMAP_EXE SCRATCH_DIR
"""
import ctypes
import ctypes.util
import math
import os
import subprocess
import sys

import emcee
import h5py
import numpy as np

# GSL's erfc and log_erfc (what sm_model_log_ndtr calls), and glibc's log and
# log1p through math: numpy's own log may differ from glibc's in the last bit.
_GSL = ctypes.CDLL(ctypes.util.find_library("gsl"))
_GSL.gsl_set_error_handler_off()  # GSL's default handler aborts on a domain error
for _f in ("gsl_sf_erfc", "gsl_sf_log_erfc"):
    getattr(_GSL, _f).restype = ctypes.c_double
    getattr(_GSL, _f).argtypes = [ctypes.c_double]
M_SQRT1_2 = 0.70710678118654752440
M_LN2 = 0.69314718055994530942


def _log_ndtr(x):
    if x > 0.0:
        return math.log1p(-0.5 * _GSL.gsl_sf_erfc(x * M_SQRT1_2))
    return _GSL.gsl_sf_log_erfc(-x * M_SQRT1_2) - M_LN2


def _log_abs(x):
    return math.log(abs(x)) if x != 0.0 else -math.inf


LOG_ABS = np.frompyfunc(_log_abs, 1, 1)
LOG_NDTR = np.frompyfunc(_log_ndtr, 1, 1)


def elementwise(f, x):
    return np.asarray(f(x), dtype=np.float64)


def neumaier(terms):
    """sm_ksum over axis 1 of terms (k, n), pixel by pixel."""
    total = np.zeros(terms.shape[0])
    comp = np.zeros(terms.shape[0])
    for j in range(terms.shape[1]):
        x = terms[:, j]
        t = total + x
        comp += np.where(np.abs(total) >= np.abs(x), (total - t) + x, (x - t) + total)
        total = t
    return total + comp


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
    """The reference backend's log-probability (reference.c, model.c)."""
    n_sys, n = t.shape
    n_cont = 2 * n_sys if model == "combined" else n_sys

    def template_sum(coef):
        # add = sum_i p_i t_ij from 0.0, template by template, as the C loop.
        acc = np.zeros((coef.shape[0], n))
        for i in range(n_sys):
            acc = acc + coef[:, i, None] * t[i][None, :]
        return acc

    def log_prob(theta):
        theta = np.atleast_2d(theta)
        lp = np.full(len(theta), -np.inf)
        inside = theta[:, n_cont] > sigma_min
        p = theta[inside]
        if len(p) == 0:
            return lp
        # a leads every model; the multiplicative model's one vector is b as
        # well (d_obs = d (1 + b.t) + b.t); the additive model has m = 1.
        add = template_sum(p[:, :n_sys])
        if model == "combined":
            m = 1.0 + template_sum(p[:, n_sys:2 * n_sys])
        elif model == "multiplicative":
            m = 1.0 + add
        else:
            m = np.ones_like(add)
        sigma = p[:, n_cont]
        with np.errstate(all="ignore"):
            xi = np.zeros(len(p))
            if skew:
                gamma = p[:, n_cont + 1]
                delta = gamma / np.sqrt(1.0 + gamma * gamma)
                xi = -sigma * delta * math.sqrt(2.0 / math.pi)
            u = (d_obs[None, :] - add) / m - xi[:, None]
            log_m = neumaier(elementwise(LOG_ABS, m))
            sq = neumaier(u * u)
            log_var = np.array([math.log(v) for v in (2.0 * math.pi * sigma) * sigma])
            lnl = (-0.5 * n) * log_var - log_m - sq / ((2.0 * sigma) * sigma)
            if skew:
                z = (gamma[:, None] * u) / sigma[:, None]
                lnl = lnl + (n * M_LN2 + neumaier(elementwise(LOG_NDTR, z)))
        lnl[~np.isfinite(lnl)] = -np.inf
        lp[inside] = lnl
        return lp

    return log_prob, n_cont + 1 + (1 if skew else 0), n_cont


def seeded_p0(seed, n_walkers, n_dim, n_cont, skew, d_obs):
    """sysmap's seeded initial walkers; rs is left where the sampler continues."""
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

    sampler = emcee.EnsembleSampler(n_walkers, n_dim, log_prob, vectorize=True)
    sampler.random_state = rs.get_state()
    sampler.run_mcmc(p0, n_steps, progress=False)

    ours = emcee.backends.HDFBackend(out, read_only=True)
    chain, lp = ours.get_chain(), ours.get_log_prob()
    want_chain, want_lp = sampler.get_chain(), sampler.get_log_prob()
    assert chain.shape == want_chain.shape, (chain.shape, want_chain.shape)
    diff = np.argwhere(chain != want_chain)
    assert diff.size == 0, f"{name}: chains differ first at (step, walker, param) {diff[0]}"
    finite = np.isfinite(want_lp)
    assert np.array_equal(finite, np.isfinite(lp)), f"{name}: -inf pattern differs"
    if backend == "reference":
        diff = np.argwhere(lp.view(np.uint64) != want_lp.view(np.uint64))
        assert diff.size == 0, (f"{name}: log_prob differs first at (step, walker) {diff[0]}: "
                                f"{lp[tuple(diff[0])]!r} vs {want_lp[tuple(diff[0])]!r}")
        lp_text = "log_prob identical"
    else:
        rel = np.max(np.abs(lp[finite] - want_lp[finite]) / np.abs(want_lp[finite]))
        assert rel < 1e-12, f"{name}: log_prob differs by {rel:.3g} relative"
        lp_text = f"log_prob within {rel:.2g}"
    assert np.array_equal(ours.accepted, sampler.backend.accepted), f"{name}: accepted differs"
    with h5py.File(out, "r") as f:
        state = tuple(f["mcmc"].attrs[f"random_state_{i}"] for i in range(5))
    want_state = sampler.random_state
    assert state[0] == want_state[0] and np.array_equal(state[1], want_state[1]) and \
        tuple(int(x) for x in state[2:4]) == tuple(want_state[2:4]) and \
        state[4] == want_state[4], f"{name}: generator state differs"
    frac = sampler.acceptance_fraction.mean()
    print(f"{name}: {n_steps} steps x {n_walkers} walkers x {n_dim} params: chain and "
          f"generator identical; {lp_text}; acceptance {frac:.3f}")


def main():
    exe, scratch = sys.argv[1], sys.argv[2]
    os.makedirs(scratch, exist_ok=True)
    run_case(exe, scratch, "combined", "combined", False, 32, 100, 42, False)
    run_case(exe, scratch, "additive-skew", "additive", True, 16, 80, 7, False)
    run_case(exe, scratch, "multiplicative", "multiplicative", False, 10, 60, 0, False)
    # Odd ensembles: emcee's halves hold (W+1)/2 and (W-1)/2 walkers.
    run_case(exe, scratch, "additive-odd", "additive", False, 9, 60, 1, False)
    run_case(exe, scratch, "multiplicative-skew-odd", "multiplicative", True, 11, 60, 3, False)
    run_case(exe, scratch, "combined-skew-odd", "combined", True, 17, 60, 9, False)
    # Explicit walkers: the basis transform of --init, generator fresh from the seed.
    run_case(exe, scratch, "combined-init", "combined", False, 32, 50, 42, True)
    run_case(exe, scratch, "combined-skew-opencl", "combined", True, 32, 60, 5, False, "opencl")


if __name__ == "__main__":
    main()
