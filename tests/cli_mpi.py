"""`mpirun -n 2 sysmap run` on the example map: the 2-rank chain equals the
1-rank chain element for element (reference and OpenCL fp64 backends, equal,
weighted and measured splits), the split follows --rank-weights, and a
failure on either rank (no device, device out of memory, an empty slice, a
device lost mid-run, bad per-rank options, a bad input on rank 0) ends every
rank with a non-zero status and a message naming the rank, leaves no
complete output file, and does not hang.

Allowed accept/reject ties between the 1- and 2-rank chains: 0. The
log-probabilities differ by a few ulp at most (summation order), so a tie
needs a margin below ~1e-11 of an accept/reject draw: expected count over
these chains ~1e-8. A difference is reported with its step and walker.

usage: cli_mpi.py SYSMAP_EXE MPIEXEC SCRATCH_DIR chains|failures
"""
import os
import re
import subprocess
import sys

import h5py
import numpy as np

EXE, MPIEXEC, SCRATCH, PART = sys.argv[1:5]
COMMON = ["--walkers", "32", "--steps", "40", "--burn", "10", "--quiet"]
TIMEOUT = 120
# Each rank reports its own exit status (mpirun only returns the first).
WRAP = ["sh", "-c", '"$0" "$@"; rc=$?; '
        'echo "sysmap-rank ${OMPI_COMM_WORLD_RANK:-$PMIX_RANK} exit $rc" >&2; exit $rc']


def clean(out):
    for path in (out, out + ".partial"):
        if os.path.exists(path):
            os.remove(path)


def plain(out, *extra):
    clean(out)
    return subprocess.run([EXE, "run", "-o", out, *COMMON, *extra], capture_output=True,
                          text=True, timeout=TIMEOUT)


def mpirun(out, *extra, n=2, rank1_env=None, keep=False):
    """2 ranks of `sysmap run`; rank1_env: environment of rank 1 only."""
    if not keep:
        clean(out)
    args = [EXE, "run", "-o", out, *COMMON, *extra]
    if rank1_env is None:
        cmd = [MPIEXEC, "-n", str(n), *WRAP, *args]
    else:
        env = [x for k, v in rank1_env.items() for x in ("-x", f"{k}={v}")]
        cmd = [MPIEXEC, "-n", "1", *WRAP, *args, ":", "-n", "1", *env, *WRAP, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)


def rank_status(proc, n=2):
    found = dict(re.findall(r"sysmap-rank (\d+) exit (\d+)", proc.stderr))
    return [int(found.get(str(r), -1)) for r in range(n)]


def load(path):
    with h5py.File(path, "r") as f:
        return f["mcmc/chain"][...], f["mcmc/log_prob"][...], dict(f["sysmap"].attrs)


def same_chain(ref_path, got_path, label):
    a, la, _ = load(ref_path)
    b, lb, attrs = load(got_path)
    if not np.array_equal(a, b):
        step, walker = np.argwhere(np.any(a != b, axis=2))[0]
        raise AssertionError(f"{label}: chain differs from the 1-rank chain first at step "
                             f"{step}, walker {walker} (log-prob {la[step, walker]!r} vs "
                             f"{lb[step, walker]!r}); allowed ties: 0")
    rel = np.max(np.abs(la - lb) / np.abs(la))
    assert rel <= 1e-12, f"{label}: log-prob differs by {rel:.3g} relative"
    print(f"ok  {label}: chain equal to the 1-rank chain; log-prob within {rel:.2g} relative "
          f"({np.mean(la == lb):.0%} bit-equal)")
    return attrs


def expect_failure(label, proc, out, message, partial=False):
    assert proc.returncode != 0, f"{label}: mpirun status 0: {proc.stderr}"
    assert all(s != 0 for s in rank_status(proc)), f"{label}: {rank_status(proc)}: {proc.stderr}"
    assert message in proc.stderr, f"{label}: '{message}' not in {proc.stderr!r}"
    assert not os.path.exists(out), f"{label}: {out} left behind"
    assert os.path.exists(out + ".partial") == partial, f"{label}: partial file"
    line = next(x for x in proc.stderr.splitlines() if message in x)
    print(f"ok  {label}: ranks exit {rank_status(proc)}: {line.strip()[:200]}")


def path(name):
    return os.path.join(SCRATCH, name)


def reference_chain():
    ref = path("ref.h5")
    assert plain(ref, "--backend", "reference").returncode == 0
    return ref


