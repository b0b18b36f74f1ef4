"""Hostile inputs to `sysmap run` end in a clear error: exit status 1 within
seconds (never a signal or a hang), one line naming the file and what is
wrong with it, and no output file. Parts (one ctest each):

  regressions   the fuzzed HDF5 files of tests/regressions (they used to
                hang or overflow inside libhdf5) and the NSIDE 2^29 header
  special       a FIFO, a directory and a device as every input file
  values        map and template values whose squares overflow; templates
                both bases refuse alike; unstored and LZF-filtered data
  guard         HDF5 metadata damaged byte by byte: each size that libhdf5
                1.10 trusts is checked before it decodes it
  fits          HEALPix headers that lie: non-integer NSIDE, more data than
                the file holds, values that overflow

usage: cli_hostile_inputs.py SYSMAP_EXE SOURCE_DIR SCRATCH_DIR PART
"""
import os
import re
import struct
import subprocess
import sys

import h5py
import numpy as np
from astropy.io import fits

EXE, SOURCE, SCRATCH, PART = sys.argv[1:5]
N, S = 20, 2
# Seconds one refusal may take (the ASan build included); a hang fails.
LIMIT = 10


def path_of(name):
    return os.path.join(SCRATCH, name)


def expect(label, args, message, status=1):
    out = path_of(label + "-out.h5")
    leftovers = [out, out + ".partial", out + ".tmp"]
    for p in leftovers:
        if os.path.exists(p):
            os.remove(p)
    cmd = [EXE, "run", "-o", out, "--quiet", "--steps", "5", "--burn", "1", "--walkers", "16",
           "--backend", "reference"] + args
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=LIMIT)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{label}: no answer within {LIMIT} s: {cmd}")
    assert proc.returncode == status, \
        f"{label}: exit status {proc.returncode}, expected {status}; stderr: {proc.stderr}"
    assert message in proc.stderr, f"{label}: '{message}' not in stderr: {proc.stderr!r}"
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, f"{label}: more than one line on stderr: {proc.stderr!r}"
    for p in leftovers:
        assert not os.path.exists(p), f"{label}: {p} was left behind"
    print(f"ok  {label}: {lines[0]}")


def arrays():
    rs = np.random.RandomState(7)
    return rs.normal(0, 0.1, N), rs.normal(size=(S, N))


def write(name, **datasets):
    """An HDF5 input; keys attr_X are root attributes, (array, options)
    tuples datasets with h5py options."""
    path = path_of(name)
    with h5py.File(path, "w") as f:
        for key, value in datasets.items():
            if key.startswith("attr_"):
                f.attrs[key[5:]] = value
            elif isinstance(value, tuple):
                f.create_dataset(key, data=value[0], **value[1])
            else:
                f[key] = value
    return path


def named_map(name, **extra):
    d, t = arrays()
    return write(name, delta_g_obs=d, templates=t, attr_template_names=["stars", "dust"],
                 attr_injected_a=[0.01, -0.02], **extra)


def le(data, at, n):
    return int.from_bytes(data[at:at + n], "little")


def patched(src, name, edits):
    """A copy of src with edits [(offset, bytes)] applied."""
    data = bytearray(open(src, "rb").read())
    for at, value in edits:
        data[at:at + len(value)] = value
    dst = path_of(name)
    with open(dst, "wb") as f:
        f.write(data)
    return dst


def attribute(data, name):
    """Offsets of a version 1 attribute message of the root group: its
    start, datatype, dataspace and data."""
    p = data.find(name.encode() + b"\0")
    start = p - 8
    assert p > 8 and data[start] == 1, f"no version 1 attribute {name}"
    pad = lambda n: (n + 7) // 8 * 8
    dt = p + pad(le(data, start + 2, 2))
    ds = dt + pad(le(data, start + 4, 2))
    return start, dt, ds, ds + pad(le(data, start + 6, 2))


