"""sys-mapping's inference API (sys_mapping.inference) over libsysmap:
make_log_prob, run_mcmc, run_additive_analytic, get_mle_params,
get_param_variance_from_chain, get_param_covariance_from_chain; and
devices().

Same names, arguments, defaults and return shapes as sys-mapping 1.1.0, so
`import sysmap as sys_mapping` runs a sys-mapping script. Every number comes
from the C library (log-probabilities, the sampler, medians, covariances,
autocorrelation, the additive posterior); this module moves arrays across,
applies sys-mapping's conventions (which block is which, ddof) and shapes
the results.
"""
import ctypes
import threading
import weakref

import numpy as np

from . import _lib
from .sampler import Progress, Sampler


def _f64(a, name, ndim):
    a = np.ascontiguousarray(a, dtype=np.float64)
    if a.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-d array, got shape {a.shape}")
    return a


def _ptr(a):
    return a.ctypes.data_as(_lib.c_double_p)


def _enc(value):
    return None if value is None else str(value).encode()


def _model(n_sys, model, skew=False, sigma_min=1e-6):
    return _lib.model(n_sys, model, skew, sigma_min)


def _map_arrays(n_sys, delta_g_obs, delta_t):
    d = _f64(delta_g_obs, "delta_g_obs", 1)
    t = np.ascontiguousarray(delta_t, dtype=np.float64)
    if t.ndim == 1 and n_sys == 1:
        t = t[None, :]
    if t.shape != (n_sys, d.size):
        raise ValueError(f"delta_t: shape {t.shape}, expected (n_sys, n_pix) = "
                         f"({n_sys}, {d.size})")
    return d, t


def _new_data(L, d, t):
    data = ctypes.c_void_p()
    _lib.check(L.sm_data_create(ctypes.byref(data), d.size, t.shape[0], _ptr(d), _ptr(t), None))
    return data


def _free_backend(L, backend, data):
    L.sm_backend_free(backend)
    L.sm_data_free(data)


class LogProb:
    """sys-mapping's log_prob (make_log_prob), evaluated by libsysmap.

    log_prob(theta) with theta (n_dim,) gives a float; log_prob(thetas) with
    thetas (k, n_dim) gives (k,) in one batched call (sm_backend_log_prob),
    whichever vectorize was asked for, so it serves
    emcee.EnsembleSampler(..., vectorize=True) and plain emcee alike. The
    value is lnL plus the prior: -inf where sigma <= sigma_min or lnL is not
    finite. Picklable (the map and settings travel; the receiving process
    opens its own backend), so emcee's multiprocessing pools work.
    n_dim and param_names ("a_1", ..., "sigma", "gamma") are the library's.
    """

    def __init__(self, n_sys, model, delta_g_obs, delta_t, use_skewed=False, sigma_min=1e-6,
                 vectorize=False, backend=None, device=None, precision=None):
        L = _lib.lib()
        self._d, self._t = _map_arrays(n_sys, delta_g_obs, delta_t)
        self._model = _model(n_sys, model, use_skewed, sigma_min)
        _lib.check(L.sm_model_validate(ctypes.byref(self._model)))
        self.n_sys, self.model, self.use_skewed = int(n_sys), model, bool(use_skewed)
        self.sigma_min, self.vectorize = float(sigma_min), bool(vectorize)
        self.n_dim = int(L.sm_model_n_dim(ctypes.byref(self._model)))
        self.param_names = _lib.param_names(self._model)
        self._choice = (backend, device, precision)
        self.args, self.kwargs = [], {}  # emcee's _FunctionWrapper fields (arviz reads args)
        self._backend = None
        self._lock = threading.Lock()

    def open(self):
        """Opens the backend now (otherwise at the first call); errors (an
        unknown backend, no such device) are raised here."""
        if self._backend is not None:
            return self
        L = _lib.lib()
        data = _new_data(L, self._d, self._t)
        be = ctypes.c_void_p()
        status = L.sm_backend_open(ctypes.byref(be), *(_enc(v) for v in self._choice), data,
                                   ctypes.byref(self._model))
        if status != 0:
            L.sm_data_free(data)
            _lib.check(status)
        self._backend = be
        self._finalizer = weakref.finalize(self, _free_backend, L, be.value, data.value)
        return self

    def _describe(self, fn):
        self.open()
        return fn(self._backend).decode()

    @property
    def backend(self):
        """The backend that evaluates: "reference" or "opencl"."""
        return self._describe(_lib.lib().sm_backend_name)

    @property
    def device(self):
        return self._describe(_lib.lib().sm_backend_device)

    @property
    def precision(self):
        return self._describe(_lib.lib().sm_backend_precision)

    def __call__(self, theta):
        x = np.ascontiguousarray(theta, dtype=np.float64)
        single = x.ndim == 1
        if single:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.n_dim:
            raise ValueError(f"theta: shape {np.shape(theta)}, expected ({self.n_dim},) or "
                             f"(k, {self.n_dim})")
        self.open()
        lp = np.empty(x.shape[0])
        with self._lock:
            _lib.check(_lib.lib().sm_backend_log_prob(self._backend, x.shape[0], _ptr(x),
                                                      _ptr(lp)))
        return float(lp[0]) if single else lp

    def __reduce__(self):
        return (LogProb, (self.n_sys, self.model, self._d, self._t, self.use_skewed,
                          self.sigma_min, self.vectorize) + self._choice)

    def __repr__(self):
        return (f"sysmap.LogProb({self.model}{' skew' if self.use_skewed else ''}, "
                f"S={self.n_sys}, n_dim={self.n_dim}, {self._d.size} pixels)")


