"""The service layer: datasets and jobs as plain functions, shared by REST, Cinnamon and CLI.

Each function takes the ``Services`` it works with (store, artifacts, settings) and an
``owner`` (the API key's id, or "" when keys are off): a caller only ever sees its own rows.
Nothing here knows about HTTP.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from config.errors import ConfigError, FieldProblem
from config.job import DEFAULT_SYNTHESIZER, JobConfig, OutputOptions
from config.loader import load_document
from config.requests import JobRequest, SampleRequest
from config.schema import ColumnKind, DatasetSchema, merge_schema, parse_schema
from config.settings import Settings
from jobs.artifacts import ArtifactStore, new_id
from jobs.callbacks import check_callback_url
from jobs.conditions import fixed_values
from jobs.errors import (
    ConflictError,
    GoneError,
    NotFoundError,
    PayloadTooLargeError,
    QueueFullError,
)
from jobs.models import DatasetRecord, JobKind, JobRecord, JobState
from jobs.store import SqlJobStore
from jobs.synthesis import FittedModel
from jobs.wakeup import ChangeBoard, notify_runners, notify_watchers
from jobs.worker import (
    MODEL_FILE,
    PARSED_TABLE,
    QUALITY_HTML,
    QUALITY_JSON,
    REPORT_FILE,
    UPLOAD_META,
    inference_options,
    iter_string_batches,
    load_result_meta,
    write_parsed_table,
)

LONG_POLL_STEP_S = 0.02  # between reads of a long poll without change hints
LONG_POLL_FALLBACK_S = 0.1  # between reads of a long poll with them
UPLOAD_SUFFIXES = {".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".parquet", ".json"}
MEDIA_TYPES = {
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "parquet": "application/vnd.apache.parquet",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass
class Services:
    """What the service functions work with."""

    settings: Settings
    store: SqlJobStore
    artifacts: ArtifactStore
    changes: ChangeBoard  # hints of job changes on this machine (long polls wait on it)
    # long polls hold a web thread each: at most half of a worker's threads may wait at once
    long_polls: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(1)
    )


def open_services(settings: Settings) -> Services:
    """Connect to the store (creating or upgrading its tables) and the data directory."""
    artifacts = ArtifactStore(settings.data_dir)
    artifacts.root.mkdir(parents=True, exist_ok=True)
    store = SqlJobStore(settings.store_url)
    store.migrate()
    slots = threading.BoundedSemaphore(max(1, settings.web_threads // 2))
    return Services(settings, store, artifacts, ChangeBoard(settings.data_dir), slots)


# cursors --------------------------------------------------------------------------------


def encode_cursor(seq: int | None) -> str | None:
    """An opaque cursor for the page after ``seq``."""
    return None if seq is None else base64.urlsafe_b64encode(f"s{seq}".encode()).decode()


def decode_cursor(cursor: str | None) -> int | None:
    """The position an opaque cursor stands for; a bad cursor is a 422."""
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if text.startswith("s") and text[1:].isdigit():
            return int(text[1:])
    except ValueError:
        pass
    raise ConfigError("invalid query", [FieldProblem("/cursor", "not a cursor from this API")])


# datasets -------------------------------------------------------------------------------


def _spool(stream: BinaryIO, target: Path, max_bytes: int) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with target.open("wb") as out:
        while chunk := stream.read(1024 * 1024):
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLargeError(f"the upload exceeds the limit max_bytes={max_bytes}")
            digest.update(chunk)
            out.write(chunk)
    return size, digest.hexdigest()


def _upload_suffix(filename: str) -> str:
    suffix = Path(filename.replace("\\", "/")).suffix.lower()
    return suffix if suffix in UPLOAD_SUFFIXES else ".csv"


def parse_schema_text(text: bytes | str | None, settings: Settings) -> DatasetSchema | None:
    """A dataset schema from YAML/JSON text (``{columns: {...}}``), or None."""
    if text is None or not str(text).strip():
        return None
    doc = load_document(text, max_bytes=settings.limits.max_config_bytes)
    if isinstance(doc, dict) and "schema" in doc and "columns" not in doc:
        doc = doc["schema"]
    return parse_schema(doc)


def create_dataset(
    svc: Services,
    owner: str,
    stream: BinaryIO,
    filename: str,
    schema: DatasetSchema | None = None,
    sheet: str | None = None,
) -> tuple[DatasetRecord, str]:
    """Store an upload as a dataset after reading it fully; returns it and its sha256.

    Nothing is left behind when the table is refused.
    """
    from jobs.synthesis import infer_table_schema
    from preprocessing.readers import read_table

    dataset_id = new_id()
    suffix = _upload_suffix(filename)
    spooled = svc.artifacts.tmp_dir() / f"{dataset_id}{suffix}"
    try:
        size, digest = _spool(stream, spooled, svc.settings.limits.max_bytes)
        frame, fmt = read_table(spooled, svc.settings.limits, sheet=sheet)
        if len(frame) < 2:
            from preprocessing.errors import EmptyTableError

            raise EmptyTableError(f"the table has {len(frame)} data rows; at least 2 are needed")
        config = JobConfig.model_validate({"schema": schema, "sheet": sheet})
        factorized: dict[str, tuple[Any, Any]] = {}  # each column hashed once, used twice
        inferred = infer_table_schema(frame, fmt, config, factorized)
        effective = merge_schema(inferred, schema)
        folder = svc.artifacts.dataset_dir(dataset_id, create=True)
        spooled.replace(folder / f"input{suffix}")
        # the parsed table and its inferred schema, so that jobs need not parse it again
        write_parsed_table(frame, folder / PARSED_TABLE, factorized)
        meta = {
            "input_name": f"input{suffix}",
            "sheet": sheet,
            "overrides": None if schema is None else schema.model_dump(exclude_unset=True),
            "format": fmt.model_dump(mode="json"),
            "inferred": inferred.model_dump(mode="json", exclude_none=True),
            "inferred_with": inference_options(config),
        }
        (folder / UPLOAD_META).write_text(json.dumps(meta))
        record = DatasetRecord(
            id=dataset_id,
            owner=owner,
            filename=Path(filename.replace("\\", "/")).name.replace("\x00", "")[:255],
            file_kind=fmt.kind,
            size_bytes=size,
            rows=len(frame),
            columns=frame.shape[1],
            schema=effective.model_dump(mode="json", exclude_none=True),
            created_at=time.time(),
        )
        svc.store.add_dataset(record)
    except BaseException:
        spooled.unlink(missing_ok=True)
        svc.artifacts.remove_dataset(dataset_id)
        raise
    return record, digest


def get_dataset(svc: Services, owner: str, dataset_id: str) -> DatasetRecord:
    """One of the caller's datasets."""
    return svc.store.get_dataset(dataset_id, owner)


