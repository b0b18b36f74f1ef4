"""The HEALPix example survey in data/healpix/.

generator: tools/make_healpix_example.py remakes the committed files: same
  columns, same values, same header cards.
recovery: `sysmap run` on the FITS files (counts over the completeness map,
  standardised templates) recovers the injected a and b: every one within
  2 sigma of its posterior, and jointly chi^2 (10 parameters, the chain's
  covariance) below 23.2, the 99% point; the weight map's linearised
  1-sigma agrees with the spread of 1/(1 + b.t) over the chain's draws; the
  maps are written and `sysmap plot` draws them.

usage: healpix_example.py generator SOURCE_DIR SCRATCH_DIR
       healpix_example.py recovery SYSMAP_EXE SOURCE_DIR SCRATCH_DIR
"""
import os
import subprocess
import sys

import h5py
import healpy as hp
import numpy as np
from astropy.io import fits

FILES = ("galaxy_counts.fits", "completeness.fits", "templates.fits")
# 64 walkers x 1000 steps, 300 burn-in: the integrated autocorrelation time
# is about 50 steps, so 700 kept steps give about 900 effective samples per
# parameter (the run prints emcee's 50-tau warning; the statistics suffice
# for 2-sigma checks).
STEPS = ["--walkers", "64", "--steps", "1000", "--burn", "300", "--seed", "42"]


def generator(src, scratch):
    os.makedirs(scratch, exist_ok=True)
    subprocess.run([sys.executable, os.path.join(src, "tools", "make_healpix_example.py"),
                    scratch], check=True)
    for name in FILES:
        with fits.open(os.path.join(src, "data", "healpix", name)) as a, \
                fits.open(os.path.join(scratch, name)) as b:
            ha, hb = a[1].header, b[1].header
            assert list(ha.items()) == list(hb.items()), f"{name}: header differs"
            for col in a[1].columns.names:
                assert np.array_equal(a[1].data[col], b[1].data[col]), f"{name}: {col} differs"
        print(f"ok  {name}: remade identically")


def recovery(exe, src, scratch):
    os.makedirs(scratch, exist_ok=True)
    data = os.path.join(src, "data", "healpix")
    run, maps = os.path.join(scratch, "example-run.h5"), os.path.join(scratch, "example-maps.fits")
    proc = subprocess.run(
        [exe, "run", "--map", os.path.join(data, "galaxy_counts.fits"), "--counts",
         "--templates", os.path.join(data, "templates.fits"),
         "--mask", os.path.join(data, "completeness.fits"), "--standardize",
         "--backend", "opencl", *STEPS, "-o", run, "--maps-out", maps],
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "159 pixels of the map's footprint have no value in some template" in proc.stderr
    print(proc.stdout)

    tpl = fits.open(os.path.join(data, "templates.fits"))[1]
    names = tpl.columns.names[1:]
    inj = np.array([tpl.header[f"INJ_A{i}"] for i in range(1, 6)] +
                   [tpl.header[f"INJ_B{i}"] for i in range(1, 6)])
    with h5py.File(run) as f:
        assert f["sysmap"].attrs["n_pix"] == tpl.header["N_USED"]
        median, std = f["sysmap/median"][:10], f["sysmap/std"][:10]
        flat = f["mcmc/chain"][300:].reshape(-1, 11)
        g = f["maps"]
        pix, w, w_err = g["pixel"][...], g["weight"][...], g["weight_err"][...]
    pulls = (median - inj) / std
    for k, p in enumerate(pulls):
        label = ("a" if k < 5 else "b") + f"_{k % 5 + 1} ({names[k % 5]})"
        print(f"    {label:24s} injected {inj[k]:+.4f}  median {median[k]:+.4f} "
              f"+- {std[k]:.4f}  pull {p:+.2f}")
    r = median - inj
    chi2 = r @ np.linalg.solve(np.cov(flat[:, :10], rowvar=False), r)
    assert np.all(np.abs(pulls) < 2.0), pulls
    assert chi2 < 23.2, chi2
    print(f"ok  recovery: every |pull| < 2 (largest {np.abs(pulls).max():.2f}); "
          f"chi^2 = {chi2:.1f} for 10 parameters")

    # The standardised templates at the used pixels, as the loader makes them.
    rows = np.searchsorted(tpl.data["PIXEL"], pix)
    t = np.array([tpl.data[n][rows] for n in names], dtype=np.float64)
    t = (t - t.mean(axis=1)[:, None]) / t.std(axis=1)[:, None]
    sel = np.random.RandomState(0).choice(pix.size, 300, replace=False)
    draws = 1.0 / (1.0 + flat[:, 5:10] @ t[:, sel])
    ratio = draws.std(axis=0, ddof=1) / w_err[sel]
    assert np.all(np.abs(ratio - 1) < 0.02), (ratio.min(), ratio.max())
    truth = 1.0 / (1.0 + inj[5:] @ t)
    pull_w = np.abs(w - truth) / w_err
    fits_w = hp.read_map(maps, field=2, dtype=np.float64)
    assert np.array_equal(fits_w[pix], w) and np.sum(fits_w != hp.UNSEEN) == pix.size
    print(f"ok  weight map: {pix.size} pixels; linearised 1-sigma / spread over chain draws "
          f"{ratio.min():.3f}..{ratio.max():.3f} (300 pixels); |w - w_true| / sigma: median "
          f"{np.median(pull_w):.2f}, max {pull_w.max():.2f}")

    proc = subprocess.run([exe, "plot", run, "-o", scratch], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    pngs = proc.stdout.split()
    assert len(pngs) == 3 and all(os.path.getsize(p) > 10000 for p in pngs), pngs
    print("ok  plots: " + ", ".join(os.path.basename(p) for p in pngs))


if __name__ == "__main__":
    if sys.argv[1] == "generator":
        generator(sys.argv[2], sys.argv[3])
    else:
        recovery(sys.argv[2], sys.argv[3], sys.argv[4])
