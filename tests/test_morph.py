import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from scipy.ndimage import gaussian_filter

from imgot import ColorTransfer, read_image
from imgot.cli.morph import morph as morph_command
from imgot.colorspace import srgb_to_lab
from imgot.morph import morph, save_frames


def test_color_morph_ends_are_source_and_transfer(warm, cool):
    frames = list(morph(warm, cool, frames=4, n_clusters=8))
    assert len(frames) == 4 and all(f.shape == warm.shape and f.dtype == np.uint8 for f in frames)
    assert (frames[0] == warm).all()
    full = ColorTransfer(n_clusters=8).fit(cool).transform(warm)
    assert np.abs(frames[-1].astype(int) - full).max() <= 1
    half = ColorTransfer(n_clusters=8, strength=0.5).fit(cool).transform(warm)
    middle = list(morph(warm, cool, frames=3, n_clusters=8))[1]
    assert np.abs(middle.astype(int) - half).max() <= 1
    blue = [f[..., 2].mean() for f in frames]
    assert all(a < b for a, b in zip(blue, blue[1:]))  # monotone toward the cool reference


def blocks():
    """Two pictures with structure: a red square on blue, and a yellow disc on green."""
    y, x = np.mgrid[0:24, 0:32]
    a = np.zeros((24, 32, 3), np.uint8) + [40, 60, 200]
    a[4:14, 4:14] = [220, 30, 30]
    b = np.zeros((24, 32, 3), np.uint8) + [40, 160, 60]
    b[(y - 14) ** 2 + (x - 22) ** 2 < 36] = [240, 220, 40]
    return a.astype(np.uint8), b.astype(np.uint8)


def lab_error(frame, image):
    return np.abs(srgb_to_lab(frame / 255.0) - srgb_to_lab(image / 255.0)).mean()


def test_spatial_morph_goes_from_blurred_source_to_blurred_reference():
    a, b = blocks()
    frames = list(morph(a, b, frames=5, spatial=True, n_clusters=60, size=(32, 24)))
    assert [f.shape for f in frames] == [(24, 32, 3)] * 5
    assert lab_error(frames[0], a) < 0.5 * lab_error(frames[0], b)
    assert lab_error(frames[-1], b) < 0.5 * lab_error(frames[-1], a)
    blurred = np.stack([gaussian_filter(a[..., c].astype(float), 1.5) for c in range(3)], -1)
    assert lab_error(frames[0], blurred) < 12
    # The middle frame is between the two, and changes smoothly.
    steps = [np.abs(frames[k + 1].astype(int) - frames[k]).mean() for k in range(4)]
    assert max(steps) < 3 * min(steps)


def test_spatial_morph_default_size_and_errors(warm, cool):
    first = next(iter(morph(warm, cool, frames=2, spatial=True, n_clusters=20)))
    assert first.shape == (48, 64, 3)
    for bad in ({"frames": 1}, {"size": (1, 5), "spatial": True}, {"size": (10, 10)}, {"n_clusters": 0}):
        with pytest.raises(ValueError):
            list(morph(warm, cool, **{"frames": 2, **bad}))


def test_save_frames_gif_and_numbered(tmp_path):
    frames = [np.full((6, 8, 3), v, np.uint8) for v in (0, 100, 200)]
    save_frames(tmp_path / "a.gif", frames, duration=50)
    with Image.open(tmp_path / "a.gif") as gif:
        assert gif.n_frames == 3 and gif.size == (8, 6) and gif.info["duration"] == 50
    written = save_frames(tmp_path / "f_%02d.png", frames)
    assert [p.name for p in written] == ["f_00.png", "f_01.png", "f_02.png"]
    assert (read_image(written[1]) == 100).all()
    with pytest.raises(FileExistsError):
        save_frames(tmp_path / "f_%02d.png", frames)
    with pytest.raises(ValueError):
        save_frames(tmp_path / "a.bmp", frames)


def test_cli_morph(tmp_path):
    a, b = blocks()
    Image.fromarray(a).save(tmp_path / "a.png")
    Image.fromarray(b).save(tmp_path / "b.png")
    run = CliRunner().invoke
    pair = [str(tmp_path / "a.png"), str(tmp_path / "b.png")]
    result = run(morph_command, [*pair, "-o", str(tmp_path / "m.gif"), "--frames", "3", "--clusters", "4"])
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "m.gif") as gif:
        assert gif.n_frames == 3 and gif.size == (32, 24)
    spatial = run(morph_command, [*pair, "-o", str(tmp_path / "s_%d.png"), "--frames", "3", "--spatial",
                                  "--size", "16x12", "--clusters", "20"])
    assert spatial.exit_code == 0, spatial.output
    assert read_image(tmp_path / "s_2.png").shape == (12, 16, 3)
    cases = [
        (["-o", str(tmp_path / "m.gif")], 1, "--overwrite"),
        (["-o", str(tmp_path / "m.bmp")], 1, ".gif"),
        (["-o", str(tmp_path / "a.png"), "--overwrite"], 1, "input"),
        (["-o", str(tmp_path / "x.gif"), "--size", "10x10"], 2, "--spatial"),
        (["-o", str(tmp_path / "x.gif"), "--frames", "1"], 2, ""),
    ]
    for extra, code, message in cases:
        result = run(morph_command, [str(tmp_path / "a.png"), str(tmp_path / "b.png"), *extra])
        assert result.exit_code == code and message in result.output, (extra, result.output)
        assert "Traceback" not in result.output
