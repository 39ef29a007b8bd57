"""The base class every synthesizer derives from.

Public methods validate, seed, and check fitted state; subclasses implement ``_fit``,
``_sample``, ``_state`` and ``_load_state`` (the SDV single-table pattern, kept small).
"""

from __future__ import annotations

import os
import random
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ValidationError

from synthesizers.conditions import ConditionsError, FixedValues
from synthesizers.errors import InvalidParametersError, NotFittedError, SynthesizerError
from synthesizers.model_file import read_model_file, write_model_file
from synthesizers.progress import ProgressCallback, ignore_progress

ModelType = Literal["numerical", "categorical"]
DEFAULT_BATCH_ROWS = 50_000


def validate_params(
    model: type[BaseModel], params: BaseModel | Mapping[str, Any] | None
) -> BaseModel:
    """Validate parameters against a synthesizer's parameter model (no values in errors)."""
    if isinstance(params, model):
        return params
    try:
        return model.model_validate(dict(params or {}))
    except ValidationError as exc:
        problems = [
            ("/" + "/".join(str(p) for p in err["loc"]), err["msg"])
            for err in exc.errors(include_input=False, include_url=False)
        ]
        raise InvalidParametersError("invalid synthesizer parameters", problems) from None


def batch_seed(seed: int, index: int) -> int:
    """Independent, reproducible seed for the index-th sampling batch."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def seed_everything(seed: int) -> None:
    """Seed every global RNG a wrapped library may use (Python, NumPy, torch if loaded)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch = _loaded_torch()
    if torch is not None:
        torch.manual_seed(seed)


def _loaded_torch() -> Any:
    import sys

    return sys.modules.get("torch")


