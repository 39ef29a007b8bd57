"""The quality and privacy report of a job: holdout split, judged frames, document, files.

One code path for the job worker and the CLI: split off the holdout before training, then,
once the synthetic rows exist, judge them against the holdout (``evaluation.evaluate``) and
write the report as JSON (versioned schema) and as a self-contained HTML page. The scoring
stack (scikit-learn, SciPy) is imported by ``build_report`` only; the runner preloads it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from config.job import JobConfig
from evaluation.document import ProtectionSummary, QualityReport, RowCounts
from evaluation.options import EvaluationOptions
from preprocessing.pipeline import Pipeline

MIN_HOLDOUT_ROWS = 10  # below this the holdout's scores are noise: train on everything
MIN_TRAINING_ROWS = 2
# synthetic rows the report reads (rows are drawn independently: the first ones are a sample)
JUDGED_ROWS = EvaluationOptions().synthetic_rows_used()


@dataclass(frozen=True)
class HoldoutSplit:
    """Row positions of the training rows and of the held-out rows of one table."""

    train: np.ndarray
    holdout: np.ndarray

    @property
    def used(self) -> bool:
        """Whether rows were held out."""
        return len(self.holdout) > 0


def split_holdout(rows: int, fraction: float, seed: int) -> HoldoutSplit:
    """A seeded random split; no holdout when it would be too small to judge by."""
    size = round(rows * fraction)
    if fraction <= 0 or size < MIN_HOLDOUT_ROWS or rows - size < MIN_TRAINING_ROWS:
        return HoldoutSplit(np.arange(rows), np.arange(0))
    order = np.random.default_rng([seed, 0x401D]).permutation(rows)
    return HoldoutSplit(np.sort(order[size:]), np.sort(order[:size]))


def strings_frame(tables: list[pa.Table], columns: list[str]) -> pd.DataFrame:
    """Batches of written rows as one frame of strings (None = missing)."""
    if not tables:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    frame = pa.concat_tables(tables).to_pandas()
    return frame.astype(object).where(frame.notna(), None)


def judged_frames(
    pipeline: Pipeline, frames: list[pd.DataFrame]
) -> tuple[list[pd.DataFrame], dict[str, Any]]:
    """Each string frame as the evaluation reads it (same parsing for real and synthetic).

    The frames are judged together, in one pass per column: the work is per distinct value,
    and real and synthetic rows share most of their values.
    """
    columns = pipeline.output_columns()
    together = pd.concat([f[columns] for f in frames], ignore_index=True)
    judged, kinds = pipeline.analysis_frame(together)
    ends = np.cumsum([len(f) for f in frames])
    parts = [
        judged.iloc[end - len(f) : end].reset_index(drop=True)
        for f, end in zip(frames, ends, strict=True)
    ]
    return parts, kinds


def build_report(
    pipeline: Pipeline,
    params: dict[str, Any],
    config: JobConfig,
    table: pd.DataFrame,
    split: HoldoutSplit,
    synthetic: pd.DataFrame,
    synthetic_rows: int,
    rows_redrawn: int,
    job_id: str | None = None,
) -> QualityReport:
    """Judge ``synthetic`` (strings, possibly a sample of the rows written) against the table."""
    from evaluation.scoring import evaluate  # scikit-learn and SciPy: only when judging

    started = time.perf_counter()
    train = table.iloc[split.train].reset_index(drop=True)
    holdout = table.iloc[split.holdout].reset_index(drop=True) if split.used else None
    parts = [train, synthetic] + ([holdout] if holdout is not None else [])
    judged, kinds = judged_frames(pipeline, parts)
    asked = config.report.target
    target = asked if asked in kinds else None
    result = evaluate(
        judged[0],
        judged[2] if holdout is not None else None,
        judged[1],
        kinds,
        target=target,
        seed=config.seed,
        rare_k=config.protection.k,
    )
    if asked is not None and target is None:  # e.g. a column found constant: say so
        choice = f"{asked!r} was asked for but is not judged (constant, id, text or excluded); "
        utility = result.utility.model_copy(
            update={"target_choice": choice + result.utility.target_choice}
        )
        result = result.model_copy(update={"utility": utility})
    assert pipeline.report_ is not None
    reports = pipeline.report_.column_reports
    protection = config.protection
    return QualityReport(
        job_id=job_id,
        synthesizer=config.synthesizer.name,
        parameters=params,
        seed=config.seed,
        target=result.utility.target,
        rows=RowCounts(
            input=len(table),
            training=len(train),
            holdout=0 if holdout is None else len(holdout),
            synthetic=synthetic_rows,
        ),
        protection=ProtectionSummary(
            k=protection.k,
            rare_categories=protection.rare_categories,
            rare_values_replaced=sum(r.rare_replaced for r in reports),
            clip_extremes=protection.clip_extremes,
            values_clipped=sum(r.extremes_clipped for r in reports),
            remove_copies=protection.remove_copies,
            rows_redrawn=rows_redrawn,
        ),
        evaluation=result,
        preprocessing=pipeline.report_,
        seconds=time.perf_counter() - started,
    )


def write_report(report: QualityReport, path: Path) -> None:
    """The report as JSON (``.json``) or as a self-contained HTML page (any other suffix)."""
    from evaluation.report_html import render_report_html  # the page only when asked for

    if path.suffix.lower() == ".json":
        path.write_text(report.model_dump_json(indent=1), encoding="utf-8")
    else:
        path.write_text(render_report_html(report), encoding="utf-8")
