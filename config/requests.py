"""Request bodies of the job API (validated here, used by the service layer)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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


class SampleRequest(BaseModel):
    """``POST /jobs/{id}/samples``: more rows from a fitted model, without refitting."""

    model_config = ConfigDict(extra="forbid")

    num_rows: int | None = Field(
        None, ge=1, le=100_000_000, description="default: as many rows as the training data"
    )
    seed: int = Field(0, ge=0, le=2**32 - 1)
    output: OutputOptions = Field(default_factory=OutputOptions)
    protection: ProtectionOptions = Field(default_factory=ProtectionOptions)
    report: ReportOptions = Field(default_factory=ReportOptions)
    callback_url: str | None = Field(None, max_length=2000)


def parse_request(model: type[BaseModel], data: object, what: str) -> BaseModel:
    """Validate a decoded request body; errors point at the fields, never echo values."""
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise config_error_from_validation(exc, what) from exc
