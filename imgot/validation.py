"""Argument checks shared by every public function and estimator: one message per kind of mistake.

Each check raises a plain :class:`ValueError` naming the parameter and the
value it got (scikit-image's and scikit-learn's convention), and is called
once per ``fit`` and per ``transform``, not on every internal step. Nothing
is imported but the standard library, so the CLI can read :data:`MAX_SEED`
without loading numpy.
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real

__all__ = ["MAX_SEED", "check_flag", "check_integer", "check_positive", "check_seed", "check_share", "renamed",
           "takes_renamed"]

#: The largest seed: scikit-learn's k-means (numpy's legacy RandomState) takes 0..2**32 - 1.
MAX_SEED = 2**32 - 1


def _is_integer(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def check_integer(name: str, value, low: int) -> None:
    """`value` is an integer (not a bool) >= `low`.

    >>> check_integer("n_clusters", 0, 1)
    Traceback (most recent call last):
    ...
    ValueError: n_clusters must be an integer >= 1, got 0
    """
    if not _is_integer(value) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def check_positive(name: str, value, *, allow_inf: bool = False) -> None:
    """`value` is a real number (not a bool) > 0, finite unless `allow_inf` (then +inf is allowed).

    >>> check_positive("reg", -1.0)
    Traceback (most recent call last):
    ...
    ValueError: reg must be a finite positive number, got -1.0
    """
    number = isinstance(value, Real) and not isinstance(value, bool)
    infinite = number and allow_inf and math.isinf(float(value)) and float(value) > 0
    if not number or not float(value) > 0 or not (infinite or math.isfinite(float(value))):
        what = "a positive number or inf" if allow_inf else "a finite positive number"
        raise ValueError(f"{name} must be {what}, got {value!r}")


def check_share(name: str, value, high: float = 1.0) -> None:
    """`value` is a real number (not a bool) in [0, `high`] ([0, 1] by default).

    >>> check_share("strength", 1.5)
    Traceback (most recent call last):
    ...
    ValueError: strength must be in [0, 1], got 1.5
    """
    if not isinstance(value, Real) or isinstance(value, bool) or not 0.0 <= float(value) <= high:
        raise ValueError(f"{name} must be in [0, {high:g}], got {value!r}")


def check_flag(name: str, value) -> None:
    """`value` is True or False (a Python or numpy bool).

    >>> check_flag("detail", 1)
    Traceback (most recent call last):
    ...
    ValueError: detail must be True or False, got 1
    """
    import numpy as np

    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def check_seed(value, *, allow_none: bool = True, name: str = "random_state") -> None:
    """`value` is an integer seed in 0..:data:`MAX_SEED` (or None, a fresh seed, if `allow_none`).

    >>> check_seed(-1)
    Traceback (most recent call last):
    ...
    ValueError: random_state must be None or an integer seed in 0..4294967295, got -1
    >>> check_seed(None, allow_none=False)
    Traceback (most recent call last):
    ...
    ValueError: random_state must be an integer seed in 0..4294967295, got None
    """
    if value is None and allow_none:
        return
    if not _is_integer(value) or not 0 <= value <= MAX_SEED:
        what = "None or an integer seed" if allow_none else "an integer seed"
        raise ValueError(f"{name} must be {what} in 0..{MAX_SEED}, got {value!r}")


#: Parameters renamed in this release: old name -> new name. The old names still work, with a
#: DeprecationWarning, until the next release.
RENAMED = {"detail": "preserve_detail", "n_colors": "n_clusters"}


def renamed(owner: str, given: dict, names: tuple[str, ...] = ("detail",), stacklevel: int = 3) -> dict:
    """Keyword arguments given under a deprecated name (`names`, keys of :data:`RENAMED`), under their new names.

    Each old name warns (:class:`DeprecationWarning`); any other keyword is a
    :class:`TypeError`, as Python's own for an unexpected keyword.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     renamed("transfer", {"detail": False})
    {'preserve_detail': False}
    >>> str(caught[0].message)
    "transfer: 'detail' is deprecated (removed in the next release); use 'preserve_detail'"
    >>> renamed("transfer", {"detial": False})
    Traceback (most recent call last):
    ...
    TypeError: transfer() got an unexpected keyword argument 'detial'
    """
    out = {}
    for old, value in given.items():
        if old not in names:
            raise TypeError(f"{owner}() got an unexpected keyword argument {old!r}")
        warnings.warn(f"{owner}: {old!r} is deprecated (removed in the next release); use {RENAMED[old]!r}",
                      DeprecationWarning, stacklevel=stacklevel)
        out[RENAMED[old]] = value
    return out


def takes_renamed(init):
    """Decorate an estimator's ``__init__(..., **deprecated)``: the old names are accepted, not advertised.

    Its signature, as :mod:`inspect` (and so scikit-learn's ``get_params``,
    ``clone`` and estimator checks) sees it, lists the real parameters only.
    """
    import inspect

    signature = inspect.signature(init)
    init.__signature__ = signature.replace(
        parameters=[p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD])
    return init
