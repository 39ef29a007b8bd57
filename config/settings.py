"""Service settings, read from the environment with the ``CINNAMON_`` prefix."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Limits(BaseSettings):
    """Limits applied to every input table and configuration."""

    model_config = SettingsConfigDict(env_prefix="CINNAMON_LIMIT_", extra="forbid")

    max_bytes: int = Field(200 * 1024 * 1024, ge=1, description="largest input file in bytes")
    max_rows: int = Field(2_000_000, ge=1, description="most data rows in an input table")
    max_columns: int = Field(1_000, ge=1, description="most columns in an input table")
    max_field_chars: int = Field(100_000, ge=1, description="longest single cell, in characters")
    max_xlsx_uncompressed_bytes: int = Field(
        500 * 1024 * 1024, ge=1, description="largest total uncompressed size of an .xlsx"
    )
    max_config_bytes: int = Field(1024 * 1024, ge=1, description="largest YAML/JSON config")
    max_num_rows: int = Field(10_000_000, ge=1, description="most synthetic rows per job")
    max_categories: int = Field(
        1_000,
        ge=2,
        description="distinct levels modelled per categorical column; rarer ones pooled",
    )


class Settings(BaseSettings):
    """Everything the service and the CLI can be configured with."""

    model_config = SettingsConfigDict(env_prefix="CINNAMON_", env_nested_delimiter="__")

    data_dir: Path = Field(Path("data"), description="root of all files the service writes")
    secret_key: str = Field(
        "change-me-in-production",
        min_length=8,
        description="key for the HMAC that guards model files written by the service",
    )
    sample_batch_rows: int = Field(50_000, ge=100, description="rows generated per batch")
    threads: int = Field(
        0, ge=0, description="torch/BLAS threads per job; 0 = the cores shared by running jobs"
    )
    limits: Limits = Field(default_factory=Limits)

    # job store, runner and jobs
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the job store; default: SQLite in the data directory"
    )
    runner: Literal["local", "celery", "none"] = Field(
        "local",
        description="'local': the server starts a runner with a process pool; 'celery': jobs "
        "go to Celery workers through the broker (the server starts a dispatcher); 'none': "
        "run a runner separately",
    )
    broker_url: str | None = Field(
        None,
        description="Celery broker URL for runner=celery, e.g. redis://:password@redis:6379/0",
    )
    celery_queue: str = Field(
        "cinnamon-jobs", pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Celery queue of jobs"
    )
    redispatch_s: float = Field(
        300.0,
        gt=0,
        description="runner=celery: a job still queued this long after it was handed to the "
        "broker is handed over again (a lost message; duplicates are dropped by the lease)",
    )
    max_concurrent_jobs: int = Field(0, ge=0, description="jobs run at once; 0 = cores")
    max_queued_jobs: int = Field(100, ge=1, description="queued jobs before 429")
    job_timeout_s: int = Field(86_400, ge=1, description="wall-clock limit per job")
    job_memory_mb: int = Field(
        0,
        ge=0,
        description="memory a job may map beyond its process's start-up libraries "
        "(RLIMIT_AS); 0 = no cap",
    )
    job_nice: int = Field(
        10, ge=0, le=19, description="niceness of job processes, so the API stays responsive"
    )
    standby_process: bool = Field(
        True,
        description="keep one job process forked and warmed up while no job runs, so the next "
        "job starts warm (it still runs that one job only)",
    )
    lease_s: float = Field(30.0, gt=0, description="job lease; renewed every third of it")
    max_attempts: int = Field(3, ge=1, description="tries of a job whose worker was lost")
    runner_poll_s: float = Field(0.5, gt=0, description="how often the runner looks for work")
    retention_hours: float = Field(
        168.0, ge=0, description="finished jobs and datasets older than this are removed; 0 = keep"
    )

    # HTTP
    bind: str = Field("127.0.0.1:8000", description="host:port Gunicorn listens on")
    web_workers: int = Field(2, ge=1, description="Gunicorn worker processes")
    web_threads: int = Field(4, ge=1, description="threads per Gunicorn worker")
    web_timeout_s: int = Field(120, ge=1, description="Gunicorn worker timeout")
    web_max_requests: int = Field(
        10_000,
        ge=0,
        description="a web worker is replaced after this many requests (0 = never); "
        "each replacement costs about a second of CPU to import and start the app",
    )
    long_poll_max_s: float = Field(
        30.0, ge=0, le=110, description="longest `wait` a status request may hold (long polling)"
    )
    api_keys: list[str] = Field(
        default_factory=list,
        description="bearer tokens (JSON list); set: every endpoint but health needs one",
    )
    cors_origins: list[str] = Field(default_factory=list, description="origins allowed by CORS")
    callback_allowed_hosts: list[str] = Field(
        default_factory=list, description="hosts a callback URL may point to (JSON list)"
    )
    callback_timeout_s: float = Field(10.0, gt=0, description="timeout of one callback POST")
    callback_attempts: int = Field(5, ge=1, description="callback tries, with backoff")

    @property
    def store_url(self) -> str:
        """The job store URL (SQLite file in the data directory unless configured)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'jobs.sqlite3').resolve()}"

    @property
    def concurrent_jobs(self) -> int:
        """Jobs run at once by one runner."""
        return self.max_concurrent_jobs or os.cpu_count() or 1
