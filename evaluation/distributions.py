"""Plot data of one column: training rows vs synthetic rows, without revealing rare values."""

from __future__ import annotations

import numpy as np

from evaluation.frames import MISSING
from evaluation.model import CategoricalDistribution, HistogramDistribution


def categorical_distribution(
    real: np.ndarray, synthetic: np.ndarray, levels: np.ndarray, rare_k: int, top: int
) -> CategoricalDistribution:
    """Shares of the ``top`` most frequent training levels seen at least ``rare_k`` times;
    every other level is pooled, so a rare real value is never named."""
    n_levels = len(levels)
    real_counts = np.bincount(real[real != MISSING], minlength=n_levels)
    synthetic_counts = np.bincount(synthetic[synthetic != MISSING], minlength=n_levels)
    # most frequent first; ties by code, which follows the input order: deterministic
    order = np.lexsort((np.arange(n_levels), -real_counts))
    named = [int(code) for code in order[:top] if real_counts[code] >= rare_k]
    pooled = np.ones(n_levels, dtype=bool)
    pooled[named] = False
    n_real, n_synthetic = max(len(real), 1), max(len(synthetic), 1)
    return CategoricalDistribution(
        levels=[str(levels[code]) for code in named],
        real=[float(real_counts[code] / n_real) for code in named],
        synthetic=[float(synthetic_counts[code] / n_synthetic) for code in named],
        other_real=float(real_counts[pooled].sum() / n_real),
        other_synthetic=float(synthetic_counts[pooled].sum() / n_synthetic),
        other_levels=int(((real_counts + synthetic_counts > 0) & pooled).sum()),
        missing_real=float((real == MISSING).mean()) if len(real) else 0.0,
        missing_synthetic=float((synthetic == MISSING).mean()) if len(synthetic) else 0.0,
    )


def histogram_edges(values: np.ndarray, rare_k: int, bins: int) -> np.ndarray | None:
    """Equal-width edges from the ``rare_k``-th smallest to the ``rare_k``-th largest present
    value, so the exact extremes stay out; None with fewer than ``2 * rare_k`` values."""
    present = values[~np.isnan(values)]
    if len(present) < 2 * rare_k:
        return None
    low_high = np.partition(present, (rare_k - 1, len(present) - rare_k))
    low, high = low_high[rare_k - 1], low_high[len(present) - rare_k]
    if low == high:
        return np.array([low, high])
    return np.linspace(low, high, bins + 1)


def binned_shares(values: np.ndarray, edges: np.ndarray) -> list[float]:
    """Share of all rows per bin; values beyond the edges count in the outer bins."""
    n_bins = len(edges) - 1
    present = values[~np.isnan(values)]
    index = np.clip(np.searchsorted(edges, present, side="right") - 1, 0, n_bins - 1)
    counts = np.bincount(index, minlength=n_bins)
    return [float(c / max(len(values), 1)) for c in counts]


def histogram_distribution(
    real: np.ndarray, synthetic: np.ndarray, rare_k: int, bins: int
) -> HistogramDistribution:
    """Histogram of a numerical or datetime column over edges taken from the training rows."""
    edges = histogram_edges(real, rare_k, bins)
    return HistogramDistribution(
        edges=[] if edges is None else [float(e) for e in edges],
        real=[] if edges is None else binned_shares(real, edges),
        synthetic=[] if edges is None else binned_shares(synthetic, edges),
        missing_real=float(np.isnan(real).mean()) if len(real) else 0.0,
        missing_synthetic=float(np.isnan(synthetic).mean()) if len(synthetic) else 0.0,
    )
