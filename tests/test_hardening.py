"""The API's gates under odd input: property tests on arrays (hypothesis) and one
test per hardening fix, each against an independent truth."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

import imgot
from imgot.atomic import refuse_inputs, same_file
from imgot.exceptions import ImageReadError, ImageWriteError, InputOverwriteError, ModelFormatError
from imgot.io import read_image, write_image

REFERENCE = (np.random.default_rng(5).random((12, 12, 3)) * [90, 140, 255]).astype(np.uint8)
SHAPES = st.tuples(st.integers(1, 9), st.integers(1, 9), st.sampled_from([None, 1, 2, 3, 4]))
DTYPES = st.sampled_from([np.uint8, np.uint16, np.float32, np.float64])
FAST_METHODS = st.sampled_from(["linear", "reinhard", "histogram", "emd"])
PROPS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _shape(spec):
    height, width, channels = spec
    return (height, width) if channels is None else (height, width, channels)


@st.composite
def images(draw):
    """Valid images: any accepted dtype and shape, values in the dtype's range."""
    dtype, shape = draw(DTYPES), _shape(draw(SHAPES))
    if np.dtype(dtype).kind == "f":
        elements = st.floats(0.0, 1.0, width=32 if dtype == np.float32 else 64)
    else:
        elements = st.integers(0, np.iinfo(dtype).max)
    return draw(hnp.arrays(dtype, shape, elements=elements))


@PROPS
@given(image=images(), method=FAST_METHODS)
def test_any_valid_array_keeps_dtype_shape_and_alpha(image, method):
    out = imgot.transfer(image, REFERENCE, method=method, n_clusters=4)
    assert out.dtype == image.dtype and out.shape == image.shape
    if image.ndim == 3 and image.shape[2] in (2, 4):
        assert np.array_equal(out[..., -1], image[..., -1])
    if out.dtype.kind == "f":
        assert np.all(np.isfinite(out)) and out.min() >= 0 and out.max() <= 1


@PROPS
@given(image=images(), method=FAST_METHODS)
def test_strength_zero_returns_the_input_exactly(image, method):
    assert np.array_equal(imgot.transfer(image, REFERENCE, method=method, strength=0.0, n_clusters=4), image)


@PROPS
@given(shape=SHAPES, bad=st.sampled_from([np.nan, np.inf, -np.inf, -0.5, 1.5]))
def test_float_images_outside_unit_range_are_value_errors(shape, bad):
    image = np.full(_shape(shape), 0.5)
    image.flat[0] = bad
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        imgot.transfer(image, REFERENCE, method="linear")


@PROPS
@given(dtype=st.sampled_from([np.int8, np.int32, np.int64, np.bool_, np.complex64, object]), shape=SHAPES)
def test_unsupported_dtypes_are_type_errors(dtype, shape):
    with pytest.raises(TypeError, match="dtype"):
        imgot.transfer(np.zeros(_shape(shape), dtype), REFERENCE, method="linear")


@PROPS
@given(shape=st.one_of(st.tuples(st.integers(0, 3)), st.tuples(st.integers(1, 4), st.integers(1, 4),
                                                                 st.integers(5, 7)),
                       st.tuples(st.just(0), st.integers(1, 4), st.just(3)), st.tuples(*[st.integers(1, 2)] * 4)))
def test_bad_shapes_are_value_errors(shape):
    with pytest.raises(ValueError, match="shape|empty"):
        imgot.transfer(np.zeros(shape, np.uint8), REFERENCE, method="linear")


@PROPS
@given(image=images())
def test_write_then_read_gives_the_pixels_back(image, tmp_path_factory):
    """PNG keeps 8/16 bits and every channel layout; TIFF keeps float32 too."""
    folder = tmp_path_factory.mktemp("roundtrip")
    suffix = ".tif" if image.dtype.kind == "f" else ".png"
    if image.dtype == np.float64:
        image = image.astype(np.float32)
    write_image(folder / f"x{suffix}", image)
    back = read_image(folder / f"x{suffix}")
    expected = image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image
    assert back.dtype == expected.dtype and np.array_equal(back, expected)


# -- one test per fix ------------------------------------------------------------------------------

def test_pil_modes_are_kept_or_refused():
    ramp = np.linspace(0, 1, 48, dtype=np.float32).reshape(6, 8)
    out = imgot.transfer(Image.fromarray(ramp, mode="F"), REFERENCE, method="linear")
    assert out.mode == "F" and out.size == (8, 6)  # float gray stays float gray
    assert np.array_equal(np.asarray(imgot.transfer(Image.fromarray(ramp, "F"), REFERENCE, strength=0.0)), ramp)
    with pytest.raises(ValueError, match="mode 'F'"):
        imgot.transfer(Image.fromarray(ramp * 255, mode="F"), REFERENCE)
    with pytest.raises(ValueError, match="mode 'I'"):
        imgot.transfer(Image.fromarray(np.arange(48, dtype=np.int32).reshape(6, 8)), REFERENCE)
    with pytest.raises(ValueError, match="mode '1'"):
        imgot.transfer(Image.new("1", (8, 6)), REFERENCE)


