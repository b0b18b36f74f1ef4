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
from ctypes import (POINTER, c_char, c_char_p, c_double, c_int, c_long, c_size_t, c_uint,
                    c_uint32, c_ulonglong, c_void_p)

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
                ("init", c_double_p), ("init_path", c_char_p), ("output", c_char_p),
                ("maps_out", c_char_p), ("resume", c_int)]


class HpxSource(ctypes.Structure):      # sm_hpx_source_t (sysmap/input.h)
    _fields_ = [("path", c_char_p), ("column", c_char_p)]


class Input(ctypes.Structure):          # sm_input_t (sysmap/input.h)
    _fields_ = [("struct_size", c_size_t), ("hdf5", c_char_p), ("map", HpxSource),
                ("map_kind", c_int),
                ("templates", POINTER(HpxSource)), ("n_templates", c_size_t),
                ("mask", HpxSource), ("mask_min", c_double), ("standardize", c_int),
                ("reorder", c_int), ("resample", c_int)]


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


class Device(ctypes.Structure):         # sm_device_t (sysmap/registry.h)
    _fields_ = [("backend", c_char * 32), ("index", c_uint), ("platform_index", c_uint),
                ("device_index", c_uint), ("platform", c_char * 128), ("name", c_char * 128),
                ("vendor", c_char * 128), ("driver", c_char * 64), ("version", c_char * 64),
                ("device_class", c_int),
                ("compute_units", c_uint), ("clock_mhz", c_uint),
                ("global_mem_bytes", c_ulonglong), ("max_alloc_bytes", c_ulonglong),
                ("local_mem_bytes", c_ulonglong), ("max_work_group_size", c_size_t),
                ("fp64", c_int)]


SM_EINVAL = 1
PROGRESS = ctypes.CFUNCTYPE(c_int, c_void_p, c_size_t, c_size_t)

# name: (restype, argtypes)
_PROTOTYPES = {
    "sm_last_error": (c_char_p, []),
    "sm_version": (c_char_p, []),
    "sm_data_create": (c_int, [POINTER(c_void_p), c_size_t, c_size_t, c_double_p, c_double_p,
                               POINTER(ctypes.c_uint8)]),
    "sm_data_free": (None, [c_void_p]),
    "sm_run_config_default": (None, [POINTER(RunConfig)]),
    "sm_input_default": (None, [POINTER(Input)]),
    "sm_run_config_set": (c_int, [POINTER(RunConfig), c_char_p, c_char_p]),
    "sm_run_config_get": (c_int, [POINTER(RunConfig), c_char_p, c_char_p, c_size_t]),
    "sm_run_config_check_files": (c_int, [POINTER(RunConfig), POINTER(Input)]),
    "sm_run_write_maps": (c_int, [c_void_p, c_void_p, POINTER(c_int)]),
    "sm_run_data": (c_void_p, [c_void_p]),
    "sm_input_load": (c_int, [POINTER(Input), POINTER(c_void_p), POINTER(c_void_p)]),
    "sm_pixels_free": (None, [c_void_p]),
    "sm_data_n_pix": (c_size_t, [c_void_p]),
    "sm_data_n_sys": (c_size_t, [c_void_p]),
    "sm_data_delta": (c_double_p, [c_void_p]),
    "sm_data_templates": (c_double_p, [c_void_p]),
    "sm_run_create": (c_int, [POINTER(c_void_p), c_void_p, POINTER(RunConfig)]),
    "sm_run_create_adopting": (c_int, [POINTER(c_void_p), c_void_p, POINTER(RunConfig),
                                       c_void_p, c_void_p]),
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
    "sm_model_kind_count": (c_size_t, []),
    "sm_model_name": (c_char_p, [c_int]),
    "sm_model_parse": (c_int, [c_char_p, POINTER(c_int)]),
    "sm_model_n_dim": (c_size_t, [POINTER(Model)]),
    "sm_model_n_cont": (c_size_t, [POINTER(Model)]),
    "sm_model_a_offset": (c_long, [POINTER(Model)]),
    "sm_model_b_offset": (c_long, [POINTER(Model)]),
    "sm_model_sigma_index": (c_size_t, [POINTER(Model)]),
    "sm_model_gamma_index": (c_long, [POINTER(Model)]),
    "sm_model_param_name": (c_int, [POINTER(Model), c_size_t, c_char_p, c_size_t]),
    "sm_model_validate": (c_int, [POINTER(Model)]),
    "sm_stats_median": (c_int, [c_double_p, c_size_t, c_size_t, c_double_p]),
    "sm_stats_param_covariance": (c_int, [c_double_p, c_size_t, POINTER(Model), c_double_p,
                                          c_double_p]),
    "sm_devices": (c_int, [c_char_p, POINTER(POINTER(Device)), POINTER(c_size_t)]),
    "sm_devices_free": (None, [POINTER(Device)]),
    "sm_device_class_name": (c_char_p, [c_int]),
    "sm_backend_open": (c_int, [POINTER(c_void_p), c_char_p, c_char_p, c_char_p, c_void_p,
                                POINTER(Model)]),
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


class SysmapValueError(SysmapError, ValueError):
    """A libsysmap call refused an argument or a setting (SM_EINVAL)."""


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
        cls = SysmapValueError if status == SM_EINVAL else SysmapError
        raise cls(lib().sm_last_error().decode(errors="replace"))


def models():
    """The names of libsysmap's model table, in its order."""
    L = lib()
    return [L.sm_model_name(k).decode() for k in range(L.sm_model_kind_count())]


def model(n_sys, name, skew=False, sigma_min=1e-6):
    """The Model of that name from the library's table; ValueError with the
    library's message for a name it does not know."""
    kind = c_int()
    if lib().sm_model_parse(str(name).encode(), ctypes.byref(kind)) != 0:
        raise ValueError(lib().sm_last_error().decode(errors="replace"))
    return Model(ctypes.sizeof(Model), kind.value, int(bool(skew)), int(n_sys), float(sigma_min))


def model_layout(m):
    """Offsets (a, b, sigma, gamma) of Model m's blocks in theta; None where
    the model holds a block at 0 (or has no gamma); b = a: the same offset."""
    L, r = lib(), ctypes.byref(m)
    a, b, g = L.sm_model_a_offset(r), L.sm_model_b_offset(r), L.sm_model_gamma_index(r)
    return (None if a < 0 else a, None if b < 0 else b, L.sm_model_sigma_index(r),
            None if g < 0 else g)


def param_names(m):
    """The library's names of Model m's parameters ("a_1", ..., "sigma", "gamma")."""
    L, buf = lib(), ctypes.create_string_buffer(32)
    out = []
    for i in range(L.sm_model_n_dim(ctypes.byref(m))):
        check(L.sm_model_param_name(ctypes.byref(m), i, buf, len(buf)))
        out.append(buf.value.decode())
    return out
