"""Runs on input files, as `sysmap run` does them: an HDF5 input or HEALPix
FITS maps in, the run file and the corrected maps out, every setting and
rule the library's (sysmap/run.h), so both give the same files."""
import ctypes

import numpy as np

from . import _lib
from .inference import _execute, _run_config, _sampler

# run_mcmc's names of the settings the library names otherwise
_NAMES = {"use_skewed": "skew", "n_walkers": "walkers", "n_steps": "steps", "n_burn": "burn"}


def _source(keep, spec):
    """A HEALPix file as a path or (path, column)."""
    path, column = (spec, None) if isinstance(spec, (str, bytes)) or hasattr(
        spec, "__fspath__") else spec
    keep.extend([str(path).encode(), None if column is None else str(column).encode()])
    return _lib.HpxSource(keep[-2], keep[-1])


def _input(keep, hdf5, healpix_map, templates, mask, counts, mask_min, standardize, reorder,
           resample):
    inp = _lib.Input()
    _lib.lib().sm_input_default(ctypes.byref(inp))
    if hdf5 is not None:
        keep.append(str(hdf5).encode())
        inp.hdf5 = keep[-1]
    if healpix_map is not None:
        inp.map = _source(keep, healpix_map)
    sources = (_lib.HpxSource * max(len(templates), 1))(*(_source(keep, t) for t in templates))
    keep.append(sources)
    inp.templates, inp.n_templates = sources, len(templates)
    if mask is not None:
        inp.mask = _source(keep, mask)
    inp.map_kind, inp.mask_min = int(bool(counts)), float(mask_min)
    inp.standardize, inp.reorder, inp.resample = bool(standardize), bool(reorder), bool(resample)
    return inp


def run_file(input=None, *, map=None, templates=(), mask=None, counts=False, mask_min=0.0,
             standardize=False, reorder=False, resample=False, out=None, maps_out=None,
             resume=False, init=None, progress=True, progress_kwargs=None, **settings):
    """Samples the posterior of an input file as `sysmap run` does.

    The input: an HDF5 file (input: delta_g_obs, templates, optional mask),
    or HEALPix FITS maps (map; templates, a list of paths or (path, column);
    mask, counts, mask_min, standardize, reorder, resample as sysmap run's
    --map options). out: the run file (None: in memory); maps_out: the
    corrected maps, FITS for a .fits name, else HDF5; with a HEALPix input
    (or maps_out) the maps also go into the run file (group maps). resume
    continues out's partial file; init: an HDF5 file of initial walkers.
    settings: model, use_skewed, n_walkers, n_steps, n_burn, seed, basis,
    sigma_min, backend, device, precision, flush_every; the library's
    defaults (those of `sysmap run`) where not given, and its checks
    (SysmapValueError naming the setting).

    Returns
    -------
    flat_chain, sampler : as run_mcmc's.
    """
    L = _lib.lib()
    keep = []
    cfg = _run_config(L, keep, output=out, maps_out=maps_out, resume=resume, init=init,
                      **{_NAMES.get(k, k): v for k, v in settings.items()})
    inp = _input(keep, input, map, list(templates), mask, counts, mask_min, standardize,
                 reorder, resample)
    _lib.check(L.sm_run_config_check_files(ctypes.byref(cfg), ctypes.byref(inp)))
    data, pixels = ctypes.c_void_p(), ctypes.c_void_p()
    _lib.check(L.sm_input_load(ctypes.byref(inp), ctypes.byref(data), ctypes.byref(pixels)))
    # Copied first: the run takes data over and turns its templates in place.
    n, s = L.sm_data_n_pix(data), L.sm_data_n_sys(data)
    d = np.ctypeslib.as_array(L.sm_data_delta(data), shape=(n,)).copy()
    t = np.ctypeslib.as_array(L.sm_data_templates(data), shape=(s, n)).copy()
    try:
        run = _execute(L, data, cfg, progress, progress_kwargs, pixels, adopt=True)
    finally:
        L.sm_pixels_free(pixels)
    sampler = _sampler(L, run, None, cfg, keep, d, t)
    sampler._warn(2)
    return sampler.get_chain(discard=int(cfg.n_burn), flat=True), sampler
