import numpy as np
import ot
import pytest
import scipy.stats
from click.testing import CliRunner
from PIL import Image

from imgot.cli.distance import distance as distance_command
from imgot.colorspace import srgb_to_lab
from imgot.distances import (
    _color_distribution,
    distance,
    gray_levels,
    pairwise_distances,
    random_directions,
    wasserstein_1d,
)
from imgot.palette import fit_palette


@pytest.mark.parametrize("seed", [0, 1])
def test_wasserstein_1d_matches_scipy_and_pot(seed):
    rng = np.random.default_rng(seed)
    u, v = rng.normal(size=40), rng.normal(1, 2, size=70)
    uw, vw = rng.random(40), rng.random(70)
    assert wasserstein_1d(u, v, uw, vw) == pytest.approx(scipy.stats.wasserstein_distance(u, v, uw, vw))
    a, b = uw / uw.sum(), vw / vw.sum()
    for p in (1, 2):
        expected = float(ot.wasserstein_1d(u, v, a, b, p=p))
        assert wasserstein_1d(u, v, uw, vw, p=p) ** p == pytest.approx(expected)
    expected = ot.emd2_1d(u, v, a, b, metric="sqeuclidean")
    assert wasserstein_1d(u, v, uw, vw, p=2) ** 2 == pytest.approx(expected)


def gray_pair():
    rng = np.random.default_rng(3)
    dark = np.clip(rng.normal(70, 20, (30, 40)), 0, 255).astype(np.uint8)
    bright = np.clip(rng.normal(150, 35, (25, 20)), 0, 255).astype(np.uint8)
    return dark, bright


def test_gray_distance_is_exact_on_full_histograms():
    dark, bright = gray_pair()
    expected = scipy.stats.wasserstein_distance(dark.ravel(), bright.ravel())
    assert distance(dark, bright, gray=True, p=1) == pytest.approx(expected, rel=1e-12)
    for p in (1, 2):
        pot = ot.wasserstein_1d(dark.ravel().astype(float), bright.ravel().astype(float), p=p) ** (1 / p)
        assert distance(dark, bright, gray=True, p=p) == pytest.approx(float(pot), rel=1e-10)
    # 16-bit levels count in 8-bit units: the same image at 16 bits is at distance 0.
    assert distance(dark, dark.astype(np.uint16) * 257, gray=True) == pytest.approx(0, abs=1e-9)
    assert distance(dark, bright, gray=True, method="sliced") == distance(dark, bright, gray=True)


def test_gray_levels_follow_pillow_luma():
    """Pillow's luma on the 16-bit grid: within half a 16-bit level of the exact luma, and Pillow's
    convert("L") (rounded to whole 8-bit levels) within half an 8-bit level of it."""
    rgb = np.random.default_rng(0).integers(0, 256, (9, 11, 3), dtype=np.uint8)
    levels, scale = gray_levels(rgb)
    exact = (rgb.astype(float) @ np.array([19595, 38470, 7471])) / 65536 * 257  # in 16-bit levels
    assert scale == 65535 and np.abs(levels.reshape(9, 11) - exact).max() <= 0.5
    pillow = np.asarray(Image.fromarray(rgb).convert("L")).astype(float)
    assert np.abs(levels.reshape(9, 11) / 257 - pillow).max() <= 0.5 + 0.5 / 257


def test_gray_distance_is_zero_between_one_picture_at_every_depth():
    """The same RGB pixels at 8 bits, at 16 bits (x257) and as float are one gray distribution."""
    rgb = np.random.default_rng(4).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    for other in (rgb.astype(np.uint16) * 257, rgb / 255.0):
        for p in (1, 2):
            assert distance(rgb, other, gray=True, p=p) == 0.0
    # against scipy on the exact luma (the same fixed-point weights, in floats): within the 16-bit grid's rounding
    shifted = np.clip(rgb.astype(int) + [9, -4, 20], 0, 255).astype(np.uint8)
    luma = lambda image: (image.reshape(-1, 3).astype(float) @ np.array([19595, 38470, 7471])) / 65536  # noqa: E731
    expected = scipy.stats.wasserstein_distance(luma(rgb), luma(shifted))
    assert distance(rgb, shifted.astype(np.uint16) * 257, gray=True, p=1) == pytest.approx(expected, abs=1 / 257)
    assert distance(rgb, shifted, gray=True, p=1) > 1.0


