"""Errors raised by the evaluation package."""

from __future__ import annotations


class EvaluationError(Exception):
    """Base class for evaluation problems."""


class EvaluationInputError(EvaluationError, ValueError):
    """The frames or column kinds break the input contract of ``evaluate``."""
