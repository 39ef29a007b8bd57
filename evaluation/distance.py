"""Gower-like distance to the closest rows, brute force in cache-sized numpy blocks.

Per column: numbers |a − b| / range of the training column, capped at 1; categories 0 if
equal, else 1; missing vs missing 0, missing vs a value 1. The row distance is the mean over
the columns (0..1).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from evaluation.frames import Encoded, Tables

_BLOCK = 32  # query rows per block: a block of distances stays in the CPU cache


@dataclass(frozen=True)
class Scale:
    """Offset and range of each numeric column in the training rows."""

    low: dict[str, float]
    span: dict[str, float]


def training_scale(tables: Tables) -> Scale:
    """Column ranges from the training rows (1 where a column is constant or empty)."""
    low, span = {}, {}
    for column in tables.names():
        if not tables.is_numeric(column):
            continue
        values = tables.train.columns[column]
        present = values[~np.isnan(values)]
        low[column] = float(present.min()) if len(present) else 0.0
        width = float(present.max()) - low[column] if len(present) else 0.0
        span[column] = width if width > 0 else 1.0
    return Scale(low, span)


@dataclass(frozen=True)
class _Blocks:
    query_numbers: np.ndarray  # (numeric columns, query rows) float32
    reference_numbers: np.ndarray
    capped: list[bool]  # whether a column needs the cap at 1
    query_codes: np.ndarray  # (categorical columns, query rows)
    reference_codes: np.ndarray


def _scaled(
    query: Encoded, reference: Encoded, scale: Scale, column: str
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Both sides scaled by the training range; missing becomes a value at least 1 away from
    every present value, so the cap at 1 turns it into the 0/1 missing rule."""
    a = (query.columns[column] - scale.low[column]) / scale.span[column]
    b = (reference.columns[column] - scale.low[column]) / scale.span[column]
    both = np.concatenate([a, b])
    present = both[~np.isnan(both)]
    sentinel = (np.abs(present).max() if len(present) else 0.0) + 2.0
    a, b = np.nan_to_num(a, nan=sentinel), np.nan_to_num(b, nan=sentinel)
    needs_cap = max(a.max(initial=0) - b.min(initial=0), b.max(initial=0) - a.min(initial=0)) > 1
    return a.astype(np.float32), b.astype(np.float32), bool(needs_cap)


def _blocks(query: Encoded, reference: Encoded, scale: Scale) -> _Blocks:
    numeric = [c for c in query.columns if c in scale.span]
    categorical = [c for c in query.columns if c not in scale.span]
    scaled = [_scaled(query, reference, scale, c) for c in numeric]

    def stack(parts: list[np.ndarray], n: int, dtype: type) -> np.ndarray:
        return np.vstack(parts) if parts else np.empty((0, n), dtype=dtype)

    return _Blocks(
        query_numbers=stack([s[0] for s in scaled], query.n_rows, np.float32),
        reference_numbers=stack([s[1] for s in scaled], reference.n_rows, np.float32),
        capped=[s[2] for s in scaled],
        query_codes=stack([query.columns[c] for c in categorical], query.n_rows, np.int32),
        reference_codes=stack(
            [reference.columns[c] for c in categorical], reference.n_rows, np.int32
        ),
    )


def _block(blocks: _Blocks, start: int, stop: int, k: int) -> np.ndarray:
    """The k smallest summed column distances of query rows start..stop, ascending."""
    shape = (stop - start, blocks.reference_numbers.shape[1])
    total = np.zeros(shape, dtype=np.float32)
    term = np.empty(shape, dtype=np.float32)
    for j, capped in enumerate(blocks.capped):
        query = blocks.query_numbers[j, start:stop, None]
        np.subtract(query, blocks.reference_numbers[j][None, :], out=term)
        np.abs(term, out=term)
        if capped:
            np.minimum(term, 1.0, out=term)
        total += term
    if len(blocks.query_codes):
        # mismatches counted in one byte per pair: four times less memory traffic than floats
        mismatches = np.zeros(shape, dtype=np.uint8 if len(blocks.query_codes) < 256 else np.uint16)
        differ = np.empty(shape, dtype=bool)
        for j in range(len(blocks.query_codes)):
            query_codes = blocks.query_codes[j, start:stop, None]
            np.not_equal(query_codes, blocks.reference_codes[j][None, :], out=differ)
            mismatches += differ
        total += mismatches
    if k == 1:
        return total.min(axis=1, keepdims=True)
    return np.sort(np.partition(total, k - 1, axis=1)[:, :k], axis=1)


def nearest_distances(
    query: Encoded, reference: Encoded, scale: Scale, k: int, threads: int
) -> np.ndarray:
    """Distance from each query row to its k closest reference rows, shape (queries, k);
    needs at least k reference rows."""
    blocks = _blocks(query, reference, scale)
    n_columns = len(blocks.capped) + len(blocks.query_codes)
    out = np.empty((query.n_rows, k), dtype=np.float32)

    def run(start: int) -> None:
        stop = min(start + _BLOCK, query.n_rows)
        out[start:stop] = _block(blocks, start, stop, k)

    starts = range(0, query.n_rows, _BLOCK)
    if threads > 1:
        # numpy releases the GIL inside its loops, so blocks run in parallel
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(run, starts))
    else:
        for start in starts:
            run(start)
    return out.astype(np.float64) / max(n_columns, 1)
