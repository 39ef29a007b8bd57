"""The base class of the per-column steps and the shared fast formatting helpers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from config.patterns import full_matches
from config.schema import ColumnSpec
from preprocessing.cleaning import Cleaned, split_missing
from preprocessing.errors import ConditionValueError, NotFittedError, PreprocessingError
from preprocessing.report import ColumnReport

ModelType = Literal["numerical", "categorical"]
AnalysisType = Literal["numerical", "datetime", "categorical"]
MISSING_TOKEN = "\x00missing"
PRESENT, ABSENT = "present", "missing"


class ColumnStep(ABC):
    """One column: ``fit`` learns from strings, ``transform`` gives model columns,
    ``inverse_transform`` turns model columns back into strings (None = missing)."""

    registry: ClassVar[dict[str, type[ColumnStep]]] = {}
    step_name: ClassVar[str]
    # fitted attributes saved as JSON, by state key
    state_fields: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "step_name" in cls.__dict__:
            ColumnStep.registry[cls.step_name] = cls

    def __init__(
        self,
        name: str,
        spec: ColumnSpec,
        model_name: str,
        markers: set[str],
        trim: bool = True,
        *,
        decimal: str = ".",
        max_levels: int = 1000,
        unify: bool = False,
        rare_k: int = 0,
        clip_k: int = 0,
    ) -> None:
        self.decimal = decimal
        self.max_levels = max_levels
        self.unify = unify
        self.rare_k = rare_k  # protection: categories in fewer rows are replaced (0 = off)
        self.clip_k = clip_k  # protection: clip to the k-th smallest/largest value (0 = off)
        self.name = name
        self.spec = spec
        self.model_name = model_name
        self.markers = markers
        self.trim = trim
        self.fitted_ = False
        self.calibrate_ = True  # match the training missing rate when writing (off: as drawn)
        self.marker_ = ""
        self.missing_rate_ = 0.0
        self.report_ = ColumnReport(name=name, kind=spec.kind.value if spec.kind else "?")

    # -- public API ---------------------------------------------------------------------------
    def fit(self, raw: pd.Series, cleaned: Cleaned | None = None) -> ColumnStep:
        """Learn this column's state from its raw strings.

        ``cleaned``: ``split_missing(raw, self.markers, self.trim)`` if already computed.
        """
        values, _missing, self.marker_ = cleaned or split_missing(raw, self.markers, self.trim)
        values, mismatched = self._match_pattern(values)
        self.report_.rows = len(raw)
        self.report_.missing_marker = self.marker_
        if mismatched:
            self.report_.pattern_mismatch = mismatched
            self.report_.actions.append(
                f"{mismatched} values not matching the configured pattern treated as missing"
            )
        self._fit(values)
        self.fitted_ = True
        return self

    def transform(
        self, raw: pd.Series, rng: np.random.Generator, cleaned: Cleaned | None = None
    ) -> dict[str, pd.Series]:
        """Model columns for these raw strings (``cleaned``: as for ``fit``)."""
        self._check_fitted()
        values = (cleaned or split_missing(raw, self.markers, self.trim))[0]
        return self._transform(self._match_pattern(values)[0], rng)

    def inverse_transform(
        self,
        model: pd.DataFrame,
        rng: np.random.Generator,
        decimal: str = ".",
        calibrate: bool = True,
    ) -> pa.Array:
        """Strings (null = missing) from model columns.

        ``calibrate`` matches the batch's missing share to the training rate; conditional
        sampling turns it off, since rows drawn given some values have their own rate.
        """
        self._check_fitted()
        self.calibrate_ = calibrate
        try:
            return self._inverse(model, rng, decimal)
        finally:
            self.calibrate_ = True

    def condition(self, raw: pd.Series, rng: np.random.Generator) -> dict[str, pd.Series]:
        """Model columns that make synthetic rows take these raw values (one row each).

        A value is accepted only if writing its model values gives it back: rare categories
        and clipped extremes (protection), values finer than the column's precision, levels
        never seen and a missing value in a column that never misses are refused. A missing
        value leaves the number itself free (NaN) and fixes only its indicator. Errors name
        the column, never the value.
        """
        self._check_fitted()
        columns = self.model_columns()
        if not columns:
            raise PreprocessingError(
                "this column is generated, not learned: it cannot be conditioned on",
                column=self.name,
            )
        raw = raw.reset_index(drop=True)
        model = self.transform(raw, rng)
        frame = pd.DataFrame(model)
        back = pd.Series(
            self.inverse_transform(frame, rng, self.decimal, calibrate=False).to_pylist(),
            dtype=object,
        )
        given = self.analysis_values(raw)
        written = self.analysis_values(back)
        present = ~split_missing(raw, self.markers, self.trim)[1].to_numpy()
        if given is None or written is None:
            same = np.ones(len(raw), dtype=bool)
        else:
            a, b = given[1], written[1]
            if given[0] == "categorical":
                same = (a.isna() & b.isna()).to_numpy() | (a == b).fillna(False).to_numpy()
            else:
                x, y = a.to_numpy(float), b.to_numpy(float)
                both = np.isnan(x) & np.isnan(y)
                same = both | np.isclose(x, y, rtol=1e-12, atol=0.0)
                same &= ~(present & np.isnan(x))  # present but not a number of this column
        if not same.all():
            raise ConditionValueError(
                "a condition gives a value this column cannot produce (not one of its values, "
                "protected as rare or extreme, or finer than its precision)",
                column=self.name,
                row=int(np.flatnonzero(~same)[0]),
            )
        for name, kind in columns.items():
            if kind == "numerical":  # a missing number: only its indicator is fixed
                model[name] = model[name].where(present, np.nan)
        return model

    def model_columns(self) -> dict[str, ModelType]:
        """Names and types of the columns this step hands to the synthesizer."""
        return {}

    def analysis_values(self, raw: pd.Series) -> tuple[AnalysisType, pd.Series] | None:
        """The column as the report judges it (numbers, seconds or labels), None if not judged.

        Real and synthetic tables go through the same parsing, so they are compared on values,
        not on spellings; identifiers and generated text are not judged.
        """
        self._check_fitted()
        # every step's analysis is value by value: judge each distinct spelling once
        codes, uniques = pd.factorize(raw.astype(object), use_na_sentinel=True)
        values, _, _ = split_missing(pd.Series(uniques, dtype=object), self.markers, self.trim)
        judged = self._analysis(self._match_pattern(values)[0].reset_index(drop=True))
        if judged is None:
            return None
        kind, distinct = judged
        array = distinct.to_numpy()
        if array.dtype.kind == "f":
            full = np.append(array, np.nan)  # code -1 (a missing cell) picks the last entry
        else:
            full = np.append(array.astype(object), None)
        return kind, pd.Series(full[codes])

    def _analysis(self, values: pd.Series) -> tuple[AnalysisType, pd.Series] | None:
        return None

    def altered_by_protection(self, raw: pd.Series) -> np.ndarray:
        """Rows whose value protection replaces or clips (such a value is never written)."""
        self._check_fitted()
        values, _, _ = split_missing(raw, self.markers, self.trim)
        return self._altered(self._match_pattern(values)[0])

    def to_state(self) -> dict[str, Any]:
        """Fitted state as JSON-compatible data."""
        self._check_fitted()
        return {
            "step": self.step_name,
            "name": self.name,
            "model_name": self.model_name,
            "spec": self.spec.model_dump(mode="json", exclude_none=True),
            "markers": sorted(self.markers),
            "trim": self.trim,
            "marker": self.marker_,
            "options": {
                "decimal": self.decimal,
                "max_levels": self.max_levels,
                "unify": self.unify,
                "rare_k": self.rare_k,
                "clip_k": self.clip_k,
            },
            "missing_rate": self.missing_rate_,
            "report": self.report_.model_dump(),
            "state": self._state(),
        }

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> ColumnStep:
        """Rebuild a fitted step from ``to_state`` output."""
        step_cls = ColumnStep.registry[data["step"]]
        step = step_cls(
            data["name"],
            ColumnSpec.model_validate(data["spec"]),
            data["model_name"],
            set(data["markers"]),
            data["trim"],
            **data["options"],
        )
        step.marker_ = data["marker"]
        step.missing_rate_ = data["missing_rate"]
        step.report_ = ColumnReport.model_validate(data["report"])
        step._load_state(data["state"])
        step.fitted_ = True
        return step

    def _match_pattern(self, values: pd.Series) -> tuple[pd.Series, int]:
        """Values not matching the column's pattern become missing; returns how many did."""
        if self.spec.pattern is None:
            return values, 0
        matches = full_matches(pa.array(values, pa.string()), self.spec.pattern)
        bad = pc.fill_null(pc.invert(matches), False).to_numpy(zero_copy_only=False)
        if not bad.any():
            return values, 0
        return values.where(~bad, None), int(bad.sum())

    # -- for subclasses -----------------------------------------------------------------------
    @abstractmethod
    def _fit(self, values: pd.Series) -> None: ...

    @abstractmethod
    def _transform(self, values: pd.Series, rng: np.random.Generator) -> dict[str, pd.Series]: ...

    @abstractmethod
    def _inverse(self, model: pd.DataFrame, rng: np.random.Generator, decimal: str) -> pa.Array: ...

    def _altered(self, values: pd.Series) -> np.ndarray:
        return np.zeros(len(values), dtype=bool)

    def _state(self) -> dict[str, Any]:
        return {key: getattr(self, attr) for key, attr in self.state_fields.items()}

    def _load_state(self, state: dict[str, Any]) -> None:
        for key, attr in self.state_fields.items():
            setattr(self, attr, state[key])

    def _check_fitted(self) -> None:
        if not self.fitted_:
            raise NotFittedError("preprocessing step used before fit", column=self.name)

    def _calibrated(self, missing: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The missing mask at the training rate, or as drawn when calibration is off."""
        if not self.calibrate_:
            return np.asarray(missing, dtype=bool)
        return calibrate_missing(missing, self.missing_rate_, rng)

    def _random_missing(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Missing mask at the learned rate, for columns whose missingness is not modelled."""
        return calibrate_missing(np.zeros(n, dtype=bool), self.missing_rate_, rng)


def protected_bounds(sorted_values: np.ndarray, k: int) -> tuple[Any, Any]:
    """The k-th smallest and k-th largest value; the median for both below 2k values.

    Exact extremes single out the people who hold them; the k-th value is shared by at least
    k rows' worth of the distribution's tail. With fewer than 2k values every value is an
    extreme, so only the middle one is written.
    """
    n = len(sorted_values)
    if n < 2 * k:
        middle = sorted_values[(n - 1) // 2].item()
        return middle, middle
    return sorted_values[k - 1].item(), sorted_values[-k].item()


def calibrate_missing(missing: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Match a batch's missing share to the training rate by flipping random rows.

    Missingness is first modelled jointly with the other columns (indicator columns or a
    missing level); networks trained briefly on small tables get its rate wrong by several
    points, so the excess or deficit is corrected on randomly chosen rows. The rows the model
    marked keep their mark as far as the rate allows.
    """
    missing = np.asarray(missing, dtype=bool).copy()
    exact = rate * len(missing)
    target = int(np.floor(exact)) + int(rng.random() < exact - np.floor(exact))  # unbiased
    current = int(missing.sum())
    if current > target:
        missing[rng.choice(np.flatnonzero(missing), current - target, replace=False)] = False
    elif current < target:
        missing[rng.choice(np.flatnonzero(~missing), target - current, replace=False)] = True
    return missing


def with_missing(text: pa.Array, missing: np.ndarray) -> pa.Array:
    """Null out the entries flagged missing."""
    if not missing.any():
        return text
    return pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), text)


def format_integers(values: np.ndarray) -> pa.Array:
    """Integers (float or int array) as strings, no ``.0``."""
    return pc.cast(pa.array(np.asarray(values).astype("int64")), pa.string())


def format_fixed(
    values: np.ndarray,
    places: int,
    decimal: str = ".",
    strip_zeros: bool = False,
    min_places: int = 0,
) -> pa.Array:
    """Numbers with a fixed number of decimal places, vectorised (no per-value Python)."""
    x = np.asarray(values, dtype=float)
    scale = 10.0**places
    if np.nanmax(np.abs(x), initial=0.0) * scale >= 9e18:
        fmt = f"{{:.{places}f}}"
        text = pa.array([fmt.format(v) for v in x])
        if decimal != ".":
            text = pc.replace_substring(text, ".", decimal)
        return text
    scaled = np.round(x * scale).astype("int64")
    negative = scaled < 0
    digits = pc.cast(pa.array(np.abs(scaled)), pa.string())
    if places == 0:
        text = digits
    else:
        digits = pc.utf8_lpad(digits, places + 1, "0")
        whole = pc.utf8_slice_codeunits(digits, 0, -places)
        frac = pc.utf8_slice_codeunits(digits, -places)
        if strip_zeros:
            frac = pc.utf8_rtrim(frac, "0")
            if min_places:
                frac = pc.utf8_rpad(frac, min_places, "0")
            joined = pc.binary_join_element_wise(whole, frac, decimal)
            text = pc.if_else(pc.equal(frac, ""), whole, joined)
        else:
            text = pc.binary_join_element_wise(whole, frac, decimal)
    if negative.any():
        text = pc.if_else(pa.array(negative), pc.binary_join_element_wise("-", text, ""), text)
    return text


def missing_indicator(missing: pd.Series | np.ndarray) -> pd.Series:
    """The categorical indicator column through which synthesizers model missingness."""
    return pd.Series(np.where(np.asarray(missing), ABSENT, PRESENT), dtype=object)


def fill_from_observed(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Replace NaN with values drawn from the observed ones (keeps the marginal intact)."""
    nan = np.isnan(x)
    if nan.any() and (~nan).any():
        x = x.copy()
        x[nan] = rng.choice(x[~nan], size=int(nan.sum()))
    elif nan.all():
        x = np.zeros_like(x)
    return x
