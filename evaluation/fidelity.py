"""Fidelity as SDMetrics' QualityReport scores it: Column Shapes and Column Pair Trends.

The synthetic rows are scored against real reference rows (the holdout; the training rows
when there is none), and so is a same-size sample of training rows: the ceiling.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

import evaluation.similarity as similarity
from evaluation.distributions import categorical_distribution, histogram_distribution
from evaluation.frames import Encoded, Stream, Tables, generator, missing_mask, sample_rows
from evaluation.model import (
    ColumnFidelity,
    Fidelity,
    Heatmap,
    HeatmapCell,
    PairFidelity,
    Score,
)
from evaluation.options import EvaluationOptions


@dataclass(frozen=True)
class Samples:
    """The row samples fidelity compares."""

    reference: Encoded
    synthetic: Encoded
    ceiling: Encoded
    reference_is_holdout: bool


@dataclass(frozen=True)
class _Labelled:
    """A table with contingency labels: category code + 1 (0 = missing) or SDMetrics bins."""

    table: Encoded
    labels: dict[str, np.ndarray]


@dataclass(frozen=True)
class _PairResult:
    score: float | None
    real: float | None
    candidate: float | None


def fidelity_samples(tables: Tables, options: EvaluationOptions, seed: int) -> Samples:
    """Reference, synthetic and ceiling rows; without a holdout the training rows are split
    in two disjoint parts, reference and ceiling."""
    cap = options.fidelity_rows
    synthetic = tables.synthetic.take(
        sample_rows(tables.synthetic.n_rows, cap, generator(seed, Stream.FIDELITY))
    )
    shuffled = generator(seed, Stream.CEILING).permutation(tables.train.n_rows)
    if tables.holdout is not None:
        reference = tables.holdout.take(
            sample_rows(tables.holdout.n_rows, cap, generator(seed, Stream.FIDELITY))
        )
        n_reference = 0
    else:
        n_reference = min(cap, max(tables.train.n_rows // 2, 1))
        reference = tables.train.take(np.sort(shuffled[:n_reference]))
    ceiling_rows = shuffled[n_reference : n_reference + synthetic.n_rows]
    ceiling = tables.train.take(np.sort(ceiling_rows))
    return Samples(reference, synthetic, ceiling, tables.holdout is not None)


def _label(table: Encoded, tables: Tables) -> _Labelled:
    labels = {
        c: similarity.discretize(v) if tables.is_numeric(c) else (v + 1).astype(np.int32)
        for c, v in table.columns.items()
    }
    return _Labelled(table, labels)


def _n_labels(tables: Tables, column: str) -> int:
    return (
        similarity.CONTINGENCY_BINS + 2
        if tables.is_numeric(column)
        else len(tables.levels[column]) + 1
    )


def column_score(tables: Tables, column: str, real: Encoded, candidate: Encoded) -> float | None:
    """KSComplement or TVComplement of one column."""
    a, b = real.columns[column], candidate.columns[column]
    if tables.is_numeric(column):
        return similarity.ks_complement(a, b)
    return similarity.tv_complement(a, b, len(tables.levels[column]))


def _pair(tables: Tables, a: str, b: str, real: _Labelled, candidate: _Labelled) -> _PairResult:
    """One pair's similarity with the association in the real and candidate rows."""
    if tables.is_numeric(a) and tables.is_numeric(b):
        score, r_real, r_candidate = similarity.correlation_similarity(
            (real.table.columns[a], real.table.columns[b]),
            (candidate.table.columns[a], candidate.table.columns[b]),
        )
        return _PairResult(score, r_real, r_candidate)
    shape = (_n_labels(tables, a), _n_labels(tables, b))
    table_real = similarity.contingency_table(real.labels[a], real.labels[b], shape)
    table_candidate = similarity.contingency_table(candidate.labels[a], candidate.labels[b], shape)
    return _PairResult(
        similarity.contingency_similarity(table_real, table_candidate),
        similarity.cramers_v(table_real),
        similarity.cramers_v(table_candidate),
    )


