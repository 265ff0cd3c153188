"""Exceptions raised by imgot for file and format problems.

Bad arguments raise the built-in :class:`ValueError` or :class:`TypeError`;
the classes here cover what goes wrong with files, so that a caller (and the
CLI) can tell a user mistake from a bug. Every class is exported as ``imgot.<name>``.
"""

__all__ = [
    "ConvergenceWarning", "ImageReadError", "ImageWriteError", "ImgotError", "InputOverwriteError", "LUTFormatError",
    "ModelFormatError", "NotFittedError", "OutputExistsError", "VideoReadError", "VideoWriteError",
]


class ImgotError(Exception):
    """Base class of imgot's own errors."""


class ImageReadError(ImgotError, OSError):
    """An image file is missing, unreadable, truncated, or too large."""


class ImageWriteError(ImgotError, OSError):
    """An output image cannot be written."""


class OutputExistsError(ImageWriteError, FileExistsError):
    """The output file exists and overwriting it was not asked for."""


class InputOverwriteError(ImageWriteError):
    """An output is one of the inputs (same device and inode): never written over."""


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped before reaching its tolerance."""


class LUTFormatError(ImgotError, ValueError):
    """A ``.cube`` LUT file is malformed or uses a feature imgot does not support."""


class ModelFormatError(ImgotError, ValueError):
    """A saved transfer or color map is malformed, of another kind, or of another version."""


class VideoReadError(ImgotError, OSError):
    """A video file is missing, not a video, truncated, or cannot be decoded."""


class VideoWriteError(ImageWriteError):
    """An output video cannot be encoded or written."""


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before its ``fit``."""
