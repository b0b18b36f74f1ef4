"""ctypes declarations of the libsysmap calls the package uses.

The library is found, in order, at $SYSMAP_LIBRARY, at the path the build
or the install recorded in _paths.py, or by the system loader
(ctypes.util.find_library("sysmap")). It is loaded on first use, so the
plotting module works without it. The structures mirror the C headers;
tests/py_abi.py checks every offset against the compiler's.
"""
import ctypes
import ctypes.util
import os
from ctypes import (POINTER, c_char, c_char_p, c_double, c_int, c_size_t, c_uint, c_uint32,
                    c_ulonglong, c_void_p)

c_double_p = POINTER(c_double)


class Model(ctypes.Structure):          # sm_model_t (sysmap/model.h)
    _fields_ = [("struct_size", c_size_t), ("kind", c_int), ("skew", c_int), ("n_sys", c_size_t),
                ("sigma_min", c_double)]


class RunConfig(ctypes.Structure):      # sm_run_config_t (sysmap/run.h)
    _fields_ = [("struct_size", c_size_t), ("model", c_int), ("skew", c_int),
                ("sigma_min", c_double),
                ("n_walkers", c_size_t), ("n_steps", c_size_t), ("n_burn", c_size_t),
                ("seed", c_uint32), ("basis", c_int), ("backend", c_char_p),
                ("device", c_char_p), ("precision", c_char_p), ("flush_every", c_size_t),
                ("init", c_double_p)]


class Summary(ctypes.Structure):        # sm_chainfile_summary_t (sysmap/chainfile.h)
    _fields_ = [("struct_size", c_size_t), ("median", c_double_p), ("std", c_double_p),
                ("var_a", c_double_p),
                ("var_b", c_double_p), ("cov_a", c_double_p), ("cov_b", c_double_p),
                ("acceptance_fraction", c_double_p), ("autocorr_time", c_double_p),
                ("autocorr_too_short", c_int), ("ess", c_double_p), ("wall_s", c_double),
                ("evals_per_s", c_double), ("eval_s", c_double), ("drift", c_double_p),
                ("n_kept", c_size_t)]


class RngState(ctypes.Structure):       # sm_rng_state_t (sysmap/rng.h)
    _fields_ = [("key", c_uint32 * 624), ("pos", c_int), ("has_gauss", c_int),
                ("gauss", c_double)]


class AdditivePosterior(ctypes.Structure):  # sm_stats_additive_posterior_t (sysmap/stats.h)
    _fields_ = [("n_sys", c_size_t), ("a_ols", c_double_p), ("xtx_inv", c_double_p),
                ("rss", c_double), ("alpha", c_double), ("beta", c_double),
                ("cov_a", c_double_p), ("sigma_median", c_double)]


class Device(ctypes.Structure):         # sm_opencl_device_t (sysmap/opencl.h)
    _fields_ = [("index", c_uint), ("platform_index", c_uint), ("device_index", c_uint),
                ("platform", c_char * 128), ("name", c_char * 128), ("vendor", c_char * 128),
                ("driver", c_char * 64), ("version", c_char * 64), ("type", c_char_p),
                ("compute_units", c_uint), ("clock_mhz", c_uint),
                ("global_mem_bytes", c_ulonglong), ("max_alloc_bytes", c_ulonglong),
                ("local_mem_bytes", c_ulonglong), ("max_work_group_size", c_size_t),
                ("fp64", c_int)]


MODELS = {"additive": 0, "multiplicative": 1, "combined": 2}
BASES = {"rotated": 0, "original": 1}
PROGRESS = ctypes.CFUNCTYPE(c_int, c_void_p, c_size_t, c_size_t)

