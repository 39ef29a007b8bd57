"""The reversible preprocessing pipeline: strings in, model frame out, and back again."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from config.job import CleaningOptions, ProtectionOptions
from config.schema import ColumnKind, DatasetSchema
from preprocessing.cleaning import Cleaned, split_missing
from preprocessing.errors import NotFittedError, PreprocessingError
from preprocessing.formats import TableFormat
from preprocessing.report import ColumnReport, PreprocessingReport
from preprocessing.steps.base import AnalysisType, ColumnStep, ModelType
from preprocessing.steps.discrete import CategoricalStep
from preprocessing.steps.generated import ConstantStep, IdStep, TextStep
from preprocessing.steps.numeric import NumericStep
from preprocessing.steps.temporal import TemporalStep

STATE_VERSION = 1
_STEP_FOR_KIND: dict[ColumnKind, type[ColumnStep]] = {
    ColumnKind.INTEGER: NumericStep,
    ColumnKind.DECIMAL: NumericStep,
    ColumnKind.DATE: TemporalStep,
    ColumnKind.DATETIME: TemporalStep,
    ColumnKind.CATEGORICAL: CategoricalStep,
    ColumnKind.BOOLEAN: CategoricalStep,
    ColumnKind.ID: IdStep,
    ColumnKind.TEXT: TextStep,
}


class Pipeline:
    """Fits one step per column of a (merged) schema; excluded columns are dropped."""

    def __init__(
        self,
        schema: DatasetSchema,
        cleaning: CleaningOptions | None = None,
        input_format: TableFormat | None = None,
        max_levels: int = 1000,
        configured: set[str] | None = None,
        protection: ProtectionOptions | None = None,
    ) -> None:
        self.schema = schema
        self.cleaning = cleaning or CleaningOptions()
        # None: no protection (exact round trips); the job configuration turns it on
        self.protection = protection
        self.input_format = input_format or TableFormat()
        self.max_levels = max_levels
        self.configured = configured or set()
        self.steps_: list[ColumnStep] = []
        self.report_: PreprocessingReport | None = None

    # ---------------------------------------------------------------- fit / transform
    def fit(self, frame: pd.DataFrame) -> Pipeline:
        """Learn every column's state from a DataFrame of strings."""
        self._fit(frame)
        return self

    def _fit(self, frame: pd.DataFrame) -> dict[str, Cleaned]:
        """``fit``; returns each step's cleaned column (``split_missing``) for ``transform``."""
        markers = set(self.cleaning.missing_markers)
        cleaned: dict[str, Cleaned] = {}
        prot = self.protection
        steps: list[ColumnStep] = []
        for i, (name, spec) in enumerate(self.schema.columns.items()):
            if spec.exclude:
                continue
            if name not in frame.columns:
                raise PreprocessingError("configured column is missing from the data", column=name)
            col_markers = markers | set(spec.missing_markers or [])
            step_cls = _STEP_FOR_KIND[spec.kind] if spec.kind else CategoricalStep
            cleaned[name] = split_missing(frame[name], col_markers, self.cleaning.trim_whitespace)
            values = cleaned[name][0]
            if spec.kind not in (ColumnKind.ID, ColumnKind.TEXT) and values.nunique() <= 1:
                step_cls = ConstantStep
            step = step_cls(
                name,
                spec,
                f"c{i}",
                col_markers,
                self.cleaning.trim_whitespace,
                decimal=self.input_format.decimal,
                max_levels=self.max_levels,
                unify=self.cleaning.unify_variants,
                rare_k=prot.k if prot and prot.rare_categories else 0,
                clip_k=prot.k if prot and prot.clip_extremes else 0,
            )
            step.fit(frame[name], cleaned[name])  # the step's markers and trimming: the same
            if name in self.configured:
                step.report_.kind_source = "configured"
            steps.append(step)
        if not any(step.model_columns() for step in steps):
            raise PreprocessingError(
                "no column left to model (all excluded, constant, identifiers or text)"
            )
        self.steps_ = steps
        self.report_ = PreprocessingReport(
            rows=len(frame),
            columns=frame.shape[1],
            duplicate_rows=int(frame.duplicated().sum()),
            input_format=self.input_format,
            column_reports=[s.report_ for s in steps],
        )
        for name, spec in self.schema.columns.items():
            if spec.exclude:
                self.report_.column_reports.append(
                    ColumnReport(
                        name=name,
                        kind=spec.kind.value if spec.kind else "?",
                        rows=len(frame),
                        kind_source="configured",
                        actions=["excluded by configuration"],
                    )
                )
        return cleaned

    def transform(self, frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        """The model frame (numbers and category strings) for a DataFrame of strings."""
        return self._transform(frame, rng, {})

    def _transform(
        self, frame: pd.DataFrame, rng: np.random.Generator, cleaned: dict[str, Cleaned]
    ) -> pd.DataFrame:
        self._check_fitted()
        cols: dict[str, pd.Series] = {}
        for step in self.steps_:
            raw = frame[step.name]
            for key, series in step.transform(raw, rng, cleaned.get(step.name)).items():
                cols[key] = series.reset_index(drop=True)
        return pd.DataFrame(cols)

    def fit_transform(self, frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        """``fit`` then ``transform``, cleaning each column once for both."""
        return self._transform(frame, rng, self._fit(frame))

    def inverse_transform(
        self,
        model: pd.DataFrame,
        rng: np.random.Generator,
        decimal: str | None = None,
        calibrate: bool = True,
    ) -> pa.Table:
        """Strings in the input's column order and formats (null = missing).

        ``calibrate=False`` writes missing values exactly as the model drew them (conditional
        sampling), instead of matching each column's training missing rate.
        """
        self._check_fitted()
        dec = decimal or self.input_format.decimal
        arrays = [step.inverse_transform(model, rng, dec, calibrate) for step in self.steps_]
        return pa.table(arrays, names=[s.name for s in self.steps_])

    def condition_frame(self, conditions: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        """Model-frame values that make synthetic rows take the given raw values.

        ``conditions`` holds output columns as strings (None = missing), one row per wanted
        combination; refused values raise ``PreprocessingError`` naming the column.
        """
        self._check_fitted()
        by_name = {step.name: step for step in self.steps_}
        cols: dict[str, pd.Series] = {}
        for name in conditions.columns:
            step = by_name.get(str(name))
            if step is None:
                raise PreprocessingError(
                    "a condition names a column the output does not have", column=str(name)
                )
            for key, series in step.condition(conditions[name], rng).items():
                cols[key] = series.reset_index(drop=True)
        return pd.DataFrame(cols)

    # ---------------------------------------------------------------- introspection
    def model_columns(self) -> dict[str, ModelType]:
        """Columns handed to synthesizers, with their types."""
        self._check_fitted()
        out: dict[str, ModelType] = {}
        for step in self.steps_:
            out.update(step.model_columns())
        return out

    def column_of(self, model_column: str) -> str | None:
        """The output column a model column belongs to."""
        for step in self.steps_:
            if model_column in step.model_columns():
                return step.name
        return None

    def output_columns(self) -> list[str]:
        """Names of the output columns, in order."""
        return [s.name for s in self.steps_]

    def analysis_frame(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, AnalysisType]]:
        """Judged columns of a string frame as numbers (dates: seconds) or labels, and types."""
        self._check_fitted()
        columns: dict[str, pd.Series] = {}
        types: dict[str, AnalysisType] = {}
        for step in self.steps_:
            judged = step.analysis_values(frame[step.name])
            if judged is not None:
                types[step.name], columns[step.name] = judged
        return pd.DataFrame(columns), types

    def altered_by_protection(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows of a string frame holding a value protection replaces or clips."""
        self._check_fitted()
        altered = np.zeros(len(frame), dtype=bool)
        for step in self.steps_:
            altered |= step.altered_by_protection(frame[step.name])
        return altered

    def learned_columns(self) -> list[str]:
        """Output columns the synthesizer learns (not generated identifiers or free text)."""
        return [s.name for s in self.steps_ if not isinstance(s, IdStep | TextStep)]

    def output_kinds(self) -> dict[str, ColumnKind]:
        """Kind of each output column (for typed writers)."""
        return {s.name: s.spec.kind or ColumnKind.CATEGORICAL for s in self.steps_}

    def missing_markers(self) -> dict[str, str]:
        """How each output column writes a missing value."""
        return {s.name: s.marker_ for s in self.steps_}

    # ---------------------------------------------------------------- state
    def to_json(self) -> str:
        """Fitted state as JSON (no pickle)."""
        self._check_fitted()
        assert self.report_ is not None
        return json.dumps(
            {
                "version": STATE_VERSION,
                "schema": self.schema.model_dump(mode="json", exclude_none=True),
                "cleaning": self.cleaning.model_dump(mode="json"),
                "input_format": self.input_format.model_dump(mode="json"),
                "max_levels": self.max_levels,
                "protection": self.protection.model_dump() if self.protection else None,
                "steps": [s.to_state() for s in self.steps_],
                "report": self.report_.model_dump(mode="json"),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Pipeline:
        """Rebuild a fitted pipeline from ``to_json`` output."""
        data: dict[str, Any] = json.loads(text)
        if data.get("version") != STATE_VERSION:
            raise PreprocessingError("unsupported preprocessing state version")
        pipe = cls(
            DatasetSchema.model_validate(data["schema"]),
            CleaningOptions.model_validate(data["cleaning"]),
            TableFormat.model_validate(data["input_format"]),
            data["max_levels"],
            protection=(
                ProtectionOptions.model_validate(data["protection"])
                if data.get("protection")
                else None
            ),
        )
        pipe.steps_ = [ColumnStep.from_state(s) for s in data["steps"]]
        pipe.report_ = PreprocessingReport.model_validate(data["report"])
        return pipe

    def _check_fitted(self) -> None:
        if not self.steps_:
            raise NotFittedError("the preprocessing pipeline is not fitted")
