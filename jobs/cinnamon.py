"""The Cinnamon platform's synthetization-module protocol, as service functions.

A thin layer over the same service as ``/api/v1``: a start request becomes a dataset and a
job; the platform's ``session_key`` is bound to the job through the idempotency-key table
(so status and cancel work from any web worker and after a restart); the status is built
from the job row's real progress; the result is pushed to the platform's callback by the
runner (see ``jobs.callbacks``).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import time
from typing import Any, BinaryIO

from config.errors import ConfigError, FieldProblem
from config.loader import load_document
from config.requests import JobRequest
from config.schema import DatasetSchema
from evaluation.report_html import GLOSSARY as REPORT_GLOSSARY
from jobs import service
from jobs.callbacks import REPORT_DATA_PART, check_callback_url
from jobs.errors import NotFoundError
from jobs.models import JobRecord, JobState
from jobs.service import Services

_SESSION_KEY = re.compile(r"[A-Za-z0-9_-]{1,128}")
PROTOCOL = "cinnamon"


def check_session_key(key: str | None) -> str:
    """A session key is 1-128 letters, digits, ``-`` or ``_`` (no path characters)."""
    if not key or not _SESSION_KEY.fullmatch(key):
        raise ConfigError(
            "invalid session_key",
            [FieldProblem("/session_key", "must be 1 to 128 letters, digits, '-' or '_'")],
        )
    return key


def _idempotency_key(session_key: str) -> str:
    return f"cinnamon:{session_key}"


def _document(text: bytes | str | None, part: str, svc: Services) -> object:
    if text is None or not str(text).strip():
        raise ConfigError(f"missing part '{part}'", [FieldProblem(f"/{part}", "required")])
    try:
        return load_document(text, max_bytes=svc.settings.limits.max_config_bytes)
    except ConfigError as exc:
        raise ConfigError(f"part '{part}': {exc.message}", exc.problems) from None


def start(
    svc: Services,
    owner: str,
    name: str,
    session_key: str | None,
    callback: str | None,
    data: BinaryIO | None,
    filename: str,
    attribute_config: bytes | None,
    algorithm_config: bytes | None,
) -> JobRecord:
    """Validate the whole start request, store the data, queue the job (or find it again)."""
    from config.cinnamon import parse_algorithm_config, parse_attribute_config
    from synthesizers.definitions import TIMESTAMP_PATTERNS, algorithm_to_spec
    from synthesizers.registry import REGISTRY

    key = check_session_key(session_key)
    if name not in REGISTRY:
        valid = ", ".join(sorted(REGISTRY))
        raise ConfigError(
            "unknown synthesizer", [FieldProblem("/name", f"not registered; valid: {valid}")]
        )
    if not callback:
        raise ConfigError("missing callback", [FieldProblem("/callback", "required")])
    try:
        check_callback_url(callback, svc.settings)
    except ConfigError as exc:
        raise ConfigError(
            exc.message, [FieldProblem("/callback", exc.problems[0].message)]
        ) from None
    if data is None:
        raise ConfigError("missing part 'data'", [FieldProblem("/data", "required")])
    schema: DatasetSchema = parse_attribute_config(
        _document(attribute_config, "attribute_config", svc), dates=TIMESTAMP_PATTERNS
    )
    algorithm = parse_algorithm_config(
        _document(algorithm_config, "algorithm_config", svc), valid_names=REGISTRY
    )
    if algorithm.synthesizer != name:
        raise ConfigError(
            "invalid algorithm configuration",
            [
                FieldProblem(
                    algorithm.synthesizer_pointer, "differs from the synthesizer in the URL"
                )
            ],
        )
    spec = algorithm_to_spec(algorithm)
    dataset, digest = service.create_dataset(svc, owner, data, filename, schema)
    payload = {
        "name": name,
        "data": digest,
        "attribute_config": hashlib.sha256(attribute_config or b"").hexdigest(),
        "algorithm_config": hashlib.sha256(algorithm_config or b"").hexdigest(),
        "callback": callback,
    }
    request = JobRequest(
        dataset_id=dataset.id,
        synthesizer=spec.synthesizer,
        num_rows=spec.num_rows,
        callback_url=callback,
    )
    try:
        job, created = service.submit_job(
            svc,
            owner,
            request,
            (_idempotency_key(key), service.request_hash(payload)),
            protocol={"name": PROTOCOL, "session_key": key, "synthesizer": name},
        )
    except BaseException:
        service.delete_dataset(svc, owner, dataset.id)
        raise
    if not created:
        service.delete_dataset(svc, owner, dataset.id)
    return job


def job_for_session(svc: Services, owner: str, session_key: str) -> JobRecord:
    """The job a session key was bound to; 404 if none."""
    key = check_session_key(session_key)
    job_id = svc.store.job_for_idempotency_key(owner, _idempotency_key(key))
    if job_id is None:
        raise NotFoundError(f"no synthetization process for session_key '{key}'")
    return svc.store.get_job(job_id, owner)


def cancel(svc: Services, owner: str, session_key: str) -> JobRecord:
    """Stop the session's job wherever it runs (finished jobs are left as they are)."""
    job = job_for_session(svc, owner, session_key)
    if job.state.finished:
        return job
    return service.cancel_job(svc, owner, job.id)


