"""A sys-mapping script runs unchanged on sysmap (`import sysmap as sys_mapping`).

tests/sys_mapping_script.py is a sys-mapping analysis; its only sysmap line
is that import (checked: with `import sys_mapping` instead it is the
sys-mapping script). It is run as it is, and its results checked: the
combined model recovers the injected a and b within 5 posterior sigma; the
helpers follow sys-mapping's conventions; the continued chain starts with
the first run's (emcee's run_mcmc(None, n)) and has emcee's shapes; the
additive fits (own emcee sampler on make_log_prob, analytic posterior)
agree with each other.

usage: sys_mapping_dropin.py SCRIPT.py   (PYTHONPATH: the build's python/)
"""
import re
import runpy
import sys
import warnings

import numpy as np

script = sys.argv[1]
text = open(script).read()
imports = re.findall(r"^import .*sys_?map.*$", text, flags=re.M)
assert imports == ["import sysmap as sys_mapping"], imports
code = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
assert [ln for ln in code if "sysmap" in ln] == imports, "sysmap only in the import"

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    ns = runpy.run_path(script, run_name="__main__")
for w in caught:
    print(f"warning: {w.category.__name__}: {str(w.message)[:120]}")

n_sys, W, n_burn = ns["n_sys"], ns["n_walkers"], ns["n_burn"]
flat, longer, sampler = ns["flat_chain"], ns["longer"], ns["sampler"]
assert flat.shape == (W * (ns["n_steps"] - n_burn), 2 * n_sys + 1)
for name, est, var, true in (("a", ns["a_hat"], ns["var_a"], ns["a_true"]),
                             ("b", ns["b_hat"], ns["var_b"], ns["b_true"])):
    z = np.abs(est - true) / np.sqrt(var)
    assert np.all(z < 5), (name, est, true, z)
    print(f"ok  combined {name}: recovered within {z.max():.2f} posterior sigma")
assert np.allclose(ns["cov_a"], np.cov(flat[:, :n_sys], rowvar=False), rtol=1e-10, atol=0)
assert np.array_equal(np.diag(ns["cov_b"]), ns["var_b"])

assert sampler.iteration == ns["n_steps"] + 200
assert longer.shape == (W * (sampler.iteration - n_burn), 2 * n_sys + 1)
assert np.array_equal(longer[:flat.shape[0]], flat), "continuation keeps the first chain"
assert ns["longer_lp"].shape == (longer.shape[0],)
assert ns["thinned"].shape == (len(range(n_burn + 9, sampler.iteration, 10)), W, 2 * n_sys + 1)
assert np.array_equal(ns["state"].coords, sampler.get_chain()[-1])
assert sampler.chain.shape == (W, sampler.iteration, 2 * n_sys + 1)
assert 0.15 < np.mean(sampler.acceptance_fraction) < 0.8
assert ns["tau"].shape == (2 * n_sys + 1,) and np.all(ns["tau"] > 1)
print(f"ok  continuation: {sampler.iteration} steps, the first {flat.shape[0]} samples "
      f"unchanged; emcee shapes")

post = ns["analytic"]
sd = np.sqrt(np.diag(post.cov_a))
z = np.abs(ns["a_additive"] - post.a_ols) / sd
assert np.all(z < 1), (ns["a_additive"], post.a_ols, z)  # same posterior, MC error only
z_draws = np.abs(ns["analytic_chain"].mean(axis=0)[:n_sys] - post.a_ols) / (sd / np.sqrt(20_000))
assert np.all(z_draws < 5), z_draws
print(f"ok  additive: own emcee sampler on make_log_prob within {z.max():.2f} sigma of the "
      f"exact posterior mean; analytic draws within {z_draws.max():.2f} standard errors")
