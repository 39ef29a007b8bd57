"""The job store (a real SQLite file), the state machine and the artifact store."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs.artifacts import ArtifactStore, new_id
from jobs.errors import (
    ConflictError,
    IdempotencyMismatchError,
    IllegalTransitionError,
    NotFoundError,
)
from jobs.models import JobKind, JobRecord, JobState, check_transition
from jobs.store import SqlJobStore


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlJobStore]:
    """The same store code on a real SQLite file and on a real PostgreSQL server."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    else:
        postgres = request.getfixturevalue("postgres")
        postgres.reset()
        url = postgres.url
    s = SqlJobStore(url)
    s.migrate()
    try:
        yield s
    finally:
        s.dispose()


def _job(owner: str = "", state: JobState = JobState.QUEUED) -> JobRecord:
    return JobRecord(
        id=new_id(),
        owner=owner,
        kind=JobKind.FIT,
        state=state,
        config={"job": {}},
        created_at=time.time(),
    )


def test_state_machine_rejects_illegal_moves() -> None:
    check_transition(JobState.QUEUED, JobState.RUNNING)
    check_transition(JobState.RUNNING, JobState.QUEUED)  # recovery
    for end in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED):
        for target in JobState:
            with pytest.raises(IllegalTransitionError):
                check_transition(end, target)
    with pytest.raises(IllegalTransitionError):
        check_transition(JobState.QUEUED, JobState.SUCCEEDED)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrate_twice_and_concurrently(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    if backend == "postgresql":
        postgres = request.getfixturevalue("postgres")
        postgres.reset()
        url = postgres.url
    errors: list[BaseException] = []

    def migrate() -> None:
        store = SqlJobStore(url)
        try:
            store.migrate()
        except BaseException as exc:
            errors.append(exc)
        finally:
            store.dispose()

    threads = [threading.Thread(target=migrate) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    again = SqlJobStore(url)
    again.migrate()
    assert again.count_jobs([JobState.QUEUED]) == 0
    again.dispose()


def test_claims_are_exclusive_under_concurrency(store: SqlJobStore) -> None:
    ids = {store.add_job(_job())[0].id for _ in range(30)}
    claimed: list[str] = []
    lock = threading.Lock()

    def claim(runner: str) -> None:
        other = SqlJobStore(store.url)  # own engine, like another process
        try:
            while (job := other.claim_next(runner, 30)) is not None:
                with lock:
                    claimed.append(job.id)
        finally:
            other.dispose()

    threads = [threading.Thread(target=claim, args=(f"r{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(ids)  # every job exactly once
    assert store.count_jobs([JobState.RUNNING]) == 30


def test_finish_only_once_and_versions_grow(store: SqlJobStore) -> None:
    job, _ = store.add_job(_job())
    claimed = store.claim_next("r", 30)
    assert claimed is not None and claimed.version > job.version
    assert store.update_job(job.id, stage="fitting", fraction=0.5)
    assert store.finish(job.id, JobState.SUCCEEDED, result_rows=3)
    assert not store.finish(job.id, JobState.FAILED)  # already ended: no change
    final = store.get_job(job.id)
    assert final.state == JobState.SUCCEEDED and final.finished_at is not None
    assert not store.update_job(job.id, fraction=0.1)  # progress after the end is ignored


def test_expired_lease_requeued_then_failed_after_max_attempts(store: SqlJobStore) -> None:
    job, _ = store.add_job(_job())
    for attempt in (1, 2):
        assert store.claim_next("dead-runner", lease_s=0.01) is not None
        time.sleep(0.05)
        assert store.recover_expired(max_attempts=2) == [
            (job.id, JobState.QUEUED if attempt == 1 else JobState.FAILED)
        ]
    final = store.get_job(job.id)
    assert final.state == JobState.FAILED and final.attempts == 2
    assert "lost 2 times" in final.error["detail"]  # type: ignore[index]


def test_heartbeat_keeps_the_lease(store: SqlJobStore) -> None:
    store.add_job(_job())
    job = store.claim_next("r1", lease_s=0.3)
    assert job is not None
    for _ in range(4):
        time.sleep(0.1)
        store.heartbeat("r1", [job.id], lease_s=0.3)
        assert store.recover_expired(3) == []
    assert store.runner_alive(5)


def test_cancel_queued_running_finished(store: SqlJobStore) -> None:
    queued, _ = store.add_job(_job())
    assert store.request_cancel(queued.id, "").state == JobState.CANCELLED
    running, _ = store.add_job(_job())
    store.claim_next("r", 30)
    after = store.request_cancel(running.id, "")
    assert after.state == JobState.RUNNING and after.cancel_requested
    assert store.cancel_requested([running.id]) == [running.id]
    with pytest.raises(ConflictError):
        store.request_cancel(queued.id, "")


def test_idempotency_same_request_same_job_other_request_refused(store: SqlJobStore) -> None:
    first, created = store.add_job(_job(), ("key-1", "hash-a"))
    again, created_again = store.add_job(_job(), ("key-1", "hash-a"))
    assert created and not created_again and again.id == first.id
    with pytest.raises(IdempotencyMismatchError):
        store.add_job(_job(), ("key-1", "hash-b"))
    other_owner, created_other = store.add_job(_job(owner="k2"), ("key-1", "hash-b"))
    assert created_other and other_owner.id != first.id
    assert store.count_jobs([JobState.QUEUED]) == 2


def test_owner_isolation_and_pagination(store: SqlJobStore) -> None:
    mine = [store.add_job(_job(owner="a"))[0].id for _ in range(5)]
    store.add_job(_job(owner="b"))
    with pytest.raises(NotFoundError):
        store.get_job(mine[0], owner="b")
    page1, cursor = store.list_jobs("a", None, None, 2)
    page2, cursor2 = store.list_jobs("a", None, cursor, 2)
    page3, cursor3 = store.list_jobs("a", None, cursor2, 2)
    seen = [j.id for j in page1 + page2 + page3]
    assert seen == mine[::-1] and cursor3 is None


@pytest.mark.parametrize(
    "bad", ["../etc", "..%2f", "%252e%252e", "a" * 31, "A" * 32, "0" * 31 + "/", "0" * 31 + "\x00"]
)
def test_artifact_paths_only_from_server_ids(tmp_path: Path, bad: str) -> None:
    artifacts = ArtifactStore(tmp_path)
    with pytest.raises(NotFoundError):
        artifacts.job_dir(bad)
    with pytest.raises(NotFoundError):
        artifacts.dataset_dir(bad, create=True)
    assert not (tmp_path / "datasets").exists()


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path) -> None:
    artifacts = ArtifactStore(tmp_path)
    folder = artifacts.job_dir(new_id(), create=True)
    with pytest.raises(RuntimeError), artifacts.atomic(folder / "result.csv") as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert list(folder.iterdir()) == []
