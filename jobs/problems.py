"""Exceptions -> RFC 9457 problem objects, decided in this one place (HTTP and failed jobs).

A problem never carries a traceback, a path or a data value: messages of our own errors are
written without values, and any other exception is reported by its type name only.
"""

from __future__ import annotations

from typing import Any

from config.errors import ConfigError
from jobs.errors import (
    ConflictError,
    GoneError,
    IdempotencyMismatchError,
    NotFoundError,
    PayloadTooLargeError,
    QueueFullError,
    StorageError,
    StoreUnavailableError,
)
from preprocessing.errors import LimitExceededError, PreprocessingError, ReadError
from synthesizers.errors import (
    InvalidParametersError,
    MissingExtraError,
    ModelIntegrityError,
    SynthesizerError,
    UnknownSynthesizerError,
)

# (exception class, HTTP status, title); the first match wins
_MAPPING: list[tuple[type[BaseException], int, str]] = [
    (NotFoundError, 404, "Not Found"),
    (GoneError, 410, "Gone"),
    (IdempotencyMismatchError, 422, "Idempotency-Key reused"),
    (ConflictError, 409, "Conflict"),
    (QueueFullError, 429, "Too Many Requests"),
    (PayloadTooLargeError, 413, "Payload Too Large"),
    (StoreUnavailableError, 503, "Service Unavailable"),
    (StorageError, 507, "Storage error"),
    (ConfigError, 422, "Invalid configuration"),
    (LimitExceededError, 413, "Limit exceeded"),
    (ReadError, 400, "Unreadable table"),
    (PreprocessingError, 422, "Unusable table"),
    (InvalidParametersError, 422, "Invalid synthesizer parameters"),
    (UnknownSynthesizerError, 422, "Unknown synthesizer"),
    (ModelIntegrityError, 500, "Model integrity check failed"),
    (MissingExtraError, 501, "Synthesizer not installed"),
    (SynthesizerError, 422, "Synthesizer error"),
    (MemoryError, 500, "Out of memory"),
    (OSError, 507, "Storage error"),
]


def problem_for(exc: BaseException) -> dict[str, Any]:
    """The problem object describing ``exc``."""
    for cls, status, title in _MAPPING:
        if isinstance(exc, cls):
            body: dict[str, Any] = {
                "type": "about:blank",
                "title": title,
                "status": status,
                "detail": _detail(exc),
            }
            errors = _field_errors(exc)
            if errors:
                body["errors"] = errors
            if isinstance(exc, LimitExceededError):
                body["limit"] = exc.limit
            return body
    return {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": f"an unexpected error occurred ({type(exc).__name__})",
    }


def _detail(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "the job ran out of memory (raise CINNAMON_JOB_MEMORY_MB or use fewer rows)"
    if isinstance(exc, ModelIntegrityError):
        return "model integrity check failed: the model file was not written by this service"
    if isinstance(exc, ConfigError):
        return exc.message
    if isinstance(exc, OSError) and not isinstance(exc, StorageError):
        return f"storage error ({exc.strerror or type(exc).__name__})"
    return str(exc) or type(exc).__name__


def _field_errors(exc: BaseException) -> list[dict[str, str]]:
    if isinstance(exc, ConfigError):
        return [{"pointer": p.pointer, "detail": p.message} for p in exc.problems]
    if isinstance(exc, InvalidParametersError):
        return [
            {"pointer": "/synthesizer/params" + pointer, "detail": message}
            for pointer, message in exc.problems
        ]
    if isinstance(exc, PreprocessingError) and exc.column is not None:
        return [{"pointer": f"/columns/{exc.column}", "detail": exc.message}]
    return []
