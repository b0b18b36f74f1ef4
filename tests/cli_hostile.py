"""Hostile conditions on `sysmap run`'s outputs and runs: no crash, no data
loss reported as success, no silent corruption. One part per ctest:

  sizes    counts that overflow or exceed the machine's memory (run, bench,
           the Python binding) and signed or spaced numbers: clear errors
           naming the quantity, before any work
  outputs  an output that is an input (also through symbolic and hard
           links, --maps-out against --map), an output that cannot be
           written (-o DIR, -o "", a missing or read-only folder), checked
           before any work; a second run on the same -o while one writes it
           fails at once, and a SIGKILLed run's file resumes; emcee reads a
           partial file; a flipped bit in the resume state or the chain
  disk     a full disk (a small tmpfs, when this user may mount one) and a
           write that fails at every point of a run (faultshim): exit 1, no
           file left, no crash; in a resumed run the partial file stays and
           resumes to the uninterrupted chain
  crash    a kill at every write of the run file, before the write and in
           the middle of it: the file resumes to the uninterrupted chain, bit
           for bit
  start    every initial walker at zero probability (--sigma-min above the
           map's spread, a constant map, --init below sigma_min): an error
           naming the cause; some of them: a warning with the count
  alloc    the k-th allocation of sysmap's own code fails, for every k of a
           small run (fresh and resumed): exit 1 with a message and no file
           left (or, where the failure is absorbed, the right result); under
           the sanitizers, no leak

faultshim.c (preloaded) injects the write, kill and allocation faults.

usage: cli_hostile.py SYSMAP_EXE FAULTSHIM SCRATCH_DIR PART
"""
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

EXE, SHIM, SCRATCH, PART = sys.argv[1:5]
BIG = "2305843009213693952"  # 2^61: x 8 bytes wraps a 64-bit size to 0
TINY = ["--quiet", "--backend", "reference", "--model", "additive", "--walkers", "6",
        "--steps", "12", "--burn", "4", "--flush-every", "4", "--seed", "5"]
COMPARED = ("mcmc/chain", "mcmc/log_prob", "mcmc/accepted", "sysmap/median", "sysmap/cov_a",
            "sysmap/acceptance_fraction", "sysmap/autocorr_time", "sysmap/drift",
            "sysmap/warnings")


def path(*names):
    return os.path.join(SCRATCH, *names)


def env_for(**faults):
    """The environment of a sysmap run: without the preloads the test runner
    may carry, with faultshim and its settings when faults are given."""
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS")}
    # a sanitizer's finding (a leak too) exits 23, never like sysmap's own 1
    env["ASAN_OPTIONS"] = "exitcode=23"
    if faults:
        env["LD_PRELOAD"] = SHIM
        # the shim comes before the sanitizer's runtime, which must be told
        env["ASAN_OPTIONS"] += ":verify_asan_link_order=0"
        env.update({k: str(v) for k, v in faults.items()})
    return env


def sysmap(*args, env=None, timeout=600):
    proc = subprocess.run([EXE, *args], capture_output=True, text=True, env=env or env_for(),
                          timeout=timeout)
    assert "Sanitizer" not in proc.stderr, proc.stderr
    return proc


def files_of(out):
    """What exists of a run file and its partial and temporary files."""
    return [p for p in (out, out + ".partial", out + ".partial.tmp") if os.path.exists(p)]


def remove(out):
    for p in files_of(out):
        os.remove(p)


def expect(label, proc, status, *messages, left=(), out=None):
    assert proc.returncode == status, \
        f"{label}: exit status {proc.returncode}, expected {status}; stderr: {proc.stderr}"
    for m in messages:
        assert m in proc.stderr, f"{label}: {m!r} not in stderr: {proc.stderr!r}"
    if out is not None:
        assert files_of(out) == [out + s for s in left], \
            f"{label}: files {files_of(out)}, expected {[out + s for s in left]}"
    print(f"ok  {label}: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ''}"
          [:300])


def write_map(name, n=400, s=1, seed=3, constant=None):
    rs = np.random.RandomState(seed)
    t = rs.normal(size=(s, n))
    d = 0.1 * rs.normal(size=n) + 0.02 * t[0] if constant is None else np.full(n, constant)
    p = path(name)
    with h5py.File(p, "w") as f:
        f["delta_g_obs"] = d
        f["templates"] = t
    return p


def read(p):
    with h5py.File(p, "r") as f:
        return {k: f[k][...] for k in COMPARED}


