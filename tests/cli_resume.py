"""Interrupted runs resume to the chain of an uninterrupted run.

A run stopped by SIGTERM (clean stop after the current step) and a run killed
by SIGKILL (the file as of its last flush) are each continued with
`sysmap run --resume`; the finished files must equal an uninterrupted run's
(chain, log_prob, accepted, summaries). A resume with different settings is
refused, and so is a file of an older format version (its multiplicative
model meant something else). emcee must read every finished file.

usage: cli_resume.py SYSMAP_EXE SCRATCH_DIR
"""
import os
import shutil
import signal
import subprocess
import sys
import time

import emcee
import h5py
import numpy as np

EXE, SCRATCH = sys.argv[1], sys.argv[2]
STEPS, STOP_AFTER = 300, 40


def make_input():
    rs = np.random.RandomState(3)
    t = rs.normal(size=(3, 20000))
    d = 0.1 * rs.normal(size=20000) * (1 + 0.03 * t[0]) + 0.02 * t[1]
    path = os.path.join(SCRATCH, "in.h5")
    with h5py.File(path, "w") as f:
        f["delta_g_obs"] = d
        f["templates"] = t
    return path


def args(inp, out, *extra):
    return [EXE, "run", inp, "-o", out, "--walkers", "32", "--steps", str(STEPS), "--burn",
            "50", "--flush-every", "5", "--seed", "9", "--quiet", *extra]


def iteration(partial):
    try:
        with h5py.File(partial, "r") as f:
            return int(f["mcmc"].attrs["iteration"])
    except (OSError, KeyError):
        return 0  # not created yet, or open for writing right now


def interrupt(inp, out, sig):
    for stale in (out, out + ".partial"):
        if os.path.exists(stale):
            os.remove(stale)
    proc = subprocess.Popen(args(inp, out), stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while iteration(out + ".partial") < STOP_AFTER:
        if proc.poll() is not None:
            raise AssertionError("the run ended before it could be interrupted: "
                                 + proc.stderr.read())
        assert time.time() < deadline, "no progress in the partial file"
        time.sleep(0.02)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def read(path):
    with h5py.File(path, "r") as f:
        return {k: f[k][...] for k in ("mcmc/chain", "mcmc/log_prob", "mcmc/accepted",
                                       "sysmap/median", "sysmap/cov_a", "sysmap/cov_b",
                                       "sysmap/acceptance_fraction", "sysmap/autocorr_time",
                                       "sysmap/drift")}


def same_as_reference(label, path, ref):
    got = read(path)
    for key, want in ref.items():
        assert np.array_equal(got[key], want, equal_nan=True), f"{label}: {key} differs"
    chain = emcee.backends.HDFBackend(path, read_only=True).get_chain()
    assert chain.shape == (STEPS, 32, 7), chain.shape
    print(f"ok  {label}: resumed file equals the uninterrupted run")


def main():
    os.makedirs(SCRATCH, exist_ok=True)
    inp = make_input()
    ref_path = os.path.join(SCRATCH, "ref.h5")
    subprocess.run(args(inp, ref_path), check=True)
    ref = read(ref_path)

    out = os.path.join(SCRATCH, "term.h5")
    rc, err = interrupt(inp, out, signal.SIGTERM)
    assert rc == 130, (rc, err)
    assert "--resume" in err, err
    assert not os.path.exists(out) and os.path.exists(out + ".partial")
    done = iteration(out + ".partial")
    assert STOP_AFTER <= done < STEPS, done
    subprocess.run(args(inp, out, "--resume"), check=True)
    assert not os.path.exists(out + ".partial")
    same_as_reference(f"SIGTERM after step {done}", out, ref)

    out = os.path.join(SCRATCH, "kill.h5")
    rc, err = interrupt(inp, out, signal.SIGKILL)
    assert rc == -signal.SIGKILL, (rc, err)
    done = iteration(out + ".partial")
    assert done % 5 == 0 and done < STEPS, done
    bad = subprocess.run(args(inp, out, "--resume", "--seed", "10"), capture_output=True,
                         text=True)
    assert bad.returncode == 1 and "seed" in bad.stderr, (bad.returncode, bad.stderr)
    assert iteration(out + ".partial") == done, "a refused resume changed the file"
    print(f"ok  resume with another seed refused: {bad.stderr.strip()}")
    old = os.path.join(SCRATCH, "v1.h5")
    shutil.copy(out + ".partial", old + ".partial")
    with h5py.File(old + ".partial", "a") as f:
        assert f["sysmap"].attrs["format_version"] == 3
        del f["sysmap"].attrs["format_version"]  # as files before version 2
    bad = subprocess.run(args(inp, old, "--resume"), capture_output=True, text=True)
    assert bad.returncode == 1 and "older sysmap (format version 1)" in bad.stderr and \
        "start a new run" in bad.stderr, (bad.returncode, bad.stderr)
    print(f"ok  resume of a version-1 file refused: {bad.stderr.strip()}")
    subprocess.run(args(inp, out, "--resume"), check=True)
    same_as_reference(f"SIGKILL after step {done}", out, ref)


if __name__ == "__main__":
    main()