def make_log_prob(n_sys, model, delta_g_obs, delta_t, use_skewed=False, sigma_min=1e-6,
                  vectorize=False, *, backend=None, device=None, precision=None):
    """Build an emcee-compatible log_prob with the sigma > sigma_min prior
    (sys_mapping.make_log_prob), evaluated by libsysmap.

    Parameters
    ----------
    n_sys : int
    model : str  ``'additive'``, ``'multiplicative'`` or ``'combined'``
    delta_g_obs : (n_pix,) observed overdensity
    delta_t : (n_sys, n_pix) template values
    use_skewed : bool  skew-normal likelihood (gamma last in theta)
    sigma_min : float  sigma <= sigma_min has zero probability (-inf)
    vectorize : bool  accepted for sys-mapping's signature; the returned
        function takes (n_dim,) -> float and (k, n_dim) -> (k,) either way
    backend, device, precision : sysmap's choice of evaluator: backend
        "auto" (None: OpenCL when the machine has a device, else
        "reference"), "opencl" or "reference"; device "N" or "P:D" (see
        devices()); precision "fp64" (default where the device has it) or
        "fp32"

    Returns
    -------
    log_prob : LogProb, callable(theta) -> float, callable(thetas (k, n_dim)) -> (k,)
    n_dim : int

    theta is in the original template basis, sys-mapping's layout:
    [a, sigma] (additive), [a, sigma] with b = a (multiplicative),
    [a, b, sigma] (combined), then gamma.

    Examples
    --------
    >>> import numpy as np
    >>> from sysmap import make_log_prob
    >>> rng = np.random.default_rng(0)
    >>> delta_g = rng.standard_normal(2000) * 0.1
    >>> delta_t = rng.standard_normal((3, 2000))
    >>> log_prob, n_dim = make_log_prob(3, "combined", delta_g, delta_t)
    >>> n_dim  # 3a + 3b + 1sigma = 7
    7
    >>> theta0 = np.zeros(n_dim); theta0[-1] = 0.1  # sigma = 0.1
    >>> round(log_prob(theta0), 6)  # sys-mapping 1.1.0: 1766.1126785247936
    1766.112679
    """
    fn = LogProb(n_sys, model, delta_g_obs, delta_t, use_skewed, sigma_min, vectorize,
                 backend, device, precision)
    fn.open()
    return fn, fn.n_dim


def _seed32(seed):
    """The library's 32-bit seed: seed itself when it fits (the library
    refuses a negative one); None draws fresh entropy and a larger one is
    reduced, both through numpy's SeedSequence."""
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1, dtype=np.uint32)[0])
    seed = int(seed)
    if seed > 0xFFFFFFFF:
        return int(np.random.SeedSequence(seed).generate_state(1, dtype=np.uint32)[0])
    return seed