def heap_objects(data):
    """The global heap collection: its offset and {index: (offset, size)}."""
    g = data.find(b"GCOL")
    objects, p, end = {}, g + 16, g + le(data, g + 8, 8)
    while p + 16 <= end:
        idx, size = le(data, p, 2), le(data, p + 8, 8)
        if idx == 0:
            break
        objects[idx] = (p, size)
        p += 16 + (size + 7) // 8 * 8
    return g, objects


def root_messages(data):
    """(type, offset of the data) of each message of the root object header
    and of its continuation chunks (version 1 headers, as h5py writes)."""
    out, chunks = [], [(le(data, 64, 8) + 16, le(data, le(data, 64, 8) + 8, 4))]
    while chunks:
        p, n = chunks.pop(0)
        end = p + n
        while p + 8 <= end:
            kind, size = le(data, p, 2), le(data, p + 2, 2)
            out.append((kind, p + 8))
            if kind == 0x10:
                chunks.append((le(data, p + 8, 8), le(data, p + 16, 8)))
            p += 8 + size
    return out


def part_regressions():
    base = os.path.join(SOURCE, "tests", "regressions", "hdf5")
    cases = {
        "fz-crash-crash-13ee4c43.h5":
            "attribute 'template_names': datatype (20 bytes) and dataspace (2328 bytes) "
            "overrun its message (104 bytes)",
        "fz-crash-oom-366d078a57.h5":
            "object header chunk of 8589934824 bytes at address 4096 lies outside the file "
            "(10240 bytes)",
        "fz-crash-timeout-32afc9.h5":
            "global heap collection at 6144: object 0 at offset 88 has size 0",
        "fz-crash-timeout-332ef4.h5":
            "global heap collection at 6144: object 0 at offset 16 has size 0",
        "fz-crash-timeout-f61b59.h5":
            "global heap collection at 6144: object 0 at offset 168 has size 0",
        "fz-oom-vlen-44dc00bd.h5":
            "attribute 'template_names': variable-length string of 4294967295-byte characters",
    }
    for name, message in sorted(cases.items()):
        expect(name, [os.path.join(base, name)], message)
    header = path_of("nside29.fits")
    subprocess.run([sys.executable, os.path.join(SOURCE, "tests", "regressions", "fits",
                                                 "make_nside29_header.py"), header], check=True)
    templates = os.path.join(SOURCE, "data", "healpix", "templates.fits")
    expect("nside29", ["--map", header, "--templates", templates],
           "NSIDE 536870912 (12 x NSIDE^2 = 3458764513820540928 pixels, 2 columns): map values: "
           "6917529027641081856 x 8 overflows the size range")


def part_special():
    fifo, folder = path_of("input.fifo"), path_of("input-dir")
    for p in (fifo, folder):
        if os.path.lexists(p):
            os.rmdir(p) if os.path.isdir(p) else os.remove(p)
    os.mkfifo(fifo)
    os.mkdir(folder)
    good = named_map("good.h5")
    fits_ok = os.path.join(SOURCE, "data", "healpix", "galaxy_counts.fits")
    templates = os.path.join(SOURCE, "data", "healpix", "templates.fits")
    kinds = [(fifo, "a FIFO (named pipe)"), (folder, "a directory"),
             ("/dev/null", "a character device")]
    for target, kind in kinds:
        tag = os.path.basename(target)
        expect(f"hdf5-{tag}", [target], f"HDF5 input {target} is {kind}, not a regular file")
        expect(f"init-{tag}", [good, "--init", target],
               f"initial walkers file {target} is {kind}, not a regular file")
        for option, args in (("map", ["--map", target, "--templates", templates]),
                             ("templates", ["--map", fits_ok, "--templates", target]),
                             ("mask", ["--map", fits_ok, "--templates", templates,
                                       "--mask", target])):
            expect(f"{option}-{tag}", args, f"HEALPix map {target} is {kind}, not a regular file")


