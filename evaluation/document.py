"""The report document of one synthesis run: what ran, what protection did, the evaluation.

Versioned (``schema_version``); the JSON endpoint serves it as is, the HTML page and the
Cinnamon platform's report render it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from evaluation.model import Evaluation
from preprocessing.report import PreprocessingReport

REPORT_SCHEMA_VERSION = "1"


class RowCounts(BaseModel):
    """Rows of the input and what each part used."""

    input: int = Field(description="rows of the uploaded table")
    training: int = Field(description="rows the synthesizer was trained on")
    holdout: int = Field(description="real rows kept out of training, used only to judge by")
    synthetic: int = Field(description="synthetic rows written")


class ProtectionSummary(BaseModel):
    """What privacy protection did (counts only)."""

    k: int
    rare_categories: bool
    rare_values_replaced: int = Field(description="training values of rare categories replaced")
    clip_extremes: bool
    values_clipped: int = Field(description="training values beyond the protected bounds")
    remove_copies: bool
    rows_redrawn: int = Field(description="synthetic rows equal to a rare training row, redrawn")


class QualityReport(BaseModel):
    """The report of one job: what ran, what protection did, how faithful and how private."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal["1"] = REPORT_SCHEMA_VERSION
    job_id: str | None = None
    synthesizer: str
    parameters: dict[str, Any] = Field(description="the synthesizer's parameters as used")
    seed: int
    target: str | None = Field(description="the column the utility test predicted")
    rows: RowCounts
    protection: ProtectionSummary
    evaluation: Evaluation
    preprocessing: PreprocessingReport
    seconds: float = Field(description="time taken to build this report")
