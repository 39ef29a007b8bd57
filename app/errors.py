"""Every error as RFC 9457 problem+json, mapped in this one place (via ``jobs.problems``)."""

from __future__ import annotations

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

from config.errors import ConfigError
from jobs.errors import JobError, QueueFullError, StoreUnavailableError
from jobs.problems import problem_for
from preprocessing.errors import PreprocessingError
from synthesizers.errors import SynthesizerError

PROBLEM_JSON = "application/problem+json"


def problem(status: int, title: str, detail: str, **extra: object) -> Response:
    """A problem+json response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)


def register_error_handlers(app: Flask) -> None:
    """Map our errors, HTTP errors and unexpected exceptions to problem+json (no traceback)."""

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        return problem(exc.code or 500, exc.name, exc.description or exc.name)

    @app.errorhandler(ConfigError)
    @app.errorhandler(JobError)
    @app.errorhandler(PreprocessingError)
    @app.errorhandler(SynthesizerError)
    def _known(exc: Exception) -> Response:
        body = problem_for(exc)
        response = Response(json.dumps(body), status=body["status"], mimetype=PROBLEM_JSON)
        if isinstance(exc, QueueFullError):
            response.headers["Retry-After"] = str(exc.retry_after)
        elif isinstance(exc, StoreUnavailableError):
            response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        app.logger.error("unhandled %s", type(exc).__name__)  # never request data
        return problem(500, "Internal Server Error", "an unexpected error occurred")
