"""Errors raised while reading or preparing a table. Messages never contain data values."""

from __future__ import annotations


class PreprocessingError(Exception):
    """Base class: something about the input table prevents synthesis."""

    def __init__(self, message: str, *, column: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.column = column
        self.line = line

    def __str__(self) -> str:
        where = []
        if self.column is not None:
            where.append(f"column '{self.column}'")
        if self.line is not None:
            where.append(f"line {self.line}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class ReadError(PreprocessingError):
    """The file cannot be parsed as a table in a supported format."""


class LimitExceededError(PreprocessingError):
    """The input breaks one of the configured limits (bytes, rows, columns, field size)."""

    def __init__(self, limit: str, maximum: int, **where: object):
        super().__init__(f"exceeds the limit {limit}={maximum}", **where)  # type: ignore[arg-type]
        self.limit = limit
        self.maximum = maximum


class EmptyTableError(PreprocessingError):
    """The table has no usable rows or columns."""


class NotFittedError(PreprocessingError):
    """A step or pipeline was used before fit()."""


class ConditionValueError(PreprocessingError):
    """A condition's value cannot be produced by its column (``row``: the first such row)."""

    def __init__(self, message: str, *, column: str, row: int):
        super().__init__(message, column=column)
        self.row = row
