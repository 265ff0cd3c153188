"""Multi-frame images (imgot.frames): every frame recolored with one map, timing and transparency kept.

Outputs are decoded back with Pillow (and FFmpeg's GIF decoder through PyAV
when it is installed), independently of imgot's writer.
"""

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import imgot
from imgot.cli import main
from imgot.cube import write_cube
from imgot.frames import count_frames, recolor_frames, transfer_frames
from imgot.mapping import ColorLUT, _lattice

IDENTITY = ColorLUT(_lattice(9).reshape(9, 9, 9, 3))


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def decoded(path):
    """Every frame as a viewer shows it (RGBA), with its duration, and the file's loop count."""
    with Image.open(path) as image:
        frames, durations = [], []
        for index in range(image.n_frames):
            image.seek(index)
            frames.append(np.asarray(image.convert("RGBA")).copy())
            durations.append(image.info.get("duration"))
        return frames, durations, image.info.get("loop")


def shown_equal(a, b):
    """Same transparency, and the same colors where opaque (hidden colors do not count)."""
    opaque = a[..., 3] > 0
    return np.array_equal(a[..., 3], b[..., 3]) and np.array_equal(a[..., :3][opaque], b[..., :3][opaque])


def warm_gif(path, rng, durations=(40, 120, 300), disposals=(1, 2, 1), size=(24, 32)):
    """Reddish frames with a moving transparent square (palette index 255) and different durations."""
    palette = np.zeros((256, 3), np.uint8)
    palette[:255] = np.stack([np.linspace(150, 255, 255), np.linspace(40, 120, 255), np.linspace(20, 60, 255)], 1)
    frames = []
    for index in range(len(durations)):
        indices = rng.integers(0, 255, size).astype(np.uint8)
        indices[4:12, 4 + 6 * index:12 + 6 * index] = 255
        frame = Image.fromarray(indices, "P")
        frame.putpalette(palette.tobytes())
        frames.append(frame)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=list(durations), loop=0,
                   transparency=255, disposal=list(disposals))
    return path


