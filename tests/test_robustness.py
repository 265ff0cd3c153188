"""Bad and odd inputs through every command, in real subprocesses.

A corpus of files is generated once per module (odd modes and bit depths,
truncated and zero-byte files, wrong extensions, a truncated animated GIF, a bomb-sized
header, corrupted LUTs). The bulk of the cases runs in one subprocess that
calls the real ``imgot`` entry point once per case (a Python start per case
would cost ~1-2 s each); a representative subset runs as separate ``imgot``
executables. Every case asserts: the documented exit code (0 ok, 1 file or
data error, 2 bad option value), no traceback on stderr, one ``Error:`` line
on failure, and every input byte-identical afterwards; good cases also check
the output's mode, bit depth, size and alpha read back from the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
import png
import pytest
import tifffile
from PIL import Image

from imgot.io import read_image

IMGOT = shutil.which("imgot", path=str(Path(sys.executable).parent)) or "imgot"
FAST = ["--method", "linear"]  # the map does not matter here; the input and output gates do

# One subprocess, many cases: call the CLI's main() per case, record exit code,
# stderr and whether an exception escaped it (a traceback).
DRIVER = r"""
import contextlib, io, json, sys, traceback
from imgot.cli import main
results = []
for args in json.load(open(sys.argv[1])):
    err, out = io.StringIO(), io.StringIO()
    code, escaped = 0, None
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            main(args, prog_name="imgot", standalone_mode=True)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        except BaseException:
            escaped = traceback.format_exc()
    results.append({"code": code, "stderr": err.getvalue(), "stdout": out.getvalue(), "escaped": escaped})
