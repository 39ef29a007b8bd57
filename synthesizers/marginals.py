"""Empirical marginals for the Gaussian copula: columns to normal scores and back.

Numbers use a randomised probability integral transform (ties spread uniformly over their
probability mass, so point masses such as "capital gain = 0" survive) and come back through
interpolated quantiles on a grid of at most 1,001 points. Categories occupy frequency-sized
intervals of [0, 1]. Only quantiles and level frequencies are kept, never rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

GRID_POINTS = 1001
ROWS_PER_GRID_POINT = 5  # grid points are interpolated between rows, never one row's value
_EPS = 1e-6


class EmpiricalMarginals:
    """Per-column transforms between model values and standard-normal scores."""

    def __init__(self) -> None:
        self.numeric_: dict[str, list[float]] = {}
        self.levels_: dict[str, tuple[list[str], list[float]]] = {}

    def fit(
        self, data: pd.DataFrame, numeric: list[str], categorical: list[str]
    ) -> EmpiricalMarginals:
        """Learn quantile grids and level frequencies."""
        for col in numeric:
            x = data[col].to_numpy(float)
            points = min(GRID_POINTS, max(len(x) // ROWS_PER_GRID_POINT, 2))
            probs = np.linspace(0, 1, points)
            self.numeric_[col] = np.quantile(x, probs).tolist()
        for col in categorical:
            counts = data[col].astype(str).value_counts()
            order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            names = [k for k, _ in order]
            cum = np.cumsum([v for _, v in order]) / len(data)
            self.levels_[col] = (names, cum.tolist())
        return self

    def to_normal(self, data: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        """Normal scores of every fitted column."""
        out = {}
        for col, grid in self.numeric_.items():
            q = np.asarray(grid)
            x = data[col].to_numpy(float)
            probs = np.linspace(0, 1, len(q))
            lo = np.interp(x, q, probs, left=0, right=1)
            # ties: spread over the mass between the first and last grid point holding x
            left = probs[np.searchsorted(q, x, side="left").clip(0, len(q) - 1)]
            right = probs[(np.searchsorted(q, x, side="right") - 1).clip(0, len(q) - 1)]
            tied = right > left
            u = np.where(tied, left + rng.random(len(x)) * (right - left), lo)
            out[col] = ndtri(np.clip(u, _EPS, 1 - _EPS))
        for col, (names, cum) in self.levels_.items():
            upper = np.asarray(cum)
            lower = np.concatenate([[0.0], upper[:-1]])
            index = pd.Categorical(data[col].astype(str), categories=names).codes
            index = np.where(index < 0, 0, index)
            u = lower[index] + rng.random(len(index)) * (upper[index] - lower[index])
            out[col] = ndtri(np.clip(u, _EPS, 1 - _EPS))
        return pd.DataFrame(out)[list(data.columns)]

    def from_normal(self, scores: pd.DataFrame) -> pd.DataFrame:
        """Model values from normal scores."""
        out: dict[str, Any] = {}
        for col in scores.columns:
            u = ndtr(scores[col].to_numpy(float))
            if col in self.numeric_:
                q = np.asarray(self.numeric_[col])
                out[col] = np.interp(u, np.linspace(0, 1, len(q)), q)
            else:
                names, cum = self.levels_[col]
                idx = np.searchsorted(np.asarray(cum), u, side="right").clip(0, len(names) - 1)
                out[col] = np.asarray(names, dtype=object)[idx]
        return pd.DataFrame(out)

    def to_state(self) -> dict[str, Any]:
        """JSON-compatible state."""
        return {"numeric": self.numeric_, "levels": {k: list(v) for k, v in self.levels_.items()}}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> EmpiricalMarginals:
        """Rebuild from ``to_state``."""
        m = cls()
        m.numeric_ = state["numeric"]
        m.levels_ = {k: (v[0], v[1]) for k, v in state["levels"].items()}
        return m
