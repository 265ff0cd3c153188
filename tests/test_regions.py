"""Selections, apply masks, ignored colors and regions (imgot.regions), against independent truths.

The truths: a histogram match on a cropped image (what a selection of those
pixels must give), the closed-form mean of the linear (MKL) map, bit-exact
source pixels outside an apply mask, and the global map for unpaired regions.
"""

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from skimage.exposure import match_histograms

import imgot
from imgot.cli import main
from imgot.methods import METHOD_NAMES
from imgot.regions import as_labels, composite, feather_weight, region_weights

FAST = dict(preserve_detail=False, n_clusters=16, n_samples=4000)


@pytest.fixture
def two_tone():
    """A reference whose top half is warm and bottom half cool, with texture."""
    rng = np.random.default_rng(5)
    image = np.empty((60, 80, 3))
    image[:30] = [0.85, 0.45, 0.2]
    image[30:] = [0.15, 0.35, 0.8]
    image += rng.normal(0, 0.05, image.shape)
    return np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)


def top_mask(shape, rows):
    mask = np.zeros(shape[:2], np.uint8)
    mask[:rows] = 255
    return mask


# -- selections for the statistics --------------------------------------------------------


def test_reference_mask_equals_matching_the_selected_pixels_alone(warm, two_tone):
    """Histogram matching toward the selected half = skimage's match_histograms toward that half cropped."""
    masked = imgot.transfer(warm, two_tone, method="histogram", preserve_detail=False, reference_mask=top_mask(two_tone.shape, 30))
    truth = match_histograms(warm, two_tone[:30], channel_axis=-1)
    assert np.abs(masked.astype(int) - truth.astype(int)).max() <= 1  # skimage truncates, imgot rounds
    unmasked = imgot.transfer(warm, two_tone, method="histogram", preserve_detail=False)
    assert np.abs(unmasked.astype(int) - truth.astype(int)).mean() > 20  # the mask mattered


def test_source_mask_equals_the_curves_of_the_selected_pixels(two_tone, cool):
    """The source's CDF comes from its selection only; every pixel still goes through those curves."""
    mask = top_mask(two_tone.shape, 30)
    masked = imgot.transfer(two_tone, cool, method="histogram", preserve_detail=False, source_mask=mask)
    from_top = imgot.transfer(two_tone[:30], cool, method="histogram", preserve_detail=False)
    assert np.array_equal(masked[:30], from_top)


def test_gray_mask_values_are_weights(two_tone, warm):
    """A region at weight 0.5 counts as much as half as many pixels: the same as duplicating the other."""
    weights = np.ones(two_tone.shape[:2])
    weights[30:] = 0.5
    weighted = imgot.transfer(warm, two_tone, method="histogram", preserve_detail=False, reference_mask=weights)
    duplicated = np.concatenate([two_tone[:30], two_tone[:30], two_tone[30:]])
    truth = imgot.transfer(warm, duplicated, method="histogram", preserve_detail=False)
    assert np.array_equal(weighted, truth)


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_every_method_takes_its_colors_from_the_selection(method, warm, two_tone):
    """Toward the cool half only, every method's output is cool: mean blue above red."""
    mask = np.zeros(two_tone.shape[:2], bool)
    mask[30:] = True
    out = imgot.transfer(warm, two_tone, method=method, reference_mask=mask, **FAST).reshape(-1, 3).mean(0)
    selected = two_tone[30:].reshape(-1, 3).mean(0)
    assert out[2] > out[0] + 60, (method, out)
    assert np.abs(out - selected).max() < 25, (method, out, selected)