json.dump(results, open(sys.argv[2], "w"))
"""


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width x height (a decompression bomb by its header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def _good_inputs(folder: Path, rng) -> dict[str, dict]:
    """Readable odd inputs: name -> what the output must be (dtype, channels)."""
    h, w = 24, 30
    rgb = (rng.random((h, w, 3)) * 255).astype(np.uint8)
    alpha = np.where(rng.random((h, w)) > 0.4, 255, 0).astype(np.uint8)
    alpha[0, :4] = [0, 10, 128, 250]
    gray = rgb[..., 0]
    files = {}
    Image.fromarray(rgb).save(folder / "rgb8.png"); files["rgb8.png"] = ("uint8", 3, True)
    Image.fromarray(rgb).save(folder / "rgb8.jpg", quality=95); files["rgb8.jpg"] = ("uint8", 3, False)
    Image.fromarray(gray).save(folder / "gray8.png"); files["gray8.png"] = ("uint8", 1, True)
    Image.fromarray(np.dstack([gray, alpha])).save(folder / "la8.png"); files["la8.png"] = ("uint8", 2, True)
    Image.fromarray(np.dstack([rgb, alpha])).save(folder / "rgba8.png"); files["rgba8.png"] = ("uint8", 4, True)
    Image.fromarray(np.dstack([rgb, alpha])).save(folder / "rgba8.webp", lossless=True)
    files["rgba8.webp"] = ("uint8", 4, False)  # written back lossy (quality 95)
    pal = Image.fromarray(rgb).quantize(16)
    pal.info["transparency"] = 0
    pal.save(folder / "p_trns.png", transparency=0); files["p_trns.png"] = ("uint8", 4, True)
    Image.fromarray(rgb).convert("1").save(folder / "bilevel.png"); files["bilevel.png"] = ("uint8", 1, True)
    Image.fromarray(rgb).convert("CMYK").save(folder / "cmyk.jpg"); files["cmyk.jpg"] = ("uint8", 3, False)
    big = (rng.random((h, w, 4)) * 65535).astype(np.uint16)
    big[..., 3] = np.where(alpha > 0, 65535, 0)
    png.from_array(big[..., :3].reshape(h, -1), mode="RGB;16").save(folder / "rgb16.png")
    files["rgb16.png"] = ("uint16", 3, True)
    png.from_array(big.reshape(h, -1), mode="RGBA;16").save(folder / "rgba16.png")
    files["rgba16.png"] = ("uint16", 4, True)
    png.from_array(big[..., 0], mode="L;16").save(folder / "gray16.png"); files["gray16.png"] = ("uint16", 1, True)
    png.from_array(big[..., [0, 3]].reshape(h, -1), mode="LA;16").save(folder / "la16.png")
    files["la16.png"] = ("uint16", 2, True)
    tifffile.imwrite(folder / "rgb16.tif", big[..., :3], photometric="rgb"); files["rgb16.tif"] = ("uint16", 3, True)
    tifffile.imwrite(folder / "gray_f32.tif", rng.random((h, w)).astype(np.float32))
    files["gray_f32.tif"] = ("float32", 1, True)
    Image.fromarray(rgb[:1]).save(folder / "row_1xN.png"); files["row_1xN.png"] = ("uint8", 3, True)
    Image.fromarray(rgb[:, :1]).save(folder / "col_Nx1.png"); files["col_Nx1.png"] = ("uint8", 3, True)
    shutil.copy(folder / "rgb8.png", folder / "png_named.jpg"); files["png_named.jpg"] = ("uint8", 3, False)
    return {name: {"dtype": d, "channels": c, "lossless": lossless} for name, (d, c, lossless) in files.items()}


def _bad_inputs(folder: Path, rng) -> list[str]:
    """Unreadable inputs: each must give exit 1 and one line."""
    data = (folder / "rgb8.png").read_bytes()
    jpeg = (folder / "rgb8.jpg").read_bytes()
    (folder / "zero.png").write_bytes(b"")
    for cut in (8, 40, len(data) // 2, len(data) * 3 // 4):
        (folder / f"cut{cut}.png").write_bytes(data[:cut])
    (folder / "cut_half.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (folder / "text.png").write_text("not an image at all\n")
    (folder / "bomb.png").write_bytes(_png_header_only(100_000, 100_000))
    (folder / "float_hdr.tif").write_bytes(b"")
    tifffile.imwrite(folder / "float_hdr.tif", (rng.random((8, 8)) * 40).astype(np.float32))
    frames = [Image.fromarray((rng.random((12, 12, 3)) * 255).astype(np.uint8)) for _ in range(3)]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:], duration=[50, 80, 120], loop=0)
    gif = (folder / "animated.gif").read_bytes()  # read whole by transfer, apply and batch (tests/test_frames.py)
    (folder / "animated.gif").unlink()
    (folder / "animated_cut.gif").write_bytes(gif[: len(gif) * 2 // 3])
    (folder / "missing_dir").mkdir()
    return ["zero.png", *(f"cut{c}.png" for c in (8, 40, len(data) // 2, len(data) * 3 // 4)), "cut_half.jpg",
            "text.png", "bomb.png", "float_hdr.tif", "animated_cut.gif", "does_not_exist.png", "missing_dir"]


def _luts(folder: Path) -> tuple[list[str], list[str]]:
    from imgot.cube import write_cube
    from imgot.mapping import ColorLUT, _lattice

    write_cube(folder / "identity.cube", ColorLUT(_lattice(17).reshape(17, 17, 17, 3)))
    text = (folder / "identity.cube").read_bytes()
    (folder / "bom.cube").write_bytes(b"\xef\xbb\xbf" + text)
    (folder / "latin1.cube").write_bytes(b'TITLE "R\xe9solution caf\xe9"\n' + text)
    (folder / "cut.cube").write_bytes(text[: len(text) // 2])
    (folder / "binary.cube").write_bytes(b"\0\1\2" * 50)
    (folder / "oned.cube").write_text("LUT_1D_SIZE 2\n0 0 0\n1 1 1\n")
    (folder / "empty.cube").write_bytes(b"")
    return ["identity.cube", "bom.cube", "latin1.cube"], ["cut.cube", "binary.cube", "oned.cube", "empty.cube"]


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(17)
    good = _good_inputs(folder, rng)
    bad = _bad_inputs(folder, rng)
    good_luts, bad_luts = _luts(folder)
    ref = (rng.random((20, 26, 3)) * [90, 140, 255]).astype(np.uint8)
    Image.fromarray(ref).save(folder / "ref.png")
    os.symlink(folder / "rgb8.png", folder / "link.png")
    os.link(folder / "rgb8.png", folder / "hard.png")
    return {"dir": folder, "good": good, "bad": bad, "good_luts": good_luts, "bad_luts": bad_luts}


def _run_many(cases: list[list[str]], tmp: Path) -> list[dict]:
    cases_file, results_file = tmp / "cases.json", tmp / "results.json"
    cases_file.write_text(json.dumps(cases))
    subprocess.run([sys.executable, "-c", DRIVER, str(cases_file), str(results_file)], check=True,
                   timeout=600, env={**os.environ, "PYTHONWARNINGS": "default"})
    return json.loads(results_file.read_text())


def _check(case, result, expected: set[int]) -> None:
    where = " ".join(case)
    assert result["escaped"] is None, f"{where}: exception escaped\n{result['escaped']}"
    assert "Traceback" not in result["stderr"], f"{where}: traceback\n{result['stderr']}"
    assert "unexpected" not in result["stderr"], f"{where}: {result['stderr']}"
    assert result["code"] in expected, f"{where}: exit {result['code']}, expected {expected}\n{result['stderr']}"
    if result["code"] != 0:
        errors = [line for line in result["stderr"].splitlines() if line.startswith("Error:")]
        assert len(errors) == 1, f"{where}: {result['stderr']}"


def _cases(corpus, out: Path) -> list[tuple[list[str], set[int], dict | None]]:
    """(argv, allowed exit codes, output check) for every case class."""
    d = corpus["dir"]
    ref = str(d / "ref.png")
    cases = []
    # 1. every good input as SOURCE: exit 0; output keeps dtype, channels, size; --strength 0 is exact.
    for name, spec in corpus["good"].items():
        ext = ".tif" if spec["dtype"] == "float32" else Path(name).suffix
        if Path(name).suffix == ".jpg" or name == "bilevel.png":
            ext = ".png" if name != "cmyk.jpg" else ".jpg"
        target = out / f"t_{name}{ext}"
        cases.append((["transfer", str(d / name), ref, "-o", str(target), *FAST], {0},
                      {"output": target, "source": name, "identity": False}))
        if spec["lossless"]:
            target = out / f"s0_{name}{ext}"
            cases.append((["transfer", str(d / name), ref, "-o", str(target), "--strength", "0", *FAST], {0},
                          {"output": target, "source": name, "identity": True}))
    # 2. every good input as REFERENCE: exit 0.
    for name in corpus["good"]:
        cases.append((["transfer", str(d / "rgb8.png"), str(d / name), "-o", str(out / f"r_{name}.png"), *FAST],
                      {0}, None))
    # 3. every bad input as SOURCE, as REFERENCE, to apply, evaluate: exit 1.
    for name in corpus["bad"]:
        bad = str(d / name)
        cases += [(["transfer", bad, ref, "-o", str(out / "never.png"), *FAST], {1, 2}, None),
                  (["transfer", str(d / "rgb8.png"), bad, "-o", str(out / "never.png"), *FAST], {1, 2}, None),
                  (["apply", str(d / "identity.cube"), bad, "-o", str(out / "never_dir")], {1, 2}, None),
                  (["evaluate", str(d / "rgb8.png"), ref, bad], {1, 2}, None)]
    # 4. LUTs: identity (plain, BOM, Latin-1 title) over every lossless good input gives the input back.
    for lut in corpus["good_luts"]:
        folder = out / f"apply_{Path(lut).stem}"
        lossless = [name for name, spec in corpus["good"].items() if spec["lossless"] and name != "bilevel.png"]
        cases.append((["apply", str(d / lut), *(str(d / n) for n in lossless), "-o", str(folder)], {0},
                      {"apply_dir": folder, "names": lossless}))
    for lut in corpus["bad_luts"]:
        cases.append((["apply", str(d / lut), str(d / "rgb8.png"), "-o", str(out / "never_dir")], {1}, None))
    # 5. transparency and tiny images through compare/evaluate (histogram on masked pixels, SSIM window).
    for name in ("la8.png", "p_trns.png", "rgba8.png", "rgba16.png", "rgba8.webp", "la16.png"):
        cases.append((["compare", str(d / name), ref, "-o", str(out / f"c_{name}.png"), "--width", "64",
                       "--methods", "histogram,histogram-linear-histogram"], {0}, None))
    tiny = out / "tiny5.png"
    Image.fromarray(np.full((5, 5, 3), 90, np.uint8)).save(tiny)
    cases += [(["evaluate", str(tiny), ref, str(tiny)], {0}, None),
              (["evaluate", str(d / "row_1xN.png"), ref, str(d / "row_1xN.png")], {0}, None)]
    # 6. bad option values: exit 2 everywhere.
    src = str(d / "rgb8.png")
    for option in (["--strength", "nan"], ["--strength", "1.5"], ["--reg", "nan"], ["--reg", "-1"],
                   ["--reg-m", "nan"], ["--seed", "-1"], ["--seed", str(2**70)], ["--clusters", "0"],
                   ["--method", "nope"], ["--quality", "0"], ["--color-space", "xyz"]):
        cases.append((["transfer", src, ref, "-o", str(out / "never.png"), *option], {2}, None))
    for option in (["--format", "xyz"], ["--format", "psd"], ["--strength", "nan"], ["--seed", "-1"],
                   ["--jobs", "0"], ["--failures", str(out / "f.txt")]):
        cases.append((["batch", src, "-r", ref, "-o", str(out / "never_batch"), *option], {2}, None))
    cases += [(["transfer", src, ref, "-o", str(out / "x.psd")], {2}, None),
              (["transfer", src, ref, "-o", str(out / "x.unknownext")], {2}, None),
              (["plan", src, ref, "-o", str(out / "p.png"), "--size", "30000x30000"], {2}, None),
              (["plan", src, ref, "-o", str(out / "p.png"), "--size", "axb"], {2}, None),
              (["compare", src, ref, "-o", str(out / "c.png"), "--width", "20000"], {2}, None),
              (["compare", src, ref, "-o", str(out / "c.png"), "--seed", "-1"], {2}, None),
              (["distance", src, ref, "--seed", "-1"], {2}, None),
              (["distance", src, ref, "--reg", "nan"], {2}, None),
              (["morph", src, ref, "-o", str(out / "m.gif"), "--seed", "-1"], {2}, None),
              (["morph", src, ref, "-o", str(out / "m.gif"), "--spatial", "--size", "99999x2"], {2}, None)]
    # 7. an input is never written over, --overwrite or not (same path, symlink, hard link).
    for alias in ("rgb8.png", "link.png", "hard.png"):
        cases += [(["transfer", src, ref, "-o", str(d / alias), "--overwrite"], {1}, None),
                  (["transfer", str(d / alias), ref, "-o", src, "--overwrite"], {1}, None),
                  (["compare", src, ref, "-o", str(d / alias), "--overwrite", "--methods", "linear"], {1}, None),
                  (["plan", src, ref, "-o", str(out / "pp.png"), "--csv", str(d / alias), "--overwrite"], {1}, None),
                  (["distance", src, ref, "--pairwise", str(d / alias), "--overwrite"], {1}, None),
                  (["transfer", src, ref, "-o", str(out / "ok.png"), "--save-lut", str(d / alias),
                    "--overwrite"], {1, 2}, None)]
    cases += [(["apply", str(d / "identity.cube"), src, "-o", str(d), "--overwrite"], {1}, None),
              (["morph", src, ref, "-o", str(d / "rgb8.png"), "--overwrite", "--frames", "2"], {1}, None)]
    # 8. unwritable outputs (EACCES even for root: /sys), one line each.
    cases += [(["transfer", src, ref, "-o", "/sys/imgot.png", *FAST], {1}, None),
              (["transfer", src, ref, "-o", str(out / "l.png"), "--save-lut", "/sys/imgot.cube", *FAST], {1}, None),
              (["apply", str(d / "identity.cube"), src, "-o", "/sys/imgot_dir"], {1}, None),
              (["compare", src, ref, "-o", "/sys/imgot.png", "--methods", "linear", "--width", "64"], {1}, None),
              (["plan", src, ref, "-o", "/sys/imgot.png"], {1}, None),
              (["distance", src, ref, "--pairwise", "/sys/imgot.csv"], {1}, None),
              (["batch", src, "-r", ref, "-o", "/sys/imgot_out", *FAST], {1}, None),
              (["transfer", src, ref, "-o", str(out / "no_such_dir" / "x.png"), *FAST], {1}, None)]
    # 9. odd method parameters that used to escape as tracebacks.
    cases += [(["transfer", src, ref, "-o", str(out / "u.png"), "--method", "unbalanced", "--reg-m", "inf"],
               {0}, None)]
    return cases


@pytest.mark.slow  # a subprocess
def test_every_command_on_bad_and_odd_inputs(corpus, tmp_path):
    before = _digest(corpus["dir"])
    cases = _cases(corpus, tmp_path)
    results = _run_many([argv for argv, _, _ in cases], tmp_path)
    assert len(results) == len(cases)
    for (argv, expected, check), result in zip(cases, results):
        _check(argv, result, expected)
        if check is None:
            continue
        if "apply_dir" in check:
            for name in check["names"]:
                got, want = read_image(check["apply_dir"] / name), read_image(corpus["dir"] / name)
                assert got.dtype == want.dtype and got.shape == want.shape, name
                if want.dtype.kind == "f":  # a float through a float32 LUT: exact to float32 interpolation
                    assert np.allclose(got, want, rtol=0, atol=1e-5), name
                else:
                    assert np.array_equal(got, want), name
            continue
        source = read_image(corpus["dir"] / check["source"])
        output = read_image(check["output"])
        spec = corpus["good"][check["source"]]
        assert output.dtype == np.dtype(spec["dtype"]), argv
        channels = 1 if output.ndim == 2 else output.shape[2]
        assert channels == spec["channels"] and output.shape[:2] == source.shape[:2], argv
        if spec["channels"] in (2, 4):  # alpha passes through untouched
            assert np.array_equal(output[..., -1], source[..., -1]), argv
        if check["identity"]:
            assert np.array_equal(output, source), argv
    assert _digest(corpus["dir"]) == before, "an input changed"
    print(f"robustness: {len(cases)} cases")


@pytest.mark.slow  # a subprocess
def test_representative_cases_as_separate_processes(corpus, tmp_path):
    """The installed ``imgot`` executable, one process per case, as a user runs it."""
    d = corpus["dir"]
    before = _digest(d)
    src, ref = str(d / "rgb8.png"), str(d / "ref.png")
    cases = [(["transfer", str(d / "la16.png"), ref, "-o", str(tmp_path / "la16.png"), "--strength", "0"], 0),
             (["transfer", str(d / "animated_cut.gif"), ref, "-o", str(tmp_path / "a.gif")], 1),
             (["transfer", src, ref, "-o", str(d / "hard.png"), "--overwrite"], 1),
             (["transfer", src, ref, "--strength", "nan"], 2),
             (["batch", src, "-r", ref, "-o", str(tmp_path / "b"), "--format", "xyz"], 2)]
    for argv, code in cases:
        done = subprocess.run([IMGOT, *argv], capture_output=True, text=True, timeout=120)
        assert done.returncode == code, (argv, done.stderr)
        assert "Traceback" not in done.stderr, (argv, done.stderr)
    assert np.array_equal(read_image(tmp_path / "la16.png"), read_image(d / "la16.png"))
    assert _digest(d) == before


@pytest.mark.slow  # a subprocess
def test_default_output_in_a_read_only_folder(corpus):
    """``imgot transfer SRC REF`` next to a source in a folder the user cannot write: one line, exit 1."""
    folder = Path(tempfile.mkdtemp(prefix="imgot_ro_"))
    try:
        shutil.copy(corpus["dir"] / "rgb8.png", folder / "src.png")
        shutil.copy(corpus["dir"] / "ref.png", folder / "ref.png")
        folder.chmod(0o555)
        # root writes anywhere: run as an unprivileged user so the folder is really read-only
        prefix = []
        if os.geteuid() == 0:
            if not shutil.which("setpriv"):
                pytest.skip("running as root without setpriv: no way to make a folder read-only")
            prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            # The unprivileged user must reach this checkout's interpreter (a clone under a
            # private 0700 folder is out of its reach): otherwise this case cannot be run here.
            probe = subprocess.run([*prefix, IMGOT, "--version"], capture_output=True, timeout=60, cwd="/")
            if probe.returncode != 0:
                pytest.skip("the unprivileged user cannot run this checkout's Python")
        done = subprocess.run([*prefix, IMGOT, "transfer", str(folder / "src.png"), str(folder / "ref.png"),
                               *FAST], capture_output=True, text=True, timeout=120, cwd="/")
        assert done.returncode == 1, done.stderr
        assert done.stderr.startswith("Error:") and "Traceback" not in done.stderr
        assert "Permission denied" in done.stderr
        assert sorted(p.name for p in folder.iterdir()) == ["ref.png", "src.png"]  # no temp file left
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)