def same(label, got_path, ref):
    got = read(got_path)
    for k, want in ref.items():
        assert np.array_equal(got[k], want, equal_nan=want.dtype.kind == "f"), \
            f"{label}: {k} differs from the uninterrupted run"


def count(args, **faults):
    """Writes to the run file and allocations of sysmap's code in one run."""
    report = path("report.txt")
    proc = sysmap(*args, env=env_for(SM_FAULT_REPORT=report, **faults))
    assert proc.returncode == 0, proc.stderr
    words = open(report).read().split()
    return int(words[1]), int(words[3])


def digest_of(values):
    """sysmap's checksum of float64 values (lib/io/chainfile.c)."""
    h, mask = 0xcbf29ce484222325, (1 << 64) - 1
    for w in np.ascontiguousarray(values, dtype="<f8").view("<u8").ravel():
        h = ((h ^ int(w)) * 0x100000001b3) & mask
    return h


def committed_slot(f):
    return int(f["sysmap/resume_slot"][0])


# ---- sizes ----

def part_sizes():
    inp = write_map("in.h5")
    out = path("out.h5")
    for label, args, what in (
            ("--steps 2^61", ["--steps", BIG], f"{BIG} steps"),
            ("--walkers 2^61", ["--walkers", BIG], f"{BIG} walkers"),
            ("--steps x --walkers overflow", ["--steps", "4294967296", "--walkers",
                                               "4294967296"], "overflows")):
        expect(label, sysmap("run", inp, "-o", out, *args), 1, what, "overflows", out=out)
    expect("--steps beyond memory", sysmap("run", inp, "-o", out, "--steps", "100000000000"), 1,
           "100000000000 steps", "more than this machine's", out=out)
    for bad in (" -2", "-2", "+5", " 5", "1e3", "", "18446744073709551616"):
        expect(f"--walkers {bad!r}", sysmap("run", inp, "-o", out, "--walkers", bad), 2,
               "--walkers expects a non-negative integer (digits only", out=out)
    expect("bench --walkers 2^61", sysmap("bench", "--walkers", BIG, "--backends", "reference"),
           1, f"{BIG} walkers", "overflows")
    expect("bench --pixels beyond memory",
           sysmap("bench", "--pixels", "100000000000", "--backends", "reference"), 1,
           "100000000000 pixels", "more than this machine's")
    for bad in (" -2", "8,", "8,,8", ""):
        expect(f"bench --walkers {bad!r}", sysmap("bench", "--walkers", bad), 2,
               "positive integers (digits only)")
    expect("bench --repeats 2^61", sysmap("bench", "--repeats", BIG), 2, "--repeats", "overflows")
    # The Python binding: the library's check raises; the interpreter lives on.
    code = ("import numpy as np, sysmap\n"
            "rs = np.random.RandomState(1)\n"
            "d, t = rs.normal(0, 0.1, 300), rs.normal(size=(1, 300))\n"
            "for kw in ({'n_steps': 2**61}, {'n_walkers': 2**61}):\n"
            "    try:\n"
            "        sysmap.run_mcmc(1, model='additive', delta_g_obs=d, delta_t=t,\n"
            "                        progress=False, **kw)\n"
            "    except sysmap.SysmapError as e:\n"
            "        print('refused:', e)\n"
            "print('alive')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.count("refused:") == 2 and \
        f"{BIG} steps" in proc.stdout and f"{BIG} walkers" in proc.stdout and \
        "alive" in proc.stdout, (proc.returncode, proc.stdout, proc.stderr)
    print(f"ok  run_mcmc(n_steps=2**61): {proc.stdout.splitlines()[0][:160]}")


# ---- outputs ----

def md5(p):
    return hashlib.md5(open(p, "rb").read()).hexdigest()


def healpix_inputs():
    import healpy as hp
    npix = hp.nside2npix(4)
    rs = np.random.RandomState(2)
    t = rs.normal(size=(1, npix))
    d = rs.normal(0, 0.1, npix) + 0.02 * t[0]
    hp.write_map(path("map.fits"), d, overwrite=True, dtype=np.float64)
    hp.write_map(path("t.fits"), t, overwrite=True, dtype=np.float64, column_names=["A"])
    return ["--map", path("map.fits"), "--templates", path("t.fits")]


def try_mount(folder, options):
    os.makedirs(folder, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", folder],
                          capture_output=True)
    return proc.returncode == 0


def unmount(folder):
    subprocess.run(["umount", folder], capture_output=True)


def iteration(partial):
    try:
        with h5py.File(partial, "r") as f:
            return int(f["mcmc"].attrs["iteration"])
    except (OSError, KeyError):
        return 0


def part_outputs():
    inp = write_map("in.h5")
    before = md5(inp)
    os.symlink("in.h5", path("link.h5"))
    os.link(inp, path("hard.h5"))
    hpx = healpix_inputs()
    os.symlink("map.fits", path("map-link.fits"))
    p0 = path("p0.h5")
    for label, args, message in (
            ("-o the input", [inp, "-o", inp], "-o " + inp + " is the input"),
            ("-o a symbolic link to the input", [inp, "-o", path("link.h5")], "is the input"),
            ("-o a hard link to the input", [path("link.h5"), "-o", path("hard.h5")],
             "is the input"),
            ("-o the --init file", [inp, "-o", p0, "--init", p0], "is the input"),
            ("--maps-out the input", [inp, "-o", path("o.h5"), "--maps-out", inp],
             "--maps-out " + inp + " is the input"),
            ("--maps-out -o", [inp, "-o", path("o.h5"), "--maps-out", path("o.h5")],
             "is the file of -o"),
            ("--maps-out --map", [*hpx, "-o", path("o.h5"), "--maps-out", path("map.fits")],
             "is the input"),
            ("--maps-out a link to --map", [*hpx, "-o", path("o.h5"), "--maps-out",
                                            path("map-link.fits")], "is the input")):
        expect(label, sysmap("run", *args, *TINY), 2, message, "the run would overwrite it")
    assert md5(inp) == before and os.path.exists(path("map.fits"))
    assert not files_of(path("o.h5"))

    os.makedirs(path("folder"), exist_ok=True)
    expect('-o ""', sysmap("run", inp, "-o", "", *TINY), 2, "the output path is empty")
    expect("-o DIR", sysmap("run", inp, "-o", path("folder"), *TINY), 1,
           "is a directory; name a file in it")
    missing = path("missing", "out.h5")
    expect("-o in a missing folder", sysmap("run", inp, "-o", missing, *TINY), 1,
           "the folder " + path("missing"), "No such file or directory")
    # before any work: the default run (1500 steps of the example map) would
    # take far longer than this
    t0 = time.time()
    proc = sysmap("run", "-o", missing, "--quiet")
    expect("-o checked before the run", proc, 1, "No such file or directory")
    assert time.time() - t0 < 20, f"the check took {time.time() - t0:.1f} s"
    ro = path("readonly")
    if try_mount(ro, "ro,size=64k"):
        try:
            expect("-o in a read-only folder", sysmap("run", inp, "-o", os.path.join(ro, "x.h5"),
                                                      *TINY), 1, "is not writable",
                   "Read-only file system")
        finally:
            unmount(ro)
    elif os.geteuid() != 0:
        os.chmod(ro, 0o555)
        expect("-o in a read-only folder", sysmap("run", inp, "-o", os.path.join(ro, "x.h5"),
                                                  *TINY), 1, "is not writable")
    else:
        print("skip read-only folder: cannot mount a tmpfs here")

    concurrent_runs()


def concurrent_runs():
    big = write_map("big.h5", n=20000, s=2)
    args = ["--quiet", "--backend", "reference", "--walkers", "16", "--steps", "1500",
            "--burn", "100", "--flush-every", "20", "--seed", "3"]
    ref, out = path("ref.h5"), path("c.h5")
    assert sysmap("run", big, "-o", ref, *args).returncode == 0
    remove(out)
    first = subprocess.Popen([EXE, "run", big, "-o", out, *args], env=env_for(),
                             stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while iteration(out + ".partial") < 40:
        assert first.poll() is None, "the first run ended too soon: " + first.stderr.read()
        assert time.time() < deadline
        time.sleep(0.02)
    for label, extra in (("a second run", []), ("a resume", ["--resume"])):
        t0 = time.time()
        proc = sysmap("run", big, "-o", out, *args, *extra)
        expect(f"{label} while a run writes -o", proc, 1, f"another run is writing {out}")
        assert time.time() - t0 < 20, f"{label}: refused after {time.time() - t0:.1f} s"
    assert first.poll() is None, "the first run stopped"
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=60)
    done = iteration(out + ".partial")
    assert 40 <= done < 1500, done

    # emcee reads the killed run's file: its complete steps
    import emcee
    backend = emcee.backends.HDFBackend(out + ".partial", read_only=True)
    assert backend.get_chain().shape == (done, 16, 5), backend.get_chain().shape
    print(f"ok  emcee reads the partial file of a killed run: {done} steps")

    corrupted(big, out, args)
    proc = sysmap("run", big, "-o", out, *args, "--resume")
    expect("a resume after SIGKILL (the lock died with the run)", proc, 0, out=out, left=[""])
    same("SIGKILL, then --resume", out, read(ref))
    print(f"ok  resumed after step {done}: equal to the uninterrupted run")


def corrupted(inp, out, args):
    """Copies of the killed run's partial file, each damaged once: every
    resume is refused, naming what is damaged, and leaves the copy alone."""
    def damaged(label, change, *messages):
        copy = path("bad.h5")
        shutil.copy(out + ".partial", copy + ".partial")
        with h5py.File(copy + ".partial", "r+") as f:
            change(f)
        before = md5(copy + ".partial")
        expect(f"resume refuses {label}", sysmap("run", inp, "-o", copy, *args, "--resume"), 1,
               *messages, out=copy, left=[".partial"])
        assert md5(copy + ".partial") == before, f"{label}: a refused resume changed the file"

    def flip(name, index):
        def change(f):
            d = f[name]
            v = d[...]
            bits = v.view(np.uint64 if v.dtype.itemsize == 8 else np.uint8).reshape(-1)
            bits[index] ^= np.array(1 << 17 if v.dtype.itemsize == 8 else 4, bits.dtype)
            d[...] = v
        return change

    def flip_slot(name):
        def change(f):
            d = f[name]
            v = d[...]
            v[committed_slot(f)].reshape(-1).view(np.uint64)[3] ^= np.uint64(1)
            d[...] = v
        return change

    def walkers_not_the_chain(f):
        # a consistent slot (checksum updated) whose walkers are another step's
        slot = committed_slot(f)
        coords = f["sysmap/resume_coords"][...]
        coords[slot] *= 1.5
        f["sysmap/resume_coords"][...] = coords
        digest = f["sysmap/resume_digest"][...]
        digest[slot, 0] = digest_of(coords[slot])
        f["sysmap/resume_digest"][...] = digest

    damaged("one flipped bit in sysmap/resume_coords", flip_slot("sysmap/resume_coords"),
            "sysmap/resume_coords does not match its checksum")
    damaged("one flipped bit in sysmap/resume_accepted", flip_slot("sysmap/resume_accepted"),
            "sysmap/resume_accepted does not match its checksum")
    damaged("one flipped bit in mcmc/chain", flip("mcmc/chain", 5),
            "mcmc/chain does not match its checksum")
    damaged("one flipped bit in mcmc/log_prob", flip("mcmc/log_prob", 7),
            "mcmc/log_prob does not match its checksum")
    damaged("one flipped bit in sysmap/resume_digest", flip_slot("sysmap/resume_digest"),
            "does not match its checksum")
    damaged("a bad sysmap/resume_slot", lambda f: f["sysmap/resume_slot"].write_direct(
        np.array([7], np.uint8)), "sysmap/resume_slot holds 7")
    damaged("walkers that are not the chain's last step", walkers_not_the_chain,
            "sysmap/resume_coords are not the walkers of mcmc/chain's step")


# ---- disk ----

def part_disk():
    inp = write_map("in.h5")
    args = [inp, *TINY]
    fs = path("fs")
    if try_mount(fs, "size=1m"):
        try:
            out = os.path.join(fs, "out.h5")
            big = ["--steps", "5000", "--walkers", "64", "--burn", "100"]
            expect("a full tmpfs: the file does not fit",
                   sysmap("run", inp, "-o", out, *TINY, *big), 1, "needs about",
                   "MB free", out=out)
            filler = os.path.join(fs, "filler")
            with open(filler, "wb") as f:
                f.write(b"\0" * 800 * 1024)
            expect("a tmpfs filled by another file", sysmap("run", *args, "-o", out), 1,
                   "MB free", out=out)
            os.remove(filler)
            expect("the same run once there is room", sysmap("run", *args, "-o", out), 0,
                   out=out, left=[""])
        finally:
            unmount(fs)
    else:
        print("skip tmpfs: cannot mount one here (faultshim covers a full disk below)")

    ref, out = path("ref.h5"), path("d.h5")
    writes, _ = count(["run", *args, "-o", ref])
    ref_data = read(ref)
    for k in range(1, writes + 1):
        remove(out)
        proc = sysmap("run", *args, "-o", out, env=env_for(SM_FAULT_FAIL_WRITE=k))
        assert proc.returncode == 1, f"write {k} fails: exit {proc.returncode}: {proc.stderr}"
        assert "No space left on device" in proc.stderr, proc.stderr
        assert not files_of(out), f"write {k} fails: {files_of(out)} left"
    print(f"ok  each of the {writes} writes of a run fails (ENOSPC from then on): exit 1, "
          "no file left, no crash")

    # HEALPix maps go into the finished run file (a copy, renamed when
    # complete) through the same fail-safe driver: a full disk there is exit
    # 1 with the run file intact, no temporary file, no crash at exit.
    hpx = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "healpix")
    hp_args = ["--map", os.path.join(hpx, "galaxy_counts.fits"), "--counts", "--templates",
               os.path.join(hpx, "templates.fits"), "--mask",
               os.path.join(hpx, "completeness.fits"), "--standardize", "--quiet", "--backend",
               "reference", "--walkers", "24", "--steps", "8", "--burn", "2"]
    hp_out = path("hp.h5")
    remove(hp_out)
    maps_writes, _ = count(["run", *hp_args, "-o", hp_out], SM_FAULT_FILES="hp.h5.tmp")
    assert maps_writes > 0, "no write of the maps counted"
    for k in range(1, maps_writes + 1):
        remove(hp_out)
        proc = sysmap("run", *hp_args, "-o", hp_out,
                      env=env_for(SM_FAULT_FILES="hp.h5.tmp", SM_FAULT_FAIL_WRITE=k))
        assert proc.returncode == 1, f"maps write {k} fails: exit {proc.returncode}: {proc.stderr}"
        assert "writing maps to" in proc.stderr and "No space left on device" in proc.stderr
        assert files_of(hp_out) == [hp_out] and not os.path.exists(hp_out + ".tmp")
    print(f"ok  each of the {maps_writes} writes of the HEALPix maps fails (ENOSPC): exit 1, "
          "the run file kept, no temporary file, no crash")

    # A resumed run that fails keeps its partial file, which still resumes.
    remove(out)
    proc = sysmap("run", *args, "-o", out, env=env_for(SM_FAULT_KILL_WRITE=writes // 2))
    assert proc.returncode == 137 and files_of(out) == [out + ".partial"], proc
    partial = out + ".partial"
    saved = path("saved.partial")
    shutil.copy(partial, saved)
    shutil.copy(saved, path("count.h5.partial"))
    resume_writes, _ = count(["run", *args, "-o", path("count.h5"), "--resume"])
    for k in range(1, resume_writes + 1):
        shutil.copy(saved, partial)
        proc = sysmap("run", *args, "-o", out, "--resume", env=env_for(SM_FAULT_FAIL_WRITE=k))
        assert proc.returncode == 1 and "No space left on device" in proc.stderr, \
            f"resume, write {k} fails: exit {proc.returncode}: {proc.stderr}"
        assert files_of(out) == [partial], f"resume, write {k}: {files_of(out)}"
        proc = sysmap("run", *args, "-o", out, "--resume")
        assert proc.returncode == 0, f"resume after write {k} failed: {proc.stderr}"
        same(f"resume after a failed write {k}", out, ref_data)
        remove(out)
    print(f"ok  each of the {resume_writes} writes of a resumed run fails: exit 1, the partial "
          "file stays and resumes to the uninterrupted chain")


# ---- crash ----

def part_crash():
    inp = write_map("in.h5")
    args = [inp, *TINY]
    ref, out = path("ref.h5"), path("k.h5")
    writes, _ = count(["run", *args, "-o", ref])
    ref_data = read(ref)
    for torn in (False, True):
        for k in range(1, writes + 1):
            remove(out)
            faults = {"SM_FAULT_KILL_WRITE": k}
            if torn:
                faults["SM_FAULT_TORN"] = 1
            proc = sysmap("run", *args, "-o", out, env=env_for(**faults))
            assert proc.returncode == 137, f"kill at write {k}: exit {proc.returncode}"
            assert files_of(out)[:1] == [out + ".partial"], f"kill at {k}: {files_of(out)}"
            proc = sysmap("run", *args, "-o", out, "--resume")
            assert proc.returncode == 0, f"resume after a kill at write {k}: {proc.stderr}"
            assert files_of(out) == [out], f"after the resume of {k}: {files_of(out)}"
            same(f"kill at write {k}{' (torn)' if torn else ''}", out, ref_data)
        print(f"ok  a kill {'in the middle of' if torn else 'before'} each of the {writes} "
              "writes of a run: --resume gives the uninterrupted chain, bit for bit")


# ---- start ----

def part_start():
    inp = write_map("in.h5", s=5)
    out = path("z.h5")
    common = ["--quiet", "--backend", "reference", "--steps", "20", "--burn", "5"]
    expect("--sigma-min above the map's spread",
           sysmap("run", inp, "-o", out, *common, "--sigma-min", "10"), 1,
           "every initial walker has zero probability", "sigma_min = 10",
           "the map's standard deviation", out=out)
    const = write_map("const.h5", s=2, constant=0.25)
    expect("a constant map", sysmap("run", const, "-o", out, *common), 1,
           "the map is constant (standard deviation 0 over its 400 used pixels)", out=out)
    rs = np.random.RandomState(1)
    p0 = rs.normal(0, 0.05, (22, 11))
    p0[:, 10] = np.linspace(0.001, 0.002, 22)
    with h5py.File(path("low.h5"), "w") as f:
        f["p0"] = p0
    expect("--init below sigma_min",
           sysmap("run", inp, "-o", out, *common, "--walkers", "22", "--init", path("low.h5"),
                  "--sigma-min", "0.01"), 1,
           "their given sigma (at most 0.002) is not above sigma_min = 0.01", out=out)
    p0[:, 10] = 0.1 + 0.01 * np.abs(rs.normal(size=22))
    p0[:5, 10] = -0.1
    with h5py.File(path("some.h5"), "w") as f:
        f["p0"] = p0
    proc = sysmap("run", inp, "-o", out, *common, "--walkers", "22", "--init", path("some.h5"))
    expect("some initial walkers at zero probability", proc, 0,
           "warning: 5 of 22 initial walkers have zero probability", out=out, left=[""])
    with h5py.File(out, "r") as f:
        assert "5 of 22 initial walkers" in f["sysmap/warnings"].asstr()[0]


# ---- alloc ----

def part_alloc():
    inp = write_map("in.h5")
    args = [inp, "--quiet", "--backend", "reference", "--model", "additive", "--walkers", "4",
            "--steps", "6", "--burn", "2", "--flush-every", "2"]
    ref, out = path("ref.h5"), path("a.h5")
    writes, allocs = count(["run", *args, "-o", ref])
    ref_data = read(ref)

    def each_allocation(label, n, extra, setup, left):
        absorbed = 0
        for k in range(1, n + 1):
            setup()
            proc = sysmap("run", *args, "-o", out, *extra, env=env_for(SM_FAULT_FAIL_ALLOC=k))
            if proc.returncode == 0:  # a failure the code works around
                absorbed += 1
                same(f"{label}, allocation {k} absorbed", out, ref_data)
                continue
            assert proc.returncode == 1, \
                f"{label}: allocation {k} fails: exit {proc.returncode}: {proc.stderr[-2000:]}"
            assert "out of memory" in proc.stderr or "Cannot allocate memory" in proc.stderr, \
                f"{label}, allocation {k}: {proc.stderr}"
            assert files_of(out) == [out + s for s in left], \
                f"{label}, allocation {k}: {files_of(out)} left"
        print(f"ok  {label}: each of its {n} allocations fails: exit 1 with the message and "
              f"{'its partial file' if left else 'no file'} left ({absorbed} absorbed)")

    each_allocation("a run", allocs, [], lambda: remove(out), [])
    remove(out)
    proc = sysmap("run", *args, "-o", out, env=env_for(SM_FAULT_KILL_WRITE=writes // 2))
    assert proc.returncode == 137, proc
    saved = path("saved.partial")
    shutil.copy(out + ".partial", saved)
    shutil.copy(saved, path("count.h5.partial"))
    _, resume_allocs = count(["run", *args, "-o", path("count.h5"), "--resume"])
    each_allocation("a resumed run", resume_allocs, ["--resume"],
                    lambda: (remove(out), shutil.copy(saved, out + ".partial")), [".partial"])


def main():
    shutil.rmtree(SCRATCH, ignore_errors=True)
    os.makedirs(SCRATCH)
    {"sizes": part_sizes, "outputs": part_outputs, "disk": part_disk, "crash": part_crash,
     "start": part_start, "alloc": part_alloc}[PART]()


if __name__ == "__main__":
    main()
