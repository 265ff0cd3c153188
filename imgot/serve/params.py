"""The transfer settings a page request carries, parsed and split by what they invalidate.

A slider move changes one setting; what has to be recomputed depends on which:

- fit settings (``method``, ``n_clusters``, ``color_space``, ``random_state``)
  change what :meth:`imgot.ColorTransfer.fit` learns of the reference;
- plan settings (``reg``, ``reg_m``, ``n_iter``, ``neutralize``) change the
  source-to-reference map, so the preview's base LUT is rebuilt;
- finishing settings (``strength``, ``preserve_luminance``, ``preserve_detail``,
  ``saturation``, ``protect_skin``) only reshape that map and filter the
  preview: no fit, no transport solve.

Defaults are read from :class:`imgot.ColorTransfer`'s signature, so the page
follows the library's defaults.
"""

from __future__ import annotations

import inspect
from typing import Mapping

from ..method_table import METHOD_NAMES, METHOD_TABLE, PALETTE_METHODS
from ..validation import RENAMED

__all__ = ["FIT", "PLAN", "FINISH", "PARAMETERS", "METHOD_SETTINGS", "SERVER_MAX", "method_settings",
           "defaults", "parse_params", "plan_method"]

FIT = ("method", "n_clusters", "color_space", "random_state")
PLAN = ("reg", "reg_m", "n_iter", "neutralize")
FINISH = ("strength", "preserve_luminance", "preserve_detail", "saturation", "protect_skin")
PARAMETERS = FIT + PLAN + FINISH

# Which of the page's method-specific sliders each method reads (the others are hidden): the
# settings of its row of the method table.
METHOD_SETTINGS: dict[str, tuple[str, ...]] = {name: info.settings for name, info in METHOD_TABLE.items()}

# Upper bounds this server adds to the library's own checks: the settings whose
# cost grows without limit (k-means clusters, sliced rotations). The page's
# sliders stop there too (it reads them from /api/config).
SERVER_MAX = {"n_clusters": 128, "n_iter": 60}


def method_settings() -> dict[str, tuple[str, ...]]:
    """The method-specific settings the page shows, for every registered method.

    Examples
    --------
    >>> method_settings()["unbalanced"]
    ('n_clusters', 'reg', 'reg_m')
    """
    return dict(METHOD_SETTINGS)


_TRUE, _FALSE = ("1", "true", "on", "yes"), ("0", "false", "off", "no", "")


def defaults() -> dict:
    """The page's settings at :class:`imgot.ColorTransfer`'s defaults.

    Examples
    --------
    >>> sorted(defaults()) == sorted(PARAMETERS)
    True
    """
    from ..transfer import ColorTransfer

    signature = inspect.signature(ColorTransfer)
    return {name: signature.parameters[name].default for name in PARAMETERS}


def _parse(name: str, text: str, default):
    if isinstance(default, bool):
        lowered = text.strip().lower()
        if lowered not in _TRUE + _FALSE:
            raise ValueError(f"{name} must be true or false, got {text!r}")
        return lowered in _TRUE
    if name == "method":
        if text not in METHOD_NAMES:
            raise ValueError(f"unknown method {text!r}; choose one of: {', '.join(METHOD_NAMES)}")
        return text
    if name in ("color_space", "neutralize"):
        return None if text in ("", "auto", "none", "off") else text
    try:
        return int(text) if isinstance(default, int) else float(text)
    except ValueError:
        kind = "an integer" if isinstance(default, int) else "a number"
        raise ValueError(f"{name} must be {kind}, got {text!r}") from None


def parse_params(query: Mapping[str, str]) -> dict:
    """:class:`imgot.ColorTransfer` keyword arguments from a request's query string.

    Unknown keys are ignored; missing ones take the library's defaults.
    Every value is checked as :class:`imgot.ColorTransfer` checks it (the
    bounds ``imgot transfer`` has: strength in [0, 1], NaN and inf refused,
    positive ``reg``, a seed in range...), plus :data:`SERVER_MAX`, before any
    cached model sees it.

    Raises
    ------
    ValueError
        One line naming the setting: a value not of the setting's type, out of
        range, or an unknown method.

    Examples
    --------
    >>> params = parse_params({"method": "linear", "strength": "0.5", "preserve_detail": "false"})
    >>> params["method"], params["strength"], params["preserve_detail"]
    ('linear', 0.5, False)
    """
    params = defaults()
    for name in PARAMETERS:
        old = next((old for old, new in RENAMED.items() if new == name and old in query), None)
        if name in query or old is not None:  # an old name (a saved link) still works, the new one wins
            params[name] = _parse(name, query[name] if old is None or name in query else query[old], params[name])
    check(params)
    return params


def check(params: dict) -> None:
    """Raise ``ValueError`` (one line) for settings the library or this server refuses.

    Examples
    --------
    >>> check({**defaults(), "strength": float("nan")})
    Traceback (most recent call last):
    ...
    ValueError: strength must be in [0, 1], got nan
    >>> check({**defaults(), "n_iter": 600})
    Traceback (most recent call last):
    ...
    ValueError: n_iter must be at most 60 on this server, got 600
    """
    from ..transfer import ColorTransfer

    ColorTransfer(**params)._validate_params()  # the library's checks, as at fit time
    for name, high in SERVER_MAX.items():
        if params[name] > high:
            raise ValueError(f"{name} must be at most {high} on this server, got {params[name]!r}")


def plan_method(method: str) -> str | None:
    """The palette method whose plan pictures `method`'s palette step, or None.

    ``'emd-sliced'`` starts with exactly the ``'emd'`` palette map (same
    palettes, same seed), which is what its plan shows.

    Examples
    --------
    >>> plan_method("sinkhorn"), plan_method("emd-sliced"), plan_method("linear")
    ('sinkhorn', 'emd', None)
    """
    if method in PALETTE_METHODS:
        return method
    return "emd" if method == "emd-sliced" else None
