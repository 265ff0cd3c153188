"""Saving and loading fitted transfers and color maps, without pickle.

Both are versioned ``.npz`` archives written by numpy: the parameters as a
JSON string, a format name and version, and plain numeric arrays. They are
read back with ``allow_pickle=False``, so loading a file runs no code.
"""

from __future__ import annotations

import json
import os
import zipfile
from typing import Any
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .atomic import atomic_write
from .exceptions import ImageReadError, ModelFormatError, NotFittedError
from .mapping import ColorLUT
from .palette import Palette
from .methods import METHODS, SAVABLE_METHODS, ColorMap, get_method
from .validation import RENAMED

__all__ = [
    "FORMAT_VERSION", "archive_format", "get_params", "load_model", "load_color_map", "read_archive", "save",
    "save_color_map", "write_archive",
]

FORMAT_VERSION = 1
_TRANSFER = "imgot.ColorTransfer"
_COLOR_MAP = "imgot.ColorMap"
_USE = {_TRANSFER: "imgot.load", _COLOR_MAP: "imgot.persist.load_color_map", "imgot.Normalizer": "imgot.load"}


def get_params(model) -> dict:
    """The constructor parameters of `model` (a :class:`imgot.ColorTransfer`), as plain Python values.

    Examples
    --------
    >>> from imgot import ColorTransfer
    >>> get_params(ColorTransfer(n_clusters=8))["n_clusters"]
    8
    """
    return {name: _plain(getattr(model, name)) for name in model._get_param_names()}


def _plain(value):
    """numpy scalars to Python ones, so that json can write them."""
    return value.item() if isinstance(value, np.generic) else value


