"""Date and datetime columns: parsed value by value, modelled as numbers, written back in
the dominant (or configured) format and time zone."""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa

from config.schema import ColumnKind
from preprocessing.errors import PreprocessingError
from preprocessing.steps.base import (
    ABSENT,
    AnalysisType,
    ColumnStep,
    ModelType,
    fill_from_observed,
    format_integers,
    missing_indicator,
    protected_bounds,
    with_missing,
)
from preprocessing.timestamps import (
    NAT,
    DateFormatError,
    compile_pattern,
    detect_patterns,
    epoch_to_ns,
    parse_with_patterns,
)

NS_PER_S = 1_000_000_000
NS_PER_DAY = 86_400 * NS_PER_S
_ISO_FALLBACK = ("yyyy-MM-dd", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm:ss")


class TemporalStep(ColumnStep):
    """Dates are modelled as days since 1970-01-01, datetimes as seconds (UTC)."""

    step_name = "temporal"
    state_fields: ClassVar[dict[str, str]] = {
        "patterns": "patterns_",
        "output": "output_",
        "offset": "offset_",
        "lo": "lo_",
        "hi": "hi_",
        "resolution_ns": "resolution_ns_",
        "has_missing": "has_missing_",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.patterns_: list[str] = []
        self.output_: str = ""
        self.offset_ = 0
        self.lo_ = 0
        self.hi_ = 0
        self.resolution_ns_ = NS_PER_DAY
        self.has_missing_ = False

    @property
    def unit_ns(self) -> int:
        return NS_PER_DAY if self.spec.kind == ColumnKind.DATE else NS_PER_S

    def _parse(self, values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        present = values.notna().to_numpy()
        n = len(values)
        ns = np.full(n, NAT, dtype="int64")
        offsets = np.zeros(n, dtype="int64")
        used = np.full(n, -1, dtype="int64")
        if present.any():
            idx = np.flatnonzero(present)
            sub = values.iloc[idx].astype(str)
            if self.spec.epoch_unit:
                ns[idx] = epoch_to_ns(sub, self.spec.epoch_unit)
                used[idx[ns[idx] != NAT]] = 0
            else:
                got, offs, which = parse_with_patterns(sub, self.patterns_)
                ns[idx], offsets[idx], used[idx] = got, offs, which
        return ns, offsets, used

    def _configured_bound(self, value: float | str | None) -> int | None:
        if value is None:
            return None
        if isinstance(value, int | float):
            raise PreprocessingError("date 'min'/'max' must be written as dates", column=self.name)
        got, _, _ = parse_with_patterns(pd.Series([value]), [*self.patterns_, *_ISO_FALLBACK])
        if got[0] == NAT:
            raise PreprocessingError(
                "configured 'min'/'max' does not match the column's date format", column=self.name
            )
        return int(got[0])

    def _fit(self, values: pd.Series) -> None:
        if not self.spec.epoch_unit:
            self.patterns_ = list(self.spec.formats or [])
            try:
                for p in self.patterns_:
                    compile_pattern(p)
            except DateFormatError as exc:
                raise PreprocessingError(exc.message, column=self.name) from None
            if not self.patterns_:
                self.patterns_ = detect_patterns(values.dropna().unique())
            if not self.patterns_:
                raise PreprocessingError(
                    "no date format fits this column; configure 'formats'", column=self.name
                )
        ns, offsets, used = self._parse(values)
        present = values.notna().to_numpy()
        unparsed = int((present & (ns == NAT)).sum())
        ns, out = self._apply_bounds(ns)
        ok = ns != NAT
        counts = Counter(used[ok].tolist())
        if self.spec.output_format:
            try:
                compile_pattern(self.spec.output_format)
            except DateFormatError as exc:
                raise PreprocessingError(exc.message, column=self.name) from None
            self.output_ = self.spec.output_format
        elif self.spec.epoch_unit:
            self.output_ = ""
        else:
            dominant = counts.most_common(1)[0][0] if counts else 0
            self.output_ = self.patterns_[dominant]
        if ok.any():
            self.offset_ = int(Counter(offsets[ok].tolist()).most_common(1)[0][0])
            self.lo_, self.hi_ = int(ns[ok].min()), int(ns[ok].max())
            if self.clip_k:
                lo, hi = protected_bounds(np.sort(ns[ok]), self.clip_k)
                self.lo_, self.hi_ = int(lo), int(hi)
                self.report_.extremes_clipped = int(
                    (ok & ((ns < self.lo_) | (ns > self.hi_))).sum()
                )
                self.report_.actions.append(
                    f"extremes clipped to the {self.clip_k}th earliest and latest value"
                )
        self.resolution_ns_ = self._resolution()
        self.missing_rate_ = float(1 - ok.mean()) if len(ns) else 0.0
        self.has_missing_ = bool((~ok).any())
        r = self.report_
        epoch = f"epoch_{self.spec.epoch_unit}" if self.spec.epoch_unit else None
        r.formats = [epoch] if epoch else list(self.patterns_)
        r.output_format = self.output_ or epoch
        r.missing = int((~ok).sum())
        r.coerced_to_missing = unparsed
        r.out_of_range = out
        if len(counts) > 1:
            r.actions.append(
                f"{len(counts)} formats parsed value by value; written in the dominant one"
            )
        if self.has_missing_:
            r.actions.append("missingness modelled as an indicator column")

    def _apply_bounds(self, ns: np.ndarray) -> tuple[np.ndarray, int]:
        ns = ns.copy()
        out = 0
        lo, hi = self._configured_bound(self.spec.min), self._configured_bound(self.spec.max)
        valid = ns != NAT
        if lo is not None:
            bad = valid & (ns < lo)
            out += int(bad.sum())
            ns[bad] = NAT
        if hi is not None:
            bad = valid & (ns > hi)
            out += int(bad.sum())
            ns[bad] = NAT
        return ns, out

    def _resolution(self) -> int:
        if self.spec.kind == ColumnKind.DATE:
            return NS_PER_DAY
        if self.spec.epoch_unit:
            return NS_PER_S if self.spec.epoch_unit == "s" else 1_000_000
        codes = {t.code for t in compile_pattern(self.output_).tokens if t.code}
        fracs = [int(c[1:]) for c in codes if c.startswith("f")]
        if fracs:
            return 10 ** (9 - max(fracs))
        if "s2" in codes:
            return NS_PER_S
        if "m2" in codes:
            return 60 * NS_PER_S
        return 3600 * NS_PER_S

    def _transform(self, values: pd.Series, rng: np.random.Generator) -> dict[str, pd.Series]:
        ns, _, _ = self._parse(values)
        ns, _ = self._apply_bounds(ns)
        missing = ns == NAT
        if self.clip_k:
            ns = np.where(missing, ns, np.clip(ns, self.lo_, self.hi_))
        x = np.where(missing, np.nan, ns.astype(float) / self.unit_ns)
        cols = {self.model_name: pd.Series(fill_from_observed(x, rng))}
        if self.has_missing_:
            cols[self.model_name + "__na"] = missing_indicator(missing)
        return cols

    def _analysis(self, values: pd.Series) -> tuple[AnalysisType, pd.Series]:
        ns, _ = self._apply_bounds(self._parse(values)[0])
        return "datetime", pd.Series(np.where(ns == NAT, np.nan, ns / 1e9))

    def _altered(self, values: pd.Series) -> np.ndarray:
        if not self.clip_k:
            return super()._altered(values)
        ns, _, _ = self._parse(values)
        ns, _ = self._apply_bounds(ns)
        return (ns != NAT) & ((ns < self.lo_) | (ns > self.hi_))

    def model_columns(self) -> dict[str, ModelType]:
        cols: dict[str, ModelType] = {self.model_name: "numerical"}
        if self.has_missing_:
            cols[self.model_name + "__na"] = "categorical"
        return cols

    def _inverse(self, model: pd.DataFrame, rng: np.random.Generator, decimal: str) -> pa.Array:
        x = pd.to_numeric(model[self.model_name], errors="coerce").to_numpy(float)
        missing = np.isnan(x)
        lo = self._configured_bound(self.spec.min)
        hi = self._configured_bound(self.spec.max)
        lo = self.lo_ if lo is None or self.clip_k else lo
        hi = self.hi_ if hi is None or self.clip_k else hi
        ns = np.where(missing, lo / self.unit_ns, x) * self.unit_ns
        step = self.resolution_ns_
        ns = np.clip(np.round(ns / step) * step, lo, hi).astype("int64")
        if self.spec.epoch_unit:
            scale = NS_PER_S if self.spec.epoch_unit == "s" else 1_000_000
            text = format_integers(ns // scale)
        else:
            text = compile_pattern(self.output_).format(ns, self._output_offsets(ns))
        if self.has_missing_:
            missing |= (model[self.model_name + "__na"] == ABSENT).to_numpy()
        missing = self._calibrated(missing, rng)
        return with_missing(text, missing)

    def _output_offsets(self, ns: np.ndarray) -> np.ndarray | int:
        zone = self.spec.timezone
        if zone is None:
            return self.offset_
        if zone in ("Z", "UTC"):
            return 0
        if zone[0] in "+-":
            digits = zone[1:].replace(":", "")
            return (1 if zone[0] == "+" else -1) * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
        utc = pd.DatetimeIndex(ns.view("datetime64[ns]"), tz="UTC")
        local = utc.tz_convert(zone).tz_localize(None)
        return ((local.asi8 - utc.tz_localize(None).asi8) // NS_PER_S).astype("int64")
