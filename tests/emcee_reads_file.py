"""emcee reads and continues a run file written by sysmap.

Usage: emcee_reads_file.py FILE

FILE is the finished file that test_chainfile leaves behind
(written_file_has_emcee_layout): 6 walkers, 3 parameters, 5 steps with
known values, built here again from the same formulas. Checks, with emcee
3's HDFBackend and numpy:
  1. get_chain, get_log_prob, accepted, iteration, random_state and
     get_last_sample equal the known values;
  2. every attribute and dataset of the mcmc group has the HDF5 type and
     rank that emcee itself (through h5py) writes;
  3. emcee continues a copy for 5 steps (EnsembleSampler with the file as
     backend, run_mcmc(None, 5)), and the continued chain equals an
     in-memory emcee run started from the same last sample and random
     state; the sysmap group survives untouched.
"""
import os
import shutil
import sys
import tempfile

import emcee
import h5py
import numpy as np

W, D, STEPS = 6, 3, 5


def known_run():
    s, w, k = np.meshgrid(np.arange(STEPS), np.arange(W), np.arange(D), indexing="ij")
    chain = ((7 * s + 3 * w * w + 5 * k ** 3 + w * k) % 17) / 8.0 - 1.0
    log_prob = -0.5 * (chain ** 2).sum(axis=2)
    accepted = np.arange(W) % (STEPS + 1) * 1.0
    key = ((np.arange(624, dtype=np.uint64) * 2654435761 + 12345) % 2 ** 32).astype(np.uint32)
    state = ("MT19937", key, 17, 1, -0.75)
    return chain, log_prob, accepted, state


def log_prob_fn(x):
    return -0.5 * np.dot(x, x)


def assert_state_equal(got, want):
    assert got[0] == want[0], got[0]
    np.testing.assert_array_equal(np.asarray(got[1]), want[1])
    assert int(got[2]) == want[2] and int(got[3]) == want[3], got[2:4]
    assert float(got[4]) == want[4], got[4]


def check_read(path, chain, log_prob, accepted, state):
    b = emcee.backends.HDFBackend(path, read_only=True)
    assert b.iteration == STEPS, b.iteration
    assert b.shape == (W, D), b.shape
    assert not b.has_blobs()
    np.testing.assert_array_equal(b.get_chain(), chain)
    np.testing.assert_array_equal(b.get_log_prob(), log_prob)
    np.testing.assert_array_equal(b.get_chain(discard=1, flat=True),
                                  chain[1:].reshape(-1, D))
    np.testing.assert_array_equal(b.accepted, accepted)
    assert_state_equal(b.random_state, state)
    last = b.get_last_sample()
    np.testing.assert_array_equal(last.coords, chain[-1])
    np.testing.assert_array_equal(last.log_prob, log_prob[-1])


def h5_layout(path):
    """{name: (HDF5 type, rank, chunked, maxshape[0])} of the mcmc group."""
    out = {}
    with h5py.File(path, "r") as f:
        g = f["mcmc"]
        for name in g.attrs:
            aid = h5py.h5a.open(g.id, name.encode())
            out["attr " + name] = (aid.get_type(), aid.get_space().get_simple_extent_ndims())
        for name, d in g.items():
            out["dataset " + name] = (d.id.get_type(), d.ndim, d.chunks is not None,
                                      d.maxshape[0])
    return out


def check_types(path, tmp):
    """Our types against those of a file emcee writes itself."""
    ref = os.path.join(tmp, "emcee_made.h5")
    np.random.seed(1)
    sampler = emcee.EnsembleSampler(W, D, log_prob_fn, backend=emcee.backends.HDFBackend(ref))
    sampler.run_mcmc(np.random.randn(W, D), 2)
    ours, theirs = h5_layout(path), h5_layout(ref)
    assert sorted(ours) == sorted(theirs), (sorted(ours), sorted(theirs))
    for name, want in theirs.items():
        got = ours[name]
        # h5py's TypeID compares with H5Tequal
        assert got[0] == want[0], "%s: type differs from emcee's" % name
        assert got[1:] == want[1:], "%s: %r, emcee writes %r" % (name, got[1:], want[1:])


def check_continue(path, tmp, chain, log_prob, accepted, state):
    copy = os.path.join(tmp, "continued.h5")
    shutil.copy(path, copy)
    with h5py.File(copy, "r") as f:
        sysmap_before = {k: f["sysmap"].attrs[k] for k in f["sysmap"].attrs}
        assert sysmap_before["model"] == "combined"
        assert sysmap_before["skew"] == np.bool_(False)
        assert sysmap_before["seed"] == 42
        assert sysmap_before["basis"] == "original"
        assert sysmap_before["format_version"] == 3  # SM_CHAINFILE_FORMAT_VERSION
        assert sysmap_before["n_kept"] == 4
        assert list(f["sysmap/warnings"].asstr()[...]) == [
            "first warning", "second: a_1 drifts by 9.2"] + [""] * 6  # room for 8
        assert list(f["sysmap/param_names"].asstr()[...]) == ["a_1", "b_1", "sigma"]

    continued = emcee.EnsembleSampler(W, D, log_prob_fn,
                                      backend=emcee.backends.HDFBackend(copy))
    continued.run_mcmc(None, 5)

    direct = emcee.EnsembleSampler(W, D, log_prob_fn)
    direct.run_mcmc(emcee.State(chain[-1], log_prob=log_prob[-1], random_state=state), 5)

    b = emcee.backends.HDFBackend(copy, read_only=True)
    assert b.iteration == STEPS + 5, b.iteration
    got_chain, got_lp = b.get_chain(), b.get_log_prob()
    assert got_chain.shape == (STEPS + 5, W, D), got_chain.shape
    assert got_lp.shape == (STEPS + 5, W), got_lp.shape
    np.testing.assert_array_equal(got_chain[:STEPS], chain)
    np.testing.assert_array_equal(got_lp[:STEPS], log_prob)
    np.testing.assert_array_equal(got_chain[STEPS:], direct.get_chain())
    np.testing.assert_array_equal(got_lp[STEPS:], direct.get_log_prob())
    np.testing.assert_array_equal(b.accepted, accepted + direct.backend.accepted)
    assert_state_equal(b.random_state, direct.random_state)
    # the proposals moved some walkers: the comparison is not vacuous
    assert direct.backend.accepted.sum() > 0

    with h5py.File(copy, "r") as f:
        after = {k: f["sysmap"].attrs[k] for k in f["sysmap"].attrs}
    assert after.keys() == sysmap_before.keys()
    for k in after:
        np.testing.assert_array_equal(after[k], sysmap_before[k])


def main():
    path = sys.argv[1]
    chain, log_prob, accepted, state = known_run()
    check_read(path, chain, log_prob, accepted, state)
    with tempfile.TemporaryDirectory() as tmp:
        check_types(path, tmp)
        check_continue(path, tmp, chain, log_prob, accepted, state)
    print("emcee reads and continues %s" % path)


if __name__ == "__main__":
    main()
