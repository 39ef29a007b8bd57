"""Column kind inference from string values. Depends only on the multiset of values, so it is
stable under row order.

Rules, applied to the non-missing values of a column (after trimming and missing markers):
1. No values: ``categorical`` (flagged all-missing).
2. Every value one of a boolean pair (true/false, yes/no, y/n, t/f, 1/0, ja/nein, wahr/falsch,
   in any case): ``boolean``.
3. At least 99% integers without leading zeros: ``integer`` - unless every value is distinct
   and there are at least 20: then they are keys, ``id`` (override the kind to keep an
   all-distinct measurement as ``integer``).
   Integers with leading zeros (``007``) are codes: ``categorical`` or ``id``.
4. At least 99% numbers with a fraction (in the file's decimal separator): ``decimal``.
5. At least 95% dates in one or more detected formats: ``date``, or ``datetime`` when the
   dominant format has a time of day.
6. Strings where every value is distinct and there are at least 20: ``id`` without spaces,
   ``text`` with spaces (names, free text: never copied to the output). Else ``text`` when
   the mean length exceeds 30 characters and more than half the values are distinct; else
   ``categorical``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from config.schema import ColumnKind, ColumnSpec, DatasetSchema
from preprocessing.timestamps import compile_pattern, detect_patterns

BOOLEAN_PAIRS = [
    {"true", "false"},
    {"yes", "no"},
    {"y", "n"},
    {"t", "f"},
    {"1", "0"},
    {"ja", "nein"},
    {"wahr", "falsch"},
    {"1.0", "0.0"},
]
NUMERIC_SHARE = 0.99
DATE_SHARE = 0.95
ID_MIN_ROWS = 20
TEXT_MIN_MEAN_LENGTH = 30
_DATE_SAMPLE = 2000

_INT = {".": re.compile(r"^[+-]?(0|[1-9]\d*)$"), ",": re.compile(r"^[+-]?(0|[1-9]\d*)$")}
_LEADING_ZERO = re.compile(r"^0\d+$")
_DEC = {
    ".": re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"),
    ",": re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d*)?$|^[+-]?,\d+$"),
}


def infer_column(values: pd.Series, decimal: str = ".") -> ColumnSpec:
    """Infer the spec of one column from its non-missing, trimmed string values."""
    if len(values) == 0:
        return ColumnSpec(kind=ColumnKind.CATEGORICAL)
    counts = values.value_counts(sort=False, dropna=False)
    distinct = pd.Series(counts.index.to_numpy(dtype=object), dtype=object)
    return infer_distinct(distinct, counts.to_numpy(), decimal)


def infer_distinct(distinct: pd.Series, weights: np.ndarray, decimal: str = ".") -> ColumnSpec:
    """Infer a column's spec from its distinct non-missing values and how often each occurs.

    Every test runs once per distinct value, weighted by how often it occurs: the same
    decision as value by value, at the cost of the distinct values only.
    """
    n = int(weights.sum())
    if n == 0:
        return ColumnSpec(kind=ColumnKind.CATEGORICAL)

    def share(matches: pd.Series) -> float:
        return float(weights[matches.to_numpy(dtype=bool)].sum() / n)

    lowered = set(distinct.str.lower())
    if len(lowered) <= 2 and any(lowered <= pair for pair in BOOLEAN_PAIRS) and len(lowered) == 2:
        return ColumnSpec(kind=ColumnKind.BOOLEAN)
    if share(distinct.str.match(_INT[decimal])) >= NUMERIC_SHARE:
        if distinct.size == n and n >= ID_MIN_ROWS:
            return ColumnSpec(kind=ColumnKind.ID)
        return ColumnSpec(kind=ColumnKind.INTEGER)
    if (
        not distinct.str.match(_LEADING_ZERO).any()
        and share(distinct.str.match(_DEC[decimal])) >= NUMERIC_SHARE
    ):
        return ColumnSpec(kind=ColumnKind.DECIMAL)
    temporal = _infer_temporal(distinct, share)
    if temporal is not None:
        return temporal
    if distinct.size == n and n >= ID_MIN_ROWS:
        spaced = distinct.str.contains(" ", regex=False).any()
        return ColumnSpec(kind=ColumnKind.TEXT if spaced else ColumnKind.ID)
    if distinct.str.len().mean() > TEXT_MIN_MEAN_LENGTH and distinct.size > n / 2:
        return ColumnSpec(kind=ColumnKind.TEXT)
    return ColumnSpec(kind=ColumnKind.CATEGORICAL)


def _infer_temporal(distinct: pd.Series, share: Callable[[pd.Series], float]) -> ColumnSpec | None:
    if not distinct.str.contains(r"\d", regex=True).all():
        return None
    sample = distinct.sort_values(kind="stable").iloc[:: max(1, len(distinct) // _DATE_SAMPLE)]
    patterns = detect_patterns(sample)
    if not patterns:
        return None
    covered = pd.Series(False, index=distinct.index)
    for text in patterns:
        covered |= compile_pattern(text).match(distinct)
    if share(covered) < DATE_SHARE:
        return None
    kind = ColumnKind.DATETIME if compile_pattern(patterns[0]).has_time else ColumnKind.DATE
    return ColumnSpec(kind=kind, formats=patterns)


def factorize_column(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes (-1: a null cell) and distinct values of a column of strings, in order of first
    appearance: one hashing pass that type inference and the parsed copy can share."""
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    return codes, np.asarray(uniques, dtype=object)


def infer_schema(
    frame: pd.DataFrame,
    markers: set[str],
    decimal: str = ".",
    trim: bool = True,
    factorized: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> DatasetSchema:
    """Infer a full schema for a DataFrame of strings.

    Each column is hashed once (``factorize_column``); trimming, missing markers and every
    test then work on its distinct values. ``factorized``, if given, receives each column's
    codes and distinct values, so that the caller need not hash the table again.
    """
    columns = {}
    for name in frame.columns:
        codes, uniques = factorize_column(frame[name])
        if factorized is not None:
            factorized[str(name)] = (codes, uniques)
        columns[name] = _infer_factorized(codes, uniques, markers, decimal, trim)
    return DatasetSchema(columns=columns)


def _infer_factorized(
    codes: np.ndarray, uniques: np.ndarray, markers: set[str], decimal: str, trim: bool
) -> ColumnSpec:
    """``infer_column`` of the column's trimmed values that are not missing markers."""
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))  # null cells: missing
    values = uniques
    if trim:  # trimming can make spellings equal (" a" and "a"): count them together
        stripped = np.asarray(pd.Index(uniques, dtype=object).str.strip(), dtype=object)
        merged_codes, merged = pd.factorize(stripped, use_na_sentinel=False)
        counts = np.bincount(merged_codes, weights=counts, minlength=len(merged)).astype(np.int64)
        values = np.asarray(merged, dtype=object)
    kept = ~pd.Index(values, dtype=object).isin(markers)
    return infer_distinct(pd.Series(values[kept], dtype=object), counts[kept], decimal)