def test_groups_pool_images_with_equal_weights():
    dark, bright = gray_pair()
    pooled = distance([dark, bright], bright, gray=True, p=1)
    # Each image weighs 1/2 whatever its size.
    u = np.concatenate([dark.ravel(), bright.ravel()]).astype(float)
    w = np.concatenate([np.full(dark.size, 0.5 / dark.size), np.full(bright.size, 0.5 / bright.size)])
    assert pooled == pytest.approx(scipy.stats.wasserstein_distance(u, bright.ravel(), w))
    assert distance([dark, dark], [dark], gray=True) == 0


@pytest.mark.parametrize("p", [1, 2])
def test_emd_and_sinkhorn_match_pot_on_the_same_palettes(warm, cool, p):
    options = dict(color_space="lab", n_clusters=8, n_samples=2000, seed=0)
    a = _color_distribution([warm], method="emd", **options)
    b = _color_distribution([cool], method="emd", **options)
    # The palettes are imgot's: a seeded sample, in Lab, k-means.
    rng = np.random.default_rng(0)
    sample = warm.reshape(-1, 3)[rng.integers(0, warm.shape[0] * warm.shape[1], 2000)] / 255.0
    expected = fit_palette(srgb_to_lab(sample), 8, 0)
    np.testing.assert_allclose(a.points, expected.colors)
    cost = ot.dist(a.points, b.points, metric="euclidean") ** p
    emd = ot.emd2(a.weights, b.weights, cost) ** (1 / p)
    value = distance(warm, cool, method="emd", p=p, n_clusters=8, n_samples=2000)
    assert value == pytest.approx(emd, rel=1e-9)
    # Sinkhorn: POT's debiased divergence, with the same absolute regularization for its three terms.
    reg = 0.1 * np.median(cost[cost > 0])
    divergence = ot.bregman.empirical_sinkhorn_divergence(
        a.points, b.points, reg, a.weights, b.weights, metric="euclidean" if p == 1 else "sqeuclidean",
        method="sinkhorn_log", numIterMax=10_000, stopThr=1e-12)
    value = distance(warm, cool, method="sinkhorn", p=p, n_clusters=8, n_samples=2000, reg=0.1)
    assert value == pytest.approx(float(divergence) ** (1 / p), rel=1e-6)
    assert 0.9 * emd <= value <= 1.05 * emd


def test_sinkhorn_divergence_is_zero_for_identical_inputs_and_tends_to_emd(warm, cool):
    options = dict(method="sinkhorn", n_clusters=16, n_samples=2000)
    assert distance(warm, warm, **options) == 0.0
    assert distance([warm, cool], [warm, cool], **options) == 0.0
    # The plain entropic cost between an image and itself is not 0: the debiasing is what removes it.
    a = _color_distribution([warm], method="emd", color_space="lab", n_clusters=16, n_samples=2000, seed=0)
    cost = ot.dist(a.points, a.points)
    biased = ot.sinkhorn2(a.weights, a.weights, cost, 0.1 * np.median(cost[cost > 0]), method="sinkhorn_log")
    assert float(biased) > 1.0
    emd = distance(warm, cool, method="emd", n_clusters=16, n_samples=2000)
    gaps = [abs(distance(warm, cool, reg=reg, **options) - emd) for reg in (0.3, 0.1, 0.01)]
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 0.01 * emd
    with pytest.raises(ValueError, match="max_iter"):
        distance(warm, cool, max_iter=0, **options)


def test_sliced_matches_pot_with_the_same_directions(warm, cool):
    options = dict(color_space="lab", n_clusters=8, n_samples=3000, seed=2)
    a = _color_distribution([warm], method="sliced", **options)
    b = _color_distribution([cool], method="sliced", **options)
    directions = random_directions(3, 50, 2)
    for p in (1, 2):
        expected = ot.sliced_wasserstein_distance(a.points, b.points, projections=directions, p=p)
        ours = distance(warm, cool, method="sliced", p=p, n_samples=3000, n_projections=50, random_state=2)
        assert ours == pytest.approx(float(expected), rel=1e-9)
    # Unequal sample sizes (groups of different sizes) go through the exact 1-D formula.
    uneven = distance([warm, cool, cool], warm, method="sliced", n_samples=3000, n_projections=20)
    assert 0 < uneven < distance(cool, warm, method="sliced", n_samples=3000, n_projections=20)


def test_identity_symmetry_and_pairwise(warm, cool):
    options = dict(n_clusters=6, n_samples=1500)
    assert distance(warm, warm, **options) == pytest.approx(0, abs=1e-9)
    assert distance(warm, cool, **options) == pytest.approx(distance(cool, warm, **options))
    images = [warm, cool, warm[::-1]]
    matrix = pairwise_distances(images, **options)
    np.testing.assert_allclose(matrix, matrix.T)
    assert matrix[0, 1] == pytest.approx(distance(warm, cool, **options))
    assert matrix[0, 2] < 0.2 * matrix[0, 1]  # a flip moves no color: only sampling noise remains


