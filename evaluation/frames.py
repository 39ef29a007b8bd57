"""Input contract of the evaluation: validation, one shared encoding, seeded row samples."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from evaluation.errors import EvaluationInputError

ColumnType = Literal["numerical", "datetime", "categorical"]
COLUMN_TYPES: tuple[ColumnType, ...] = ("numerical", "datetime", "categorical")
MISSING = -1  # category code of a missing value


class Stream(IntEnum):
    """Independent random streams: changing one cap leaves every other sample unchanged."""

    ENCODE_TRAIN = 1
    ENCODE_HOLDOUT = 2
    ENCODE_SYNTHETIC = 3
    FIDELITY = 4
    CEILING = 5
    MATCH = 6
    DISTANCE = 7
    UTILITY = 8


def generator(seed: int, stream: Stream) -> np.random.Generator:
    """The numpy Generator of one purpose, derived from the caller's seed."""
    return np.random.default_rng([seed, int(stream)])


def sample_rows(n_rows: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``min(size, n_rows)`` rows drawn without replacement."""
    if size >= n_rows:
        return np.arange(n_rows)
    return np.sort(rng.choice(n_rows, size=size, replace=False))


@dataclass(frozen=True)
class Encoded:
    """One table as arrays: floats (NaN = missing) or category codes (-1 = missing)."""

    columns: dict[str, np.ndarray]
    n_rows: int

    def take(self, rows: np.ndarray) -> Encoded:
        """The table restricted to ``rows`` (indices)."""
        return Encoded({c: v[rows] for c, v in self.columns.items()}, len(rows))


@dataclass(frozen=True)
class Tables:
    """The three tables encoded alike, with the input sizes before any sampling."""

    kinds: dict[str, ColumnType]
    levels: dict[str, np.ndarray]  # categorical column -> level of each code
    train: Encoded
    holdout: Encoded | None
    synthetic: Encoded
    input_rows: tuple[int, int, int]  # train, holdout, synthetic

    def names(self, kind: ColumnType | None = None) -> list[str]:
        """Column names in input order, optionally of one kind only."""
        return [c for c, k in self.kinds.items() if kind is None or k == kind]

    def is_numeric(self, column: str) -> bool:
        """Whether a column holds numbers (numerical or datetime)."""
        return self.kinds[column] != "categorical"


def validate(
    train: pd.DataFrame,
    holdout: pd.DataFrame | None,
    synthetic: pd.DataFrame,
    kinds: Mapping[str, ColumnType],
) -> None:
    """Raise EvaluationInputError where the frames break the input contract."""
    bad = {c: k for c, k in kinds.items() if k not in COLUMN_TYPES}
    if bad:
        raise EvaluationInputError(f"unknown column types {bad}; use one of {COLUMN_TYPES}")
    if not kinds:
        raise EvaluationInputError("kinds is empty: name at least one column")
    named = [("train", train), ("synthetic", synthetic)]
    if holdout is not None:
        named.append(("holdout", holdout))
    for name, frame in named:
        if list(frame.columns) != list(kinds):
            raise EvaluationInputError(
                f"the {name} frame's columns {list(frame.columns)} differ from the kinds' "
                f"columns {list(kinds)}; pass the same columns in the same order"
            )
        _check_dtypes(name, frame, kinds)
    if train.empty or synthetic.empty:
        raise EvaluationInputError("train and synthetic need at least one row each")


def _check_dtypes(name: str, frame: pd.DataFrame, kinds: Mapping[str, ColumnType]) -> None:
    """Numbers must be numeric (and finite); categories may be any hashable values."""
    for column, kind in kinds.items():
        if kind == "categorical":
            continue
        series = frame[column]
        if not is_numeric_dtype(series) or is_bool_dtype(series):
            raise EvaluationInputError(
                f"{name} column {column!r} is {kind} but has dtype {series.dtype}; pass float64 "
                "(datetime as seconds since the Unix epoch)"
            )
        if np.isinf(series.to_numpy(dtype=float, na_value=np.nan)).any():
            raise EvaluationInputError(
                f"{name} column {column!r} has infinite values; use NaN for missing values"
            )


def encode(
    train: pd.DataFrame,
    holdout: pd.DataFrame | None,
    synthetic: pd.DataFrame,
    kinds: Mapping[str, ColumnType],
    caps: tuple[int, int],
    seed: int,
) -> Tables:
    """Encode samples of the frames (train and holdout up to ``caps[0]`` rows, synthetic up to
    ``caps[1]``) with category codes shared by all three."""
    frames = {
        "train": (train, caps[0], Stream.ENCODE_TRAIN),
        "holdout": (holdout, caps[0], Stream.ENCODE_HOLDOUT),
        "synthetic": (synthetic, caps[1], Stream.ENCODE_SYNTHETIC),
    }
    picked: dict[str, pd.DataFrame] = {}
    for name, (frame, cap, stream) in frames.items():
        if frame is not None and len(frame):
            rows = sample_rows(len(frame), cap, generator(seed, stream))
            picked[name] = frame if len(rows) == len(frame) else frame.iloc[rows]
    columns: dict[str, dict[str, np.ndarray]] = {name: {} for name in picked}
    levels: dict[str, np.ndarray] = {}
    for column, kind in kinds.items():
        if kind == "categorical":
            levels[column] = _factorize(column, picked, columns)
        else:
            for name, frame in picked.items():
                columns[name][column] = frame[column].to_numpy(dtype=np.float64, na_value=np.nan)
    encoded = {name: Encoded(cols, len(picked[name])) for name, cols in columns.items()}
    return Tables(
        kinds=dict(kinds),
        levels=levels,
        train=encoded["train"],
        holdout=encoded.get("holdout"),
        synthetic=encoded["synthetic"],
        input_rows=(len(train), 0 if holdout is None else len(holdout), len(synthetic)),
    )


def _factorize(
    column: str, picked: dict[str, pd.DataFrame], out: dict[str, dict[str, np.ndarray]]
) -> np.ndarray:
    """Codes of one categorical column over all frames at once (so equal values share a code);
    returns the level of each code."""
    parts = [frame[column].to_numpy(dtype=object) for frame in picked.values()]
    codes, uniques = pd.factorize(np.concatenate(parts), use_na_sentinel=True)
    dtype = np.int16 if len(uniques) < np.iinfo(np.int16).max else np.int32
    codes = codes.astype(dtype)
    start = 0
    for name, part in zip(picked, parts, strict=True):
        out[name][column] = codes[start : start + len(part)]
        start += len(part)
    return np.asarray(uniques, dtype=object)


def missing_mask(values: np.ndarray) -> np.ndarray:
    """Missing cells of an encoded column (NaN or code -1)."""
    return np.isnan(values) if values.dtype.kind == "f" else values == MISSING
