"""The sampler run_mcmc returns: emcee's EnsembleSampler reading API over a
libsysmap run (sm_run_t), which stays alive so that run_mcmc(None, n)
continues it (sm_run_extend) with the chain one longer run would have given.

Every number comes from the library (chain, log-probabilities, acceptance,
autocorrelation times, summaries); this module copies them into numpy and
slices them the way emcee does.
"""
import ctypes
import sys
import warnings
import weakref

import numpy as np

from . import _lib

try:  # so that `except emcee.autocorr.AutocorrError` catches ours too
    from emcee.autocorr import AutocorrError as _AutocorrBase
except ImportError:  # emcee is optional
    _AutocorrBase = Exception

try:
    from emcee import State as _EmceeState
except ImportError:
    _EmceeState = None


class SysmapWarning(UserWarning):
    """A warning from libsysmap about a run (sm_run_warning): e.g. a burn-in
    that looks too short, or an empty posterior (n_burn == n_steps)."""


class AutocorrError(_AutocorrBase):
    """emcee's AutocorrError (a subclass of it when emcee is installed): the
    chain is shorter than tol autocorrelation times; .tau holds the estimate."""

    def __init__(self, tau, *args):
        self.tau = tau
        Exception.__init__(self, *args)


class State:
    """emcee.State's fields, for when emcee is not installed."""

    def __init__(self, coords, log_prob=None, blobs=None, random_state=None):
        self.coords, self.log_prob, self.blobs, self.random_state = \
            coords, log_prob, blobs, random_state

    def __iter__(self):  # emcee 2's (coords, log_prob, random_state) unpacking
        return iter((self.coords, self.log_prob, self.random_state))


def _make_state(coords, log_prob, random_state):
    if _EmceeState is not None:
        return _EmceeState(coords, log_prob=log_prob, random_state=random_state)
    return State(coords, log_prob=log_prob, random_state=random_state)


class Progress:
    """The per-step callback: a tqdm bar when tqdm is installed (progress may
    be "notebook" for tqdm.notebook, as in emcee), else a line on stderr; and
    the way Ctrl-C reaches the C loop (a non-zero return stops it after the
    step). n is the steps of this call: an extension reports steps counted
    from the start of the run, so the offset total - n is taken off."""

    def __init__(self, show, n, kwargs=None):
        self.show, self.n = bool(show), int(n)
        self.interrupted = False
        self.last = -1
        self.bar = None
        if self.show:
            try:
                if show == "notebook":
                    from tqdm.notebook import tqdm
                else:
                    from tqdm import tqdm
                self.bar = tqdm(total=self.n, **(kwargs or {}))
            except ImportError:
                self.bar = None
        self.tty = self.show and self.bar is None and sys.stderr.isatty()
        self.callback = _lib.PROGRESS(self._step)

    def _step(self, _user, done, total):
        try:
            k = done - (total - self.n)
            if self.bar is not None:
                self.bar.update(k - self.bar.n)
            elif self.show:
                # A terminal gets one line redrawn every percent, a file a
                # line every tenth of the run.
                mark = (100 if self.tty else 10) * k // max(self.n, 1)
                if mark != self.last:
                    self.last = mark
                    text = f"sysmap: step {k}/{self.n} ({100 * k // max(self.n, 1)}%)"
                    end = "\n" if not self.tty or k == self.n else ""
                    sys.stderr.write(("\r" if self.tty else "") + text + end)
                    sys.stderr.flush()
            return 0
        except KeyboardInterrupt:
            self.interrupted = True
            return 1

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _array(ptr, *shape):
    return np.ctypeslib.as_array(ptr, shape=shape).copy() if all(shape) else np.empty(shape)


def _free_run(L, run, data):
    L.sm_run_free(run)
    L.sm_data_free(data)


_SUMMARY_FIELDS = ("median", "std", "var_a", "var_b", "cov_a", "cov_b", "acceptance_fraction",
                   "autocorr_time", "ess", "drift")