def _text(value):
    if isinstance(value, (bool, np.bool_)):
        return b"1" if value else b"0"
    if isinstance(value, (float, np.floating)):
        return repr(float(value)).encode()
    if isinstance(value, (int, np.integer)):
        return str(int(value)).encode()
    return str(value).encode()


def _run_config(L, keep, **settings):
    """A run configuration (sm_run_config_t) from the library's defaults and
    settings by the library's names (sysmap/run.h); None keeps a default.
    Each value goes through the library's parser (sm_run_config_set), which
    refuses a bad one with SysmapValueError naming the setting. keep holds
    the texts the configuration borrows."""
    cfg = _lib.RunConfig()
    L.sm_run_config_default(ctypes.byref(cfg))
    for name, value in settings.items():
        if value is not None:
            keep.append(_text(value))
            _lib.check(L.sm_run_config_set(ctypes.byref(cfg), name.encode(), keep[-1]))
    return cfg


def _execute(L, data, cfg, progress, progress_kwargs, pixels=None, adopt=False):
    """Creates and executes the run of cfg on data (owned from here on: freed
    on failure, else by the returned run's Sampler, or with adopt by the run
    itself, whose templates then turn into the sampling basis in place, as
    `sysmap run` does), then writes its maps when pixels (an input's layout)
    are given. Returns the run."""
    run = ctypes.c_void_p()
    try:
        if adopt:
            _lib.check(L.sm_run_create_adopting(ctypes.byref(run), data, ctypes.byref(cfg),
                                                None, None))
        else:
            _lib.check(L.sm_run_create(ctypes.byref(run), data, ctypes.byref(cfg)))
        prog = Progress(progress, cfg.n_steps, progress_kwargs)
        try:
            status = L.sm_run_execute(run, cfg.output, cfg.resume, prog.callback, None)
        finally:
            prog.close()
        if prog.interrupted:
            raise KeyboardInterrupt(L.sm_last_error().decode())
        _lib.check(status)
        if pixels is not None:
            _lib.check(L.sm_run_write_maps(run, pixels, None))
    except BaseException:
        L.sm_run_free(run)
        if not adopt:
            L.sm_data_free(data)
        raise
    return run


