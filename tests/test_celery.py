"""Faults of the scaled-out service: Celery workers, a PostgreSQL job store, a Redis broker.

All real: Gunicorn with ``runner=celery``, ``celery worker`` processes, a private Redis (with
a password and an append-only file) and a private PostgreSQL, as ``tests/celery_stack.py``
starts them. The end-to-end API suite itself runs on this stack too (``tests/test_e2e.py``).
"""

from __future__ import annotations

import os
import pickle
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kombu import Connection, Exchange, Producer, Queue
from sqlalchemy import create_engine, select

from jobs import tables
from tests.backends import PostgresServer, RedisServer
from tests.celery_stack import CeleryStack
from tests.conftest import SAMPLES
from tests.server import call, upload, wait_for

CREDIT = SAMPLES["credit_data"]
FINISHED = {"succeeded", "failed", "cancelled"}
# long enough to be killed mid-fit (a few seconds an attempt at these sizes), short enough to
# finish on the worker that takes over
SLOW_CTGAN = {
    "name": "ctgan",
    "params": {"epochs": 60, "batch_size": 100, "generator_dim": [32], "discriminator_dim": [32]},
}


@pytest.fixture
def stack(
    tmp_path: Path, redis_server: RedisServer, postgres: PostgresServer
) -> Iterator[CeleryStack]:
    """Gunicorn (runner=celery) with two Celery workers; leases of 4 s, two attempts."""
    s = CeleryStack(
        tmp_path, redis_server, postgres, workers=2, CINNAMON_LEASE_S="4", CINNAMON_MAX_ATTEMPTS="2"
    )
    s.start()
    try:
        yield s
    finally:
        s.stop()


def _row(stack: CeleryStack, job_id: str) -> Any:
    engine = create_engine(stack.store_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(tables.jobs).where(tables.jobs.c.id == job_id)).one()
    finally:
        engine.dispose()


