"""`sysmap plot RUN.h5` writes the corner, trace and weight-map PNGs.

A small run on HEALPix maps (so the run file has group maps) is plotted with
healpy's Mollweide and with the plain projection (--no-healpy); a run on an
HDF5 input (no maps) gives the corner and trace plots and says why there is
no weight map; with --truths INPUT.h5 the corner plot marks the input's
injected values, drawn by corner.corner when the plotting Python has the
corner package ($SYSMAP_PYTHON, else this one; the built-in plot otherwise,
and always with --no-corner); a file that is not a run file is an error, and
bad arguments (--dpi 0, --walkers -5, -o naming a file, a folder that cannot
be made) are usage errors or clear errors, never a Python traceback.
Every PNG must be a real, non-blank image.

usage: cli_plot.py SYSMAP_EXE SCRATCH_DIR
"""
import os
import subprocess
import sys

import h5py
import healpy as hp
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.image  # noqa: E402

EXE, SCRATCH = sys.argv[1], sys.argv[2]
RUN = ["--walkers", "16", "--steps", "40", "--burn", "10", "--backend", "reference", "--quiet"]


def path(name):
    return os.path.join(SCRATCH, name)


def check_png(p):
    with open(p, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n", f"{p}: not a PNG"
    img = matplotlib.image.imread(p)
    assert img.shape[0] > 200 and img.shape[1] > 200, f"{p}: {img.shape}"
    assert img[..., :3].std() > 0.01, f"{p}: blank"
    return f"{os.path.basename(p)} {img.shape[1]}x{img.shape[0]} ({os.path.getsize(p)} bytes)"


def plot(run_file, outdir, *extra, status=0):
    proc = subprocess.run([EXE, "plot", run_file, "-o", outdir, *extra], capture_output=True,
                          text=True)
    assert proc.returncode == status, f"exit {proc.returncode}: {proc.stderr}"
    return proc


def main():
    os.makedirs(SCRATCH, exist_ok=True)
    nside = 8
    npix = hp.nside2npix(nside)
    rs = np.random.RandomState(2)
    t = rs.normal(size=(2, npix))
    d = rs.normal(0, 0.1, npix) * (1 + 0.05 * t[0]) + 0.02 * t[1]
    d[: npix // 4] = hp.UNSEEN
    hp.write_map(path("map.fits"), d, overwrite=True, dtype=np.float64)
    hp.write_map(path("t.fits"), t, overwrite=True, dtype=np.float64, column_names=["A", "B"])
    run = path("hpx-run.h5")
    subprocess.run([EXE, "run", "--map", path("map.fits"), "--templates", path("t.fits"),
                    "-o", run, *RUN], check=True)
    for label, extra in (("healpy", []), ("plain", ["--no-healpy"])):
        outdir = path(label)
        proc = plot(run, outdir, *extra)
        pngs = proc.stdout.split()
        want = [os.path.join(outdir, "hpx-run-" + k + ".png") for k in ("corner", "trace", "weights")]
        assert pngs == want, (pngs, want)
        print(f"ok  {label}: " + "; ".join(check_png(p) for p in pngs))

    with h5py.File(path("map.h5"), "w") as f:
        f["delta_g_obs"] = d[npix // 4:]
        f["templates"] = t[:, npix // 4:]
        f.attrs["injected_a"] = [0.0, 0.02]   # as d was made above
        f.attrs["injected_b"] = [0.05, 0.0]
        f.attrs["injected_sigma"] = 0.1
    plain = path("h5-run.h5")
    subprocess.run([EXE, "run", path("map.h5"), "-o", plain, *RUN], check=True)
    proc = plot(plain, path("nomaps"))
    assert len(proc.stdout.split()) == 2 and "no weight map" in proc.stderr, proc
    assert "no injected values known" in proc.stderr, proc.stderr
    print("ok  no maps: " + "; ".join(check_png(p) for p in proc.stdout.split()))

    plot_python = os.environ.get("SYSMAP_PYTHON") or sys.executable
    has_corner = subprocess.run([plot_python, "-c", "import corner"],
                                capture_output=True).returncode == 0
    for label, extra in (("built-in", ["--no-corner"]), ("default", [])):
        proc = plot(plain, path("truths-" + label), "--truths", path("map.h5"), *extra)
        kind = "corner" if has_corner and not extra else "matplotlib"
        assert f"drawn with {kind}, truths for a_1, a_2, b_1, b_2, sigma" in proc.stderr, \
            proc.stderr
        print(f"ok  --truths, {label} ({kind}): {check_png(proc.stdout.split()[0])}")
    if not has_corner:
        print(f"skip corner.corner: the corner package is not installed for {plot_python}")

    proc = plot(path("map.fits"), path("bad"), status=1)
    assert "map.fits" in proc.stderr and "sysmap plot" in proc.stderr, proc.stderr
    print(f"ok  not a run file: {proc.stderr.strip()[:120]}")

    a_file = path("a-file")
    open(a_file, "w").close()
    for label, outdir, extra, status, message in (
            ("--dpi 0", path("args"), ["--dpi", "0"], 2, "--dpi: expects an integer from 1"),
            ("--dpi 10^6", path("args"), ["--dpi", "1000000"], 2, "to 1000"),
            ("--walkers -5", path("args"), ["--walkers", "-5"], 2, "--walkers: expects"),
            ("-o FILE", a_file, [], 2, "not a folder"),
            ("-o under a file", os.path.join(a_file, "png"), [], 1, "cannot write the PNGs")):
        proc = plot(plain, outdir, *extra, status=status)
        assert message in proc.stderr and "Traceback" not in proc.stderr, (label, proc.stderr)
        print(f"ok  {label}: {proc.stderr.strip().splitlines()[-1]}")


if __name__ == "__main__":
    main()
