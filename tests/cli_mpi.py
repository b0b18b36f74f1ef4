"""`mpirun -n 2 sysmap run` on the example map: the 2-rank chain equals the
1-rank chain element for element (reference and OpenCL fp64 backends, equal,
weighted and measured splits), the split follows --rank-weights, and a
failure on either rank (no device, device out of memory, an empty slice, a
device lost mid-run, bad per-rank options, a bad input on rank 0) ends every
rank with a non-zero status and a message naming the rank, leaves no
complete output file, and does not hang.

options: a bad option or --help on one rank of an MPMD launch, on every rank,
options refuted before the input is read, ranks in different precisions:
one message, printed once, every rank non-zero (2, or 1 for precisions).
signals: SIGTERM to mpirun, or to rank 1 alone, mid-run: the partial file
holds every complete step (nothing flushed before), the ranks exit 130,
and --resume continues to the uninterrupted 1-rank chain.

Allowed accept/reject ties between the 1- and 2-rank chains: 0. The
log-probabilities differ by a few ulp at most (summation order), so a tie
needs a margin below ~1e-11 of an accept/reject draw: expected count over
these chains ~1e-8. A difference is reported with its step and walker.

usage: cli_mpi.py SYSMAP_EXE MPIEXEC SCRATCH_DIR chains|failures|options|signals
"""
import os
import re
import signal
import subprocess
import sys
import time

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


def mpirun(out, *extra, n=2, rank1_env=None, rank1_args=(), keep=False):
    """2 ranks of `sysmap run`; rank1_env, rank1_args: environment and
    further options of rank 1 only (an MPMD launch)."""
    if not keep:
        clean(out)
    args = [EXE, "run", "-o", out, *COMMON, *extra]
    if rank1_env is None and not rank1_args:
        cmd = [MPIEXEC, "-n", str(n), *WRAP, *args]
    else:
        env = [x for k, v in (rank1_env or {}).items() for x in ("-x", f"{k}={v}")]
        cmd = [MPIEXEC, "-n", "1", *WRAP, *args, ":", "-n", "1", *env, *WRAP, *args,
               *rank1_args]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"hang: {' '.join(cmd)} still running after {TIMEOUT} s: "
                             f"{e.stderr}") from None


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


def expect_failure(label, proc, out, message, partial=False, status=None):
    """status: every rank's own exit status, all reported (options())."""
    if status is None:
        assert proc.returncode != 0, f"{label}: mpirun status 0: {proc.stderr}"
        assert all(s != 0 for s in rank_status(proc)), \
            f"{label}: {rank_status(proc)}: {proc.stderr}"
    else:
        assert rank_status(proc) == [status] * 2, \
            f"{label}: ranks exit {rank_status(proc)}, expected {status}: {proc.stderr}"
    assert message in proc.stderr, f"{label}: '{message}' not in {proc.stderr!r}"
    said = [x for x in proc.stderr.splitlines()
            if "sysmap" in x and "sysmap-rank" not in x and "warning:" not in x]
    assert len(said) == 1, f"{label}: not one message: {proc.stderr!r}"
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


def check_binding(out):
    """Open MPI binds each rank to one core when asked (and by default for
    2 ranks): ranks with a CPU device say so once, naming the launch that
    avoids it; unbound ranks say nothing."""
    version = subprocess.run([MPIEXEC, "--version"], capture_output=True, text=True).stdout
    if not ("Open MPI" in version or "OpenRTE" in version) \
            or os.sysconf("SC_NPROCESSORS_ONLN") < 2:
        print("skip the binding warning: needs Open MPI and 2 CPUs")
        return
    runs = {}
    for bind in ("core", "none"):
        clean(out)
        runs[bind] = subprocess.run([MPIEXEC, "-n", "2", "--bind-to", bind, EXE, "run", "-o", out,
                                     *COMMON, "--backend", "opencl"], capture_output=True,
                                    text=True, timeout=TIMEOUT)
        assert runs[bind].returncode == 0, runs[bind].stderr
    warned = [x for x in runs["core"].stderr.splitlines() if "CPU affinity" in x]
    assert len(warned) == 1 and "2 of 2 ranks run a CPU device on 1 of the" in warned[0] \
        and "--bind-to none" in warned[0], runs["core"].stderr
    assert "CPU affinity" not in runs["none"].stderr, runs["none"].stderr
    print("ok  ranks bound to one core each: one warning; --bind-to none: none")


