"""sysmap.run_file writes what `sysmap run` writes: for the same input, seed
and settings, the run file's chain and its group maps, and the corrected
maps (HEALPix FITS or HDF5), value for value; bad settings and outputs are
refused with the library's message, which names the setting.

usage: python_files.py SYSMAP_EXE SOURCE_DIR SCRATCH_DIR   (PYTHONPATH: the build's python/)
"""
import os
import subprocess
import sys

import h5py
import healpy as hp
import numpy as np

import sysmap

EXE, SOURCE, SCRATCH = sys.argv[1], sys.argv[2], sys.argv[3]
HPX = os.path.join(SOURCE, "data", "healpix")
EXAMPLE = os.path.join(SOURCE, "data", "example.h5")
CLI_RUN = ["--walkers", "24", "--steps", "30", "--burn", "10", "--seed", "7",
           "--backend", "reference", "--quiet"]
PY_RUN = dict(n_walkers=24, n_steps=30, n_burn=10, seed=7, backend="reference", progress=False)
MAPS = ["delta_corr", "delta_corr_err", "weight", "weight_err"]


def path(name):
    return os.path.join(SCRATCH, name)


def cli(*args):
    proc = subprocess.run([EXE, "run", *args, *CLI_RUN], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc


def same_run_files(a, b):
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        assert np.array_equal(fa["mcmc/chain"][...], fb["mcmc/chain"][...])
        for name in MAPS + ["pixel"]:
            x, y = fa["maps"][name][...], fb["maps"][name][...]
            assert x.size > 0 and np.array_equal(x, y), name
        return fa["maps"]["delta_corr"].size


def healpix():
    inputs = ["--map", os.path.join(HPX, "galaxy_counts.fits"), "--counts",
              "--templates", os.path.join(HPX, "templates.fits"),
              "--mask", os.path.join(HPX, "completeness.fits"), "--standardize"]
    cli(*inputs, "-o", path("cli.h5"), "--maps-out", path("cli-maps.fits"))
    chain, sampler = sysmap.run_file(
        map=os.path.join(HPX, "galaxy_counts.fits"), counts=True,
        templates=[os.path.join(HPX, "templates.fits")],
        mask=os.path.join(HPX, "completeness.fits"), standardize=True,
        out=path("py.h5"), maps_out=path("py-maps.fits"), **PY_RUN)
    n = same_run_files(path("cli.h5"), path("py.h5"))
    got = hp.read_map(path("py-maps.fits"), field=None, partial=False)
    want = hp.read_map(path("cli-maps.fits"), field=None, partial=False)
    assert len(got) == 4 and all(np.array_equal(g, w) for g, w in zip(got, want))
    assert np.count_nonzero(got[0] != hp.UNSEEN) == n
    assert chain.shape == (24 * 20, sampler.ndim) and sampler.seed == 7
    print(f"ok  HEALPix: run file, group maps and FITS maps equal the CLI's ({n} pixels)")


def hdf5():
    cli(EXAMPLE, "-o", path("cli-h.h5"), "--maps-out", path("cli-h-maps.h5"))
    sysmap.run_file(EXAMPLE, out=path("py-h.h5"), maps_out=path("py-h-maps.h5"), **PY_RUN)
    n = same_run_files(path("cli-h.h5"), path("py-h.h5"))
    with h5py.File(path("cli-h-maps.h5"), "r") as fa, h5py.File(path("py-h-maps.h5"), "r") as fb:
        for name in MAPS:
            assert np.array_equal(fa["maps"][name][...], fb["maps"][name][...]), name
    # without maps_out an HDF5 input has no maps; in memory, no file at all
    sysmap.run_file(EXAMPLE, out=path("py-none.h5"), **PY_RUN)
    with h5py.File(path("py-none.h5"), "r") as f:
        assert "maps" not in f
    print(f"ok  HDF5: run file and HDF5 maps equal the CLI's ({n} pixels)")


def expect(message, **kw):
    try:
        sysmap.run_file(EXAMPLE, **{**PY_RUN, **kw})
    except sysmap.SysmapValueError as e:
        assert isinstance(e, ValueError) and message in str(e), (message, str(e))
        print(f"ok  refused: {e}")
        return
    raise AssertionError(f"{kw}: not refused")


def refusals():
    expect("maps_out x.fits: FITS maps need a HEALPix input", maps_out="x.fits")
    expect(f"output {EXAMPLE} is the input {EXAMPLE}", out=EXAMPLE)
    expect("walkers expects a non-negative integer", n_walkers=-3)
    expect("seed must be at most 4294967295", seed=2**32)
    expect("model: unknown model 'linear'", model="linear")
    expect("unknown run setting 'n_thin'", n_thin=2)
    expect("burn-in (40 steps) is longer than the run (30 steps)", n_burn=40)


def main():
    os.makedirs(SCRATCH, exist_ok=True)
    healpix()
    hdf5()
    refusals()


if __name__ == "__main__":
    main()
