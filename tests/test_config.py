"""Schema and job configuration: validation with field pointers, merging, safe loading."""

from __future__ import annotations

import time

import pytest

from config.errors import ConfigError
from config.job import parse_job_config
from config.loader import load_document
from config.schema import ColumnKind, ColumnSpec, DatasetSchema, merge_schema, parse_schema


def _pointers(exc: ConfigError) -> list[str]:
    return [p.pointer for p in exc.problems]


def test_unknown_keys_are_named() -> None:
    with pytest.raises(ConfigError) as info:
        parse_schema({"columns": {"age": {"kind": "integer", "colour": "red"}}})
    assert _pointers(info.value) == ["/columns/age/colour"]


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"kind": "integer", "decimal_places": 2}, "decimal_places"),
        ({"kind": "categorical", "formats": ["dd.MM.yyyy"]}, "formats"),
        ({"kind": "date", "categories": ["a"]}, "categories"),
        ({"kind": "text", "min": 1}, "min"),
    ],
)
def test_impossible_combinations_name_column_and_field(spec: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_schema({"columns": {"col": spec}})
    assert _pointers(info.value) == ["/columns/col"]
    assert field in str(info.value)


def test_min_above_max_and_bad_timezone() -> None:
    with pytest.raises(ConfigError, match="greater than"):
        parse_schema({"columns": {"x": {"kind": "decimal", "min": 5, "max": 1}}})
    with pytest.raises(ConfigError, match="time zone") as info:
        parse_schema({"columns": {"x": {"kind": "datetime", "timezone": "Mars/Olympus"}}})
    assert _pointers(info.value) == ["/columns/x/timezone"]


def test_partial_schema_overrides_column_by_column() -> None:
    inferred = DatasetSchema(
        columns={
            "a": ColumnSpec(kind=ColumnKind.DATE, formats=["yyyy-MM-dd"]),
            "b": ColumnSpec(kind=ColumnKind.INTEGER),
        }
    )
    override = parse_schema({"columns": {"a": {"kind": "categorical"}, "b": {"max": 10}}})
    merged = merge_schema(inferred, override)
    assert merged.columns["a"].kind == ColumnKind.CATEGORICAL
    assert merged.columns["a"].formats is None  # dropped with the kind change
    assert merged.columns["b"].kind == ColumnKind.INTEGER and merged.columns["b"].max == 10


def test_override_of_a_missing_column_is_an_error() -> None:
    inferred = DatasetSchema(columns={"a": ColumnSpec(kind=ColumnKind.INTEGER)})
    with pytest.raises(ConfigError) as info:
        merge_schema(inferred, parse_schema({"columns": {"zzz": {"kind": "integer"}}}))
    assert _pointers(info.value) == ["/columns/zzz"]


def test_override_that_becomes_impossible_after_merge() -> None:
    inferred = DatasetSchema(columns={"a": ColumnSpec(kind=ColumnKind.DECIMAL)})
    with pytest.raises(ConfigError) as info:
        merge_schema(inferred, parse_schema({"columns": {"a": {"formats": ["dd.MM.yyyy"]}}}))
    assert _pointers(info.value) == ["/columns/a"]


# ---- reliability row 12 (library level) -----------------------------------------------------


@pytest.mark.parametrize(
    ("document", "pointer"),
    [
        ({"synthesizer": {"name": "ctgan"}, "colour": 1}, "/colour"),
        ({"num_rows": "many"}, "/num_rows"),
        ({"num_rows": 0}, "/num_rows"),
        ({"seed": -1}, "/seed"),
        ({"synthesizer": {"name": "ctgan", "parameters": {}}}, "/synthesizer/parameters"),
    ],
)
def test_job_config_errors_point_at_fields(document: dict[str, object], pointer: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_job_config(document)
    assert pointer in _pointers(info.value)


def test_nan_and_huge_numbers_in_json_are_refused() -> None:
    with pytest.raises(ConfigError, match="NaN"):
        load_document('{"num_rows": NaN}')
    with pytest.raises(ConfigError):
        parse_job_config(load_document('{"num_rows": 1e12}'))


def test_yaml_python_tags_never_run() -> None:
    started = time.perf_counter()
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_document("a: !!python/object/apply:os.system ['echo owned']")
    assert time.perf_counter() - started < 1


def test_yaml_alias_bomb_is_refused_fast() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 10):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [{','.join(['*' + prev] * 9)}]")
    started = time.perf_counter()
    with pytest.raises(ConfigError, match="alias bomb"):
        load_document("\n".join(lines))
    assert time.perf_counter() - started < 1


def test_oversized_config_is_refused() -> None:
    with pytest.raises(ConfigError, match="limit"):
        load_document("a: " + "x" * 2_000_000)


def test_yaml_error_names_the_line() -> None:
    with pytest.raises(ConfigError, match="at line"):
        load_document("a: 1\nb: [unclosed\n")
