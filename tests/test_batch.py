import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from imgot import ColorTransfer, read_image, write_image
from imgot.batch import pooled_sample, transfer_many
from imgot.cli.batch import batch
from imgot.cube import read_cube
from imgot.methods import METHOD_NAMES
from imgot.transfer import LUTTransform

PARAMS = {"n_clusters": 8, "random_state": 3}


@pytest.fixture
def frames(tmp_path, warm, cool, rocket):
    """in/ with a nested folder: two identical frames, a noisy copy, a photo; and a reference."""
    noisy = np.clip(warm.astype(int) + np.random.default_rng(0).integers(-9, 9, warm.shape), 0, 255)
    images = {"f001.png": warm, "f002.png": warm, "f003.png": noisy.astype(np.uint8),
              "sub/deeper/photo.png": rocket}
    for name, image in images.items():
        (tmp_path / "in" / name).parent.mkdir(parents=True, exist_ok=True)
        write_image(tmp_path / "in" / name, image)
    write_image(tmp_path / "ref.png", cool)
    return tmp_path / "in", tmp_path / "ref.png", images


def run(*args):
    return CliRunner().invoke(batch, [str(a) for a in args])


def digests(folder):
    """{relative path: sha256} of every file under `folder`."""
    files = (p for p in Path(folder).rglob("*") if p.is_file())
    return {p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_per_image_equals_transform_and_keeps_structure(frames, tmp_path, cool):
    folder, ref, images = frames
    results = list(transfer_many(folder, ref, tmp_path / "out", jobs=2, **PARAMS))
    assert sorted(r.status for r in results) == ["done"] * 4
    model = ColorTransfer(**PARAMS).fit(cool)
    for name, image in images.items():
        assert (read_image(tmp_path / "out" / name) == model.transform(image)).all(), name


@pytest.mark.parametrize("fit_on", ["first", "pooled", "file"])
def test_fit_on_gives_one_lut_for_all(frames, tmp_path, cool, fit_on):
    folder, ref, images = frames
    model = ColorTransfer(**PARAMS).fit(cool)
    paths = sorted(folder.rglob("*.png"))
    fit_image = {"first": images["f001.png"], "file": images["sub/deeper/photo.png"],
                 "pooled": pooled_sample(paths, random_state=3)}[fit_on]
    fitted = LUTTransform.from_model(model, fit_image)
    arg = folder / "sub/deeper/photo.png" if fit_on == "file" else fit_on
    results = list(transfer_many(folder, ref, tmp_path / "out", fit_on=arg, jobs=2, **PARAMS))
    assert {r.status for r in results} == {"done"}
    for name, image in images.items():
        assert (read_image(tmp_path / "out" / name) == fitted.transform(image)).all(), name
    assert (read_image(tmp_path / "out/f001.png") == read_image(tmp_path / "out/f002.png")).all()


def test_fit_on_outputs_stay_identical_once_workers_bake_the_lut(tmp_path, rocket, cool):
    from imgot.scheduling import BAKE_AFTER

    rng = np.random.default_rng(5)
    count = 2 * BAKE_AFTER + 3  # one worker maps well past the point where it bakes
    (tmp_path / "in").mkdir()
    for index in range(count):
        noise = rng.integers(-40, 40, rocket.shape)
        write_image(tmp_path / "in" / f"frame{index:03d}.png", np.clip(rocket + noise, 0, 255).astype(np.uint8))
    write_image(tmp_path / "ref.png", cool)
    results = list(transfer_many(tmp_path / "in", tmp_path / "ref.png", tmp_path / "out", fit_on="first",
                                 jobs=1, **PARAMS))
    assert [r.status for r in results] == ["done"] * count
    fitted = LUTTransform.from_model(ColorTransfer(**PARAMS).fit(cool), read_image(tmp_path / "in/frame000.png"))
    for index in range(count):
        name = f"frame{index:03d}.png"
        expected = fitted.transform(read_image(tmp_path / "in" / name))
        assert (read_image(tmp_path / "out" / name) == expected).all(), name


def test_resume_skips_and_overwrite_redoes(frames, tmp_path):
    folder, ref, _ = frames
    out = tmp_path / "out"
    first = run(folder, "-r", ref, "-o", out, "--clusters", 8, "--jobs", 1)
    assert first.exit_code == 0, first.output
    assert "done 4, skipped 0, failed 0" in first.output
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}
    again = run(folder, "-r", ref, "-o", out, "--clusters", 8)
    assert again.exit_code == 0 and "done 0, skipped 4, failed 0" in again.output
    assert stamps == {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}
    redo = run(folder, "-r", ref, "-o", out, "--clusters", 8, "--overwrite")
    assert redo.exit_code == 0 and "done 4, skipped 0" in redo.output
    assert not (out / "imgot_failures.csv").exists()


