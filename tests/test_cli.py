import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from imgot import read_image
from imgot.cli import main
from imgot.cube import read_cube, write_cube
from imgot.mapping import ColorLUT

from .test_io import bomb_png, srgb_icc


@pytest.fixture
def pair(tmp_path, warm, cool):
    Image.fromarray(warm).save(tmp_path / "src.png", icc_profile=srgb_icc())
    Image.fromarray(cool).save(tmp_path / "ref.jpg", quality=95)
    return tmp_path / "src.png", tmp_path / "ref.jpg"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_transfer_writes_a_recolored_image(pair, tmp_path):
    src, ref = pair
    result = run("transfer", src, ref, "-o", tmp_path / "out.png", "--clusters", 8)
    assert result.exit_code == 0, result.output
    out = read_image(tmp_path / "out.png")
    source = read_image(src)
    assert out.shape == source.shape and out.dtype == np.uint8
    assert out[..., 2].mean() > source[..., 2].mean() + 20  # toward the cool reference
    assert Image.open(tmp_path / "out.png").info["icc_profile"] == srgb_icc()


def test_same_command_same_bytes(pair, tmp_path):
    src, ref = pair
    for name in ("a.jpg", "b.jpg"):
        assert run("transfer", src, ref, "-o", tmp_path / name, "--seed", 4, "--quality", 90).exit_code == 0
    assert (tmp_path / "a.jpg").read_bytes() == (tmp_path / "b.jpg").read_bytes()


def test_default_output_is_next_to_source_and_never_overwritten(pair):
    src, ref = pair
    before = src.read_bytes()
    result = run("transfer", src, ref, "--strength", 0.5)
    assert result.exit_code == 0, result.output
    assert (src.parent / "src_imgot.png").is_file()
    again = run("transfer", src, ref)
    assert again.exit_code == 1 and "--overwrite" in again.output
    assert run("transfer", src, ref, "--overwrite").exit_code == 0
    assert run("transfer", src, ref, "-o", src).exit_code == 1
    assert run("transfer", src, ref, "-o", ref).exit_code == 1
    assert src.read_bytes() == before


