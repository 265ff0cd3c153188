"""Writing GIF animations frame by frame, so that a viewer shows each given frame exactly.

Pillow's own GIF writer crops each frame to what changed and merges
consecutive frames that come out identical (their durations summed); it
also takes the disposal methods as given, whether or not they can show the
frames. :class:`GifWriter` simulates the viewer instead: every frame is
kept, each draws only what differs from what is beneath it, and a disposal
that cannot clear a pixel that must turn transparent is changed on the frame
before. Frames are encoded by Pillow's LZW encoder
(:func:`PIL.GifImagePlugin.getdata`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["GifWriter", "palette_indices", "pixel_codes"]


def pixel_codes(array: np.ndarray) -> np.ndarray:
    """One value per pixel, equal for equal pixels (a view when the channels fit in one word).

    >>> codes = pixel_codes(np.array([[[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 5]]], np.uint8))
    >>> codes.shape, bool(codes[0, 0] == codes[0, 1]), bool(codes[0, 1] == codes[0, 2])
    ((1, 3), True, False)
    """
    if array.ndim == 2:
        return array
    channels = array.shape[2]
    word = {(1, 4): np.uint32, (1, 2): np.uint16, (2, 4): np.uint64, (2, 2): np.uint32}.get((array.itemsize, channels))
    if word is not None:
        return np.ascontiguousarray(array).view(word)[..., 0]
    out = array[..., 0].astype(np.uint64)
    for channel in range(1, channels):
        out = (out << np.uint64(8 * array.itemsize)) | array[..., channel]
    return out


def palette_indices(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(palette of at most 255 colors, index of each color): the colors themselves if few enough, else a median cut.

    Parameters
    ----------
    rgb : ndarray of shape (N, 3), uint8

    Returns
    -------
    palette : ndarray of shape (K, 3), uint8, K <= 255
    indices : ndarray of shape (N,), uint8

    Examples
    --------
    >>> palette, indices = palette_indices(np.array([[255, 0, 0], [0, 0, 255], [255, 0, 0]], np.uint8))
    >>> palette.tolist(), indices.tolist()
    ([[0, 0, 255], [255, 0, 0]], [1, 0, 1])
    """
    from PIL import Image

    codes = (rgb[:, 0].astype(np.uint32) << 16) | (rgb[:, 1].astype(np.uint32) << 8) | rgb[:, 2]
    colors, inverse = np.unique(codes, return_inverse=True)
    if len(colors) <= 255:
        palette = np.stack([colors >> 16, (colors >> 8) & 255, colors & 255], axis=1).astype(np.uint8)
        return palette, inverse.astype(np.uint8).reshape(-1)
    strip = Image.fromarray(np.ascontiguousarray(rgb[None]))
    reduced = strip.quantize(255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    palette = np.asarray(reduced.getpalette("RGB"), np.uint8).reshape(-1, 3)[:255]
    return palette, np.asarray(strip.quantize(palette=reduced, dither=Image.Dither.NONE)).reshape(-1)


class GifWriter:
    """Writes GIF frames so that a viewer shows each target frame exactly, keeping each frame's disposal.

    The viewer is simulated (what is on screen after each frame and its
    disposal): each frame draws only the pixels that differ from what is
    beneath it, inside their bounding box, in a palette of their own colors
    (and one more index, transparent, that draws nothing). A pixel that must turn
    transparent but would stay drawn can only be cleared by the previous
    frame's disposal: that frame is held back until the next is known, and
    then disposed with "restore to background" over a box that covers it.
    """

    def __init__(self, fp, size: tuple[int, int], loop: int | None):
        self.fp, self.size = fp, size
        height, width = size
        self.pending: dict | None = None
        header = b"GIF89a" + width.to_bytes(2, "little") + height.to_bytes(2, "little") + bytes([0, 0, 0])
        if loop is not None:
            header += b"!\xff\x0bNETSCAPE2.0\x03\x01" + int(loop).to_bytes(2, "little") + b"\x00"
        fp.write(header)

    @staticmethod
    def _disposed(frame: dict) -> np.ndarray:
        """What is on screen once `frame` has been shown and disposed of."""
        if frame["disposal"] not in (2, 3):
            return frame["after"]
        top, left, bottom, right = frame["box"]
        out = frame["after"].copy()
        out[top:bottom, left:right] = 0 if frame["disposal"] == 2 else frame["before"][top:bottom, left:right]
        return out

    def add(self, target: np.ndarray, disposal: int, duration, keep: np.ndarray | None = None) -> None:
        """Queue one frame: `target` (H, W, 4) uint8 RGBA, alpha 0 or 255, is what must be on screen.

        Pixels in `keep` (the source did not change there) show what the
        previous frame showed, whatever `target` says.
        """
        beneath = np.zeros(self.size + (4,), np.uint8)
        previous = self.pending
        if previous is not None:
            if keep is not None:
                np.copyto(target, previous["after"], where=keep[..., None])
            beneath = self._disposed(previous)
            stuck = (target[..., 3] == 0) & (beneath[..., 3] != 0)
            if stuck.any():  # only the previous frame's disposal can clear these pixels
                rows, cols = np.flatnonzero(stuck.any(1)), np.flatnonzero(stuck.any(0))
                box = previous["box"]
                previous["box"] = (min(box[0], rows[0]), min(box[1], cols[0]), max(box[2], rows[-1] + 1),
                                   max(box[3], cols[-1] + 1))
                previous["disposal"] = 2
                beneath = self._disposed(previous)
            self._emit(previous)
        change = (target[..., 3] != 0) & (pixel_codes(target) != pixel_codes(beneath))
        if change.any():
            rows, cols = np.flatnonzero(change.any(1)), np.flatnonzero(change.any(0))
            box = (rows[0], cols[0], rows[-1] + 1, cols[-1] + 1)
        else:
            box = (0, 0, 1, 1)  # nothing to draw: one transparent pixel, and the frame keeps its time
        palette, drawn = palette_indices(target[change][:, :3])
        # The frame's own colors, then its transparent index, in the smallest table (2 to 256 entries).
        table = np.zeros((max(2, 1 << int(len(palette)).bit_length()), 3), np.uint8)
        table[: len(palette)] = palette
        transparent = len(palette)
        indices = np.full(self.size, transparent, np.uint8)
        indices[change] = drawn
        drawn_rgba = np.concatenate([table, np.full((len(table), 1), 255, np.uint8)], axis=1)[indices]
        after = np.where(change[..., None], drawn_rgba, beneath)
        self.pending = {"indices": indices, "table": table, "transparent": transparent, "box": box,
                        "disposal": int(disposal),
                        "duration": duration, "before": beneath, "after": after}

    def _emit(self, frame: dict) -> None:
        from PIL import GifImagePlugin, Image

        top, left, bottom, right = (int(v) for v in frame["box"])
        delay = 0 if frame["duration"] is None else int(round(frame["duration"] / 10))
        self.fp.write(b"!\xf9\x04" + bytes([(frame["disposal"] << 2) | 1]) + delay.to_bytes(2, "little")
                      + bytes([frame["transparent"], 0]))
        self.fp.write(b"," + b"".join(v.to_bytes(2, "little") for v in (left, top, right - left, bottom - top))
                      + bytes([0x80 | (len(frame["table"]).bit_length() - 2)]) + frame["table"].tobytes())
        image = Image.fromarray(np.ascontiguousarray(frame["indices"][top:bottom, left:right]), "P")
        image.putpalette(frame["table"].tobytes())
        self.fp.write(b"".join(GifImagePlugin.getdata(image)[1:]))  # the LZW data, after Pillow's own descriptor

    def close(self) -> None:
        if self.pending is not None:
            self._emit(self.pending)
        self.fp.write(b";")
