"""arviz.from_emcee accepts the sampler sysmap.run_mcmc returns.

The InferenceData holds the run's chain (one arviz chain per walker, one
draw per step, the parameters named after sysmap's) and its
log-probabilities as sample_stats.lp, equal to get_chain() / get_log_prob();
az.summary works on it. Skipped (exit 77) when arviz is not installed for
this Python (Debian 12 has no python3-arviz: `pip install arviz` in a venv,
or `pip install .[arviz]`).

usage: python_arviz.py   (PYTHONPATH: the build's python/)
"""
import sys
import warnings

import numpy as np

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # arviz's FutureWarning about its refactor
        import arviz as az
except ImportError:
    print(f"skip: arviz is not installed for {sys.executable}")
    sys.exit(77)

import sysmap

rs = np.random.RandomState(4)
t = rs.normal(size=(2, 600))
d = rs.normal(0, 0.1, 600) + 0.02 * t[0]
flat, sampler = sysmap.run_mcmc(2, model="additive", delta_g_obs=d, delta_t=t, n_walkers=12,
                                n_steps=300, n_burn=100, progress=False, backend="reference")
for kwargs in ({}, {"var_names": sampler.param_names}):
    idata = az.from_emcee(sampler, **kwargs)
    names = kwargs.get("var_names", [f"var_{i}" for i in range(sampler.ndim)])
    post = idata.posterior
    assert post.sizes["chain"] == 12 and post.sizes["draw"] == 300, post.sizes
    for i, name in enumerate(names):
        assert np.array_equal(post[name].values, sampler.get_chain()[:, :, i].T), name
    assert np.array_equal(idata.sample_stats["lp"].values, sampler.get_log_prob().T)
summary = az.summary(idata.sel(draw=slice(100, None)))
assert list(summary.index) == sampler.param_names, summary.index
print(f"ok  arviz {az.__version__}: from_emcee(sampler) holds the chain and log-prob "
      f"(12 chains x 300 draws); az.summary:\n{summary.to_string()}")
