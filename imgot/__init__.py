"""imgot: image color transfer and histogram matching by optimal transport."""

from importlib.metadata import PackageNotFoundError, version

from .exceptions import (
    ConvergenceWarning,
    ImageReadError,
    ImageWriteError,
    ImgotError,
    LUTFormatError,
    ModelFormatError,
    OutputExistsError,
)
from .distances import distance, pairwise_distances
from .histogram import match_histograms
from .io import ImageFile, load_image, read_image, write_image
from .methods import METHOD_NAMES
from .morph import morph
from . import barycenter as _barycenter_module  # noqa: F401  loaded first, so the function below keeps the name
from .normalize import Normalizer, barycenter
from .persist import load
from .transfer import ColorMap, ColorTransfer, NotFittedError, transfer

try:
    __version__ = version("imgot")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "ColorMap",
    "ColorTransfer",
    "ConvergenceWarning",
    "ImageFile",
    "ImageReadError",
    "ImageWriteError",
    "ImgotError",
    "METHOD_NAMES",
    "LUTFormatError",
    "ModelFormatError",
    "Normalizer",
    "NotFittedError",
    "OutputExistsError",
    "barycenter",
    "load",
    "distance",
    "load_image",
    "match_histograms",
    "morph",
    "pairwise_distances",
    "read_image",
    "transfer",
    "write_image",
    "__version__",
]
