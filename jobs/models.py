"""Job states, the one place that says which transitions are legal, and the job/dataset records."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from jobs.errors import IllegalTransitionError


class JobState(str, enum.Enum):
    """Where a job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """True for the three end states."""
        return self in FINISHED


FINISHED = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})

# running -> queued is the recovery of a job whose runner lost its lease
ALLOWED: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.RUNNING, JobState.CANCELLED, JobState.FAILED}),
    JobState.RUNNING: frozenset(
        {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED, JobState.QUEUED}
    ),
    JobState.SUCCEEDED: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.CANCELLED: frozenset(),
}


def check_transition(current: JobState, new: JobState) -> None:
    """Raise ``IllegalTransitionError`` unless ``current -> new`` is allowed."""
    if new not in ALLOWED[current]:
        raise IllegalTransitionError(f"a {current.value} job cannot become {new.value}")


class JobKind(str, enum.Enum):
    """A fit job trains a model and samples; a sample job samples again from a fitted one."""

    FIT = "fit"
    SAMPLE = "sample"


@dataclass
class DatasetRecord:
    """An uploaded table: its id, owner, shape and inferred schema (no data values)."""

    id: str
    owner: str
    filename: str
    file_kind: str
    size_bytes: int
    rows: int
    columns: int
    schema: dict[str, Any]
    created_at: float


@dataclass
class JobRecord:
    """One row of the job table: the truth about a job."""

    id: str
    owner: str
    kind: JobKind
    state: JobState
    config: dict[str, Any]
    created_at: float
    dataset_id: str | None = None
    parent_job_id: str | None = None
    callback_url: str | None = None
    seq: int = 0
    version: int = 0
    updated_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    stage: str | None = None
    fraction: float = 0.0
    message: str = ""
    epoch: int | None = None
    epochs: int | None = None
    loss: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    attempts: int = 0
    lease_owner: str | None = None
    lease_expires_at: float | None = None
    cancel_requested: bool = False
    result_file: str | None = None
    result_rows: int | None = None
    callback_state: str | None = None