# name: (restype, argtypes)
_PROTOTYPES = {
    "sm_last_error": (c_char_p, []),
    "sm_version": (c_char_p, []),
    "sm_data_create": (c_int, [POINTER(c_void_p), c_size_t, c_size_t, c_double_p, c_double_p,
                               POINTER(ctypes.c_uint8)]),
    "sm_data_free": (None, [c_void_p]),
    "sm_run_config_default": (None, [POINTER(RunConfig)]),
    "sm_run_create": (c_int, [POINTER(c_void_p), c_void_p, POINTER(RunConfig)]),
    "sm_run_free": (None, [c_void_p]),
    "sm_run_execute": (c_int, [c_void_p, c_char_p, c_int, PROGRESS, c_void_p]),
    "sm_run_chain": (c_double_p, [c_void_p]),
    "sm_run_log_prob": (c_double_p, [c_void_p]),
    "sm_run_summary": (POINTER(Summary), [c_void_p]),
    "sm_run_model": (POINTER(Model), [c_void_p]),
    "sm_run_backend": (c_void_p, [c_void_p]),
    "sm_run_param_name": (c_char_p, [c_void_p, c_size_t]),
    "sm_backend_name": (c_char_p, [c_void_p]),
    "sm_backend_device": (c_char_p, [c_void_p]),
    "sm_backend_precision": (c_char_p, [c_void_p]),
    "sm_model_n_dim": (c_size_t, [POINTER(Model)]),
    "sm_model_n_cont": (c_size_t, [POINTER(Model)]),
    "sm_model_validate": (c_int, [POINTER(Model)]),
    "sm_stats_median": (c_int, [c_double_p, c_size_t, c_size_t, c_double_p]),
    "sm_stats_param_covariance": (c_int, [c_double_p, c_size_t, POINTER(Model), c_double_p,
                                          c_double_p]),
    "sm_opencl_devices": (c_int, [POINTER(POINTER(Device)), POINTER(c_size_t)]),
    "sm_opencl_devices_free": (None, [POINTER(Device)]),
    "sm_backend_open": (c_int, [c_char_p, c_char_p, c_char_p, c_void_p, POINTER(Model),
                                POINTER(c_void_p)]),
    "sm_backend_free": (None, [c_void_p]),
    "sm_backend_log_prob": (c_int, [c_void_p, c_size_t, c_double_p, c_double_p]),
    "sm_stats_covariance": (c_int, [c_double_p, c_size_t, c_size_t, c_size_t, c_size_t,
                                    c_double_p]),
    "sm_stats_autocorr_time": (c_int, [c_double_p, c_size_t, c_size_t, c_size_t, c_double,
                                       c_double, c_double_p, POINTER(c_int)]),
    "sm_stats_additive_posterior": (c_int, [POINTER(POINTER(AdditivePosterior)), c_void_p]),
    "sm_stats_additive_posterior_free": (None, [POINTER(AdditivePosterior)]),
    "sm_run_config": (POINTER(RunConfig), [c_void_p]),
}

# Calls a library may predate (continuing a run, its generator state, its
# warnings): set when the loaded library has them; has() tells callers.
_OPTIONAL = {
    "sm_run_extend": (c_int, [c_void_p, c_size_t, PROGRESS, c_void_p]),
    "sm_run_rng_state": (c_int, [c_void_p, POINTER(RngState)]),
    "sm_run_n_warnings": (c_size_t, [c_void_p]),
    "sm_run_warning": (c_char_p, [c_void_p, c_size_t]),
}

_lib = None


class SysmapError(RuntimeError):
    """A libsysmap call failed; the message is the library's (sm_last_error)."""


def _candidates():
    env = os.environ.get("SYSMAP_LIBRARY")
    if env:
        return [env]
    found = []
    try:
        from . import _paths
        if _paths.LIBRARY:
            here = os.path.dirname(os.path.abspath(__file__))
            found.append(os.path.normpath(os.path.join(here, _paths.LIBRARY)))
    except ImportError:
        pass
    name = ctypes.util.find_library("sysmap")
    if name:
        found.append(name)
    return found


def lib():
    """The loaded library with its prototypes set."""
    global _lib
    if _lib is not None:
        return _lib
    tried = _candidates()
    errors = []
    for path in tried:
        try:
            handle = ctypes.CDLL(path)
            break
        except OSError as e:
            errors.append(str(e))
    else:
        raise ImportError("sysmap: cannot load libsysmap (set SYSMAP_LIBRARY to its path); tried: "
                          + ("; ".join(errors) if errors else "no candidate found"))
    for table, required in ((_PROTOTYPES, True), (_OPTIONAL, False)):
        for name, (restype, argtypes) in table.items():
            if not required and not hasattr(handle, name):
                continue
            fn = getattr(handle, name)
            fn.restype = restype
            fn.argtypes = argtypes
    _lib = handle
    return _lib


def has(name):
    """Whether the loaded library exports name (for the _OPTIONAL calls)."""
    return hasattr(lib(), name)


def check(status):
    """Raises SysmapError with the library's message when status is not SM_OK."""
    if status != 0:
        raise SysmapError(lib().sm_last_error().decode(errors="replace"))
