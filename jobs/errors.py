"""The errors of the job layer; ``app/errors.py`` maps each to one HTTP status."""

from __future__ import annotations


class JobError(Exception):
    """Base class of job-layer errors."""


class NotFoundError(JobError):
    """No such dataset or job (or it belongs to another API key)."""


class ConflictError(JobError):
    """The request does not fit the job's state (result while running, cancel when done)."""


class GoneError(JobError):
    """The resource existed but its files were removed."""


class IllegalTransitionError(ConflictError):
    """A state change that the job state machine forbids."""


class QueueFullError(JobError):
    """Too many queued jobs; the client should retry later."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreUnavailableError(JobError):
    """The job store cannot be reached or written."""


class StorageError(JobError):
    """The artifact store (data directory) cannot be written."""


class IdempotencyMismatchError(JobError):
    """An Idempotency-Key reused with a different request."""


class PayloadTooLargeError(JobError):
    """An upload over the configured size limit."""
