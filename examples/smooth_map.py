"""What the default's smoothing does: the plain map against the default, on fur and a flat background.

A cat's face (``sample_images/chelsea.jpg``) toward a landscape with sky
(scikit-learn's ``china.jpg``): left to right the source, the reference, the
color map alone (``--no-detail``) and the default (the same map with the
detail step, which smooths both the lightness and the color change, steered by
the source). The plain map paints the reference's sky into the fur and the
out-of-focus background as blotches; the default keeps the source's own fine
structure with the reference's colors.

Run: ``python examples/smooth_map.py [OUT_DIR]`` (writes ``smooth_map.jpg``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parent / "sample_images"


def main(out_dir=None) -> dict:
    """Write the sheet to `out_dir` (default: this folder); return the outputs and their blotch scores."""
    from PIL import Image
    from sklearn.datasets import load_sample_image

    import imgot
    from imgot.metrics import blotch, chroma_structure

    source = np.asarray(Image.open(SAMPLES / "chelsea.jpg").convert("RGB"))
    reference = load_sample_image("china.jpg")
    plain = imgot.transfer(source, reference, preserve_detail=False)
    default = imgot.transfer(source, reference)
    height = source.shape[0]
    thumb = np.asarray(Image.fromarray(reference).resize(
        (round(reference.shape[1] * height / reference.shape[0]), height), Image.Resampling.LANCZOS))
    sheet = np.concatenate([source, thumb, plain, default], axis=1)
    path = Path(out_dir or HERE) / "smooth_map.jpg"
    Image.fromarray(sheet).save(path, quality=90)
    scores = {name: {"blotch": blotch(source, out), "chroma_structure": chroma_structure(source, out)}
              for name, out in (("plain", plain), ("default", default))}
    for name, values in scores.items():
        print(f"{name:<8} blotch {values['blotch']:.2f} Delta E, chroma structure {values['chroma_structure']:.3f}")
    return {"path": path, "scores": scores, "plain": plain, "default": default}


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
