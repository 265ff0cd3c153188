import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from scipy.ndimage import label, sobel

import imgot
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


BACKGROUND = (30, 30, 30)


def disk(center, color, shape=(32, 48), radius=6):
    y, x = np.mgrid[0:shape[0], 0:shape[1]]
    image = np.zeros((*shape, 3), np.uint8) + np.array(BACKGROUND, np.uint8)
    image[(x - center[0]) ** 2 + (y - center[1]) ** 2 <= radius**2] = color
    return image


def foreground(frame):
    """How far each pixel is from the background (sum of |RGB difference|)."""
    return np.abs(frame.astype(int) - BACKGROUND).sum(axis=-1)


def centroid(frame):
    weight = foreground(frame).astype(float)
    y, x = np.mgrid[0:frame.shape[0], 0:frame.shape[1]]
    return np.array([(weight * x).sum(), (weight * y).sum()]) / weight.sum()


def sharpness(frame):
    gray = frame.astype(float).mean(axis=-1)
    return float((sobel(gray, 0) ** 2 + sobel(gray, 1) ** 2).mean())


def spatial(a, b, frames):
    return list(morph(a, b, frames=frames, spatial=True, n_clusters=100))


@pytest.mark.parametrize("frames", [5, 7])  # fractional (4.5 px) and whole (3 px) steps
def test_spatial_morph_moves_a_disk_at_constant_brightness(frames):
    a, b = disk((12, 16), (240, 240, 240)), disk((30, 16), (240, 240, 240))
    out = spatial(a, b, frames)
    assert (out[0] == a).all() and (out[-1] == b).all()
    times = np.linspace(0, 1, frames)
    centers = np.array([centroid(f) for f in out])
    np.testing.assert_allclose(centers[:, 0], 12 + 18 * times, atol=0.5)  # linear in t
    np.testing.assert_allclose(centers[:, 1], 16, atol=0.1)
    for frame in out[1:-1]:
        assert frame.max() >= 0.95 * 240  # the peak is kept: no cross-fade, no dimming
        mass = foreground(frame).sum() / foreground(a).sum()
        assert 0.95 <= mass <= 1.05
        assert (foreground(frame) > 300).sum() >= 0.9 * (foreground(a) > 300).sum()  # one whole disk
        assert sharpness(frame) >= 0.5 * sharpness(a)


def test_spatial_morph_disk_arrives_whole_in_the_middle_frames():
    """A disk of constant brightness 240 moving diagonally (uneven particle spacing between the ends):
    in every middle frame, every pixel of the disk's interior (2 px inside the disk where it should be,
    at the straight-line position) is within 15% of 240, and their mean within 1.5%: no speckle of the
    background through the disk, no loss of brightness."""
    shape, radius, (x0, y0), (x1, y1) = (48, 80), 11, (18, 14), (62, 33)
    a, b = disk((x0, y0), (240, 240, 240), shape, radius), disk((x1, y1), (240, 240, 240), shape, radius)
    out = list(morph(a, b, frames=9, spatial=True))
    y, x = np.mgrid[0:shape[0], 0:shape[1]]
    for k, frame in enumerate(out[1:-1], start=1):
        t = k / 8
        interior = (x - x0 - t * (x1 - x0)) ** 2 + (y - y0 - t * (y1 - y0)) ** 2 <= (radius - 2) ** 2
        brightness = frame[interior].astype(float).mean(axis=-1)
        assert brightness.min() >= 0.85 * 240, (k, brightness.min())
        assert abs(brightness.mean() / 240 - 1) <= 0.015, (k, brightness.mean())