def test_glob_and_format_keep_names(frames, tmp_path):
    folder, ref, _ = frames
    result = run(f"{folder}/**/*.png", "-r", ref, "-o", tmp_path / "out", "--format", "jpg", "--clusters", 4)
    assert result.exit_code == 0, result.output
    found = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*.jpg"))
    assert found == ["f001.jpg", "f002.jpg", "f003.jpg", "sub/deeper/photo.jpg"]


@pytest.mark.parametrize("report", ["default", "failures.json"])
def test_bad_files_are_reported_and_inputs_untouched(frames, tmp_path, report):
    folder, ref, _ = frames
    good = (folder / "f001.png").read_bytes()
    (folder / "truncated.png").write_bytes(good[: len(good) // 2])
    (folder / "notes.jpg").write_text("not an image")
    before = digests(folder)
    extra = [] if report == "default" else ["--failures", tmp_path / report]
    result = run(folder, "-r", ref, "-o", tmp_path / "out", "--clusters", 8, *extra)
    assert result.exit_code == 1 and "done 4, skipped 0, failed 2" in result.output
    assert digests(folder) == before
    if report == "default":
        with open(tmp_path / "out/imgot_failures.csv", newline="") as stream:
            rows = list(csv.DictReader(stream))
    else:
        rows = json.loads((tmp_path / report).read_text())
    reasons = {Path(row["path"]).name: row["reason"] for row in rows}
    assert set(reasons) == {"truncated.png", "notes.jpg"}
    assert "not an image" in reasons["notes.jpg"] and "cannot read image" in reasons["truncated.png"]


def test_user_errors_are_one_line(frames, tmp_path):
    folder, ref, _ = frames
    for args in ([folder, "-r", tmp_path / "missing.png"], [tmp_path / "empty_*.png", "-r", ref],
                 [folder, "-r", ref, "--scheduler", "tcp://h:1", "--dask-local"]):
        result = run(*args, "-o", tmp_path / "out")
        assert result.exit_code in (1, 2) and "Traceback" not in result.output
        assert result.output.strip().splitlines()[-1].startswith("Error:"), result.output


def test_save_lut_with_fit_on_is_the_map_every_output_went_through(frames, tmp_path):
    from imgot.cli import main

    folder, ref, images = frames
    lut, out = tmp_path / "look.cube", tmp_path / "out"
    result = run(folder, "-r", ref, "-o", out, "--fit-on", "first", "--no-detail", "--save-lut", lut,
                 "--clusters", 8, "--seed", 3)
    assert result.exit_code == 0, result.output
    assert f"lut: {lut}" in result.stderr and "note:" not in result.stderr
    assert read_cube(lut).size == 33
    applied = CliRunner().invoke(main, ["apply", str(lut), *(str(folder / name) for name in images),
                                        "-o", str(tmp_path / "applied")])
    assert applied.exit_code == 0, applied.output
    for name in images:  # the .cube, read back and applied, gives the batch's bytes
        theirs = tmp_path / "applied" / Path(name).name
        assert (read_image(theirs) == read_image(out / name)).all(), name
        assert theirs.read_bytes() == (out / name).read_bytes(), name
    again = run(folder, "-r", ref, "-o", out, "--fit-on", "first", "--save-lut", lut, "--clusters", 8)
    assert again.exit_code == 1 and "--overwrite" in again.output
    detail = run(folder, "-r", ref, "-o", tmp_path / "out2", "--fit-on", "first", "--save-lut", lut,
                 "--overwrite", "--clusters", 8)
    assert detail.exit_code == 0, detail.output
    notes = [line for line in detail.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "detail" in notes[0] and "not in the LUT" in notes[0]


def test_save_lut_refuses_inputs_other_extensions_and_runs_without_fit_on(frames, tmp_path):
    folder, ref, _ = frames
    before = digests(folder)
    (tmp_path / "alias.cube").symlink_to(folder / "f001.png")
    over_input = run(folder, "-r", ref, "-o", tmp_path / "out", "--fit-on", "first", "--overwrite",
                     "--save-lut", tmp_path / "alias.cube")
    assert over_input.exit_code == 1 and "is an input" in over_input.output
    not_a_lut = run(folder, "-r", ref, "-o", tmp_path / "out", "--fit-on", "first",
                    "--save-lut", tmp_path / "look.txt")  # .cube, or .png for a HaldCLUT
    assert not_a_lut.exit_code == 2 and ".cube" in not_a_lut.output
    per_image = run(folder, "-r", ref, "-o", tmp_path / "out", "--save-lut", tmp_path / "look.cube")
    assert per_image.exit_code == 2 and "Traceback" not in per_image.output
    errors = [line for line in per_image.output.splitlines() if "Error" in line]
    assert errors == ["Error: --save-lut writes one map for all images: add --fit-on first|pooled|FILE"]
    assert digests(folder) == before and not (tmp_path / "out").exists()
    assert not (tmp_path / "look.cube").exists() and not (tmp_path / "look.txt").exists()
    with pytest.raises(ValueError, match="save_lut needs fit_on"):
        transfer_many(folder, ref, tmp_path / "out", save_lut=tmp_path / "look.cube", **PARAMS)


def test_missing_dask_is_a_clear_error(frames, tmp_path, monkeypatch):
    folder, ref, _ = frames
    monkeypatch.setitem(sys.modules, "distributed", None)
    result = run(folder, "-r", ref, "-o", tmp_path / "out", "--dask-local")
    assert result.exit_code == 1 and "pip install 'imgot[dask]'" in result.output


@pytest.mark.slow  # a subprocess
def test_killed_batch_leaves_no_partial_output_and_resumes(tmp_path, rocket):
    big = np.asarray(Image.fromarray(rocket).resize((800, 600)))
    (tmp_path / "in").mkdir()
    for index in range(30):
        write_image(tmp_path / "in" / f"frame{index:03d}.png", np.roll(big, index * 7, axis=1))
    args = [tmp_path / "in", "-r", tmp_path / "in/frame000.png", "-o", tmp_path / "out", "--fit-on", "first",
            "--jobs", "2"]
    code = "import sys; from imgot.cli.batch import batch; batch(sys.argv[1:])"
    proc = subprocess.Popen([sys.executable, "-c", code, *map(str, args)], start_new_session=True,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(list((tmp_path / "out").glob("frame*.png"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = list((tmp_path / "out").glob("frame*.png"))
    assert 3 <= len(finished) < 30
    for path in finished:  # every file under its final name decodes completely
        with Image.open(path) as image:
            image.load()
    rerun = run(*args)
    assert rerun.exit_code == 0 and "failed 0" in rerun.output
    assert len(list((tmp_path / "out").glob("frame*.png"))) == 30


def test_dask_local_cluster_equals_process_pool(frames, tmp_path):
    distributed = pytest.importorskip("distributed")
    folder, ref, _ = frames
    cluster = distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None)
    with cluster, distributed.Client(cluster) as client:
        for fit_on in (None, "first"):
            pool, dask = tmp_path / f"pool_{fit_on}", tmp_path / f"dask_{fit_on}"
            list(transfer_many(folder, ref, pool, fit_on=fit_on, jobs=2, **PARAMS))
            results = list(transfer_many(folder, ref, dask, fit_on=fit_on, client=client, **PARAMS))
            assert {r.status for r in results} == {"done"}
            assert digests(pool) == digests(dask) and len(digests(pool)) == 4


def test_help_has_an_example():
    result = run("--help")
    assert result.exit_code == 0 and "imgot batch photos/" in result.output


@pytest.mark.slow
@pytest.mark.parametrize("method", METHOD_NAMES)
def test_batch_writes_the_bytes_of_imgot_transfer_for_every_method(tmp_path, warm, rocket, cool, method):
    from imgot.cli.transfer import transfer as transfer_command

    folder = tmp_path / "in"
    folder.mkdir()
    images = {"warm.jpg": warm, "rocket.png": rocket}
    for name, image in images.items():
        write_image(folder / name, image)
    write_image(tmp_path / "ref.png", cool)
    options = ["--method", method, "--clusters", "8", "--seed", "3"]
    result = run(folder, "-r", tmp_path / "ref.png", "-o", tmp_path / "batch", "-j", "1", *options)
    assert result.exit_code == 0, result.output
    for name in images:
        alone = tmp_path / f"alone_{name}"
        args = [str(folder / name), str(tmp_path / "ref.png"), "-o", str(alone), *options]
        ran = CliRunner().invoke(transfer_command, args)
        assert ran.exit_code == 0, ran.output
        assert (tmp_path / "batch" / name).read_bytes() == alone.read_bytes(), name


def test_the_shared_reference_state_gives_the_bytes_of_a_fit_per_image(warm, rocket, coffee):
    import pickle

    model = ColorTransfer().fit(coffee)  # the default method: palette, sample and sorted projections
    projections = model.reference_states_["emd-sliced"][1]._cache
    shipped = pickle.loads(pickle.dumps(model))  # what every worker receives, once
    assert shipped.reference_states_["emd-sliced"][1]._cache.keys() == projections.keys() != set()
    for image in (warm, rocket, warm):
        alone = ColorTransfer().fit(coffee).transform(image)
        np.testing.assert_array_equal(shipped.transform(image), alone)
        np.testing.assert_array_equal(model.transform(image), alone)