class Sampler:
    """What run_mcmc returns: emcee's EnsembleSampler as far as reading and
    continuing a run go, plus sysmap's summaries. All values are in the
    original template basis.

    emcee's API: get_chain, get_log_prob, get_blobs (None), get_last_sample,
    get_autocorr_time, run_mcmc(None, n) (continue), acceptance_fraction,
    iteration, nwalkers, ndim, random_state, log_prob_fn, and the legacy
    chain (walkers, steps, dim), lnprobability (walkers, steps), flatchain,
    flatlnprobability.

    sysmap's summaries (from the library, over the post-burn-in chain, as
    `sysmap run` writes them): median, std, autocorr_time, ess, drift
    (n_dim,), var_a, var_b (n_sys,), cov_a, cov_b (n_sys, n_sys) (ddof 1
    always: the run file's convention, not the helpers'), autocorr_too_short,
    n_kept (post-burn-in steps), warnings (the library's, as strings),
    param_names, backend, device, precision (what evaluated lnL), wall_s,
    evals_per_s, and the settings: model, use_skewed, n_sys, n_walkers,
    n_steps, n_burn, seed (the one used, also when seed=None drew it).
    """

    def __init__(self, L, run, data, cfg, keep, log_prob_fn, settings):
        self._L, self._run, self._cfg, self._keep = L, run, cfg, keep
        self._finalizer = weakref.finalize(self, _free_run, L, run.value,
                                           None if data is None else data.value)
        self.log_prob_fn = log_prob_fn  # emcee's attribute; arviz reads its .args
        for k, v in settings.items():
            setattr(self, k, v)
        n_dim = L.sm_model_n_dim(L.sm_run_model(run))
        self.nwalkers, self.ndim = int(cfg.n_walkers), int(n_dim)
        self.n_walkers = self.nwalkers
        self.param_names = [L.sm_run_param_name(run, i).decode() for i in range(n_dim)]
        be = L.sm_run_backend(run)
        self.backend = L.sm_backend_name(be).decode()
        self.device = L.sm_backend_device(be).decode()
        self.precision = L.sm_backend_precision(be).decode()
        self._refresh()

    def _refresh(self):
        """Copies the run's chain, log-probabilities, summary and warnings."""
        L, run = self._L, self._run
        n, w, d = int(L.sm_run_config(run).contents.n_steps), self.nwalkers, self.ndim
        self.iteration = self.n_steps = n
        self._chain = _array(L.sm_run_chain(run), n, w, d)
        self._log_prob = _array(L.sm_run_log_prob(run), n, w)
        s = L.sm_run_summary(run).contents
        shapes = {"var_a": (self.n_sys,), "var_b": (self.n_sys,),
                  "cov_a": (self.n_sys, self.n_sys), "cov_b": (self.n_sys, self.n_sys),
                  "acceptance_fraction": (w,)}
        for name in _SUMMARY_FIELDS:
            setattr(self, name, _array(getattr(s, name), *shapes.get(name, (d,))))
        self.autocorr_too_short = bool(s.autocorr_too_short)
        self.n_kept = int(s.n_kept)
        self.wall_s, self.evals_per_s = s.wall_s, s.evals_per_s
        self.warnings = []
        if _lib.has("sm_run_n_warnings"):
            self.warnings = [L.sm_run_warning(run, i).decode(errors="replace")
                             for i in range(L.sm_run_n_warnings(run))]

    def _warn(self, stacklevel):
        for text in self.warnings:
            warnings.warn(text, SysmapWarning, stacklevel=stacklevel + 1)

    # emcee's reading API ------------------------------------------------

    def _value(self, v, flat, thin, discard):
        # emcee's Backend.get_value slicing: the first kept step is
        # discard + thin - 1.
        v = v[discard + thin - 1:self.iteration:thin]
        return v.reshape((-1,) + v.shape[2:]) if flat else v

    def get_chain(self, flat=False, thin=1, discard=0):
        """emcee's get_chain: (steps, walkers, dim), or (steps * walkers, dim) flat."""
        return self._value(self._chain, flat, thin, discard)

    def get_log_prob(self, flat=False, thin=1, discard=0):
        """emcee's get_log_prob: (steps, walkers), or flat."""
        return self._value(self._log_prob, flat, thin, discard)

    def get_blobs(self, flat=False, thin=1, discard=0):
        """None: sysmap's log-probability has no blobs (emcee's answer then)."""
        return None

    @property
    def blobs(self):
        return None

    def get_last_sample(self):
        """emcee.State (sysmap.sampler.State without emcee) of the last step:
        coords (walkers, dim), log_prob (walkers,), random_state (numpy's
        RandomState.get_state() tuple of the generator that continues)."""
        return _make_state(self._chain[-1].copy(), self._log_prob[-1].copy(), self.random_state)

    @property
    def random_state(self):
        """The generator's state after the last step, as numpy's
        RandomState.get_state(): ('MT19937', key, pos, has_gauss, gauss)."""
        if not _lib.has("sm_run_rng_state"):
            raise NotImplementedError("this libsysmap has no sm_run_rng_state")
        st = _lib.RngState()
        _lib.check(self._L.sm_run_rng_state(self._run, ctypes.byref(st)))
        return ("MT19937", np.array(st.key, dtype=np.uint32), int(st.pos), int(st.has_gauss),
                float(st.gauss))

    def get_autocorr_time(self, discard=0, thin=1, quiet=False, c=5, tol=50, has_walkers=True):
        """emcee's get_autocorr_time, computed by libsysmap
        (sm_stats_autocorr_time, emcee's integrated_time): tau (ndim,) in
        steps. When the chain is shorter than tol * tau: AutocorrError, or
        with quiet=True a warning and the estimate."""
        if not has_walkers:
            raise ValueError("sysmap chains always have walkers (has_walkers=True)")
        x = np.ascontiguousarray(self.get_chain(discard=discard, thin=thin))
        n_t, w, d = x.shape
        tau, flag = np.empty(d), ctypes.c_int()
        _lib.check(self._L.sm_stats_autocorr_time(x.ctypes.data_as(_lib.c_double_p), n_t, w, d,
                                                  float(c), float(tol),
                                                  tau.ctypes.data_as(_lib.c_double_p),
                                                  ctypes.byref(flag)))
        # emcee's test (a NaN tau, from a constant parameter, never flags).
        too_short = tol * tau > n_t
        if np.any(too_short):
            msg = (f"The chain is shorter than {tol} times the integrated autocorrelation time "
                   f"for {np.sum(too_short)} parameter(s). Use this estimate with caution and "
                   f"run a longer chain!\nN/{tol} = {n_t / tol:.0f};\ntau: {tau}")
            if not quiet:
                raise AutocorrError(tau, msg)
            warnings.warn(msg, SysmapWarning, stacklevel=2)
        return thin * tau

    @property
    def chain(self):
        """emcee's legacy chain: (walkers, steps, dim)."""
        return np.swapaxes(self.get_chain(), 0, 1)

    @property
    def flatchain(self):
        return self.get_chain(flat=True)

    @property
    def lnprobability(self):
        """emcee's legacy log-probabilities: (walkers, steps)."""
        return np.swapaxes(self.get_log_prob(), 0, 1)

    @property
    def flatlnprobability(self):
        return self.get_log_prob(flat=True)

    # continuing -----------------------------------------------------------

    def run_mcmc(self, initial_state, nsteps, progress=False, progress_kwargs=None,
                 store=True, thin_by=1, tune=False, skip_initial_state_check=False):
        """emcee's run_mcmc(None, nsteps): continues from the last sample
        (sm_run_extend); the chain is then the one a single run of
        iteration + nsteps steps gives, bit for bit. initial_state may also
        be the last sample itself; any other start is refused (the library
        continues its own state). Returns get_last_sample(). Library warnings
        about the longer run become SysmapWarning."""
        del skip_initial_state_check  # nothing to check: the state is the run's own
        if not store or thin_by != 1 or tune:
            raise NotImplementedError("sysmap continues a run with store=True, thin_by=1, "
                                      "tune=False only")
        if initial_state is not None:
            coords = getattr(initial_state, "coords", initial_state)
            if not np.array_equal(np.asarray(coords), self._chain[-1]):
                raise ValueError("sysmap continues a run from its last sample only: pass "
                                 "initial_state=None (or get_last_sample())")
        if not _lib.has("sm_run_extend"):
            raise NotImplementedError("this libsysmap has no sm_run_extend")
        nsteps = int(nsteps)
        if nsteps < 0:
            raise ValueError(f"nsteps {nsteps}: must be >= 0")
        prog = Progress(progress, nsteps, progress_kwargs)
        try:
            status = self._L.sm_run_extend(self._run, nsteps, prog.callback, None)
        finally:
            prog.close()
        if prog.interrupted:
            raise KeyboardInterrupt(self._L.sm_last_error().decode())
        _lib.check(status)
        self._refresh()
        self._warn(2)
        return self.get_last_sample()

    def __repr__(self):
        return (f"sysmap.Sampler({self.model}{' skew' if self.use_skewed else ''}, "
                f"{self.nwalkers} walkers x {self.iteration} steps, backend {self.backend} "
                f"{self.precision})")


RunResult = Sampler  # the earlier name