@pytest.fixture
def blue(tmp_path):
    rng = np.random.default_rng(5)
    image = np.clip(rng.normal([40, 80, 200], 15, (32, 32, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(image).save(tmp_path / "blue.png")
    return tmp_path / "blue.png"


def test_animated_gif_round_trips_with_every_frame_recolored(tmp_path, blue):
    """The issue's test: 3 frames of different durations and a transparent color."""
    source = warm_gif(tmp_path / "warm.gif", np.random.default_rng(0))
    result = run("transfer", source, blue, "-o", tmp_path / "out.gif", "--clusters", 8)
    assert result.exit_code == 0, result.output
    before, before_durations, before_loop = decoded(source)
    after, durations, loop = decoded(tmp_path / "out.gif")
    assert len(after) == 3 and durations == [40, 120, 300] == before_durations and loop == 0 == before_loop
    target = np.asarray(Image.open(blue).convert("RGB"), float).reshape(-1, 3).mean(0)
    for old, new in zip(before, after):
        assert np.array_equal(old[..., 3], new[..., 3])  # the transparent square stays transparent, exactly
        opaque = old[..., 3] > 0
        assert 0 < (~opaque).sum() < opaque.sum()
        distance_before = np.abs(old[..., :3][opaque].mean(0) - target).sum()
        distance_after = np.abs(new[..., :3][opaque].astype(float).mean(0) - target).sum()
        assert distance_after < 0.3 * distance_before  # each frame moved toward the reference
    with Image.open(tmp_path / "out.gif") as gif:
        assert [(gif.seek(i), gif.disposal_method)[1] for i in range(3)] == [1, 2, 1]


@pytest.mark.parametrize("seed", range(6))
def test_identity_map_gives_back_every_frame_whatever_the_disposals(tmp_path, seed):
    """Through an identity LUT, each frame a viewer shows is the source's, bit for bit (random
    disposals 0-3, partial frames, pixels turning transparent and back)."""
    rng = np.random.default_rng(seed)
    palette = np.concatenate([rng.integers(0, 256, (255, 3)), [[0, 0, 0]]]).astype(np.uint8)
    indices = rng.integers(0, 40, (16, 20)).astype(np.uint8)
    frames = []
    for _ in range(6):
        indices = indices.copy()
        top, left = rng.integers(0, 12), rng.integers(0, 16)
        indices[top:top + 4, left:left + 4] = rng.choice([255, int(rng.integers(0, 40))])
        indices[rng.integers(0, 16), rng.integers(0, 20)] = int(rng.integers(40, 60))  # never two frames alike
        frame = Image.fromarray(indices, "P")
        frame.putpalette(palette.tobytes())
        frames.append(frame)
    disposals = [int(d) for d in rng.integers(0, 4, 6)]
    frames[0].save(tmp_path / "s.gif", save_all=True, append_images=frames[1:], duration=[20, 30, 40, 50, 60, 70],
                   loop=3, transparency=255, disposal=disposals)
    recolor_frames(IDENTITY, tmp_path / "s.gif", tmp_path / "o.gif")
    source, source_durations, _ = decoded(tmp_path / "s.gif")
    out, durations, loop = decoded(tmp_path / "o.gif")
    assert len(out) == len(source) and durations == source_durations and loop == 3
    assert all(shown_equal(a, b) for a, b in zip(source, out))
    av = pytest.importorskip("av")  # a second, independent GIF decoder: FFmpeg's
    with av.open(str(tmp_path / "o.gif")) as container:
        ffmpeg = [frame.to_ndarray(format="rgba") for frame in container.decode(video=0)]
    assert len(ffmpeg) == len(source) and all(shown_equal(a, b) for a, b in zip(source, ffmpeg))


def test_one_map_for_all_frames_and_a_static_background_stays_static(tmp_path, blue):
    """The same source colors get the same new colors in every frame; unchanged pixels do not move."""
    rng = np.random.default_rng(3)
    background = rng.integers(100, 200, (20, 30, 3)).astype(np.uint8)
    frames = []
    for index in range(4):
        frame = background.copy()
        frame[2:6, 3 * index:3 * index + 3] = [250, 30, 30]
        frames.append(Image.fromarray(frame))
    frames[0].save(tmp_path / "move.png", save_all=True, append_images=frames[1:], duration=[50, 60, 70, 80])
    assert count_frames(tmp_path / "move.png") == 4
    result = run("transfer", tmp_path / "move.png", blue, "-o", tmp_path / "out.png", "--clusters", 8)
    assert result.exit_code == 0, result.output
    out, durations, _ = decoded(tmp_path / "out.png")
    assert len(out) == 4 and durations == [50, 60, 70, 80]
    untouched = np.ones((20, 30), bool)
    untouched[2:6, :12] = False
    assert all(np.array_equal(out[0][untouched], frame[untouched]) for frame in out[1:])
    assert not np.array_equal(out[0][untouched][..., :3], background[untouched])


def test_apply_and_batch_recolor_every_frame(tmp_path, blue):
    (tmp_path / "in").mkdir()
    source = warm_gif(tmp_path / "in" / "warm.gif", np.random.default_rng(1))
    write_cube(tmp_path / "id.cube", IDENTITY)
    result = run("apply", tmp_path / "id.cube", source, "-o", tmp_path / "applied")
    assert result.exit_code == 0, result.output
    assert all(shown_equal(a, b) for a, b in zip(decoded(source)[0], decoded(tmp_path / "applied" / "warm.gif")[0]))
    result = run("batch", tmp_path / "in", "-r", blue, "-o", tmp_path / "batch", "--jobs", 1, "--clusters", 8)
    assert result.exit_code == 0, result.output
    after, durations, _ = decoded(tmp_path / "batch" / "warm.gif")
    assert len(after) == 3 and durations == [40, 120, 300]
    result = run("batch", tmp_path / "in", "-r", source, "-o", tmp_path / "fit", "--jobs", 1, "--clusters", 8,
                 "--fit-on", "first", "--format", "webp")  # an animated reference and fit_on: all its frames
    assert result.exit_code == 0, result.output
    assert len(decoded(tmp_path / "fit" / "warm.webp")[0]) == 3


def test_multi_page_tiff_keeps_each_page_depth(tmp_path, blue):
    import tifffile

    rng = np.random.default_rng(2)
    pages = [rng.integers(20000, 60000, (10, 12, 3)).astype(np.uint16), rng.integers(0, 255, (6, 8)).astype(np.uint8)]
    with tifffile.TiffWriter(tmp_path / "pages.tif") as tiff:
        for page in pages:
            tiff.write(page, photometric="rgb" if page.ndim == 3 else "minisblack", metadata=None)
    result = run("transfer", tmp_path / "pages.tif", blue, "-o", tmp_path / "out.tif", "--clusters", 8)
    assert result.exit_code == 0, result.output
    with tifffile.TiffFile(tmp_path / "out.tif") as tiff:
        out = [page.asarray() for page in tiff.pages]
    assert [(p.dtype, p.shape) for p in out] == [(p.dtype, p.shape) for p in pages]
    assert out[0][..., 2].mean() > out[0][..., 0].mean() and not np.array_equal(out[0], pages[0])
    assert np.ptp(out[1].astype(int)) > 0


def test_same_input_same_bytes(tmp_path, blue):
    source = warm_gif(tmp_path / "warm.gif", np.random.default_rng(4))
    for name in ("a.gif", "b.gif"):
        assert run("transfer", source, blue, "-o", tmp_path / name, "--clusters", 8).exit_code == 0
    assert (tmp_path / "a.gif").read_bytes() == (tmp_path / "b.gif").read_bytes()


def test_bad_multi_frame_inputs_get_one_line(tmp_path, blue):
    source = warm_gif(tmp_path / "warm.gif", np.random.default_rng(0))
    data = source.read_bytes()
    (tmp_path / "cut.gif").write_bytes(data[: len(data) * 2 // 3])
    (tmp_path / "none.gif").write_bytes(data[:13 + 3 * (2 << (data[10] & 7))] + b";")  # header, no frame
    for name in ("cut.gif", "none.gif"):
        result = run("transfer", tmp_path / name, blue, "-o", tmp_path / f"out_{name}")
        assert result.exit_code == 1 and result.output.count("\n") == 1 and "Error:" in result.output, result.output
        assert not (tmp_path / f"out_{name}").exists()
    result = run("transfer", source, blue, "-o", tmp_path / "out.gif", "--method", "histogram")
    assert result.exit_code == 1 and "3-D LUT" in result.output and result.output.count("\n") == 1
    result = run("transfer", source, blue, "-o", tmp_path / "out.jpg")
    assert result.exit_code == 2 and ".gif" in result.output
    result = run("transfer", source, blue, "-o", tmp_path / "out.gif", "--apply-mask", "alpha")
    assert result.exit_code == 2 and "--apply-mask" in result.output
    result = run("compare", source, blue, "-o", tmp_path / "sheet.png")  # one image in, one sheet out
    assert result.exit_code == 1 and "animated GIF with 3 frames" in result.output


def test_api_refuses_a_multi_frame_pil_image_and_transfer_frames_does_every_frame(tmp_path, blue):
    source = warm_gif(tmp_path / "warm.gif", np.random.default_rng(0))
    reference = np.asarray(Image.open(blue))
    with Image.open(source) as gif:
        with pytest.raises(ValueError, match="3 frames.*transfer_frames"):
            imgot.transfer(gif, reference)
        out = transfer_frames(gif, reference, n_clusters=8)
        assert len(out) == 3 and all(isinstance(frame, Image.Image) for frame in out)
        gif.seek(1)
        single = imgot.transfer(gif.convert("RGBA"), reference, n_clusters=8)  # one frame, explicitly
    assert single.size == (32, 24)
    arrays = [np.asarray(frame.convert("RGBA")) for frame in out]
    assert np.array_equal(arrays[0][..., 3] == 0, np.asarray(Image.open(source).convert("RGBA"))[..., 3] == 0)


def test_folders_with_an_animated_gif_work_in_distance_and_normalize(tmp_path, blue):
    """Folders now list .gif files: the group commands pool a GIF's frames instead of failing on it."""
    (tmp_path / "in").mkdir()
    warm_gif(tmp_path / "in" / "warm.gif", np.random.default_rng(6))
    Image.open(blue).save(tmp_path / "in" / "blue.png")
    result = run("distance", tmp_path / "in", blue)
    assert result.exit_code == 0 and float(result.output.split()[0]) > 0, result.output
    result = run("normalize", tmp_path / "in", "-o", tmp_path / "out", "--clusters", 8)
    assert result.exit_code == 0, result.output
    assert decoded(tmp_path / "out" / "warm.gif")[1] == [40, 120, 300]