def part_values():
    d, t = arrays()
    big = d.copy()
    big[17] = 1e300
    expect("delta-1e300", [write("delta-1e300.h5", delta_g_obs=big, templates=t)],
           "delta_g_obs: value 1e+300 at pixel 17 is beyond +-1e+100, where squares of values "
           "overflow")
    big_t = t.copy()
    big_t[1, 3] = -1e300
    expect("template-1e300", [write("template-1e300.h5", delta_g_obs=d, templates=big_t)],
           "templates: value -1e+300 at template 1, pixel 3 is beyond +-1e+100")
    zero = t.copy()
    zero[1] = 0.0
    same = t.copy()
    same[1] = same[0]
    for basis in ("rotated", "original"):
        expect(f"zero-template-{basis}",
               [write("zero.h5", delta_g_obs=d, templates=zero), "--basis", basis],
               "template 2 ('t_2') is constant over the used pixels: it cannot be "
               "standardised, and its multiplicative term only rescales sigma")
        expect(f"identical-templates-{basis}",
               [write("same.h5", delta_g_obs=d, templates=same), "--basis", basis],
               "templates are (nearly) collinear")
    with h5py.File(path_of("unstored.h5"), "w") as f:
        f["delta_g_obs"] = d
        f.create_dataset("templates", shape=(S, N), dtype="f8")
    expect("unstored", [path_of("unstored.h5")],
           "templates: 40 values need 320 bytes, but the file stores 0 bytes of them")
    # h5py stores a chunk LZF cannot shrink unfiltered: repeat values so it can.
    lzf = write("lzf.h5", delta_g_obs=d,
                templates=(np.repeat(t[:, :5], 4, axis=1), {"compression": "lzf"}))
    expect("lzf", [lzf],
           "dataset 'templates' uses filter LZF (id 32000), which this HDF5 library lacks")


