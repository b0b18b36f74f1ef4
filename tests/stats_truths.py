"""Prints the numpy/emcee truths pasted into tests/test_stats.c and
tests/test_posterior.c: /usr/bin/python3 tests/stats_truths.py

The series come from a 32-bit LCG evaluated identically in C and here."""
import math

import emcee
import numpy as np


def lcg_uniforms(count, state=12345):
    out = []
    for _ in range(count):
        state = (1664525 * state + 1013904223) % 2**32
        out.append(state / 2**32 - 0.5)
    return out


def ar1_chain(n_steps, n_walkers, rhos):
    e = iter(lcg_uniforms(n_steps * n_walkers * len(rhos)))
    x = np.zeros((n_steps, n_walkers, len(rhos)))
    prev = [[0.0] * len(rhos) for _ in range(n_walkers)]
    for t in range(n_steps):
        for w in range(n_walkers):
            for d, rho in enumerate(rhos):
                prev[w][d] = rho * prev[w][d] + next(e)
                x[t, w, d] = prev[w][d]
    return x


def show(name, values):
    print(name, ", ".join(repr(float(v)) for v in np.ravel(values)))


M = np.array([[1.5, -2.0, 0.25], [3.0, 4.5, -1.0], [-0.5, 2.0, 0.75],
              [2.25, -1.5, 3.0], [0.0, 1.0, -2.5]])
show("median odd", np.median(M, axis=0))
show("median even", np.median(M[:4], axis=0))
show("cov odd [0,3)", np.cov(M, rowvar=False))
show("cov even [1,3)", np.cov(M[:4, 1:3], rowvar=False))

x = ar1_chain(2000, 4, [0.5, 0.9])
tau = emcee.autocorr.integrated_time(x, c=5, tol=50, quiet=True)
show("autocorr tau (2000, 4, rho 0.5 0.9)", tau)
print("flag", bool(np.any(50 * tau > 2000)))
ramp = np.tile(np.arange(8.0)[:, None, None], (1, 2, 1))
ramp[:, 1, 0] **= 2
show("autocorr ramp (8, 2, 1)", emcee.autocorr.integrated_time(ramp, quiet=True))
const = np.concatenate([x[:, :, :1], np.full((2000, 4, 1), 1.25)], axis=2)
show("autocorr constant column", emcee.autocorr.integrated_time(const, quiet=True))


def gamma_median(alpha):
    """Median of Gamma(alpha, 1) for integer or half-integer alpha (closed-form CDF)."""
    def cdf(g):
        if alpha == int(alpha):
            terms = [math.exp(j * math.log(g) - g - math.lgamma(j + 1)) for j in range(int(alpha))]
            return 1.0 - math.fsum(terms)
        terms = [math.exp((j + 0.5) * math.log(g) - g - math.lgamma(j + 1.5))
                 for j in range(int(alpha))]
        return math.erf(math.sqrt(g)) - math.fsum(terms)
    lo, hi = 0.0, 2.0 * alpha + 10.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if cdf(mid) < 0.5 else (lo, mid)
    return 0.5 * (lo + hi)


print("gamma median alpha 2", repr(gamma_median(2.0)))
print("gamma median alpha 1.5", repr(gamma_median(1.5)))

n, s = 200, 3
u = lcg_uniforms(n * s + n, state=777)
T = np.array(u[:n * s]).reshape(s, n)
d = np.array([0.3 * T[0, j] - 0.2 * T[1, j] + 0.1 * T[2, j] + 0.05 * u[n * s + j]
              for j in range(n)])
X = T.T
a, rss, _, _ = np.linalg.lstsq(X, d, rcond=None)
xtx_inv = np.linalg.inv(X.T @ X)
alpha, beta = (n - s - 1) / 2, rss[0] / 2
show("posterior a_ols", a)
show("posterior rss", rss)
show("posterior xtx_inv", xtx_inv)
show("posterior cov_a", beta / (alpha - 1) * xtx_inv)
print("posterior sigma_median", repr(math.sqrt(beta / gamma_median(alpha))))
