"""run_mcmc and the chain statistics of sys_mapping.inference, over libsysmap.

Every number comes from the C library: the sampler, the medians and the
covariances. This module only moves arrays across and shapes the results.
"""
import ctypes
import sys

import numpy as np

from . import _lib


def _f64(a, name, ndim):
    a = np.ascontiguousarray(a, dtype=np.float64)
    if a.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-d array, got shape {a.shape}")
    return a


def _ptr(a):
    return a.ctypes.data_as(_lib.c_double_p)


def _model(n_sys, model, skew=False):
    if model not in _lib.MODELS:
        raise ValueError(f"unknown model '{model}' (additive, multiplicative or combined)")
    return _lib.Model(_lib.MODELS[model], int(bool(skew)), int(n_sys), 1e-6)


class RunResult:
    """What a run gives back, like the seed's emcee sampler plus sysmap's
    summaries. All values are in the original template basis.

    chain (n_steps, n_walkers, n_dim), log_prob (n_steps, n_walkers),
    acceptance_fraction (n_walkers,), median, std, autocorr_time, ess
    (n_dim,), var_a, var_b (n_sys,), cov_a, cov_b (n_sys, n_sys) over the
    post-burn-in chain (ddof 1), param_names, backend, device, precision,
    wall_s, evals_per_s, autocorr_too_short, and the run's settings.
    """

    def get_chain(self, discard=0, thin=1, flat=False):
        """emcee's EnsembleSampler.get_chain."""
        c = self.chain[discard::thin]
        return c.reshape(-1, c.shape[2]) if flat else c

    def get_log_prob(self, discard=0, thin=1, flat=False):
        """emcee's EnsembleSampler.get_log_prob."""
        lp = self.log_prob[discard::thin]
        return lp.reshape(-1) if flat else lp

    def get_autocorr_time(self):
        return self.autocorr_time

    def __repr__(self):
        return (f"RunResult({self.model}{' skew' if self.use_skewed else ''}, "
                f"{self.n_walkers} walkers x {self.n_steps} steps, backend {self.backend} "
                f"{self.precision})")


class _Progress:
    """The per-step callback: a progress line on stderr when asked, and the
    way Ctrl-C reaches the C loop (a non-zero return stops it after the step)."""

    def __init__(self, show):
        self.show = show
        self.tty = show and sys.stderr.isatty()
        self.interrupted = False
        self.last = -1
        self.callback = _lib.PROGRESS(self._step)

    def _step(self, _user, done, total):
        try:
            # A terminal gets one line redrawn every percent, a file a line
            # every tenth of the run.
            mark = (100 if self.tty else 10) * done // total
            if self.show and mark != self.last:
                self.last = mark
                text = f"sysmap: step {done}/{total} ({100 * done // total}%)"
                end = "\n" if not self.tty or done == total else ""
                sys.stderr.write(("\r" if self.tty else "") + text + end)
                sys.stderr.flush()
            return 0
        except KeyboardInterrupt:
            self.interrupted = True
            return 1


def run_mcmc(n_sys, *, model="combined", delta_g_obs, delta_t, use_skewed=False,
             n_walkers=250, n_steps=1500, n_burn=300, seed=42, progress=True, backend=None,
             device=None, precision=None, basis="rotated", sigma_min=1e-6, init=None,
             out=None):
    """Samples the contamination posterior of a map (sys_mapping.run_mcmc).

    Parameters as the seed's, plus backend ("auto" by default: OpenCL where
    the machine has a device, else "reference"), device ("N" or "P:D", see
    devices()), precision ("fp64"/"fp32"), basis (sampling basis, "rotated"
    or "original"), sigma_min, init (n_walkers, n_dim) initial walkers in
    the original basis, and out: a run file path (emcee's HDF5 layout, as
    `sysmap run -o`). The same seed and settings give the chain of
    `sysmap run` element for element.

    Returns (flat_chain, result): the post-burn-in chain
    (n_walkers * (n_steps - n_burn), n_dim) and a RunResult.
    """
    L = _lib.lib()
    d = _f64(delta_g_obs, "delta_g_obs", 1)
    t = _f64(delta_t, "delta_t", 2)
    if t.shape != (n_sys, d.size):
        raise ValueError(f"delta_t: shape {t.shape}, expected (n_sys, n_pix) = "
                         f"({n_sys}, {d.size})")
    m = _model(n_sys, model, use_skewed)
    cfg = _lib.RunConfig()
    L.sm_run_config_default(ctypes.byref(cfg))
    cfg.model, cfg.skew, cfg.sigma_min = m.kind, m.skew, float(sigma_min)
    cfg.n_walkers, cfg.n_steps, cfg.n_burn = int(n_walkers), int(n_steps), int(n_burn)
    if not 0 <= int(seed) <= 0xFFFFFFFF:
        raise ValueError(f"seed {seed}: must be in 0..4294967295")
    cfg.seed = int(seed)
    if basis not in _lib.BASES:
        raise ValueError(f"unknown basis '{basis}' (rotated or original)")
    cfg.basis = _lib.BASES[basis]
    keep = []  # byte strings and arrays the C side borrows during the run
    for field, value in (("backend", backend), ("device", device), ("precision", precision)):
        if value is not None:
            keep.append(str(value).encode())
            setattr(cfg, field, keep[-1])
    if init is not None:
        p0 = _f64(init, "init", 2)
        n_dim = L.sm_model_n_dim(ctypes.byref(m))
        if p0.shape != (n_walkers, n_dim):
            raise ValueError(f"init: shape {p0.shape}, expected (n_walkers, n_dim) = "
                             f"({n_walkers}, {n_dim})")
        keep.append(p0)
        cfg.init = _ptr(p0)

    data, run = ctypes.c_void_p(), ctypes.c_void_p()
    try:
        _lib.check(L.sm_data_create(ctypes.byref(data), d.size, n_sys, _ptr(d), _ptr(t), None))
        _lib.check(L.sm_run_create(ctypes.byref(run), data, ctypes.byref(cfg)))
        prog = _Progress(progress)
        status = L.sm_run_execute(run, None if out is None else str(out).encode(), 0,
                                  prog.callback, None)
        if prog.interrupted:
            raise KeyboardInterrupt(_lib.lib().sm_last_error().decode())
        _lib.check(status)
        result = _collect(L, run, cfg, model, use_skewed, n_sys)
    finally:
        L.sm_run_free(run)
        L.sm_data_free(data)
    return result.get_chain(discard=n_burn, flat=True), result