def test_spatial_morph_moves_and_recolors_a_disk_at_once():
    yellow, blue = (240, 220, 40), (40, 60, 230)
    a, b = disk((12, 12), yellow), disk((34, 20), blue)
    out = spatial(a, b, 5)
    assert (out[0] == a).all() and (out[-1] == b).all()
    times = np.linspace(0, 1, 5)
    centers = np.array([centroid(f) for f in out])
    expected = np.array([12, 12]) + times[:, None] * np.array([22, 8])
    np.testing.assert_allclose(centers, expected, atol=0.75)
    middle = out[2]
    mask = foreground(middle) > 150
    labels, count = label(mask)
    assert count == 1  # one disk on its way, not a fading disk and an appearing one
    assert 0.8 * 113 <= mask.sum() <= 1.25 * 113
    # Its color is between the two in CIELAB (the straight line of McCann's interpolation).
    lab = srgb_to_lab(middle[mask].mean(axis=0) / 255.0)
    ends = srgb_to_lab(np.array([yellow, blue]) / 255.0)
    halfway = ends.mean(axis=0)
    assert np.linalg.norm(lab - halfway) < 0.25 * np.linalg.norm(ends[1] - ends[0])
    assert sharpness(middle) >= 0.5 * min(sharpness(a), sharpness(b))


def test_spatial_morph_ends_are_exact_on_photographs(rocket, coffee):
    out = list(morph(rocket[:48, :64], coffee[:48, :64], frames=3, spatial=True, n_clusters=60))
    assert (out[0] == rocket[:48, :64]).all() and (out[-1] == coffee[:48, :64]).all()
    steps = [np.abs(out[k + 1].astype(int) - out[k]).mean() for k in range(2)]
    assert max(steps) < 3 * min(steps)
    # At another size, the ends are the inputs resized (Lanczos), still exactly.
    small = list(morph(rocket, coffee, frames=2, spatial=True, n_clusters=40, size=(40, 30)))
    resized = np.asarray(Image.fromarray(rocket).resize((40, 30), Image.Resampling.LANCZOS))
    assert (small[0] == resized).all()


def test_spatial_morph_default_size_and_errors(warm, cool):
    first = next(iter(morph(warm, cool, frames=2, spatial=True, n_clusters=20)))
    assert first.shape == (48, 64, 3)
    for bad in ({"frames": 1}, {"size": (1, 5), "spatial": True}, {"size": (10, 10)}, {"n_clusters": 0},
                {"reach": 0, "spatial": True}):
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


@pytest.mark.filterwarnings("ignore:Sinkhorn did not converge")  # max_iter=2, on purpose
def test_cli_morph_passes_the_shared_transfer_options(tmp_path, warm, cool):
    from imgot import transfer

    a, b = warm, cool
    Image.fromarray(a).save(tmp_path / "a.png")
    Image.fromarray(b).save(tmp_path / "b.png")
    params = {"method": "sinkhorn", "n_clusters": 6, "color_space": "rgb", "max_iter": 2, "random_state": 3}
    flags = ["--method", "sinkhorn", "--clusters", 6, "--color-space", "rgb", "--max-iter", 2, "--seed", 3]

    def run(output, *extra):
        args = [tmp_path / "a.png", tmp_path / "b.png", "--frames", 2, "-o", tmp_path / output, *extra]
        return CliRunner().invoke(morph_command, [str(arg) for arg in args])

    result = run("f_%d.png", *flags)
    assert result.exit_code == 0, result.output
    last = read_image(tmp_path / "f_1.png")
    np.testing.assert_array_equal(last, transfer(a, b, **params))  # the last frame is that transfer
    for changed in ({"color_space": "lab"}, {"max_iter": 1000}):  # and each of them counts
        assert not np.array_equal(last, transfer(a, b, **{**params, **changed})), changed
    # Left out, --color-space is the API's default: lab for the palette methods.
    default = run("d_%d.png", "--clusters", 6)
    assert default.exit_code == 0, default.output
    np.testing.assert_array_equal(read_image(tmp_path / "d_1.png"), transfer(a, b, n_clusters=6))


def test_color_morph_takes_the_transfer_parameters(warm, cool):
    """Frame t is the transfer at strength t with the same parameters, the finishing steps included."""
    params = dict(method="emd", n_clusters=8, n_iter=5, preserve_detail=False, preserve_luminance=True)
    frames = list(imgot.morph(warm, cool, frames=3, **params))
    assert np.array_equal(frames[-1], imgot.transfer(warm, cool, **params))
    assert np.array_equal(frames[1], imgot.transfer(warm, cool, strength=0.5, **params))
    with pytest.raises(ValueError, match="spatial morph takes none"):
        list(imgot.morph(warm, cool, frames=2, spatial=True, preserve_luminance=True))