@pytest.mark.parametrize("option", [
    ["--method", "magic"], ["--strength", "2"], ["--clusters", "0"], ["--reg", "-1"],
    ["--color-space", "hsv"], ["--quality", "0"],
])
def test_bad_option_values_exit_2(pair, tmp_path, option):
    src, ref = pair
    result = run("transfer", src, ref, "-o", tmp_path / "o.png", *option)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_user_errors_give_one_line_and_exit_1(pair, tmp_path):
    src, ref = pair
    (tmp_path / "text.jpg").write_text("hello")
    Image.fromarray(np.zeros((64, 64, 3), np.uint8) + 90).save(tmp_path / "full.jpg")
    (tmp_path / "cut.jpg").write_bytes((tmp_path / "full.jpg").read_bytes()[:300])
    bomb_png(tmp_path / "bomb.png")
    cases = {
        tmp_path / "missing.jpg": "no such file",
        tmp_path / "text.jpg": "not an image",
        tmp_path / "cut.jpg": "truncated",
        tmp_path / "bomb.png": "too large",
    }
    for bad, message in cases.items():
        result = run("transfer", bad, ref, "-o", tmp_path / "o.png")
        assert result.exit_code == 1, (bad, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and message in lines[0].lower() and lines[0].startswith("Error:")
    result = run("transfer", src, ref, "-o", tmp_path / "o.xyz")  # a bad option value: exit 2
    assert result.exit_code == 2 and "format" in result.output
    assert not (tmp_path / "o.png").exists()


def test_version_and_help():
    assert run("--version").output.startswith("imgot, version")
    for command in main.commands:
        result = run(command, "--help")
        assert result.exit_code == 0 and "Example" in result.output


@pytest.mark.slow  # a subprocess
def test_real_subprocess(pair, tmp_path):
    src, ref = pair
    out = tmp_path / "sub.tif"
    done = subprocess.run([sys.executable, "-m", "imgot", "transfer", src, ref, "-o", out, "--clusters", "8"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert read_image(out).shape == read_image(src).shape
    failed = subprocess.run([sys.executable, "-m", "imgot", "transfer", tmp_path / "nope.png", ref],
                            capture_output=True, text=True)
    assert failed.returncode == 1
    assert failed.stderr.strip().count("\n") == 0 and "Traceback" not in failed.stderr


def identity_lut(size):
    return ColorLUT(np.stack(np.meshgrid(*[np.linspace(0, 1, size)] * 3, indexing="ij"), -1))


def test_save_lut_then_apply_reproduces_the_transfer(pair, tmp_path):
    src, ref = pair
    lut = tmp_path / "look.cube"
    result = run("transfer", src, ref, "-o", tmp_path / "out.png", "--clusters", 8, "--save-lut", lut)
    assert result.exit_code == 0, result.output
    assert read_cube(lut).size == 33
    again = run("transfer", src, ref, "-o", tmp_path / "out2.png", "--save-lut", lut)
    assert again.exit_code == 1 and "--overwrite" in again.output and not (tmp_path / "out2.png").exists()
    not_a_lut = run("transfer", src, ref, "-o", tmp_path / "o.png", "--save-lut", tmp_path / "look.txt")
    assert not_a_lut.exit_code == 2  # .cube, or .png for a HaldCLUT (tests/test_hald.py)
    applied = run("apply", lut, src, "-o", tmp_path / "applied", "--preserve-detail")
    assert applied.exit_code == 0, applied.output
    ours, theirs = read_image(tmp_path / "out.png"), read_image(tmp_path / "applied" / "src.png")
    assert np.abs(ours.astype(int) - theirs).max() <= 1
    assert Image.open(tmp_path / "applied" / "src.png").info["icc_profile"] == srgb_icc()


def test_apply_reports_a_bad_file_and_does_the_rest(pair, tmp_path):
    src, ref = pair
    write_cube(tmp_path / "id.cube", identity_lut(5))
    (tmp_path / "text.jpg").write_text("hello")
    result = run("apply", tmp_path / "id.cube", src, tmp_path / "text.jpg", ref, "-o", tmp_path / "out")
    assert result.exit_code == 1
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("Error:") and "text.jpg" in errors[0]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ref.jpg", "src.png"]
    assert np.abs(read_image(tmp_path / "out" / "src.png").astype(int) - read_image(src)).max() <= 1


def test_apply_refuses_inputs_existing_outputs_and_bad_luts(pair, tmp_path):
    src, _ = pair
    write_cube(tmp_path / "id.cube", identity_lut(2))
    before = src.read_bytes()
    over = run("apply", tmp_path / "id.cube", src, "-o", tmp_path, "--overwrite")
    assert over.exit_code == 1 and "input" in over.output and src.read_bytes() == before
    assert run("apply", tmp_path / "id.cube", src, "-o", tmp_path / "o").exit_code == 0
    assert run("apply", tmp_path / "id.cube", src, "-o", tmp_path / "o").exit_code == 1
    assert run("apply", tmp_path / "id.cube", src, "-o", tmp_path / "o", "--overwrite").exit_code == 0
    (tmp_path / "bad.cube").write_text("LUT_1D_SIZE 2\n0 0 0\n1 1 1\n")
    for lut, message in ((tmp_path / "bad.cube", "1-D"), (tmp_path / "no.cube", "no such file")):
        result = run("apply", lut, src, "-o", tmp_path / "o2")
        assert result.exit_code == 1 and message in result.output
        assert len(result.output.strip().splitlines()) == 1


def lightness(path):
    from skimage.color import rgb2lab

    return rgb2lab(read_image(path) / 255.0)[..., 0]


def test_apply_preserve_luminance_redoes_the_transfer(pair, tmp_path):
    src, ref = pair
    common = ("--method", "linear", "--preserve-luminance", "--no-detail")
    # batch --fit-on maps through the table as the .cube holds it: applying that file gives the same bytes.
    result = run("batch", src, "-r", ref, "-o", tmp_path / "batch", "-j", 1, "--fit-on", "first",
                 "--save-lut", tmp_path / "b.cube", *common)
    assert result.exit_code == 0, result.output
    assert "--preserve-luminance" in result.stderr  # the note names the flag that adds the step back
    applied = run("apply", tmp_path / "b.cube", src, "-o", tmp_path / "applied", "--preserve-luminance")
    assert applied.exit_code == 0, applied.output
    np.testing.assert_array_equal(read_image(tmp_path / "applied" / "src.png"),
                                  read_image(tmp_path / "batch" / "src.png"))
    # transfer --save-lut: the .cube holds the float32 table exactly (9 digits), so applying it with the
    # same flags gives the transfer's bytes.
    assert run("transfer", src, ref, "-o", tmp_path / "t.png", "--save-lut", tmp_path / "t.cube",
               *common).exit_code == 0
    again = run("apply", tmp_path / "t.cube", src, "-o", tmp_path / "again", "--preserve-luminance")
    assert again.exit_code == 0, again.output
    np.testing.assert_array_equal(read_image(tmp_path / "again" / "src.png"), read_image(tmp_path / "t.png"))
    # The step itself, against scikit-image's L*: kept with the flag, moved without it.
    plain = run("apply", tmp_path / "b.cube", src, "-o", tmp_path / "plain")
    assert plain.exit_code == 0, plain.output
    source_l = lightness(src)
    assert np.abs(lightness(tmp_path / "applied" / "src.png") - source_l).max() < 0.3  # 8-bit rounding
    assert np.abs(lightness(tmp_path / "plain" / "src.png") - source_l).max() > 1.0  # the LUT alone


def test_warnings_are_one_line_each_and_the_hook_is_restored(pair, tmp_path):
    import warnings

    src, ref = pair
    deep = tmp_path / "deep.png"
    Image.fromarray(read_image(src)[..., 0].astype(np.uint16) * 257).save(deep)  # 16-bit gray
    assert read_image(deep).dtype == np.uint16
    original = warnings.showwarning
    cases = [
        ("transfer", deep, ref, "-o", tmp_path / "deep.jpg", "--method", "linear"),
        ("compare", src, ref, "-o", tmp_path / "sheet.png", "--methods", "sinkhorn", "--max-iter", 1,
         "--clusters", 8, "--width", 64),
    ]
    for args, expected in zip(cases, ("16-bit output rounded to 8 bits", "did not converge in max_iter=1")):
        result = run(*args)
        assert result.exit_code == 0, result.output
        assert warnings.showwarning is original, args[0]
        lines = [line for line in result.stderr.splitlines() if expected in line]
        assert len(lines) == 1 and lines[0].startswith("warning: "), result.stderr
        assert "Warning" not in result.stderr and ".py:" not in result.stderr  # no file:line, no class name
    # Called from Python, not through a runner: the same.
    main.main(["transfer", str(deep), str(ref), "-o", str(tmp_path / "py.jpg"), "--method", "linear"],
              standalone_mode=False)
    assert warnings.showwarning is original


def test_apply_refuses_masks_for_a_video_and_takes_its_per_pixel_steps(pair, tmp_path):
    pytest.importorskip("av")
    from imgot.video import is_video_path

    src, _ = pair
    write_cube(tmp_path / "id.cube", identity_lut(5))
    clip = tmp_path / "clip.mp4"
    assert is_video_path(clip)
    frames = np.repeat(read_image(src)[None], 3, axis=0)
    import av

    with av.open(str(clip), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    for flags in (["--ignore-color", "0,0,0"], ["--apply-mask", str(src)]):
        result = run("apply", tmp_path / "id.cube", clip, "-o", tmp_path / "out.mp4", *flags)
        assert result.exit_code == 1 and flags[0] in result.stderr and "not videos" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "out.mp4").exists()
    for flag in ("--preserve-luminance", "--preserve-detail"):
        assert run("apply", tmp_path / "id.cube", clip, "-o", tmp_path / f"out{flag}.mp4", flag).exit_code == 0
    assert run("apply", tmp_path / "id.cube", clip, "-o", tmp_path / "plain.mp4").exit_code == 0


@pytest.mark.parametrize("shape", [(1, 1), (1, 5000), (5000, 1)])
def test_every_command_takes_a_tiny_or_thin_image(tmp_path, cool, shape):
    """1 x 1, 1 x 5000 and 5000 x 1: exit 0 everywhere; a score such an image cannot have says n/a."""
    rng = np.random.default_rng(0)
    (tmp_path / "in").mkdir()
    tiny = tmp_path / "in" / "tiny.png"
    Image.fromarray(rng.integers(0, 256, shape + (3,)).astype(np.uint8)).save(tiny)
    ref = tmp_path / "ref.png"
    Image.fromarray(cool).save(ref)
    write_cube(tmp_path / "id.cube", identity_lut(5))
    out = tmp_path / "out"
    commands = [("transfer", tiny, ref, "-o", out / "t.png"), ("transfer", ref, tiny, "-o", out / "r.png"),
                ("apply", tmp_path / "id.cube", tiny, "-o", out / "applied"),
                ("batch", tmp_path / "in", "-r", ref, "-o", out / "batch", "--jobs", 1),
                ("evaluate", tiny, ref, tiny),
                ("compare", tiny, ref, "-o", out / "sheet.png", "--methods", "emd,histogram", "--width", 64),
                ("distance", tiny, ref), ("plan", tiny, ref, "-o", out / "plan.png"),
                ("morph", tiny, ref, "-o", out / "m.gif", "--frames", 2),
                ("normalize", tmp_path / "in", "-o", out / "normalized")]
    out.mkdir()
    results = {}
    for command in commands:
        result = run(*command)
        assert result.exit_code == 0, (command, result.output)
        results[command[0]] = result.output
    assert read_image(out / "t.png").shape == shape + (3,) == read_image(out / "applied" / "tiny.png").shape
    assert read_image(out / "batch" / "tiny.png").shape == shape + (3,)
    assert np.array_equal(read_image(out / "applied" / "tiny.png"), read_image(tiny))
    row = results["evaluate"].splitlines()[1].split()
    assert float(row[1]) > 0 and row[2] == "1.000"  # the source itself as output: its own distance, ratio 1
    assert row[3:] == (["n/a", "n/a"] if shape == (1, 1) else ["1.000", "+0.000"])
    assert float(results["distance"].split()[0]) > 0
    assert Image.open(out / "sheet.png").height < 2000  # a 5000-pixel column is not drawn 5000 pixels per tile


def test_ctrl_c_inside_a_compiled_modules_import_is_an_interrupt_not_a_bug():
    # pybind11 modules (scipy.fft, scipy.spatial, ...) turn a Ctrl+C during their import into
    # ImportError("initialization failed") with the KeyboardInterrupt as its cause: a user who
    # pressed Ctrl+C while imgot was starting must see the interrupt line and exit 130.
    import click

    from imgot.cli import _Group

    @click.group(cls=_Group)
    def group() -> None:
        pass

    @group.command()
    def starting() -> None:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as interrupt:
            raise ImportError("initialization failed") from interrupt

    @group.command()
    def broken() -> None:
        raise ImportError("initialization failed")

    result = CliRunner().invoke(group, ["starting"])
    assert result.exit_code == 130 and "interrupted" in result.output and "bug" not in result.output
    result = CliRunner().invoke(group, ["broken"])  # a real import failure stays an error line
    assert result.exit_code == 1 and "unexpected ImportError" in result.output


def test_ctrl_c_that_python_would_swallow_in_a_callback_still_interrupts_the_command(tmp_path):
    # A KeyboardInterrupt raised inside a callback Python runs on its own (here a weakref
    # callback; in the field, the import system's module locks while the solvers import in
    # the background) is printed as "Exception ignored" and lost: the command went on and
    # wrote its output. The command group delivers it again: exit 130, no output.
    import sys
    import time
    import weakref

    import click

    from imgot.cli import _Group

    class Thing:
        pass

    @click.group(cls=_Group)
    def group() -> None:
        pass

    @group.command()
    def work() -> None:
        def callback(_reference) -> None:
            raise KeyboardInterrupt

        thing = Thing()
        watcher = weakref.ref(thing, callback)
        del thing  # the callback runs here; its interrupt is unraisable
        assert watcher() is None
        time.sleep(2.0)  # the command's own work, where the redelivered interrupt lands
        (tmp_path / "out.txt").write_text("done")

    hook = sys.unraisablehook
    result = CliRunner().invoke(group, ["work"])
    assert result.exit_code == 130 and "interrupted" in result.output
    assert not (tmp_path / "out.txt").exists()
    assert sys.unraisablehook is hook  # put back when the command ends
