"""Quality and privacy report of a synthetic table: pure functions on pandas frames.

``evaluate(train, holdout, synthetic, kinds)`` returns an ``Evaluation`` (pydantic). No SDV,
CTGAN, RDT, Copulas or SDMetrics import here: the SDMetrics metrics are reimplemented.
The names below load lazily, so that the result models (``evaluation.model``,
``evaluation.document``, ``evaluation.options``) import without scikit-learn and SciPy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evaluation.errors import EvaluationError, EvaluationInputError
    from evaluation.frames import ColumnType
    from evaluation.model import Evaluation
    from evaluation.options import EvaluationOptions, VerdictThresholds
    from evaluation.scoring import evaluate

_EXPORTS = {
    "ColumnType": "evaluation.frames",
    "Evaluation": "evaluation.model",
    "EvaluationError": "evaluation.errors",
    "EvaluationInputError": "evaluation.errors",
    "EvaluationOptions": "evaluation.options",
    "VerdictThresholds": "evaluation.options",
    "evaluate": "evaluation.scoring",
}

__all__ = [
    "ColumnType",
    "Evaluation",
    "EvaluationError",
    "EvaluationInputError",
    "EvaluationOptions",
    "VerdictThresholds",
    "evaluate",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'evaluation' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
