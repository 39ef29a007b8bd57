"""Gaussian copula backed by SDV's GaussianCopulaSynthesizer.

With the default ``empirical`` marginals, columns are first mapped to normal scores through
their empirical distribution (``marginals.py``) and SDV fits the copula on those scores;
with a parametric family (``beta``, ``truncnorm``, ...) SDV fits that family itself, which is
SDV's own behaviour (its default is ``beta``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sdv.single_table import GaussianCopulaSynthesizer

from synthesizers.marginals import EmpiricalMarginals
from synthesizers.params import GaussianCopulaParams
from synthesizers.sdv_backed import SdvBackedSynthesizer


class GaussianCopula(SdvBackedSynthesizer):
    """Registered as ``gaussian_copula``."""

    name = "gaussian_copula"
    params_model = GaussianCopulaParams

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._marginals: EmpiricalMarginals | None = None
        self._sdv_distributions: dict[str, str] = {}
        self._copula: dict[str, Any] | None = None

    def _fit(self, data: pd.DataFrame, progress: Any) -> None:
        super()._fit(data, progress)
        self._copula = self._extract_copula()

    def _extract_copula(self) -> dict[str, Any] | None:
        """With every column on normal scores, SDV's fitted copula is a correlation matrix and
        a location/scale per column: kept as plain numbers, so that sampling needs neither
        SDV's per-batch DataFrame machinery nor a pickle in the model file."""
        encoded = (
            set(self._marginals.numeric_) | set(self._marginals.levels_)
            if self._marginals
            else set()
        )
        if set(self.columns_) != encoded:
            return None
        model = self._sdv._model
        if model is None:  # nothing to model (SDV skips empty frames)
            return None
        params = [u._params for u in model.univariates]
        return {
            "columns": list(model.columns),
            "correlation": np.asarray(model.correlation, dtype=float).tolist(),
            "loc": [float(p["loc"]) for p in params],
            "scale": [float(p["scale"]) for p in params],
        }

    def _sample(self, num_rows: int, seed: int) -> pd.DataFrame:
        if self._copula is None:
            return super()._sample(num_rows, seed)
        rng = np.random.default_rng(seed)
        corr = np.asarray(self._copula["correlation"])
        z = rng.multivariate_normal(np.zeros(len(corr)), corr, size=num_rows, method="eigh")
        scores = np.asarray(self._copula["loc"]) + np.asarray(self._copula["scale"]) * z
        return self._restore(pd.DataFrame(scores, columns=self._copula["columns"]))

    def _prepare(self, data: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
        params: GaussianCopulaParams = self.params  # type: ignore[assignment]
        per_column = self._distributions_by_model_column(params.numerical_distributions)
        default = params.default_distribution
        numeric = [c for c, t in self.columns_.items() if t == "numerical"]
        empirical = [c for c in numeric if per_column.get(c, default) == "empirical"]
        categorical = [c for c, t in self.columns_.items() if t == "categorical"]
        encode_categories = default == "empirical"
        self._sdv_distributions = {
            c: ("norm" if c in empirical else per_column.get(c, default)) for c in numeric
        }
        if encode_categories:
            self._sdv_distributions.update(dict.fromkeys(categorical, "norm"))
        if not empirical and not encode_categories:
            self._marginals = None
            return data, dict(self.columns_)
        encoded = categorical if encode_categories else []
        self._marginals = EmpiricalMarginals().fit(data, empirical, encoded)
        rng = np.random.default_rng(self.seed)
        scores = self._marginals.to_normal(data[empirical + encoded], rng)
        prepared = data.copy()
        for col in scores.columns:
            prepared[col] = scores[col].to_numpy()
        columns = {c: ("numerical" if c in scores.columns else t) for c, t in self.columns_.items()}
        return prepared, columns

    def _make(self, metadata: Any) -> Any:
        params: GaussianCopulaParams = self.params  # type: ignore[assignment]
        default = (
            "norm" if params.default_distribution == "empirical" else params.default_distribution
        )
        return GaussianCopulaSynthesizer(
            metadata,
            enforce_min_max_values=False,
            enforce_rounding=False,
            default_distribution=default,
            numerical_distributions={
                c: d for c, d in self._sdv_distributions.items() if d != default
            },
        )

    def _restore(self, sampled: pd.DataFrame) -> pd.DataFrame:
        if self._marginals is None:
            return sampled
        encoded = [
            c
            for c in sampled.columns
            if c in self._marginals.numeric_ or c in self._marginals.levels_
        ]
        values = self._marginals.from_normal(sampled[encoded])
        out = sampled.copy()
        for col in encoded:
            out[col] = values[col].to_numpy()
        return out

    def _state(self) -> tuple[dict[str, Any], dict[str, bytes]]:
        meta = {
            "marginals": self._marginals.to_state() if self._marginals else None,
            "distributions": self._sdv_distributions,
            "copula": self._copula,
        }
        if self._copula is not None:
            return meta, {}  # plain JSON: no pickle at all
        return meta, super()._state()[1]

    def _load_state(self, meta: dict[str, Any], blobs: dict[str, bytes]) -> None:
        state = meta.get("marginals")
        self._marginals = EmpiricalMarginals.from_state(state) if state else None
        self._sdv_distributions = meta.get("distributions", {})
        self._copula = meta.get("copula")
        if self._copula is None:
            super()._load_state(meta, blobs)
