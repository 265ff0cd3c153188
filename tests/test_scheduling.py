"""Batch tasks on a real Dask cluster (a ``dask scheduler`` and ``dask worker`` processes on
loopback): the fitted reference is sent to the workers once, and the bytes equal a local run."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from imgot import write_image
from imgot.batch import transfer_many

from .test_batch import digests


@pytest.mark.slow
def test_real_cluster_gets_the_reference_once_and_writes_the_local_bytes(dask_cluster, tmp_path, rocket, coffee):
    from distributed import Client

    folder = tmp_path / "in"
    folder.mkdir()
    for index in range(6):
        write_image(folder / f"img{index}.jpg", np.roll(rocket, 11 * index, axis=1))
    write_image(tmp_path / "ref.jpg", coffee)
    params = {"n_clusters": 16}  # the default method and detail step
    list(transfer_many(folder, tmp_path / "ref.jpg", tmp_path / "local", jobs=2, **params))
    address, _ = dask_cluster
    with Client(address, timeout=30) as client:
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


def test_a_dask_task_is_process_file_after_undoing_the_nannys_malloc_setting(tmp_path, rocket, coffee, monkeypatch):
    # Dask's nanny sets MALLOC_TRIM_THRESHOLD_ (glibc then maps every array over 128 KB fresh:
    # a 256x256 image about 2.4x slower, see benchmarks/dask_batch.py); the task resets glibc's thresholds
    # once per process and is otherwise process_file itself: the same result and bytes.
    from imgot import ColorTransfer
    from imgot import scheduling

    write_image(tmp_path / "in.jpg", rocket)
    model = ColorTransfer(n_clusters=16).fit(coffee)
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    monkeypatch.setattr(scheduling, "_MALLOC_TUNED", [])
    task = scheduling._process_on_dask(model, tmp_path / "in.jpg", tmp_path / "a.jpg")
    assert scheduling._MALLOC_TUNED == [True]
    plain = scheduling.process_file(model, tmp_path / "in.jpg", tmp_path / "b.jpg")
    assert (task.status, plain.status) == ("done", "done")
    assert (tmp_path / "a.jpg").read_bytes() == (tmp_path / "b.jpg").read_bytes()
