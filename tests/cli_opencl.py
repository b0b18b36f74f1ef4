"""`sysmap run --backend opencl` on PoCL: the fp64 chain equals the reference
backend's, fp32 runs and says so, and every OpenCL error path (no platform,
no such device, kernel build failure, out of device memory, lost device,
fp64 asked of a device without it) exits non-zero with a clear message and
leaves no complete output file.

usage: cli_opencl.py SYSMAP_EXE SCRATCH_DIR
"""
import os
import subprocess
import sys

import h5py
import numpy as np

EXE, SCRATCH = sys.argv[1], sys.argv[2]


def make_input():
    rs = np.random.RandomState(11)
    t = rs.normal(size=(3, 3001))
    d = 0.1 * rs.normal(size=3001) * (1 + 0.04 * t[0]) + 0.02 * t[2]
    path = os.path.join(SCRATCH, "in.h5")
    with h5py.File(path, "w") as f:
        f["delta_g_obs"] = d
        f["templates"] = t
    return path


def run(inp, out, *extra, env=None, cpus=None):
    for path in (out, out + ".partial"):
        if os.path.exists(path):
            os.remove(path)
    cmd = [EXE, "run", inp, "-o", out, "--walkers", "16", "--steps", "40", "--burn", "10",
           "--quiet", *extra]
    bind = (lambda: os.sched_setaffinity(0, cpus)) if cpus is not None else None
    return subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})},
                          preexec_fn=bind)


def check_cpu_mask(inp, out):
    """A CPU device on fewer CPUs than are online is a warning naming both
    counts and the launch that avoids it; not for the full mask, nor for
    the single-threaded reference backend."""
    allowed = sorted(os.sched_getaffinity(0))
    online = os.sysconf("SC_NPROCESSORS_ONLN")
    if len(allowed) < 2 or len(allowed) < online:
        print(f"skip CPU-mask warning: {len(allowed)} of {online} CPUs allowed here")
        return
    warning = f"the CPU device runs on 1 of the {online} online CPUs"
    proc = run(inp, out, "--backend", "opencl", "--device", "0", cpus={allowed[0]})
    assert proc.returncode == 0 and warning in proc.stderr, proc.stderr
    assert "--bind-to none" in proc.stderr, proc.stderr
    proc = run(inp, out, "--backend", "opencl", "--device", "0")
    assert proc.returncode == 0 and "CPU affinity" not in proc.stderr, proc.stderr
    proc = run(inp, out, "--backend", "reference", cpus={allowed[0]})
    assert proc.returncode == 0 and "CPU affinity" not in proc.stderr, proc.stderr
    print(f"ok  a CPU device on 1 of {online} CPUs is a warning; the full mask and the "
          "reference backend are not")


def attrs(path):
    with h5py.File(path, "r") as f:
        return dict(f["sysmap"].attrs), f["mcmc/chain"][...]


def expect_error(label, inp, message, *extra, env=None):
    out = os.path.join(SCRATCH, label + ".h5")
    proc = run(inp, out, *extra, env=env)
    assert proc.returncode == 1, f"{label}: status {proc.returncode}: {proc.stderr}"
    assert message in proc.stderr, f"{label}: '{message}' not in {proc.stderr!r}"
    assert not os.path.exists(out), f"{label}: {out} left behind"
    print(f"ok  {label}: {proc.stderr.strip()[:300]}")


def main():
    os.makedirs(SCRATCH, exist_ok=True)
    inp = make_input()
    ref_out, cl_out = os.path.join(SCRATCH, "ref.h5"), os.path.join(SCRATCH, "cl.h5")
    assert run(inp, ref_out).returncode == 0
    proc = run(inp, cl_out, "--backend", "opencl", "--device", "0")
    assert proc.returncode == 0, proc.stderr
    ref_attrs, ref_chain = attrs(ref_out)
    cl_attrs, cl_chain = attrs(cl_out)
    assert np.array_equal(ref_chain, cl_chain), "opencl fp64 chain differs from reference"
    assert cl_attrs["backend"] == "opencl" and cl_attrs["precision"] == "fp64", cl_attrs
    print("ok  opencl fp64 chain equals the reference chain")

    proc = run(inp, cl_out, "--backend", "opencl", "--precision", "fp32")
    assert proc.returncode == 0, proc.stderr
    assert attrs(cl_out)[0]["precision"] == "fp32"
    print("ok  fp32 run says fp32")

    empty = os.path.join(SCRATCH, "no-icd")
    os.makedirs(empty, exist_ok=True)
    expect_error("no-platform", inp, "no OpenCL platform", "--backend", "opencl",
                 env={"OCL_ICD_VENDORS": empty})
    expect_error("no-device", inp, "device 9 does not exist", "--backend", "opencl",
                 "--device", "9")
    expect_error("build-failure", inp, "undeclared_identifier", "--backend", "opencl",
                 env={"SYSMAP_OPENCL_INJECT_FAULT": "build"})
    expect_error("out-of-memory", inp, "out of device memory allocating the map",
                 "--backend", "opencl", env={"SYSMAP_OPENCL_INJECT_FAULT": "alloc"})
    expect_error("lost-device", inp, "CL_DEVICE_NOT_AVAILABLE", "--backend", "opencl",
                 env={"SYSMAP_OPENCL_INJECT_FAULT": "lost"})
    expect_error("no-fp64", inp, "no fp64 support", "--backend", "opencl", "--precision",
                 "fp64", env={"SYSMAP_OPENCL_INJECT_FAULT": "nofp64"})
    expect_error("no-fp64-flag", inp, "use --precision fp32 or another device", "--backend",
                 "opencl", "--precision", "fp64", env={"SYSMAP_OPENCL_INJECT_FAULT": "nofp64"})
    expect_error("bad-precision", inp, "unknown precision 'fp16'", "--backend", "opencl",
                 "--precision", "fp16")
    proc = run(inp, cl_out)
    assert proc.returncode == 0 and attrs(cl_out)[0]["backend"] == "opencl", proc.stderr
    proc = run(inp, cl_out, env={"OCL_ICD_VENDORS": empty})
    assert proc.returncode == 0 and attrs(cl_out)[0]["backend"] == "reference", proc.stderr
    print("ok  the default backend is opencl with a device, reference without any")

    proc = run(inp, cl_out, "--backend", "opencl", env={"SYSMAP_OPENCL_INJECT_FAULT": "nofp64"})
    assert proc.returncode == 0 and attrs(cl_out)[0]["precision"] == "fp32", proc.stderr
    print("ok  a device without fp64 runs fp32 by default and says so")

    check_cpu_mask(inp, cl_out)


if __name__ == "__main__":
    main()