def _fmt(seconds: float | None) -> str:
    return "0" if seconds is None else f"{max(seconds, 0.0):.2f}"


def status(svc: Services, owner: str, session_key: str) -> dict[str, Any]:
    """The platform's status document, built from the job row (all values are strings)."""
    job = job_for_session(svc, owner, session_key)
    return status_document(job, session_key)


def status_document(job: JobRecord, session_key: str) -> dict[str, Any]:
    """Steps initialization, fitting, sampling, callback with completed/duration/remaining."""
    timings = job.timings or {}
    stage = job.stage or ""
    order = ["initialization", "fitting", "sampling", "callback"]
    current = {
        "": "initialization",
        "starting": "initialization",
        "reading": "initialization",
        "preprocessing": "initialization",
        "loading": "initialization",
        "fitting": "fitting",
        "sampling": "sampling",
        "evaluating": "sampling",  # the report is built right after sampling
        "done": "callback",
    }.get(stage, "initialization")
    if job.state == JobState.SUCCEEDED:
        current = "callback"
    durations = {
        "initialization": sum(timings.get(k, 0.0) for k in ("reading", "preprocessing", "loading")),
        "fitting": timings.get("fitting", 0.0) + timings.get("saving", 0.0),
        "sampling": timings.get("sampling", 0.0) + timings.get("evaluating", 0.0),
    }
    cancelled = job.state == JobState.CANCELLED
    steps: list[dict[str, str]] = []
    for step in order:
        index, now_index = order.index(step), order.index(current)
        done = index < now_index or (step == "callback" and job.callback_state == "sent")
        entry = {"step": step, "completed": "True" if done else "False"}
        if step != "callback":
            entry["duration"] = _fmt(durations[step])
            if done:
                pass
            elif cancelled:
                entry["remaining_time"] = "Cancelled"
            elif index > now_index or job.state == JobState.QUEUED:
                entry["remaining_time"] = "Waiting"
            else:
                entry["remaining_time"] = _remaining(job, step, durations[step])
        elif cancelled:
            entry["remaining_time"] = "Cancelled"
        steps.append(entry)
    return {
        "session_key": session_key,
        "synthesizer_name": (job.config.get("protocol") or {}).get("synthesizer")
        or (job.config.get("job", {}).get("synthesizer") or {}).get("name"),
        "status": steps,
    }


def _remaining(job: JobRecord, step: str, spent: float) -> str:
    if step == "fitting" and job.epoch and job.epochs:
        done = job.epoch / job.epochs
        return str(round(spent * (1 - done) / done)) if done > 0 else "Waiting"
    lo, hi = {"initialization": (0.0, 0.05), "sampling": (0.9, 1.0)}.get(step, (0.05, 0.9))
    part = (job.fraction - lo) / (hi - lo) if hi > lo else 0.0
    if part <= 0.01 or job.started_at is None:
        return "Waiting"
    return str(round(spent * (1 - part) / part))


