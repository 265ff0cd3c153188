import json

import numpy as np
import pytest

import imgot
from imgot import ColorTransfer, ModelFormatError, NotFittedError, OutputExistsError
from imgot.persist import get_params, load_color_map, save_color_map
from imgot.pixels import as_pixels
from imgot.transfer import apply_lut


@pytest.fixture
def model(cool):
    return ColorTransfer(n_clusters=8, strength=0.7, color_space="rgb", random_state=np.int64(3)).fit(cool)


def test_saved_transfer_gives_the_same_bytes(tmp_path, model, warm):
    model.save(tmp_path / "m.npz")
    loaded = imgot.load(tmp_path / "m.npz")
    assert get_params(loaded) == get_params(model)
    np.testing.assert_array_equal(loaded.reference_palette_.colors, model.reference_palette_.colors)
    assert loaded.transform(warm).tobytes() == model.transform(warm).tobytes()


def test_file_is_plain_npz_without_pickle(tmp_path, model):
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as data:
        assert str(data["format"]) == "imgot.ColorTransfer" and int(data["version"]) == 1
        assert json.loads(str(data["params"]))["n_clusters"] == 8
        assert all(data[name].dtype != object for name in data.files)


def test_save_refuses_existing_and_unfitted(tmp_path, model):
    model.save(tmp_path / "m.npz")
    with pytest.raises(OutputExistsError):
        model.save(tmp_path / "m.npz")
    model.save(tmp_path / "m.npz", overwrite=True)
    with pytest.raises(NotFittedError):
        ColorTransfer().save(tmp_path / "n.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_saved_color_map_gives_the_same_bytes(tmp_path, model, warm):
    color_map = model.color_map(warm)
    save_color_map(tmp_path / "map.npz", color_map, get_params(model))
    loaded, params = load_color_map(tmp_path / "map.npz")
    assert params == get_params(model)
    np.testing.assert_array_equal(loaded.plan, color_map.plan)
    np.testing.assert_array_equal(loaded.destinations, color_map.destinations)
    pixels = as_pixels(warm)
    assert apply_lut(loaded.lut, pixels).tobytes() == apply_lut(color_map.lut, pixels).tobytes()
    model.preserve_detail = False  # the LUT alone is the fast path: no per-pixel finishing
    assert apply_lut(loaded.lut, pixels).tobytes() == model.transform(warm).tobytes()


def rewrite(path, **changes):
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    arrays.update(changes)
    np.savez(path, **arrays)


def test_other_versions_and_formats_raise(tmp_path, model, warm):
    model.save(tmp_path / "m.npz")
    save_color_map(tmp_path / "map.npz", model.color_map(warm))
    with pytest.raises(ModelFormatError, match="load_color_map"):
        imgot.load(tmp_path / "map.npz")
    with pytest.raises(ModelFormatError, match="imgot.load"):
        load_color_map(tmp_path / "m.npz")
    rewrite(tmp_path / "m.npz", version=np.array(2))
    with pytest.raises(ModelFormatError, match="version 2"):
        imgot.load(tmp_path / "m.npz")
    np.savez(tmp_path / "plain.npz", x=np.zeros(3))
    (tmp_path / "text.npz").write_text("hello")
    for name in ("plain.npz", "text.npz"):
        with pytest.raises(ModelFormatError):
            imgot.load(tmp_path / name)


def test_bad_contents_raise(tmp_path, model):
    model.save(tmp_path / "m.npz")
    rewrite(tmp_path / "m.npz", params=np.array(json.dumps({"n_clusters": 8, "colour": 1})))
    with pytest.raises(ModelFormatError, match="parameters"):
        imgot.load(tmp_path / "m.npz")
    model.save(tmp_path / "m.npz", overwrite=True)
    rewrite(tmp_path / "m.npz", reference_colors=np.zeros((4, 2)))
    with pytest.raises(ModelFormatError, match="palette"):
        imgot.load(tmp_path / "m.npz")