def run_mcmc(n_sys, *, model=None, delta_g_obs, delta_t, use_skewed=False,
             n_walkers=None, n_steps=None, n_burn=None, seed=42, progress=True,
             vectorize=False, backend=None, device=None, precision=None, basis=None,
             sigma_min=None, init=None, out=None, progress_kwargs=None):
    """Samples the contamination posterior of a map (sys_mapping.run_mcmc)
    with libsysmap's emcee-3 sampler (stretch move, a = 2).

    Parameters as sys-mapping's: n_sys, model, delta_g_obs (n_pix,),
    delta_t (n_sys, n_pix), use_skewed, n_walkers, n_steps (burn-in
    included), n_burn, seed (None: fresh entropy; the seed used is
    sampler.seed), progress (a tqdm bar when tqdm is installed, else a line
    on stderr), vectorize (accepted; evaluation is always batched). sysmap's
    extras: backend, device, precision (see make_log_prob), basis (sampling
    basis "rotated" or "original"; results are always in the original
    basis), sigma_min, init (n_walkers, n_dim) initial walkers in the
    original basis, out (write the run file, as `sysmap run -o`; such a run
    cannot be continued in memory), progress_kwargs (for tqdm). model,
    n_walkers, n_steps, n_burn, basis and sigma_min left None take the
    library's defaults, which are sys-mapping's (combined, 250, 1500, 300,
    rotated, 1e-6); the library checks every setting (SysmapValueError, a
    ValueError, naming it).

    Initial walkers (without init) are drawn from numpy's legacy
    RandomState(seed) as N(0, 0.05) for the contamination parameters,
    std(delta_g_obs) (1 + N(0, 0.1)) for sigma and N(0, 0.1) for gamma; the
    sampler continues that stream, so a seed gives one chain, the same as
    `sysmap run --seed` gives (sys-mapping draws p0 from default_rng(seed)
    and samples with emcee's unseeded generator).

    Returns
    -------
    flat_chain : (n_walkers * (n_steps - n_burn), n_dim) post-burn-in samples
    sampler : Sampler, emcee's EnsembleSampler reading API (get_chain,
        get_log_prob, acceptance_fraction, get_autocorr_time,
        get_last_sample, run_mcmc(None, n) to continue, ...) and sysmap's
        summaries. Library warnings (a burn-in that looks too short, an
        empty posterior) are issued as SysmapWarning.

    Examples
    --------
    >>> import numpy as np
    >>> from sysmap import run_mcmc
    >>> rng = np.random.default_rng(0)
    >>> delta_g = rng.standard_normal(500) * 0.1
    >>> delta_t = rng.standard_normal((2, 500))
    >>> chain, sampler = run_mcmc(
    ...     n_sys=2, model="additive",
    ...     delta_g_obs=delta_g, delta_t=delta_t,
    ...     n_walkers=50, n_steps=200, n_burn=50,
    ...     progress=False,
    ... )
    >>> chain.shape  # (50 walkers * 150 steps, 3 params: a0, a1, sigma)
    (7500, 3)
    """
    del vectorize  # every step evaluates a half-ensemble in one call
    L = _lib.lib()
    d, t = _map_arrays(n_sys, delta_g_obs, delta_t)
    keep = []  # texts and arrays the run borrows for its lifetime
    cfg = _run_config(L, keep, model=model, skew=use_skewed, sigma_min=sigma_min,
                      walkers=n_walkers, steps=n_steps, burn=n_burn, seed=_seed32(seed),
                      basis=basis, backend=backend, device=device, precision=precision,
                      output=out)
    if init is not None:
        p0 = _f64(init, "init", 2)
        m = _lib.Model(ctypes.sizeof(_lib.Model), cfg.model, cfg.skew, int(n_sys), cfg.sigma_min)
        n_dim = L.sm_model_n_dim(ctypes.byref(m))
        if p0.shape != (cfg.n_walkers, n_dim):
            raise ValueError(f"init: shape {p0.shape}, expected (n_walkers, n_dim) = "
                             f"({cfg.n_walkers}, {n_dim})")
        keep.append(p0)
        cfg.init = _ptr(p0)
    data = _new_data(L, d, t)
    run = _execute(L, data, cfg, progress, progress_kwargs)
    sampler = _sampler(L, run, data, cfg, keep, d, t)
    sampler._warn(2)
    return sampler.get_chain(discard=int(cfg.n_burn), flat=True), sampler


def _setting(L, cfg, name):
    buf = ctypes.create_string_buffer(64)
    _lib.check(L.sm_run_config_get(ctypes.byref(cfg), name.encode(), buf, len(buf)))
    return buf.value.decode()


def _sampler(L, run, data, cfg, keep, d, t):
    """The Sampler of an executed run of cfg on the map d, t (data: the
    handle it frees with the run, None when the run owns it), its settings
    read back from cfg."""
    model = _setting(L, cfg, "model")
    log_prob_fn = LogProb(t.shape[0], model, d, t, bool(cfg.skew), cfg.sigma_min, False,
                          *(v and v.decode() for v in (cfg.backend, cfg.device, cfg.precision)))
    return Sampler(L, run, data, cfg, keep, log_prob_fn,  # log_prob_fn opened on first use
                   dict(model=model, use_skewed=bool(cfg.skew), n_sys=int(t.shape[0]),
                        n_burn=int(cfg.n_burn), seed=int(cfg.seed),
                        basis=_setting(L, cfg, "basis")))


class AnalyticSampler:
    """sys-mapping's _AnalyticSampler: acceptance_fraction 1, rhat 1,
    num_divergences 0, ess = n_samples (exact i.i.d. draws), n_samples,
    n_dim; plus the exact posterior from libsysmap: a_ols (the mean of a),
    cov_a (its marginal covariance), alpha, beta (sigma^2 ~ InvGamma), rss,
    sigma_median."""

    def __init__(self, n_samples, n_dim):
        self.acceptance_fraction = 1.0
        self.num_divergences = 0
        self.rhat = 1.0
        self.ess = float(n_samples)
        self.n_samples = n_samples
        self.n_dim = n_dim