def list_datasets(
    svc: Services, owner: str, cursor: str | None, limit: int
) -> tuple[list[DatasetRecord], str | None]:
    """A page of the caller's datasets, newest first."""
    rows, after = svc.store.list_datasets(owner, decode_cursor(cursor), limit)
    return rows, encode_cursor(after)


def delete_dataset(svc: Services, owner: str, dataset_id: str) -> None:
    """Remove a dataset and its file; refused while a job still needs it."""
    svc.store.get_dataset(dataset_id, owner)
    if svc.store.active_jobs_of_dataset(dataset_id):
        raise ConflictError("the dataset is used by a queued or running job; cancel it first")
    svc.store.delete_dataset(dataset_id, owner)
    svc.artifacts.remove_dataset(dataset_id)


# jobs -----------------------------------------------------------------------------------


def _combine(base: dict[str, Any] | None, extra: DatasetSchema | None) -> DatasetSchema | None:
    columns: dict[str, dict[str, Any]] = {
        name: dict(spec) for name, spec in ((base or {}).get("columns") or {}).items()
    }
    if extra is not None:
        for name, spec in extra.columns.items():
            columns[name] = {**columns.get(name, {}), **spec.model_dump(exclude_unset=True)}
    return parse_schema({"columns": columns}) if columns else None


def _check_capacity(svc: Services) -> None:
    if svc.store.count_jobs([JobState.QUEUED]) >= svc.settings.max_queued_jobs:
        raise QueueFullError(
            f"the queue is full ({svc.settings.max_queued_jobs} jobs); retry later",
            retry_after=30,
        )


