"""The dataset schema: one spec per column, inferred and then overridden by the user."""

from __future__ import annotations

import re
import zoneinfo
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from config.errors import ConfigError, FieldProblem, config_error_from_validation
from config.patterns import check_pattern

_OFFSET = re.compile(r"^(Z|UTC|[+-]\d{2}:?\d{2})$")


class ColumnKind(str, Enum):
    """What a column holds; decides how it is parsed, modelled and written back."""

    INTEGER = "integer"
    DECIMAL = "decimal"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    ID = "id"
    TEXT = "text"


NUMERIC_KINDS = frozenset({ColumnKind.INTEGER, ColumnKind.DECIMAL})
TEMPORAL_KINDS = frozenset({ColumnKind.DATE, ColumnKind.DATETIME})
DISCRETE_KINDS = frozenset({ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN})

# Which optional fields make sense for which kinds; anything else is an impossible combination.
_FIELD_KINDS: dict[str, frozenset[ColumnKind]] = {
    "decimal_places": frozenset({ColumnKind.DECIMAL}),
    "min": NUMERIC_KINDS | TEMPORAL_KINDS,
    "max": NUMERIC_KINDS | TEMPORAL_KINDS,
    "formats": TEMPORAL_KINDS,
    "output_format": TEMPORAL_KINDS,
    "timezone": TEMPORAL_KINDS,
    "epoch_unit": TEMPORAL_KINDS,
    "categories": DISCRETE_KINDS,
    "unify_variants": DISCRETE_KINDS,
    "pattern": frozenset({ColumnKind.CATEGORICAL, ColumnKind.ID, ColumnKind.TEXT}),
}


class ColumnSpec(BaseModel):
    """How one column is read, modelled and written back. Unset fields are inferred."""

    model_config = ConfigDict(extra="forbid", use_enum_values=False)

    kind: ColumnKind | None = None
    nullable: bool | None = Field(None, description="whether synthetic rows may be missing here")
    missing_markers: list[str] | None = Field(
        None, description="extra spellings of 'missing' for this column (e.g. 'unknown')"
    )
    min: float | str | None = Field(None, description="lowest value (dates in the column format)")
    max: float | str | None = Field(None, description="highest value (dates in the column format)")
    decimal_places: int | None = Field(None, ge=0, le=15)
    formats: list[str] | None = Field(
        None, description="accepted date formats, strftime (%d.%m.%Y) or Java (dd.MM.yyyy)"
    )
    output_format: str | None = Field(None, description="format for writing; default: dominant")
    timezone: str | None = Field(None, description="IANA zone or fixed offset for writing back")
    epoch_unit: Literal["s", "ms"] | None = Field(None, description="values are epoch numbers")
    categories: list[str] | None = Field(None, description="allowed levels; others become missing")
    unify_variants: bool | None = Field(
        None, description="merge levels differing only in case or spacing into the commonest"
    )
    exclude: bool | None = Field(None, description="drop this column from model and output")
    pattern: str | None = Field(
        None,
        max_length=10_000,
        description="regular expression every whole value must match (RE2 syntax); values that "
        "do not match are treated as missing, generated identifiers and text follow it",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is None or _OFFSET.match(value):
            return value
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                "unknown time zone; use an IANA name or an offset like +01:00"
            ) from exc
        return value

    @field_validator("pattern")
    @classmethod
    def _runnable_pattern(cls, value: str | None) -> str | None:
        if value is not None:
            check_pattern(value)
        return value

    @field_validator("formats")
    @classmethod
    def _non_empty_formats(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and (not value or any(not f.strip() for f in value)):
            raise ValueError("formats must be a non-empty list of non-empty patterns")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ColumnSpec:
        if self.kind is None:
            return self
        for name, kinds in _FIELD_KINDS.items():
            if getattr(self, name) is not None and self.kind not in kinds:
                allowed = ", ".join(sorted(k.value for k in kinds))
                raise ValueError(f"'{name}' does not apply to kind '{self.kind.value}' ({allowed})")
        if (
            isinstance(self.min, float | int)
            and isinstance(self.max, float | int)
            and self.min > self.max
        ):
            raise ValueError("'min' is greater than 'max'")
        if self.kind in NUMERIC_KINDS and (isinstance(self.min, str) or isinstance(self.max, str)):
            raise ValueError("'min'/'max' of a numeric column must be numbers")
        return self


class DatasetSchema(BaseModel):
    """Column specs in the table's column order."""

    model_config = ConfigDict(extra="forbid")

    columns: dict[str, ColumnSpec] = Field(default_factory=dict)

    def kinds(self) -> dict[str, ColumnKind]:
        """Map each column to its kind (every kind must be set)."""
        return {name: spec.kind for name, spec in self.columns.items() if spec.kind is not None}


_KIND_SPECIFIC = tuple(_FIELD_KINDS)


def merge_schema(inferred: DatasetSchema, override: DatasetSchema | None) -> DatasetSchema:
    """Apply a user's partial schema on top of the inferred one, column by column."""
    if override is None:
        return inferred
    problems = [
        FieldProblem(f"/columns/{name}", "configured column is missing from the data")
        for name in override.columns
        if name not in inferred.columns
    ]
    if problems:
        raise ConfigError("schema does not match the data", problems)
    merged: dict[str, ColumnSpec] = {}
    for name, base in inferred.columns.items():
        user = override.columns.get(name)
        if user is None:
            merged[name] = base
            continue
        values = base.model_dump()
        user_set = {f: getattr(user, f) for f in user.model_fields_set}
        if "kind" in user_set and user_set["kind"] != base.kind:
            for f in _KIND_SPECIFIC:
                values[f] = None
        values.update(user_set)
        try:
            merged[name] = ColumnSpec.model_validate(values)
        except ValidationError as exc:
            raise config_error_from_validation(exc, "schema", f"/columns/{name}") from exc
    return DatasetSchema(columns=merged)


def parse_schema(data: object) -> DatasetSchema:
    """Validate a schema from a decoded YAML/JSON document."""
    try:
        return DatasetSchema.model_validate(data)
    except ValidationError as exc:
        raise config_error_from_validation(exc, "schema") from exc