def test_linear_maps_the_mean_to_the_selected_mean(warm, two_tone):
    """MKL maps the source mean to the reference mean exactly (closed form), in Lab: here the selection's."""
    from imgot.colorspace import srgb_to_lab

    mask = top_mask(two_tone.shape, 30)
    out = imgot.transfer(warm, two_tone, method="linear", preserve_detail=False, reference_mask=mask, n_samples=200000)
    mean_out = srgb_to_lab(out.reshape(-1, 3) / 255.0).mean(0)
    mean_selected = srgb_to_lab(two_tone[:30].reshape(-1, 3) / 255.0).mean(0)
    assert np.abs(mean_out - mean_selected).max() < 1.0


def test_alpha_as_the_mask(warm, two_tone):
    rgba = np.dstack([two_tone, top_mask(two_tone.shape, 30)])
    by_alpha = imgot.transfer(warm, rgba, method="histogram", preserve_detail=False, reference_mask="alpha")
    by_mask = imgot.transfer(warm, two_tone, method="histogram", preserve_detail=False, reference_mask=top_mask(two_tone.shape, 30))
    assert np.array_equal(by_alpha, by_mask)


# -- ignored (nodata) colors ------------------------------------------------------------------


def test_ignored_color_leaves_nodata_out_and_unchanged(rocket, coffee):
    """A scene in a black border: the border is copied and the rest matches the scene without it
    (scikit-image issue 7212)."""
    scene, coffee = np.maximum(rocket, 1), np.maximum(coffee, 1)  # no nodata inside the pictures themselves
    framed = np.zeros((rocket.shape[0] + 40, rocket.shape[1] + 40, 3), np.uint8)
    framed[20:-20, 20:-20] = scene
    out = imgot.transfer(framed, coffee, method="histogram", preserve_detail=False, ignore_color=(0, 0, 0))
    inner = imgot.transfer(scene, coffee, method="histogram", preserve_detail=False)
    border = (framed == 0).all(-1)
    assert np.array_equal(out[border], framed[border])
    assert np.array_equal(out[20:-20, 20:-20], inner)
    naive = imgot.transfer(framed, coffee, method="histogram", preserve_detail=False)
    assert (naive[border] != 0).any()  # without it, the border is recolored


def test_ignored_color_in_16_bit_and_float_units(warm):
    wide = warm.astype(np.uint16) * 257
    wide[:5] = 65535
    out = imgot.transfer(wide, warm, method="reinhard", preserve_detail=False, ignore_color=(65535, 65535, 65535))
    assert (out[:5] == 65535).all()
    same = imgot.transfer(wide, warm, method="reinhard", preserve_detail=False, ignore_color=(1.0, 1.0, 1.0))
    assert np.array_equal(out, same)


def test_ignore_tolerance(warm, cool):
    noisy_black = warm.copy()
    noisy_black[:4] = 3
    strict = imgot.transfer(noisy_black, cool, method="linear", preserve_detail=False, ignore_color=(0, 0, 0))
    tolerant = imgot.transfer(noisy_black, cool, method="linear", preserve_detail=False, ignore_color=(0, 0, 0),
                              ignore_tolerance=3)
    assert (tolerant[:4] == 3).all() and not (strict[:4] == 3).all()


