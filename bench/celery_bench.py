"""Scaling out: eight small jobs on one Celery worker versus two, in one run.

The real stack of the tests (``tests/celery_stack.py``): Gunicorn with ``runner=celery``, a
private Redis and PostgreSQL from the OS packages, and ``celery worker --pool solo``
processes. After one warm-up job per worker (its fork server loads the job modules once),
the eight jobs are submitted at once; the wall time runs from the first submit to the last
job finished. Each worker's jobs get the machine's cores divided by the number of
workers (``CINNAMON_THREADS``), as an operator would configure workers sharing a machine.

    .venv/bin/python bench/celery_bench.py [--jobs 8] [--synthesizer ctgan --epochs 10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.backends import PostgresServer, RedisServer  # noqa: E402
from tests.celery_stack import CeleryStack  # noqa: E402
from tests.server import call, upload, wait_for  # noqa: E402

FINISHED = {"succeeded", "failed", "cancelled"}


def _synthesizer(name: str, epochs: int) -> dict[str, object]:
    if name == "gaussian_copula":
        return {"name": name}
    return {"name": name, "params": {"epochs": epochs, "batch_size": 200}}


def run(
    workers: int, jobs: int, dataset: Path, synthesizer: dict[str, object], folder: Path,
    redis: RedisServer, postgres: PostgresServer,
) -> tuple[float, list[float]]:  # fmt: skip
    """Wall time of ``jobs`` jobs on ``workers`` workers, and each job's own run time."""
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    stack = CeleryStack(folder, redis, postgres, workers=workers, CINNAMON_THREADS=threads)
    stack.start()
    try:
        dataset_id = upload(stack.url, dataset)
        # one small job per worker first: each worker's fork server has its modules loaded
        warm = [
            call("POST", stack.url + "/api/v1/jobs", {"dataset_id": dataset_id, "num_rows": 10})
            for _ in range(workers)
        ]
        for _, job in warm:
            wait_for(stack.url, job["id"], FINISHED, timeout=600)
        started = time.perf_counter()
        ids = []
        for seed in range(jobs):
            payload = {"dataset_id": dataset_id, "synthesizer": synthesizer, "seed": seed}
            status, job = call("POST", stack.url + "/api/v1/jobs", payload)
            assert status == 202, job
            ids.append(job["id"])
        ran = []
        for job_id in ids:
            job = wait_for(stack.url, job_id, FINISHED, timeout=3600)
            assert job["state"] == "succeeded", job["error"]
            ran.append(sum(job["timings"].values()))
        return time.perf_counter() - started, ran
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--dataset", type=Path, default=ROOT / "tests/data/credit_data_sample.csv")
    parser.add_argument("--synthesizer", default="ctgan")
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cinnamon-celery-bench-"))
    tmp.chmod(0o755)  # PostgreSQL runs as its own user and must reach its folder
    redis = RedisServer(tmp / "redis").start()
    postgres = PostgresServer(tmp / "postgres").start()
    synthesizer = _synthesizer(args.synthesizer, args.epochs)
    try:
        results = {}
        for workers in (1, 2):
            results[workers] = run(
                workers, args.jobs, args.dataset, synthesizer, tmp / f"w{workers}", redis, postgres
            )
            wall, ran = results[workers]
            print(f"{workers} worker(s): {wall:.1f} s wall, job stages {sum(ran) / len(ran):.1f} s "
                  "on average", flush=True)  # fmt: skip
    finally:
        postgres.stop()
        redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    one, two = results[1][0], results[2][0]
    print(f"\n{args.jobs} jobs, {synthesizer}, {args.dataset.name}, {os.cpu_count()} cores")
    print("| workers | wall s | mean job stages s |")
    print("|---|---|---|")
    for workers, (wall, ran) in results.items():
        print(f"| {workers} | {wall:.1f} | {sum(ran) / len(ran):.2f} |")
    print(f"two workers take {two / one:.2f} of one worker's time (target: at most 0.60)")


if __name__ == "__main__":
    main()
