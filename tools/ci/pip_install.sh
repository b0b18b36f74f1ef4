#!/bin/sh
# CI: `pip install .` works in a fresh venv (Debian 12 with the packages of
# tools/install-deps.sh) and the installed package computes: the wheel's own
# libsysmap gives a Gaussian log-likelihood equal to the closed form, and a
# short seeded run is reproducible. Compiles the library once (~20 s on 2
# cores). Needs PyPI for scikit-build-core and numpy.
#   tools/ci/pip_install.sh            (from anywhere; PYTHON picks the interpreter)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"${PYTHON:-python3}" -m venv "$work/venv"
CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} \
  "$work/venv/bin/pip" install --quiet --disable-pip-version-check "$root"
cd "$work"   # away from the source tree: the installed package must be the one imported
SYSMAP_CACHE_DIR="$work/cache" "$work/venv/bin/python" - <<'EOF'
import os
import numpy as np
import sysmap

where = os.path.dirname(sysmap.__file__)
assert "site-packages" in where, where
rng = np.random.default_rng(1)
d, t = 0.1 * rng.standard_normal(300), rng.standard_normal((2, 300))
lp, n_dim = sysmap.make_log_prob(2, "additive", d, t, backend="reference")
theta = np.array([0.01, -0.02, 0.1])
r = d - theta[:2] @ t
want = -0.5 * d.size * np.log(2 * np.pi * 0.01) - 0.5 * (r @ r) / 0.01
assert n_dim == 3 and abs(lp(theta) - want) <= 1e-12 * abs(want), (lp(theta), want)
runs = [sysmap.run_mcmc(2, delta_g_obs=d, delta_t=t, n_walkers=16, n_steps=30, n_burn=10,
                        progress=False, backend="reference", seed=3)[0] for _ in range(2)]
assert runs[0].shape == (320, 5) and np.array_equal(runs[0], runs[1])
print(f"pip install . ok: sysmap {sysmap.version()} from {where}; lnL {lp(theta):.6f} "
      f"(closed form {want:.6f}); 16 x 30 run reproducible")
EOF
