"""Integer and decimal columns."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa

from config.schema import ColumnKind
from preprocessing.steps.base import (
    ABSENT,
    AnalysisType,
    ColumnStep,
    ModelType,
    fill_from_observed,
    format_fixed,
    format_integers,
    missing_indicator,
    protected_bounds,
    with_missing,
)


def parse_numbers(values: pd.Series, decimal: str) -> np.ndarray:
    """Strings to floats (NaN for missing or unparseable), honouring a decimal comma."""
    # parsed once per distinct spelling: columns repeat values, and parsing text is slow
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    text = pd.Series(uniques, dtype=object)
    if decimal == ",":
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    parsed = np.append(pd.to_numeric(text, errors="coerce").to_numpy(float), np.nan)
    return parsed[codes]  # the sentinel -1 (missing) picks the NaN appended last


class NumericStep(ColumnStep):
    """Parses numbers, models missingness as an indicator column, writes the input's format."""

    step_name = "numeric"
    state_fields: ClassVar[dict[str, str]] = {
        "places": "places_",
        "strip_zeros": "strip_zeros_",
        "min_places": "min_places_",
        "integral": "integral_",
        "lo": "lo_",
        "hi": "hi_",
        "has_missing": "has_missing_",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.places_ = 0
        self.strip_zeros_ = False
        self.min_places_ = 0
        self.integral_ = False
        self.lo_ = 0.0
        self.hi_ = 0.0
        self.has_missing_ = False

    @property
    def integer(self) -> bool:
        return self.spec.kind == ColumnKind.INTEGER

    def _parse(self, values: pd.Series) -> tuple[np.ndarray, int, int]:
        x = parse_numbers(values, self.decimal)
        present = values.notna().to_numpy()
        if self.integer:
            x[~np.isnan(x) & (np.round(x) != x)] = np.nan
        coerced = int((present & np.isnan(x)).sum())
        out = 0
        lo, hi = self.spec.min, self.spec.max
        if isinstance(lo, int | float):
            bad = x < lo
            out += int(bad.sum())
            x[bad] = np.nan
        if isinstance(hi, int | float):
            bad = x > hi
            out += int(bad.sum())
            x[bad] = np.nan
        return x, coerced, out

    def _fit(self, values: pd.Series) -> None:
        x, coerced, out = self._parse(values)
        ok = ~np.isnan(x)
        self.missing_rate_ = float(1 - ok.mean()) if len(x) else 0.0
        self.has_missing_ = bool((~ok).any())
        self.lo_ = float(x[ok].min()) if ok.any() else 0.0
        self.hi_ = float(x[ok].max()) if ok.any() else 0.0
        if self.clip_k and ok.any():
            lo, hi = protected_bounds(np.sort(x[ok]), self.clip_k)
            self.lo_, self.hi_ = float(lo), float(hi)
            self.report_.extremes_clipped = int(((x < self.lo_) | (x > self.hi_)).sum())
            self.report_.actions.append(
                f"extremes clipped to the {self.clip_k}th smallest and largest value"
            )
        if self.spec.kind == ColumnKind.DECIMAL:
            self.integral_ = bool(ok.any()) and bool((np.round(x[ok]) == x[ok]).all())
            present = values[values.notna()].astype(str)
            sep = self.decimal
            # an empty Series (no value has a separator) has no .str accessor: keep it str
            fracs = present.str.split(sep, n=1, regex=False).str[1].dropna().astype(str)
            fracs = fracs[~fracs.str.contains("[eE]", regex=True)]
            longest = fracs.str.len().max() if len(fracs) else 0
            self.places_ = (
                self.spec.decimal_places
                if self.spec.decimal_places is not None
                else int(longest or 0)
            )
            self.min_places_ = self.places_
            lengths = fracs.str.len()
            trailing = fracs.str.endswith("0")
            if self.spec.decimal_places is None and (
                lengths.nunique() > 1 or len(fracs) < len(present)
            ):
                if not trailing.any():  # shortest repr, whole numbers without a fraction
                    self.strip_zeros_, self.min_places_ = True, 0
                elif (fracs[trailing] == "0").all() and len(fracs) == len(present):
                    self.strip_zeros_, self.min_places_ = True, 1  # Python/R repr: 47.0, 38.03
        r = self.report_
        r.missing = int((~ok).sum())
        r.coerced_to_missing = coerced
        r.out_of_range = out
        r.decimal_places = self.places_ if not self.integer else None
        if self.has_missing_:
            r.actions.append("missingness modelled as an indicator column")

    def _transform(self, values: pd.Series, rng: np.random.Generator) -> dict[str, pd.Series]:
        x, _, _ = self._parse(values)
        if self.clip_k:
            x = np.clip(x, self.lo_, self.hi_)  # NaN stays NaN
        cols = {self.model_name: pd.Series(fill_from_observed(x, rng))}
        if self.has_missing_:
            cols[self.model_name + "__na"] = missing_indicator(np.isnan(x))
        return cols

    def _analysis(self, values: pd.Series) -> tuple[AnalysisType, pd.Series]:
        return "numerical", pd.Series(self._parse(values)[0])

    def _altered(self, values: pd.Series) -> np.ndarray:
        if not self.clip_k:
            return super()._altered(values)
        x, _, _ = self._parse(values)
        return (x < self.lo_) | (x > self.hi_)

    def model_columns(self) -> dict[str, ModelType]:
        cols: dict[str, ModelType] = {self.model_name: "numerical"}
        if self.has_missing_:
            cols[self.model_name + "__na"] = "categorical"
        return cols

    def bounds(self) -> tuple[float, float]:
        """Lowest and highest value written: configured limits, else the observed range."""
        if self.clip_k:  # inside any configured range already: out-of-range values are gone
            return self.lo_, self.hi_
        lo = self.spec.min if isinstance(self.spec.min, int | float) else self.lo_
        hi = self.spec.max if isinstance(self.spec.max, int | float) else self.hi_
        return float(lo), float(hi)

    def _inverse(self, model: pd.DataFrame, rng: np.random.Generator, decimal: str) -> pa.Array:
        x = pd.to_numeric(model[self.model_name], errors="coerce").to_numpy(float)
        missing = np.isnan(x)
        lo, hi = self.bounds()
        x = np.clip(np.where(missing, lo, x), lo, hi)
        if self.integer or self.integral_:
            x = np.round(x)
        if self.integer:
            text = format_integers(x)
        else:
            text = format_fixed(x, self.places_, decimal, self.strip_zeros_, self.min_places_)
        if self.has_missing_:
            missing |= (model[self.model_name + "__na"] == ABSENT).to_numpy()
        missing = self._calibrated(missing, rng)
        return with_missing(text, missing)
