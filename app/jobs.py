"""``/jobs``: submit, list, poll (ETag), cancel, delete, results, report, more samples."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request, send_file

from app.context import json_body, owner, page_limit, services
from app.datasets import upload_dataset
from app.schemas import JobOut, JobPage
from config.errors import ConfigError, FieldProblem
from config.loader import load_document
from config.requests import SampleRequest, parse_request
from evaluation.html_page import CSP as REPORT_CSP
from jobs import service
from jobs.models import JobRecord, JobState

jobs_blueprint = Blueprint("jobs", __name__)

RESULT_FORMATS = ("csv", "tsv", "parquet", "json", "xlsx")


def _idempotency(payload: object) -> tuple[str, str] | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= 255:
        raise ConfigError(
            "invalid header", [FieldProblem("/Idempotency-Key", "must be 1 to 255 characters")]
        )
    return key, service.request_hash(payload)


def _accepted(job: JobRecord, created: bool) -> tuple[dict[str, Any], int, dict[str, str]]:
    headers = {"Location": f"/api/v1/jobs/{job.id}", "ETag": _etag(job)}
    if not created:
        headers["Idempotent-Replayed"] = "true"  # the job an earlier request with this key made
    return JobOut.of(job).model_dump(mode="json"), 202, headers


def _etag(job: JobRecord) -> str:
    return f'"{job.id}-{job.version}"'


@jobs_blueprint.post("/jobs")
def submit_job() -> tuple[dict[str, Any], int, dict[str, str]]:
    """Queue a training job: JSON with a dataset id, or multipart with ``file`` + ``config``."""
    svc = services()
    if request.mimetype == "multipart/form-data":
        config_part = request.files.get("config")
        text = config_part.read() if config_part else request.form.get("config", "")
        data = load_document(text, max_bytes=svc.settings.limits.max_config_bytes) or {}
        req = service.parse_job_request(data)
        dataset, digest = upload_dataset()
        req = req.model_copy(update={"dataset_id": dataset.id})
        try:
            payload = {"config": data, "file_sha256": digest}
            job, created = service.submit_job(svc, owner(), req, _idempotency(payload))
        except BaseException:
            service.delete_dataset(svc, owner(), dataset.id)  # no half-created job
            raise
        if not created:
            service.delete_dataset(svc, owner(), dataset.id)
        return _accepted(job, created)
    data = json_body(svc.settings.limits.max_config_bytes)
    req = service.parse_job_request(data)
    return _accepted(*service.submit_job(svc, owner(), req, _idempotency(data)))


@jobs_blueprint.get("/jobs")
def list_jobs() -> dict[str, Any]:
    """The caller's jobs, newest first; ``state`` filter, ``cursor`` and ``limit``."""
    raw_state = request.args.get("state")
    try:
        state = JobState(raw_state) if raw_state else None
    except ValueError:
        names = ", ".join(s.value for s in JobState)
        raise ConfigError("invalid query", [FieldProblem("/state", f"one of {names}")]) from None
    rows, cursor = service.list_jobs(
        services(), owner(), state, request.args.get("cursor"), page_limit()
    )
    return JobPage(jobs=[JobOut.of(r) for r in rows], next_cursor=cursor).model_dump(mode="json")


@jobs_blueprint.get("/jobs/<job_id>")
def get_job(job_id: str) -> Response | tuple[dict[str, Any], int, dict[str, str]]:
    """State, progress, timings, error; 304 if ``If-None-Match`` matches the ETag.

    With ``?wait=S`` (up to ``long_poll_max_s``) and an ``If-None-Match`` naming the current
    version, the answer waits until the job changes (long polling) instead of a 304 at once.
    """
    svc = services()
    seen = _seen_version(job_id)
    wait = _wait_seconds(svc.settings.long_poll_max_s) if seen is not None else 0.0
    if seen is not None and wait > 0:
        job = service.wait_for_change(svc, owner(), job_id, seen, wait)
    else:
        job = service.get_job(svc, owner(), job_id)
    etag = _etag(job)
    if etag in request.headers.get("If-None-Match", ""):
        return Response(status=304, headers={"ETag": etag})
    return JobOut.of(job).model_dump(mode="json"), 200, {"ETag": etag}


def _seen_version(job_id: str) -> int | None:
    """The job version named by ``If-None-Match`` (our own ETag format), if any."""
    for tag in request.headers.get("If-None-Match", "").split(","):
        name, _, version = tag.strip().strip('"').rpartition("-")
        if name == job_id and version.isdigit():
            return int(version)
    return None


def _wait_seconds(limit: float) -> float:
    """``wait`` query parameter: seconds to hold the answer for a change, 0..limit."""
    raw = request.args.get("wait")
    if raw is None:
        return 0.0
    try:
        wait = float(raw)
    except ValueError:
        wait = -1.0
    if not 0 <= wait <= limit:
        raise ConfigError("invalid query", [FieldProblem("/wait", f"seconds from 0 to {limit:g}")])
    return wait


@jobs_blueprint.post("/jobs/<job_id>/cancel")
def cancel_job(job_id: str) -> tuple[dict[str, Any], int]:
    """Cancel a queued (at once) or running job (its process is stopped); 409 when finished."""
    job = service.cancel_job(services(), owner(), job_id)
    return JobOut.of(job).model_dump(mode="json"), 200 if job.state.finished else 202


@jobs_blueprint.delete("/jobs/<job_id>")
def delete_job(job_id: str) -> tuple[str, int]:
    """Remove a job and everything it owns."""
    service.delete_job(services(), owner(), job_id)
    return "", 204


@jobs_blueprint.get("/jobs/<job_id>/result")
def get_result(job_id: str) -> Response:
    """The synthetic table, streamed; ``format`` = csv, tsv, parquet, json or xlsx."""
    fmt = request.args.get("format")
    if fmt is not None and fmt not in RESULT_FORMATS:
        raise ConfigError(
            "invalid query", [FieldProblem("/format", f"one of {', '.join(RESULT_FORMATS)}")]
        )
    result = service.open_result(services(), owner(), job_id, fmt)
    return send_file(
        result.path,
        mimetype=result.media_type,
        as_attachment=True,
        download_name=result.download_name,
        conditional=True,
    )


@jobs_blueprint.get("/jobs/<job_id>/preprocessing")
def get_preprocessing(job_id: str) -> dict[str, Any]:
    """The preprocessing report: per column what was detected and done (counts only)."""
    return service.preprocessing_report(services(), owner(), job_id)


@jobs_blueprint.get("/jobs/<job_id>/report")
def get_report(job_id: str) -> dict[str, Any]:
    """The quality and privacy report (fidelity, utility, privacy, protection) as JSON."""
    return service.quality_report(services(), owner(), job_id)


@jobs_blueprint.get("/jobs/<job_id>/report.html")
def get_report_page(job_id: str) -> Response:
    """The same report as a self-contained HTML page (no script, loads nothing)."""
    response = send_file(
        service.quality_report_page(services(), owner(), job_id),
        mimetype="text/html",
        conditional=True,
    )
    response.headers["Content-Security-Policy"] = REPORT_CSP
    return response


@jobs_blueprint.post("/jobs/<job_id>/samples")
def sample_more(job_id: str) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Queue a sampling job on this job's fitted model (no refit)."""
    svc = services()
    data = json_body(svc.settings.limits.max_config_bytes)
    req = parse_request(SampleRequest, data, "sampling request")
    assert isinstance(req, SampleRequest)
    idem = _idempotency({"parent": job_id, **(data if isinstance(data, dict) else {})})
    return _accepted(*service.submit_samples(svc, owner(), job_id, req, idem))
