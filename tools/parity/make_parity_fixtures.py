"""Parity fixtures from the reference package sys-mapping (PyPI), for sysmap's
drop-in API (tests/parity_sys_mapping.py compares without needing JAX).

Runs in a Python that has sys-mapping 1.1.0 and JAX (tools/parity/make_parity_fixtures.sh
makes one) and writes one small .npz:

  map: delta_g_obs (2000,), delta_t (3, 2000): a synthetic contaminated map
       from numpy's default_rng(20240601);
  lnL: for S = 3 and S = 1 (the first template), each model (additive,
       multiplicative, combined) and likelihood (Gaussian, skew-normal), 8
       parameter vectors (theta_<case>) and sys_mapping.make_log_prob's
       values (lp_<case>, scalar form; lpvec_<case>, vectorize=True); vector
       7 has sigma = sigma_min (-inf), the skew cases' vector 6 a large gamma
       (the far tail of log Phi);
  statistics: get_mle_params, get_param_variance_from_chain and
       get_param_covariance_from_chain of fixed flat chains (chain3: 501 x 8,
       chain1: 500 x 4; odd and even lengths for the median) for each model,
       n_sys = 3 and 1;
  analytic: moments of run_additive_analytic's draws (n_samples 100000,
       seed 42) for S = 3 and 1: mean and covariance of [a, sigma].

usage: make_parity_fixtures.py OUT.npz          write the fixture
       make_parity_fixtures.py --check OUT.npz  recompute and compare (exit 1 on a difference)
"""
import importlib.metadata
import sys

import numpy as np

import sys_mapping as sm

MODELS = ("additive", "multiplicative", "combined")
SEED_MAP, SEED_THETA, SEED_CHAIN = 20240601, 20240602, 20240603
N_PIX, N_SYS = 2000, 3
SIGMA_MIN = 1e-6
A_TRUE = np.array([0.02, -0.015, 0.01])
B_TRUE = np.array([0.05, 0.0, -0.03])


def make_map():
    rng = np.random.default_rng(SEED_MAP)
    t = rng.standard_normal((N_SYS, N_PIX))
    t[1] += 0.4 * t[0]  # correlated templates, as real ones are
    d_true = 0.1 * rng.standard_normal(N_PIX)
    d_obs = d_true * (1 + B_TRUE @ t) + A_TRUE @ t
    return d_obs, t


def case_name(s, model, skew):
    return f"S{s}_{model}_{'skew' if skew else 'gauss'}"


def thetas(rng, s, model, skew):
    """8 vectors near the posterior of the map, in sys-mapping's layout."""
    n_cont = sm.n_free_params(s, model)
    n_dim = n_cont + 1 + int(skew)
    th = np.empty((8, n_dim))
    a = A_TRUE[:s] if model != "multiplicative" else B_TRUE[:s]
    cont = np.concatenate([a, B_TRUE[:s]]) if model == "combined" else a
    th[:, :n_cont] = cont + rng.normal(0, 0.01, (8, n_cont))
    th[:, n_cont] = 0.1 * (1 + rng.normal(0, 0.05, 8))
    if skew:
        th[:, n_cont + 1] = rng.normal(0, 1.0, 8)
        th[6, n_cont + 1] = 40.0     # far tail of log Phi for the negative residuals
    th[7, n_cont] = SIGMA_MIN        # at the prior's edge: -inf
    return th


def compute():
    d, t = make_map()
    out = {"delta_g_obs": d, "delta_t": t, "sigma_min": np.float64(SIGMA_MIN),
           "versions": np.array(f"sys-mapping {importlib.metadata.version('sys-mapping')}, "
                                f"jax {importlib.metadata.version('jax')}, numpy {np.__version__}")}
    rng = np.random.default_rng(SEED_THETA)
    cases = []
    for s in (3, 1):
        for model in MODELS:
            for skew in (False, True):
                name = case_name(s, model, skew)
                th = thetas(rng, s, model, skew)
                lp, _ = sm.make_log_prob(s, model, d, t[:s], skew, SIGMA_MIN)
                lpv, _ = sm.make_log_prob(s, model, d, t[:s], skew, SIGMA_MIN, vectorize=True)
                out["theta_" + name] = th
                out["lp_" + name] = np.array([lp(x) for x in th])
                out["lpvec_" + name] = np.asarray(lpv(th.copy()), dtype=np.float64)
                cases.append(name)
    out["cases"] = np.array(cases)

    crng = np.random.default_rng(SEED_CHAIN)
    scale = np.array([0.01, 0.02, 0.005, 0.03, 0.01, 0.02, 0.002, 0.3])
    mean = np.array([0.02, -0.015, 0.01, 0.05, 0.0, -0.03, 0.1, 0.5])
    chain3 = mean + scale * crng.standard_normal((501, 8))
    chain3[:, 1] += 0.5 * (chain3[:, 0] - mean[0])  # correlated columns
    chain1 = mean[[0, 3, 6, 7]] + scale[[0, 3, 6, 7]] * crng.standard_normal((500, 4))
    out["chain3"], out["chain1"] = chain3, chain1
    for s, chain in ((3, chain3), (1, chain1)):
        out[f"mle_S{s}"] = sm.get_mle_params(chain)
        for model in MODELS:
            va, vb = sm.get_param_variance_from_chain(chain, s, model)
            ca, cb = sm.get_param_covariance_from_chain(chain, s, model)
            for key, v in (("var_a", va), ("var_b", vb), ("cov_a", ca), ("cov_b", cb)):
                out[f"{key}_S{s}_{model}"] = np.asarray(v, dtype=np.float64)

    for s in (3, 1):
        flat, smp = sm.run_additive_analytic(s, delta_g_obs=d, delta_t=t[:s], n_samples=100_000,
                                             seed=42)
        out[f"analytic_mean_S{s}"] = flat.mean(axis=0)
        out[f"analytic_cov_S{s}"] = np.cov(flat, rowvar=False)
        out[f"analytic_n_S{s}"] = np.int64(smp.n_samples)
    return out


def main(argv):
    check = argv[:1] == ["--check"]
    if check:
        argv = argv[1:]
    if len(argv) != 1:
        sys.exit(__doc__)
    out = compute()
    if not check:
        np.savez(argv[0], **out)
        print(f"wrote {argv[0]}: {len(out)} arrays")
        return 0
    ref = np.load(argv[0])
    bad = []
    for k, v in out.items():
        if k == "versions":
            continue
        r = ref[k]
        if v.dtype.kind in "fi":
            ok = np.allclose(v, r, rtol=1e-13, atol=0, equal_nan=True) and \
                np.array_equal(np.isinf(v), np.isinf(r))
        else:
            ok = np.array_equal(v, r)
        if not ok:
            bad.append(k)
    print(f"{argv[0]}: {len(out) - len(bad) - 1} arrays agree, {len(bad)} differ {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