def part_guard():
    src = named_map("named.h5")
    data = open(src, "rb").read()
    start, dt, ds, values = attribute(data, "template_names")
    g, objects = heap_objects(data)
    idx = le(data, values + 12, 4)
    at, size = objects[idx]
    expect("heap-object-size", [patched(src, "heap-size.h5", [(at + 8, struct.pack("<Q", size - 1))])],
           f"attribute 'template_names': variable-length element 0: heap object {idx} at {g} is "
           f"missing or not {size} x 1 bytes")
    expect("heap-missing-object",
           [patched(src, "heap-index.h5", [(values + 12, struct.pack("<I", 9))])],
           f"variable-length element 0: heap object 9 at {g} is missing")
    root = le(data, 64, 8)
    expect("heap-address",
           [patched(src, "heap-address.h5", [(values + 4, struct.pack("<Q", root))])],
           f"no global heap collection at address {root}")
    length = le(data, values, 4)
    expect("heap-null-address",
           [patched(src, "heap-null.h5", [(values + 4, struct.pack("<Q", 0))])],
           f"attribute 'template_names': variable-length element 0: length {length} without a "
           f"heap object")
    expect("vlen-string-wide-characters",
           [patched(src, "vlen-wide.h5", [(dt + 12, struct.pack("<I", 0xFFFFFFFF))])],
           "attribute 'template_names': variable-length string of 4294967295-byte characters")
    expect("heap-too-small", [patched(src, "heap-small.h5", [(g + 8, struct.pack("<Q", 8))])],
           f"global heap collection at {g}: size 8 is smaller than its header")
    expect("heap-free-space-zero",
           [patched(src, "heap-free.h5",
                    [(at, struct.pack("<H", 0)), (at + 8, struct.pack("<Q", 0))])],
           f"global heap collection at {g}: object 0 at offset {at - g} has size 0")

    start, dt, ds, values = attribute(data, "injected_a")
    expect("attribute-name", [patched(src, "attr-name.h5", [(start + 2, struct.pack("<H", 255))])],
           "attribute name of 255 bytes overruns its message")
    expect("attribute-datatype",
           [patched(src, "attr-dt.h5", [(start + 4, struct.pack("<H", 12))])],
           "attribute 'injected_a': datatype (class 1) needs 20 bytes, the message has 12")
    expect("attribute-rank", [patched(src, "attr-rank.h5", [(ds + 1, b"\x09")])],
           "attribute 'injected_a': dataspace of rank 9 needs 152 bytes, the message has 24")
    expect("attribute-values", [patched(src, "attr-dims.h5", [(ds + 8, struct.pack("<Q", 9))])],
           "attribute 'injected_a': 9 values of 8 bytes overrun its message")

    expect("attribute-dims-overflow",
           [patched(src, "attr-dims-overflow.h5",
                    [(ds + 1, b"\x02\x00"), (ds + 8, struct.pack("<QQ", 1 << 40, 1 << 40))])],
           "attribute 'injected_a': dataspace dimensions overflow")
    expect("attribute-datatype-truncated",
           [patched(src, "attr-dt-short.h5", [(start + 4, struct.pack("<H", 4))])],
           "attribute 'injected_a': datatype of 4 bytes is truncated")
    expect("attribute-message-truncated",
           [patched(src, "attr-short.h5", [(start - 6, struct.pack("<H", 8))])],
           "attribute message of 8 bytes is truncated")
    first = root_messages(data)[0][1]
    expect("message-overruns-chunk",
           [patched(src, "message-long.h5", [(first - 6, struct.pack("<H", 0xfff0))])],
           "message (type 16, 65520 bytes) overruns its chunk")

    cont = [p for kind, p in root_messages(data) if kind == 0x10][0]
    expect("continuation-empty",
           [patched(src, "cont-empty.h5", [(cont + 8, struct.pack("<Q", 0))])],
           "continuation chunk of 0 bytes at")
    expect("superblock-sizes", [patched(src, "superblock.h5", [(13, b"\x03")])],
           "superblock: offsets of 3 and lengths of 8 bytes are not supported")
    heap = data.find(b"HEAP")
    expect("local-heap", [patched(src, "local-heap.h5", [(heap + 8, struct.pack("<Q", 1 << 40))])],
           "local heap data of 1099511627776 bytes at")

    d, t = arrays()
    with h5py.File(path_of("layouts.h5"), "w") as f:
        f["delta_g_obs"] = d
        f.create_dataset("templates", data=t, chunks=(1, 5))
        offset = f["delta_g_obs"].id.get_offset()
        f.attrs["flag"] = True
        f.attrs["pair"] = np.array([(1.5,)], dtype=[("alpha", "<f8")])[0]
    src = path_of("layouts.h5")
    data = open(src, "rb").read()
    at = data.find(b"\x03\x01" + struct.pack("<QQ", offset, N * 8))
    expect("contiguous-outside",
           [patched(src, "contiguous.h5", [(at + 2, struct.pack("<Q", 1 << 40))])],
           f"dataset storage of {N * 8} bytes at 1099511627776 lies outside the file")
    at = re.search(rb"\x03\x02\x03.{8}" + struct.pack("<III", 1, 5, 8), data, re.S).start()
    expect("chunk-size", [patched(src, "chunk.h5", [(at + 15, struct.pack("<I", 1 << 30))])],
           "chunks of 8589934592 bytes exceed HDF5's limit of 4 GiB")
    expect("chunk-larger-than-data",
           [patched(src, "chunk-large.h5", [(at + 15, struct.pack("<I", 1 << 25))])],
           "chunks of 268435456 bytes for 320 bytes of values: a damaged layout")
    tree = data.find(b"TREE\x01\x00")  # the chunk index of templates, one leaf
    expect("chunk-stored-size",
           [patched(src, "chunk-stored.h5", [(tree + 24, struct.pack("<I", 0xFFFFFF78))])],
           "chunk 0 of 4294967160 bytes at")
    expect("chunk-index-entries",
           [patched(src, "chunk-index.h5", [(tree + 6, struct.pack("<H", 60000))])],
           "60000 entries overrun its")
    start, dt, ds, values = attribute(data, "flag")
    expect("enum-size", [patched(src, "enum.h5", [(dt + 4, struct.pack("<I", 2))])],
           "enum of 2 bytes over a base type of 1 bytes")
    start, dt, ds, values = attribute(data, "pair")
    expect("compound-members", [patched(src, "compound.h5", [(dt + 1, struct.pack("<H", 200))])],
           "overruns the message")
    expect("compound-offset", [patched(src, "compound-at.h5", [(dt + 16, struct.pack("<I", 4))])],
           "compound member 0 (8 bytes at 4) lies outside its 8 bytes")

    compact = path_of("compact.h5")
    with h5py.File(compact, "w") as f:
        for name, v in (("delta_g_obs", d), ("templates", t)):
            dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
            dcpl.set_layout(h5py.h5d.COMPACT)
            space = h5py.h5s.create_simple(v.shape)
            h5py.h5d.create(f.id, name.encode(), h5py.h5t.IEEE_F64LE, space,
                            dcpl=dcpl).write(h5py.h5s.ALL, h5py.h5s.ALL, np.ascontiguousarray(v))
    data = open(compact, "rb").read()
    at = data.find(np.ascontiguousarray(d).tobytes())
    assert data[at - 4:at] == b"\x03\x00" + struct.pack("<H", N * 8)
    expect("compact-size", [patched(compact, "compact-bad.h5", [(at - 2, b"\xff\xff")])],
           "compact dataset: its data overrun the layout message")


