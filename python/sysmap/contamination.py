"""sys-mapping's parameter-layout helpers (sys_mapping.contamination):
n_free_params, pack_params, unpack_params.

Pure conventions (how a, b, sigma and gamma sit in the flat vector), so they
are plain numpy; the layout is libsysmap's (sysmap/model.h):
additive [a, sigma], multiplicative [a, sigma] with b = a (one vector acting
both ways), combined [a, b, sigma], then gamma for the skew-normal
likelihood.
"""
import numpy as np

_MODELS = ("additive", "multiplicative", "combined")


def _check_model(model):
    if model not in _MODELS:
        raise ValueError(f"Unknown model '{model}'. Choose additive, multiplicative, or combined.")


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
    _check_model(model)
    return 2 * n_sys if model == "combined" else n_sys


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
    parts = [np.asarray(a)]
    if model == "combined":
        if b is None:
            raise ValueError("combined model requires b")
        parts.append(np.asarray(b))
    parts.append(np.array([sigma]))
    if gamma is not None:
        parts.append(np.array([gamma]))
    return np.concatenate(parts)


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
    _check_model(model)
    theta = np.asarray(theta)
    a = theta[:n_sys]
    if model == "additive":
        b, rest = np.zeros(n_sys), theta[n_sys:]
    elif model == "multiplicative":
        b, rest = a, theta[n_sys:]
    else:
        b, rest = theta[n_sys:2 * n_sys], theta[2 * n_sys:]
    sigma = rest[0]
    gamma = rest[1] if use_skewed else None
    return a, b, sigma, gamma
