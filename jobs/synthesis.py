"""The Python API: read -> preprocess -> fit -> sample -> inverse -> write, in one call.

``fit_model`` returns a ``FittedModel`` that can sample again later without refitting and be
saved to (and loaded from) one integrity-checked model file that holds no training rows.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from config.job import JobConfig, OutputOptions
from config.schema import DatasetSchema, merge_schema
from config.settings import Settings
from preprocessing.copies import CopyFilter, digest_key
from preprocessing.errors import PreprocessingError
from preprocessing.formats import TableFormat
from preprocessing.inference import infer_schema
from preprocessing.pipeline import Pipeline
from preprocessing.readers import read_table
from preprocessing.report import PreprocessingReport
from preprocessing.writers import TableWriter, resolve_format
from synthesizers.base import Synthesizer, batch_seed, validate_params
from synthesizers.conditions import FixedValues
from synthesizers.errors import SynthesizerError
from synthesizers.model_file import read_model_file, write_model_file
from synthesizers.progress import Progress, ProgressCallback, ignore_progress
from synthesizers.registry import create, get_info


@dataclass
class Timings:
    """Seconds spent per stage."""

    stages: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a block under ``name`` (accumulating)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - start


@dataclass
class SynthesisResult:
    """What one synthesis run returns."""

    frame: pd.DataFrame | None
    report: PreprocessingReport
    timings: dict[str, float]
    model: FittedModel
    output_path: Path | None = None
    quality: QualityReport | None = None


if TYPE_CHECKING:  # the report stack (scikit-learn) is imported only when a report is asked for
    from evaluation.document import QualityReport

COPY_DIGESTS_BLOB = "protection.row_digests"
MAX_REDRAWS = 20


class FittedModel:
    """A fitted pipeline and synthesizer, able to sample any number of rows again."""

    def __init__(
        self,
        pipeline: Pipeline,
        synthesizer: Synthesizer,
        config: JobConfig,
        training_rows: int,
        settings: Settings,
        copy_filter: CopyFilter | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.synthesizer = synthesizer
        self.config = config
        self.training_rows = training_rows
        self.default_rows = training_rows  # rows sampled when no count is asked for
        self.settings = settings
        self.copy_filter = copy_filter  # protection: training-row digests, None when off
        self.copies_removed = 0  # synthetic rows equal to a training row, drawn again

    @property
    def report(self) -> PreprocessingReport:
        """The preprocessing report of the fit."""
        assert self.pipeline.report_ is not None
        return self.pipeline.report_

    def sample_tables(
        self, num_rows: int, seed: int | None = None, fixed: FixedValues | None = None
    ) -> Iterator[Any]:
        """Yield output batches (pyarrow tables of strings) for ``num_rows`` rows.

        With ``fixed`` (see ``jobs.conditions.fixed_values``) row i takes the fixed values
        of its combination; missing values are then written as drawn, not recalibrated.
        """
        base = self.config.seed if seed is None else seed
        done = 0
        for i, batch in enumerate(
            self.synthesizer.sample_batches(
                num_rows, seed=base, batch_rows=self.settings.sample_batch_rows, fixed=fixed
            )
        ):
            given = None if fixed is None else fixed.rows(done, done + len(batch))
            done += len(batch)
            rng = np.random.default_rng([base, i, 1])
            table = self.pipeline.inverse_transform(
                batch, rng, self.config.output.decimal, calibrate=fixed is None
            )
            yield table if self.copy_filter is None else self._without_copies(table, base, i, given)

    def _without_copies(
        self, table: pa.Table, base: int, index: int, given: pd.DataFrame | None = None
    ) -> pa.Table:
        """The batch with rows equal to a training row replaced by fresh, non-copied rows.

        With ``given`` (the batch's fixed values) each replaced row is drawn again with its
        own fixed values and keeps its place.
        """
        assert self.copy_filter is not None
        copies = self.copy_filter.copies(table)
        need = int(copies.sum())
        if not need:
            return table
        self.copies_removed += need
        if given is not None:
            return self._redraw_in_place(table, copies, given, base, index)
        parts = [table.filter(pa.array(~copies))]
        for attempt in range(1, MAX_REDRAWS + 1):
            seed = batch_seed(base, index * 1_000 + attempt + 1_000_000)
            extra = self.synthesizer.sample(2 * need + 16, seed=seed)
            rng = np.random.default_rng([base, index, 2, attempt])
            fresh = self.pipeline.inverse_transform(extra, rng, self.config.output.decimal)
            fresh = fresh.filter(pa.array(~self.copy_filter.copies(fresh)))
            parts.append(fresh.slice(0, need))
            need -= min(need, fresh.num_rows)
            if not need:
                return pa.concat_tables(parts)
        raise _memorisation_error()

    def _redraw_in_place(
        self, table: pa.Table, copies: np.ndarray, given: pd.DataFrame, base: int, index: int
    ) -> pa.Table:
        assert self.copy_filter is not None
        source = np.arange(table.num_rows)  # row i of the result: row source[i] of `parts`
        parts, offset = [table], table.num_rows
        pending = np.flatnonzero(copies)
        tries = 2
        for attempt in range(1, MAX_REDRAWS + 1):
            seed = batch_seed(base, index * 1_000 + attempt + 1_000_000)
            fixed = FixedValues(given.iloc[pending], np.full(len(pending), tries))
            extra = self.synthesizer.sample(fixed.total, seed=seed, fixed=fixed)
            rng = np.random.default_rng([base, index, 2, attempt])
            fresh = self.pipeline.inverse_transform(
                extra, rng, self.config.output.decimal, calibrate=False
            )
            ok = ~self.copy_filter.copies(fresh).reshape(len(pending), tries)
            found = ok.any(axis=1)
            pick = np.arange(len(pending)) * tries + ok.argmax(axis=1)
            source[pending[found]] = offset + pick[found]
            parts.append(fresh)
            offset += fresh.num_rows
            pending = pending[~found]
            if not len(pending):
                return pa.concat_tables(parts).take(pa.array(source))
        raise _memorisation_error()

    def sample(
        self,
        num_rows: int | None = None,
        seed: int | None = None,
        fixed: FixedValues | None = None,
    ) -> pd.DataFrame:
        """Synthetic rows as a DataFrame of strings in the input's formats (None = missing)."""
        n = self.default_rows if num_rows is None else num_rows
        parts = [t.to_pandas() for t in self.sample_tables(n, seed, fixed)]
        if not parts:
            return pd.DataFrame(
                {c: pd.Series(dtype=object) for c in self.pipeline.output_columns()}
            )
        frame = pd.concat(parts, ignore_index=True)
        return frame.astype(object).where(frame.notna(), None)

    def sample_to_file(
        self,
        path: Path,
        num_rows: int | None = None,
        seed: int | None = None,
        options: OutputOptions | None = None,
        progress: ProgressCallback = ignore_progress,
        head: list[pa.Table] | None = None,
        head_rows: int = 10_000,
        fixed: FixedValues | None = None,
    ) -> Path:
        """Stream synthetic rows to a file; memory holds one batch at a time.

        With ``head`` given, the first ``head_rows`` rows written are also kept in it (the
        report judges them).
        """
        n = self.default_rows if num_rows is None else num_rows
        opts = options or self.config.output
        fmt = resolve_format(self.pipeline.input_format, opts, path)
        writer = TableWriter(
            path,
            fmt,
            self.pipeline.output_columns(),
            self.pipeline.output_kinds(),
            self.pipeline.missing_markers(),
            opts.neutralize_formulas,
        )
        done = 0
        with writer:
            for table in self.sample_tables(n, seed, fixed):
                writer.write(table)
                if head is not None and done < head_rows:
                    head.append(table.slice(0, head_rows - done))
                done += table.num_rows
                progress(Progress("sampling", done / max(n, 1), f"{done} of {n} rows"))
        return path

    def save(self, path: Path) -> None:
        """Write pipeline state and synthesizer to one model file (HMAC-protected)."""
        meta, blobs = self.synthesizer.export_state()
        copies = self.copy_filter
        if copies is not None:
            blobs = {**blobs, COPY_DIGESTS_BLOB: copies.to_bytes()}
        write_model_file(
            path,
            self.settings.secret_key.encode(),
            {
                "kind": "fitted_model",
                "synthesizer": meta,
                "pipeline": self.pipeline.to_json(),
                "config": self.config.model_dump(mode="json", by_alias=True),
                "training_rows": self.training_rows,
                "default_rows": self.default_rows,
                "copy_columns": copies.columns if copies is not None else None,
            },
            blobs,
        )

    @classmethod
    def load(cls, path: Path, settings: Settings) -> FittedModel:
        """Load a model file written by ``save``; refuses files that fail the integrity check."""
        meta, blobs = read_model_file(path, settings.secret_key.encode())
        synth_cls = get_info(meta["synthesizer"]["synthesizer"]).load_class()
        digests = blobs.pop(COPY_DIGESTS_BLOB, None)
        copies = None
        if digests is not None and meta.get("copy_columns") is not None:
            key = digest_key(settings.secret_key.encode())
            copies = CopyFilter.from_bytes(digests, meta["copy_columns"], key)
        model = cls(
            Pipeline.from_json(meta["pipeline"]),
            synth_cls.from_state(meta["synthesizer"], blobs),
            JobConfig.model_validate(meta["config"]),
            meta["training_rows"],
            settings,
            copies,
        )
        model.default_rows = int(meta.get("default_rows", meta["training_rows"]))
        return model


def _memorisation_error() -> SynthesizerError:
    return SynthesizerError(
        "the model reproduces training rows so often that no new rows could replace them "
        "(memorisation): train for fewer epochs, or set protection.remove_copies to false"
    )


def load_input(
    path: Path, config: JobConfig, settings: Settings
) -> tuple[pd.DataFrame, TableFormat]:
    """Read an input table as strings, within the configured limits."""
    return read_table(path, settings.limits, sheet=config.sheet)


def infer_table_schema(
    frame: pd.DataFrame,
    fmt: TableFormat,
    config: JobConfig,
    factorized: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> DatasetSchema:
    """The inferred schema alone (before the user's overrides); ``factorized`` receives each
    column's codes and distinct values (see ``preprocessing.inference.infer_schema``)."""
    return infer_schema(
        frame,
        set(config.cleaning.missing_markers),
        fmt.decimal,
        config.cleaning.trim_whitespace,
        factorized,
    )


def resolve_schema(
    frame: pd.DataFrame,
    fmt: TableFormat,
    config: JobConfig,
    inferred: DatasetSchema | None = None,
) -> DatasetSchema:
    """Inferred schema (or the one inferred earlier for this table) with the overrides applied."""
    if inferred is None:
        inferred = infer_table_schema(frame, fmt, config)
    return merge_schema(inferred, config.dataset_schema)


def inspect_table(
    path: Path, config: JobConfig | None = None, settings: Settings | None = None
) -> DatasetSchema:
    """The full inferred (and overridden) schema of a table file."""
    cfg, stg = config or JobConfig(), settings or Settings()
    frame, fmt = load_input(path, cfg, stg)
    return resolve_schema(frame, fmt, cfg)


def fit_frame(
    frame: pd.DataFrame,
    fmt: TableFormat,
    config: JobConfig,
    settings: Settings,
    progress: ProgressCallback = ignore_progress,
    timings: Timings | None = None,
    inferred: DatasetSchema | None = None,
) -> FittedModel:
    """Preprocess and fit on a DataFrame of strings already read.

    ``inferred`` is the schema inferred earlier for this same table with the same cleaning
    options (the service infers it once, at upload); None infers it now.
    """
    timings = timings or Timings()
    if len(frame) < 2:
        raise PreprocessingError(f"the table has {len(frame)} data row; at least 2 rows are needed")
    synthesizer = create(
        config.synthesizer.name,
        config.synthesizer.params,
        seed=config.seed,
        threads=settings.threads,
    )
    with timings.stage("preprocessing"):
        progress(Progress("preprocessing", 0.0, "inferring column kinds"))
        schema = resolve_schema(frame, fmt, config, inferred)
        configured = set(config.dataset_schema.columns) if config.dataset_schema else set()
        pipeline = Pipeline(
            schema,
            config.cleaning,
            fmt,
            settings.limits.max_categories,
            configured,
            config.protection,
        )
        model_frame = pipeline.fit_transform(frame, np.random.default_rng([config.seed, 0]))
        progress(Progress("preprocessing", 1.0, "preprocessing done"))
    with timings.stage("fitting"):
        labels = {s.model_name: s.name for s in pipeline.steps_}
        label_of = {col: labels.get(col.removesuffix("__na"), col) for col in model_frame.columns}
        synthesizer.fit(model_frame, pipeline.model_columns(), progress, label_of)
    copies = None
    if config.protection.remove_copies:
        with timings.stage("preprocessing"):
            written = pipeline.inverse_transform(
                model_frame, np.random.default_rng([config.seed, 3]), config.output.decimal
            )
            # rows holding a protected value can never be written as they are: left out
            written = written.filter(pa.array(~pipeline.altered_by_protection(frame)))
            key = digest_key(settings.secret_key.encode())
            copies = CopyFilter.of_training(
                written, pipeline.learned_columns(), key, config.protection.k
            )
    return FittedModel(pipeline, synthesizer, config, len(frame), settings, copies)


def fit_model(
    path: Path,
    config: JobConfig | None = None,
    settings: Settings | None = None,
    progress: ProgressCallback = ignore_progress,
    timings: Timings | None = None,
) -> FittedModel:
    """Read a table file and fit the configured synthesizer on it."""
    cfg, stg = config or JobConfig(), settings or Settings()
    timings = timings or Timings()
    # refuse bad parameters before touching the data
    validate_params(get_info(cfg.synthesizer.name).params_model, cfg.synthesizer.params)
    with timings.stage("reading"):
        frame, fmt = load_input(path, cfg, stg)
    return fit_frame(frame, fmt, cfg, stg, progress, timings)


def synthesize(
    path: Path,
    output: Path | None = None,
    config: JobConfig | None = None,
    settings: Settings | None = None,
    progress: ProgressCallback = ignore_progress,
    keep_frame: bool = True,
    report: Path | Sequence[Path] | None = None,
) -> SynthesisResult:
    """Run the whole flow; returns the synthetic table, the report and per-stage timings.

    With ``report`` (``.json`` and/or ``.html`` paths) a share of the rows (``report.holdout`` in
    the configuration) is kept out of training, and the quality and privacy report judging
    the synthetic rows against them is written there.
    """
    cfg, stg = config or JobConfig(), settings or Settings()
    if cfg.num_rows is not None and cfg.num_rows > stg.limits.max_num_rows:
        from config.errors import ConfigError, FieldProblem

        raise ConfigError(
            "invalid job configuration",
            [FieldProblem("/num_rows", f"must be at most {stg.limits.max_num_rows}")],
        )
    timings = Timings()
    if report is None:
        model = fit_model(path, cfg, stg, progress, timings)
    else:
        from jobs.reporting import split_holdout

        validate_params(get_info(cfg.synthesizer.name).params_model, cfg.synthesizer.params)
        with timings.stage("reading"):
            table, fmt = load_input(path, cfg, stg)
        split = split_holdout(len(table), cfg.report.holdout, cfg.seed)
        train = table.iloc[split.train].reset_index(drop=True) if split.used else table
        model = fit_frame(train, fmt, cfg, stg, progress, timings)
        model.default_rows = len(table)
    frame = None
    head: list[pa.Table] = []
    with timings.stage("sampling"):
        if output is not None:
            from jobs.reporting import JUDGED_ROWS

            model.sample_to_file(
                output, cfg.num_rows, progress=progress, head=head, head_rows=JUDGED_ROWS
            )
        if keep_frame or (report is not None and output is None):
            frame = model.sample(cfg.num_rows)
    quality = None
    if report is not None:
        from jobs.reporting import build_report, strings_frame, write_report

        with timings.stage("evaluating"):
            synthetic = (
                frame if output is None else strings_frame(head, model.pipeline.output_columns())
            )
            rows = model.default_rows if cfg.num_rows is None else cfg.num_rows
            quality = build_report(
                model.pipeline,
                model.synthesizer.params.model_dump(mode="json"),
                cfg,
                table,
                split,
                synthetic,
                rows,
                model.copies_removed,
            )
            for target in [report] if isinstance(report, Path) else report:
                write_report(quality, target)
    return SynthesisResult(
        frame if keep_frame else None, model.report, dict(timings.stages), model, output, quality
    )