def _array(ptr, *shape):
    return np.ctypeslib.as_array(ptr, shape=shape).copy()


def _collect(L, run, cfg, model, use_skewed, n_sys):
    r = RunResult()
    n_dim = L.sm_model_n_dim(L.sm_run_model(run))
    w, n = cfg.n_walkers, cfg.n_steps
    r.chain = _array(L.sm_run_chain(run), n, w, n_dim)
    r.log_prob = _array(L.sm_run_log_prob(run), n, w)
    s = L.sm_run_summary(run).contents
    for name, shape in (("median", (n_dim,)), ("std", (n_dim,)), ("var_a", (n_sys,)),
                        ("var_b", (n_sys,)), ("cov_a", (n_sys, n_sys)), ("cov_b", (n_sys, n_sys)),
                        ("acceptance_fraction", (w,)), ("autocorr_time", (n_dim,)),
                        ("ess", (n_dim,))):
        setattr(r, name, _array(getattr(s, name), *shape))
    r.autocorr_too_short = bool(s.autocorr_too_short)
    r.wall_s, r.evals_per_s = s.wall_s, s.evals_per_s
    r.param_names = [L.sm_run_param_name(run, i).decode() for i in range(n_dim)]
    be = L.sm_run_backend(run)
    r.backend = L.sm_backend_name(be).decode()
    r.device = L.sm_backend_device(be).decode()
    r.precision = L.sm_backend_precision(be).decode()
    r.model, r.use_skewed, r.n_sys = model, bool(use_skewed), n_sys
    r.n_walkers, r.n_steps, r.n_burn, r.seed = w, n, cfg.n_burn, cfg.seed
    return r


def get_mle_params(flat_chain):
    """Posterior median of a flat chain (n_samples, n_dim), numpy's np.median."""
    f = _f64(flat_chain, "flat_chain", 2)
    out = np.empty(f.shape[1])
    _lib.check(_lib.lib().sm_stats_median(_ptr(f), f.shape[0], f.shape[1], _ptr(out)))
    return out


def get_param_covariance_from_chain(flat_chain, n_sys, model):
    """cov_a, cov_b (n_sys, n_sys), ddof 1, of a flat chain in the model's
    layout ([a, b, sigma(, gamma)]); a block the model does not free is zero.
    (The seed returns cov(b) as cov_a for the multiplicative model and ddof 0
    for one template; sysmap follows DESIGN.md: zeros and ddof 1.)"""
    L = _lib.lib()
    f = _f64(flat_chain, "flat_chain", 2)
    m = _model(n_sys, model)
    n_cont = L.sm_model_n_cont(ctypes.byref(m))
    extra = f.shape[1] - n_cont - 1
    if extra not in (0, 1):
        raise ValueError(f"flat_chain: {f.shape[1]} columns, but the {model} model with "
                         f"{n_sys} templates has {n_cont + 1} (or {n_cont + 2} with gamma)")
    m.skew = extra
    cov_a, cov_b = np.empty((n_sys, n_sys)), np.empty((n_sys, n_sys))
    _lib.check(L.sm_stats_param_covariance(_ptr(f), f.shape[0], ctypes.byref(m), _ptr(cov_a),
                                           _ptr(cov_b)))
    return cov_a, cov_b


def get_param_variance_from_chain(flat_chain, n_sys, model):
    """var_a, var_b (n_sys,): the diagonals of get_param_covariance_from_chain."""
    cov_a, cov_b = get_param_covariance_from_chain(flat_chain, n_sys, model)
    return np.diag(cov_a).copy(), np.diag(cov_b).copy()


def devices():
    """Every OpenCL device (what `sysmap devices` lists) as a list of dicts.
    SysmapError when the machine has no OpenCL platform."""
    L = _lib.lib()
    ptr, n = ctypes.POINTER(_lib.Device)(), ctypes.c_size_t()
    _lib.check(L.sm_opencl_devices(ctypes.byref(ptr), ctypes.byref(n)))
    try:
        out = []
        for i in range(n.value):
            dv = ptr[i]
            out.append({"index": dv.index, "platform_index": dv.platform_index,
                        "device_index": dv.device_index, "platform": dv.platform.decode(),
                        "name": dv.name.decode(), "vendor": dv.vendor.decode(),
                        "driver": dv.driver.decode(), "version": dv.version.decode(),
                        "type": dv.type.decode() if dv.type else "",
                        "compute_units": dv.compute_units, "clock_mhz": dv.clock_mhz,
                        "global_mem_bytes": dv.global_mem_bytes,
                        "max_alloc_bytes": dv.max_alloc_bytes,
                        "local_mem_bytes": dv.local_mem_bytes,
                        "max_work_group_size": dv.max_work_group_size, "fp64": bool(dv.fp64)})
        return out
    finally:
        _lib.free(ptr)
