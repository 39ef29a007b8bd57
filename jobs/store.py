"""The job store: job and dataset rows in SQLite (default) or PostgreSQL, via SQLAlchemy Core.

SQLite runs in WAL mode with a busy timeout, and every write transaction starts with
``BEGIN IMMEDIATE`` so that concurrent writers queue instead of failing with "database is
locked" half-way through. A job is claimed with one conditional UPDATE that also sets a
lease; the runner renews the lease while the job runs, and a job whose lease expired is
re-queued (or failed after too many attempts) by whichever runner notices first.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, Protocol

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.pool import StaticPool

from jobs import tables
from jobs.errors import (
    ConflictError,
    IdempotencyMismatchError,
    NotFoundError,
    StoreUnavailableError,
)
from jobs.models import FINISHED, DatasetRecord, JobKind, JobRecord, JobState, check_transition

_JOB_FIELDS = {f.name for f in fields(JobRecord)}
_MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 0x43494E4E  # PostgreSQL advisory lock held while migrating ("CINN")


class JobStore(Protocol):
    """The port: what the service, runner and worker need from a job store."""

    def add_dataset(self, record: DatasetRecord) -> None: ...
    def get_dataset(self, dataset_id: str, owner: str | None) -> DatasetRecord: ...
    def add_job(
        self, record: JobRecord, idempotency: tuple[str, str] | None = None
    ) -> tuple[JobRecord, bool]: ...
    def job_for_idempotency_key(self, owner: str, key: str) -> str | None:
        """The id of the job a key was bound to, if any."""
        k = tables.idempotency_keys
        with self._tx(write=False) as conn:
            return conn.execute(
                select(k.c.job_id).where(k.c.owner == owner, k.c.key == key)
            ).scalar()

    def get_job(self, job_id: str, owner: str | None = None) -> JobRecord: ...
    def claim_next(self, runner_id: str, lease_s: float) -> JobRecord | None: ...
    def update_job(self, job_id: str, **values: Any) -> bool: ...
    def finish(self, job_id: str, state: JobState, **values: Any) -> bool: ...


def _set_wal(cur: Any) -> None:
    """Switch to WAL; SQLite answers "locked" at once (no busy wait) while another connection
    creates the file or holds it, so try again for a while."""
    import sqlite3

    for attempt in range(100):
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 99:
                raise
            time.sleep(0.05)


def _sqlite_setup(engine: Engine, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=30000")
        _set_wal(cur)
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _engine(url: str, immediate: bool) -> Engine:
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            poolclass=StaticPool if memory else None,
        )
        _sqlite_setup(engine, immediate)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _job(row: Any) -> JobRecord:
    values = {k: v for k, v in row._mapping.items() if k in _JOB_FIELDS}
    values["kind"] = JobKind(values["kind"])
    values["state"] = JobState(values["state"])
    values["cancel_requested"] = bool(values["cancel_requested"])
    return JobRecord(**values)


def _dataset(row: Any) -> DatasetRecord:
    names = {f.name for f in fields(DatasetRecord)}
    return DatasetRecord(**{k: v for k, v in row._mapping.items() if k in names})


def _take(conn: Connection, job_id: str, runner_id: str, lease_s: float) -> JobRecord | None:
    """Move one queued job to running under a lease to ``runner_id`` (None if not queued)."""
    t = tables.jobs
    now = time.time()
    claimed = conn.execute(
        update(t)
        .where(t.c.id == job_id, t.c.state == "queued")
        .values(
            state="running",
            lease_owner=runner_id,
            lease_expires_at=now + lease_s,
            attempts=t.c.attempts + 1,
            started_at=now,
            stage="starting",
            fraction=0.0,
            message="",
            error=None,
            version=t.c.version + 1,
            updated_at=now,
        )
    ).rowcount
    return _job(conn.execute(select(t).where(t.c.id == job_id)).one()) if claimed else None


class SqlJobStore:
    """The real adapter of ``JobStore``: SQLite by default, PostgreSQL by URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._write = _engine(url, immediate=True)
        # on SQLite an in-memory database must share its one connection
        self._read = self._write if "memory" in url or url == "sqlite://" else _engine(url, False)

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[Connection]:
        try:
            with (self._write if write else self._read).begin() as conn:
                yield conn
        except DBAPIError as exc:
            if isinstance(exc, IntegrityError):
                raise
            reason = type(exc.orig).__name__
            raise StoreUnavailableError(f"job store unavailable: {reason}") from exc

    def migrate(self) -> None:
        """Create or upgrade the tables to the newest schema (safe to run concurrently)."""
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        with self._tx() as conn:
            if conn.dialect.name == "postgresql":  # SQLite: BEGIN IMMEDIATE serialises already
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def ping(self) -> None:
        """Raise ``StoreUnavailableError`` unless the store answers a write transaction."""
        with self._tx() as conn:
            conn.execute(select(func.count()).select_from(tables.jobs).limit(1))

    def warm_up(self) -> None:
        """Open both connections and compile the statements a job runs (no row changes).

        A standby job process calls this before its job arrives, so that the job does not pay
        for the first connection and the first compilation of its queries.
        """
        from jobs.errors import NotFoundError

        missing = "0" * 32  # server-made ids are random hex: this one is never issued
        with contextlib.suppress(NotFoundError):
            self.get_job(missing)
        self.update_job(missing, stage="warm-up", fraction=0.0, message="")

    def dispose(self) -> None:
        """Close pooled connections (after a fork, before exit)."""
        self._write.dispose()
        self._read.dispose()

    # datasets ---------------------------------------------------------------------------

    def add_dataset(self, record: DatasetRecord) -> None:
        """Insert a dataset row."""
        with self._tx() as conn:
            conn.execute(insert(tables.datasets).values(**asdict(record)))

    def get_dataset(self, dataset_id: str, owner: str | None) -> DatasetRecord:
        """One dataset; ``NotFoundError`` if missing or owned by another key."""
        query = select(tables.datasets).where(tables.datasets.c.id == dataset_id)
        if owner is not None:
            query = query.where(tables.datasets.c.owner == owner)
        with self._tx(write=False) as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFoundError(f"no dataset with id '{dataset_id}'")
        return _dataset(row)

    def list_datasets(
        self, owner: str, before_seq: int | None, limit: int
    ) -> tuple[list[DatasetRecord], int | None]:
        """A page of datasets, newest first, and the cursor of the next page."""
        t = tables.datasets
        query = select(t).where(t.c.owner == owner).order_by(t.c.seq.desc()).limit(limit + 1)
        if before_seq is not None:
            query = query.where(t.c.seq < before_seq)
        with self._tx(write=False) as conn:
            rows = conn.execute(query).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return [_dataset(r) for r in rows], (rows[-1].seq if more else None)

    def delete_dataset(self, dataset_id: str, owner: str | None) -> DatasetRecord:
        """Remove a dataset row; its jobs stay (they keep their own copies of what they need)."""
        record = self.get_dataset(dataset_id, owner)
        with self._tx() as conn:
            conn.execute(tables.datasets.delete().where(tables.datasets.c.id == dataset_id))
        return record

    # jobs -------------------------------------------------------------------------------

    def add_job(
        self, record: JobRecord, idempotency: tuple[str, str] | None = None
    ) -> tuple[JobRecord, bool]:
        """Insert a job; with ``(key, request_hash)`` return the earlier job for a repeated key.

        Returns the job and whether it was created now.
        """
        values = asdict(record)
        values.pop("seq")
        values["kind"] = record.kind.value
        values["state"] = record.state.value
        values["updated_at"] = record.created_at
        with self._tx() as conn:
            if idempotency is not None:
                key, digest = idempotency
                k = tables.idempotency_keys
                found = conn.execute(
                    select(k).where(k.c.owner == record.owner, k.c.key == key)
                ).first()
                if found is not None:
                    if found.request_hash != digest:
                        raise IdempotencyMismatchError(
                            "this Idempotency-Key was used with a different request"
                        )
                    row = conn.execute(
                        select(tables.jobs).where(tables.jobs.c.id == found.job_id)
                    ).first()
                    if row is not None:
                        return _job(row), False
                    conn.execute(k.delete().where(k.c.owner == record.owner, k.c.key == key))
                conn.execute(
                    insert(k).values(
                        owner=record.owner,
                        key=key,
                        request_hash=digest,
                        job_id=record.id,
                        created_at=record.created_at,
                    )
                )
            conn.execute(insert(tables.jobs).values(**values))
            row = conn.execute(select(tables.jobs).where(tables.jobs.c.id == record.id)).one()
        return _job(row), True

    def job_for_idempotency_key(self, owner: str, key: str) -> str | None:
        """The id of the job a key was bound to, if any."""
        k = tables.idempotency_keys
        with self._tx(write=False) as conn:
            return conn.execute(
                select(k.c.job_id).where(k.c.owner == owner, k.c.key == key)
            ).scalar()

    def get_job(self, job_id: str, owner: str | None = None) -> JobRecord:
        """One job; ``NotFoundError`` if missing or owned by another key."""
        query = select(tables.jobs).where(tables.jobs.c.id == job_id)
        if owner is not None:
            query = query.where(tables.jobs.c.owner == owner)
        with self._tx(write=False) as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFoundError(f"no job with id '{job_id}'")
        return _job(row)

    def list_jobs(
        self, owner: str, state: JobState | None, before_seq: int | None, limit: int
    ) -> tuple[list[JobRecord], int | None]:
        """A page of jobs, newest first, optionally of one state, and the next cursor."""
        t = tables.jobs
        query = select(t).where(t.c.owner == owner).order_by(t.c.seq.desc()).limit(limit + 1)
        if state is not None:
            query = query.where(t.c.state == state.value)
        if before_seq is not None:
            query = query.where(t.c.seq < before_seq)
        with self._tx(write=False) as conn:
            rows = conn.execute(query).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return [_job(r) for r in rows], (rows[-1].seq if more else None)

    def count_jobs(self, states: Sequence[JobState]) -> int:
        """How many jobs are in any of ``states``."""
        t = tables.jobs
        query = select(func.count()).where(t.c.state.in_([s.value for s in states]))
        with self._tx(write=False) as conn:
            return int(conn.execute(query).scalar_one())

    def claim_next(self, runner_id: str, lease_s: float) -> JobRecord | None:
        """Atomically take the oldest queued job: state running, lease to ``runner_id``."""
        t = tables.jobs
        with self._tx(write=False) as conn:  # cheap check first: no write lock when idle
            if conn.execute(select(t.c.id).where(t.c.state == "queued").limit(1)).first() is None:
                return None
        with self._tx() as conn:
            for _ in range(5):  # another runner may win the race for the first candidate
                job_id = conn.execute(
                    select(t.c.id).where(t.c.state == "queued").order_by(t.c.seq).limit(1)
                ).scalar()
                if job_id is None:
                    return None
                job = _take(conn, job_id, runner_id, lease_s)
                if job is not None:
                    return job
        return None

    def claim_job(self, job_id: str, runner_id: str, lease_s: float) -> JobRecord | None:
        """Take one given job if it is queued (a task queue delivered it); else None.

        None means someone else has it, it ended, or it was cancelled or deleted: a
        duplicate or late delivery, to be dropped.
        """
        with self._tx() as conn:
            return _take(conn, job_id, runner_id, lease_s)

    def undispatched(self, older_than_s: float, limit: int = 500) -> list[str]:
        """Queued jobs never handed to the task queue, or handed over longer ago than that."""
        t = tables.jobs
        before = time.time() - older_than_s
        with self._tx(write=False) as conn:
            query = (
                select(t.c.id)
                .where(t.c.state == "queued")
                .where((t.c.dispatched_at.is_(None)) | (t.c.dispatched_at < before))
                .order_by(t.c.seq)
                .limit(limit)
            )
            return list(conn.execute(query).scalars())

    def mark_dispatched(self, job_ids: Sequence[str]) -> None:
        """Record that these jobs were just handed to the task queue (no version change)."""
        if not job_ids:
            return
        t = tables.jobs
        with self._tx() as conn:
            conn.execute(
                update(t).where(t.c.id.in_(list(job_ids))).values(dispatched_at=time.time())
            )

    def heartbeat(self, runner_id: str, job_ids: Sequence[str], lease_s: float) -> None:
        """Record that the runner is alive and renew the leases of the jobs it holds."""
        t, r = tables.jobs, tables.runners
        now = time.time()
        with self._tx() as conn:
            if (
                conn.execute(update(r).where(r.c.id == runner_id).values(heartbeat_at=now)).rowcount
                == 0
            ):
                conn.execute(insert(r).values(id=runner_id, heartbeat_at=now))
            conn.execute(r.delete().where(r.c.heartbeat_at < now - 86_400))
            if not job_ids:
                return
            conn.execute(
                update(t)
                .where(t.c.id.in_(list(job_ids)), t.c.lease_owner == runner_id)
                .where(t.c.state == "running")
                .values(lease_expires_at=now + lease_s)
            )

    def runner_alive(self, within_s: float) -> bool:
        """True if some runner sent a heartbeat in the last ``within_s`` seconds."""
        r = tables.runners
        with self._tx(write=False) as conn:
            newest = conn.execute(select(func.max(r.c.heartbeat_at))).scalar()
        return newest is not None and newest >= time.time() - within_s

    def active_jobs_of_dataset(self, dataset_id: str) -> int:
        """Queued or running jobs that still need this dataset's file."""
        t = tables.jobs
        query = select(func.count()).where(
            t.c.dataset_id == dataset_id,
            t.c.kind == "fit",  # sampling jobs use the fitted model, not the file
            t.c.state.in_(["queued", "running"]),
        )
        with self._tx(write=False) as conn:
            return int(conn.execute(query).scalar_one())

    def update_job(self, job_id: str, **values: Any) -> bool:
        """Set progress fields of a running job (bumps its version, i.e. its ETag)."""
        t = tables.jobs
        with self._tx() as conn:
            return bool(
                conn.execute(
                    update(t)
                    .where(t.c.id == job_id, t.c.state == "running")
                    .values(**values, version=t.c.version + 1, updated_at=time.time())
                ).rowcount
            )

    def finish(self, job_id: str, state: JobState, **values: Any) -> bool:
        """Move a job to ``state`` if the state machine allows it; False if it already moved."""
        t = tables.jobs
        now = time.time()
        with self._tx() as conn:
            row = conn.execute(select(t.c.state).where(t.c.id == job_id)).first()
            if row is None:
                return False
            current = JobState(row.state)
            if current == state or current.finished:
                return False
            check_transition(current, state)
            extra: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None}
            if state in FINISHED:
                extra["finished_at"] = now
            conn.execute(
                update(t)
                .where(t.c.id == job_id, t.c.state == current.value)
                .values(
                    state=state.value,
                    **extra,
                    **values,
                    version=t.c.version + 1,
                    updated_at=now,
                )
            )
        return True

    def request_cancel(self, job_id: str, owner: str | None) -> JobRecord:
        """Cancel a queued job at once; flag a running one for its runner; 409 when finished."""
        job = self.get_job(job_id, owner)
        if job.state.finished:
            raise ConflictError(f"the job is already {job.state.value}")
        if job.state == JobState.QUEUED and self.finish(
            job_id, JobState.CANCELLED, message="cancelled while queued"
        ):
            return self.get_job(job_id)
        t = tables.jobs
        with self._tx() as conn:
            conn.execute(
                update(t)
                .where(t.c.id == job_id, t.c.state == "running")
                .values(cancel_requested=True, version=t.c.version + 1, updated_at=time.time())
            )
        return self.get_job(job_id)

    def cancel_requested(self, job_ids: Sequence[str]) -> list[str]:
        """Which of these running jobs a client asked to cancel."""
        if not job_ids:
            return []
        t = tables.jobs
        with self._tx(write=False) as conn:
            rows = conn.execute(
                select(t.c.id).where(t.c.id.in_(list(job_ids)), t.c.cancel_requested.is_(True))
            ).all()
        return [r.id for r in rows]

    def recover_expired(self, max_attempts: int) -> list[tuple[str, JobState]]:
        """Re-queue running jobs whose lease expired, or fail them after ``max_attempts``."""
        t = tables.jobs
        now = time.time()
        done: list[tuple[str, JobState]] = []
        with self._tx() as conn:
            rows = conn.execute(
                select(t.c.id, t.c.attempts, t.c.cancel_requested).where(
                    t.c.state == "running", t.c.lease_expires_at < now
                )
            ).all()
            for row in rows:
                if row.cancel_requested:
                    new, values = JobState.CANCELLED, {"finished_at": now}
                elif row.attempts >= max_attempts:
                    reason = f"the job's worker was lost {row.attempts} times (server stopped?)"
                    new = JobState.FAILED
                    values = {
                        "finished_at": now,
                        "error": {"title": "Job failed", "detail": reason},
                    }
                else:
                    new = JobState.QUEUED
                    values = {"stage": None, "fraction": 0.0, "message": "re-queued: lease expired"}
                    values["dispatched_at"] = None  # a task queue gets it again at once
                conn.execute(
                    update(t)
                    .where(t.c.id == row.id, t.c.state == "running")
                    .values(
                        state=new.value,
                        lease_owner=None,
                        lease_expires_at=None,
                        version=t.c.version + 1,
                        updated_at=now,
                        **values,
                    )
                )
                done.append((row.id, new))
        return done

    def delete_job(self, job_id: str, owner: str | None) -> JobRecord:
        """Remove a job row (and its idempotency keys); the caller removes its files."""
        job = self.get_job(job_id, owner)
        with self._tx() as conn:
            conn.execute(tables.jobs.delete().where(tables.jobs.c.id == job_id))
            k = tables.idempotency_keys
            conn.execute(k.delete().where(k.c.job_id == job_id))
        return job

    def expired(self, before: float) -> tuple[list[JobRecord], list[DatasetRecord]]:
        """Finished jobs and datasets older than ``before`` (for retention clean-up)."""
        t, d = tables.jobs, tables.datasets
        states = [s.value for s in FINISHED]
        with self._tx(write=False) as conn:
            job_rows = conn.execute(
                select(t).where(t.c.state.in_(states), t.c.finished_at < before)
            ).all()
            ds_rows = conn.execute(select(d).where(d.c.created_at < before)).all()
        return [_job(r) for r in job_rows], [_dataset(r) for r in ds_rows]

    def callback_due(self) -> list[JobRecord]:
        """Finished jobs with a callback URL whose notification is not yet sent or given up."""
        t = tables.jobs
        with self._tx(write=False) as conn:
            rows = conn.execute(
                select(t).where(
                    t.c.state.in_([s.value for s in FINISHED]),
                    t.c.callback_url.is_not(None),
                    t.c.callback_state.is_(None),
                )
            ).all()
        return [_job(r) for r in rows]

    def claim_callback(self, job_id: str) -> bool:
        """Take the job's pending notification, so only one runner sends it."""
        t = tables.jobs
        with self._tx() as conn:
            return bool(
                conn.execute(
                    update(t)
                    .where(t.c.id == job_id, t.c.callback_state.is_(None))
                    .values(callback_state="sending")
                ).rowcount
            )

    def set_callback_state(self, job_id: str, state: str) -> None:
        """Record the outcome of a callback (``sent`` or ``failed``)."""
        t = tables.jobs
        with self._tx() as conn:
            conn.execute(update(t).where(t.c.id == job_id).values(callback_state=state))
