#!/usr/bin/env python3
"""Writes the HEALPix example survey in data/healpix/ (data/README.md describes it).

usage: make_healpix_example.py [--seed N] OUTDIR

A toy photometric survey at NSIDE 64 (RING): a partial-sky footprint north
of the equator and away from the Galactic plane, a completeness map, five
systematics templates in physical units with spatial structure, and galaxy
counts drawn from an overdensity contaminated by the templates with known
a and b. Deterministic: the only randomness is numpy's legacy RandomState
(MT19937) with a fixed seed, drawn in a fixed order, and healpy only
supplies pixel centres. Each file is written to NAME.tmp and renamed.
"""
import argparse
import os

import healpy as hp
import numpy as np
from astropy.io import fits

NSIDE = 64
SEED = 20240502
NBAR = 4000.0              # mean galaxies per pixel at completeness 1 (4800 deg^-2)
SIGMA = 0.1                # width of the true overdensity
NAMES = ["stellar_density", "ebv", "seeing", "sky_brightness", "airmass"]
UNITS = ["deg^-2", "mag", "arcsec", "mag/arcsec^2", ""]
# Injected contamination of the standardised templates (zero mean and unit
# population variance over the used pixels, what `sysmap run --standardize`
# makes of them).
INJ_A = np.array([0.02, -0.015, 0.01, 0.0, 0.025])
INJ_B = np.array([0.05, 0.0, -0.04, 0.03, 0.0])
NGP_RA, NGP_DEC = np.radians(192.859), np.radians(27.128)   # north Galactic pole
SITE_LAT = np.radians(31.96)                                # the telescope's latitude


def smooth_field(rs, p, n_waves=30):
    """A unit-variance random field with 15-60 degree structure: a sum of
    plane waves cos(k.p + phase) over the unit vectors p."""
    u = rs.normal(size=(n_waves, 3))
    u /= np.linalg.norm(u, axis=1)[:, None]
    k = u * rs.uniform(3.0, 12.0, n_waves)[:, None]
    phase = rs.uniform(0, 2 * np.pi, n_waves)
    f = np.cos(p @ k.T + phase).sum(axis=1)
    return (f - f.mean()) / f.std()


def make(seed):
    rs = np.random.RandomState(seed)
    npix = hp.nside2npix(NSIDE)
    p = np.column_stack(hp.pix2vec(NSIDE, np.arange(npix)))
    dec = np.arcsin(p[:, 2])
    phi = np.arctan2(p[:, 1], p[:, 0])
    ngp = np.array([np.cos(NGP_DEC) * np.cos(NGP_RA), np.cos(NGP_DEC) * np.sin(NGP_RA),
                    np.sin(NGP_DEC)])
    gal_b = np.degrees(np.arcsin(p @ ngp))
    footprint = (dec > 0.0) & (np.abs(gal_b) > 25.0)

    fields = [smooth_field(rs, p) for _ in range(5)]
    shared = rs.normal(size=npix)          # observing conditions of a night
    raw = np.empty((5, npix))
    raw[0] = 60.0 + 900.0 * np.exp(-(np.abs(gal_b) - 25.0) / 12.0) * (1 + 0.15 * fields[0]) \
        + 12.0 * rs.normal(size=npix)
    raw[1] = np.maximum(0.012 + 0.05 * np.exp(-(np.abs(gal_b) - 25.0) / 15.0)
                        * np.exp(0.3 * fields[1]) + 0.003 * rs.normal(size=npix), 0.0)
    raw[2] = 1.05 + 0.10 * fields[2] + 0.06 * np.sin(3 * phi) * np.cos(dec) + 0.04 * shared \
        + 0.03 * rs.normal(size=npix)
    raw[3] = 21.6 - 0.15 * fields[3] - 0.1 * shared + 0.04 * rs.normal(size=npix)
    raw[4] = np.maximum(1.0 / np.cos(dec - SITE_LAT) + 0.02 * rs.normal(size=npix), 1.0)
    raw = raw.astype(np.float32)           # as survey products store them
    bad_field = rs.uniform(size=npix) < 0.01   # seeing not measured there
    completeness = np.clip(0.88 + 0.06 * fields[4] + 0.02 * rs.normal(size=npix), 0.5, 1.0)
    star_hole = rs.uniform(size=npix) < 0.01   # masked around bright stars
    completeness = np.where(footprint & ~star_hole, completeness, 0.0).astype(np.float32)

    observed = completeness > 0
    used = observed & ~bad_field
    t = raw[:, used].astype(np.float64)
    t = (t - t.mean(axis=1)[:, None]) / t.std(axis=1)[:, None]
    delta = SIGMA * rs.normal(size=used.sum())
    delta_obs = delta * (1 + INJ_B @ t) + INJ_A @ t
    lam = NBAR * completeness[used].astype(np.float64) * (1 + delta_obs)
    counts = np.zeros(npix, dtype=np.int32)
    counts[used] = rs.poisson(np.maximum(lam, 0.0))
    # Counts exist wherever the survey observed, also where seeing is missing.
    counts[observed & bad_field] = rs.poisson(NBAR * completeness[observed & bad_field])
    templates = [np.where(observed, raw[i], hp.UNSEEN).astype(np.float32) for i in range(5)]
    templates[2][bad_field] = hp.UNSEEN
    return observed, counts, completeness, templates, int(used.sum())