def run_additive_analytic(n_sys, *, delta_g_obs, delta_t, n_samples=100_000, seed=42):
    """Draws the exact posterior of the additive model
    (sys_mapping.run_additive_analytic): with flat priors on a and sigma,
    sigma^2 ~ InvGamma(alpha = (N - S - 1)/2, beta = RSS/2) and
    a | sigma^2 ~ N(a_ols, sigma^2 (X^T X)^-1), X = delta_t^T.

    a_ols, (X^T X)^-1, alpha and beta come from libsysmap
    (sm_stats_additive_posterior); the draws from numpy's
    Generator(default_rng(seed)): sigma first, then a. They differ from
    sys-mapping's draws (JAX's PRNG stream) but have the same distribution.
    The library needs N > S + 3 pixels (a finite covariance of a).

    Returns
    -------
    flat_chain : (n_samples, n_sys + 1), layout [a_1..a_S, sigma]
    sampler : AnalyticSampler
    """
    d = _f64(delta_g_obs, "delta_g_obs", 1)
    rng = np.random.default_rng(seed)
    n_samples = int(n_samples)
    if n_sys == 0:
        # sigma alone: RSS = d.d (nothing for the library to solve).
        alpha = max((d.size - 1) / 2.0, 1e-3)
        sigma = np.sqrt(0.5 * float(d @ d) / rng.gamma(alpha, 1.0, n_samples))
        return sigma[:, None], AnalyticSampler(n_samples, 1)
    L = _lib.lib()
    d, t = _map_arrays(n_sys, d, delta_t)
    data = _new_data(L, d, t)
    post = ctypes.POINTER(_lib.AdditivePosterior)()
    try:
        _lib.check(L.sm_stats_additive_posterior(ctypes.byref(post), data))
        p = post.contents
        s = int(p.n_sys)
        a_ols = np.ctypeslib.as_array(p.a_ols, shape=(s,)).copy()
        xtx_inv = np.ctypeslib.as_array(p.xtx_inv, shape=(s, s)).copy()
        cov_a = np.ctypeslib.as_array(p.cov_a, shape=(s, s)).copy()
        alpha, beta, rss, sigma_median = p.alpha, p.beta, p.rss, p.sigma_median
    finally:
        L.sm_stats_additive_posterior_free(post)
        L.sm_data_free(data)
    sigma = np.sqrt(beta / rng.gamma(alpha, 1.0, n_samples))
    # a = a_ols + sigma C z with C C^T = (X^T X)^-1.
    chol = np.linalg.cholesky(xtx_inv)
    a = a_ols + sigma[:, None] * (rng.standard_normal((n_samples, s)) @ chol.T)
    smp = AnalyticSampler(n_samples, s + 1)
    smp.a_ols, smp.cov_a, smp.alpha, smp.beta = a_ols, cov_a, alpha, beta
    smp.rss, smp.sigma_median = rss, sigma_median
    return np.column_stack([a, sigma]), smp


def get_mle_params(flat_chain):
    """Return the posterior median as a robust point estimate
    (sys_mapping.get_mle_params): np.median(flat_chain, axis=0), computed by
    libsysmap (sm_stats_median).

    Examples
    --------
    >>> import numpy as np
    >>> from sysmap import get_mle_params
    >>> rng = np.random.default_rng(0)
    >>> flat_chain = rng.standard_normal((5000, 4))  # mock chain
    >>> theta_hat = get_mle_params(flat_chain)
    >>> theta_hat.shape
    (4,)
    """
    f = _f64(flat_chain, "flat_chain", 2)
    out = np.empty(f.shape[1])
    _lib.check(_lib.lib().sm_stats_median(_ptr(f), f.shape[0], f.shape[1], _ptr(out)))
    return out


def _cov_block(f, col, k):
    """sys-mapping's estimator of one (k, k) block: np.cov (ddof 1) for
    k > 1, np.var (ddof 0) for k = 1; the library computes the ddof-1
    covariance and the ddof-0 one is rescaled from it."""
    n = f.shape[0]
    if n < 2:  # numpy's answers: nan for ddof 1, 0 for the variance of one sample
        return np.full((k, k), np.nan if k > 1 or n == 0 else 0.0)
    cov = np.empty((k, k))
    _lib.check(_lib.lib().sm_stats_covariance(_ptr(f), n, f.shape[1], col, k, _ptr(cov)))
    return cov if k > 1 else cov * ((n - 1) / n)


