#!/usr/bin/env python3
"""Side-by-side cost of the default run (250 walkers x 1500 steps, combined
model, S = 5) on synthetic maps of several sizes, Gaussian and skew-normal:
emcee + a numpy log-likelihood (one call per walker, and vectorised: one
call per half-ensemble), the sys-mapping package (JAX + emcee,
run_mcmc(vectorize=True)), sysmap's reference backend, and sysmap's OpenCL
backend on PoCL and on Intel's CPU runtime (its shipped default and the plain
heuristic shape), fp64 and fp32, all in one run of this script, plus the
roofline (clpeak on each OpenCL device next to tools/bench/peak.c).

    tools/bench/compare.py --sysmap build/tools/sysmap \\
        --pixels 10000,50000,786432,12582912 --markdown OUT.md

The first call creates a virtual environment under the build folder
(build/bench-venv) with sys-mapping, jax, emcee, numpy, scipy and h5py from
PyPI and re-runs itself there. It never runs in CI. Intel's rows need
tools/vendors/intel-cpu.sh to have installed the runtime (else they are left
out).

Every row is timed over a few sampler steps and scaled to 1500 (the table
says how many); at --full-run-pixels sysmap's OpenCL rows are also whole
default runs, measured end to end (not the Intel heuristic rows, 6 to 13 times
slower: they stay scaled). The slow methods (emcee, JAX, reference)
run only up to --slow-max-pixels. Rows of one size run one after another,
so the ratios within a column come from one stretch of the machine's load.
"""
import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import time

VENV_PACKAGES = ["sys-mapping", "jax", "emcee", "numpy", "scipy", "h5py"]
W, STEPS, BURN, S_DEFAULT = 250, 1500, 300, 5
LIKELIHOODS = ("gaussian", "skew")


def ensure_venv(build):
    try:
        import jax  # noqa: F401
        import scipy  # noqa: F401
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


def numpy_log_prob(d, t, n_sys, skew):
    """The model's log-likelihood as sys-mapping writes it, in numpy."""
    import numpy as np
    from scipy.special import log_ndtr
    n = d.size

    def log_prob(theta):
        a, b, sigma = theta[:n_sys], theta[n_sys:2 * n_sys], theta[2 * n_sys]
        if sigma <= 1e-6:
            return -np.inf
        m = 1.0 + b @ t
        r = (d - a @ t) / m
        lp = -0.5 * n * np.log(2 * np.pi * sigma**2) - np.log(np.abs(m)).sum()
        if skew:
            gamma = theta[2 * n_sys + 1]
            r = r + sigma * gamma / np.sqrt(1.0 + gamma**2) * np.sqrt(2.0 / np.pi)
            lp += n * np.log(2.0) + log_ndtr(gamma * r / sigma).sum()
        lp -= (r @ r) / (2 * sigma**2)
        return lp if np.isfinite(lp) else -np.inf

    return log_prob


def numpy_log_prob_vectorised(d, t, n_sys, skew):
    """The same for a (walkers, parameters) array at once, as emcee's
    vectorize=True passes it: one (walkers x N) evaluation per half-step."""
    import numpy as np
    from scipy.special import log_ndtr
    n = d.size

    def log_prob(theta):
        a, b, sigma = theta[:, :n_sys], theta[:, n_sys:2 * n_sys], theta[:, 2 * n_sys]
        m = 1.0 + b @ t
        r = (d - a @ t) / m
        lp = -0.5 * n * np.log(2 * np.pi * sigma**2) - np.log(np.abs(m)).sum(axis=1)
        if skew:
            gamma = theta[:, 2 * n_sys + 1]
            r = r + (sigma * gamma / np.sqrt(1.0 + gamma**2) * np.sqrt(2.0 / np.pi))[:, None]
            lp += n * np.log(2.0) + log_ndtr(gamma[:, None] * r / sigma[:, None]).sum(axis=1)
        lp -= np.einsum("ij,ij->i", r, r) / (2 * sigma**2)
        return np.where(np.isfinite(lp) & (sigma > 1e-6), lp, -np.inf)

    return log_prob


def p0(d, n_sys, skew, seed=42):
    import numpy as np
    rs = np.random.RandomState(seed)
    x = np.zeros((W, 2 * n_sys + 1 + skew))
    x[:, :2 * n_sys] = rs.normal(0.0, 0.05, (W, 2 * n_sys))
    x[:, 2 * n_sys] = np.std(d) * (1.0 + rs.normal(0.0, 0.1, W))
    if skew:
        x[:, 2 * n_sys + 1] = rs.normal(0.0, 0.1, W)
    return x


