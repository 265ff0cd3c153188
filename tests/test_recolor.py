"""The finishing path every entry reaches: the colorist controls through batch, video, apply and LUTTransform."""

from fractions import Fraction

import numpy as np
import pytest
from click.testing import CliRunner

import imgot
from imgot.cli import main
from imgot.hald import read_lut


def is_gray(rgb, tolerance):
    rgb = rgb.astype(int)
    return np.abs(rgb - rgb.mean(axis=-1, keepdims=True)).max() <= tolerance


def test_lut_transform_carries_the_models_controls(warm, cool):
    model = imgot.ColorTransfer(n_clusters=8, preserve_detail=False, saturation=0.5, protect_skin=0.7).fit(cool)
    fitted = imgot.LUTTransform.from_model(model, warm)
    assert (fitted.saturation, fitted.protect_skin) == (0.5, 0.7)
    assert np.array_equal(fitted.transform(warm), model.transform(warm))


def test_batch_fit_on_writes_a_haldclut_that_apply_reproduces(tmp_path, warm, cool):
    (tmp_path / "in").mkdir()
    for name, image in (("a.png", warm), ("b.png", warm[::-1])):
        imgot.write_image(tmp_path / "in" / name, image)
    imgot.write_image(tmp_path / "ref.png", cool)
    runner = CliRunner()
    result = runner.invoke(main, ["batch", str(tmp_path / "in"), "-r", str(tmp_path / "ref.png"), "-o",
                                  str(tmp_path / "out"), "--fit-on", "first", "--save-lut", str(tmp_path / "look.png"),
                                  "--hald-level", "4", "--saturation", "0", "--no-detail", "--clusters", "8", "-j", "1"])
    assert result.exit_code == 0, result.output
    assert "--saturation 0" in result.output  # the note: the LUT holds the map, not the per-pixel step
    assert read_lut(tmp_path / "look.png").size == 16
    out = imgot.load_image(tmp_path / "out" / "a.png").pixels
    assert is_gray(out, 1)
    result = runner.invoke(main, ["apply", str(tmp_path / "look.png"), str(tmp_path / "in" / "a.png"), "-o",
                                  str(tmp_path / "applied"), "--saturation", "0"])
    assert result.exit_code == 0, result.output
    assert np.array_equal(imgot.load_image(tmp_path / "applied" / "a.png").pixels, out)


@pytest.fixture
def clip(tmp_path, warm):
    av = pytest.importorskip("av")
    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10, options={"crf": "0", "preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv444p"
        for index in range(6):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(np.roll(warm, index, 1)), format="rgb24")
            frame = frame.reformat(format="yuv444p")
            frame.pts, frame.time_base = index, Fraction(1, 10)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def frames(path):
    import av

    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def test_video_transfer_and_apply_take_the_controls(tmp_path, clip, cool):
    imgot.write_image(tmp_path / "ref.png", cool)
    runner = CliRunner()
    result = runner.invoke(main, ["transfer", str(clip), str(tmp_path / "ref.png"), "-o", str(tmp_path / "g.mp4"),
                                  "--saturation", "0", "--no-detail", "--clusters", "8", "--crf", "0",
                                  "--save-lut", str(tmp_path / "clip.cube"), "--lut-size", "17"])
    assert result.exit_code == 0, result.output
    graded = frames(tmp_path / "g.mp4")
    assert len(graded) == 6 and all(is_gray(frame, 4) for frame in graded)  # 4:2:0 and codec rounding
    assert "LUT_3D_SIZE 17" in (tmp_path / "clip.cube").read_text()
    result = runner.invoke(main, ["apply", str(tmp_path / "clip.cube"), str(clip), "-o", str(tmp_path / "a.mp4"),
                                  "--saturation", "0", "--crf", "0"])
    assert result.exit_code == 0, result.output
    assert all(is_gray(frame, 4) for frame in frames(tmp_path / "a.mp4"))


def test_the_pages_settings_carry_the_controls(warm, cool):
    """imgot serve: parsed and checked like the library's, and the preview is finished with them."""
    from imgot.serve.params import FINISH, PLAN, parse_params
    from imgot.serve.preview import base_map, finish

    params = parse_params({"saturation": "0", "protect_skin": "0.5", "neutralize": "white-patch"})
    assert (params["saturation"], params["protect_skin"], params["neutralize"]) == (0.0, 0.5, "white-patch")
    assert parse_params({"neutralize": ""})["neutralize"] is None
    assert {"saturation", "protect_skin"} <= set(FINISH) and "neutralize" in PLAN
    with pytest.raises(ValueError, match="neutralize"):
        parse_params({"neutralize": "grey"})
    model = imgot.ColorTransfer(n_clusters=8, preserve_detail=False, saturation=0.0).fit(cool)
    preview = finish(base_map(model, warm), warm, strength=1.0, preserve_luminance=False, preserve_detail=False,
                     saturation=0.0)
    assert is_gray(preview, 1) and np.array_equal(preview, model.transform(warm))
