"""The preprocessing report: what was detected and done per column, as counts, never values."""

from __future__ import annotations

from pydantic import BaseModel, Field

from preprocessing.formats import TableFormat


class ColumnReport(BaseModel):
    """Detected kind and format of one column and what preprocessing did to it."""

    name: str
    kind: str
    kind_source: str = Field("inferred", description="inferred or configured")
    formats: list[str] = Field(default_factory=list, description="date patterns found")
    output_format: str | None = None
    decimal_places: int | None = None
    rows: int = 0
    missing: int = 0
    missing_marker: str = ""
    coerced_to_missing: int = Field(0, description="values not fitting the kind, now missing")
    out_of_range: int = Field(0, description="values outside configured min/max, now missing")
    pattern_mismatch: int = Field(0, description="values not matching the pattern, now missing")
    extremes_clipped: int = Field(0, description="values beyond the protected bounds, clipped")
    rare_replaced: int = Field(0, description="values of rare categories replaced (protection)")
    variants_unified: int = 0
    distinct_levels: int | None = None
    pooled_levels: int = Field(0, description="rare levels modelled as one pooled level")
    actions: list[str] = Field(default_factory=list)


class PreprocessingReport(BaseModel):
    """Report for a whole table."""

    rows: int
    columns: int
    duplicate_rows: int
    input_format: TableFormat
    column_reports: list[ColumnReport]