def test_transfer_names_unknown_keywords_and_seed_range():
    with pytest.raises(TypeError, match=r"'clusters' \(did you mean 'n_clusters'\?\).*valid: method"):
        imgot.transfer(REFERENCE, REFERENCE, clusters=8)
    with pytest.raises(ValueError, match="random_state"):
        imgot.ColorTransfer(random_state=2**70).fit(REFERENCE)
    from imgot.validation import MAX_SEED

    imgot.ColorTransfer(method="linear", random_state=MAX_SEED).fit(REFERENCE)
    with pytest.raises(ValueError, match="random_state must be an integer seed"):
        imgot.distance(REFERENCE, REFERENCE, random_state=MAX_SEED + 1)  # the same bound everywhere


def test_unbalanced_with_infinite_reg_m_is_balanced_sinkhorn(rocket, coffee):
    unbalanced = imgot.transfer(rocket, coffee, method="unbalanced", reg_m=np.inf, n_clusters=16, max_iter=200)
    sinkhorn = imgot.transfer(rocket, coffee, method="sinkhorn", n_clusters=16, max_iter=200)
    assert np.array_equal(unbalanced, sinkhorn)
    for bad in (np.nan, -1.0, 0.0):
        with pytest.raises(ValueError, match="reg_m"):
            imgot.ColorTransfer(method="unbalanced", reg_m=bad).fit(coffee)
    with pytest.raises(ValueError, match="reg must be a finite"):
        imgot.ColorTransfer(method="sinkhorn", reg=np.inf).fit(coffee)


@pytest.mark.parametrize("method", ["histogram", "histogram-linear-histogram"])
def test_histogram_on_masked_pixels_matches_the_opaque_ones(method):
    """Colors held only by transparent pixels used to index past the CDF (IndexError)."""
    rng = np.random.default_rng(3)
    rgba = np.dstack([(rng.random((30, 40, 3)) * 255).astype(np.uint8),
                      np.where(rng.random((30, 40)) > 0.5, 255, 0).astype(np.uint8)])
    out = imgot.transfer(rgba, REFERENCE, method=method)
    assert out.shape == rgba.shape and np.array_equal(out[..., 3], rgba[..., 3])
    if method == "histogram":  # the opaque pixels alone get the same result as an opaque image of them
        opaque = rgba[..., 3] > 0
        # The per-pixel map alone (the detail step looks at neighbours, which differ here).
        out = imgot.transfer(rgba, REFERENCE, method=method, preserve_detail=False)
        alone = imgot.transfer(rgba[..., :3][opaque][None], REFERENCE, method=method, preserve_detail=False)[0]
        assert np.array_equal(out[..., :3][opaque], alone)


def test_single_color_reference_is_a_tint_and_detail_keeps_texture(rocket):
    """The documented behaviour: every method moves the mean to the reference color; without
    detail, the source's variation collapses to a few levels; with detail, its texture stays."""
    color = np.array([200, 30, 30])
    flat = np.full((16, 16, 3), color, np.uint8)
    source_spread = rocket.reshape(-1, 3).std(axis=0).mean()
    for method in imgot.methods.METHOD_NAMES:
        plain = imgot.transfer(rocket, flat, method=method, preserve_detail=False).reshape(-1, 3).astype(float)
        detailed = imgot.transfer(rocket, flat, method=method, preserve_detail=True).reshape(-1, 3).astype(float)
        assert np.abs(plain.mean(axis=0) - color).max() < 6, method
        assert np.abs(detailed.mean(axis=0) - color).max() < 6, method
        assert plain.std(axis=0).mean() < 0.2 * source_spread, method
        assert detailed.std(axis=0).mean() > plain.std(axis=0).mean(), method


def test_tiny_images_get_a_smaller_ssim_window_and_none_for_a_single_pixel_window():
    from skimage.metrics import structural_similarity

    from imgot.metrics import lightness, structure_similarity

    rng = np.random.default_rng(0)
    a, b = rng.random((5, 6, 3)), rng.random((5, 6, 3))
    expected = structural_similarity(lightness(a), lightness(b), data_range=100.0, win_size=5)
    assert structure_similarity(a, b) == pytest.approx(expected)
    assert structure_similarity(a[:2, :2], b[:2, :2]) is None  # a 1 x 1 window has no variance
    thin = structure_similarity(a[:2], b[:2])  # 2 x 6: 1 x 5 windows (tests/test_metrics.py: the closed form)
    assert isinstance(thin, float) and -1 <= thin <= 1