def emcee_child(inp, skew, steps, vectorised):
    """Prints the seconds per evaluation of emcee + numpy on the map in inp."""
    import emcee
    import h5py
    with h5py.File(inp, "r") as f:
        d, t = f["delta_g_obs"][...], f["templates"][...]
    n_sys = t.shape[0]
    fn = numpy_log_prob_vectorised if vectorised else numpy_log_prob
    sampler = emcee.EnsembleSampler(W, 2 * n_sys + 1 + skew, fn(d, t, n_sys, skew),
                                    vectorize=vectorised)
    t0 = time.perf_counter()
    sampler.run_mcmc(p0(d, n_sys, skew), steps, progress=False)
    print((time.perf_counter() - t0) / (steps * W))


def time_emcee_numpy(inp, skew, steps, vectorised=False):
    """emcee + numpy in a process of its own, as a user runs it: with JAX
    loaded in the same process, the per-walker numpy calls ran 3.9 times
    faster here (191 against 741 us per call at N = 50k), for no reason
    of their own."""
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--emcee-child", inp,
                          str(skew), str(steps), str(int(vectorised))],
                         check=True, capture_output=True, text=True).stdout
    return float(out.split()[-1])


def time_sys_mapping(d, t, n_sys, skew, steps):
    from sys_mapping.inference import run_mcmc
    kw = dict(model="combined", delta_g_obs=d, delta_t=t, n_walkers=W, progress=False,
              vectorize=True, use_skewed=bool(skew))
    run_mcmc(n_sys, n_steps=2, n_burn=1, **kw)  # JIT compilation, not timed
    t0 = time.perf_counter()
    run_mcmc(n_sys, n_steps=steps, n_burn=1, **kw)
    return (time.perf_counter() - t0) / (steps * W)


class Sysmap:
    """`sysmap run` on one backend or device, with its environment."""

    def __init__(self, exe, work, backend, precision=None, device=None, env=None, full=True):
        self.exe, self.work, self.backend, self.full = exe, work, backend, full
        self.precision, self.device = precision, device
        self.env = dict(os.environ, **(env or {}))

    def run(self, inp, skew, steps):
        """(end-to-end wall s, sampling s per evaluation, device name)."""
        import h5py
        out = os.path.join(self.work, "run.h5")
        cmd = [self.exe, "run", inp, "-o", out, "--backend", self.backend, "--steps",
               str(steps), "--burn", str(min(BURN, steps - 1)), "--quiet"]
        cmd += ["--precision", self.precision] if self.precision else []
        cmd += ["--device", self.device] if self.device else []
        cmd += ["--skew"] if skew else []
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, env=self.env)
        wall = time.perf_counter() - t0
        with h5py.File(out, "r") as f:
            attrs = dict(f["sysmap"].attrs)
        os.remove(out)
        return wall, attrs["wall_s"] / (steps * W), str(attrs.get("device", ""))


def intel_device(exe, env):
    """P:D of the Intel runtime's CPU device, or None."""
    text = subprocess.run([exe, "devices"], env=env, capture_output=True, text=True).stdout
    platform = False
    for line in text.splitlines():
        platform = platform or "Intel(R) OpenCL" in line
        m = re.match(r"\s*\d+\s+(\d+:\d+)\s+CPU", line)
        if platform and m:
            return m.group(1)
    return None


def clpeak(env, platform, device):
    """clpeak's fp64 and fp32 compute and bandwidth peaks, as text."""
    out = subprocess.run(["clpeak", "-p", str(platform), "-d", str(device), "--compute-dp",
                          "--compute-sp", "--global-bandwidth"], env=env,
                         capture_output=True, text=True).stdout
    best = {}
    section = None
    for line in out.splitlines():
        s = line.strip()
        if s.startswith("Device:"):
            best["device"] = s.split(":", 1)[1].strip()
        elif s.endswith(")") and "(" in s and ":" not in s:
            section = s.split("(")[0].strip()
        elif ":" in s and section:
            try:
                v = float(s.split(":")[1])
            except ValueError:
                continue
            best[section] = max(best.get(section, 0.0), v)
    return best


