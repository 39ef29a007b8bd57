"""Fixed values for conditional sampling, in the model frame's terms."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthesizers.errors import SynthesizerError


class ConditionsError(SynthesizerError):
    """Conditions this synthesizer cannot satisfy (names a model column, never a value)."""

    def __init__(self, message: str, column: str | None = None) -> None:
        super().__init__(message)
        self.column = column


@dataclass
class FixedValues:
    """Values some model columns must take: combination i of ``frame`` for ``counts[i]`` rows.

    The rows come out in order: all rows of the first combination, then the second, and so on.
    """

    frame: pd.DataFrame
    counts: np.ndarray

    def __post_init__(self) -> None:
        # a missing entry leaves its column free in that row; an all-missing column is dropped
        frame = self.frame.reset_index(drop=True)
        self.frame = frame[[c for c in frame.columns if frame[c].notna().any()]]
        self.counts = np.asarray(self.counts, dtype=np.int64)
        if len(self.frame) != len(self.counts) or (self.counts < 0).any():
            raise SynthesizerError("each combination of fixed values needs a row count")
        self._ends = np.cumsum(self.counts)

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    @property
    def total(self) -> int:
        return int(self._ends[-1]) if len(self._ends) else 0

    def rows(self, start: int, stop: int) -> pd.DataFrame:
        """The fixed values of output rows ``start`` to ``stop`` (one row each)."""
        which = np.searchsorted(self._ends, np.arange(start, stop), side="right")
        return self.frame.iloc[which].reset_index(drop=True)