def get_param_covariance_from_chain(flat_chain, n_sys, model):
    """cov_a, cov_b (n_sys, n_sys): the posterior covariance of the
    contamination parameters (sys_mapping.get_param_covariance_from_chain),
    with its conventions:

    - a is columns [0, n_sys); b is columns [n_sys, 2 n_sys) (combined), a
      itself (multiplicative: b = a, so cov_b = cov_a), or zero (additive:
      cov_b all zeros);
    - n_sys > 1: np.cov, ddof 1; n_sys = 1: np.var, ddof 0.

    Computed by libsysmap (sm_stats_covariance); agrees with sys-mapping to
    1e-12 relative (tests/parity_sys_mapping.py). Note that a run's own
    summaries (sampler.cov_a, the run file) use ddof 1 throughout.

    Examples
    --------
    >>> import numpy as np
    >>> from sysmap import get_param_covariance_from_chain
    >>> rng = np.random.default_rng(0)
    >>> n_sys, n_samples = 3, 2000
    >>> flat_chain = rng.standard_normal((n_samples, 2 * n_sys + 1)) * 0.01
    >>> cov_a, cov_b = get_param_covariance_from_chain(flat_chain, n_sys, "combined")
    >>> cov_a.shape
    (3, 3)
    """
    f = _f64(flat_chain, "flat_chain", 2)
    m = _model(n_sys, model)
    n_cont = int(_lib.lib().sm_model_n_cont(ctypes.byref(m)))
    if f.shape[1] < n_cont:
        raise ValueError(f"flat_chain: {f.shape[1]} columns, but the {model} model with "
                         f"{n_sys} templates has {n_cont + 1} (or {n_cont + 2} with gamma)")
    a0, b0 = _lib.model_layout(m)[:2]
    cov_a = np.zeros((n_sys, n_sys)) if a0 is None else _cov_block(f, a0, n_sys)
    if b0 is None:
        cov_b = np.zeros((n_sys, n_sys))
    else:
        cov_b = cov_a.copy() if b0 == a0 else _cov_block(f, b0, n_sys)
    return cov_a, cov_b


def get_param_variance_from_chain(flat_chain, n_sys, model):
    """var_a, var_b (n_sys,): the diagonals of get_param_covariance_from_chain
    (sys_mapping.get_param_variance_from_chain; same conventions).

    Examples
    --------
    >>> import numpy as np
    >>> from sysmap import get_param_variance_from_chain
    >>> rng = np.random.default_rng(0)
    >>> n_sys, n_samples = 3, 2000
    >>> flat_chain = rng.standard_normal((n_samples, 2 * n_sys + 1)) * 0.01
    >>> var_a, var_b = get_param_variance_from_chain(flat_chain, n_sys, "combined")
    >>> var_a.shape
    (3,)
    """
    cov_a, cov_b = get_param_covariance_from_chain(flat_chain, n_sys, model)
    return np.diag(cov_a).copy(), np.diag(cov_b).copy()


def devices():
    """Every device of every backend (what `sysmap devices` lists) as a list
    of dicts. SysmapError when no backend finds a device (e.g. the machine
    has no OpenCL platform)."""
    L = _lib.lib()
    ptr, n = ctypes.POINTER(_lib.Device)(), ctypes.c_size_t()
    _lib.check(L.sm_devices(None, ctypes.byref(ptr), ctypes.byref(n)))
    try:
        out = []
        for i in range(n.value):
            dv = ptr[i]
            out.append({"backend": dv.backend.decode(), "index": dv.index,
                        "platform_index": dv.platform_index,
                        "device_index": dv.device_index, "platform": dv.platform.decode(),
                        "name": dv.name.decode(), "vendor": dv.vendor.decode(),
                        "driver": dv.driver.decode(), "version": dv.version.decode(),
                        "type": L.sm_device_class_name(dv.device_class).decode(),
                        "compute_units": dv.compute_units, "clock_mhz": dv.clock_mhz,
                        "global_mem_bytes": dv.global_mem_bytes,
                        "max_alloc_bytes": dv.max_alloc_bytes,
                        "local_mem_bytes": dv.local_mem_bytes,
                        "max_work_group_size": dv.max_work_group_size, "fp64": bool(dv.fp64)})
        return out
    finally:
        L.sm_devices_free(ptr)

