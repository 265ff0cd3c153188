"""Benchmark `imgot batch` on a real Dask cluster on loopback against the local process pool.

Run from the repository root (``pip install -e ".[test]"`` brings dask[distributed]):

    python benchmarks/dask_batch.py                # 300 of the 256x256 crops, 2 rounds
    python benchmarks/dask_batch.py --images 100 --rounds 1

It starts a ``dask scheduler`` and one, then two, single-thread ``dask worker``
processes on 127.0.0.1 (each importing this checkout), runs
``transfer_many(..., client=Client(address))`` over the same 256x256 JPEGs as
``dataset_speed.py`` (made in benchmarks/out/ if missing), and the local
``jobs=2`` pool in the same rounds, interleaved. It prints one markdown table:
images per second (median of the rounds; the workers' start is not timed, the
reference's fit and the model's scatter are) and whether every output file is
byte for byte the local pool's.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from tests.conftest import free_port, wait_port  # noqa: E402 - the test suite's loopback helpers


class Cluster:
    """A `dask scheduler` and `n_workers` single-thread `dask worker` processes on loopback."""

    def __init__(self, n_workers: int):
        dask = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")
        if dask is None:
            raise SystemExit("the dask command line is not installed: pip install -e '.[test]'")
        port = free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True}
        env = {**os.environ, "OMP_NUM_THREADS": "1",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        self.processes = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                            "--no-dashboard"], env=env, **quiet)]
        wait_port(port)
        for index in range(n_workers):
            self.processes.append(subprocess.Popen(
                [dask, "worker", self.address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
                 "--name", f"w{index + 1}", "--host", "127.0.0.1"], env=env, **quiet))
        self.n_workers = n_workers

    def close(self) -> None:
        for process in reversed(self.processes):
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def digests(folder: Path) -> dict:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.glob("*.jpg"))}


def run(folder: Path, out: Path, **options) -> float:
    """Images per second of one transfer_many over `folder`."""
    from imgot.batch import transfer_many

    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    statuses = [result.status for result in transfer_many(folder, ROOT / "sample_images" / "coffee.jpg", out,
                                                          **options)]
    seconds = time.perf_counter() - start
    assert statuses.count("done") == len(statuses), statuses
    return len(statuses) / seconds


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=300, help="256x256 JPEGs [300]")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds [2]")
    args = parser.parse_args(argv)
    from dataset_speed import make_set
    from distributed import Client

    folder = make_set(f"ds256_{args.images}", args.images, (256, 256))
    load_start = os.getloadavg()
    rates: dict = {"local pool, jobs=2": [], "Dask, 1 worker": [], "Dask, 2 workers": []}
    same: dict = {key: True for key in rates}
    local = OUT / "dask_bench_local"
    for _ in range(args.rounds):
        rates["local pool, jobs=2"].append(run(folder, local, jobs=2))
        expected = digests(local)
        for n_workers in (1, 2):
            key = f"Dask, {n_workers} worker{'s' if n_workers > 1 else ''}"
            cluster = Cluster(n_workers)
            try:
                with Client(cluster.address, timeout=60) as client:
                    client.wait_for_workers(n_workers, timeout=120)
                    out = OUT / f"dask_bench_{n_workers}"
                    rates[key].append(run(folder, out, client=client))
                    same[key] &= digests(out) == expected
            finally:
                cluster.close()
    load_end = os.getloadavg()
    print(f"{os.cpu_count()} cores; load average (1 min) {load_start[0]:.2f} at start, {load_end[0]:.2f} at end; "
          f"{args.images} JPEGs of 256x256, the default method, medians of {args.rounds} interleaved rounds\n")
    print("| runner | images/s | outputs byte for byte the local pool's |")
    print("|---|---:|---|")
    for key, values in rates.items():
        print(f"| {key} | {statistics.median(values):.1f} | {'yes' if same[key] else 'NO'} |")


if __name__ == "__main__":
    main()