def healpix_header(hdu, partial):
    hdu.header["PIXTYPE"] = ("HEALPIX", "HEALPIX pixelisation")
    hdu.header["ORDERING"] = ("RING", "pixel ordering scheme")
    hdu.header["NSIDE"] = (NSIDE, "resolution parameter")
    hdu.header["INDXSCHM"] = ("EXPLICIT" if partial else "IMPLICIT", "indexing")
    hdu.header["OBJECT"] = ("PARTIAL" if partial else "FULLSKY", "sky coverage")
    hdu.header["COORDSYS"] = ("C", "celestial (equatorial)")


def write(path, hdu):
    tmp = path + ".tmp"
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(tmp, overwrite=True)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("outdir")
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    observed, counts, completeness, templates, n_used = make(args.seed)
    pix = np.flatnonzero(observed).astype(np.int32)

    counts_hdu = fits.BinTableHDU.from_columns([
        fits.Column(name="PIXEL", format="J", array=pix),
        fits.Column(name="N_GAL", format="J", array=counts[pix])])
    healpix_header(counts_hdu, partial=True)
    counts_hdu.header["NBAR"] = (NBAR, "mean galaxies per pixel at completeness 1")
    write(os.path.join(args.outdir, "galaxy_counts.fits"), counts_hdu)

    comp_hdu = fits.BinTableHDU.from_columns([
        fits.Column(name="PIXEL", format="J", array=pix),
        fits.Column(name="FRACDET", format="E", array=completeness[pix])])
    healpix_header(comp_hdu, partial=True)
    write(os.path.join(args.outdir, "completeness.fits"), comp_hdu)

    cols = [fits.Column(name="PIXEL", format="J", array=pix)]
    cols += [fits.Column(name=n, format="E", unit=u or None, array=t[pix])
             for n, u, t in zip(NAMES, UNITS, templates)]
    t_hdu = fits.BinTableHDU.from_columns(cols)
    healpix_header(t_hdu, partial=True)
    for i in range(5):
        t_hdu.header[f"INJ_A{i + 1}"] = (INJ_A[i], f"injected a, standardised {NAMES[i]}")
        t_hdu.header[f"INJ_B{i + 1}"] = (INJ_B[i], f"injected b, standardised {NAMES[i]}")
    t_hdu.header["INJ_SIG"] = (SIGMA, "width of the true overdensity")
    t_hdu.header["N_USED"] = (n_used, "pixels with counts and every template")
    t_hdu.header["GENSEED"] = (args.seed, "tools/make_healpix_example.py --seed")
    write(os.path.join(args.outdir, "templates.fits"), t_hdu)


if __name__ == "__main__":
    main()
