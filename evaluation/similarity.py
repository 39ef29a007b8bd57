"""The SDMetrics similarity metrics, reimplemented on numpy arrays.

Each function mirrors the SDMetrics 0.32 metric named in its docstring, quirks included, so
our scores agree with ``QualityReport``: KSComplement rounds values to 14 decimals,
ContingencySimilarity bins each table over its *own* range (so a shifted synthetic column
keeps its pair score) and ``np.digitize`` puts the column maximum and the missing values in
one shared top bin.
"""

from __future__ import annotations

import numpy as np

_DECIMALS = 14  # SDMetrics rounds to sys.float_info.dig - 1 decimals before the KS test
CONTINGENCY_BINS = 10


def ks_complement(real: np.ndarray, synthetic: np.ndarray) -> float | None:
    """SDMetrics KSComplement: 1 − two-sample Kolmogorov–Smirnov D; missing values ignored."""
    a = np.sort(np.round(real[~np.isnan(real)], _DECIMALS))
    b = np.sort(np.round(synthetic[~np.isnan(synthetic)], _DECIMALS))
    if not len(a) or not len(b):
        return None
    points = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, points, side="right") / len(a)
    cdf_b = np.searchsorted(b, points, side="right") / len(b)
    return float(1.0 - np.abs(cdf_a - cdf_b).max())


def frequencies(codes: np.ndarray, n_levels: int) -> np.ndarray | None:
    """Share of each level among the non-missing codes (None when all are missing)."""
    present = codes[codes >= 0]
    if not len(present):
        return None
    return np.bincount(present, minlength=n_levels) / len(present)


def tv_complement(real: np.ndarray, synthetic: np.ndarray, n_levels: int) -> float | None:
    """SDMetrics TVComplement: 1 − total variation distance of the level shares; missing
    values (code -1) ignored."""
    p, q = frequencies(real, n_levels), frequencies(synthetic, n_levels)
    if p is None or q is None:
        return None
    return float(1.0 - 0.5 * np.abs(p - q).sum())


def pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson's r over the rows where both are present (None when undefined)."""
    both = ~(np.isnan(a) | np.isnan(b))
    x, y = a[both], b[both]
    if len(x) < 2:
        return None
    x, y = x - x.mean(), y - y.mean()
    denominator = np.sqrt((x @ x) * (y @ y))
    if denominator == 0:
        return None
    return float(np.clip((x @ y) / denominator, -1.0, 1.0))


def is_constant(values: np.ndarray) -> bool:
    """Exactly one distinct present value (SDMetrics refuses correlations of those)."""
    present = values[~np.isnan(values)]
    return len(present) > 0 and bool((present == present[0]).all())


def correlation_similarity(
    real: tuple[np.ndarray, np.ndarray], synthetic: tuple[np.ndarray, np.ndarray]
) -> tuple[float | None, float | None, float | None]:
    """SDMetrics CorrelationSimilarity (Pearson): 1 − |r_real − r_synthetic| / 2; returns
    (score, r_real, r_synthetic)."""
    if any(is_constant(v) for v in (*real, *synthetic)):
        return None, None, None
    r_real, r_synthetic = pearson(*real), pearson(*synthetic)
    if r_real is None or r_synthetic is None:
        return None, r_real, r_synthetic
    return 1.0 - abs(r_real - r_synthetic) / 2.0, r_real, r_synthetic


def discretize(values: np.ndarray) -> np.ndarray:
    """SDMetrics' binning of a continuous column for contingency tables: 10 equal-width bins
    over this column's own present range, labels 1..11 (the maximum and NaN both get 11)."""
    edges = np.histogram_bin_edges(values[~np.isnan(values)], bins=CONTINGENCY_BINS)
    return np.digitize(values, edges).astype(np.int16)


def contingency_table(a: np.ndarray, b: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Counts of each (a, b) label pair; labels are non-negative and below ``shape``."""
    joint = a.astype(np.int64) * shape[1] + b
    return np.bincount(joint, minlength=shape[0] * shape[1]).reshape(shape)


def contingency_similarity(real: np.ndarray, synthetic: np.ndarray) -> float | None:
    """SDMetrics ContingencySimilarity: 1 − total variation distance of two contingency
    tables (counts of the same shape; missing values are a label of their own)."""
    n_real, n_synthetic = real.sum(), synthetic.sum()
    if not n_real or not n_synthetic:
        return None
    return float(1.0 - 0.5 * np.abs(real / n_real - synthetic / n_synthetic).sum())


def cramers_v(table: np.ndarray) -> float | None:
    """Cramér's V of a contingency table without continuity correction, as
    ``scipy.stats.contingency.association`` computes it; None below two rows or columns."""
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if min(table.shape) < 2:
        return None
    n = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / n / (min(table.shape) - 1)))
