"""`sysmap run` on HEALPix FITS maps written by healpy, against numpy.

1. Loader: a partial-sky counts map, a NESTED completeness mask (--reorder),
   a gzipped two-column template file and a float32 partial-sky template with UNSEEN
   pixels inside the footprint. numpy builds the same overdensity and
   templates from the arrays healpy wrote and puts them in an HDF5 input; the
   chain of the FITS run must equal the chain of the HDF5 run bit for bit.
2. Maps: the corrected and weight maps in the run file (group maps) and in
   the FITS file healpy reads back equal numpy's evaluation at the chain's
   median with numpy's linearised uncertainty.
3. Bad inputs: each a message naming the file, exit status 1 (2 for usage
   errors), and no run file left behind.
4. HDF5 inputs: no maps unless --maps-out; with it, HDF5 maps.

usage: cli_healpix.py SYSMAP_EXE SCRATCH_DIR
"""
import os
import subprocess
import sys

import h5py
import healpy as hp
import numpy as np

EXE, SCRATCH = sys.argv[1], sys.argv[2]
NSIDE = 16
NPIX = hp.nside2npix(NSIDE)
RUN = ["--walkers", "24", "--steps", "40", "--burn", "10", "--backend", "reference", "--quiet"]
UNSEEN = hp.UNSEEN


def path(name):
    return os.path.join(SCRATCH, name)


def sysmap(*args, status=0):
    proc = subprocess.run([EXE, "run", *args], capture_output=True, text=True)
    assert proc.returncode == status, \
        f"exit {proc.returncode}, expected {status}: {args}\n{proc.stdout}\n{proc.stderr}"
    return proc


def make_inputs():
    rs = np.random.RandomState(8)
    theta, phi = hp.pix2ang(NSIDE, np.arange(NPIX))
    footprint = theta < 2.0                      # a partial sky
    stars = np.exp(-np.abs(np.cos(theta)) / 0.3) + 0.1 * rs.normal(size=NPIX)
    seeing = np.sin(3 * phi) * np.sin(theta) + 0.2 * rs.normal(size=NPIX)
    depth = (np.cos(theta) + 0.1 * rs.normal(size=NPIX)).astype(np.float32)
    depth[rs.uniform(size=NPIX) < 0.03] = UNSEEN  # drops some footprint pixels
    completeness = np.where(rs.uniform(size=NPIX) < 0.1, 0.0,
                            0.5 + 0.125 * rs.randint(0, 5, NPIX))  # exact in binary
    completeness[~footprint] = 0.0
    t = np.vstack([stars, seeing, depth.astype(np.float64)])
    lam = 40 * completeness * (1 + 0.05 * t[0] + 0.02 * t[1])
    counts = rs.poisson(np.maximum(lam, 0)).astype(np.float64)
    counts[~footprint] = UNSEEN
    hp.write_map(path("counts.fits"), counts, partial=True, overwrite=True, dtype=np.float64,
                 column_names=["N_GAL"])
    hp.write_map(path("completeness.fits"), hp.reorder(completeness, r2n=True), nest=True,
                 overwrite=True, dtype=np.float64, column_names=["FRACDET"])
    hp.write_map(path("conditions.fits.gz"), [stars, seeing], overwrite=True, dtype=np.float64,
                 column_names=["STARS", "SEEING"])  # gzip-compressed, as archives ship them
    hp.write_map(path("depth.fits"), depth, partial=True, overwrite=True, dtype=np.float32,
                 column_names=["DEPTH"])
    used = footprint & (completeness > 0) & (depth != np.float32(UNSEEN))
    n, w = counts[used], completeness[used]
    nbar = n.sum() / w.sum()
    delta = n / (nbar * w) - 1.0
    with h5py.File(path("truth.h5"), "w") as f:
        f["delta_g_obs"] = delta
        f["templates"] = t[:, used]
    return np.flatnonzero(used), delta, t[:, used]


def flat_post(run_file, burn=10):
    with h5py.File(run_file) as f:
        chain = f["mcmc/chain"][...]
        median = f["sysmap/median"][...]
    return chain[burn:].reshape(-1, chain.shape[2]), median, chain


def check_loader_and_maps(used, delta, t):
    fits_run, h5_run = path("fits-run.h5"), path("h5-run.h5")
    maps_fits = path("maps.fits")
    sysmap("--map", path("counts.fits"), "--counts", "--templates",
           path("conditions.fits.gz") + "," + path("depth.fits"), "--mask", path("completeness.fits"),
           "--reorder", "-o", fits_run, "--maps-out", maps_fits, *RUN)
    sysmap(path("truth.h5"), "-o", h5_run, *RUN)
    flat, median, chain = flat_post(fits_run)
    _, _, chain_h5 = flat_post(h5_run)
    assert np.array_equal(chain, chain_h5), "FITS and HDF5 inputs gave different chains"
    with h5py.File(fits_run) as f:
        assert f["sysmap"].attrs["n_pix"] == used.size
        g = f["maps"]
        assert np.array_equal(g["pixel"][...], used)
        assert g.attrs["nside"] == NSIDE and g.attrs["ordering"] == "RING"
        got = {k: g[k][...] for k in ("delta_corr", "delta_corr_err", "weight", "weight_err")}
        th, ph = hp.pix2ang(NSIDE, used)
        assert np.allclose(g["theta"][...], th, rtol=0, atol=1e-14)
        assert np.allclose(g["phi"][...], ph, rtol=0, atol=1e-14)
    print(f"ok  loader: {used.size} used pixels of {NPIX}; FITS chain == HDF5 chain "
          f"({chain.shape[0]} steps x {chain.shape[1]} walkers)")

    s = t.shape[0]
    a, b = median[:s], median[s:2 * s]
    cov = np.cov(flat[:, :2 * s], rowvar=False)
    m = 1.0 + b @ t
    w = 1.0 / m
    c = (delta - a @ t) * w
    g_c = np.vstack([-t * w, -c * t * w])             # (2S, N)
    g_w = np.vstack([np.zeros_like(t), -w * w * t])
    want = {"delta_corr": c, "weight": w,
            "delta_corr_err": np.sqrt(np.einsum("in,ik,kn->n", g_c, cov, g_c)),
            "weight_err": np.sqrt(np.einsum("in,ik,kn->n", g_w, cov, g_w))}
    for k in want:
        assert np.allclose(got[k], want[k], rtol=1e-10, atol=0), k
    cols = hp.read_map(maps_fits, field=(0, 1, 2, 3), dtype=np.float64)
    for i, k in enumerate(("delta_corr", "delta_corr_err", "weight", "weight_err")):
        assert np.array_equal(cols[i][used], got[k]), k
        outside = np.ones(NPIX, bool)
        outside[used] = False
        assert np.all(cols[i][outside] == UNSEEN), k
    print(f"ok  maps: equal numpy to 1e-10 in the run file and in {os.path.basename(maps_fits)}")


