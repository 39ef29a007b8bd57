"""Conditions of a sampling request, checked against a fitted model and put in its terms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from config.errors import ConfigError, FieldProblem
from preprocessing.errors import ConditionValueError, PreprocessingError
from synthesizers.conditions import ConditionsError, FixedValues

if TYPE_CHECKING:
    from jobs.synthesis import FittedModel

Conditions = Mapping[str, Any] | Sequence[Mapping[str, Any]]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _pointer(column: str, row: int | None, listed: bool) -> str:
    name = column.replace("~", "~0").replace("/", "~1")
    return f"/conditions/{row or 0}/{name}" if listed else f"/conditions/{name}"


def fixed_values(
    model: FittedModel, conditions: Conditions, num_rows: int | None
) -> tuple[FixedValues, int]:
    """The model-frame values the rows must take and how many rows that is.

    One mapping: ``num_rows`` rows (default: the model's default) all taking it; a list: one
    row per mapping, in order. Anything the model cannot produce raises ``ConfigError``
    pointing at ``/conditions/...`` (column names only, never values).
    """
    listed = not isinstance(conditions, Mapping)
    combos = list(conditions) if listed else [conditions]  # type: ignore[list-item]
    rows = len(combos) if listed else (model.default_rows if num_rows is None else num_rows)
    counts = [1] * len(combos) if listed else [rows]
    columns = list(combos[0])
    raw = pd.DataFrame({c: pd.Series([_text(m[c]) for m in combos], dtype=object) for c in columns})
    try:
        frame = model.pipeline.condition_frame(raw, np.random.default_rng(0))
    except PreprocessingError as exc:
        row = exc.row if isinstance(exc, ConditionValueError) else None
        pointer = _pointer(exc.column or "", row, listed)
        raise ConfigError("invalid conditions", [FieldProblem(pointer, exc.message)]) from None
    fixed = FixedValues(frame, np.asarray(counts))
    try:
        model.synthesizer.check_conditions(fixed.columns)
    except ConditionsError as exc:
        owner = model.pipeline.column_of(exc.column) if exc.column else None
        pointer = _pointer(owner, None, listed) if owner else "/conditions"
        raise ConfigError("invalid conditions", [FieldProblem(pointer, str(exc))]) from None
    return fixed, rows