def options():
    p = path
    out = p("opts.h5")
    # Open MPI 4 would kill the other ranks (and their status lines) once
    # one exits non-zero; here every rank must end by itself and report its
    # own status (mpirun then returns 0: the per-rank statuses are checked).
    os.environ["OMPI_MCA_orte_abort_on_non_zero_status"] = "0"
    check_binding(out)
    expect_failure("bad --walkers on rank 1 (MPMD)", mpirun(out, rank1_args=["--walkers", "bad"]),
                   out, "sysmap run: rank 1 of 2: --walkers expects a non-negative integer",
                   status=2)
    expect_failure("unknown option on rank 1 (MPMD)", mpirun(out, rank1_args=["--walkerz", "8"]),
                   out, "rank 1 of 2: unknown option --walkerz", status=2)
    expect_failure("--help on rank 1 only (MPMD)", mpirun(out, rank1_args=["--help"]), out,
                   "rank 1 of 2: --help on some ranks only", status=2)
    expect_failure("bad --walkers on every rank", mpirun(out, "--walkers", "bad"), out,
                   "rank 0 of 2 (and 1 more rank): --walkers expects", status=2)
    proc = mpirun(out, "--help")
    assert proc.returncode == 0 and rank_status(proc) == [0, 0], proc.stderr
    assert proc.stdout.count("usage: sysmap run") == 1, proc.stdout
    print("ok  --help on every rank: the usage once, every rank exits 0")

    # Refuted before the input is read: the input does not even exist.
    missing = p("missing.h5")
    for extra, message in ((["--walkers", "5"], "5 walkers: the stretch move needs at least "
                                                "2 x n_dim = 6 walkers"),
                           (["--steps", "5", "--burn", "6"], "burn-in (6 steps) is longer"),
                           (["--flush-every", "0"], "flush_every must be at least 1")):
        expect_failure(f"{' '.join(extra)} before the load", mpirun(out, missing, *extra), out,
                       f"rank 0 of 2 (and 1 more rank): {message}", status=1)
        proc = plain(out, missing, *extra)
        assert proc.returncode == 1 and message in proc.stderr \
            and "missing.h5" not in proc.stderr, proc.stderr
    print("ok  without mpirun: the same options are refused before the load")

    proc = mpirun(out, "--backend", "opencl", "--precision", "fp64",
                  rank1_args=["--precision", "fp32"])
    expect_failure("fp64 on rank 0, fp32 on rank 1", proc, out,
                   "different precisions (fp64 on rank 0; fp32 on rank 1)", status=1)
    # the library names the setting; the CLI says its flag
    assert "allow mixed precisions (--allow-mixed-precision)" in proc.stderr, proc.stderr
    proc = mpirun(out, "--backend", "opencl", "--precision", "fp64", "--allow-mixed-precision",
                  rank1_args=["--precision", "fp32"])
    assert proc.returncode == 0, proc.stderr
    assert load(out)[2]["precision"] == "mixed"
    print("ok  --allow-mixed-precision: fp64 and fp32 ranks run; the file says 'mixed'")


LONG = ["--walkers", "32", "--steps", "800", "--burn", "10", "--backend", "reference",
        "--flush-every", "100000", "--quiet"]


def interrupt(label, ref, kill_rank1):
    """Stops a 2-rank run 0.3 s into its sampling (SIGTERM to mpirun, which
    signals every rank, or to rank 1 alone), then resumes it on 2 ranks."""
    out, pids = path("sig.h5"), path("pids")
    clean(out)
    os.makedirs(pids, exist_ok=True)
    for f in os.listdir(pids):
        os.remove(os.path.join(pids, f))
    # Rank 1's pid (to signal it) and each rank's exit status. mpirun
    # signals whole process groups, wrappers included: none there.
    wrap = ["sh", "-c", '"$0" "$@" & r=${OMPI_COMM_WORLD_RANK:-$PMIX_RANK}; echo $! > '
            f'{pids}/$r; wait $!; rc=$?; echo "sysmap-rank $r exit $rc" >&2; exit $rc']
    proc = subprocess.Popen([MPIEXEC, "-n", "2", *(wrap if kill_rank1 else []), EXE, "run",
                             "-o", out, *LONG],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        t0 = time.time()
        while not (os.path.exists(out + ".partial")
                   and (os.path.exists(f"{pids}/1") or not kill_rank1)):
            assert proc.poll() is None and time.time() - t0 < TIMEOUT, "run did not start"
            time.sleep(0.02)
        time.sleep(0.3)
        if kill_rank1:
            os.kill(int(open(f"{pids}/1").read()), signal.SIGTERM)
        else:
            proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=TIMEOUT)
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    assert proc.returncode != 0, f"{label}: mpirun status 0: {err}"
    assert err.count("sysmap: interrupted: stopped after step") == 1, f"{label}: {err}"
    if kill_rank1:
        # Every rank that exits on its own exits 130; Open MPI aborts the job
        # as soon as one rank exits non-zero, so the other may be killed by
        # mpirun before its own exit (after rank 0 printed and flushed,
        # checked above and below).
        found = dict(re.findall(r"sysmap-rank (\d+) exit (\d+)", err))
        assert found and set(found.values()) == {"130"}, f"{label}: ranks exit {found}: {err}"
    assert not os.path.exists(out), f"{label}: {out} complete"
    with h5py.File(out + ".partial", "r") as f:
        done = int(f["mcmc"].attrs["iteration"])
    assert 0 < done < 800, f"{label}: the partial file holds {done} steps: {err}"
    proc = subprocess.run([MPIEXEC, "-n", "2", EXE, "run", "-o", out, *LONG, "--resume"],
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    print(f"ok  {label}: {'ranks exit 130' if kill_rank1 else 'stopped'}, {done} steps saved "
          f"(nothing flushed before)")
    same_chain(ref, out, f"{label}, resumed")


def signals():
    ref = path("long.h5")
    clean(ref)
    proc = subprocess.run([EXE, "run", "-o", ref, *LONG], capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    interrupt("SIGTERM to mpirun", ref, kill_rank1=False)
    interrupt("SIGTERM to rank 1 alone", ref, kill_rank1=True)


if __name__ == "__main__":
    os.makedirs(SCRATCH, exist_ok=True)
    {"chains": chains, "failures": failures, "options": options, "signals": signals}[PART]()
