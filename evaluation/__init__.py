"""Quality and privacy report of a synthetic table: pure functions on pandas frames.

``evaluate(train, holdout, synthetic, kinds)`` returns an ``Evaluation`` (pydantic). No SDV,
CTGAN, RDT, Copulas or SDMetrics import here: the SDMetrics metrics are reimplemented.
"""

from evaluation.errors import EvaluationError, EvaluationInputError
from evaluation.evaluate import evaluate
from evaluation.frames import ColumnType
from evaluation.model import Evaluation
from evaluation.options import EvaluationOptions, VerdictThresholds

__all__ = [
    "ColumnType",
    "Evaluation",
    "EvaluationError",
    "EvaluationInputError",
    "EvaluationOptions",
    "VerdictThresholds",
    "evaluate",
]
