"""``imgot batch`` under kills, as users run it: the parent SIGKILLed alone, and a
real Dask scheduler with two workers, one of them killed mid-batch."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imgot import write_image

pytestmark = pytest.mark.slow  # real worker processes, killed

BIN = Path(sys.executable).parent
IMGOT = shutil.which("imgot", path=str(BIN)) or "imgot"


def _frames(folder: Path, rocket, count: int, size=(640, 480)) -> None:
    big = np.asarray(Image.fromarray(rocket).resize(size))
    folder.mkdir()
    for index in range(count):
        write_image(folder / f"frame{index:03d}.png", np.roll(big, index * 7, axis=1))


def _descendants(pid: int) -> list[int]:
    """Every process below `pid`, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:120]
    except OSError:
        return f"pid {pid}"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_for_outputs(folder: Path, count: int, proc, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while len(list(folder.glob("frame*.png"))) < count:
        assert proc.poll() is None, "the batch ended before it could be killed"
        assert time.monotonic() < deadline, "no outputs appeared"
        time.sleep(0.02)


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("frame*.png"))}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_exit_when_the_parent_is_killed(tmp_path, rocket):
    _frames(tmp_path / "in", rocket, 24)
    args = [IMGOT, "batch", str(tmp_path / "in"), "-r", str(tmp_path / "in" / "frame000.png"),
            "-o", str(tmp_path / "out"), "--jobs", "2", "--method", "linear"]
    proc = subprocess.Popen(args, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        _wait_for_outputs(tmp_path / "out", 2, proc)
        workers = _descendants(proc.pid)
        assert workers, "no worker processes found"
        os.kill(proc.pid, signal.SIGKILL)  # the parent only: the workers are not signalled
        proc.wait()
        # The workers go when the fork server (their parent) sees the batch gone: promptly, but on a
        # loaded 2-core machine that can take seconds, so the budget is generous.
        deadline = time.monotonic() + 20
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = [_cmdline(pid) for pid in workers if _alive(pid)]
        assert not left, f"workers outlived the killed batch: {left}"
    finally:
        for pid in _descendants(proc.pid) + ([proc.pid] if proc.poll() is None else []):
            os.kill(pid, signal.SIGKILL)
    done = _digests(tmp_path / "out")
    time.sleep(0.5)  # nothing is written after the workers are gone
    assert _digests(tmp_path / "out") == done and len(done) < 24
    for path in (tmp_path / "out").glob("frame*.png"):  # no partial file under a final name
        with Image.open(path) as image:
            image.load()
    rerun = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0 and "failed 0" in rerun.stderr, rerun.stderr
    assert len(_digests(tmp_path / "out")) == 24


@pytest.mark.parametrize("moment", ["starting", "working"])
def test_ctrl_c_in_the_terminal_prints_one_line(tmp_path, rocket, moment):
    # A terminal's Ctrl+C reaches the whole process group: the batch, its fork server (which
    # spends its first second importing, and printed a traceback there) and the workers (an idle
    # one printed a traceback too). One line says what happened; nothing is half-written or left.
    _frames(tmp_path / "in", rocket, 24, size=(1600, 1200))
    args = [IMGOT, "batch", str(tmp_path / "in"), "-r", str(tmp_path / "in" / "frame000.png"),
            "-o", str(tmp_path / "out"), "--jobs", "2"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        if moment == "starting":
            time.sleep(0.4)
        else:
            _wait_for_outputs(tmp_path / "out", 2, proc)
        family = _descendants(proc.pid)
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
        deadline = time.monotonic() + 20
        while any(_alive(pid) for pid in family) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [_cmdline(pid) for pid in family if _alive(pid)]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    lines = [line for line in stderr.splitlines() if line.strip() and line != "imgot batch"]
    assert proc.returncode == 130 and len(lines) == 1 and lines[0].startswith("interrupted:"), stderr
    assert not list((tmp_path / "out").glob(".*"))  # no temporary file left (none when it was never made)
    for path in (tmp_path / "out").glob("frame*.png"):
        with Image.open(path) as image:
            image.load()


def _wait_workers(address: str, count: int, timeout: float = 90) -> None:
    from distributed import Client

    with Client(address, timeout=30) as client:
        client.wait_for_workers(count, timeout=timeout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_real_dask_scheduler_survives_a_killed_worker(dask_cluster, tmp_path, rocket):
    address, started = dask_cluster
    _frames(tmp_path / "in", rocket, 16, size=(480, 360))
    ref = tmp_path / "in" / "frame000.png"
    _wait_workers(address, 2)
    args = [IMGOT, "batch", str(tmp_path / "in"), "-r", str(ref), "--method", "linear"]
    batch = subprocess.Popen([*args, "-o", str(tmp_path / "dask"), "--scheduler", address],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_outputs(tmp_path / "dask", 1, batch)
    os.killpg(started[1].pid, signal.SIGKILL)  # worker w1 and its nanny, mid-batch
    _, err = batch.communicate(timeout=300)
    # A task whose worker died after renaming its output into place is rescheduled and
    # finds the output there: "skipped". Every file is done once, none failed.
    counts = re.search(r"done (\d+), skipped (\d+), failed (\d+)", err)
    assert batch.returncode == 0 and counts, err
    done, skipped, failed = map(int, counts.groups())
    assert done + skipped == 16 and failed == 0, err
    local = subprocess.run([*args, "-o", str(tmp_path / "local"), "--jobs", "2"], capture_output=True,
                           text=True, timeout=300)
    assert local.returncode == 0, local.stderr
    assert _digests(tmp_path / "dask") == _digests(tmp_path / "local") and len(_digests(tmp_path / "local")) == 16
    for path in (tmp_path / "dask").glob("frame*.png"):
        with Image.open(path) as image:
            image.load()


def test_an_idle_worker_exits_when_the_batch_is_gone(tmp_path):
    """An idle worker blocks on a task queue whose write end it holds itself, and its parent (the fork
    server) outlives it: only its own watch ends it. Here a "batch" process starts a watching child that
    then blocks forever, and is killed."""
    pid_file = tmp_path / "child.pid"
    script = f"""
import multiprocessing, time
from imgot.scheduling import _watch_parent

def child(parent):
    _watch_parent(parent)
    open({str(pid_file)!r}, "w").write(str(multiprocessing.current_process().pid))
    time.sleep(3600)

if __name__ == "__main__":
    import os
    multiprocessing.get_context("spawn").Process(target=child, args=(os.getpid(),)).start()
    time.sleep(3600)
"""
    (tmp_path / "fake_batch.py").write_text(script)
    batch = subprocess.Popen([sys.executable, str(tmp_path / "fake_batch.py")], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while not (pid_file.exists() and pid_file.read_text()):
            assert time.monotonic() < deadline and batch.poll() is None, "the child did not start"
            time.sleep(0.05)
        child = int(pid_file.read_text())
        assert _alive(child)
        os.kill(batch.pid, signal.SIGKILL)
        batch.wait()
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child), "the idle worker outlived the killed batch"
    finally:
        if batch.poll() is None:
            batch.kill()