def _write(path: str | os.PathLike, kind: str, params: Mapping, arrays: dict, overwrite: bool) -> None:
    """Write an archive atomically: temp file in the same folder, then os.replace."""
    path = Path(path)
    try:
        text = json.dumps(dict(params), default=_plain, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise TypeError(f"params must be JSON-serialisable: {error}") from None
    header = {"format": np.array(kind), "version": np.array(FORMAT_VERSION), "params": np.array(text)}
    with atomic_write(path, overwrite=overwrite, what="model") as temp:
        with open(temp, "wb") as stream:
            payload: dict[str, Any] = {**header, **arrays}
            np.savez(stream, **payload)


def _read(path: str | os.PathLike, kind: str, names: tuple[str, ...] | None) -> tuple[dict, dict]:
    """Open an archive, check its format and version, return (params, arrays).

    `names` lists the arrays that must be there; None returns every array.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            data = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ModelFormatError(f"{path}: not an imgot .npz file ({error})") from None
    found = str(data["format"]) if "format" in data else None
    if found != kind:
        hint = f"; it holds an {found}, read it with {_USE[found]}" if found in _USE else ""
        raise ModelFormatError(f"{path}: not a saved {kind}{hint}")
    stored = data.get("version")
    integral = stored is not None and stored.shape == () and stored.dtype.kind in "iu"
    version = int(stored) if stored is not None and integral else (
        None if stored is None else repr(stored.tolist()))
    if version != FORMAT_VERSION:
        raise ModelFormatError(f"{path}: format version {version}; this imgot reads version {FORMAT_VERSION}")
    missing = [name for name in ("params", *(names or ())) if name not in data]
    if missing:
        raise ModelFormatError(f"{path}: missing {', '.join(missing)}")
    try:
        params = json.loads(str(data["params"]))
    except ValueError:
        raise ModelFormatError(f"{path}: parameters are not valid JSON") from None
    if not isinstance(params, dict):
        raise ModelFormatError(f"{path}: parameters must be a JSON object, got {type(params).__name__}")
    if names is None:
        names = tuple(name for name in data if name not in ("format", "version", "params"))
    return params, {name: _numbers(path, name, data[name]) for name in names}


def _numbers(path, name: str, array: np.ndarray) -> np.ndarray:
    """`array` as finite float64, or a ModelFormatError naming it: load() trusts nothing it reads."""
    if array.dtype.kind not in "fiu":
        raise ModelFormatError(f"{path}: {name} must be numbers, got {array.dtype} values")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ModelFormatError(f"{path}: {name} holds NaN or infinite values")
    return array


def _palette(path, arrays: dict, prefix: str) -> Palette:
    try:
        return Palette.from_arrays(arrays[f"{prefix}_colors"], arrays[f"{prefix}_weights"], what=f"{prefix} palette")
    except ValueError as error:
        raise ModelFormatError(f"{path}: {error}") from None


def save(path: str | os.PathLike, model, *, overwrite: bool = False) -> None:
    """Save a fitted :class:`ColorTransfer`: its parameters and reference palette.

    Parameters
    ----------
    path : str or path-like
        Output file, written as-is (conventionally ``*.npz``).
    model : ColorTransfer
        A fitted estimator.
    overwrite : bool, default False
        Replace an existing file.

    Raises
    ------
    NotFittedError
        If `model` is not fitted.
    OutputExistsError, ImageWriteError
        If the file exists (without `overwrite`) or cannot be written.

    Examples
    --------
    >>> import os, tempfile
    >>> from imgot import ColorTransfer, load
    >>> rng = np.random.default_rng(0)
    >>> model = ColorTransfer(n_clusters=4).fit(rng.random((8, 8, 3)))
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> save(path, model)
    >>> load(path).reference_palette_.colors.shape
    (4, 3)
    """
    if not hasattr(model, "reference_states_"):
        raise NotFittedError("this ColorTransfer is not fitted yet; call fit(reference) first")
    (name,) = get_method(model.method)
    state_arrays = METHODS[name].state_arrays
    if state_arrays is None:
        raise ValueError(f"method {model.method!r} cannot be saved; savable methods: {', '.join(SAVABLE_METHODS)}")
    arrays = state_arrays(model.reference_states_[name])
    for label, states in getattr(model, "region_states_", {}).items():  # fit(reference_labels=...)
        arrays.update({f"{_REGION}{label}{_SEP}{key}": value
                       for key, value in state_arrays(states[name]).items()})
    _write(path, _TRANSFER, get_params(model), arrays, overwrite)


_REGION, _SEP = "region_", "__"


def _split_regions(path, arrays: dict) -> tuple[dict, dict]:
    """The global arrays, and ``label -> arrays`` of each saved region."""
    plain: dict = {}
    regions: dict = {}
    for key, value in arrays.items():
        if not key.startswith(_REGION):
            plain[key] = value
            continue
        label, _, name = key[len(_REGION):].partition(_SEP)
        try:
            regions.setdefault(int(label), {})[name] = value
        except ValueError:
            raise ModelFormatError(f"{path}: bad region array name {key!r}") from None
    return plain, regions


def load_model(path: str | os.PathLike, estimator):
    """Read a transfer saved by :func:`save` into a new ``estimator(**params)``, fitted.

    :func:`imgot.load` is ``load_model(path, ColorTransfer)``.

    Parameters
    ----------
    path : str or path-like
    estimator : class
        :class:`imgot.ColorTransfer`.

    Returns
    -------
    estimator
        Fitted, with the saved parameters; it transforms images to the same
        bytes as the model that was saved.

    Raises
    ------
    ImageReadError
        If the file is missing.
    ModelFormatError
        If the file is not a saved transfer, or of another format version.

    Examples
    --------
    >>> import os, tempfile
    >>> from imgot import ColorTransfer
    >>> model = ColorTransfer(n_clusters=2, strength=0.5).fit(np.eye(3)[None])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> model.save(path)
    >>> load_model(path, ColorTransfer).strength
    0.5
    """
    params, arrays = _read(path, _TRANSFER, None)
    params = {RENAMED.get(name, name): value for name, value in params.items()}  # files of the last release
    try:
        model = estimator(**params)
        stages = model._validate_params()
    except (TypeError, ValueError) as error:
        raise ModelFormatError(f"{path}: bad parameters ({error})") from None
    state_from_arrays = METHODS[stages[0]].state_from_arrays if len(stages) == 1 else None
    if stages[0] not in SAVABLE_METHODS or state_from_arrays is None:
        raise ModelFormatError(f"{path}: method {model.method!r} cannot be loaded")
    arrays, regions = _split_regions(path, arrays)

    def state(named: dict, where: str = ""):
        try:
            return state_from_arrays(named)
        except KeyError as error:
            raise ModelFormatError(f"{path}: missing {where}{error.args[0]}") from None
        except ValueError as error:
            raise ModelFormatError(f"{path}: {where}{error}") from None

    model.reference_states_ = {stages[0]: state(arrays)}
    if regions:
        model.region_states_ = {label: {stages[0]: state(named, f"region {label}: ")}
                                for label, named in sorted(regions.items())}
    return model


def save_color_map(
    path: str | os.PathLike, color_map: ColorMap, params: Mapping | None = None, *, overwrite: bool = False
) -> None:
    """Save a :class:`ColorMap`: both palettes, the plan, the destinations and the LUT.

    Parameters
    ----------
    path : str or path-like
        Output file, written as-is (conventionally ``*.npz``).
    color_map : ColorMap
        From ``model.color_map(image)``.
    params : mapping, optional
        JSON-serialisable values stored alongside, typically
        ``get_params(model)``; returned by :func:`load_color_map`.
    overwrite : bool, default False
        Replace an existing file.

    Examples
    --------
    >>> import os, tempfile
    >>> from imgot import ColorTransfer
    >>> model = ColorTransfer(n_clusters=2).fit(np.eye(3)[None])
    >>> color_map = model.color_map(np.eye(3)[::-1][None])
    >>> path = os.path.join(tempfile.mkdtemp(), "map.npz")
    >>> save_color_map(path, color_map, get_params(model))
    >>> loaded, params = load_color_map(path)
    >>> loaded.lut.table.shape, params["n_clusters"]
    ((33, 33, 33, 3), 2)
    """
    arrays = {
        **color_map.source_palette.as_arrays("source"),
        **color_map.reference_palette.as_arrays("reference"),
        "plan": color_map.plan,
        "destinations": color_map.destinations,
        "lut_table": color_map.lut.table,
    }
    _write(path, _COLOR_MAP, params or {}, arrays, overwrite)


def load_color_map(path: str | os.PathLike) -> tuple[ColorMap, dict]:
    """Load a color map saved by :func:`save_color_map`.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    color_map : ColorMap
        Its LUT maps pixels (``imgot.transfer.apply_lut``) to the same bytes
        as the saved one.
    params : dict
        The parameters stored with it.

    Raises
    ------
    ImageReadError
        If the file is missing.
    ModelFormatError
        If the file is not a saved color map, or of another format version.

    Examples
    --------
    >>> load_color_map("missing.npz")
    Traceback (most recent call last):
    ...
    imgot.exceptions.ImageReadError: missing.npz: no such file
    """
    names = ("source_colors", "source_weights", "reference_colors", "reference_weights",
             "plan", "destinations", "lut_table")
    params, arrays = _read(path, _COLOR_MAP, names)
    source, reference = _palette(path, arrays, "source"), _palette(path, arrays, "reference")
    plan, destinations = arrays["plan"], arrays["destinations"]
    expected_plan = (len(source.weights), len(reference.weights))
    if plan.shape != expected_plan or destinations.shape != source.colors.shape:
        raise ModelFormatError(
            f"{path}: plan {plan.shape} or destinations {destinations.shape} do not fit the palettes"
        )
    if plan.size and plan.min() < 0:
        raise ModelFormatError(f"{path}: the plan holds negative mass")
    table = arrays["lut_table"]
    if table.size and (table.min() < 0 or table.max() > 1):
        raise ModelFormatError(f"{path}: LUT values must be in [0, 1]")
    try:
        lut = ColorLUT(table)
    except ValueError as error:
        raise ModelFormatError(f"{path}: {error}") from None
    return ColorMap(source, reference, plan, destinations, lut), params


# -- the archive format, for other fitted objects (imgot.normalize.Normalizer) ---------------


def archive_format(path: str | os.PathLike) -> str | None:
    """The format name an imgot ``.npz`` declares (``'imgot.ColorTransfer'``, ...), or None if it has none.

    Reads only that entry; a missing or unreadable file is None too (the loader then says why).
    """
    try:
        with np.load(Path(path), allow_pickle=False) as archive:
            return str(archive["format"]) if "format" in archive.files else None
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
        return None


def write_archive(path: str | os.PathLike, kind: str, params: Mapping, arrays: dict, *,
                  overwrite: bool = False) -> None:
    """Write a versioned ``.npz`` of format `kind`: JSON `params` and numeric `arrays`, atomically."""
    _write(path, kind, params, arrays, overwrite)


def read_archive(path: str | os.PathLike, kind: str, names: tuple[str, ...]) -> tuple[dict, dict]:
    """Read an archive of format `kind` written by :func:`write_archive`: (params, arrays)."""
    return _read(path, kind, names)
