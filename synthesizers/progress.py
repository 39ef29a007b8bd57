"""Progress reports that synthesizers and the pipeline send to a callback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """One progress event: a stage, the fraction of that stage done, epoch and loss if any."""

    stage: str
    fraction: float
    message: str = ""
    epoch: int | None = None
    epochs: int | None = None
    loss: float | None = None


ProgressCallback = Callable[[Progress], None]


def ignore_progress(_: Progress) -> None:
    """The default callback: do nothing."""