class Synthesizer(ABC):
    """Learns a table of numerical and categorical columns and samples new rows."""

    name: ClassVar[str]
    params_model: ClassVar[type[BaseModel]]
    # whether ``_sample_fixed`` is implemented: sampling with some columns' values given
    supports_conditions: ClassVar[bool] = False

    def __init__(
        self,
        params: BaseModel | Mapping[str, Any] | None = None,
        *,
        seed: int = 0,
        threads: int = 0,
    ) -> None:
        self.params = validate_params(self.params_model, params)
        self.seed = seed
        self.threads = threads or (os.cpu_count() or 1)
        self.columns_: dict[str, ModelType] = {}
        self.labels_: dict[str, str] = {}
        self.fitted_ = False

    # ---------------------------------------------------------------- public API
    def fit(
        self,
        data: pd.DataFrame,
        columns: Mapping[str, ModelType],
        progress: ProgressCallback | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> Synthesizer:
        """Learn from a model frame whose columns are typed by ``columns``.

        ``labels`` maps model column names to the user's column names, for parameters that
        name columns (e.g. per-column distributions).
        """
        if list(data.columns) != list(columns):
            raise SynthesizerError("data columns do not match the declared column types")
        if len(data) < 2:
            raise SynthesizerError("at least 2 rows are needed to fit a synthesizer")
        self.columns_ = dict(columns)
        self.labels_ = dict(labels or {c: c for c in columns})
        self._limit_threads()
        seed_everything(self.seed)
        self._fit(data.reset_index(drop=True), progress or ignore_progress)
        self.fitted_ = True
        return self

    def sample(
        self,
        num_rows: int,
        seed: int | None = None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        fixed: FixedValues | None = None,
    ) -> pd.DataFrame:
        """Sample ``num_rows`` rows (all in memory; use ``sample_batches`` for large counts)."""
        parts = list(self.sample_batches(num_rows, seed=seed, batch_rows=batch_rows, fixed=fixed))
        if not parts:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in self.columns_})
        return pd.concat(parts, ignore_index=True)

    def check_conditions(self, columns: list[str]) -> None:
        """Raise ``ConditionsError`` unless rows can be sampled with these columns fixed."""
        self._check_fitted()
        if not self.supports_conditions:
            raise ConditionsError(
                f"the {self.name} synthesizer cannot sample with conditions; "
                "train with cart or argn for conditional sampling"
            )
        unknown = [c for c in columns if c not in self.columns_]
        if unknown:
            raise ConditionsError("a condition names a column the model does not have", unknown[0])
        self._check_conditions(columns)

    def sample_batches(
        self,
        num_rows: int,
        *,
        seed: int | None = None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        fixed: FixedValues | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Yield ``num_rows`` rows in batches; only one batch is held at a time.

        With ``fixed``, row i takes the fixed values of its combination (``fixed.total`` must
        equal ``num_rows``) and the other columns are drawn given them.
        """
        self._check_fitted()
        if num_rows < 0:
            raise SynthesizerError("the number of rows must not be negative")
        if fixed is not None:
            if fixed.total != num_rows:
                raise SynthesizerError("the fixed values do not cover the rows asked for")
            self.check_conditions(fixed.columns)
        # one thread while sampling: float reductions then give the same bits on any machine
        self._limit_threads(1)
        base = self.seed if seed is None else seed
        done, index = 0, 0
        while done < num_rows:
            size = min(batch_rows, num_rows - done)
            batch_seed_value = batch_seed(base, index)
            seed_everything(batch_seed_value)
            if fixed is None:
                frame = self._sample(size, batch_seed_value)
            else:
                given = fixed.rows(done, done + size)
                frame = self._sample_fixed(given, batch_seed_value).reset_index(drop=True)
                for col in given.columns:  # exactly the given values, whatever the model drew
                    frame[col] = given[col].where(given[col].notna(), frame[col]).to_numpy()
            yield frame[list(self.columns_)].reset_index(drop=True)
            done += size
            index += 1

    def export_state(self) -> tuple[dict[str, Any], dict[str, bytes]]:
        """Fitted state as (JSON metadata, binary blobs), e.g. to embed in a larger file."""
        self._check_fitted()
        meta, blobs = self._state()
        return {
            "synthesizer": self.name,
            "params": self.params.model_dump(mode="json"),
            "seed": self.seed,
            "columns": self.columns_,
            "labels": self.labels_,
            "state": meta,
        }, blobs

    @classmethod
    def from_state(cls, meta: dict[str, Any], blobs: dict[str, bytes]) -> Synthesizer:
        """Rebuild from ``export_state`` output (only ever from an integrity-checked file)."""
        if meta.get("synthesizer") != cls.name:
            raise SynthesizerError("the model file holds a different synthesizer")
        synth = cls(meta["params"], seed=meta["seed"])
        synth.columns_ = meta["columns"]
        synth.labels_ = meta["labels"]
        synth._load_state(meta["state"], blobs)
        synth.fitted_ = True
        return synth

    def save(self, path: Path, key: bytes) -> None:
        """Write the fitted state to a model file of this service."""
        meta, blobs = self.export_state()
        write_model_file(path, key, meta, blobs)

    @classmethod
    def load(cls, path: Path, key: bytes) -> Synthesizer:
        """Read a model file written by ``save`` (integrity-checked first)."""
        meta, blobs = read_model_file(path, key)
        return cls.from_state(meta, blobs)

    # ---------------------------------------------------------------- for subclasses
    @abstractmethod
    def _fit(self, data: pd.DataFrame, progress: ProgressCallback) -> None: ...

    @abstractmethod
    def _sample(self, num_rows: int, seed: int) -> pd.DataFrame: ...

    def _sample_fixed(self, given: pd.DataFrame, seed: int) -> pd.DataFrame:
        """One row per row of ``given``, with its columns taking the given values."""
        raise ConditionsError(f"the {self.name} synthesizer cannot sample with conditions")

    def _check_conditions(self, columns: list[str]) -> None:
        """Refuse fixed columns this synthesizer cannot condition on (``ConditionsError``)."""
        return None

    @abstractmethod
    def _state(self) -> tuple[dict[str, Any], dict[str, bytes]]: ...

    @abstractmethod
    def _load_state(self, meta: dict[str, Any], blobs: dict[str, bytes]) -> None: ...

    def _check_fitted(self) -> None:
        if not self.fitted_:
            raise NotFittedError(f"the {self.name} synthesizer must be fitted before sampling")

    def _limit_threads(self, threads: int | None = None) -> None:
        torch = _loaded_torch()
        if torch is not None:
            torch.set_num_threads(threads or self.threads)