# -- apply through a mask ----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["emd-sliced", "histogram", "linear"])
def test_apply_mask_keeps_the_outside_bit_exact(method, rocket, coffee):
    mask = np.zeros(rocket.shape[:2], np.uint8)
    mask[:, : rocket.shape[1] // 2] = 255
    out = imgot.transfer(rocket, coffee, method=method, apply_mask=mask, feather=6)
    full = imgot.transfer(rocket, coffee, method=method)
    half = rocket.shape[1] // 2
    assert np.array_equal(out[:, half:], rocket[:, half:])
    assert np.array_equal(out[:, : half - 12], full[:, : half - 12])  # the interior is the full result
    # the feather: the share of the full change fades from 1 to 0 toward the edge, column by column
    share = np.abs(out.astype(int) - rocket).sum(axis=(0, 2)) / np.abs(full.astype(int) - rocket).sum(axis=(0, 2))
    band = share[half - 8: half]
    assert band[0] > 0.9 and band[-1] < 0.2 and (np.diff(band) <= 0.03).all(), band


def test_gray_apply_mask_blends(warm, cool):
    out = imgot.transfer(warm, cool, method="linear", preserve_detail=False, apply_mask=np.full(warm.shape[:2], 0.5))
    full = imgot.transfer(warm, cool, method="linear", preserve_detail=False)
    assert np.abs(out.astype(float) - (warm.astype(float) + full) / 2).max() <= 0.51


def test_feather_weight_is_zero_outside_and_one_inside():
    mask = np.zeros((50, 300), np.float32)
    mask[:, 100:] = 1
    soft = feather_weight(mask, 40)  # sigma 20: computed on a coarse grid
    assert (soft[:, :100] == 0).all() and (soft[:, 140:] == 1).all()  # 1 from `feather` pixels inside
    assert (np.diff(soft[0, 100:160]) >= -1e-6).all() and 0 < soft[0, 110] < soft[0, 130] < 1


def test_composite_exact_at_0_and_1_for_floats():
    rng = np.random.default_rng(0)
    a, b = rng.random((4, 4, 3)), rng.random((4, 4, 3))
    weight = np.array([[0, 1, 0.5, 1]] * 4, np.float32)
    out = composite(a, b, weight)
    assert np.array_equal(out[:, 0], a[:, 0]) and np.array_equal(out[:, 1], b[:, 1])
    assert np.allclose(out[:, 2], (a[:, 2] + b[:, 2]) / 2, atol=1e-6)


# -- region to region -----------------------------------------------------------------------


def halves(shape, top=1, bottom=2):
    labels = np.full(shape[:2], top)
    labels[shape[0] // 2:] = bottom
    return labels


def test_one_region_everywhere_is_the_global_transfer(rocket, coffee):
    out = imgot.transfer(rocket, coffee, source_labels=np.zeros(rocket.shape[:2], int),
                         reference_labels=np.zeros(coffee.shape[:2], int))
    assert np.array_equal(out, imgot.transfer(rocket, coffee))


def test_each_region_maps_to_its_counterpart(two_tone):
    """Far from the border, each half of the source is matched to the same half of the reference alone."""
    source = two_tone[:, ::-1].copy()
    reference = np.roll(two_tone, 7, axis=2)[::-1].copy()  # other colors, halves swapped
    src_labels, ref_labels = halves(source.shape), halves(reference.shape, top=2, bottom=1)
    out = imgot.transfer(source, reference, method="histogram", preserve_detail=False, feather=4,
                         source_labels=src_labels, reference_labels=ref_labels)
    top = imgot.transfer(source[:30], reference[30:], method="histogram", preserve_detail=False)
    bottom = imgot.transfer(source[30:], reference[:30], method="histogram", preserve_detail=False)
    assert np.array_equal(out[:20], top[:20]) and np.array_equal(out[40:], bottom[10:])


def test_regions_blend_without_a_seam(rocket, coffee):
    src_labels, ref_labels = halves(rocket.shape), halves(coffee.shape)
    kwargs = dict(method="linear", preserve_detail=False, source_labels=src_labels, reference_labels=ref_labels)
    hard = imgot.transfer(rocket, coffee, feather=0, **kwargs).astype(float)
    soft = imgot.transfer(rocket, coffee, feather=30, **kwargs).astype(float)
    border = rocket.shape[0] // 2
    jump = lambda image: np.abs(image[border] - image[border - 1]).mean()  # noqa: E731
    texture = np.abs(np.diff(rocket.astype(float), axis=0)).mean()
    assert jump(hard) > 3 * texture  # the hard border shows
    assert jump(soft) < 0.35 * jump(hard)


def sky_and_ground(height, width, sky, ground, seed):
    """A two-region scene: a sky gradient over a ground gradient, with grain; and its labels (1 sky, 2 ground)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, height // 2)[:, None, None]
    image = np.concatenate([np.asarray(sky[0]) * (1 - t) + np.asarray(sky[1]) * t,
                            np.asarray(ground[0]) * (1 - t) + np.asarray(ground[1]) * t]).repeat(width, axis=1)
    image += rng.normal(0, 0.04, image.shape)
    return np.round(np.clip(image, 0, 1) * 255).astype(np.uint8), halves(image.shape)


DAY = sky_and_ground(72, 96, ([0.35, 0.55, 0.9], [0.7, 0.82, 0.95]), ([0.3, 0.5, 0.15], [0.45, 0.35, 0.2]), 0)
DUSK = sky_and_ground(64, 80, ([0.35, 0.2, 0.45], [0.95, 0.55, 0.25]), ([0.12, 0.1, 0.08], [0.25, 0.18, 0.1]), 1)
NIGHT = sky_and_ground(64, 80, ([0.02, 0.03, 0.1], [0.08, 0.1, 0.2]), ([0.85, 0.8, 0.6], [0.95, 0.9, 0.75]), 2)


def reference_distance_p95(out, reference, where):
    """The 95th percentile, over the pixels `where`, of each pixel's CIE76 distance to its nearest reference color."""
    from scipy.spatial import cKDTree
    from skimage.color import rgb2lab

    distance, _ = cKDTree(rgb2lab(reference).reshape(-1, 3)).query(rgb2lab(out)[where])
    return float(np.percentile(distance, 95))


@pytest.mark.parametrize("detail", [False, True], ids=["no-detail", "detail"])
@pytest.mark.parametrize("reference", [DUSK, NIGHT], ids=["dusk", "night"])
def test_region_borders_take_no_color_of_neither_map(reference, detail):
    """Within 3 px of the border, output colors are as close to the reference's as inside the regions.

    The truth is the reference's own colors (nearest neighbour in CIELAB). The
    scene can fail: blending the two region maps by position alone (each map
    applied to the other region's colors) puts colors far from any reference
    color in the band; so can a detail step whose filter mixes the two
    regions' changes across the border (20 Delta E on the night scene).
    """
    (day, day_labels), (ref, ref_labels) = DAY, reference
    kwargs = dict(method="linear", preserve_detail=False)
    out = imgot.transfer(day, ref, source_labels=day_labels, reference_labels=ref_labels, feather=10,
                         method="linear", preserve_detail=detail)
    rows = np.abs(np.arange(day.shape[0]) + 0.5 - day.shape[0] / 2) < 3
    band = np.broadcast_to(rows[:, None], day.shape[:2])
    interior = np.broadcast_to((np.abs(np.arange(day.shape[0]) + 0.5 - day.shape[0] / 2) > 20)[:, None], day.shape[:2])
    inside = reference_distance_p95(out, ref, interior)
    assert reference_distance_p95(out, ref, band) < inside + 2.0

    # by position alone: each region's map over the whole image, weighted by the feathered region weights
    maps = [imgot.transfer(day, ref, source_mask=day_labels == label, reference_mask=ref_labels == label, **kwargs)
            for label in (1, 2)]
    weights = dict(region_weights(day_labels, {1: (1,), 2: (2,)}, 5.0))
    by_position = np.round(sum(weights[label][..., None] * maps[label - 1] for label in (1, 2))).astype(np.uint8)
    assert reference_distance_p95(by_position, ref, band) > inside + 8.0


def test_unpaired_source_labels_take_the_global_map(two_tone, cool):
    src_labels = halves(two_tone.shape, top=1, bottom=9)  # 9 has no counterpart
    ref_labels = halves(cool.shape, top=1, bottom=2)
    out = imgot.transfer(two_tone, cool, method="histogram", preserve_detail=False, feather=4,
                         source_labels=src_labels, reference_labels=ref_labels)
    global_map = imgot.transfer(two_tone, cool, method="histogram", preserve_detail=False)
    assert np.array_equal(out[40:], global_map[40:])


def test_region_weights_sum_to_one():
    labels = np.random.default_rng(0).integers(0, 3, (40, 90)).repeat(3, axis=1)
    total = sum(weight for _, weight in region_weights(labels, {0: (0,), 1: (1,), 2: (2,)}, 9.0))
    assert np.allclose(total, 1.0, atol=1e-4)


def test_color_label_images_pair_by_color():
    colors = np.zeros((4, 4, 3), np.uint8)
    colors[2:] = [255, 0, 0]
    labels = as_labels(colors, (4, 4))
    assert len(np.unique(labels)) == 2 and (labels[:2] == labels[0, 0]).all()


def test_saved_region_model_gives_the_same_bytes(tmp_path, rocket, coffee):
    model = imgot.ColorTransfer(ignore_color=(0, 0, 0)).fit(coffee, reference_labels=halves(coffee.shape))
    model.save(tmp_path / "m.npz")
    loaded = imgot.load(tmp_path / "m.npz")
    labels = halves(rocket.shape)
    assert np.array_equal(loaded.transform(rocket, source_labels=labels), model.transform(rocket, source_labels=labels))


# -- bad input --------------------------------------------------------------------------------


def test_ignored_levels_are_bound_by_the_image_depth(warm):
    """300 is a 16-bit level, not an 8-bit one: refused on 8 bits, used on 16 (where it is 300/65535)."""
    with pytest.raises(ValueError, match="300 is above 255, the top level of the 8-bit image"):
        imgot.transfer(warm, warm, ignore_color=(300, 0, 0))
    deep = warm.astype(np.uint16) * 257
    deep[:4] = [300, 0, 0]
    out = imgot.transfer(deep, deep[::-1].copy(), ignore_color=(300, 0, 0), preserve_detail=False, method="linear")
    assert (out[:4] == deep[:4]).all() and not (out[4:] == deep[4:]).all()


def test_feather_without_a_mask_or_regions_is_refused_by_every_command(tmp_path, warm, cool):
    src, ref = write(tmp_path / "s.png", warm), write(tmp_path / "r.png", cool)
    (tmp_path / "in").mkdir()
    write(tmp_path / "in" / "a.png", warm)
    made = run("transfer", src, ref, "-o", tmp_path / "t.png", "--save-lut", tmp_path / "l.cube", "--no-detail")
    assert made.exit_code == 0, made.output
    for args in (["compare", src, ref, "-o", tmp_path / "c.png", "--methods", "linear"],
                 ["batch", tmp_path / "in", "-r", ref, "-o", tmp_path / "out"],
                 ["apply", tmp_path / "l.cube", src, "-o", tmp_path / "out"]):
        result = run(*args, "--feather", "4")
        assert result.exit_code == 2 and "Error: --feather" in result.output, (args[0], result.output)
        assert "Traceback" not in result.output and not (tmp_path / "out").exists()


@pytest.mark.parametrize("kwargs, message", [
    (dict(source_mask=np.ones((5, 5))), "size"),
    (dict(reference_mask=np.zeros((48, 64))), "selection is empty"),
    (dict(source_labels=np.full((48, 64), 0.5), reference_labels=np.zeros((48, 64))), "integer labels"),
    (dict(source_labels=np.ones((48, 64), int), reference_labels=np.zeros((48, 64), int)), "no label"),
    (dict(source_labels=np.ones((48, 64), int)), "fitted with reference_labels"),
    (dict(ignore_color=(1, 2)), "ignore_color"),
    (dict(feather=-1), "feather"),
])
def test_bad_selections_are_refused_clearly(warm, cool, kwargs, message):
    with pytest.raises(ValueError, match=message):
        imgot.transfer(warm, cool, **kwargs)


def write(path, array):
    Image.fromarray(array).save(path)
    return path


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_cli_masks_and_regions(tmp_path, warm, cool):
    src, ref = write(tmp_path / "s.png", warm), write(tmp_path / "r.png", cool)
    mask = write(tmp_path / "m.png", top_mask(warm.shape, 24))
    out = tmp_path / "o.png"
    done = run("transfer", src, ref, "-o", out, "--apply-mask", mask, "--source-mask", mask, "--no-detail")
    assert done.exit_code == 0, done.output
    api = imgot.transfer(warm, cool, preserve_detail=False, source_mask=top_mask(warm.shape, 24),
                         apply_mask=top_mask(warm.shape, 24))
    assert np.array_equal(np.asarray(Image.open(out)), api)
    labels = write(tmp_path / "l.png", halves(warm.shape).astype(np.uint8))
    ref_labels = write(tmp_path / "rl.png", halves(cool.shape).astype(np.uint8))
    done = run("transfer", src, ref, "-o", tmp_path / "g.png", "--regions", labels, ref_labels,
               "--ignore-color", "0,0,0")
    assert done.exit_code == 0, done.output
    api = imgot.transfer(warm, cool, source_labels=halves(warm.shape), reference_labels=halves(cool.shape),
                         ignore_color=(0, 0, 0))
    assert np.array_equal(np.asarray(Image.open(tmp_path / "g.png")), api)


@pytest.mark.parametrize("case, code, message", [
    ("small_mask", 1, "a mask must have the image's size"),
    ("black_mask", 1, "selection is empty"),
    ("jpeg_labels", 1, "losslessly"),
    ("no_counterpart", 1, "no label"),
    ("bad_color", 2, "--ignore-color"),
    ("deep_color", 2, "300 is above 255, the top level of the 8-bit SOURCE"),
    ("feather_alone", 2, "--feather"),
    ("lut_regions", 2, "--save-lut"),
])
def test_cli_bad_selections_one_line(tmp_path, warm, cool, case, code, message):
    src, ref = write(tmp_path / "s.png", warm), write(tmp_path / "r.png", cool)
    small = write(tmp_path / "small.png", np.zeros((3, 3), np.uint8))
    black = write(tmp_path / "black.png", np.zeros(cool.shape[:2], np.uint8))
    Image.fromarray(warm).save(tmp_path / "labels.jpg")
    ones = write(tmp_path / "ones.png", np.ones(warm.shape[:2], np.uint8))
    zeros = write(tmp_path / "zeros.png", np.zeros(cool.shape[:2], np.uint8))
    extra = {
        "small_mask": ["--source-mask", small],
        "black_mask": ["--reference-mask", black],
        "jpeg_labels": ["--regions", tmp_path / "labels.jpg", zeros],
        "no_counterpart": ["--regions", ones, zeros],
        "bad_color": ["--ignore-color", "red"],
        "deep_color": ["--ignore-color", "300,0,0"],
        "feather_alone": ["--feather", "5", "--ignore-color", "0,0,0"],
        "lut_regions": ["--regions", ones, zeros, "--save-lut", tmp_path / "x.cube"],
    }[case]
    result = run("transfer", src, ref, "-o", tmp_path / "o.png", *extra)
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("save, refused", [
    (dict(format="JPEG", quality=90), "JPEG"),
    (dict(format="WEBP", quality=90), "lossy WebP"),
    (dict(format="WEBP", lossless=True), None),
    (dict(format="PNG"), None),
])
def test_lossy_label_images_are_refused_whatever_their_values(tmp_path, warm, cool, save, refused):
    """Labels 1 and 2 saved lossily keep few values (JPEG q90: {0, 1, 2, 3}), under the 64-label limit:
    refused all the same, by the file's compression; a lossless file gives back exactly the labels."""
    labels = halves(warm.shape).astype(np.uint8)
    path = tmp_path / f"labels.{save['format'].lower()}"
    Image.fromarray(labels).save(path, **save)
    src, ref = write(tmp_path / "s.png", warm), write(tmp_path / "r.png", cool)
    ref_labels = write(tmp_path / "rl.png", halves(cool.shape).astype(np.uint8))
    result = run("transfer", src, ref, "-o", tmp_path / "o.png", "--regions", path, ref_labels, "--no-detail")
    if refused is None:
        assert result.exit_code == 0, result.output
        assert np.array_equal(as_labels(imgot.io.read_labels(path), labels.shape), labels)
        return
    assert len(np.unique(np.asarray(Image.open(path)))) <= 64  # the label count alone would let it in
    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    assert refused in result.output and "losslessly" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o.png").exists()


# -- batch --------------------------------------------------------------------------------


def test_batch_masks_by_pattern_match_the_api(tmp_path, warm, cool, rocket):
    """Per-image masks found by a pattern: the same bytes as imgot.transfer with those masks; the masks
    are not recolored themselves; an image without its mask fails alone."""
    folder = tmp_path / "in"
    folder.mkdir()
    mask = top_mask(warm.shape, 20)
    write(folder / "a.png", warm)
    write(folder / "a_mask.png", mask)
    write(folder / "b.png", rocket)  # no b_mask.png
    ref = write(tmp_path / "ref.png", cool)
    result = run("batch", folder, "-r", ref, "-o", tmp_path / "out", "--mask-pattern", "{stem}_mask.png",
                 "--feather", "3", "--ignore-color", "0,0,0", "-j", "1")
    assert result.exit_code == 1, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "imgot_failures.csv"]
    assert "b_mask.png: no such file" in (tmp_path / "out" / "imgot_failures.csv").read_text()
    api = imgot.transfer(warm, cool, source_mask=mask, apply_mask=mask, feather=3, ignore_color=(0, 0, 0))
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / "a.png")), api)


