"""Shared machinery of the SDV-backed synthesizers. SDV is imported here and in the four
model modules only (Business Source License: see the README)."""

from __future__ import annotations

import contextlib
import logging
from abc import abstractmethod
from collections.abc import Iterator
from typing import Any

import cloudpickle
import pandas as pd
from sdv.metadata import Metadata

from synthesizers.base import Synthesizer
from synthesizers.errors import InvalidParametersError
from synthesizers.progress import Progress, ProgressCallback

TABLE = "table"
for _name in (
    "SingleTableSynthesizer",
    "MultiTableSynthesizer",
    "Metadata",
    "sdv",
    "rdt",
    "copulas",
    "ctgan",
):
    logging.getLogger(_name).setLevel(logging.WARNING)


def build_metadata(columns: dict[str, str]) -> Metadata:
    """SDV metadata v2 declaring our model columns (no detection, no PII guessing)."""
    return Metadata.load_from_dict(
        {"tables": {TABLE: {"columns": {name: {"sdtype": kind} for name, kind in columns.items()}}}}
    )


class SdvBackedSynthesizer(Synthesizer):
    """Wraps an SDV single-table synthesizer; rounding and clipping are left to our pipeline."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sdv: Any = None

    @abstractmethod
    def _make(self, metadata: Metadata) -> Any:
        """Create the SDV synthesizer for this metadata."""

    def _prepare(self, data: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
        """Hook: data and column types as handed to SDV."""
        return data, dict(self.columns_)

    def _restore(self, sampled: pd.DataFrame) -> pd.DataFrame:
        """Hook: undo ``_prepare`` on sampled rows."""
        return sampled

    def _fit(self, data: pd.DataFrame, progress: ProgressCallback) -> None:
        prepared, columns = self._prepare(data)
        self._sdv = self._make(build_metadata(columns))
        progress(Progress("fitting", 0.0, "fitting the model"))
        with self._epoch_hook(progress), in_process_transform():
            self._sdv.fit({TABLE: prepared})
        progress(Progress("fitting", 1.0, "model fitted"))

    def _sample(self, num_rows: int, seed: int) -> pd.DataFrame:
        # SDV resets its RNG to a fixed seed unless told otherwise: set it per batch
        self._sdv._set_random_state(seed)
        sampled = self._sdv.sample(num_rows)[TABLE]
        return self._restore(sampled.reset_index(drop=True))

    @contextlib.contextmanager
    def _epoch_hook(self, progress: ProgressCallback) -> Iterator[None]:
        """Hook for per-epoch progress (neural models)."""
        yield

    def _state(self) -> tuple[dict[str, Any], dict[str, bytes]]:
        return self._extra_state(), {"sdv.pkl": cloudpickle.dumps(self._sdv)}

    def _load_state(self, meta: dict[str, Any], blobs: dict[str, bytes]) -> None:
        # only reached after the model file's HMAC was verified: the file is our own
        self._sdv = cloudpickle.loads(blobs["sdv.pkl"])
        self._load_extra_state(meta)

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra_state(self, meta: dict[str, Any]) -> None:
        return None

    def _distributions_by_model_column(self, by_label: dict[str, str]) -> dict[str, str]:
        """Translate per-column parameters from user column names to model column names."""
        inverse = {label: col for col, label in self.labels_.items()}
        unknown = [name for name in by_label if name not in inverse]
        if unknown:
            raise InvalidParametersError(
                "invalid synthesizer parameters",
                [(f"/numerical_distributions/{name}", "no such column") for name in unknown],
            )
        wrong = [n for n in by_label if self.columns_[inverse[n]] != "numerical"]
        if wrong:
            raise InvalidParametersError(
                "invalid synthesizer parameters",
                [
                    (f"/numerical_distributions/{name}", "not a numeric or date column")
                    for name in wrong
                ],
            )
        return {inverse[name]: dist for name, dist in by_label.items()}


@contextlib.contextmanager
def in_process_transform() -> Iterator[None]:
    """Keep CTGAN's per-column data transform in this process.

    From 500 rows on, CTGAN transforms columns in a joblib process pool. For the tables we
    train on that pool costs seconds of process start-up, forks grandchildren inside a job
    worker, and draws from worker RNGs our seed does not reach; the in-process path computes
    the same transform.
    """
    from ctgan.data_transformer import DataTransformer

    original = DataTransformer._parallel_transform
    DataTransformer._parallel_transform = DataTransformer._synchronous_transform  # type: ignore[method-assign]
    try:
        yield
    finally:
        DataTransformer._parallel_transform = original  # type: ignore[method-assign]


@contextlib.contextmanager
def epoch_progress(
    module: Any, synth: SdvBackedSynthesizer, progress: ProgressCallback
) -> Iterator[None]:
    """Report every epoch of a CTGAN/TVAE training loop, which only shows epochs through the
    ``tqdm`` of its module: that name is replaced for the duration of the fit."""
    original = module.tqdm
    module.tqdm = EpochProgress(progress, lambda: synth._sdv._model)
    try:
        yield
    finally:
        module.tqdm = original


class EpochProgress:
    """Stands in for ``tqdm`` inside CTGAN/TVAE to report each finished epoch."""

    def __init__(self, callback: ProgressCallback, model_getter: Any) -> None:
        self.callback = callback
        self.model_getter = model_getter

    def __call__(self, iterable: Any, disable: bool = False, **_: Any) -> _EpochIterator:
        return _EpochIterator(iterable, self.callback, self.model_getter)


class _EpochIterator:
    def __init__(self, iterable: Any, callback: ProgressCallback, model_getter: Any) -> None:
        self.items = list(iterable)
        self.callback = callback
        self.model_getter = model_getter

    def set_description(self, *_: Any, **__: Any) -> None:
        return None

    def __iter__(self) -> Iterator[Any]:
        total = len(self.items)
        for i, item in enumerate(self.items):
            yield item
            loss = _last_loss(self.model_getter())
            self.callback(
                Progress(
                    "fitting",
                    (i + 1) / total,
                    f"epoch {i + 1} of {total}",
                    epoch=i + 1,
                    epochs=total,
                    loss=loss,
                )
            )


def _last_loss(model: Any) -> float | None:
    losses = getattr(model, "loss_values", None)
    if losses is None or len(losses) == 0:
        return None
    for column in ("Generator Loss", "Loss"):
        if column in losses:
            return float(losses[column].iloc[-1])
    return None
