"""The Cinnamon platform's synthetization-module protocol (paths and parts as the platform uses).

A thin blueprint over ``jobs.cinnamon``; errors are problem+json with the platform's
``error`` field added.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, json, request

from app.context import json_body, owner, services
from config.errors import ConfigError
from jobs import cinnamon
from jobs.callbacks import REPORT_DATA_PART
from jobs.errors import JobError
from jobs.problems import problem_for
from preprocessing.errors import PreprocessingError
from synthesizers.errors import SynthesizerError

cinnamon_blueprint = Blueprint("cinnamon", __name__)
YAML = "application/yaml"


@cinnamon_blueprint.errorhandler(ConfigError)
@cinnamon_blueprint.errorhandler(JobError)
@cinnamon_blueprint.errorhandler(PreprocessingError)
@cinnamon_blueprint.errorhandler(SynthesizerError)
def _problem(exc: Exception) -> Response:
    body = problem_for(exc)
    pointers = "; ".join(f"{e['pointer']}: {e['detail']}" for e in body.get("errors", []))
    body["error"] = f"{body['detail']}: {pointers}" if pointers else body["detail"]
    return Response(json.dumps(body), status=body["status"], mimetype="application/problem+json")


@cinnamon_blueprint.get("/get_algorithms")
def get_algorithms() -> Response:
    """The registered synthesizers, as the platform's YAML list."""
    from synthesizers.definitions import algorithms_yaml

    return Response(algorithms_yaml(), mimetype=YAML)


@cinnamon_blueprint.get("/synthesizer_config/<name>.yaml")
def get_definition(name: str) -> Response:
    """One synthesizer's form definition, generated from its parameter model."""
    from synthesizers.definitions import definition_yaml
    from synthesizers.registry import get_info

    get_info(name)  # unknown name: 422 listing the valid ones
    return Response(definition_yaml(name), mimetype=YAML)


def _part(name: str) -> bytes | None:
    upload = request.files.get(name)
    if upload is not None:
        return upload.read()
    value = request.form.get(name)
    return None if value is None else value.encode()


@cinnamon_blueprint.post("/start_synthetization_process/<name>")
def start(name: str) -> tuple[dict[str, Any], int]:
    """Validate everything, queue the job, answer 202 at once (the work runs in the runner)."""
    data = request.files.get("data")
    job = cinnamon.start(
        services(),
        owner(),
        name,
        request.form.get("session_key"),
        request.form.get("callback"),
        None if data is None else data.stream,
        (data.filename if data else None) or "real_data.csv",
        _part("attribute_config"),
        _part("algorithm_config"),
    )
    return cinnamon.started_response(job, request.form["session_key"]), 202


@cinnamon_blueprint.get("/get_status/<session_key>")
def get_status(session_key: str) -> dict[str, Any]:
    """The platform's status document from the job's real progress."""
    return cinnamon.status(services(), owner(), session_key)


@cinnamon_blueprint.post("/cancel_synthetization_process")
def cancel() -> dict[str, Any]:
    """Stop the session's job, whichever web worker receives this."""
    key = request.form.get("session_key") or ""
    job = cinnamon.cancel(services(), owner(), key)
    return {"message": f"synthetization process {job.state.value}", "session_key": key}


@cinnamon_blueprint.post("/report")
def report() -> dict[str, str]:
    """HTML describing the synthesizer and its settings as used, plus a glossary."""
    raw = request.form.get("configuration")
    if raw is None and "configuration" in request.files:
        raw = request.files["configuration"].read().decode("utf-8", "replace")
    if raw is None:
        configuration = json_body(services().settings.limits.max_config_bytes)
    else:
        from config.loader import load_document

        configuration = load_document(raw, max_bytes=services().settings.limits.max_config_bytes)
    return cinnamon.report(configuration, _part(REPORT_DATA_PART))


@cinnamon_blueprint.get("/actuator/health")
def health() -> dict[str, str]:
    """Spring Boot actuator's health shape."""
    return cinnamon.health()