def test_batch_regions_by_pattern_and_fit_on_refusal(tmp_path, warm, cool):
    folder = tmp_path / "in"
    folder.mkdir()
    write(folder / "a.png", warm)
    (tmp_path / "labels").mkdir()
    write(tmp_path / "labels" / "a.png", halves(warm.shape).astype(np.uint8))
    ref = write(tmp_path / "ref.png", cool)
    ref_labels = write(tmp_path / "ref_labels.png", halves(cool.shape).astype(np.uint8))
    result = run("batch", folder, "-r", ref, "-o", tmp_path / "out", "-j", "1",
                 "--regions", tmp_path / "labels" / "{name}", ref_labels)
    assert result.exit_code == 0, result.output
    api = imgot.transfer(warm, cool, source_labels=halves(warm.shape), reference_labels=halves(cool.shape))
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / "a.png")), api)
    refused = run("batch", folder, "-r", ref, "-o", tmp_path / "out2", "--fit-on", "first",
                  "--source-mask", "{stem}_mask.png")
    assert refused.exit_code == 2 and "--fit-on" in refused.output and "Traceback" not in refused.output


def test_apply_a_lut_through_per_image_masks(tmp_path, warm, cool):
    from imgot.cube import read_cube
    from imgot.transfer import apply_lut_to_image

    src, ref = write(tmp_path / "a.png", warm), write(tmp_path / "r.png", cool)
    mask = top_mask(warm.shape, 20)
    write(tmp_path / "a_sky.png", mask)
    made = run("transfer", src, ref, "-o", tmp_path / "t.png", "--save-lut", tmp_path / "look.cube", "--no-detail")
    assert made.exit_code == 0, made.output
    done = run("apply", tmp_path / "look.cube", src, "-o", tmp_path / "out", "--apply-mask", "{stem}_sky.png",
               "--feather", "2")
    assert done.exit_code == 0, done.output
    truth = apply_lut_to_image(read_cube(tmp_path / "look.cube"), warm, apply_mask=mask, feather=2)
    out = np.asarray(Image.open(tmp_path / "out" / "a.png"))
    assert np.array_equal(out, truth) and np.array_equal(out[20:], warm[20:])
