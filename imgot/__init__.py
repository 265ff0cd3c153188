"""imgot: image color transfer and histogram matching by optimal transport.

Most public names below are imported on first use (PEP 562). ``transfer``,
``morph``, ``Normalizer`` and ``barycenter`` are bound at import (two of them
share their names with submodules); that loads numpy and imgot's own modules
but no solver (POT, scikit-learn, SciPy and scikit-image are imported inside
the functions that use them), so ``import imgot`` and ``imgot --help`` stay
fast.
"""

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what the lazy names below are, for type checkers (nothing is imported at run time)
    from .batch import transfer_many
    from .cube import read_cube, write_cube
    from .distances import distance, pairwise_distances
    from .exceptions import (
        ConvergenceWarning,
        ImageReadError,
        ImageWriteError,
        ImgotError,
        InputOverwriteError,
        LUTFormatError,
        ModelFormatError,
        NotFittedError,
        OutputExistsError,
        VideoReadError,
        VideoWriteError,
    )
    from .histogram import match_histograms
    from .io import ImageFile, load_image, read_image, write_image
    from .mapping import ColorLUT
    from .methods import DEFAULT_METHOD, METHOD_NAMES
    from .metrics import color_distance
    from .loading import load
    from .transfer import ColorMap, ColorTransfer, LUTTransform, apply_lut_to_image

    __version__: str

# Public name -> the module that defines it.
_EXPORTS = {
    "ColorMap": "transfer",
    "ColorTransfer": "transfer",
    "LUTTransform": "transfer",
    "NotFittedError": "exceptions",
    "transfer": "transfer",
    "apply_lut_to_image": "transfer",
    "ColorLUT": "mapping",
    "METHOD_NAMES": "methods",
    "DEFAULT_METHOD": "methods",
    "ConvergenceWarning": "exceptions",
    "ImageReadError": "exceptions",
    "ImageWriteError": "exceptions",
    "ImgotError": "exceptions",
    "LUTFormatError": "exceptions",
    "ModelFormatError": "exceptions",
    "OutputExistsError": "exceptions",
    "InputOverwriteError": "exceptions",
    "VideoReadError": "exceptions",
    "VideoWriteError": "exceptions",
    "distance": "distances",
    "pairwise_distances": "distances",
    "match_histograms": "histogram",
    "ImageFile": "io",
    "load_image": "io",
    "read_image": "io",
    "write_image": "io",
    "morph": "morph",
    "load": "loading",
    "color_distance": "metrics",
    "read_cube": "cube",
    "write_cube": "cube",
    "transfer_many": "batch",
}

__all__ = sorted(_EXPORTS) + ["Normalizer", "barycenter", "__version__"]

# `transfer` and `morph` are both functions and submodules: importing a
# submodule rebinds the package attribute to the module, so these two are bound
# now, once, and stay the functions.
from .morph import morph  # noqa: E402
from .transfer import transfer  # noqa: E402
from . import barycenter as _barycenter_module  # noqa: E402,F401  (then the function keeps the name)
from .normalize import Normalizer, barycenter  # noqa: E402


def __getattr__(name: str):
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("imgot")
        except PackageNotFoundError:  # running from a source tree
            return "0+unknown"
    if name in _EXPORTS:
        value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'imgot' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
