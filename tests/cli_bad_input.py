"""Every bad input to `sysmap run` gives a clear message naming the problem,
a non-zero exit status, and no output file (complete or partial); the
borderline inputs emcee accepts (an odd number of walkers, a burn-in as
long as the run) succeed.

usage: cli_bad_input.py SYSMAP_EXE SCRATCH_DIR
"""
import os
import subprocess
import sys

import h5py
import numpy as np

EXE, SCRATCH = sys.argv[1], sys.argv[2]
N, S = 200, 3


def good_arrays():
    rs = np.random.RandomState(5)
    return rs.normal(0, 0.1, N), rs.normal(size=(S, N))


def write(name, **datasets):
    path = os.path.join(SCRATCH, name + ".h5")
    with h5py.File(path, "w") as f:
        for key, value in datasets.items():
            f[key] = value
    return path


def expect_failure(label, args, message, out=None, status=1):
    out = out or os.path.join(SCRATCH, label + "-out.h5")
    for path in (out, out + ".partial"):
        if os.path.exists(path):
            os.remove(path)
    cmd = [EXE, "run", "-o", out, "--quiet", "--steps", "20", "--burn", "5"] + args
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == status, \
        f"{label}: exit status {proc.returncode}, expected {status}; stderr: {proc.stderr}"
    assert message in proc.stderr, f"{label}: '{message}' not in stderr: {proc.stderr!r}"
    for path in (out, out + ".partial"):
        assert not os.path.exists(path), f"{label}: {path} was left behind"
    print(f"ok  {label}: {proc.stderr.strip()}")


def expect_success(label, args, warning=None):
    out = os.path.join(SCRATCH, label + "-out.h5")
    cmd = [EXE, "run", "-o", out, "--quiet", "--steps", "20", "--burn", "5"] + args
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, f"{label}: exit status {proc.returncode}; {proc.stderr}"
    assert os.path.exists(out), f"{label}: no {out}"
    if warning is not None:
        assert warning in proc.stderr, f"{label}: '{warning}' not in stderr: {proc.stderr!r}"
    print(f"ok  {label} runs" + (f": {proc.stderr.strip()}" if warning else ""))
    return out


def main():
    os.makedirs(SCRATCH, exist_ok=True)
    d, t = good_arrays()
    good = write("good", delta_g_obs=d, templates=t)

    bad = d.copy(); bad[17] = np.nan
    expect_failure("nan-map", [write("nan-map", delta_g_obs=bad, templates=t)], "pixel 17")
    bad_t = t.copy(); bad_t[2, 9] = np.inf
    expect_failure("inf-template", [write("inf-tpl", delta_g_obs=d, templates=bad_t)],
                   "template 2")
    expect_failure("shape-mismatch", [write("shape", delta_g_obs=d[:-1], templates=t)],
                   "(199,)")
    expect_failure("too-few-pixels",
                   [write("few", delta_g_obs=d[:7], templates=t[:, :7])],
                   "7 used pixels for 7 parameters")
    expect_failure("all-masked",
                   [write("masked", delta_g_obs=d, templates=t, mask=np.zeros(N, np.uint8))],
                   "masked")
    expect_failure("no-templates",
                   [write("s0", delta_g_obs=d, templates=np.zeros((0, N)))], "S = 0")
    expect_success("odd-walkers", [good, "--walkers", "15"])
    expect_failure("too-few-walkers", [good, "--walkers", "13"], "at least 2 x n_dim = 14")
    expect_failure("unknown-model", [good, "--model", "linear"], "unknown model 'linear'",
                   status=2)
    expect_failure("missing-file", [os.path.join(SCRATCH, "nope.h5")], "nope.h5")
    trunc = os.path.join(SCRATCH, "truncated.h5")
    with open(good, "rb") as src, open(trunc, "wb") as dst:
        dst.write(src.read()[: os.path.getsize(good) // 2])
    expect_failure("truncated", [trunc], "truncated.h5")
    text = os.path.join(SCRATCH, "text.h5")
    with open(text, "w") as f:
        f.write("delta_g_obs,templates\n1,2\n")
    expect_failure("not-hdf5", [text], "not an HDF5 file")
    expect_failure("missing-dataset", [write("nodelta", templates=t)], "delta_g_obs")
    expect_failure("wrong-dtype",
                   [write("int", delta_g_obs=d, templates=t.astype(np.int32))], "templates")
    expect_failure("unwritable-output", [good], "no-such-dir",
                   out=os.path.join(SCRATCH, "no-such-dir", "out.h5"))
    # combined model, S = 3: 7 parameters; parameter 1 = 2 x parameter 0.
    p0 = np.random.RandomState(1).normal(0.0, 0.05, (16, 7))
    p0[:, 6] = 0.1 + np.abs(p0[:, 6])
    p0[:, 1] = 2.0 * p0[:, 0]
    init = os.path.join(SCRATCH, "p0-dependent.h5")
    with h5py.File(init, "w") as f:
        f["p0"] = p0
    expect_failure("dependent-walkers", [good, "--walkers", "16", "--init", init],
                   "linearly dependent (scaled condition number")
    p0[:, 1] = 0.3
    with h5py.File(init, "w") as f:
        f["p0"] = p0
    expect_failure("constant-walker-parameter",
                   [good, "--walkers", "16", "--init", init, "--basis", "original"],
                   "parameter 1 has the same value in every walker")
    expect_failure("init-shape", [good, "--walkers", "18", "--init", init], "(16, 7)")
    expect_failure("resume-nothing", [good, "--resume"], ".partial")
    expect_failure("bad-number", [good, "--steps", "ten"], "--steps", status=2)
    expect_failure("burn-too-long", [good, "--burn", "21"],
                   "burn-in (21 steps) is longer than the run (20 steps)")
    out = expect_success("burn-is-the-run", [good, "--burn", "20"],
                         "warning: no post-burn-in steps")
    with h5py.File(out, "r") as f:
        assert f["sysmap"].attrs["n_kept"] == 0
        assert np.isnan(f["sysmap/median"][...]).all()
        assert "no post-burn-in steps" in f["sysmap/warnings"].asstr()[0]


if __name__ == "__main__":
    main()
