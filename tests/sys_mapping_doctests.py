"""sys-mapping 1.1.0's docstring examples, run through sysmap.

The Examples sections of the functions sysmap provides (make_log_prob,
run_mcmc, get_mle_params, get_param_variance_from_chain,
get_param_covariance_from_chain, n_free_params, pack_params,
unpack_params), copied from sys-mapping 1.1.0 with only the imports
changed: `from sys_mapping import` -> `from sysmap import`, and jax.numpy
-> numpy (sysmap needs no JAX). Run by doctest; an example whose docstring
shows no output (sys-mapping's `log_prob(theta0)  # finite negative number`)
must print the number sys-mapping 1.1.0 prints for it (measured with it,
below), within 1e-10 relative. sysmap's own docstring examples run too.

usage: sys_mapping_doctests.py   (PYTHONPATH: the build's python/)
"""
import doctest
import sys

EXAMPLES = {
    "make_log_prob": """
    >>> import numpy as np
    >>> from sysmap import make_log_prob
    >>> rng = np.random.default_rng(0)
    >>> delta_g = rng.standard_normal(2000) * 0.1
    >>> delta_t = rng.standard_normal((3, 2000))
    >>> log_prob, n_dim = make_log_prob(3, "combined", delta_g, delta_t)
    >>> n_dim  # 3a + 3b + 1sigma = 7
    7
    >>> import numpy as np
    >>> theta0 = np.zeros(n_dim); theta0[-1] = 0.1  # sigma = 0.1
    >>> log_prob(theta0)  # finite negative number
    """,
    "run_mcmc": """
    >>> import numpy as np
    >>> from sysmap import run_mcmc
    >>> rng = np.random.default_rng(0)
    >>> delta_g = rng.standard_normal(500) * 0.1
    >>> delta_t = rng.standard_normal((2, 500))
    >>> chain, sampler = run_mcmc(
    ...     n_sys=2, model="additive",
    ...     delta_g_obs=delta_g, delta_t=delta_t,
    ...     n_walkers=50, n_steps=200, n_burn=50,
    ...     progress=False,
    ... )
    >>> chain.shape  # (50 walkers * 150 steps, 3 params: a0, a1, sigma)
    (7500, 3)
    """,
    "get_mle_params": """
    >>> import numpy as np
    >>> from sysmap import get_mle_params
    >>> rng = np.random.default_rng(0)
    >>> flat_chain = rng.standard_normal((5000, 4))  # mock chain
    >>> theta_hat = get_mle_params(flat_chain)
    >>> theta_hat.shape
    (4,)
    """,
    "get_param_variance_from_chain": """
    >>> import numpy as np
    >>> from sysmap import get_param_variance_from_chain
    >>> rng = np.random.default_rng(0)
    >>> n_sys, n_samples = 3, 2000
    >>> flat_chain = rng.standard_normal((n_samples, 2 * n_sys + 1)) * 0.01
    >>> var_a, var_b = get_param_variance_from_chain(flat_chain, n_sys, "combined")
    >>> var_a.shape
    (3,)
    """,
    "get_param_covariance_from_chain": """
    >>> import numpy as np
    >>> from sysmap import get_param_covariance_from_chain
    >>> rng = np.random.default_rng(0)
    >>> n_sys, n_samples = 3, 2000
    >>> flat_chain = rng.standard_normal((n_samples, 2 * n_sys + 1)) * 0.01
    >>> cov_a, cov_b = get_param_covariance_from_chain(flat_chain, n_sys, "combined")
    >>> cov_a.shape
    (3, 3)
    """,
    "n_free_params": """
    >>> from sysmap import n_free_params
    >>> n_free_params(4, "additive")
    4
    >>> n_free_params(4, "multiplicative")
    4
    >>> n_free_params(4, "combined")
    8
    """,
    "pack_params": """
    >>> import numpy as np
    >>> from sysmap import pack_params
    >>> a = np.array([0.05, -0.03, 0.02])
    >>> b = np.array([0.04,  0.01, -0.02])
    >>> theta = pack_params(a, b, sigma=0.12, model="combined")
    >>> theta  # [a0, a1, a2, b0, b1, b2, sigma]
    array([ 0.05, -0.03,  0.02,  0.04,  0.01, -0.02,  0.12])
    >>> pack_params(a, None, 0.12, gamma=1.5, model="additive")
    array([ 0.05, -0.03,  0.02,  0.12,  1.5 ])
    """,
    "unpack_params": """
    >>> import numpy as np, numpy as jnp
    >>> from sysmap import pack_params, unpack_params
    >>> a = np.array([0.05, -0.03])
    >>> b = np.array([0.04,  0.01])
    >>> theta = pack_params(a, b, sigma=0.12, model="combined")
    >>> a2, b2, sigma2, _ = unpack_params(jnp.asarray(theta), n_sys=2, model="combined")
    >>> float(sigma2)
    0.12
    """,
}

# What sys-mapping 1.1.0 (JAX 0.10.2, x64) prints where its docstring shows nothing.
UNSHOWN = {"make_log_prob": [1766.1126785247936]}


class Checker(doctest.OutputChecker):
    """doctest's checker, except that an example whose docstring shows no
    output may print; what it printed is kept for the comparison above."""

    def __init__(self):
        self.printed = []

    def check_output(self, want, got, optionflags):
        if want == "":
            self.printed.append(got)
            return True
        return super().check_output(want, got, optionflags)


def main():
    parser = doctest.DocTestParser()
    failed = 0
    for name, text in EXAMPLES.items():
        checker = Checker()
        runner = doctest.DocTestRunner(checker=checker, verbose=False)
        test = parser.get_doctest(text, {}, name, None, 0)
        result = runner.run(test, out=sys.stdout.write)
        printed = [p for p in checker.printed if p.strip()]
        want = UNSHOWN.get(name, [])
        if len(printed) != len(want):
            print(f"FAIL {name}: printed {printed}, sys-mapping printed {want}")
            failed += 1
            continue
        for got, ref in zip(printed, want):
            value = float(got)
            if not abs(value - ref) <= 1e-10 * abs(ref):
                print(f"FAIL {name}: printed {value!r}, sys-mapping printed {ref!r}")
                failed += 1
        failed += result.failed
        extra = f"; printed {', '.join(p.strip() for p in printed)} (sys-mapping: " \
                f"{', '.join(repr(w) for w in want)})" if want else ""
        print(f"{'ok ' if not result.failed else 'FAIL'} {name}: {result.attempted} examples"
              + extra)
    # And sysmap's own docstring examples.
    import sysmap.contamination
    import sysmap.inference
    for mod in (sysmap.contamination, sysmap.inference):
        result = doctest.testmod(mod)
        failed += result.failed
        print(f"{'ok ' if not result.failed else 'FAIL'} {mod.__name__} docstrings: "
              f"{result.attempted} examples")
    if failed:
        sys.exit(f"{failed} failures")


if __name__ == "__main__":
    main()
