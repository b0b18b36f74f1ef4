"""sysmap: galaxy-systematics inference (Berlfein et al. 2024) from Python.

A thin ctypes binding of libsysmap with the API of the reference package
sys-mapping 1.1.0: make_log_prob, run_mcmc, run_additive_analytic,
get_mle_params, get_param_variance_from_chain,
get_param_covariance_from_chain, n_free_params, pack_params, unpack_params,
with the same names, arguments, defaults and return shapes, so that
`import sysmap as sys_mapping` runs a sys-mapping script. The numbers come
from the C library: a run here gives the chain of `sysmap run` with the same
seed and settings, element for element. devices() lists every backend's devices;
run_file() runs on input files as `sysmap run` does, writing the same run
file and corrected maps; `python3 -m sysmap.plot RUN.h5` (or `sysmap plot`)
draws a run.
"""
from ._lib import SysmapError, SysmapValueError
from .contamination import n_free_params, pack_params, unpack_params
from .inference import (AnalyticSampler, LogProb, devices, get_mle_params,
                        get_param_covariance_from_chain, get_param_variance_from_chain,
                        make_log_prob, run_additive_analytic, run_mcmc)
from .files import run_file
from .sampler import AutocorrError, RunResult, Sampler, State, SysmapWarning

__all__ = ["make_log_prob", "run_mcmc", "run_additive_analytic", "get_mle_params",
           "get_param_variance_from_chain", "get_param_covariance_from_chain",
           "n_free_params", "pack_params", "unpack_params", "devices", "version",
           "Sampler", "RunResult", "State", "LogProb", "AnalyticSampler", "AutocorrError",
           "SysmapError", "SysmapValueError", "SysmapWarning", "run_file"]


def version():
    """libsysmap's version string."""
    from ._lib import lib
    return lib().sm_version().decode()