def chains():
    p = path
    n_pix = 19472  # used pixels of the example map (data/README.md)
    ref = reference_chain()
    proc = mpirun(p("two.h5"), "--backend", "reference")
    assert proc.returncode == 0 and rank_status(proc) == [0, 0], proc.stderr
    attrs = same_chain(ref, p("two.h5"), "2 ranks, reference")
    assert attrs["device"] == "2 MPI ranks: 2 x host CPU (GSL, double, Neumaier sums)", attrs
    assert attrs["backend"] == "reference" and attrs["n_pix"] == n_pix, attrs
    proc = mpirun(p("one.h5"), "--backend", "reference", n=1)
    assert proc.returncode == 0, proc.stderr
    a, la, _ = load(ref)
    b, lb, _ = load(p("one.h5"))
    assert np.array_equal(a, b) and np.array_equal(la, lb), "mpirun -n 1 differs from a plain run"
    print("ok  mpirun -n 1: bit-identical to a plain run")

    cl = p("cl.h5")
    assert plain(cl, "--backend", "opencl").returncode == 0
    proc = mpirun(p("two-cl.h5"), "--backend", "opencl")
    assert proc.returncode == 0, proc.stderr
    same_chain(cl, p("two-cl.h5"), "2 ranks, opencl fp64 (PoCL, device by the local-rank rule)")

    # Weights: rank 0 takes round(19472 / 4) = 4868 pixels.
    proc = subprocess.run([MPIEXEC, "-n", "2", EXE, "run", "-o", p("w13.h5"), "--walkers", "32",
                           "--steps", "40", "--burn", "10", "--backend", "reference",
                           "--rank-weights", "1,3"], capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    assert f"{n_pix} pixels over 2 MPI ranks" in proc.stdout, proc.stdout
    assert "rank 0: pixels [0, 4868) (4868), weight 1," in proc.stdout, proc.stdout
    assert "rank 1: pixels [4868, 19472) (14604), weight 3," in proc.stdout, proc.stdout
    print("ok  --rank-weights 1,3: rank 0 holds [0, 4868), rank 1 [4868, 19472)")
    same_chain(ref, p("w13.h5"), "2 ranks, weights 1,3")

    proc = subprocess.run([MPIEXEC, "-n", "2", EXE, "run", "-o", p("auto.h5"), "--walkers",
                           "32", "--steps", "40", "--burn", "10", "--backend", "reference",
                           "--rank-weights", "auto"], capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    split = re.findall(r"rank (\d): pixels \[(\d+), (\d+)\) \(\d+\), weight ([0-9.e+]+)",
                       proc.stdout)
    assert len(split) == 2 and split[0][1] == "0" and split[0][2] == split[1][1] \
        and split[1][2] == str(n_pix), proc.stdout
    w0, w1 = float(split[0][3]), float(split[1][3])
    # The printed weights have 6 digits: the split they imply is within 2 pixels.
    assert abs(int(split[0][2]) - n_pix * w0 / (w0 + w1)) <= 2, proc.stdout
    print(f"ok  --rank-weights auto: measured weights {w0:.3g}, {w1:.3g} -> rank 0 holds "
          f"{split[0][2]} pixels")
    same_chain(ref, p("auto.h5"), "2 ranks, auto weights")


def failures():
    p = path
    ref = reference_chain()
    out = p("fail.h5")
    expect_failure("no device on rank 1", mpirun(out, "--backend", "opencl", "--device", "0,9"),
                   out, "rank 1 of 2: device 9 does not exist")
    expect_failure("rank 1 out of device memory",
                   mpirun(out, "--backend", "opencl",
                          rank1_env={"SYSMAP_OPENCL_INJECT_FAULT": "alloc"}),
                   out, "rank 1 of 2: out of device memory allocating the map")
    expect_failure("empty slice on rank 1",
                   mpirun(out, "--backend", "reference", "--rank-weights", "1,1e-9"), out,
                   "rank 1 of 2: its slice is empty")
    expect_failure("bad weight on rank 1", mpirun(out, "--rank-weights", "1,x"), out,
                   "rank 1 of 2: rank weights: 'x' (rank 1) is neither a number > 0 nor auto")
    proc = mpirun(out, p("missing.h5"))
    expect_failure("rank 0 cannot read its input", proc, out, "missing.h5")

    # Rank 1's device is lost at its 41st evaluation: the initial walkers take
    # one, each step two, so step 20 fails; the file keeps the 15 steps of
    # its last flush (every 5) and resumes on 2 ranks to the 1-rank chain.
    proc = mpirun(out, "--backend", "reference", "--flush-every", "5",
                  rank1_env={"SYSMAP_MPI_INJECT_FAULT": "41"})
    expect_failure("rank 1 lost mid-run", proc, out,
                   "step 20: reference backend: rank 1 of 2: injected fault", partial=True)
    with h5py.File(out + ".partial", "r") as f:
        assert f["mcmc"].attrs["iteration"] == 15, dict(f["mcmc"].attrs)
    proc = mpirun(out, "--backend", "reference", "--resume", keep=True)
    assert proc.returncode == 0, proc.stderr
    same_chain(ref, out, "2 ranks, resumed after a rank failed mid-run")

    proc = plain(p("single.h5"), "--rank-weights", "1,3")
    assert proc.returncode != 0 and "2 entries for 1 MPI ranks" in proc.stderr, proc.stderr
    print("ok  without mpirun: --rank-weights 1,3 is refused")


if __name__ == "__main__":
    os.makedirs(SCRATCH, exist_ok=True)
    {"chains": chains, "failures": failures}[PART]()
