import numpy as np
import ot
import pytest
from PIL import Image
from skimage.color import rgb2lab

import imgot
from imgot import ColorTransfer, NotFittedError, transfer


def lab_distance(a, b, n=3000, seed=0):
    """Sliced Wasserstein distance between two uint8 images' CIELAB colors (POT), on samples."""
    rng = np.random.default_rng(seed)
    pick = lambda image: image.reshape(-1, 3)[rng.integers(0, image.size // 3, n)]
    lab_a, lab_b = rgb2lab(pick(a)[:, None]).reshape(-1, 3), rgb2lab(pick(b)[:, None]).reshape(-1, 3)
    return ot.sliced_wasserstein_distance(lab_a, lab_b, n_projections=100, seed=seed)


@pytest.mark.parametrize("method", ["emd", "sinkhorn"])
@pytest.mark.parametrize("color_space", ["lab", "rgb"])
def test_result_is_closer_to_the_reference(rocket, coffee, method, color_space):
    out = transfer(rocket, coffee, method=method, color_space=color_space, reg=0.05)
    before, after = lab_distance(rocket, coffee), lab_distance(out, coffee)
    assert after < 0.5 * before


def test_image_onto_itself_is_nearly_unchanged(coffee):
    out = transfer(coffee, coffee)
    assert np.abs(out.astype(int) - coffee).mean() < 1.0
    # A palette from another random sample of the same image: still close.
    other = ColorTransfer(random_state=5).fit(coffee).color_map(coffee)
    assert np.abs(other.destinations - other.source_palette.colors).max() < 15


def test_strength_zero_returns_the_source_exactly(rocket, coffee):
    np.testing.assert_array_equal(transfer(rocket, coffee, strength=0.0), rocket)


def test_strength_moves_colors_progressively(rocket, coffee):
    distances = [lab_distance(transfer(rocket, coffee, strength=t), coffee) for t in (0.0, 0.5, 1.0)]
    assert distances[0] > distances[1] > distances[2]


def test_same_seed_same_bytes_other_seed_other_palette(rocket, coffee):
    first = transfer(rocket, coffee, random_state=3)
    np.testing.assert_array_equal(first, transfer(rocket, coffee, random_state=3))
    a = ColorTransfer(random_state=3).fit(coffee).reference_palette_.colors
    b = ColorTransfer(random_state=4).fit(coffee).reference_palette_.colors
    assert not np.array_equal(a, b)


def test_preserve_luminance_keeps_source_lightness(rocket, coffee):
    out = transfer(rocket, coffee, preserve_luminance=True)
    lightness = lambda image: rgb2lab(image)[..., 0]
    assert np.abs(lightness(out) - lightness(rocket)).mean() < 1.0
    assert lab_distance(out, coffee) < lab_distance(rocket, coffee)


def test_fit_once_transform_many(rocket, coffee, warm):
    model = ColorTransfer(n_clusters=16).fit(coffee)
    np.testing.assert_array_equal(model.transform(rocket), transfer(rocket, coffee, n_clusters=16))
    assert model.transform(warm).shape == warm.shape


def test_color_map_exposes_plan_with_palette_marginals(rocket, coffee):
    mapping = ColorTransfer(n_clusters=16).fit(coffee).color_map(rocket)
    np.testing.assert_allclose(mapping.plan.sum(1), mapping.source_palette.weights, atol=1e-9)
    np.testing.assert_allclose(mapping.plan.sum(0), mapping.reference_palette.weights, atol=1e-9)
    assert mapping.lut.table.shape == (33, 33, 33, 3)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("channels", [None, 1, 2, 3, 4])
def test_output_kind_dtype_and_shape_match_the_input(warm, cool, dtype, channels):
    scale = {np.uint8: 1, np.uint16: 257}.get(dtype)
    base = warm.astype(np.float64) / 255 if scale is None else warm.astype(np.uint32) * scale
    base = base.astype(dtype)
    if channels is None:
        image = base[..., 0]
    elif channels in (1, 2):
        image = np.stack([base[..., 0], base[..., 1]][:channels], axis=-1)
    else:
        image = np.concatenate([base, base[..., :1]], axis=-1)[..., :channels]
    out = transfer(image, cool, n_clusters=8)
    assert out.dtype == image.dtype and out.shape == image.shape
    if channels in (2, 4):  # alpha passes bit-exactly
        np.testing.assert_array_equal(out[..., -1], image[..., -1])
    assert not np.array_equal(out, image)


def test_transparent_pixels_stay_out_of_the_palette(cool):
    image = np.zeros((48, 64, 4), np.uint8)
    image[..., :3] = 255
    image[:, :32, 3] = 255  # left half opaque white, right half transparent white
    image[:, 32:, :3] = [255, 0, 0]  # transparent red must not count
    palette = ColorTransfer().fit(image).reference_palette_
    assert palette.colors.shape[0] == 1 and palette.colors[0, 0] > 99


def test_16bit_stays_16bit_with_fine_levels(cool):
    ramp = np.linspace(0, 65535, 1024).astype(np.uint16)
    image = np.stack([ramp, ramp // 2, ramp // 3], axis=-1)[None].repeat(8, 0)
    out = transfer(image, cool, n_clusters=8)
    assert out.dtype == np.uint16
    assert np.unique(out[..., 2]).size > 256


def test_smooth_gradient_is_not_posterized(cool):
    ramp = np.linspace(0.2, 0.9, 1024)
    image = np.stack([ramp, ramp * 0.8, ramp * 0.5], axis=-1)[None].repeat(4, 0)
    out = transfer(image, cool, n_clusters=8)
    steps = np.abs(np.diff(out[0], axis=0)).max()
    assert np.unique(out[0], axis=0).shape[0] > 500  # hard snapping would give <= 8 colors
    assert steps < 0.01  # no visible jumps between neighbouring pixels


def test_pil_in_pil_out(warm, cool):
    out = transfer(Image.fromarray(warm), Image.fromarray(cool), n_clusters=8)
    assert isinstance(out, Image.Image) and out.mode == "RGB" and out.size == (64, 48)
    gray = transfer(Image.fromarray(warm[..., 0]), cool, n_clusters=8)
    assert gray.mode == "L"
    indexed = Image.fromarray(warm).quantize(16)
    assert transfer(indexed, cool, n_clusters=8).mode == "RGB"


def test_errors_name_the_parameter(warm, cool):
    with pytest.raises(ValueError, match="emd, sinkhorn"):
        transfer(warm, cool, method="nope")
    with pytest.raises(ValueError, match="strength"):
        transfer(warm, cool, strength=1.5)
    with pytest.raises(ValueError, match="color_space"):
        transfer(warm, cool, color_space="hsv")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        transfer(warm / 100.0, cool)
    with pytest.raises(TypeError, match="int32"):
        transfer(warm.astype(np.int32), cool)
    with pytest.raises(ValueError, match="shape"):
        transfer(warm[None], cool)
    with pytest.raises(NotFittedError):
        ColorTransfer().transform(warm)


def test_version_is_exposed():
    assert imgot.__version__ != "0+unknown"


def test_fit_palette_is_fit_with_that_palette(warm, cool):
    """The public way to fit from a palette (used by the Normalizer): the same bytes as fitting the image."""
    from sklearn.utils.validation import check_is_fitted

    fitted = ColorTransfer(method="emd", n_clusters=8).fit(cool)
    from_palette = ColorTransfer(method="emd", n_clusters=8).fit_palette(fitted.reference_palette_)
    check_is_fitted(from_palette)
    np.testing.assert_array_equal(from_palette.transform(warm), fitted.transform(warm))
    np.testing.assert_array_equal(from_palette.reference_palette_.weights, fitted.reference_palette_.weights)
    with pytest.raises(ValueError, match="palette method"):
        ColorTransfer(method="linear").fit_palette(fitted.reference_palette_)
    bad = type(fitted.reference_palette_)(fitted.reference_palette_.colors, -fitted.reference_palette_.weights)
    with pytest.raises(ValueError, match="weights must be >= 0"):
        ColorTransfer(method="emd").fit_palette(bad)


def test_detail_is_a_deprecated_alias_of_preserve_detail(tmp_path, warm, cool):
    """One release of grace: the old name warns and means the same; the estimator has one parameter."""
    import json
    import warnings

    from sklearn.base import clone

    from imgot.mapping import ColorLUT, _lattice
    from imgot.serve.params import parse_params

    expected = transfer(warm, cool, method="linear", preserve_detail=False)
    with pytest.warns(DeprecationWarning, match="'detail' is deprecated.*use 'preserve_detail'"):
        model = ColorTransfer(method="linear", detail=False)
    assert model.preserve_detail is False and "detail" not in model.get_params()
    assert clone(model).get_params() == model.get_params()
    np.testing.assert_array_equal(model.fit(cool).transform(warm), expected)
    with pytest.warns(DeprecationWarning):
        np.testing.assert_array_equal(transfer(warm, cool, method="linear", detail=False), expected)
    with pytest.warns(DeprecationWarning):
        assert model.detail is False
    identity = ColorLUT(_lattice(5).reshape(5, 5, 5, 3))
    with pytest.warns(DeprecationWarning):
        np.testing.assert_array_equal(apply_lut := imgot.apply_lut_to_image(identity, warm, detail=True),
                                      imgot.apply_lut_to_image(identity, warm, preserve_detail=True))
    assert apply_lut.shape == warm.shape
    with pytest.warns(DeprecationWarning):
        assert imgot.Normalizer(detail=False).preserve_detail is False
    with pytest.raises(TypeError, match="unexpected keyword argument 'detial'"):
        ColorTransfer(detial=False)
    assert parse_params({"detail": "false"})["preserve_detail"] is False  # a link from the old page
    # A file saved by the last release (its parameters say "detail") loads without a warning.
    path = tmp_path / "old.npz"
    ColorTransfer(method="emd", n_clusters=4, preserve_detail=False).fit(cool).save(path)
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    params = json.loads(str(arrays["params"]))
    params["detail"] = params.pop("preserve_detail")
    arrays["params"] = np.array(json.dumps(params, sort_keys=True))
    np.savez(tmp_path / "older.npz", **arrays)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        assert imgot.load(tmp_path / "older.npz").preserve_detail is False
