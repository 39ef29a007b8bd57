"""Categorical and boolean columns."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa

from preprocessing.cleaning import unify_variants
from preprocessing.steps.base import (
    MISSING_TOKEN,
    AnalysisType,
    ColumnStep,
    ModelType,
)

POOLED_TOKEN = "\x00pooled"


class CategoricalStep(ColumnStep):
    """Levels keep their spelling; missing is a level of its own, so it is modelled jointly.

    Beyond ``max_levels`` distinct levels the rarest are pooled into one modelled level and
    drawn back from their observed frequencies, which bounds model size for 50,000-level
    columns.
    """

    step_name = "categorical"
    state_fields: ClassVar[dict[str, str]] = {
        "mapping": "mapping_",
        "pooled": "pooled_",
        "levels": "levels_",
        "weights": "weights_",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mapping_: dict[str, str] = {}
        self.pooled_: dict[str, int] = {}
        self.levels_: list[str] = []
        self.weights_: list[int] = []  # rows per level, to draw replacements for rare ones

    def _clean(self, values: pd.Series) -> tuple[pd.Series, int]:
        if self.mapping_:
            values = values.map(lambda v: self.mapping_.get(v, v) if v is not None else None)
        coerced = 0
        if self.spec.categories is not None:
            allowed = values.isin(self.spec.categories) | values.isna()
            coerced = int((~allowed).sum())
            values = values.where(allowed, None)
        return values, coerced

    def _fit(self, values: pd.Series) -> None:
        r = self.report_
        if self.unify or self.spec.unify_variants:
            self.mapping_, r.variants_unified = unify_variants(values)
            if r.variants_unified:
                r.actions.append("case/spacing variants merged into the commonest spelling")
        values, r.coerced_to_missing = self._clean(values)
        counts = values.value_counts(dropna=True)
        counts = counts.sort_values(ascending=False, kind="stable")
        r.distinct_levels = len(counts)
        if self.rare_k:
            rare = counts < self.rare_k
            r.rare_replaced = int(counts[rare].sum())
            counts = counts[~rare]
            if r.rare_replaced:
                r.actions.append(
                    f"{int(rare.sum())} categories seen in fewer than {self.rare_k} rows "
                    + ("replaced by frequent ones" if len(counts) else "written as missing")
                )
        order = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
        keep = order if len(order) <= self.max_levels else order[: self.max_levels - 1]
        self.levels_ = [str(k) for k, _ in keep]
        self.pooled_ = {str(k): int(v) for k, v in order[len(keep) :]}
        self.weights_ = [int(v) for _, v in keep]
        r.pooled_levels = len(self.pooled_)
        if self.pooled_:
            r.actions.append(f"{len(self.pooled_)} rarest levels modelled as one pooled level")
        r.missing = int(values.isna().sum())
        self.missing_rate_ = r.missing / len(values) if len(values) else 0.0
        if not self.levels_ and not self.pooled_:  # nothing left that may be written
            self.missing_rate_ = 1.0

    def _transform(self, values: pd.Series, rng: np.random.Generator) -> dict[str, pd.Series]:
        values, _ = self._clean(values)
        out = values.astype(object)
        if self.rare_k:
            out = self._replace_rare(out, rng)
        if self.pooled_:
            out = out.where(~out.isin(self.pooled_.keys()), POOLED_TOKEN)
        out = out.where(out.notna(), MISSING_TOKEN)
        return {self.model_name: out.reset_index(drop=True)}

    def _load_state(self, state: dict[str, Any]) -> None:
        state = {"weights": [1] * len(state["levels"]), **state}  # states written before it
        super()._load_state(state)

    def _unknown(self, values: pd.Series) -> pd.Series:
        """Present values of no kept level (rare or never seen)."""
        return values.notna() & ~values.isin(self.levels_) & ~values.isin(self.pooled_.keys())

    def _analysis(self, values: pd.Series) -> tuple[AnalysisType, pd.Series]:
        cleaned = self._clean(values)[0].astype(object)
        return "categorical", cleaned.where(cleaned.notna(), None)

    def _altered(self, values: pd.Series) -> np.ndarray:
        if not self.rare_k:
            return super()._altered(values)
        return self._unknown(self._clean(values)[0]).to_numpy()

    def _replace_rare(self, values: pd.Series, rng: np.random.Generator) -> pd.Series:
        """Values of no kept level (rare ones) drawn anew from the levels' frequencies."""
        unknown = self._unknown(values)
        n = int(unknown.sum())
        if not n:
            return values
        if not self.levels_:  # no category is shared by k rows: none can be written
            return values.where(~unknown, None)
        weights = np.asarray(self.weights_, dtype=float)
        draws = np.asarray(self.levels_, dtype=object)[
            rng.choice(len(self.levels_), size=n, p=weights / weights.sum())
        ]
        values = values.copy()
        values[unknown.to_numpy()] = draws
        return values

    def model_columns(self) -> dict[str, ModelType]:
        return {self.model_name: "categorical"}

    def _inverse(self, model: pd.DataFrame, rng: np.random.Generator, decimal: str) -> pa.Array:
        # work on codes into a small dictionary, not on a million Python strings
        pooled = list(self.pooled_)
        dictionary = [*self.levels_, *pooled]
        missing_code = -1
        lookup = [*self.levels_, POOLED_TOKEN, MISSING_TOKEN]
        codes = pd.Categorical(model[self.model_name].astype(object), categories=lookup).codes
        codes = codes.astype("int64")
        codes[codes == len(lookup) - 1] = missing_code
        codes[codes < 0] = missing_code  # a level the model never saw cannot be written
        is_pooled = codes == len(self.levels_)
        if is_pooled.any() and pooled:
            weights = np.array(list(self.pooled_.values()), dtype=float)
            codes[is_pooled] = len(self.levels_) + rng.choice(
                len(pooled), size=int(is_pooled.sum()), p=weights / weights.sum()
            )
        missing = codes == missing_code
        calibrated = self._calibrated(missing, rng)
        revived = missing & ~calibrated
        if revived.any() and (~missing).any():  # levels for rows no longer missing, as modelled
            codes[revived] = rng.choice(codes[~missing], size=int(revived.sum()))
        indices = pa.array(codes, type=pa.int32(), mask=calibrated)
        return pa.DictionaryArray.from_arrays(indices, pa.array(dictionary, type=pa.string()))
