#!/usr/bin/python3
"""Strong and weak scaling of `mpirun -n K sysmap run` (K = 1, 2) and the
per-step overhead of the MPI protocol, on synthetic maps (5 templates,
combined model, 250 walkers). Prints a Markdown table; tools/bench/SCALING.md
holds the model and the numbers it printed.

Each rank runs single-threaded (the reference backend, or PoCL with one
thread per rank), so K ranks use K cores and the efficiency is the MPI
split's, not the OpenCL runtime's threading. Times are the sampler's own
("wall time ... s sampling" of the summary: setup and file writing left out)
and the median of --repeats runs.

  strong: N pixels on 1 rank vs the same N on 2 ranks, E = T1 / (2 T2)
  weak:   N/2 pixels on 1 rank vs N on 2 ranks,       E = T1 / T2
  ceiling: two independent 1-rank runs of N/2 pixels at the same time, no
           MPI: what two processes get from this machine's two cores at
           all (shared caches, memory bandwidth, a VM's vCPUs), E = T1 / T
  protocol: a 24-pixel map, where a step is nearly all sampler and protocol
            work, on 1 and 2 ranks: the protocol's time per step (2 half-steps)
            is P = T2 - T1 + C/2, C = 24 x 250 / (1-rank throughput)

usage: mpi_scaling.py SYSMAP_EXE [--mpiexec mpiexec] [--pixels 200000]
                      [--steps 12] [--repeats 3] [--backends reference,opencl]
"""
import argparse
import os
import re
import statistics
import subprocess
import tempfile

import h5py
import numpy as np


def make_map(path, n, s=5, seed=3):
    rs = np.random.RandomState(seed)
    t = rs.normal(size=(s, n))
    t[1:] += 0.6 * t[:-1]
    a, b = 0.02 * rs.normal(size=s), 0.02 * rs.normal(size=s)
    d = 0.1 * rs.normal(size=n) * (1 + b @ t) + a @ t
    with h5py.File(path, "w") as f:
        f["delta_g_obs"] = d
        f["templates"] = t


def sampling_time(cmd, env):
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr}")
    return float(re.search(r"wall time ([0-9.]+) s sampling", proc.stdout).group(1))


def concurrent(args, env, inp, backend, steps):
    """Two plain 1-rank runs at once; the slower one's time per step."""
    cmds = [[args.exe, "run", inp, "-o", inp + f".c{i}.out.h5", "--steps", str(steps), "--burn",
             "1", "--backend", backend, "--flush-every", str(steps)] for i in range(2)]
    times = []
    for _ in range(args.repeats):
        procs = [subprocess.Popen(c, stdout=subprocess.PIPE, text=True, env=env) for c in cmds]
        outs = [p.communicate()[0] for p in procs]
        times.append(max(float(re.search(r"wall time ([0-9.]+) s sampling", o).group(1))
                         for o in outs))
    return statistics.median(times) / steps, min(times) / steps, max(times) / steps


def run(args, env, inp, ranks, backend, steps):
    out = inp + f".{ranks}.{backend}.out.h5"
    cmd = [args.exe, "run", inp, "-o", out, "--steps", str(steps), "--burn", "1",
           "--backend", backend, "--flush-every", str(steps)]
    if ranks > 1 or args.always_mpirun:
        cmd = [args.mpiexec, "-n", str(ranks), *cmd]
    times = [sampling_time(cmd, env) for _ in range(args.repeats)]
    return statistics.median(times) / steps, min(times) / steps, max(times) / steps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("exe")
    ap.add_argument("--mpiexec", default="mpiexec")
    ap.add_argument("--pixels", type=int, default=200000)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--backends", default="reference,opencl")
    ap.add_argument("--always-mpirun", action="store_true",
                    help="start the 1-rank runs with mpiexec -n 1 too")
    args = ap.parse_args()
    env = dict(os.environ, POCL_MAX_PTHREAD_COUNT="1", OMPI_MCA_rmaps_base_oversubscribe="1")
    if os.geteuid() == 0:
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    n = args.pixels
    with tempfile.TemporaryDirectory() as tmp:
        maps = {}
        for size in (n, n // 2, 24):
            maps[size] = os.path.join(tmp, f"map{size}.h5")
            make_map(maps[size], size)
        print(f"{os.cpu_count()} cores; 5 templates, combined model, 250 walkers, "
              f"{args.steps} steps, median of {args.repeats} runs; one thread per rank\n")
        print("| backend | case | pixels | ranks | time/step (median) | min..max | "
              "efficiency (medians) | efficiency (minima) |")
        print("|---|---|---|---|---|---|---|---|")
        for backend in args.backends.split(","):
            t1, lo1, hi1 = run(args, env, maps[n], 1, backend, args.steps)
            t2, lo2, hi2 = run(args, env, maps[n], 2, backend, args.steps)
            th, loh, hih = run(args, env, maps[n // 2], 1, backend, args.steps)
            tc, loc, hic = concurrent(args, env, maps[n // 2], backend, args.steps)
            o1 = run(args, env, maps[24], 1, backend, 200 * args.steps)
            o2 = run(args, env, maps[24], 2, backend, 200 * args.steps)
            c = 24 * 250 / (n * 250 / t1)
            rows = [("strong", n, 1, t1, lo1, hi1, "", ""),
                    ("strong", n, 2, t2, lo2, hi2, f"{t1 / (2 * t2):.1%}",
                     f"{lo1 / (2 * lo2):.1%}"),
                    ("weak", n // 2, 1, th, loh, hih, "", ""),
                    ("weak", n, 2, t2, lo2, hi2, f"{th / t2:.1%}", f"{loh / lo2:.1%}"),
                    ("ceiling: 2 x 1 rank, no MPI", n // 2, "2 x 1", tc, loc, hic,
                     f"{th / tc:.1%}", f"{loh / loc:.1%}"),
                    ("protocol", 24, 1, o1[0], o1[1], o1[2], "", ""),
                    ("protocol", 24, 2, o2[0], o2[1], o2[2],
                     f"P = {(o2[0] - o1[0] + c / 2) * 1e6:.0f} us/step",
                     f"P = {(o2[1] - o1[1] + c / 2) * 1e6:.0f} us/step")]
            for case, pix, ranks, t, lo, hi, eff, eff_min in rows:
                print(f"| {backend} | {case} | {pix} | {ranks} | {t * 1e3:.3f} ms | "
                      f"{lo * 1e3:.3f}..{hi * 1e3:.3f} | {eff} | {eff_min} |")
            print(f"| {backend} | 1-rank throughput | {n} | 1 | {n * 250 / t1 / 1e6:.0f} M "
                  f"pixel-walker/s | | | |")


if __name__ == "__main__":
    main()
