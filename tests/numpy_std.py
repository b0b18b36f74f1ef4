"""sm_data_numpy_std (the sigma of the seeded initial walkers) is np.std to the bit.

numpy sums with pairwise summation; numpy 1.x (Debian 12's python3-numpy
1.24) reduces a contiguous array in blocks of its 8192-element buffer,
numpy 2.4 in one pairwise sum. Both agree up to 8192 elements, so there
every case must equal the running numpy's np.std in both of sm_data_numpy_std's
modes; above, the running numpy must match one mode in every case, and
the other mode is checked against results recorded with the other numpy
(RandomState streams are the same in every numpy version).
sm_data_delta_std (what a run uses) is the numpy 2.4 mode.

usage: numpy_std.py LIBSYSMAP
"""
import ctypes
import sys

import numpy as np

LEGACY_BUFFER = 8192  # SM_DATA_NUMPY_LEGACY_BUFFER


def big_cases():
    rs = np.random.RandomState(2024)
    yield "normal-100001", rs.normal(0.3, 2.0, 100001)
    yield "scaled-20000", rs.normal(size=20000) * 10.0 ** rs.uniform(-6, 6, 20000)
    yield "offset-10000", 1e8 + rs.normal(0, 1e-3, 10000)
    yield "lognormal-65537", rs.lognormal(0, 3, 65537)
    yield "uniform-1000001", rs.uniform(-1, 1, 1000001)


# np.std(x).hex() of big_cases() printed by numpy 2.4.6 (pip, Python 3.11)
# and by numpy 1.24.2 (Debian 12's python3-numpy).
RECORDED = {
    "2.4.6": {"normal-100001": "0x1.009de56d95eaep+1", "scaled-20000": "0x1.062c4d9c8b5cap+17",
              "offset-10000": "0x1.0627556d672f3p-10",
              "lognormal-65537": "0x1.572962b012075p+10",
              "uniform-1000001": "0x1.2798b06fec3f7p-1"},
    "1.24.2": {"normal-100001": "0x1.009de56d95eaep+1", "scaled-20000": "0x1.062c4d9c8b5cap+17",
               "offset-10000": "0x1.0627556d672f3p-10",
               "lognormal-65537": "0x1.572962b012074p+10",
               "uniform-1000001": "0x1.2798b06fec3f6p-1"},
}
MODE_OF = {"2.4.6": 0, "1.24.2": LEGACY_BUFFER}


def small_cases():
    rs = np.random.RandomState(7)
    for n in range(1, 1001):
        yield f"random-{n}", rs.normal(rs.uniform(-2, 2), 10.0 ** rs.uniform(-8, 8), n)
    for n in (127, 128, 129, 135, 136, 255, 256, 257, 1023, 1024, 1025, 4097, 8191, 8192):
        yield f"size-{n}", rs.standard_cauchy(n)
    yield "dynamic-range", np.array([1e300, 1.0, -1e300, 1e-300, 3.0] * 40 + [7.0])
    yield "overflowing-squares", np.array([1e200, -1e200, 5.0] * 11)
    yield "cancellation", 1e16 + np.arange(333, dtype=float)
    yield "constant-0.1", np.full(1000, 0.1)
    yield "constant-1/3", np.full(129, 1.0 / 3.0)
    yield "alternating", np.array([1e8, -1e8] * 150) + rs.normal(0, 1e-6, 300)
    yield "subnormal", rs.uniform(0, 1, 300) * 5e-324 * 2**20
    yield "sorted", np.sort(rs.lognormal(0, 5, 777))
    yield "negative-zeros", np.array([-0.0] * 17)
    yield "single", np.array([-3.25])
    yield "pixel-map-like", rs.normal(0, 0.1, 4000) * (1 + 0.05 * rs.normal(size=4000))


def main():
    lib = ctypes.CDLL(sys.argv[1])
    lib.sm_data_numpy_std.restype = ctypes.c_double
    lib.sm_data_numpy_std.argtypes = [ctypes.POINTER(ctypes.c_double), ctypes.c_size_t,
                                 ctypes.c_size_t]

    def ours(x, buffer):
        x = np.ascontiguousarray(x, dtype=np.float64)
        return lib.sm_data_numpy_std(x.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), x.size,
                                buffer)

    def same(a, b):
        return np.float64(a).tobytes() == np.float64(b).tobytes() or (np.isnan(a) and np.isnan(b))

    n_small = 0
    with np.errstate(all="ignore"):
        for name, x in small_cases():
            want = np.std(x)
            for mode in (0, LEGACY_BUFFER):
                got = ours(x, mode)
                assert same(got, want), f"{name} (buffer {mode}): {got!r} != np.std {want!r}"
            n_small += 1

    # The running numpy: one mode for every large case.
    big = list(big_cases())
    modes = {m for m in (0, LEGACY_BUFFER) if all(same(ours(x, m), np.std(x)) for _, x in big)}
    assert modes, f"numpy {np.__version__}: np.std of large arrays matches neither mode"
    differ = [name for name, x in big if not same(ours(x, 0), ours(x, LEGACY_BUFFER))]
    assert differ, "the large cases do not tell the two modes apart"
    # And both modes against the recorded results of both numpy versions.
    for version, values in RECORDED.items():
        for name, x in big:
            got = ours(x, MODE_OF[version])
            assert got.hex() == values[name], f"{name}: {got.hex()} != numpy {version} {values[name]}"

    # sm_data_delta_std is the numpy 2.4 mode.
    lib.sm_data_create.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_size_t,
                                   ctypes.c_size_t, ctypes.POINTER(ctypes.c_double),
                                   ctypes.POINTER(ctypes.c_double), ctypes.c_void_p]
    lib.sm_data_delta_std.restype = ctypes.c_double
    lib.sm_data_delta_std.argtypes = [ctypes.c_void_p]
    lib.sm_data_free.argtypes = [ctypes.c_void_p]
    for name, x in big[:2]:
        t = np.ones(x.size)
        data = ctypes.c_void_p()
        dp = ctypes.POINTER(ctypes.c_double)
        assert lib.sm_data_create(ctypes.byref(data), x.size, 1, x.ctypes.data_as(dp),
                                  t.ctypes.data_as(dp), None) == 0
        got = lib.sm_data_delta_std(data)
        lib.sm_data_free(data)
        assert got.hex() == RECORDED["2.4.6"][name], f"sm_data_delta_std {name}: {got.hex()}"

    print(f"np.std (numpy {np.__version__}) bit for bit: {n_small} cases up to 8192 elements "
          f"in both modes; {len(big)} up to 1000001 elements in mode "
          f"{'/'.join(str(m) for m in sorted(modes))} (they differ in {', '.join(differ)}); "
          f"recorded numpy 2.4.6 and 1.24.2 results reproduced")


if __name__ == "__main__":
    main()
