"""Video grading: real clips made with PyAV, decoded back and checked against the library's own per-frame results."""

from __future__ import annotations

import io
import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from skimage.color import rgb2lab

import imgot
import imgot.mapping
from imgot.cli import main
from imgot.cube import read_cube
from imgot.transfer import apply_lut_to_image

av = pytest.importorskip("av")
pytestmark = pytest.mark.slow  # every test encodes or decodes real clips
video = pytest.importorskip("imgot.video")
from imgot.video import grading, reading, streaming
from imgot.video.encoding import EncoderChoice

SAMPLES = Path(__file__).resolve().parent.parent / "sample_images"
FPS = 25
W, H = 160, 120


def _picture(name: str) -> np.ndarray:
    return imgot.read_image(SAMPLES / name)[..., :3]


def _crop(image: np.ndarray, t: float, zoom: float = 0.0) -> np.ndarray:
    """A W x H view of `image` panned by t in [0, 1] and zoomed in by `zoom`, resized as a camera would."""
    from PIL import Image

    width = image.shape[1] * 0.6 * (1 - zoom)
    height = width * H / W
    left, top = (image.shape[1] - width) * t, (image.shape[0] - height) / 2
    box = (left, top, left + width, top + height)
    return np.asarray(Image.fromarray(image).resize((W, H), Image.BILINEAR, box=box))


def yuv420_error(rgb: np.ndarray) -> float:
    """Mean error of `rgb` through 4:2:0 and back: what a lossless encode of it still loses."""
    flags = reading._exact()
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
        format="yuv420p", dst_colorspace=1, dst_color_range=1, interpolation=flags)
    back = frame.reformat(format="rgb24", src_colorspace=1, src_color_range=1, interpolation=flags).to_ndarray()
    return float(np.abs(back.astype(int) - rgb).mean())


