"""The job function ``run_job(job_id)``: what one child process does for one job.

It receives only a job id, reads everything else from the store and the artifact store,
writes its results under temporary names and renames them into place, and records the
outcome in the job row. Re-running it for the same job id rewrites the same files.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from config.job import JobConfig, OutputOptions
from config.schema import ColumnKind, DatasetSchema
from config.settings import Settings
from jobs import string_tables
from jobs.artifacts import ArtifactStore
from jobs.conditions import fixed_values
from jobs.errors import NotFoundError
from jobs.models import JobKind, JobRecord, JobState
from jobs.problems import problem_for
from jobs.reporting import (
    JUDGED_ROWS,
    HoldoutSplit,
    build_report,
    split_holdout,
    strings_frame,
    write_report,
)
from jobs.store import SqlJobStore
from jobs.synthesis import FittedModel, Timings, fit_frame, load_input
from jobs.wakeup import notify_runners, notify_watchers
from preprocessing.formats import TableFormat
from preprocessing.writers import TableWriter, resolve_format
from synthesizers.base import validate_params
from synthesizers.conditions import FixedValues
from synthesizers.progress import Progress
from synthesizers.registry import get_info

log = logging.getLogger(__name__)

UPLOAD_META = "upload.json"
PARSED_TABLE = "parsed.arrow"  # the upload as strings, written once at upload
OLD_PARSED_TABLE = "parsed.parquet"  # the same, as uploads of earlier releases kept it
MODEL_FILE = "model.cinnamon"
REPORT_FILE = "preprocessing.json"
QUALITY_JSON = "report.json"  # the quality and privacy report (versioned JSON)
QUALITY_HTML = "report.html"  # the same as a self-contained page
RESULT_META = "result-meta.json"
STRINGS = "strings.arrow"  # every value as written, for conversions on download
OLD_STRINGS = "strings.parquet"  # the same, as jobs of earlier releases kept it

# (start, end) of each stage on the job's overall progress bar
FIT_PLAN = {"reading": (0.0, 0.02), "preprocessing": (0.02, 0.05), "fitting": (0.05, 0.9)}
FIT_PLAN.update(sampling=(0.9, 0.97), evaluating=(0.97, 1.0))
SAMPLE_PLAN = {"loading": (0.0, 0.05), "sampling": (0.05, 0.95), "evaluating": (0.95, 1.0)}


class StoreProgress:
    """A progress callback that writes to the job row, at most every ``interval`` seconds.

    It also keeps the seconds spent so far per stage in the row's ``timings`` (the final
    timings replace them when the job ends), so that status readers see stage durations
    while the job runs.
    """

    def __init__(
        self,
        store: SqlJobStore,
        job_id: str,
        plan: dict[str, tuple[float, float]],
        data_dir: Path | None = None,
    ) -> None:
        self.store, self.job_id, self.plan = store, job_id, plan
        self.data_dir = data_dir  # where to announce each update (None: nowhere)
        self.interval = 0.5
        self._last = 0.0
        self._last_key: tuple[str, int | None] = ("", None)
        self._stage_start: dict[str, float] = {}
        self._spent: dict[str, float] = {}
        self._current: str | None = None

    def _running_timings(self, stage: str, now: float) -> dict[str, float]:
        if stage != self._current:
            if self._current is not None:
                self._spent[self._current] = now - self._stage_start[self._current]
            self._stage_start.setdefault(stage, now)
            self._current = stage
        return {**self._spent, stage: round(now - self._stage_start[stage], 3)}

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        timings = self._running_timings(p.stage, now)
        key = (p.stage, p.epoch)
        if key == self._last_key and now - self._last < self.interval and p.fraction < 1.0:
            return
        lo, hi = self.plan.get(p.stage, (0.0, 1.0))
        self.store.update_job(
            self.job_id,
            timings=timings,
            stage=p.stage,
            fraction=round(lo + (hi - lo) * min(max(p.fraction, 0.0), 1.0), 4),
            message=p.message[:200],
            epoch=p.epoch,
            epochs=p.epochs,
            loss=None if p.loss is None else float(p.loss),
        )
        if self.data_dir is not None:
            notify_watchers(self.data_dir)
        self._last, self._last_key = now, key


def result_name(fmt: TableFormat) -> str:
    """The file name of a result written in ``fmt``."""
    if fmt.kind == "csv":
        return "result.tsv" if fmt.delimiter == "\t" else "result.csv"
    return f"result.{fmt.kind}"


def write_results(
    model: FittedModel,
    job_dir: Path,
    artifacts: ArtifactStore,
    num_rows: int | None,
    seed: int,
    options: OutputOptions,
    progress: StoreProgress,
    head: list[pa.Table] | None = None,
    fixed: FixedValues | None = None,
) -> tuple[str, int]:
    """Sample into the primary result (input's conventions) and a canonical Parquet copy.

    With ``head`` given, the first ``JUDGED_ROWS`` rows written are also kept in it.
    """
    pipeline = model.pipeline
    n = model.default_rows if num_rows is None else num_rows
    primary = resolve_format(pipeline.input_format, options, Path("result"))
    columns, kinds = pipeline.output_columns(), pipeline.output_kinds()
    markers = pipeline.missing_markers()
    name = result_name(primary)
    schema = pa.schema([(c, pa.string()) for c in columns])
    done = 0
    with ExitStack() as stack:
        writer = stack.enter_context(
            TableWriter(  # writes a .partial file and renames it on success
                job_dir / name, primary, columns, kinds, markers, options.neutralize_formulas
            )
        )
        strings_tmp = stack.enter_context(artifacts.atomic(job_dir / STRINGS))
        strings = stack.enter_context(string_tables.BatchWriter(strings_tmp, schema))
        for table in model.sample_tables(n, seed, fixed):
            writer.write(table)
            strings.write_table(table.cast(schema))
            if head is not None and done < JUDGED_ROWS:
                head.append(table.slice(0, JUDGED_ROWS - done))
            done += table.num_rows
            progress(Progress("sampling", done / max(n, 1), f"{done} of {n} rows"))
    meta = {
        "primary": name,
        "format": primary.model_dump(mode="json"),
        "columns": columns,
        "kinds": {k: v.value for k, v in kinds.items()},
        "markers": markers,
        "neutralize_formulas": options.neutralize_formulas,
        "rows": done,
    }
    with artifacts.atomic(job_dir / RESULT_META) as tmp:
        tmp.write_text(json.dumps(meta))
    return name, done


def iter_string_batches(job_dir: Path) -> Iterator[pa.Table]:
    """The written result again, batch by batch, as tables of strings."""
    old = job_dir / OLD_STRINGS
    yield from string_tables.iter_batches(old if old.is_file() else job_dir / STRINGS)


def load_result_meta(job_dir: Path) -> dict[str, Any]:
    """The description of a job's written result (see ``write_results``)."""
    meta: dict[str, Any] = json.loads((job_dir / RESULT_META).read_text())
    meta["kinds"] = {k: ColumnKind(v) for k, v in meta["kinds"].items()}
    meta["format"] = TableFormat.model_validate(meta["format"])
    return meta


def write_parsed_table(
    frame: pd.DataFrame,
    path: Path,
    factorized: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> None:
    """Keep a table already read (all strings) so that jobs can skip parsing it again."""
    string_tables.write_frame(frame, path, factorized)


def inference_options(config: JobConfig) -> dict[str, Any]:
    """The cleaning options that type inference depends on."""
    return {
        "missing_markers": sorted(config.cleaning.missing_markers),
        "trim_whitespace": config.cleaning.trim_whitespace,
    }


def _upload_frame(
    dataset_id: str, config: JobConfig, settings: Settings, artifacts: ArtifactStore
) -> tuple[pd.DataFrame, TableFormat, DatasetSchema | None]:
    """The uploaded table as strings, its format and the schema inferred at upload (or None)."""
    folder = artifacts.dataset_dir(dataset_id)
    meta = json.loads((folder / UPLOAD_META).read_text(encoding="utf-8"))
    parsed = folder / PARSED_TABLE
    if not parsed.is_file() and (folder / OLD_PARSED_TABLE).is_file():
        parsed = folder / OLD_PARSED_TABLE
    if not parsed.is_file():  # an upload from before the parsed copy existed
        return (*load_input(folder / meta["input_name"], config, settings), None)
    inferred = None
    if meta.get("inferred_with") == inference_options(config):
        inferred = DatasetSchema.model_validate(meta["inferred"])
    fmt = TableFormat.model_validate(meta["format"])
    return string_tables.read_frame(parsed), fmt, inferred


def _training_rows(frame: pd.DataFrame, split: HoldoutSplit) -> pd.DataFrame:
    return frame.iloc[split.train].reset_index(drop=True) if split.used else frame


def _write_quality_report(
    model: FittedModel,
    config: JobConfig,
    frame: pd.DataFrame,
    head: list[pa.Table],
    rows: int,
    job_id: str,
    job_dir: Path,
    artifacts: ArtifactStore,
    progress: StoreProgress,
) -> None:
    """Judge the rows written against the holdout; write report.json and report.html."""
    progress(Progress("evaluating", 0.0, "judging the synthetic rows against the holdout"))
    split = split_holdout(len(frame), config.report.holdout, config.seed)
    params = model.synthesizer.params.model_dump(mode="json")
    synthetic = strings_frame(head, model.pipeline.output_columns())
    report = build_report(
        model.pipeline, params, config, frame, split, synthetic, rows, model.copies_removed, job_id
    )
    for name in (QUALITY_JSON, QUALITY_HTML):
        with artifacts.atomic(job_dir / name) as tmp:
            write_report(report, tmp)  # the suffix (.json or .html) is kept
    progress(Progress("evaluating", 1.0, "report written"))


def _run_fit(
    job: JobRecord, settings: Settings, store: SqlJobStore, artifacts: ArtifactStore, t: Timings
) -> tuple[str, int]:
    config = JobConfig.model_validate(job.config["job"])
    assert job.dataset_id is not None
    if not (artifacts.dataset_dir(job.dataset_id) / UPLOAD_META).is_file():
        raise NotFoundError("the job's dataset was deleted")
    validate_params(get_info(config.synthesizer.name).params_model, config.synthesizer.params)
    job_dir = artifacts.job_dir(job.id, create=True)
    progress = StoreProgress(store, job.id, FIT_PLAN, settings.data_dir)
    with t.stage("reading"):
        frame, fmt, inferred = _upload_frame(job.dataset_id, config, settings, artifacts)
    # the holdout is split off before training and only ever used to judge by
    split = split_holdout(len(frame), config.report.holdout, config.seed)
    model = fit_frame(_training_rows(frame, split), fmt, config, settings, progress, t, inferred)
    model.default_rows = len(frame)
    with t.stage("saving"):
        with artifacts.atomic(job_dir / MODEL_FILE) as tmp:
            model.save(tmp)
        with artifacts.atomic(job_dir / REPORT_FILE) as tmp:
            tmp.write_text(model.report.model_dump_json())
    head: list[pa.Table] = []
    with t.stage("sampling"):
        name, rows = write_results(
            model, job_dir, artifacts, config.num_rows, config.seed, config.output, progress, head
        )
    with t.stage("evaluating"):
        _write_quality_report(
            model, config, frame, head, rows, job.id, job_dir, artifacts, progress
        )
    return name, rows


def _run_sample(
    job: JobRecord, settings: Settings, store: SqlJobStore, artifacts: ArtifactStore, t: Timings
) -> tuple[str, int]:
    assert job.parent_job_id is not None
    progress = StoreProgress(store, job.id, SAMPLE_PLAN, settings.data_dir)
    progress(Progress("loading", 0.0, "loading the fitted model"))
    with t.stage("loading"):
        model = FittedModel.load(artifacts.job_dir(job.parent_job_id) / MODEL_FILE, settings)
    job_dir = artifacts.job_dir(job.id, create=True)
    options = OutputOptions.model_validate(job.config.get("output") or {})
    head: list[pa.Table] = []
    num_rows, fixed = job.config["num_rows"], None
    conditions = job.config.get("conditions")
    if conditions is not None:  # checked at submission; checked again against the file
        fixed, num_rows = fixed_values(model, conditions, num_rows)
    with t.stage("sampling"):
        name, rows = write_results(
            model, job_dir, artifacts, num_rows, job.config["seed"], options, progress, head,
            fixed,
        )  # fmt: skip
    if fixed is not None:  # rows drawn given values follow the conditions, not the data:
        return name, rows  # judging them against the real rows would mislead
    # judged like its parent: the same training rows and holdout, while the dataset exists
    parent = store.get_job(job.parent_job_id)
    config = JobConfig.model_validate(parent.config["job"])
    if parent.dataset_id and (artifacts.dataset_dir(parent.dataset_id) / UPLOAD_META).is_file():
        with t.stage("evaluating"):
            frame = _upload_frame(parent.dataset_id, config, settings, artifacts)[0]
            _write_quality_report(
                model, config, frame, head, rows, job.id, job_dir, artifacts, progress
            )
    return name, rows


def run_job(job_id: str, settings: Settings, store: SqlJobStore | None = None) -> None:
    """Run one claimed job to its end state; every failure is recorded, none escapes.

    ``store`` is a store connection opened ahead (a standby process's); None opens one.
    """
    store = store or SqlJobStore(settings.store_url)
    artifacts = ArtifactStore(settings.data_dir)
    try:
        job = store.get_job(job_id)
    except NotFoundError:
        return  # deleted before it started
    if job.state != JobState.RUNNING:
        return
    timings = Timings()
    try:
        run = _run_fit if job.kind == JobKind.FIT else _run_sample
        name, rows = run(job, settings, store, artifacts, timings)
    except Exception as exc:  # every failure ends the job with a problem object
        if not isinstance(exc, MemoryError):
            log.warning("job %s failed: %s", job_id, type(exc).__name__)
        store.finish(
            job_id,
            JobState.FAILED,
            error=problem_for(exc),
            timings=timings.stages,
            message="failed",
        )
        notify_watchers(settings.data_dir)
        return
    store.finish(
        job_id,
        JobState.SUCCEEDED,
        stage="done",
        fraction=1.0,
        message=f"{rows} rows",
        result_file=name,
        result_rows=rows,
        timings=timings.stages,
    )
    notify_watchers(settings.data_dir)  # long polls answer now
    notify_runners(settings.data_dir)  # a slot is free: the runner need not wait for its poll