def _counted(result: _PairResult, correlation: bool, options: EvaluationOptions) -> bool:
    """SDMetrics' rule: a pair counts when the real association exceeds the threshold."""
    threshold = (
        options.pair_correlation_threshold if correlation else options.pair_association_threshold
    )
    if threshold <= 0:
        return True
    return result.real is not None and abs(result.real) > threshold


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def _missing_rate(values: np.ndarray) -> float:
    return float(missing_mask(values).mean()) if len(values) else 0.0


def _column(
    tables: Tables, column: str, samples: Samples, rare_k: int, options: EvaluationOptions
) -> ColumnFidelity:
    """Score, missing rates and plot data of one column."""
    real, synthetic = samples.reference.columns[column], samples.synthetic.columns[column]
    train = tables.train.columns[column]
    if tables.is_numeric(column):
        distribution = histogram_distribution(train, synthetic, rare_k, options.distribution_bins)
    else:
        distribution = categorical_distribution(
            train, synthetic, tables.levels[column], rare_k, options.distribution_levels
        )
    missing_real, missing_synthetic = _missing_rate(real), _missing_rate(synthetic)
    return ColumnFidelity(
        name=column,
        type=tables.kinds[column],
        metric="KSComplement" if tables.is_numeric(column) else "TVComplement",
        score=column_score(tables, column, samples.reference, samples.synthetic),
        expected=column_score(tables, column, samples.reference, samples.ceiling),
        missing_rate_real=missing_real,
        missing_rate_synthetic=missing_synthetic,
        missing_rate_difference=abs(missing_real - missing_synthetic),
        distribution=distribution,
    )


def _pairs(
    tables: Tables, samples: Samples, options: EvaluationOptions
) -> tuple[list[PairFidelity], list[HeatmapCell]]:
    real = _label(samples.reference, tables)
    synthetic, ceiling = _label(samples.synthetic, tables), _label(samples.ceiling, tables)
    pairs, cells = [], []
    for a, b in itertools.combinations(tables.names(), 2):
        correlation = tables.is_numeric(a) and tables.is_numeric(b)
        result = _pair(tables, a, b, real, synthetic)
        expected = _pair(tables, a, b, real, ceiling)
        pairs.append(
            PairFidelity(
                a=a,
                b=b,
                metric="CorrelationSimilarity" if correlation else "ContingencySimilarity",
                score=result.score,
                expected=expected.score,
                counted=_counted(result, correlation, options),
            )
        )
        difference = (
            None
            if result.real is None or result.candidate is None
            else result.candidate - result.real
        )
        cells.append(
            HeatmapCell(
                a=a,
                b=b,
                measure="pearson" if correlation else "cramers_v",
                real=result.real,
                synthetic=result.candidate,
                difference=difference,
            )
        )
    return pairs, cells


def score_fidelity(
    tables: Tables, samples: Samples, rare_k: int, options: EvaluationOptions
) -> Fidelity:
    """Column Shapes, Column Pair Trends and their mean, each next to its ceiling."""
    columns = [_column(tables, c, samples, rare_k, options) for c in tables.names()]
    pairs, cells = _pairs(tables, samples, options)
    counted = [p for p in pairs if p.counted]
    shapes = Score(
        score=_mean([c.score for c in columns]), expected=_mean([c.expected for c in columns])
    )
    pair_trends = Score(
        score=_mean([p.score for p in counted]), expected=_mean([p.expected for p in counted])
    )
    overall = Score(
        score=_mean([shapes.score, pair_trends.score]),
        expected=_mean([shapes.expected, pair_trends.expected]),
    )
    return Fidelity(
        reference="holdout" if samples.reference_is_holdout else "training",
        overall=overall,
        shapes=shapes,
        pair_trends=pair_trends,
        columns=columns,
        pairs=pairs,
        heatmap=Heatmap(columns=tables.names(), cells=cells),
    )
