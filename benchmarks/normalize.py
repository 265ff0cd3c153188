"""Stain normalization: imgot's barycenter Normalizer vs torchstain's Macenko and Reinhard (numpy backend).

The stain-variation set is made from scikit-image's ``immunohistochemistry``
image (DAB + hematoxylin): in optical density space (Beer-Lambert, through
``skimage.color.rgb2hed`` / ``hed2rgb``) each copy gets its stain vectors
mixed and its concentrations scaled at random, at three strengths. Every
method normalizes the whole set; torchstain needs a target and gets the
unperturbed image; imgot gets no target (the barycenter of the set) and,
as a second row, the same target.

Reported, same run: the color spread after normalization (median pairwise
sliced W2 in CIELAB between the outputs, ``imgot.pairwise_distances``),
the structure kept (median SSIM of each output to its input,
``imgot.metrics.structure_similarity``) and the median time per image.

Run: ``pip install torchstain`` (numpy only, no torch), then
``python benchmarks/normalize.py [--size 256] [--per-strength 4]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def stain_set(size: int, per_strength: int, seed: int = 0) -> list[np.ndarray]:
    from PIL import Image
    from skimage import data
    from skimage.color import hed2rgb, rgb2hed

    picture = Image.fromarray(data.immunohistochemistry())
    base = np.asarray(picture.resize((size, size), Image.Resampling.LANCZOS))
    hed = rgb2hed(base)
    rng = np.random.default_rng(seed)
    images = []
    for strength in (0.1, 0.25, 0.4):
        for _ in range(per_strength):
            mix = np.eye(3) + rng.normal(0, strength / 2, (3, 3))  # perturbed stain vectors
            scale = np.exp(rng.normal(0, strength, 3))  # perturbed concentrations
            perturbed = (hed @ mix.T) * scale
            images.append(np.round(np.clip(hed2rgb(perturbed), 0, 1) * 255).astype(np.uint8))
    return [base] + images


def run(name, normalize, images) -> tuple:
    from imgot import pairwise_distances
    from imgot.metrics import structure_similarity

    outputs, seconds = [], []
    for image in images:
        start = time.perf_counter()
        outputs.append(normalize(image))
        seconds.append(time.perf_counter() - start)
    matrix = pairwise_distances(outputs, method="sliced", n_samples=4000)
    spread = float(np.median(matrix[np.triu_indices(len(outputs), 1)]))
    ssim = float(np.median([structure_similarity(i, o) for i, o in zip(images, outputs)]))
    return name, spread, ssim, float(np.median(seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--per-strength", type=int, default=4)
    args = parser.parse_args()
    from imgot import Normalizer

    images = stain_set(args.size, args.per_strength)
    target = images[0]
    rows = [run("none (inputs)", lambda image: image, images)]
    start = time.perf_counter()
    model = Normalizer(n_clusters=32).fit(images)
    fit_seconds = time.perf_counter() - start
    rows.append(run("imgot Normalizer (barycenter)", model.transform, images))
    rows.append(run("imgot Normalizer (target)", Normalizer(n_clusters=32).fit([target]).transform, images))
    unbalanced = Normalizer(method="unbalanced", n_clusters=32).fit(images)
    rows.append(run("imgot Normalizer unbalanced", unbalanced.transform, images))
    try:
        import torchstain
    except ImportError:
        print("torchstain is not installed (pip install torchstain): its rows are left out")
    else:
        macenko = torchstain.normalizers.MacenkoNormalizer(backend="numpy")
        macenko.fit(target)
        rows.append(run("torchstain Macenko (target)",
                        lambda image: np.asarray(macenko.normalize(I=image, stains=False)[0], np.uint8),
                        images))
        reinhard = torchstain.normalizers.ReinhardNormalizer(backend="numpy")
        reinhard.fit(target)
        rows.append(run("torchstain Reinhard (target)",
                        lambda image: np.clip(reinhard.normalize(I=image), 0, 255).astype(np.uint8), images))
    print(f"{len(images)} images of {args.size} x {args.size}; "
          f"imgot barycenter fit {fit_seconds:.2f} s for the set")
    print(f"{'method':32s} {'spread (W2 Lab)':>16s} {'SSIM to input':>14s} {'s / image':>10s}")
    for name, spread, ssim, seconds in rows:
        print(f"{name:32s} {spread:16.2f} {ssim:14.3f} {seconds:10.3f}")


if __name__ == "__main__":
    main()
