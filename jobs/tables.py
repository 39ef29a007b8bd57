"""The job store's tables (SQLAlchemy Core); ``jobs/migrations`` creates and upgrades them."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

datasets = Table(
    "datasets",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("owner", String(64), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("file_kind", String(16), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("columns", Integer, nullable=False),
    Column("schema", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("owner", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("config", JSON, nullable=False),
    Column("dataset_id", String(32)),
    Column("parent_job_id", String(32)),
    Column("callback_url", Text),
    Column("version", Integer, nullable=False, default=0),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("stage", String(32)),
    Column("fraction", Float, nullable=False, default=0.0),
    Column("message", Text, nullable=False, default=""),
    Column("epoch", Integer),
    Column("epochs", Integer),
    Column("loss", Float),
    Column("timings", JSON, nullable=False),
    Column("error", JSON),
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_owner", String(64)),
    Column("lease_expires_at", Float),
    Column("worker_pid", Integer),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("result_file", String(64)),
    Column("result_rows", BigInteger),
    Column("callback_state", String(16)),
    Column("dispatched_at", Float),  # last handed to the task queue (Celery runner)
    Index("ix_jobs_state_seq", "state", "seq"),
    Index("ix_jobs_owner_seq", "owner", "seq"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("owner", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("job_id", String(32), nullable=False),
    Column("created_at", Float, nullable=False),
)

runners = Table(
    "runners",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("heartbeat_at", Float, nullable=False),
)
