"""Peak host memory of `sysmap run` against the size of the data, without
timing: a regression that copies the templates again, or expands a
partial-sky file to the full sky, fails here.

The data is (S + 1) x N_used float64 (the map and templates at the used
pixels). Each input, a quarter of the sky at NSIDE 256 with S = 10, runs a
few steps with each backend; the peak resident size of the same run on a
tiny map (NSIDE 16) is subtracted as the runtime's own (libraries, PoCL's
compiler, buffers). What remains must stay under LIMIT[backend] x the
data: loading holds the data once plus the footprint's pixel index and
small buffers; the run turns the templates into the sampling basis in
place (sm_run_create_adopting), which PoCL reads in place too (fp64), and
writes the four corrected maps a chunk at a time. Measured here: 1.11 to
1.20 (reference) and 1.13 to 1.23 (PoCL); 2.1 to 2.5 and 3.2 to 3.4 with
the sampling basis's copy and PoCL's own, 3.9 to 4.8 before issue 14.

A child forked from a process inherits its resident size into ru_maxrss,
so the inputs are written by a child Python (numpy and healpy loaded) and
the runs are started from this one, which loads neither.

usage: cli_memory.py SYSMAP_EXE SCRATCH_DIR
"""
import os
import subprocess
import sys

EXE, SCRATCH = sys.argv[1], sys.argv[2]
S = 10
LIMIT = {"reference": 1.4, "opencl": 1.4}
RUN = ["--walkers", "48", "--steps", "2", "--burn", "1", "--quiet"]


def path(name):
    return os.path.join(SCRATCH, name)


def write_inputs(nside):
    """A quarter of the sky (z > 1/2) as partial-sky FITS files, and the
    same full-sky arrays with a mask in HDF5; prints N_used."""
    import h5py
    import healpy as hp
    import numpy as np
    npix = hp.nside2npix(nside)
    rs = np.random.RandomState(3)
    t = rs.normal(size=(S, npix))
    delta = 0.1 * rs.normal(size=npix) + 0.01 * t[0]
    theta, _ = hp.pix2ang(nside, np.arange(npix))
    used = np.cos(theta) > 0.5
    names = [f"T{i}" for i in range(S)]
    hp.write_map(path(f"map{nside}.fits"), np.where(used, delta, hp.UNSEEN), partial=True,
                 overwrite=True, dtype=np.float64, column_names=["DELTA"])
    hp.write_map(path(f"tpl{nside}.fits"), list(np.where(used, t, hp.UNSEEN)), partial=True,
                 overwrite=True, dtype=np.float64, column_names=names)
    with h5py.File(path(f"in{nside}.h5"), "w") as f:
        f["delta_g_obs"] = delta
        f["templates"] = t
        f["mask"] = used.astype(np.uint8)
    print(int(used.sum()))


def written(nside):
    """N_used of the inputs a child Python writes."""
    proc = subprocess.run([sys.executable, __file__, EXE, SCRATCH, str(nside)],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


def inputs(kind, nside):
    if kind == "fits":
        return ["--map", path(f"map{nside}.fits"), "--templates", path(f"tpl{nside}.fits")]
    return [path(f"in{nside}.h5")]


def peak_kib(args, backend):
    """Peak resident size of one run, from the kernel's accounting of the
    child (ru_maxrss, KiB on Linux)."""
    out = path("run.h5")
    proc = subprocess.Popen([EXE, "run", *args, *RUN, "--backend", backend, "-o", out],
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read()
    assert proc.returncode == 0, f"exit {proc.returncode}: {args}\n{err}"
    os.unlink(out)
    return usage.ru_maxrss


def main():
    os.makedirs(SCRATCH, exist_ok=True)
    written(16)
    n_used = written(256)
    data_mib = (S + 1) * n_used * 8 / 2**20
    failures = []
    for kind in ("fits", "hdf5"):
        for backend in ("reference", "opencl"):
            base = peak_kib(inputs(kind, 16), backend) / 1024
            peak = peak_kib(inputs(kind, 256), backend) / 1024
            ratio = (peak - base) / data_mib
            print(f"{kind}, {backend}: data {data_mib:.1f} MiB (N_used {n_used}), peak "
                  f"{peak:.1f} MiB, runtime {base:.1f} MiB, (peak - runtime) / data = "
                  f"{ratio:.2f}")
            if ratio > LIMIT[backend]:
                failures.append(f"{kind}, {backend}: {ratio:.2f} x the data, limit "
                                f"{LIMIT[backend]}")
    assert not failures, "; ".join(failures)


if __name__ == "__main__":
    if len(sys.argv) > 3:
        write_inputs(int(sys.argv[3]))
    else:
        main()