def _wait_fitting(stack: CeleryStack, job_id: str, attempt: int = 1, timeout: float = 90) -> Any:
    """The job row once the given attempt fits (its process started)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = _row(stack, job_id)
        fitting = row.state == "running" and row.stage == "fitting" and row.worker_pid
        if fitting and row.attempts == attempt:
            return row
        time.sleep(0.1)
    raise AssertionError(f"job never started fitting: {stack.logs()[-3000:]}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    except FileNotFoundError:
        return False


def _worker_of(stack: CeleryStack, lease_owner: str) -> int:
    """Index of the worker whose process holds a lease (runner ids carry the pid)."""
    for i, worker in enumerate(stack.workers):
        assert worker.proc is not None
        if f"-{worker.proc.pid}-" in lease_owner:
            return i
    raise AssertionError(f"no worker holds {lease_owner}")


def test_worker_sigkilled_mid_job_the_other_worker_finishes_it(stack: CeleryStack) -> None:
    dataset = upload(stack.url, CREDIT)
    status, job = call(
        "POST", stack.url + "/api/v1/jobs", {"dataset_id": dataset, "synthesizer": SLOW_CTGAN}
    )
    assert status == 202, job
    first = _wait_fitting(stack, job["id"])
    victim = _worker_of(stack, first.lease_owner)
    stack.workers[victim].kill(group=False)  # the worker process alone, mid-job
    deadline = time.monotonic() + 10  # its fork server sees it gone, the job's process too
    while _alive(first.worker_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(first.worker_pid), "the job's process outlived its worker"
    done = wait_for(stack.url, job["id"], FINISHED, timeout=240)
    assert done["state"] == "succeeded", done["error"]
    assert done["attempts"] == 2
    second = _row(stack, job["id"])
    assert second.started_at > first.started_at + 3  # not before the first lease ran out
    logs = [w.log.read_text() for w in stack.workers]
    assert f"job {job['id']} claimed" in logs[1 - victim]  # ran again on the other worker
    assert call("GET", stack.url + "/api/v1/ready")[0] == 200


def test_job_that_keeps_losing_its_worker_fails_after_max_attempts(stack: CeleryStack) -> None:
    dataset = upload(stack.url, CREDIT)
    payload = {"dataset_id": dataset, "synthesizer": SLOW_CTGAN}
    status, job = call("POST", stack.url + "/api/v1/jobs", payload)
    assert status == 202, job
    for attempt in (1, 2):  # CINNAMON_MAX_ATTEMPTS=2: each attempt loses its worker mid-fit
        row = _wait_fitting(stack, job["id"], attempt)
        stack.workers[_worker_of(stack, row.lease_owner)].kill()
        stack.add_worker()
    done = wait_for(stack.url, job["id"], FINISHED, timeout=120)
    assert done["state"] == "failed"
    assert "lost 2 times" in done["error"]["detail"]
    # the service goes on: a small job still runs
    status, small = call("POST", stack.url + "/api/v1/jobs", {"dataset_id": dataset})
    assert status == 202, small
    assert wait_for(stack.url, small["id"], FINISHED, timeout=120)["state"] == "succeeded"


def test_redis_restarted_with_jobs_queued_loses_none(
    stack: CeleryStack, redis_server: RedisServer
) -> None:
    dataset = upload(stack.url, CREDIT)
    for worker in stack.workers:
        worker.stop()  # nobody takes the jobs: they wait in Redis
    ids = []
    for seed in range(3):
        status, job = call(
            "POST", stack.url + "/api/v1/jobs", {"dataset_id": dataset, "seed": seed}
        )
        assert status == 202, job
        ids.append(job["id"])
    redis_server.restart()
    stack.workers = []
    stack.add_worker()
    stack.add_worker()
    for job_id in ids:
        done = wait_for(stack.url, job_id, FINISHED, timeout=120)
        assert done["state"] == "succeeded", done["error"]
        assert done["attempts"] == 1  # each ran exactly once


def test_job_submitted_while_redis_is_down_runs_once_it_is_back(
    stack: CeleryStack, redis_server: RedisServer
) -> None:
    dataset = upload(stack.url, CREDIT)
    redis_server.stop()
    try:
        status, job = call("POST", stack.url + "/api/v1/jobs", {"dataset_id": dataset})
        assert status == 202, job  # kept in the job store: the dispatcher hands it over later
        assert _row(stack, job["id"]).dispatched_at is None
        status, ready = call("GET", stack.url + "/api/v1/ready")
        assert status == 503 and ready["checks"]["broker"] is False
    finally:
        redis_server.start()
    done = wait_for(stack.url, job["id"], FINISHED, timeout=120)
    assert done["state"] == "succeeded", done["error"]
    assert _row(stack, job["id"]).dispatched_at is not None


class _Trap:
    """Unpickling this would run a command: a worker must never unpickle anything."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_message_is_refused_unread(stack: CeleryStack, redis_server: RedisServer) -> None:
    marker = stack.folder / "unpickled"
    queue_name = stack.env["CINNAMON_CELERY_QUEUE"]
    body = pickle.dumps(_Trap(marker))
    with Connection(redis_server.url) as conn:
        exchange = Exchange(queue_name, type="direct")
        Producer(conn).publish(
            body,
            exchange=exchange,
            routing_key=queue_name,
            declare=[Queue(queue_name, exchange, routing_key=queue_name)],
            content_type="application/x-python-serialize",
            content_encoding="binary",
            headers={"task": "cinnamon.run_job", "id": "f" * 32, "lang": "py"},
        )
    deadline = time.monotonic() + 30
    while "untrusted content" not in stack.logs() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "untrusted content" in stack.logs(), stack.logs()[-3000:]
    assert not marker.exists()
    dataset = upload(stack.url, CREDIT)  # the workers are still there and take real jobs
    status, job = call("POST", stack.url + "/api/v1/jobs", {"dataset_id": dataset})
    assert status == 202, job
    assert wait_for(stack.url, job["id"], FINISHED, timeout=120)["state"] == "succeeded"
    assert not marker.exists()


def test_cancel_of_a_queued_job_revokes_it_and_it_never_runs(stack: CeleryStack) -> None:
    dataset = upload(stack.url, CREDIT)
    for worker in stack.workers:
        worker.stop()  # the message waits in Redis
    status, job = call("POST", stack.url + "/api/v1/jobs", {"dataset_id": dataset})
    assert status == 202, job
    status, body = call("POST", f"{stack.url}/api/v1/jobs/{job['id']}/cancel")
    assert status in (200, 202) and body["state"] == "cancelled", body
    stack.workers = []
    stack.add_worker()
    status, later = call("POST", stack.url + "/api/v1/jobs", {"dataset_id": dataset})
    assert wait_for(stack.url, later["id"], FINISHED, timeout=120)["state"] == "succeeded"
    row = _row(stack, job["id"])
    assert row.state == "cancelled" and row.attempts == 0 and row.started_at is None
    logs = stack.logs()
    assert job["id"] in logs  # the worker saw the message and dropped it unrun
    assert f"job {job['id']} claimed" not in logs
