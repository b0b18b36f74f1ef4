#!/usr/bin/env python3
"""Side-by-side cost of the default run (250 walkers x 1500 steps, combined
model) on one synthetic map: emcee + a numpy log-likelihood, the sys-mapping
package (JAX + emcee, run_mcmc(vectorize=True)), and sysmap's reference and
OpenCL backends, all in one run of this script on one machine.

    tools/bench/compare.py --sysmap build/tools/sysmap [--pixels 50000]

The first call creates a virtual environment under the build folder
(build/bench-venv) with sys-mapping, jax, emcee, numpy and h5py from PyPI and
re-runs itself there. It never runs in CI.

Slow methods are timed over a few steps and scaled to 1500 steps (the table
says which); sysmap's OpenCL run is the full default run, measured.
"""
import argparse
import os
import subprocess
import sys
import time

VENV_PACKAGES = ["sys-mapping", "jax", "emcee", "numpy", "h5py"]
W, STEPS, BURN, S_DEFAULT = 250, 1500, 300, 5


def ensure_venv(build):
    try:
        import jax  # noqa: F401
        import sys_mapping  # noqa: F401
        return
    except ImportError:
        pass
    venv = os.path.join(build, "bench-venv")
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([python, "-m", "pip", "install", "-q", *VENV_PACKAGES], check=True)
    os.execv(python, [python, *sys.argv])


def make_map(path, n_pix, n_sys, seed=7):
    import h5py
    import numpy as np
    rs = np.random.RandomState(seed)
    t = rs.normal(size=(n_sys, n_pix))
    a = 0.02 * rs.normal(size=n_sys)
    b = 0.05 * rs.normal(size=n_sys)
    d = 0.1 * rs.normal(size=n_pix) * (1 + b @ t) + a @ t
    with h5py.File(path, "w") as f:
        f["delta_g_obs"] = d
        f["templates"] = t
    return d, t


def numpy_log_prob(d, t, n_sys):
    import numpy as np

    def log_prob(theta):
        a, b, sigma = theta[:n_sys], theta[n_sys:2 * n_sys], theta[2 * n_sys]
        if sigma <= 1e-6:
            return -np.inf
        m = 1.0 + b @ t
        r = (d - a @ t) / m
        lp = -0.5 * d.size * np.log(2 * np.pi * sigma**2) - np.log(np.abs(m)).sum() \
            - (r @ r) / (2 * sigma**2)
        return lp if np.isfinite(lp) else -np.inf

    return log_prob


def p0(d, n_sys, seed=42):
    import numpy as np
    rs = np.random.RandomState(seed)
    x = np.zeros((W, 2 * n_sys + 1))
    x[:, :2 * n_sys] = rs.normal(0.0, 0.05, (W, 2 * n_sys))
    x[:, 2 * n_sys] = np.std(d) * (1.0 + rs.normal(0.0, 0.1, W))
    return x


def time_emcee_numpy(d, t, n_sys, steps):
    import emcee
    sampler = emcee.EnsembleSampler(W, 2 * n_sys + 1, numpy_log_prob(d, t, n_sys))
    t0 = time.perf_counter()
    sampler.run_mcmc(p0(d, n_sys), steps, progress=False)
    return (time.perf_counter() - t0) / (steps * W)


def time_sys_mapping(d, t, n_sys, steps):
    from sys_mapping.inference import run_mcmc
    kw = dict(model="combined", delta_g_obs=d, delta_t=t, n_walkers=W, progress=False,
              vectorize=True)
    run_mcmc(n_sys, n_steps=2, n_burn=1, **kw)  # JIT compilation, not timed
    t0 = time.perf_counter()
    run_mcmc(n_sys, n_steps=steps, n_burn=1, **kw)
    return (time.perf_counter() - t0) / (steps * W)


def time_sysmap(exe, inp, out, backend, steps, precision=None):
    import h5py
    cmd = [exe, "run", inp, "-o", out, "--backend", backend, "--steps", str(steps),
           "--burn", str(min(BURN, steps - 1)), "--quiet"]
    if precision:
        cmd += ["--precision", precision]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t0
    with h5py.File(out, "r") as f:
        attrs = dict(f["sysmap"].attrs)
    return wall, attrs["wall_s"] / (steps * W), attrs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sysmap", default="build/tools/sysmap")
    ap.add_argument("--pixels", type=int, default=50000)
    ap.add_argument("--templates", type=int, default=S_DEFAULT)
    ap.add_argument("--emcee-steps", type=int, default=4)
    ap.add_argument("--jax-steps", type=int, default=20)
    ap.add_argument("--reference-steps", type=int, default=30)
    args = ap.parse_args()
    exe = os.path.abspath(args.sysmap)
    build = os.path.dirname(os.path.dirname(exe))
    ensure_venv(build)

    import jax
    import numpy as np
    work = os.path.join(build, "bench-compare")
    os.makedirs(work, exist_ok=True)
    inp = os.path.join(work, "map.h5")
    d, t = make_map(inp, args.pixels, args.templates)
    n = args.pixels
    rows = []

    def add(name, per_eval, measured_steps, default_wall=None):
        scaled = default_wall is None
        wall = per_eval * W * STEPS if scaled else default_wall
        how = f"{measured_steps} steps, scaled" if scaled else "measured"
        rows.append((name, per_eval, wall, how))

    add("emcee + numpy (per-walker calls)", time_emcee_numpy(d, t, args.templates,
                                                             args.emcee_steps), args.emcee_steps)
    add(f"sys-mapping + JAX {jax.__version__} (vectorize=True)",
        time_sys_mapping(d, t, args.templates, args.jax_steps), args.jax_steps)
    _, per, _ = time_sysmap(exe, inp, os.path.join(work, "ref.h5"), "reference",
                            args.reference_steps)
    add("sysmap reference (GSL, fp64)", per, args.reference_steps)
    for precision in ("fp64", "fp32"):
        wall, per, attrs = time_sysmap(exe, inp, os.path.join(work, f"cl-{precision}.h5"),
                                       "opencl", STEPS, precision)
        add(f"sysmap opencl {precision} ({attrs['device'].split(' (')[0][:28]})", per, STEPS,
            wall)

    base = rows[3][1]  # sysmap opencl fp64
    print(f"default run: {W} walkers x {STEPS} steps, combined model, N = {n} pixels, "
          f"S = {args.templates} templates; host: {os.cpu_count()} CPUs\n")
    print(f"| method | per log-prob evaluation (us) | default run (s) | how | "
          f"cost vs sysmap opencl fp64 |")
    print("| --- | ---: | ---: | --- | ---: |")
    for name, per, wall, how in rows:
        print(f"| {name} | {per * 1e6:.1f} | {wall:.1f} | {how} | {per / base:.1f}x |")
    print(f"\nper-evaluation cost = sampling wall time / (steps x walkers); sysmap's default "
          f"run time includes start-up and writing the run file.")
    del np


if __name__ == "__main__":
    main()
