"""The job configuration: which synthesizer, how many rows, which seed, schema overrides."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from config.errors import config_error_from_validation
from config.schema import DatasetSchema

# ours, no SDV: the best fidelity and the fastest fit + sample on every shared dataset, rated
# "ok" by our report there and on small samples (bench/README.md); needs no BSL package
DEFAULT_SYNTHESIZER = "cart"


class SynthesizerSpec(BaseModel):
    """A registered synthesizer's name and its parameters (validated by its own model)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        DEFAULT_SYNTHESIZER, min_length=1, max_length=64, description="registered synthesizer"
    )
    params: dict[str, Any] = Field(default_factory=dict)


class OutputOptions(BaseModel):
    """How the synthetic table is written; unset fields mirror the input's conventions."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["csv", "tsv", "xlsx", "parquet", "json"] | None = None
    delimiter: str | None = Field(None, min_length=1, max_length=1)
    decimal: Literal[".", ","] | None = None
    encoding: Literal["utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16"] | None = None
    quoting: Literal["minimal", "all"] | None = None
    line_terminator: Literal["\n", "\r\n", "\r"] | None = None
    neutralize_formulas: bool = Field(
        True, description="prefix string cells starting with = + - @ tab CR with a quote"
    )


class CleaningOptions(BaseModel):
    """Dataset-wide cleaning switches."""

    model_config = ConfigDict(extra="forbid")

    missing_markers: list[str] = Field(
        default_factory=lambda: [
            "",
            "NA",
            "N/A",
            "n/a",
            "na",
            "null",
            "NULL",
            "None",
            "none",
            "NaN",
            "nan",
            "?",
            "-",
        ],
        description="spellings read as missing in every column",
    )
    trim_whitespace: bool = True
    unify_variants: bool = Field(
        False, description="merge category levels differing only in case/spacing (all columns)"
    )


class ProtectionOptions(BaseModel):
    """Privacy protection, on by default; the report states what each option did."""

    model_config = ConfigDict(extra="forbid")

    k: int = Field(
        5, ge=2, le=1000, description="rarity threshold: rows a category or extreme needs"
    )
    rare_categories: bool = Field(
        True, description="categories seen in fewer than k rows are replaced by frequent ones"
    )
    clip_extremes: bool = Field(
        True, description="numbers and dates clipped to the k-th smallest and largest value"
    )
    remove_copies: bool = Field(
        True,
        description="synthetic rows identical to a training row that fewer than k training "
        "rows share are drawn again",
    )


class ReportOptions(BaseModel):
    """The quality and privacy report: holdout and utility target."""

    model_config = ConfigDict(extra="forbid")

    holdout: float = Field(
        0.2, ge=0, le=0.5, description="share of rows kept out of training to judge by; 0: none"
    )
    target: str | None = Field(
        None, max_length=1000, description="column the utility test predicts; default: chosen"
    )


class JobConfig(BaseModel):
    """Everything one synthesis run needs besides the input table."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    synthesizer: SynthesizerSpec = Field(default_factory=SynthesizerSpec)
    num_rows: int | None = Field(
        None, ge=1, le=100_000_000, description="rows to generate; default: input rows"
    )
    seed: int = Field(0, ge=0, le=2**32 - 1)
    dataset_schema: DatasetSchema | None = Field(None, alias="schema")
    cleaning: CleaningOptions = Field(default_factory=CleaningOptions)
    output: OutputOptions = Field(default_factory=OutputOptions)
    sheet: str | None = Field(None, description="sheet of an .xlsx input; default: the first")
    protection: ProtectionOptions = Field(default_factory=ProtectionOptions)
    report: ReportOptions = Field(default_factory=ReportOptions)


def parse_job_config(data: object) -> JobConfig:
    """Validate a job configuration from a decoded YAML/JSON document."""
    try:
        return JobConfig.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise config_error_from_validation(exc, "job configuration") from exc
