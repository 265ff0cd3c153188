import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import imgot
from imgot import ColorTransfer, Normalizer, read_image
from imgot.barycenter import palette_barycenter
from imgot.cli.normalize import normalize as normalize_command
from imgot.normalize import NORMALIZE_METHODS, load_normalizer
from imgot.sheet import spread_report
from imgot.transfer import load as load_transfer

FAST = {"n_clusters": 8, "n_samples": 1500}


def tinted(seed, tint):
    """A textured image under a color cast (a different 'scanner')."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:24, 0:32]
    wave = 0.3 * np.sin(x / 4.0)[..., None] * np.array([1.0, 0.6, 0.3])
    base = 0.5 + wave + rng.normal(0, 0.03, (24, 32, 3))
    return np.round(np.clip(base * tint, 0, 1) * 255).astype(np.uint8)


@pytest.fixture
def dataset():
    return [tinted(k, tint) for k, tint in enumerate(([1.0, 0.7, 0.6], [0.6, 0.8, 1.0], [0.9, 1.0, 0.6]))]


def test_barycenter_is_the_palette_barycenter_of_the_transfer_palettes(dataset):
    model = Normalizer(**FAST).fit(dataset)
    palettes = [ColorTransfer(**FAST).fit(image).reference_palette_ for image in dataset]
    for ours, theirs in zip(model.palettes_, palettes):
        np.testing.assert_array_equal(ours.colors, theirs.colors)
    expected = palette_barycenter(palettes, n_clusters=8)
    np.testing.assert_allclose(model.barycenter_.colors, expected.colors)
    np.testing.assert_allclose(imgot.barycenter(dataset, **FAST).colors, expected.colors)


@pytest.mark.parametrize("method", NORMALIZE_METHODS)
def test_normalizing_brings_images_closer_to_the_barycenter_and_each_other(dataset, method):
    model = Normalizer(method=method, **FAST).fit(dataset)
    outputs = [model.transform(image) for image in dataset]
    assert all(o.shape == i.shape and o.dtype == np.uint8 for o, i in zip(outputs, dataset))
    report = spread_report(model, list(zip(dataset, outputs)))["summary"]
    assert report["after_median"] < 0.5 * report["before_median"]
    assert report["pairwise_after_median"] < 0.5 * report["pairwise_before_median"]
    # The same bytes as the regular transfer path toward the barycenter palette.
    reference = ColorTransfer(method=method, **FAST).fit_palette(model.barycenter_)
    np.testing.assert_array_equal(outputs[0], reference.transform(dataset[0]))


def test_a_template_target_is_a_plain_transfer(dataset):
    model = Normalizer(**FAST).fit([dataset[1]])
    expected = ColorTransfer(method="emd", **FAST).fit(dataset[1]).transform(dataset[0])
    np.testing.assert_array_equal(model.transform(dataset[0]), expected)


def test_weights_move_the_barycenter(dataset):
    equal = Normalizer(**FAST).fit(dataset[:2])
    heavy = Normalizer(weights=[9, 1], **FAST).fit(dataset[:2])
    assert heavy.distance(dataset[0]) < equal.distance(dataset[0])
    by_pixels = Normalizer(weights="pixels", **FAST).fit([dataset[0], np.repeat(dataset[1], 3, axis=0)])
    np.testing.assert_allclose(by_pixels.image_weights_, [0.25, 0.75])


def test_scikit_learn_contract_and_save_load(dataset, tmp_path):
    from sklearn.base import clone

    model = Normalizer(method="unbalanced", reg_m=0.5, **FAST)
    copy = clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "barycenter_")
    assert model.fit(dataset, None) is model
    path = tmp_path / "look.npz"
    model.save(path)
    loaded = load_normalizer(path)
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.transform(dataset[2]), model.transform(dataset[2]))
    with pytest.raises(FileExistsError):
        model.save(path)
    through_load = imgot.load(path)  # imgot.load reads both estimators' files
    assert isinstance(through_load, Normalizer) and through_load.get_params() == model.get_params()
    np.testing.assert_array_equal(through_load.transform(dataset[2]), model.transform(dataset[2]))
    with pytest.raises(imgot.ModelFormatError, match="imgot.load"):
        load_transfer(path)  # the ColorTransfer reader names the one to use
    with pytest.raises(ValueError):
        Normalizer(method="linear").fit(dataset)
    with pytest.raises(imgot.NotFittedError):
        Normalizer().transform(dataset[0])
    with pytest.raises(ValueError):
        Normalizer().set_params(clusters=3)


def test_cli_normalize(dataset, tmp_path):
    folder = tmp_path / "in"
    (folder / "day2").mkdir(parents=True)
    names = ["a.png", "b.png", "day2/c.png"]
    for name, image in zip(names, dataset):
        Image.fromarray(image).save(folder / name)
    run = CliRunner().invoke
    args = [str(folder), "-o", str(tmp_path / "out"), "--clusters", "8", "-j", "1",
            "--report", str(tmp_path / "r.json"), "--sheet", str(tmp_path / "s.png"),
            "--save-barycenter", str(tmp_path / "look.npz"), "--save-luts", str(tmp_path / "luts")]
    result = run(normalize_command, args)
    assert result.exit_code == 0, result.output
    model = Normalizer(n_clusters=8).fit([folder / name for name in names])
    for name, image in zip(names, dataset):
        np.testing.assert_array_equal(read_image(tmp_path / "out" / name), model.transform(image))
    report = json.loads((tmp_path / "r.json").read_text())
    assert len(report["images"]) == 3
    assert report["summary"]["after_median"] < report["summary"]["before_median"]
    assert "median" in result.output
    assert "imgot normalize" in result.output and "imgot batch" not in result.output  # its own progress line
    with Image.open(tmp_path / "s.png") as sheet:
        assert sheet.width > 400
    from imgot.cube import read_cube
    from imgot.transfer import apply_lut_to_image

    lut = read_cube(tmp_path / "luts" / "day2" / "c.cube")
    # The .cube holds the color map; the detail step (on by default) is added back per pixel.
    graded = apply_lut_to_image(lut, dataset[2], preserve_detail=True).astype(int)
    assert np.abs(graded - model.transform(dataset[2])).max() <= 3
    # Reuse the saved barycenter on new images: the same bytes.
    again = run(normalize_command, [str(folder / "a.png"), "-o", str(tmp_path / "out2"), "-j", "1",
                                    "--target", str(tmp_path / "look.npz")])
    assert again.exit_code == 0, again.output
    reused = read_image(tmp_path / "out2" / "a.png")
    np.testing.assert_array_equal(reused, read_image(tmp_path / "out" / "a.png"))
    # A template file as the target.
    template = run(normalize_command, [str(folder), "-o", str(tmp_path / "out3"), "-j", "1", "--clusters",
                                       "8", "--target", str(folder / "b.png"), "--fit-images", "2"])
    assert template.exit_code == 0, template.output
    # normalize's own default method is emd (palette methods only), with the detail step.
    expected = ColorTransfer(method="emd", n_clusters=8).fit(dataset[1]).transform(dataset[0])
    np.testing.assert_array_equal(read_image(tmp_path / "out3" / "a.png"), expected)
    bad = run(normalize_command, [str(folder), "-o", str(tmp_path / "o4"), "--method", "linear"])
    assert bad.exit_code == 2
    missing = run(normalize_command, [str(folder), "-o", str(tmp_path / "o5"),
                                      "--target", str(tmp_path / "x.npz")])
    assert missing.exit_code == 1 and "Traceback" not in missing.output


# -- background: empty glass is not tissue ----------------------------------------------------------

GLASS = (236, 232, 238)  # L* about 93


def stained(seed, cast, glass_share=0.25, size=48):
    """A tile of hematoxylin and eosin blocks on glass, under a scanner's color cast."""
    rng = np.random.default_rng(seed)
    colors = np.array([[80, 60, 150], [220, 130, 180], GLASS], float)
    shares = [(1 - glass_share) / 2, (1 - glass_share) / 2, glass_share]
    labels = rng.choice(3, size=(size // 8, size // 8), p=shares).repeat(8, 0).repeat(8, 1)
    image = colors[labels] * np.where(labels[..., None] == 2, 1.0, cast) + rng.normal(0, 5, (size, size, 3))
    return np.clip(np.round(image), 0, 255).astype(np.uint8), labels == 2


def glass_tile(seed=9, size=48):
    rng = np.random.default_rng(seed)
    return np.clip(np.round(np.array(GLASS) + rng.normal(0, 3, (size, size, 3))), 0, 255).astype(np.uint8)


@pytest.fixture
def slides():
    return [stained(k, cast)[0] for k, cast in enumerate(([1.0, 0.95, 1.0], [0.9, 0.85, 1.05], [1.05, 0.9, 0.9]))]


def lightness(image):
    from skimage.color import rgb2lab

    return float(rgb2lab(image)[..., 0].mean())


def test_a_glass_tile_is_left_as_glass(slides):
    """Without a background rule the tissue barycenter paints empty glass (L* 93) with tissue colors;
    with background=0.85 the glass tile is returned bit for bit, and is not fitted on either."""
    glass = glass_tile()
    painted = Normalizer(**FAST).fit(slides).transform(glass)
    assert lightness(glass) - lightness(painted) > 15  # the failure the rule is for
    model = Normalizer(background=0.85, **FAST).fit([*slides, glass])
    assert model.n_background_ == 1 and model.n_images_ == len(slides)
    np.testing.assert_array_equal(model.barycenter_.colors,
                                  Normalizer(background=0.85, **FAST).fit(slides).barycenter_.colors)
    np.testing.assert_array_equal(model.transform(glass), glass)
    with pytest.raises(ValueError, match="background"):
        Normalizer(background=0.85, **FAST).fit([glass])
    with pytest.raises(ValueError, match="background"):
        Normalizer(background=1.5).fit(slides)


def test_the_glass_around_tissue_keeps_its_colors_and_the_tissue_is_normalized(slides):
    """On a tile half glass, the glass away from tissue (known from the drawing, not found by imgot) keeps
    its colors bit for bit, and the tissue moves to within half its distance to the barycenter colors."""
    model = Normalizer(background=0.85, **FAST).fit(slides)
    tile, glass = stained(7, [0.85, 0.8, 1.1], glass_share=0.5)
    out = model.transform(tile)
    from scipy.ndimage import binary_erosion

    inner = binary_erosion(glass, np.ones((7, 7), bool))  # glass at least 4 px from any tissue
    assert np.array_equal(out[inner], tile[inner])  # glass away from tissue: bit for bit
    plain = Normalizer(**FAST).fit(slides).transform(tile)
    assert lightness(plain[inner]) < lightness(tile[inner]) - 5  # without the rule the glass darkens
    tissue = binary_erosion(~glass, np.ones((7, 7), bool))
    bary = model.barycenter_.colors
    from skimage.color import rgb2lab

    def to_barycenter(image):  # mean CIELAB distance of the tissue pixels to the nearest barycenter color
        lab = rgb2lab(image)[tissue]
        return float(np.sqrt(((lab[:, None] - bary[None]) ** 2).sum(-1)).min(1).mean())

    assert to_barycenter(out) < 0.5 * to_barycenter(tile)


def test_cli_background_and_min_content(tmp_path, slides):
    folder = tmp_path / "in"
    folder.mkdir()
    for k, image in enumerate([*slides, glass_tile()]):
        Image.fromarray(image).save(folder / f"t{k}.png")
    run = CliRunner().invoke
    result = run(normalize_command, [str(folder), "-o", str(tmp_path / "out"), "--clusters", "8", "-j", "1",
                                     "--background", "0.85", "--min-content", "0.1"])
    assert result.exit_code == 0, result.output
    model = Normalizer(n_clusters=8, background=0.85, min_content=0.1).fit(slides)
    np.testing.assert_array_equal(read_image(tmp_path / "out" / "t0.png"), model.transform(slides[0]))
    np.testing.assert_array_equal(read_image(tmp_path / "out" / "t3.png"), glass_tile())
    refused = run(normalize_command, [str(folder), "-o", str(tmp_path / "out2"), "--min-content", "0.1"])
    assert refused.exit_code == 2 and "--background" in refused.output


def test_cli_fit_sample_is_a_hidden_deprecated_name_of_fit_images(dataset, tmp_path):
    """--fit-images counts images (n_samples counts pixels); the old flag still works, warns, and is not in --help."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name, image in zip("abc", dataset):
        imgot.write_image(folder / f"{name}.png", image)
    runner = CliRunner()
    args = ["-j", "1", "--clusters", "8"]
    new = runner.invoke(normalize_command, [str(folder), "-o", str(tmp_path / "new"), "--fit-images", "2", *args])
    old = runner.invoke(normalize_command, [str(folder), "-o", str(tmp_path / "old"), "--fit-sample", "2", *args])
    assert new.exit_code == 0 and old.exit_code == 0, (new.output, old.output)
    assert "--fit-sample is deprecated; use --fit-images" in old.stderr and "--fit-sample" not in new.stderr
    for name in "abc":
        np.testing.assert_array_equal(read_image(tmp_path / "old" / f"{name}.png"),
                                      read_image(tmp_path / "new" / f"{name}.png"))
    help_text = runner.invoke(normalize_command, ["--help"]).output
    assert "--fit-images" in help_text and "--fit-sample" not in help_text
