"""Batch tasks on a real Dask cluster (a ``dask scheduler`` and ``dask worker`` processes on
loopback): the fitted reference is sent to the workers once, and the bytes equal a local run."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import imgot
from imgot import write_image
from imgot.batch import transfer_many

from .test_batch import digests
from .test_batch_kill import _free_port, _wait_port

BIN = Path(sys.executable).parent


@pytest.fixture
def cluster():
    """A scheduler and two single-thread workers as processes; yields (address, worker processes)."""
    pytest.importorskip("distributed")
    dask = shutil.which("dask", path=str(BIN))
    if dask is None:
        pytest.skip("the dask command line is not installed")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True}
    # The workers import the imgot under test (this checkout, not some installed copy).
    here = str(Path(imgot.__file__).resolve().parent.parent)
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))}
    scheduler = [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]
    started = [subprocess.Popen(scheduler, env=env, **quiet)]
    try:
        _wait_port(port)
        for name in ("w1", "w2"):
            started.append(subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--nworkers", "1",
                                             "--no-dashboard", "--name", name, "--host", "127.0.0.1"],
                                            env=env, **quiet))
        yield address
    finally:
        for proc in started:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.mark.slow
def test_real_cluster_gets_the_reference_once_and_writes_the_local_bytes(cluster, tmp_path, rocket, coffee):
    from distributed import Client

    folder = tmp_path / "in"
    folder.mkdir()
    for index in range(6):
        write_image(folder / f"img{index}.jpg", np.roll(rocket, 11 * index, axis=1))
    write_image(tmp_path / "ref.jpg", coffee)
    params = {"n_clusters": 16}  # the default method and detail step
    list(transfer_many(folder, tmp_path / "ref.jpg", tmp_path / "local", jobs=2, **params))
    with Client(cluster, timeout=30) as client:
        client.wait_for_workers(2, timeout=90)
        results = transfer_many(folder, tmp_path / "ref.jpg", tmp_path / "dask", client=client, **params)
        first = next(results)
        # The fitted model is one scattered key, held by both workers before any task runs
        # there; the tasks name it instead of carrying it.
        held = [holders for holders in client.who_has().values() if len(holders) == 2]
        assert len(held) == 1
        statuses = [first.status] + [result.status for result in results]
    assert statuses == ["done"] * 6
    assert digests(tmp_path / "dask") == digests(tmp_path / "local") and len(digests(tmp_path / "local")) == 6
    with Image.open(tmp_path / "dask" / "img0.jpg") as image:
        assert image.size == (rocket.shape[1], rocket.shape[0])