def fits_table(name, header, columns):
    hdu = fits.BinTableHDU.from_columns(columns)
    for key, value in header.items():
        hdu.header[key] = value
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path_of(name), overwrite=True)
    return path_of(name)


def part_fits():
    ring = {"PIXTYPE": "HEALPIX", "ORDERING": "RING", "INDXSCHM": "IMPLICIT"}
    x = np.sin(np.arange(768.0))
    good = fits_table("map8.fits", dict(ring, NSIDE=8), [fits.Column("D", "D", array=0.1 * x)])
    tmpl = fits_table("tmpl8.fits", dict(ring, NSIDE=8),
                      [fits.Column("T1", "D", array=np.cos(np.arange(768.0))),
                       fits.Column("T2", "D", array=x ** 2)])
    half = fits_table("nside8.5.fits", dict(ring, NSIDE=8.5),
                      [fits.Column("D", "D", array=0.1 * x)])
    expect("nside-8.5", ["--map", half, "--templates", tmpl], "NSIDE 8.5 is not an integer")
    huge = np.cos(np.arange(768.0))
    huge[99] = 1e300
    bad = fits_table("huge8.fits", dict(ring, NSIDE=8), [fits.Column("T", "D", array=huge)])
    expect("template-1e300", ["--map", good, "--templates", bad],
           "value 1e+300 at pixel 99 of column 'T' is beyond +-1e+100")
    # A header promising NSIDE 1024 (100 MB of doubles) in one block of data.
    cards = ["XTENSION= 'BINTABLE'", "BITPIX  =                    8",
             "NAXIS   =                    2", "NAXIS1  =                    8",
             "NAXIS2  =             12582912", "PCOUNT  =                    0",
             "GCOUNT  =                    1", "TFIELDS =                    1",
             "TTYPE1  = 'D       '", "TFORM1  = 'D       '", "PIXTYPE = 'HEALPIX '",
             "ORDERING= 'RING    '", "NSIDE   =                 1024", "END"]
    block = lambda lines: "".join(c.ljust(80) for c in lines).ljust(2880).encode()
    primary = block(["SIMPLE  =                    T", "BITPIX  =                    8",
                     "NAXIS   =                    0", "END"])
    with open(path_of("short1024.fits"), "wb") as f:
        f.write(primary + block(cards) + b"\0" * 2880)
    expect("truncated-table", ["--map", path_of("short1024.fits"), "--templates", tmpl],
           "the table's header (NSIDE 1024) promises 100664640 bytes of data, but the file "
           "holds 2880")


def main():
    os.makedirs(SCRATCH, exist_ok=True)
    parts = {"regressions": part_regressions, "special": part_special, "values": part_values,
             "guard": part_guard, "fits": part_fits}
    parts[PART]()


if __name__ == "__main__":
    main()