@pytest.mark.parametrize("options", [
    {"method": "magic"}, {"p": 3}, {"gray": True, "method": "sinkhorn"}, {"color_space": "hsv"},
    {"n_clusters": 0}, {"reg": 0}, {"random_state": -1},
])
def test_bad_arguments_raise_value_error(warm, options):
    with pytest.raises(ValueError):
        distance(warm, warm, **options)


def test_empty_group_raises(warm):
    with pytest.raises(ValueError, match="empty"):
        distance([], warm)


@pytest.fixture
def folders(tmp_path):
    dark, bright = gray_pair()
    for name, image in (("a/one.png", dark), ("a/two.png", dark[::-1]), ("b/three.png", bright)):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        Image.fromarray(image).save(tmp_path / name)
    (tmp_path / "a" / "notes.txt").write_text("not an image")
    return tmp_path


def run(*args):
    return CliRunner().invoke(distance_command, [str(a) for a in args])


def test_cli_compares_folders_and_globs(folders):
    dark, bright = gray_pair()
    result = run(folders / "a", folders / "b", "--gray", "--p", "1")
    assert result.exit_code == 0, result.output
    assert float(result.output) == pytest.approx(distance(dark, bright, gray=True, p=1), rel=1e-5)
    globbed = run(str(folders / "a" / "*.png"), folders / "b" / "three.png", "--gray", "--p", "1")
    assert globbed.output == result.output


def test_cli_pairwise_csv_and_heat_map(folders):
    pytest.importorskip("matplotlib")
    csv, heat = folders / "d.csv", folders / "d.png"
    result = run(folders / "a", folders / "b", "--gray", "--pairwise", csv, "--plot", heat)
    assert result.exit_code == 0, result.output
    rows = [line.split(",") for line in csv.read_text().splitlines()]
    assert rows[0] == ["", "one.png", "two.png", "three.png"]
    matrix = np.array([[float(v) for v in row[1:]] for row in rows[1:]])
    np.testing.assert_allclose(matrix, matrix.T)
    assert matrix[0, 1] == 0 and matrix[0, 2] > 50
    with Image.open(heat) as picture:
        assert picture.format == "PNG" and min(picture.size) > 200
    again = run(folders / "a", "--gray", "--pairwise", csv)
    assert again.exit_code == 1 and "--overwrite" in again.output
    assert run(folders / "a", "--gray", "--pairwise", csv, "--overwrite").exit_code == 0


def test_cli_missing_matplotlib_is_one_line(folders, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    result = run(folders / "a", "--gray", "--plot", folders / "h.png")
    assert result.exit_code == 1 and "imgot[plot]" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (folders / "h.png").exists()


@pytest.mark.parametrize("args, code, message", [
    (["{d}/missing.png", "{d}/b"], 1, "no such file"),
    (["{d}/a/notes.txt", "{d}/b"], 1, "not an image"),
    (["{d}/empty", "{d}/b"], 1, "no image files"),
    (["{d}/zz*.png", "{d}/b"], 1, "no file matches"),
    (["{d}/a"], 2, "give B"),
    (["{d}/a", "{d}/b", "--gray", "--method", "sinkhorn"], 2, "colors only"),  # a bad option combination
    (["{d}/a", "{d}/b", "--p", "3"], 2, ""),
])
def test_cli_user_errors(folders, args, code, message):
    (folders / "empty").mkdir()
    result = run(*[a.format(d=folders) for a in args])
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output
    if code == 1:
        assert len(result.output.strip().splitlines()) == 1


def test_cli_sinkhorn_is_zero_for_an_image_against_itself_and_takes_max_iter(tmp_path, warm, cool):
    Image.fromarray(warm).save(tmp_path / "w.png")
    Image.fromarray(cool).save(tmp_path / "c.png")
    same = run(tmp_path / "w.png", tmp_path / "w.png", "--method", "sinkhorn")
    assert same.exit_code == 0 and float(same.output) == 0.0
    short = run(tmp_path / "w.png", tmp_path / "c.png", "--method", "sinkhorn", "--max-iter", "2")
    assert short.exit_code == 0 and "did not converge in max_iter=2" in short.output
    assert run(tmp_path / "w.png", tmp_path / "c.png", "--max-iter", "0").exit_code == 2