def request_hash(payload: object) -> str:
    """A digest of a request, to tell a repeated Idempotency-Key from a reused one."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def parse_job_request(data: object) -> JobRequest:
    """Validate a job request and its synthesizer parameters; report every bad field at once."""
    from pydantic import ValidationError

    from config.errors import config_error_from_validation
    from synthesizers.base import validate_params
    from synthesizers.errors import InvalidParametersError, UnknownSynthesizerError
    from synthesizers.registry import get_info

    problems: list[FieldProblem] = []
    request = None
    try:
        request = JobRequest.model_validate(data if data is not None else {})
    except ValidationError as exc:
        problems.extend(config_error_from_validation(exc, "job").problems)
    synth = data.get("synthesizer") if isinstance(data, dict) else None
    name = synth.get("name", DEFAULT_SYNTHESIZER) if isinstance(synth, dict) else None
    name = name or DEFAULT_SYNTHESIZER
    params = synth.get("params") if isinstance(synth, dict) else None
    if isinstance(name, str) and (params is None or isinstance(params, dict)):
        try:
            validate_params(get_info(name).params_model, params or {})
        except InvalidParametersError as exc:
            problems.extend(FieldProblem("/synthesizer/params" + p, m) for p, m in exc.problems)
        except UnknownSynthesizerError as exc:
            problems.append(FieldProblem("/synthesizer/name", str(exc)))
    if problems or request is None:
        raise ConfigError("invalid job", list(dict.fromkeys(problems)))
    return request


def _check_target(target: str | None, schema: DatasetSchema) -> None:
    """The report's utility target must be a column the report judges."""
    if target is None:
        return
    spec = schema.columns.get(target)
    if spec is None:
        problem = "is not a column of the dataset"
    elif spec.exclude or spec.kind in (ColumnKind.ID, ColumnKind.TEXT):
        problem = "names a column the report does not judge (excluded, id or text)"
    else:
        return
    raise ConfigError("invalid job", [FieldProblem("/report/target", problem)])


def submit_job(
    svc: Services,
    owner: str,
    request: JobRequest,
    idempotency: tuple[str, str] | None = None,
    protocol: dict[str, Any] | None = None,
) -> tuple[JobRecord, bool]:
    """Validate everything a job needs, then queue it; returns the job and whether it is new.

    ``protocol`` marks a job started through another protocol (the Cinnamon platform's), which
    changes how its callback is sent.
    """
    from synthesizers.base import validate_params
    from synthesizers.registry import get_info

    if request.dataset_id is None:
        raise ConfigError("invalid job", [FieldProblem("/dataset_id", "Field required")])
    dataset = svc.store.get_dataset(request.dataset_id, owner)
    meta = json.loads(
        (svc.artifacts.dataset_dir(dataset.id) / UPLOAD_META).read_text(encoding="utf-8")
    )
    validate_params(get_info(request.synthesizer.name).params_model, request.synthesizer.params)
    if request.num_rows is not None and request.num_rows > svc.settings.limits.max_num_rows:
        raise ConfigError(
            "invalid job",
            [FieldProblem("/num_rows", f"must be at most {svc.settings.limits.max_num_rows}")],
        )
    if request.callback_url is not None:
        check_callback_url(request.callback_url, svc.settings)
    overrides = _combine(meta.get("overrides"), request.dataset_schema)
    schema = merge_schema(DatasetSchema.model_validate(dataset.schema), request.dataset_schema)
    _check_target(request.report.target, schema)
    config = JobConfig(
        synthesizer=request.synthesizer,
        num_rows=request.num_rows,
        seed=request.seed,
        dataset_schema=overrides,
        cleaning=request.cleaning,
        output=request.output,
        sheet=meta.get("sheet"),
        protection=request.protection,
        report=request.report,
    )
    _check_capacity(svc)
    now = time.time()
    record = JobRecord(
        id=new_id(),
        owner=owner,
        kind=JobKind.FIT,
        state=JobState.QUEUED,
        config={
            "job": config.model_dump(mode="json", by_alias=True, exclude_none=True),
            "input_name": meta["input_name"],
            "dataset_rows": dataset.rows,
            **({"protocol": protocol} if protocol else {}),
        },
        created_at=now,
        dataset_id=dataset.id,
        callback_url=request.callback_url,
    )
    job, created = svc.store.add_job(record, idempotency)
    announce_job(svc, job.id)
    return job, created


