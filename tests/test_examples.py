import importlib.util
from pathlib import Path

import numpy as np
import ot
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_emd_1d_plan_and_distance(tmp_path, capsys):
    example = load("emd_1d")
    results = example.main(tmp_path)
    p, q, x = example.P, example.Q, example.POINTS
    cost = np.abs(x[:, None] - x[None, :])
    np.testing.assert_allclose(results["plan"], ot.emd(p, q, cost), atol=1e-12)
    np.testing.assert_allclose(results["plan"], [[0.1, 0.1, 0], [0, 0.3, 0], [0, 0.2, 0.3]], atol=1e-12)
    # W1 = integral |F_p - F_q| = |0.2 - 0.1| * 1 + |0.5 - 0.7| * 1 = 0.3
    for key in ("distance", "emd2", "quantile", "closed_form"):
        assert results[key] == pytest.approx(0.3, abs=1e-12)
    assert results["distance"] == pytest.approx(ot.emd2(p, q, cost))
    assert "0.3000" in capsys.readouterr().out


@pytest.fixture(scope="module")
def desserts():
    pytest.importorskip("matplotlib")
    return load("sinkhorn_desserts")


def test_desserts_marginals_and_chart(desserts, tmp_path):
    results = desserts.main(tmp_path)
    assert list(results["plans"])[:5] == [f"lambda = {lam:g}" for lam in (0.1, 1, 3, 10, 50)]
    # Along the sweep the plans go from spread (high entropy) to preference-driven.
    preference = [np.sum(plan * desserts.M) for plan in results["plans"].values()]
    assert all(a < b + 1e-9 for a, b in zip(preference, preference[1:]))
    for plan in results["plans"].values():
        np.testing.assert_allclose(plan.sum(axis=1), desserts.R, atol=1e-6)
        np.testing.assert_allclose(plan.sum(axis=0), desserts.C, atol=1e-6)
    from PIL import Image

    with Image.open(results["chart"]) as chart:
        assert chart.format == "PNG" and chart.width > chart.height


def test_small_lambda_spreads_in_proportion_to_c(desserts):
    plan = desserts.sinkhorn_plan(0.1)
    independent = np.outer(desserts.R, desserts.C) / desserts.R.sum()
    assert np.abs(plan - independent).max() < 0.25  # vs entries of up to 1.2 portions
    shares = plan / plan.sum(axis=1, keepdims=True)
    proportional = np.broadcast_to(desserts.C / desserts.C.sum(), shares.shape)
    np.testing.assert_allclose(shares, proportional, atol=0.06)
    # Tighter still as lambda -> 0.
    assert np.abs(desserts.sinkhorn_plan(0.001) - independent).max() < 0.01


def test_large_lambda_follows_preferences_and_tends_to_emd(desserts):
    total = desserts.R.sum()
    best = ot.emd2(desserts.R / total, desserts.C / total, -desserts.M) * total  # as a cost: -24
    gaps = [np.sum(desserts.sinkhorn_plan(lam) * -desserts.M) - best for lam in (0.1, 1.0, 10.0, 200.0)]
    assert all(a > b for a, b in zip(gaps, gaps[1:])) and gaps[0] > 10
    assert gaps[-1] == pytest.approx(0, abs=1e-6)
    # The lambda = 200 plan is itself optimal (the optimum is not unique here) and has converged.
    limit = desserts.sinkhorn_plan(200.0)
    exact = desserts.exact_plan()
    assert np.sum(limit * desserts.M) == pytest.approx(np.sum(exact * desserts.M), abs=1e-6)
    np.testing.assert_allclose(limit, desserts.sinkhorn_plan(400.0), atol=1e-6)


@pytest.mark.slow  # a subprocess
def test_desserts_without_matplotlib_prints_plans_and_one_line(tmp_path):
    import subprocess
    import sys

    code = ("import sys, runpy; sys.modules['matplotlib'] = None; "
            f"sys.argv = ['x', {str(tmp_path)!r}]; "
            f"runpy.run_path({str(EXAMPLES / 'sinkhorn_desserts.py')!r}, "
            "run_name='__main__')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "lambda = 50" in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("matplotlib is not installed")
    assert not (tmp_path / "desserts.png").exists()


def test_smooth_map_sheet_and_scores(tmp_path):
    from PIL import Image

    from imgot.metrics import blotch

    results = load("smooth_map").main(tmp_path)
    with Image.open(results["path"]) as sheet:
        assert sheet.height == results["default"].shape[0] and sheet.width > 3 * results["default"].shape[1]
    # The default adds markedly fewer blotches than the plain map on the same pair.
    scores = results["scores"]
    assert scores["default"]["blotch"] < 0.8 * scores["plain"]["blotch"]
    assert scores["default"]["chroma_structure"] > scores["plain"]["chroma_structure"]
    assert scores["default"]["blotch"] == pytest.approx(blotch(
        np.asarray(Image.open(EXAMPLES.parent / "sample_images" / "chelsea.jpg").convert("RGB")), results["default"]))


@pytest.fixture(scope="module")
def colorist(tmp_path_factory):
    return load("colorist_controls").main(tmp_path_factory.mktemp("colorist"))


def test_colorist_sheets_are_written(colorist):
    from PIL import Image

    for name in ("protect_skin", "saturation", "neutralize", "lut_sizes"):
        with Image.open(colorist[name]["path"]) as sheet:
            assert sheet.format == "JPEG" and sheet.height == 220 and sheet.width > 4 * 220


def test_colorist_protect_skin_keeps_the_face_and_grades_the_suit(colorist):
    result = colorist["protect_skin"]
    face, suit = (slice(110, 190), slice(190, 260)), (slice(380, 480), slice(30, 120))
    moved = {name: np.abs(result[name].astype(int) - result["source"]).mean(axis=-1) for name in ("default", "protected")}
    assert moved["protected"][face].mean() < 0.45 * moved["default"][face].mean()
    assert moved["protected"][suit].mean() > 0.9 * moved["default"][suit].mean()


def test_colorist_saturation_scales_chroma(colorist):
    from skimage.color import rgb2lab

    chroma = {name: np.hypot(*rgb2lab(colorist["saturation"][name] / 255.0)[..., 1:].transpose(2, 0, 1)).mean()
              for name in ("default", "less", "more")}
    assert chroma["less"] == pytest.approx(0.6 * chroma["default"], rel=0.02)
    assert chroma["default"] < chroma["more"] < 1.4 * chroma["default"] + 0.5  # gamut-mapped at the top


def test_colorist_neutralize_turns_the_white_cup_white(colorist):
    from skimage.color import rgb2lab

    result = colorist["neutralize"]
    source = rgb2lab(result["source"] / 255.0)
    cup = source[..., 0] >= np.quantile(source[..., 0], 0.99)  # the brightest surface: the cup's rim
    tint = {name: np.abs(rgb2lab(result[name] / 255.0)[cup][:, 1:].mean(axis=0)).max()
            for name in ("source", "corrected", "original")}
    assert tint["source"] > 5 and tint["corrected"] < 1.5


def test_colorist_lut_files_reproduce_the_map(colorist):
    result = colorist["lut_sizes"]
    assert np.abs(result["hald8"].astype(int) - result["plain"]).mean() < 0.5
    assert np.abs(result["cube17"].astype(int) - result["plain"]).mean() < 4
