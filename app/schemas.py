"""Response bodies of the REST API (pydantic): what clients can rely on, and the OpenAPI."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, Field

from jobs.models import DatasetRecord, JobRecord, JobState


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="milliseconds")


class Problem(BaseModel):
    """RFC 9457 problem details; ``errors`` points at each invalid field."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] | None = None


class DatasetOut(BaseModel):
    """An uploaded dataset."""

    id: str
    filename: str = Field(description="the uploaded file's name (metadata only)")
    format: str
    size_bytes: int
    rows: int
    columns: int
    schema_: dict[str, Any] = Field(alias="schema", description="inferred + configured schema")
    created_at: str | None

    @classmethod
    def of(cls, d: DatasetRecord) -> DatasetOut:
        """Serialize a dataset record."""
        return cls(
            id=d.id,
            filename=d.filename,
            format=d.file_kind,
            size_bytes=d.size_bytes,
            rows=d.rows,
            columns=d.columns,
            schema=d.schema,
            created_at=_iso(d.created_at),
        )


class DatasetPage(BaseModel):
    """A page of datasets; pass ``next_cursor`` as ``cursor`` for the next one."""

    datasets: list[DatasetOut]
    next_cursor: str | None


class ProgressOut(BaseModel):
    """Where a job is: stage, overall fraction, epochs, estimated seconds left."""

    stage: str | None
    fraction: float
    message: str
    epoch: int | None
    epochs: int | None
    loss: float | None
    eta_seconds: float | None


class JobOut(BaseModel):
    """A job's state, progress, timings and links."""

    id: str
    kind: str
    state: JobState
    dataset_id: str | None
    parent_job_id: str | None
    synthesizer: str | None
    num_rows: int | None
    seed: int | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    progress: ProgressOut
    timings: dict[str, float]
    error: dict[str, Any] | None
    attempts: int
    cancel_requested: bool
    result_rows: int | None
    links: dict[str, str]

    @classmethod
    def of(cls, j: JobRecord) -> JobOut:
        """Serialize a job record (ETA from elapsed time and fraction done)."""
        eta = None
        if j.state == JobState.RUNNING and j.started_at and j.fraction >= 0.02:
            elapsed = time.time() - j.started_at
            eta = round(elapsed * (1 - j.fraction) / j.fraction, 1)
        job_cfg = j.config.get("job", {})
        base = f"/api/v1/jobs/{j.id}"
        links = {"self": base, "cancel": f"{base}/cancel"}
        if j.state == JobState.SUCCEEDED:
            links["result"] = f"{base}/result"
            links["preprocessing"] = f"{base}/preprocessing"
            if j.kind.value == "fit":
                links["samples"] = f"{base}/samples"
        return cls(
            id=j.id,
            kind=j.kind.value,
            state=j.state,
            dataset_id=j.dataset_id,
            parent_job_id=j.parent_job_id,
            synthesizer=(job_cfg.get("synthesizer") or {}).get("name"),
            num_rows=j.result_rows or job_cfg.get("num_rows") or j.config.get("num_rows"),
            seed=job_cfg.get("seed", j.config.get("seed")),
            created_at=_iso(j.created_at),
            started_at=_iso(j.started_at),
            finished_at=_iso(j.finished_at),
            progress=ProgressOut(
                stage=j.stage,
                fraction=j.fraction,
                message=j.message,
                epoch=j.epoch,
                epochs=j.epochs,
                loss=j.loss,
                eta_seconds=eta,
            ),
            timings={k: round(v, 3) for k, v in (j.timings or {}).items()},
            error=j.error,
            attempts=j.attempts,
            cancel_requested=j.cancel_requested,
            result_rows=j.result_rows,
            links=links,
        )


class JobPage(BaseModel):
    """A page of jobs; pass ``next_cursor`` as ``cursor`` for the next one."""

    jobs: list[JobOut]
    next_cursor: str | None


class SynthesizerOut(BaseModel):
    """A registered synthesizer and the JSON Schema of its parameters."""

    name: str
    description: str
    parameters: dict[str, Any]


class SynthesizerList(BaseModel):
    """All registered synthesizers."""

    synthesizers: list[SynthesizerOut]


class Readiness(BaseModel):
    """Whether the service can take jobs now."""

    ready: bool
    checks: dict[str, bool]