def expect_error(label, args, message, status=1):
    out = path(label + "-run.h5")
    for p in (out, out + ".partial"):
        if os.path.exists(p):
            os.remove(p)
    proc = sysmap(*args, "-o", out, *RUN, status=status)
    assert message in proc.stderr, f"{label}: '{message}' not in {proc.stderr!r}"
    for p in (out, out + ".partial"):
        assert not os.path.exists(p), f"{label}: {p} left behind"
    print(f"ok  {label}: {proc.stderr.strip()}")


def check_bad_inputs():
    base = ["--map", path("counts.fits"), "--counts", "--mask", path("completeness.fits"),
            "--reorder"]
    coarse = path("coarse.fits")
    hp.write_map(coarse, np.ones(hp.nside2npix(8)), overwrite=True)
    expect_error("wrong-nside", base + ["--templates", coarse], coarse + ": NSIDE 8 differs")
    expect_error("ordering", ["--map", path("counts.fits"), "--templates", path("depth.fits"),
                              "--mask", path("completeness.fits")],
                 path("completeness.fits") + ": ORDERING NESTED differs from the map's")
    # the library names the setting; the CLI says its flag
    expect_error("ordering-flag", ["--map", path("counts.fits"), "--templates",
                                   path("depth.fits"), "--mask", path("completeness.fits")],
                 "convert it (--reorder) or use a RING file")
    image = path("image.fits")
    from astropy.io import fits
    fits.PrimaryHDU(np.zeros((4, 4))).writeto(image, overwrite=True)
    expect_error("not-healpix", base + ["--templates", image], image + ": not a HEALPix map")
    table = path("table.fits")
    fits.BinTableHDU.from_columns([fits.Column(name="X", format="D", array=np.zeros(NPIX))]) \
        .writeto(table, overwrite=True)
    expect_error("no-pixtype", base + ["--templates", table], "no PIXTYPE keyword")
    empty = path("unseen.fits")
    hp.write_map(empty, np.full(NPIX, UNSEEN), overwrite=True)
    expect_error("all-unseen", ["--map", empty, "--templates", path("depth.fits")],
                 empty + ": every pixel of column")
    expect_error("missing-column", base + ["--templates", path("conditions.fits.gz") + ":EBV"],
                 path("conditions.fits.gz") + ": no column 'EBV' (value columns: 'STARS', 'SEEING')")
    expect_error("missing-file", base + ["--templates", path("nope.fits")], "nope.fits")
    expect_error("no-templates", ["--map", path("counts.fits")], "needs --templates", status=2)
    expect_error("both-inputs", [path("truth.h5"), "--map", path("counts.fits"), "--templates",
                                 path("depth.fits")], "not both", status=2)
    expect_error("fits-maps-of-hdf5", [path("truth.h5"), "--maps-out", path("x.fits")],
                 "FITS maps need a HEALPix input", status=2)
    expect_error("mask-without-map", [path("truth.h5"), "--mask", path("completeness.fits")],
                 "need a HEALPix --map", status=2)
    expect_error("bad-mask-min", base + ["--templates", path("depth.fits"), "--mask-min", "-1"],
                 "--mask-min expects", status=2)


def check_hdf5_maps():
    plain, with_maps, maps_h5 = path("plain.h5"), path("with-maps.h5"), path("maps-only.h5")
    sysmap(path("truth.h5"), "-o", plain, *RUN)
    sysmap(path("truth.h5"), "-o", with_maps, "--maps-out", maps_h5, *RUN)
    with h5py.File(plain) as f:
        assert "maps" not in f, "an HDF5 run without --maps-out changed its file"
    with h5py.File(with_maps) as f, h5py.File(maps_h5) as g:
        assert f["maps"].attrs["nside"] == 0 and f["maps"].attrs["ordering"] == "none"
        assert np.array_equal(f["maps/weight"][...], g["maps/weight"][...])
        assert np.array_equal(g["maps/pixel"][...], np.arange(g["maps/pixel"].size))
        assert "theta" not in g["maps"]
    print("ok  HDF5 input: no maps group by default; --maps-out FILE.h5 writes them")


def main():
    os.makedirs(SCRATCH, exist_ok=True)
    used, delta, t = make_inputs()
    check_loader_and_maps(used, delta, t)
    check_bad_inputs()
    check_hdf5_maps()


if __name__ == "__main__":
    main()
