"""The colorist's controls, each on a bundled sample: skin protection, color intensity, neutralize, LUT sizes.

Four sheets, each left to right: source, reference, the default transfer,
then the same transfer with the control:

- ``protect_skin.jpg``: the astronaut portrait toward the night launch
  (``rocket.jpg``); the default turns the face teal, ``protect_skin=0.8``
  keeps its tone while the suit, the flag and the wall take the grade; the
  last panel is the skin weight (white = skin).
- ``saturation.jpg``: the cat toward the coffee; ``saturation=0.6`` and
  ``1.4`` (Photoshop's "Color Intensity"), lightness and hue unchanged.
- ``neutralize.jpg``: the coffee photo under a green fluorescent cast (made
  here: linear gains 0.8, 1.0, 0.7) toward the launch, at ``strength=0.6``;
  the default carries the cast into the result, ``neutralize='white-patch'``
  (the cup is white) moves the neutral image instead; the last panel is the
  neutralized source. Gray world would over-correct this warm scene (wood
  and a red cup do not average to gray) toward cyan.
- ``lut_sizes.jpg``: the launch toward the coffee as a plain color map
  (``preserve_detail=False``, 33 points), then through a 17-point ``.cube`` and a
  level-8 HaldCLUT PNG written by imgot and read back.

Run: ``python examples/colorist_controls.py [OUT_DIR]``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parent / "sample_images"
HEIGHT = 220  # panel height in the sheets: small JPEGs for the README


def _read(name: str) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(SAMPLES / name).convert("RGB"))


def _sheet(path: Path, panels: list[np.ndarray]) -> Path:
    from PIL import Image

    scaled = [np.asarray(Image.fromarray(panel).resize((round(panel.shape[1] * HEIGHT / panel.shape[0]), HEIGHT),
                                                        Image.Resampling.LANCZOS)) for panel in panels]
    Image.fromarray(np.concatenate(scaled, axis=1)).save(path, quality=85)
    return path


def _cast(image: np.ndarray, gains) -> np.ndarray:
    from imgot.colorspace import linear_to_srgb, srgb_to_linear

    return np.round(linear_to_srgb(srgb_to_linear(image / 255.0) * np.asarray(gains)) * 255).astype(np.uint8)


def main(out_dir=None) -> dict:
    """Write the four sheets to `out_dir` (default: this folder); return their paths and the images."""
    import imgot
    from imgot.cube import write_cube
    from imgot.hald import read_lut, write_hald
    from imgot.skin import skin_weight

    out_dir = Path(out_dir or HERE)
    results: dict = {}

    portrait, night = _read("astronaut.jpg"), _read("rocket.jpg")
    default = imgot.transfer(portrait, night)
    kept = imgot.transfer(portrait, night, protect_skin=0.8)
    weight = (np.repeat(skin_weight(portrait, 255)[..., None], 3, axis=-1) * 255).astype(np.uint8)
    results["protect_skin"] = {"path": _sheet(out_dir / "protect_skin.jpg", [portrait, night, default, kept, weight]),
                               "source": portrait, "default": default, "protected": kept}

    cat, coffee = _read("chelsea.jpg"), _read("coffee.jpg")
    default = imgot.transfer(cat, coffee)
    less, more = (imgot.transfer(cat, coffee, saturation=factor) for factor in (0.6, 1.4))
    results["saturation"] = {"path": _sheet(out_dir / "saturation.jpg", [cat, coffee, default, less, more]),
                             "default": default, "less": less, "more": more}

    green = _cast(coffee, (0.8, 1.0, 0.7))
    default = imgot.transfer(green, night, strength=0.6)
    neutral = imgot.transfer(green, night, strength=0.6, neutralize="white-patch")
    corrected = imgot.transfer(green, night, strength=0.0, neutralize="white-patch")
    results["neutralize"] = {"path": _sheet(out_dir / "neutralize.jpg", [green, night, default, neutral, corrected]),
                             "original": coffee, "source": green, "corrected": corrected, "default": default,
                             "neutral": neutral}

    model = imgot.ColorTransfer(preserve_detail=False).fit(coffee)
    plain = model.transform(night)
    small = imgot.ColorTransfer(preserve_detail=False, lut_size=17).fit(coffee)
    with tempfile.TemporaryDirectory() as folder:
        write_cube(Path(folder) / "look17.cube", small.color_lut(night))
        write_hald(Path(folder) / "look.png", model.color_lut(night), level=8)
        by_cube = imgot.apply_lut_to_image(read_lut(Path(folder) / "look17.cube"), night)
        by_hald = imgot.apply_lut_to_image(read_lut(Path(folder) / "look.png"), night)
    results["lut_sizes"] = {"path": _sheet(out_dir / "lut_sizes.jpg", [night, coffee, plain, by_cube, by_hald]),
                            "plain": plain, "cube17": by_cube, "hald8": by_hald}
    for name, through in (("17-point .cube", by_cube), ("level-8 HaldCLUT", by_hald)):
        difference = np.abs(through.astype(int) - plain)
        print(f"{name:<17} against the 33-point map: mean {difference.mean():.2f}, max {difference.max()} levels")
    return results


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
