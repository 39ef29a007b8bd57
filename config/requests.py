"""Request bodies of the job API (validated here, used by the service layer)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from config.errors import config_error_from_validation
from config.job import (
    CleaningOptions,
    OutputOptions,
    ProtectionOptions,
    ReportOptions,
    SynthesizerSpec,
)
from config.schema import DatasetSchema

ID_PATTERN = r"^[0-9a-f]{32}$"


class JobRequest(BaseModel):
    """``POST /jobs``: train a synthesizer on an uploaded dataset and sample from it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    dataset_id: str | None = Field(
        None, pattern=ID_PATTERN, description="id from POST /datasets (omit with a file part)"
    )
    synthesizer: SynthesizerSpec = Field(default_factory=SynthesizerSpec)
    num_rows: int | None = Field(
        None, ge=1, le=100_000_000, description="rows to generate; default: the dataset's rows"
    )
    seed: int = Field(0, ge=0, le=2**32 - 1)
    dataset_schema: DatasetSchema | None = Field(
        None, alias="schema", description="per-column overrides of the dataset's schema"
    )
    cleaning: CleaningOptions = Field(default_factory=CleaningOptions)
    output: OutputOptions = Field(default_factory=OutputOptions)
    protection: ProtectionOptions = Field(default_factory=ProtectionOptions)
    report: ReportOptions = Field(default_factory=ReportOptions)
    callback_url: str | None = Field(
        None, max_length=2000, description="POSTed a JSON notification when the job ends"
    )


ConditionValue = str | int | float | None
MAX_COMBINATIONS = 100_000


class SampleRequest(BaseModel):
    """``POST /jobs/{id}/samples``: more rows from a fitted model, without refitting."""

    model_config = ConfigDict(extra="forbid")

    num_rows: int | None = Field(
        None,
        ge=1,
        le=100_000_000,
        description="default: as many rows as the training data (or one per listed combination)",
    )
    conditions: dict[str, ConditionValue] | list[dict[str, ConditionValue]] | None = Field(
        None,
        description="fixed values (as written in the input file; null = missing) for some "
        "columns: one mapping gives num_rows rows that all take them, a list of mappings with "
        "the same columns gives one row per mapping, in order (cart and argn only)",
    )
    seed: int = Field(0, ge=0, le=2**32 - 1)
    output: OutputOptions = Field(default_factory=OutputOptions)
    protection: ProtectionOptions = Field(default_factory=ProtectionOptions)
    report: ReportOptions = Field(default_factory=ReportOptions)
    callback_url: str | None = Field(None, max_length=2000)

    @field_validator("conditions")
    @classmethod
    def _check_conditions(cls, cond: Any, info: ValidationInfo) -> Any:
        if cond is None:
            return cond
        if isinstance(cond, dict):
            if not cond:
                raise ValueError("conditions must name at least one column")
            return cond
        if not cond:
            raise ValueError("a list of conditions must hold at least one combination")
        if len(cond) > MAX_COMBINATIONS:
            raise ValueError(f"at most {MAX_COMBINATIONS} combinations per request")
        keys = set(cond[0])
        if not keys or any(set(c) != keys for c in cond):
            raise ValueError("every combination must give the same, non-empty set of columns")
        num_rows = info.data.get("num_rows")
        if num_rows is not None and num_rows != len(cond):
            raise ValueError("with a list of combinations, num_rows is their number (omit it)")
        return cond


def parse_request(model: type[BaseModel], data: object, what: str) -> BaseModel:
    """Validate a decoded request body; errors point at the fields, never echo values."""
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise config_error_from_validation(exc, what) from exc
