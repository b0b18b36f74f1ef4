"""sys-mapping's parameter-layout helpers (sys_mapping.contamination):
n_free_params, pack_params, unpack_params.

Pure conventions (how a, b, sigma and gamma sit in the flat vector), read
from libsysmap's model table (sysmap/model.h): additive [a, sigma],
multiplicative [a, sigma] with b = a (one vector acting both ways), combined
[a, b, sigma], then gamma for the skew-normal likelihood.
"""
import ctypes

import numpy as np

from . import _lib


def _layout(n_sys, model, skew=False):
    """(a, b, sigma, gamma) offsets and n_cont of the model, with
    sys-mapping's message for an unknown one."""
    names = _lib.models()
    if model not in names:
        raise ValueError(f"Unknown model '{model}'. Choose {', '.join(names[:-1])}, or "
                         f"{names[-1]}.")
    m = _lib.model(n_sys, model, skew)
    return _lib.model_layout(m), int(_lib.lib().sm_model_n_cont(ctypes.byref(m)))


def n_free_params(n_sys, model):
    """Number of contamination parameters (excluding sigma / gamma).

    Parameters
    ----------
    n_sys : int  number of systematic templates
    model : str  ``'additive'``, ``'multiplicative'`` or ``'combined'``

    Returns
    -------
    int: n_sys for the additive and multiplicative models, 2 n_sys for combined.

    Examples
    --------
    >>> from sysmap import n_free_params
    >>> n_free_params(4, "additive")
    4
    >>> n_free_params(4, "multiplicative")
    4
    >>> n_free_params(4, "combined")
    8
    """
    # Per template, so any integer n_sys counts as sys-mapping's does.
    return _layout(1, model)[1] * n_sys


def pack_params(a, b, sigma, gamma=None, model="combined"):
    """Pack (a, b, sigma[, gamma]) into a flat parameter vector.

    b is used by the combined model only (required there); the additive
    model has b = 0 and the multiplicative model b = a, so neither stores it.
    gamma, when given, is appended last.

    Returns
    -------
    (n_dim,) float64 numpy array.

    Examples
    --------
    >>> import numpy as np
    >>> from sysmap import pack_params
    >>> a = np.array([0.05, -0.03, 0.02])
    >>> b = np.array([0.04,  0.01, -0.02])
    >>> pack_params(a, b, sigma=0.12, model="combined")
    array([ 0.05, -0.03,  0.02,  0.04,  0.01, -0.02,  0.12])
    >>> pack_params(a, None, 0.12, gamma=1.5, model="additive")
    array([ 0.05, -0.03,  0.02,  0.12,  1.5 ])
    """
    a = np.asarray(a)
    (a0, b0, i_sigma, i_gamma), n_cont = _layout(a.size, model, gamma is not None)
    own_b = b0 is not None and b0 != a0
    if own_b and b is None:
        raise ValueError(f"{model} model requires b")
    theta = np.zeros(n_cont + 1 + (gamma is not None))
    if a0 is not None:
        theta[a0:a0 + a.size] = a
    if own_b:
        theta[b0:b0 + a.size] = b
    theta[i_sigma] = sigma
    if i_gamma is not None:
        theta[i_gamma] = gamma
    return theta


def unpack_params(theta, n_sys, model, use_skewed=False):
    """Unpack a flat parameter vector into (a, b, sigma, gamma).

    Returns numpy arrays (sys-mapping returns JAX arrays): a (n_sys,);
    b (n_sys,): zeros for the additive model, a itself for the
    multiplicative model, the b block for combined; sigma (a numpy scalar);
    gamma (a numpy scalar) when use_skewed, else None.

    Examples
    --------
    >>> import numpy as np
    >>> from sysmap import pack_params, unpack_params
    >>> theta = pack_params(np.array([0.05, -0.03]), np.array([0.04, 0.01]), sigma=0.12)
    >>> a, b, sigma, gamma = unpack_params(theta, n_sys=2, model="combined")
    >>> float(sigma), b.tolist(), gamma
    (0.12, [0.04, 0.01], None)
    """
    (a0, b0, i_sigma, i_gamma), _ = _layout(n_sys, model, use_skewed)
    theta = np.asarray(theta)
    a = np.zeros(n_sys) if a0 is None else theta[a0:a0 + n_sys]
    b = np.zeros(n_sys) if b0 is None else a if b0 == a0 else theta[b0:b0 + n_sys]
    gamma = theta[i_gamma] if use_skewed else None
    return a, b, theta[i_sigma], gamma