_GLOSSARY = {
    "Synthetic data": "Rows generated by a model trained on the real table; no row is copied.",
    "Epoch": "One pass of a neural network's training over the whole training table.",
    "Batch size": "Rows used for one update of a network's weights.",
    "Gaussian copula": "A statistical model: each column's distribution plus the correlations "
    "between the columns' normal scores.",
    "CTGAN": "Conditional tabular generative adversarial network: a generator learns to produce "
    "rows a discriminator cannot tell from real ones.",
    "TVAE": "Tabular variational autoencoder: rows are encoded to a latent space and decoded back.",
    "num_samples": "How many synthetic rows are generated.",
}


MAX_REPORT_BYTES = 20 * 1024 * 1024


def _quality_fragment(data: bytes) -> str:
    """The quality report the callback sent (its data part), rendered as embeddable HTML."""
    from pydantic import ValidationError

    from evaluation.document import QualityReport
    from evaluation.report_html import render_report_fragment

    pointer = f"/{REPORT_DATA_PART}"
    if len(data) > MAX_REPORT_BYTES:
        problem = FieldProblem(pointer, f"must be at most {MAX_REPORT_BYTES} bytes")
        raise ConfigError("report data too large", [problem])
    try:
        quality = QualityReport.model_validate_json(data)
    except ValidationError:
        problem = FieldProblem(pointer, "is not a report this service wrote (schema version 1)")
        raise ConfigError("invalid report data", [problem]) from None
    return render_report_fragment(quality)


def report(configuration: object, report_data: bytes | None = None) -> dict[str, str]:
    """HTML describing the synthesizer and every parameter as actually used, plus a glossary.

    With the report data the callback sent (part ``quality_report_data``), the quality and
    privacy report follows: the same content as the ``quality_report.html`` file.
    """
    from config.cinnamon import parse_algorithm_config
    from synthesizers.definitions import algorithm_to_spec
    from synthesizers.registry import REGISTRY

    algorithm = parse_algorithm_config(configuration, valid_names=REGISTRY)
    spec = algorithm_to_spec(algorithm)
    info = REGISTRY[spec.synthesizer.name]
    rows = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(json.dumps(v))}</td></tr>"
        for k, v in spec.synthesizer.params.items()
    )
    samples = "as many as the original data" if spec.num_rows is None else str(spec.num_rows)
    description = (
        f"<h3>{html.escape(info.name)}</h3><p>{html.escape(info.description)}</p>"
        f"<p>Synthetic rows: {html.escape(samples)}. Columns, their order, value formats "
        "and configured ranges are those of the attribute configuration.</p>"
        "<table><tr><th>parameter</th><th>value used</th></tr>"
        f"{rows}</table>"
    )
    if spec.ignored or spec.adjusted:
        notes = ", ".join(html.escape(x) for x in [*spec.ignored, *spec.adjusted])
        description += f"<p>Not applicable or adjusted: {notes}</p>"
    if report_data:
        description += _quality_fragment(report_data)
    glossary = (
        "<dl>"
        + "".join(
            f"<dt>{html.escape(term)}</dt><dd>{html.escape(text)}</dd>"
            for term, text in {**_GLOSSARY, **REPORT_GLOSSARY}.items()
        )
        + "</dl>"
    )
    return {"configDescription": description, "glossar": glossary}


def health() -> dict[str, str]:
    """Spring Boot actuator's shape."""
    return {"status": "UP"}


def started_response(job: JobRecord, session_key: str) -> dict[str, Any]:
    """``ExternalProcessResponse``: message, session_key, pid (our job id)."""
    return {
        "message": "synthetization process started",
        "session_key": session_key,
        "pid": job.id,
        "error": None,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(job.created_at)),
    }
