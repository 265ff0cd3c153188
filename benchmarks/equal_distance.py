"""imgot's default against python-color-transfer's pdf+regrain at the same color distance, pair by pair.

Run from the repository root (after ``pip install -e ".[bench]" && pip install
--no-deps python-color-transfer``):

    python benchmarks/equal_distance.py

The quality table of ``run.py`` compares each tool at its own defaults, and
the default moves the colors further toward the reference than pdf+regrain
does (a lower color distance ratio). Moving further changes the source's
tones and chroma contrast more, which the structure scores count against.
This benchmark asks what the default gives at pdf+regrain's own color
distance: for every pair (``PAIRS`` in ``run.py``, the native-size inputs of
``run.py`` in ``benchmarks/out/inputs/``, made if missing), it renders the
default at several strengths (``--strength``, 1 down to 0.5), finds by linear
interpolation the strength whose color distance ratio equals pdf+regrain's
on that pair, and interpolates the other scores there. It prints one
markdown table: per pair and as medians, the strength found and each score
of the default against pdf+regrain's, and on how many pairs the default is
better. A pair where even strength 1 stays above pdf+regrain's distance is
scored at strength 1 (and marked).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

STRENGTHS = (1.0, 0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5)
SCORES = ("ssim", "structure", "grain", "chroma_structure", "blotch")  # peers.quality_scores' keys
HEADINGS = ("ssim", "structure", "grain", "chroma", "blotch")
HIGHER_IS_BETTER = {"ssim", "structure", "chroma_structure"}


def native_inputs(pairs) -> dict[str, np.ndarray]:
    """The native-size inputs of run.py (JPEG q95; q30 for the grainy source), decoded."""
    from PIL import Image

    from peers import job_prepare
    from run import input_path

    names = sorted({name for pair in pairs for name in pair})
    job_prepare({"images": [(name, 0.0, str(input_path(name, 0.0))) for name in names]})
    return {name: np.asarray(Image.open(input_path(name, 0.0)).convert("RGB")) for name in names}


def at_distance(curve: list[dict], target: float) -> tuple[float, dict, bool]:
    """Strength and scores where the default's distance ratio equals `target` (linear between strengths)."""
    distances = np.array([point["color_ratio"] for point in curve])  # rises as the strength falls
    if target <= distances[0]:
        return STRENGTHS[0], curve[0], False
    index = int(np.searchsorted(distances, target)) - 1
    index = min(max(index, 0), len(curve) - 2)
    share = float(np.clip((target - distances[index]) / (distances[index + 1] - distances[index]), 0.0, 1.0))
    strength = STRENGTHS[index] + share * (STRENGTHS[index + 1] - STRENGTHS[index])
    low, high = curve[index], curve[index + 1]
    values = {key: low[key] + share * (high[key] - low[key]) for key in low}
    return strength, values, True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=None, help="the first N pairs of run.py [all]")
    args = parser.parse_args(argv)

    import imgot
    from imgot.metrics import color_distance
    from peers import make_tool, quality_scores
    from run import PAIRS

    pairs = PAIRS[: args.pairs] if args.pairs else PAIRS
    images = native_inputs(pairs)
    peer, to_native = make_tool("pct:pdf+regrain")
    rows = []
    for source_name, reference_name in pairs:
        source, reference = images[source_name], images[reference_name]
        peer_output = np.asarray(peer(to_native(source), to_native(reference)))[..., ::-1]  # BGR out
        peer_output = np.ascontiguousarray(np.clip(peer_output, 0, 255).astype(np.uint8))
        baseline = color_distance(source, reference)
        peer_scores = quality_scores(source, reference, peer_output, baseline)
        outputs = (imgot.transfer(source, reference, strength=strength) for strength in STRENGTHS)
        curve = [quality_scores(source, reference, output, baseline) for output in outputs]
        strength, ours, reached = at_distance(curve, peer_scores["color_ratio"])
        rows.append((f"{source_name} → {reference_name}", strength, reached, ours, peer_scores))

    print(f"imgot's default at python-color-transfer pdf+regrain's color distance, {len(rows)} pairs "
          "(native size); each cell: default / pdf+regrain\n")
    print("| pair | distance ratio | strength | " + " | ".join(HEADINGS) + " |")
    print("|---|---:|---:|" + "---:|" * len(SCORES))
    for name, strength, reached, ours, theirs in rows:
        mark = "" if reached else " (1: not reached)"
        cells = " | ".join(f"{ours[key]:.3f} / {theirs[key]:.3f}" for key in SCORES)
        print(f"| {name} | {theirs['color_ratio']:.3f} | {strength:.2f}{mark} | {cells} |")
    medians = " | ".join(f"**{statistics.median(r[3][key] for r in rows):.3f} / "
                         f"{statistics.median(r[4][key] for r in rows):.3f}**" for key in SCORES)
    print(f"| median | {statistics.median(r[4]['color_ratio'] for r in rows):.3f} | "
          f"{statistics.median(r[1] for r in rows):.2f} | {medians} |")

    def wins(key: str) -> int:
        higher = key in HIGHER_IS_BETTER
        return sum((ours[key] > theirs[key]) if higher else (ours[key] < theirs[key])
                   for *_, ours, theirs in rows)

    better = " | ".join(str(wins(key)) for key in SCORES)
    print(f"| pairs where the default is better | | | {better} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
