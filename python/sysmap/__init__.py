"""sysmap: galaxy-systematics inference (Berlfein et al. 2024) from Python.

A thin ctypes binding of libsysmap with the seed's functions
(sys_mapping.inference): run_mcmc, get_mle_params,
get_param_variance_from_chain, get_param_covariance_from_chain, and
devices(). The numbers all come from the C library, so a run here gives
the chain of `sysmap run` with the same seed and settings, element for
element. `python3 -m sysmap.plot RUN.h5` (or `sysmap plot`) draws a run.
"""
from ._lib import SysmapError
from .inference import (RunResult, devices, get_mle_params, get_param_covariance_from_chain,
                        get_param_variance_from_chain, run_mcmc)

__all__ = ["run_mcmc", "get_mle_params", "get_param_variance_from_chain",
           "get_param_covariance_from_chain", "devices", "RunResult", "SysmapError",
           "version"]


def version():
    """libsysmap's version string."""
    from ._lib import lib
    return lib().sm_version().decode()