def test_cube_with_bom_or_latin1_title_reads_like_the_plain_file(tmp_path):
    from imgot.cube import read_cube, write_cube
    from imgot.exceptions import LUTFormatError
    from imgot.mapping import ColorLUT

    table = np.random.default_rng(1).random((3, 3, 3, 3))
    write_cube(tmp_path / "plain.cube", ColorLUT(table))
    text = (tmp_path / "plain.cube").read_bytes()
    (tmp_path / "bom.cube").write_bytes(b"\xef\xbb\xbf" + text)
    (tmp_path / "latin1.cube").write_bytes(b'TITLE "caf\xe9"\n' + text)
    for name in ("bom.cube", "latin1.cube"):
        assert np.array_equal(read_cube(tmp_path / name).table, read_cube(tmp_path / "plain.cube").table)
    (tmp_path / "binary.cube").write_bytes(b"\0" * 10)
    with pytest.raises(LUTFormatError, match="binary"):
        read_cube(tmp_path / "binary.cube")


def _tamper(path, **arrays):
    """Rewrite a saved .npz with some arrays replaced."""
    with np.load(path, allow_pickle=False) as archive:
        data = {name: archive[name] for name in archive.files}
    data.update(arrays)
    with open(path, "wb") as stream:
        np.savez(stream, **data)


@pytest.mark.parametrize("change, message", [
    ({"version": np.array("1")}, "version"),
    ({"version": np.array(2)}, "version 2"),
    ({"reference_colors": np.array([["a", "b", "c"]] * 4)}, "must be numbers"),
    ({"reference_weights": np.zeros(4)}, "positive sum"),
    ({"reference_weights": -np.ones(4)}, ">= 0"),
    ({"reference_colors": np.full((4, 3), np.nan)}, "NaN"),
    ({"params": np.array("[1, 2]")}, "JSON object"),
    ({"params": np.array(json.dumps({"method": "emd", "clusters": 8}))}, "bad parameters"),
    ({"params": np.array(json.dumps({"random_state": 2**70}))}, "random_state"),
])
def test_load_validates_what_it_reads(tmp_path, change, message):
    path = tmp_path / "model.npz"
    imgot.ColorTransfer(n_clusters=4).fit(REFERENCE).save(path)
    imgot.load(path)  # the untouched file loads
    _tamper(path, **change)
    with pytest.raises(ModelFormatError, match=message):
        imgot.load(path)


def test_load_of_a_truncated_archive_is_a_format_error(tmp_path):
    path = tmp_path / "model.npz"
    imgot.ColorTransfer(n_clusters=4).fit(REFERENCE).save(path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ModelFormatError):
        imgot.load(path)
    assert not zipfile.is_zipfile(path)


def test_same_file_through_links_and_refused_outputs(tmp_path):
    source = tmp_path / "a.png"
    write_image(source, REFERENCE)
    (tmp_path / "link.png").symlink_to(source)
    (tmp_path / "hard.png").hardlink_to(source)
    for alias in ("a.png", "link.png", "hard.png", "./a.png"):
        assert same_file(tmp_path / alias, source)
        with pytest.raises(InputOverwriteError):
            write_image(tmp_path / alias, REFERENCE, overwrite=True, protect=[source])
    assert not same_file(tmp_path / "new.png", source)
    refuse_inputs([tmp_path / "new.png", None], [source, None])
    assert np.array_equal(read_image(source), REFERENCE)


def test_unwritable_folder_and_unwritable_format_are_clear_errors(tmp_path):
    with pytest.raises(ImageWriteError, match="cannot write image"):
        write_image("/sys/imgot_test.png", REFERENCE)  # EACCES, even for root
    with pytest.raises(ValueError, match="not write it"):
        write_image(tmp_path / "x.psd", REFERENCE)
    assert list(tmp_path.iterdir()) == []


def test_animated_gif_is_refused_not_cut_to_one_frame(tmp_path):
    frames = [Image.fromarray(np.full((8, 8, 3), v, np.uint8)) for v in (0, 120, 240)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:], duration=80, loop=0)
    with pytest.raises(ImageReadError, match="animated GIF with 3 frames"):
        read_image(tmp_path / "a.gif")


def test_transfer_many_takes_str_paths(tmp_path):
    from imgot.batch import transfer_many

    for name in ("a.png", "b.png"):
        write_image(tmp_path / name, REFERENCE[::-1])
    results = list(transfer_many([str(tmp_path / "a.png"), str(tmp_path / "b.png")], REFERENCE,
                                 tmp_path / "out", format="jpg", jobs=1, method="linear"))
    assert sorted((r.output.name, r.status) for r in results) == [("a.jpg", "done"), ("b.jpg", "done")]
    assert read_image(tmp_path / "out" / "a.jpg").shape == REFERENCE.shape
