"""Writes the fuzzers' seed corpus: tiny valid inputs of every layout the
loaders read (tests/fuzz/seeds/hdf5/*.h5, tests/fuzz/seeds/fits/*.fits).
Each is small (a few kB) so that mutations reach every structure.

usage: /usr/bin/python3 tests/fuzz/make_seeds.py   (needs numpy, h5py, astropy)
"""
import gzip
import os

import h5py
import numpy as np
from astropy.io import fits

HERE = os.path.dirname(os.path.abspath(__file__))
N, S = 20, 2


def hdf5_seeds(out):
    rs = np.random.RandomState(3)
    d, t = rs.normal(0, 0.1, N), rs.normal(size=(S, N))

    def write(name, **kw):
        with h5py.File(os.path.join(out, name), "w") as f:
            for k, v in kw.items():
                if k.startswith("attr_"):
                    f.attrs[k[5:]] = v
                elif isinstance(v, tuple):  # (data, dataset options)
                    f.create_dataset(k, data=v[0], **v[1])
                else:
                    f[k] = v

    write("full.h5", delta_g_obs=d, templates=t, mask=(np.arange(N) % 4 != 1).astype(np.uint8),
          attr_template_names=["stars", "dust"], attr_injected_a=[0.01, -0.02],
          attr_injected_b=[0.5, 0.25])
    write("plain.h5", delta_g_obs=d, templates=t)
    write("bool-mask-fixed-names.h5", delta_g_obs=d, templates=t,
          mask=np.arange(N) % 3 != 0, attr_template_names=np.array([b"ab", b"cd"], "S4"))
    write("chunked-gzip.h5", delta_g_obs=(d, {"chunks": (5,), "compression": "gzip"}),
          templates=(t, {"chunks": (1, 10), "shuffle": True}))
    with h5py.File(os.path.join(out, "compact.h5"), "w") as f:
        for name, v in (("delta_g_obs", d), ("templates", t)):
            space = h5py.h5s.create_simple(v.shape)
            dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
            dcpl.set_layout(h5py.h5d.COMPACT)
            ds = h5py.h5d.create(f.id, name.encode(), h5py.h5t.IEEE_F64LE, space, dcpl=dcpl)
            ds.write(h5py.h5s.ALL, h5py.h5s.ALL, np.ascontiguousarray(v))
    write("init.h5", p0=rs.normal(0, 0.05, (16, 7)))
    with h5py.File(os.path.join(out, "latest.h5"), "w", libver="latest") as f:
        f["delta_g_obs"], f["templates"] = d, t
        f.attrs["template_names"] = ["a", "b"]


def fits_seeds(out):
    def table(name, cols, header, gz=False):
        hdu = fits.BinTableHDU.from_columns(cols)
        for k, v in header.items():
            hdu.header[k] = v
        path = os.path.join(out, name)
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path, overwrite=True)
        if gz:
            with open(path, "rb") as f:
                data = f.read()
            os.remove(path)
            with gzip.open(path + ".gz", "wb") as f:
                f.write(data)

    x = np.linspace(-1, 1, 12)
    ring = {"PIXTYPE": "HEALPIX", "ORDERING": "RING", "NSIDE": 1, "INDXSCHM": "IMPLICIT"}
    table("ring-double.fits", [fits.Column("SIGNAL", "D", array=x),
                               fits.Column("T2", "D", array=x ** 2)], ring)
    table("nested-vector-float.fits",
          [fits.Column("SIGNAL", "4E", array=np.float32(x.reshape(3, 4)))],
          dict(ring, ORDERING="NESTED"))
    table("partial-explicit.fits", [fits.Column("PIXEL", "J", array=np.array([0, 3, 7, 11])),
                                    fits.Column("SIGNAL", "D", array=x[:4])],
          dict(ring, INDXSCHM="EXPLICIT", NSIDE=1))
    table("counts-tnull.fits", [fits.Column("N", "J", array=np.arange(12) % 5, null=-99)],
          dict(ring))
    table("nside2-gz.fits", [fits.Column("SIGNAL", "D", array=np.linspace(0, 1, 48))],
          dict(ring, NSIDE=2), gz=True)


def main():
    for kind, make in (("hdf5", hdf5_seeds), ("fits", fits_seeds)):
        out = os.path.join(HERE, "seeds", kind)
        os.makedirs(out, exist_ok=True)
        make(out)
        for name in sorted(os.listdir(out)):
            print(kind, name, os.path.getsize(os.path.join(out, name)))


if __name__ == "__main__":
    main()