def make_clip(path: Path, frames, *, pix_fmt="yuv420p", audio=False, rotation=0, crf=0) -> Path:
    """Encode RGB `frames` (uint8, or uint16 for a 10-bit pix_fmt) with libx264, BT.709 limited range."""
    frames = list(frames)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS, options={"crf": str(crf), "preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = W, H, pix_fmt
        for name in ("color_primaries", "color_trc", "colorspace", "color_range"):
            setattr(stream.codec_context, name, 1)
        if rotation:
            stream.set_display_rotation(rotation)
        sound = out.add_stream("aac", rate=48000, layout="stereo") if audio else None
        for index, rgb in enumerate(frames):
            rgb_format = "rgb48le" if rgb.dtype == np.uint16 else "rgb24"
            frame = av.VideoFrame.from_ndarray(rgb, format=rgb_format).reformat(
                format=pix_fmt, dst_colorspace=1, dst_color_range=1)
            frame.pts, frame.time_base = index, Fraction(1, FPS)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
        if sound is not None:
            t = np.arange(len(frames) * 48000 // FPS) / 48000
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for start in range(0, tone.size, 1024):
                chunk = np.ascontiguousarray(np.stack([tone[start : start + 1024]] * 2))
                block = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
                block.sample_rate, block.pts = 48000, start
                out.mux(sound.encode(block))
            out.mux(sound.encode(None))
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    astronaut, chelsea, coffee = _picture("astronaut.jpg"), _picture("chelsea.jpg"), _picture("coffee.jpg")
    rng = np.random.default_rng(0)
    still = _crop(chelsea, 0.5).astype(float)
    grain = [np.clip(still + rng.normal(0, 6, still.shape), 0, 255).astype(np.uint8) for _ in range(12)]
    # A fine gray ramp: no chroma for 4:2:0 to lose, so what remains is the bit depth of the chain.
    ramp = 0.1 + 0.8 * (np.linspace(0, 1, W)[None, :] * 0.8 + np.linspace(0, 1, H)[:, None] * 0.2)
    base16 = np.repeat((ramp * 65535).astype(np.uint16)[..., None], 3, axis=-1)
    return {
        "pan": make_clip(folder / "pan.mp4", (_crop(astronaut, i / 29, 0.3 * i / 29) for i in range(30)),
                         audio=True, rotation=90),
        "cut": make_clip(folder / "cut.mp4", [_crop(chelsea, i / 14) for i in range(15)]
                         + [_crop(coffee, i / 14) for i in range(15)]),
        "grain": make_clip(folder / "grain.mp4", grain),
        "drift": make_clip(folder / "drift.mp4", [(_crop(chelsea, 0.5) * [1 - i / 40, 1.0, 0.5 + i / 40]).astype(np.uint8)
                                                  for i in range(30)]),
        "ten": make_clip(folder / "ten.mkv", [np.roll(base16, 3 * i, axis=1) for i in range(8)], pix_fmt="yuv420p10le"),
    }


@pytest.fixture(scope="module")
def reference():
    return _picture("coffee.jpg")[::4, ::4]


def frames_of(path) -> list[np.ndarray]:
    return [frame.rgb for frame in video.iter_frames(path)]


def mean_lab(frames) -> np.ndarray:
    return np.array([rgb2lab(frame).reshape(-1, 3).mean(0) for frame in frames])


def audio_samples(path) -> int:
    with av.open(str(path)) as container:
        return sum(frame.samples for frame in container.decode(audio=0))


def test_frame_rate_timestamps_rotation_color_and_audio_are_kept(clips, reference, tmp_path):
    out = tmp_path / "graded.mp4"
    result = video.transfer_video(clips["pan"], reference, out, method="linear", preserve_detail=False)
    source, graded = reading.probe(clips["pan"]), reading.probe(out)
    assert graded.frame_rate == source.frame_rate and graded.duration == pytest.approx(source.duration, abs=1 / FPS)
    assert [f.time for f in video.iter_frames(out)] == [f.time for f in video.iter_frames(clips["pan"])]
    assert len(frames_of(out)) == 30
    assert graded.rotation == source.rotation == 90
    assert graded.color == source.color == {"color_range": 1, "color_primaries": 1, "color_trc": 1, "colorspace": 1}
    assert graded.audio == ("aac",) and "audio aac copied" in result.notes
    assert audio_samples(out) == audio_samples(clips["pan"]) > 0
    assert result.encoder.codec == "libx264" and result.encoder.pix_fmt == "yuv420p"


def test_output_is_each_frame_through_the_clip_map(clips, reference, tmp_path):
    out = tmp_path / "graded.mkv"
    result = video.transfer_video(clips["pan"], reference, out, method="emd", preserve_detail=False, crf=0)
    grade = result.grade
    assert len(grade.luts) == 1 and grade.cuts == ()
    source = frames_of(clips["pan"])
    for index, (graded, frame) in enumerate(zip(frames_of(out), source)):
        expected = apply_lut_to_image(grade.luts[0], frame)
        assert np.abs(graded.astype(int) - expected).mean() < yuv420_error(expected) + 0.25
        assert np.abs(graded.astype(int) - frame).mean() > 8  # and the grade did change the colors
    # The pipeline iterator gives the same frames, without the codec.
    first = next(video.iter_graded_frames(clips["pan"], grade))
    assert np.array_equal(first.rgb, apply_lut_to_image(grade.luts[0], source[0]))


def test_yuv_route_matches_the_rgb_route(clips, reference):
    from imgot.video.yuvlut import YUV420LUT

    lut = imgot.ColorTransfer(method="emd", n_clusters=16).fit(reference).color_lut(reference)
    with av.open(str(clips["pan"])) as container:
        frame = next(container.decode(video=0))
    fast = YUV420LUT(lut, frame.colorspace, full_range=False)
    graded = av.VideoFrame.from_ndarray(fast.apply(frame.to_ndarray(), W, H), format="yuv420p")
    graded.colorspace, graded.color_range = frame.colorspace, frame.color_range
    expected = apply_lut_to_image(lut, reading._to_rgb(frame, "rgb24"))
    error = np.abs(reading._to_rgb(graded, "rgb24").astype(int) - expected).mean()
    assert error < yuv420_error(expected) + 0.5  # the RGB route's own 4:2:0 loss, and a little more
    # A flat color: exactly the RGB route's 8-bit LUT output, converted to YUV.
    flat = np.zeros((H * 3 // 2, W), np.uint8)
    flat[:H], flat[H:] = 120, np.r_[np.full(H // 4, 100), np.full(H // 4, 150)][:, None]
    out = fast.apply(flat, W, H)
    assert len(np.unique(out[:H])) == 1 and len(np.unique(out[H : H + H // 4])) == 1


def test_static_shot_matches_imgot_transfer_of_its_frames(clips, reference, tmp_path):
    out = tmp_path / "graded.mp4"
    video.transfer_video(clips["grain"], reference, out, method="linear", preserve_detail=False, crf=0)
    for graded, frame in zip(frames_of(out), frames_of(clips["grain"])):
        # An independent fit on the frame alone: the same map up to sampling (and 4:2:0 of the grain).
        alone = imgot.transfer(frame, reference, method="linear", preserve_detail=False)
        assert np.abs(graded.astype(int) - alone).mean() < yuv420_error(alone) + 1.0


def test_no_flicker_where_a_per_frame_fit_flickers(clips, reference, tmp_path):
    out = tmp_path / "graded.mp4"
    video.transfer_video(clips["grain"], reference, out, method="emd", preserve_detail=False, n_clusters=16, crf=0)
    source = frames_of(clips["grain"])
    jitter_source = mean_lab(source).std(0).max()
    jitter_graded = mean_lab(frames_of(out)).std(0).max()
    per_frame = [imgot.transfer(frame, reference, method="emd", n_clusters=16) for frame in source]
    jitter_per_frame = mean_lab(per_frame).std(0).max()
    assert jitter_graded <= max(1.5 * jitter_source, 0.05)
    assert jitter_per_frame > 3 * jitter_graded


def test_per_shot_changes_the_map_exactly_at_the_cut(clips, reference, tmp_path):
    assert video.fit_video(clips["cut"], reference, method="linear").cuts == ()
    out = tmp_path / "shots.mp4"
    grade = video.transfer_video(clips["cut"], reference, out, method="linear", preserve_detail=False, per_shot=True, crf=0).grade
    assert grade.cuts == (15,) and len(grade.luts) == 2
    assert [grade.weights(i) for i in (0, 14, 15, 29)] == [[(0, 1.0)], [(0, 1.0)], [(1, 1.0)], [(1, 1.0)]]
    source, graded = frames_of(clips["cut"]), frames_of(out)
    for index, shot in ((14, 0), (15, 1)):
        expected = apply_lut_to_image(grade.luts[shot], source[index])
        right = np.abs(graded[index].astype(int) - expected).mean()
        wrong = np.abs(graded[index].astype(int) - apply_lut_to_image(grade.luts[1 - shot], source[index])).mean()
        assert right < yuv420_error(expected) + 0.25 and 3 * right < wrong


def test_crossfade_blends_only_when_asked(clips, reference):
    grade = video.fit_video(clips["cut"], reference, method="linear", per_shot=True, crossfade=4)
    assert grade.weights(12) == [(0, 1.0)] and grade.weights(17) == [(1, 1.0)]
    shares = [dict(grade.weights(i)).get(1, 0.0) for i in range(13, 17)]
    assert shares == pytest.approx([0.125, 0.375, 0.625, 0.875])
    table = grade.lut_at(14).table
    assert np.allclose(table, 0.375 * grade.luts[1].table + 0.625 * grade.luts[0].table, atol=1e-6)
    with pytest.raises(ValueError, match="per_shot"):
        video.fit_video(clips["cut"], reference, method="linear", crossfade=4)


def test_smooth_follows_a_drift_with_a_continuous_map(clips, reference):
    grade = video.fit_video(clips["drift"], reference, method="linear", smooth=0.3)
    assert len(grade.luts) >= 3
    tables = [grade.lut_at(i).table for i in range(30)]
    steps = [np.abs(b - a).max() for a, b in zip(tables, tables[1:])]
    total = np.abs(tables[-1] - tables[0]).max()
    assert total > 0.05  # the map does follow the drift
    assert max(steps) < total / 3  # in small steps, no jump
    middle = (grade.anchors[0] + grade.anchors[1]) / 2
    if middle == int(middle):  # halfway between two anchors: the mean of their maps
        assert np.allclose(grade.lut_at(int(middle)).table, (grade.luts[0].table + grade.luts[1].table) / 2, atol=1e-6)


def yuv420_10_roundtrip(rgb: np.ndarray) -> np.ndarray:
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb48le").reformat(
        format="yuv420p10le", dst_colorspace=1, dst_color_range=1)
    return frame.reformat(format="rgb48le", src_colorspace=1, src_color_range=1).to_ndarray()


def test_ten_bit_stays_ten_bit(clips, reference, tmp_path):
    out = tmp_path / "ten.mkv"
    result = video.transfer_video(clips["ten"], reference, out, method="linear", preserve_detail=False, crf=0)
    assert result.encoder.pix_fmt == "yuv420p10le" and reading.probe(out).bit_depth == 10
    source, graded = frames_of(clips["ten"]), frames_of(out)
    assert source[0].dtype == graded[0].dtype == np.uint16
    for frame, out_frame in zip(source, graded):
        expected = apply_lut_to_image(result.grade.luts[0], frame)
        codec_only = np.abs(yuv420_10_roundtrip(expected).astype(int) - expected).mean()
        assert np.abs(out_frame.astype(int) - expected).mean() < 1.5 * codec_only + 16  # steep chroma ramps

    # A tone curve keeps grays gray, so 4:2:0 loses nothing: what is left is the depth of the chain.
    grid = np.linspace(0, 1, 17)
    curve = imgot.mapping.ColorLUT(np.stack(np.meshgrid(grid, grid, grid, indexing="ij"), -1) ** 0.8)
    video.apply_lut_video(curve, clips["ten"], tmp_path / "curve.mkv", crf=0)
    for frame, out_frame in zip(source, frames_of(tmp_path / "curve.mkv")):
        expected = apply_lut_to_image(curve, frame).astype(int)
        # An 8-bit limited-range chain has 220 gray levels: about 170 over this ramp, 75 of error.
        eight_bit = np.abs(np.round(expected / 65535 * 219) / 219 * 65535 - expected).mean()
        assert np.abs(out_frame.astype(int) - expected).mean() < eight_bit / 1.5
        assert len(np.unique(out_frame[..., 1])) > 400


def test_image_sequence_output_is_upright(clips, reference, tmp_path):
    result = video.transfer_video(clips["pan"], reference, tmp_path / "f_%03d.png", method="linear", preserve_detail=False)
    files = sorted(tmp_path.glob("f_*.png"))
    assert len(files) == 30 and files[0].name == "f_001.png" and result.encoder is None
    assert imgot.read_image(files[0]).shape == (W, H, 3)  # the 90-degree display rotation applied


def test_webm_gets_vp9_and_opus(clips, reference, tmp_path):
    out = tmp_path / "graded.webm"
    result = video.transfer_video(clips["pan"], reference, out, method="linear", preserve_detail=False)
    assert result.encoder.codec == "libvpx-vp9" and reading.probe(out).audio == ("opus",)
    assert abs(audio_samples(out) - audio_samples(clips["pan"])) <= 960 * 2  # one opus frame of padding


def test_interrupted_run_leaves_no_file(clips, tmp_path):
    out = tmp_path / "stopped.mp4"

    def stop(rgb, index):
        if index == 5:
            raise KeyboardInterrupt
        return rgb

    with pytest.raises(KeyboardInterrupt):
        streaming.stream_video(clips["pan"], out, stop)
    assert list(tmp_path.iterdir()) == []


def test_an_input_is_never_written_over_through_a_hard_link(clips, reference, tmp_path):
    """The overwrite guard compares device and inode (atomic.refuse_inputs), not resolved names."""
    from imgot.exceptions import InputOverwriteError

    clip = tmp_path / "clip.mp4"
    clip.write_bytes(clips["pan"].read_bytes())
    before = clip.read_bytes()
    os.link(clip, tmp_path / "link.mp4")
    for call in (lambda: video.transfer_video(clip, reference, tmp_path / "link.mp4", method="linear", overwrite=True),
                 lambda: video.apply_lut_video(imgot.ColorTransfer(method="linear").fit(reference).color_lut(reference),
                                               clip, tmp_path / "link.mp4", overwrite=True),
                 lambda: streaming.stream_video(clip, tmp_path / "link.mp4", None, overwrite=True)):
        with pytest.raises(InputOverwriteError, match="is an input"):
            call()
    assert clip.read_bytes() == before


def test_encoder_choice_travels_as_one_object(clips, tmp_path):
    """check_encoder and choose_encoder read the same EncoderChoice the entry points build."""
    choice = EncoderChoice(codec="libx264", crf=23, preset="veryfast")
    settings = video.check_encoder(clips["pan"], tmp_path / "out.mkv", choice)
    assert (settings.codec, settings.options["crf"], settings.options["preset"]) == ("libx264", "23", "veryfast")
    with pytest.raises(ValueError, match="one of crf or bitrate"):
        video.check_encoder(clips["pan"], tmp_path / "out.mkv", EncoderChoice(crf=20, bitrate=10**6))
    with pytest.raises(ValueError, match="not image sequences"):
        video.check_encoder(clips["pan"], tmp_path / "f_%03d.png", EncoderChoice(preset="fast"))


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_cli_transfer_save_lut_then_apply(clips, tmp_path):
    ref = SAMPLES / "coffee.jpg"
    before = clips["pan"].read_bytes()
    result = run("transfer", clips["pan"], ref, "-o", tmp_path / "a.mp4", "--no-detail", "--save-lut", tmp_path / "g.cube",
                 "--method", "linear", "--crf", "0", "--preset", "ultrafast")
    assert result.exit_code == 0, result.output
    assert "encoded with libx264 yuv420p preset=ultrafast crf=0" in result.stderr
    applied = run("apply", tmp_path / "g.cube", clips["pan"], "-o", tmp_path / "b.mp4", "--crf", "0")
    assert applied.exit_code == 0, applied.output
    for a, b in zip(frames_of(tmp_path / "a.mp4"), frames_of(tmp_path / "b.mp4")):
        assert np.abs(a.astype(int) - b).mean() < 0.5
    lut = read_cube(tmp_path / "g.cube")
    assert np.abs(frames_of(tmp_path / "b.mp4")[3].astype(int)
                  - apply_lut_to_image(lut, frames_of(clips["pan"])[3])).mean() < 1.5
    assert clips["pan"].read_bytes() == before


def test_cli_bad_video_inputs_give_one_line(clips, tmp_path):
    truncated = tmp_path / "cut_short.mp4"
    truncated.write_bytes(clips["pan"].read_bytes()[:4000])
    text = tmp_path / "notes.mov"
    text.write_text("not a video")
    for source in (truncated, text, tmp_path / "missing.mkv"):
        result = run("transfer", source, SAMPLES / "coffee.jpg", "-o", tmp_path / "out.mp4")
        assert result.exit_code == 1 and result.output.count("\n") == 1 and result.output.startswith("Error:")
        assert source.name in result.output
    assert not (tmp_path / "out.mp4").exists()


@pytest.mark.parametrize("options", [["--crf", "18", "--bitrate", "2M"], ["--codec", "nope"],
                                     ["--preset", "fast", "--codec", "libvpx-vp9"], ["--bitrate", "fast"]])
def test_cli_bad_encoder_options_exit_2(clips, tmp_path, options):
    result = run("transfer", clips["pan"], SAMPLES / "coffee.jpg", "-o", tmp_path / "o.mp4", *options)
    assert result.exit_code == 2 and not (tmp_path / "o.mp4").exists()


def test_cli_video_options_refused_for_images(tmp_path):
    result = run("transfer", SAMPLES / "rocket.jpg", SAMPLES / "coffee.jpg", "-o", tmp_path / "o.jpg", "--per-shot")
    assert result.exit_code == 2 and "--per-shot" in result.output


def test_progress_line_shows_frames_fps_and_eta():
    from imgot.cli.video_options import Progress

    stream = io.StringIO()
    progress = Progress(stream, every=0)
    progress("grading", 0, 100)
    progress("grading", 50, 100)
    progress.close()
    last = stream.getvalue().split("\r")[-1]
    assert "grading 50/100 frames" in last and "fps" in last and "ETA" in last


def test_saved_cube_grades_like_ffmpeg_lut3d(clips, tmp_path):
    """The .cube handed to an editor: FFmpeg's own lut3d filter (through PyAV) gives the same colors."""
    import av.filter

    cube = tmp_path / "clip.cube"
    result = run("transfer", clips["pan"], SAMPLES / "coffee.jpg", "-o", tmp_path / "o.mp4", "--no-detail", "--save-lut", cube,
                 "--method", "linear", "--preset", "ultrafast")
    assert result.exit_code == 0, result.output
    frame = frames_of(clips["pan"])[7]
    graph = av.filter.Graph()
    source = graph.add_buffer(width=W, height=H, format="rgb24", time_base="1/25")
    lut3d = graph.add("lut3d", f"file={cube}:interp=trilinear")
    sink = graph.add("buffersink")
    source.link_to(lut3d)
    lut3d.link_to(sink)
    graph.configure()
    packet = av.VideoFrame.from_ndarray(frame, format="rgb24")
    packet.pts = 0
    graph.push(packet)
    by_ffmpeg = graph.pull().to_ndarray().astype(int)
    assert np.abs(by_ffmpeg - apply_lut_to_image(read_cube(cube), frame)).max() <= 1
    assert np.abs(by_ffmpeg - frame).mean() > 8


def test_detail_is_applied_per_frame(clips, reference, tmp_path):
    out = tmp_path / "detail.mkv"
    grade = video.transfer_video(clips["pan"], reference, out, method="linear", preserve_detail=True, crf=0).grade
    assert grade.preserve_detail
    plain = video.fit_video(clips["pan"], reference, method="linear", preserve_detail=False)
    source = frames_of(clips["pan"])[4]
    with_detail = next(f.rgb for f in video.iter_graded_frames(clips["pan"], grade) if f.index == 4)
    assert np.abs(with_detail.astype(int) - plain.grade(source, 4)).mean() > 0.2  # the detail step ran
    decoded = frames_of(out)[4]
    assert np.abs(decoded.astype(int) - with_detail).mean() < yuv420_error(with_detail) + 0.25


# Time stamps and odd clips: real files with chosen time stamps, decoded back and compared exactly.

def make_timed_clip(path: Path, times_ms, *, audio: bool = False, faststart: bool = False) -> Path:
    """An H.264 clip whose frame i is shown at times_ms[i] milliseconds (time base 1/1000), B-frames on."""
    picture = _picture("chelsea.jpg")
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as out:
        stream = out.add_stream("libx264", rate=FPS, time_base=Fraction(1, 1000),
                                options={"crf": "20", "preset": "ultrafast", "bframes": "2"})
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        sound = out.add_stream("aac", rate=48000, layout="stereo") if audio else None
        for index, ms in enumerate(times_ms):
            frame = av.VideoFrame.from_ndarray(_crop(picture, index / len(times_ms)), format="rgb24")
            frame.pts, frame.time_base = int(ms), Fraction(1, 1000)
            out.mux(stream.encode(frame.reformat(format="yuv420p")))
        out.mux(stream.encode(None))
        if sound is not None:  # from 0 s, whatever the video's start
            samples = int((times_ms[-1] + 40) * 48)
            for start in range(0, samples, 1024):
                tone = (0.2 * np.sin(2 * np.pi * 440 * (start + np.arange(1024)) / 48000)).astype(np.float32)
                block = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
                block.sample_rate, block.pts = 48000, start
                out.mux(sound.encode(block))
            out.mux(sound.encode(None))
    return path


def frame_times(path) -> list[Fraction]:
    """Each decoded frame's presentation time, exactly (pts times the stream's time base)."""
    with av.open(str(path)) as container:
        return [frame.pts * frame.time_base for frame in container.decode(video=0)]


def stream_starts(path) -> dict[str, Fraction]:
    """The first packet time of the video and audio streams, exactly."""
    starts: dict[str, Fraction] = {}
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.pts is not None:
                kind = packet.stream.type
                starts[kind] = min(starts.get(kind, packet.pts * packet.time_base), packet.pts * packet.time_base)
    return starts


# Bursts at 60 fps with long gaps: the average rate (about 13 fps) puts several frames on one tick.
BURSTS = [burst * 250 + round(k * 1000 / 60) for burst in range(5) for k in range(6)]
DROPPED = [i * 40 for i in range(30) if i % 5 != 3]  # 25 fps, every fifth frame dropped
JITTER = [round(i * 40 + 6 * np.sin(1.7 * i)) for i in range(30)]  # 25 fps, +-6 ms of jitter


@pytest.mark.parametrize("name, times, suffix", [("bursts", BURSTS, ".mp4"), ("dropped", DROPPED, ".mp4"),
                                                 ("jitter", JITTER, ".mkv")])
def test_variable_frame_rate_keeps_every_time_stamp(reference, tmp_path, name, times, suffix):
    clip = make_timed_clip(tmp_path / f"{name}{suffix}", times)
    expected = [Fraction(ms, 1000) for ms in times]
    assert frame_times(clip) == expected
    graded = tmp_path / f"graded{suffix}"
    video.transfer_video(clip, reference, graded, method="linear", preserve_detail=False, preset="ultrafast")
    assert frame_times(graded) == expected
    identity = imgot.mapping.ColorLUT(np.stack(np.meshgrid(*[np.linspace(0, 1, 2)] * 3, indexing="ij"), -1))
    applied = tmp_path / f"applied{suffix}"
    video.apply_lut_video(identity, clip, applied, preset="ultrafast")
    assert frame_times(applied) == expected


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_start_offset_keeps_audio_in_sync(reference, tmp_path, suffix):
    clip = make_timed_clip(tmp_path / "late.mkv", [21 + 40 * i for i in range(20)], audio=True)
    before = stream_starts(clip)
    assert before["video"] == Fraction(21, 1000) and before["audio"] <= 0  # AAC's priming starts before 0
    graded = tmp_path / f"graded{suffix}"
    result = video.transfer_video(clip, reference, graded, method="linear", preserve_detail=False, preset="ultrafast")
    assert "audio aac copied" in result.notes
    assert stream_starts(graded) == before
    assert frame_times(graded) == frame_times(clip)


def test_truncated_clip_is_an_error_and_nothing_is_written(tmp_path):
    whole = make_timed_clip(tmp_path / "whole.mp4", [40 * i for i in range(40)], faststart=True)
    data = whole.read_bytes()
    assert data[4:8] == b"ftyp" and data.index(b"moov") < data.index(b"mdat")  # the index comes first
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    from imgot.cube import write_cube

    identity = imgot.mapping.ColorLUT(np.stack(np.meshgrid(*[np.linspace(0, 1, 2)] * 3, indexing="ij"), -1))
    write_cube(tmp_path / "id.cube", identity)
    for command in (["transfer", cut, SAMPLES / "coffee.jpg"], ["apply", tmp_path / "id.cube", cut]):
        result = run(*command, "-o", tmp_path / "out.mp4", "--preset", "ultrafast")
        assert result.exit_code == 1, result.output
        assert result.output.count("\n") == 1 and "truncated" in result.output and "of the 40 frames" in result.output
        assert not (tmp_path / "out.mp4").exists()
    # The same clip, whole, grades (its frame count is the one declared).
    assert run("transfer", whole, SAMPLES / "coffee.jpg", "-o", tmp_path / "out.mp4", "--preset", "ultrafast",
               "--no-detail").exit_code == 0


def test_a_jpeg_named_mp4_is_a_photo(tmp_path):
    fake = tmp_path / "photo.mp4"
    fake.write_bytes((SAMPLES / "rocket.jpg").read_bytes())
    result = run("transfer", fake, SAMPLES / "coffee.jpg", "-o", tmp_path / "out.png", "--no-detail", "--method", "linear")
    assert result.exit_code == 0, result.output
    expected = imgot.transfer(_picture("rocket.jpg"), _picture("coffee.jpg"), method="linear", preserve_detail=False)
    assert np.array_equal(imgot.read_image(tmp_path / "out.png")[..., :3], expected)
    with pytest.raises(imgot.exceptions.VideoReadError, match="a MJPEG image, not a video"):
        reading.probe(fake)


def test_clip_cube_with_preserve_detail_reproduces_the_graded_clip(clips, tmp_path):
    cube, ref = tmp_path / "grade.cube", SAMPLES / "coffee.jpg"
    codec = ["--crf", "0", "--preset", "ultrafast"]
    result = run("transfer", clips["pan"], ref, "-o", tmp_path / "graded.mkv", "--save-lut", cube, "--method", "emd",
                 "--clusters", "16", *codec)
    assert result.exit_code == 0, result.output
    assert "note: grade.cube holds the color map only; the detail step" in result.stderr
    assert "imgot apply --preserve-detail adds it back" in result.stderr
    for name, flags in (("with.mkv", ["--preserve-detail"]), ("without.mkv", [])):
        applied = run("apply", cube, clips["pan"], "-o", tmp_path / name, *flags, *codec)
        assert applied.exit_code == 0, applied.output
    graded, source = frames_of(tmp_path / "graded.mkv"), frames_of(clips["pan"])
    with_detail, without = frames_of(tmp_path / "with.mkv"), frames_of(tmp_path / "without.mkv")
    assert len(graded) == len(with_detail) == len(without) == 30
    from_cube = video.ClipGrade([read_cube(cube)], np.zeros(1), np.zeros(1, int), preserve_detail=True)
    for frame, a, b, c in zip(source, graded, with_detail, without):
        expected = from_cube.grade(frame, 0)
        codec_error = yuv420_error(expected)  # what the lossless 4:2:0 encode loses on this frame
        assert np.abs(a.astype(int) - b).mean() <= codec_error
        assert np.abs(b.astype(int) - expected).mean() < codec_error + 0.25
        assert np.abs(a.astype(int) - c).mean() > codec_error  # the LUT alone is not the graded clip


def test_unwritable_save_lut_folder_fails_before_encoding(clips, tmp_path):
    out, cube = tmp_path / "graded.mp4", tmp_path / "missing" / "grade.cube"
    result = run("transfer", clips["pan"], SAMPLES / "coffee.jpg", "-o", out, "--save-lut", cube)
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert result.output.startswith("Error:") and "missing: no such folder" in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_encoder_without_the_source_time_base_rounds_to_the_frame_rate_and_says_so(reference, tmp_path):
    clip = make_timed_clip(tmp_path / "dropped.ts", DROPPED[:12])  # MPEG-TS: time base 1/90000
    out = tmp_path / "graded.mkv"
    result = video.transfer_video(clip, reference, out, method="linear", preserve_detail=False, codec="mpeg4")
    assert any("time stamps rounded to 1/" in note and "1/90000" in note for note in result.notes)
    source, graded = frame_times(clip), frame_times(out)
    assert len(graded) == len(source) and graded == sorted(set(graded))  # every frame, strictly in order
    assert max(abs(a - b) for a, b in zip(graded, source)) <= Fraction(1, 2 * FPS)


def test_yuv_route_through_the_pipeline_matches_the_rgb_route(clips, reference, tmp_path):
    """The direct Y, U, V route of stream_video (long 8-bit 4:2:0 clips take it) against the RGB route, decoded back."""
    lut = imgot.ColorTransfer(method="linear").fit(reference).color_lut(frames_of(clips["pan"])[0])
    info = reading.probe(clips["pan"])
    grade = video.ClipGrade([lut], np.zeros(1), np.zeros(1, int), n_frames=info.n_frames)
    routes = {"yuv": grading._yuv420_route([lut], lambda index: 0, info), "rgb": None}
    for name, route in routes.items():
        streaming.stream_video(clips["pan"], tmp_path / f"{name}.mkv", grade.grade,
                               encoder=EncoderChoice(crf=0, preset="ultrafast"), yuv420_function=route)
    yuv, rgb = frames_of(tmp_path / "yuv.mkv"), frames_of(tmp_path / "rgb.mkv")
    assert len(yuv) == len(rgb) == 30
    for a, b in zip(yuv, rgb):
        assert np.abs(a.astype(int) - b).mean() < yuv420_error(b) + 0.5
        assert not np.array_equal(a, b)  # two routes really ran


def test_clip_grade_pickles_for_other_processes(clips, reference):
    import pickle

    grade = video.fit_video(clips["cut"], reference, method="linear", per_shot=True, crossfade=4)
    grade.lut_at(14)  # a cached blend and a lock, neither of which travels
    again = pickle.loads(pickle.dumps(grade))
    frame = frames_of(clips["cut"])[14]
    assert again.weights(14) == grade.weights(14)
    assert np.array_equal(again.grade(frame, 14), grade.grade(frame, 14))