def peak_c(here, work):
    exe = os.path.join(work, "peak")
    subprocess.run(["cc", "-O3", "-march=native", "-fopenmp", os.path.join(here, "peak.c"),
                    "-o", exe], check=True)
    return subprocess.run([exe], capture_output=True, text=True, check=True).stdout


def fmt_n(n):
    return f"{n / 1e6:.3g}M" if n >= 1000000 else f"{n / 1e3:.3g}k" if n >= 1000 else str(n)


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "--emcee-child":
        emcee_child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1")
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sysmap", default="build/tools/sysmap")
    ap.add_argument("--pixels", default="10000,50000,786432,12582912",
                    help="comma-separated map sizes")
    ap.add_argument("--likelihood", default="gaussian,skew")
    ap.add_argument("--templates", type=int, default=S_DEFAULT)
    ap.add_argument("--slow-max-pixels", type=int, default=786432,
                    help="largest N for emcee, JAX and the reference backend")
    ap.add_argument("--full-run-pixels", type=int, default=50000,
                    help="N at which OpenCL rows are also whole default runs (0: none)")
    ap.add_argument("--emcee-steps", type=int, default=4,
                    help="steps timed at N = 50k; fewer (at least 2) as N grows")
    ap.add_argument("--emcee-vectorised-steps", type=int, default=10)
    ap.add_argument("--jax-steps", type=int, default=20)
    ap.add_argument("--reference-steps", type=int, default=20)
    ap.add_argument("--opencl-steps", type=int, default=200)
    ap.add_argument("--intel-vendors",
                    default=os.path.join(os.environ.get("XDG_CACHE_HOME") or
                                         os.path.expanduser("~/.cache"),
                                         "sysmap", "intel-opencl", "vendors"))
    ap.add_argument("--heuristic", default="wgs=8,wpt=16,ppi=1024,gpc=8,wl=1,vw=1",
                    help="SYSMAP_OPENCL_TUNING for the Intel heuristic rows: the CPU "
                         "heuristic, with vw the runtime's preferred width (1)")
    ap.add_argument("--no-roofline", action="store_true")
    ap.add_argument("--markdown", help="also write the tables to this file")
    args = ap.parse_args()
    exe = os.path.abspath(args.sysmap)
    build = os.path.dirname(os.path.dirname(exe))
    ensure_venv(build)

    import jax
    work = os.path.join(build, "bench-compare")
    os.makedirs(work, exist_ok=True)
    # No tuning database: each row runs its shipped default or its stated shape.
    cache = os.path.join(work, "cache")
    shutil.rmtree(cache, ignore_errors=True)
    os.makedirs(cache)
    base_env = {"SYSMAP_CACHE_DIR": cache, "SYSMAP_OPENCL_TUNING": ""}
    intel_env = dict(base_env, OCL_ICD_VENDORS=args.intel_vendors)
    intel = None
    if os.path.exists(os.path.join(args.intel_vendors, "intel-cpu.icd")):
        intel = intel_device(exe, dict(os.environ, **intel_env))

    fast = []  # (label, Sysmap)
    for prec in ("fp64", "fp32"):
        fast.append((f"sysmap opencl {prec}, PoCL",
                     Sysmap(exe, work, "opencl", prec, "0", base_env)))
    for prec in ("fp64", "fp32"):
        if intel:
            fast.append((f"sysmap opencl {prec}, Intel runtime, shipped default",
                         Sysmap(exe, work, "opencl", prec, intel, intel_env)))
            fast.append((f"sysmap opencl {prec}, Intel runtime, heuristic",
                         Sysmap(exe, work, "opencl", prec, intel,
                                dict(intel_env, SYSMAP_OPENCL_TUNING=args.heuristic),
                                full=False)))
    reference = Sysmap(exe, work, "reference", env=base_env)

    pixels = [int(p) for p in args.pixels.split(",")]
    liks = args.likelihood.split(",")
    slow_names = ["emcee + numpy (per-walker calls)",
                  "emcee + numpy (vectorize=True)",
                  f"sys-mapping + JAX {jax.__version__} (vectorize=True)",
                  "sysmap reference (GSL, fp64)"]
    names = slow_names + [label for label, _ in fast]
    # per[lik][name][n] = (seconds per evaluation, steps timed)
    per = {lik: {name: {} for name in names} for lik in liks}
    full = {lik: {} for lik in liks}  # name -> measured default-run wall s
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for n in pixels:
        inp = os.path.join(work, "map.h5")
        d, t = make_map(inp, n, args.templates)
        scale = 50000 / n

        def steps(k):
            return max(2, math.ceil(k * scale))

        for lik in liks:
            skew = int(lik == "skew")
            row = per[lik]
            if n <= args.slow_max_pixels:
                k = steps(args.emcee_steps)
                row[names[0]][n] = (time_emcee_numpy(inp, skew, k), k)
                k = steps(args.emcee_vectorised_steps)
                row[names[1]][n] = (time_emcee_numpy(inp, skew, k, True), k)
                k = steps(args.jax_steps)
                row[names[2]][n] = (time_sys_mapping(d, t, args.templates, skew, k), k)
                k = steps(args.reference_steps)
                row[names[3]][n] = (reference.run(inp, skew, k)[1], k)
            for label, sm in fast:
                k = min(STEPS, max(3, math.ceil(args.opencl_steps * scale)))
                row[label][n] = (sm.run(inp, skew, k)[1], k)
                if n == args.full_run_pixels and sm.full:
                    full[lik][label] = sm.run(inp, skew, STEPS)[0]
            print(f"N = {n} {lik} done", file=sys.stderr)

    lines = [f"Run on {started} (`{os.uname().nodename}`, {os.cpu_count()} CPUs): "
             f"{W} walkers, combined model, S = {args.templates}, synthetic maps; per "
             f"log-prob evaluation in microseconds (sampling wall time / (steps x "
             f"walkers)), each cell timed over the steps in brackets. `-`: not run "
             f"(too slow at that size).", ""]
    for lik in liks:
        head = ["method"] + [f"N = {fmt_n(n)}" for n in pixels]
        if args.full_run_pixels in pixels:
            fr = fmt_n(args.full_run_pixels)
            head += [f"default run at {fr} (s)", f"emcee + numpy / this at {fr}",
                     f"vectorised emcee + numpy / this at {fr}"]
        lines += [f"**{'Gaussian' if lik == 'gaussian' else 'Skew-normal'}**", "",
                  "| " + " | ".join(head) + " |",
                  "| --- |" + " ---: |" * (len(head) - 1)]
        for name in names:
            cells = [name]
            for n in pixels:
                v = per[lik][name].get(n)
                cells.append(f"{v[0] * 1e6:.4g} ({v[1]})" if v else "-")
            if args.full_run_pixels in pixels:
                n = args.full_run_pixels
                v = per[lik][name].get(n)
                if name in full[lik]:
                    cells.append(f"{full[lik][name]:.1f} measured")
                elif v:
                    cells.append(f"{v[0] * W * STEPS:.1f} scaled")
                else:
                    cells.append("-")
                for base in names[:2]:
                    e = per[lik][base].get(n)
                    cells.append(f"{e[0] / v[0]:.1f}x" if e and v else "-")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines.append("Scaled default runs: per-evaluation cost x 250 x 1500 (sampling only); "
                 "measured ones are whole `sysmap run` calls (start-up, map load and "
                 "run file included). Cells of one column ran one after another.")

    if not args.no_roofline:
        here = os.path.dirname(os.path.abspath(__file__))
        lines += ["", "Roofline of the same run:", "",
                  "| measured by | device | fp64 GFLOP/s | fp32 GFLOP/s | read GB/s |",
                  "| --- | --- | ---: | ---: | ---: |"]
        pk = peak_c(here, work)
        val = {k: re.search(k + r"[^0-9]*([0-9.]+)", pk) for k in
               ("fp64", "fp32", "bandwidth")}
        lines.append(f"| tools/bench/peak.c (C, OpenMP, -march=native) | all cores | "
                     f"{val['fp64'].group(1)} | {val['fp32'].group(1)} | "
                     f"{val['bandwidth'].group(1)} |")
        rows = [("PoCL", base_env, 0)]
        if intel:
            rows.append(("Intel runtime", intel_env, int(intel.split(":")[0])))
        for what, env, platform in rows:
            c = clpeak(dict(os.environ, **env), platform, 0)

            def g(key):
                vals = [v for k, v in c.items() if k.startswith(key)]
                return f"{max(vals):.1f}" if vals else "-"

            lines.append(f"| clpeak 1.1 ({what}) | {c.get('device', '?')} | "
                         f"{g('Double-precision')} | {g('Single-precision')} | "
                         f"{g('Global memory bandwidth')} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