def submit_samples(
    svc: Services,
    owner: str,
    job_id: str,
    request: SampleRequest,
    idempotency: tuple[str, str] | None = None,
) -> tuple[JobRecord, bool]:
    """Queue a sampling job on a fitted model (no refit)."""
    parent = svc.store.get_job(job_id, owner)
    model = svc.artifacts.job_dir(parent.id) / MODEL_FILE
    if parent.state != JobState.SUCCEEDED or parent.kind != JobKind.FIT or not model.is_file():
        raise ConflictError("only a succeeded training job has a model to sample from")
    if request.num_rows is not None and request.num_rows > svc.settings.limits.max_num_rows:
        raise ConfigError(
            "invalid request",
            [FieldProblem("/num_rows", f"must be at most {svc.settings.limits.max_num_rows}")],
        )
    if request.callback_url is not None:
        check_callback_url(request.callback_url, svc.settings)
    if request.conditions is not None:  # refused now, before any job exists
        fitted = FittedModel.load(model, svc.settings)
        fixed_values(fitted, request.conditions, request.num_rows)
    _check_capacity(svc)
    record = JobRecord(
        id=new_id(),
        owner=owner,
        kind=JobKind.SAMPLE,
        state=JobState.QUEUED,
        config=request.model_dump(mode="json", exclude={"callback_url"}),
        created_at=time.time(),
        dataset_id=parent.dataset_id,
        parent_job_id=parent.id,
        callback_url=request.callback_url,
    )
    job, created = svc.store.add_job(record, idempotency)
    announce_job(svc, job.id)
    return job, created


def get_job(svc: Services, owner: str, job_id: str) -> JobRecord:
    """One of the caller's jobs."""
    return svc.store.get_job(job_id, owner)


def wait_for_change(
    svc: Services, owner: str, job_id: str, version: int, wait_s: float
) -> JobRecord:
    """The job as soon as its version differs from ``version``, or after ``wait_s`` (long poll).

    Reads the store row again whenever a process on this machine announces a job change
    (``jobs.wakeup``), and every ``LONG_POLL_FALLBACK_S`` in any case (a job on another
    machine); without the hints, every ``LONG_POLL_STEP_S``. A cheap indexed read either way,
    and it works the same whichever process or machine the job runs on. When every long-poll
    slot of this worker is taken the job is returned at once, so waiting clients never starve
    the others.
    """
    board = svc.changes
    hinted = board.listening()
    mark = board.mark()
    job = svc.store.get_job(job_id, owner)
    if wait_s <= 0 or job.version != version or job.state.finished:
        return job
    if not svc.long_polls.acquire(blocking=False):
        return job
    try:
        deadline = time.monotonic() + wait_s
        while job.version == version and not job.state.finished:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if hinted:
                board.wait(mark, min(LONG_POLL_FALLBACK_S, left))
                mark = board.mark()
            else:
                time.sleep(min(LONG_POLL_STEP_S, left))
            job = svc.store.get_job(job_id, owner)
        return job
    finally:
        svc.long_polls.release()


def list_jobs(
    svc: Services, owner: str, state: JobState | None, cursor: str | None, limit: int
) -> tuple[list[JobRecord], str | None]:
    """A page of the caller's jobs, newest first."""
    rows, after = svc.store.list_jobs(owner, state, decode_cursor(cursor), limit)
    return rows, encode_cursor(after)


def cancel_job(svc: Services, owner: str, job_id: str) -> JobRecord:
    """Cancel: a queued job at once, a running one by its runner (409 when finished).

    With Celery, a queued job's message is also revoked; a running job is stopped by the
    worker that runs it, which sees the flag in the store within a poll.
    """
    job = svc.store.request_cancel(job_id, owner)
    notify_watchers(svc.settings.data_dir)
    if svc.settings.runner == "celery" and job.state == JobState.CANCELLED:
        from jobs.celery_app import revoke

        revoke(svc.settings, job_id)
    return job


def announce_job(svc: Services, job_id: str) -> None:
    """Tell whoever runs jobs that one was queued: wake the local runners, or publish it."""
    if svc.settings.runner != "celery":
        notify_runners(svc.settings.data_dir)
        return
    from jobs.celery_app import publish  # the broker client only where Celery is used

    svc.store.mark_dispatched(publish(svc.settings, [job_id]))


def delete_job(svc: Services, owner: str, job_id: str) -> None:
    """Remove a job and everything it owns (model, results, report); stops it if running."""
    job = svc.store.get_job(job_id, owner)
    if not job.state.finished:
        with contextlib.suppress(ConflictError):  # it may have just finished
            svc.store.request_cancel(job_id, owner)
    svc.store.delete_job(job_id, owner)
    svc.artifacts.remove_job(job_id)


