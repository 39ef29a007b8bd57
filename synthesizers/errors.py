"""Errors raised by synthesizers."""

from __future__ import annotations


class SynthesizerError(Exception):
    """Base class for synthesizer problems."""


class UnknownSynthesizerError(SynthesizerError):
    """The requested name is not registered."""


class InvalidParametersError(SynthesizerError):
    """Parameters fail the synthesizer's parameter model."""

    def __init__(self, message: str, problems: list[tuple[str, str]]):
        super().__init__(message)
        self.problems = problems

    def __str__(self) -> str:
        details = "; ".join(f"{p}: {m}" for p, m in self.problems)
        return f"{self.args[0]}: {details}" if details else self.args[0]


class NotFittedError(SynthesizerError):
    """``sample`` or ``save`` was called before ``fit``."""


class ModelIntegrityError(SynthesizerError):
    """A model file was not written by this service or was altered."""


class MissingExtraError(SynthesizerError):
    """An optional dependency (e.g. the ``sdv`` extra) is not installed."""