@dataclass(frozen=True)
class ResultFile:
    """A finished result file and how to send it."""

    path: Path
    media_type: str
    download_name: str


def _finished_dir(svc: Services, owner: str, job_id: str) -> tuple[JobRecord, Path]:
    job = svc.store.get_job(job_id, owner)
    if job.state != JobState.SUCCEEDED:
        raise ConflictError(f"the job is {job.state.value}; results exist once it succeeded")
    folder = svc.artifacts.job_dir(job.id)
    if not folder.is_dir():
        raise GoneError("the job's files were removed")
    return job, folder


def open_result(svc: Services, owner: str, job_id: str, fmt: str | None) -> ResultFile:
    """The result file in the requested format (converted once from the canonical copy)."""
    from preprocessing.writers import TableWriter, resolve_format

    job, folder = _finished_dir(svc, owner, job_id)
    meta = load_result_meta(folder)
    primary: str = meta["primary"]
    name = primary if fmt is None else f"result.{fmt}"
    if name != primary:
        target = folder / name
        if not target.is_file():
            out = resolve_format(meta["format"], OutputOptions(format=fmt), target)  # type: ignore[arg-type]
            with (
                svc.artifacts.atomic(target) as tmp,
                TableWriter(
                    tmp,
                    out,
                    meta["columns"],
                    meta["kinds"],
                    meta["markers"],
                    meta["neutralize_formulas"],
                ) as writer,
            ):
                for batch in iter_string_batches(folder):
                    writer.write(batch)
    path = folder / name
    if not path.is_file():
        raise GoneError("the result file was removed")
    kind = name.rsplit(".", 1)[1]
    return ResultFile(path, MEDIA_TYPES[kind], f"synthetic-{job.id}.{kind}")


def preprocessing_report(svc: Services, owner: str, job_id: str) -> dict[str, Any]:
    """The preprocessing report of a training job."""
    job = svc.store.get_job(job_id, owner)
    source = job.parent_job_id or job.id
    path = svc.artifacts.job_dir(source) / REPORT_FILE
    if not path.is_file():
        if not job.state.finished:
            raise ConflictError(f"the job is {job.state.value}; the report is written when it ends")
        raise GoneError("this job has no preprocessing report (it failed before fitting)")
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return report


def _quality_file(svc: Services, owner: str, job_id: str, name: str) -> Path:
    job = svc.store.get_job(job_id, owner)
    path = svc.artifacts.job_dir(job.id) / name
    if path.is_file():
        return path
    if not job.state.finished:
        raise ConflictError(f"the job is {job.state.value}; the report is written when it ends")
    if job.state != JobState.SUCCEEDED:
        raise GoneError(f"the job {job.state.value}: reports exist for succeeded jobs only")
    if job.kind == JobKind.SAMPLE and job.config.get("conditions") is not None:
        raise NotFoundError(
            "conditional samples have no report: they follow the conditions, not the data"
        )
    if job.kind == JobKind.SAMPLE:
        raise GoneError("no report: the dataset was deleted before this sampling job ran")
    raise GoneError("the job's report was removed")


def quality_report(svc: Services, owner: str, job_id: str) -> dict[str, Any]:
    """The quality and privacy report of a succeeded job (versioned JSON document)."""
    path = _quality_file(svc, owner, job_id, QUALITY_JSON)
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return report


def quality_report_page(svc: Services, owner: str, job_id: str) -> Path:
    """The path of a succeeded job's report as a self-contained HTML page."""
    return _quality_file(svc, owner, job_id, QUALITY_HTML)


def readiness(svc: Services) -> dict[str, bool]:
    """Store writable, data directory writable, a runner alive."""
    try:
        svc.store.ping()
        store_ok = True
        runner_ok = svc.store.runner_alive(3 * svc.settings.lease_s)
    except Exception:  # any store failure means not ready
        store_ok = runner_ok = False
    checks = {"store": store_ok, "storage": svc.artifacts.writable(), "runner": runner_ok}
    if svc.settings.runner == "celery":
        checks["broker"] = _broker_reachable(svc.settings)
    return checks


def _broker_reachable(settings: Settings) -> bool:
    from jobs.celery_app import publisher

    try:
        with publisher(settings).connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception:  # any broker failure means not ready
        return False
    return True


def remove_tmp(svc: Services) -> None:
    """Remove spooled uploads left by a crashed web worker."""
    shutil.rmtree(svc.artifacts.root / "tmp", ignore_errors=True)
