"""The reversible pipeline: exact round trips, cleaning, missingness, ids/text, report, state."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from config.job import CleaningOptions, OutputOptions
from config.schema import ColumnKind, ColumnSpec, DatasetSchema, merge_schema, parse_schema
from config.settings import Limits
from preprocessing.inference import infer_schema
from preprocessing.pipeline import Pipeline
from preprocessing.readers import read_table
from preprocessing.writers import TableWriter, resolve_format
from tests.conftest import CINNAMON, GERMAN, SAMPLES

MARKERS = set(CleaningOptions().missing_markers)


def _fit(
    frame: pd.DataFrame, override: dict[str, object] | None = None, **fmt_kw: object
) -> Pipeline:
    schema = infer_schema(frame, MARKERS, str(fmt_kw.get("decimal", ".")))
    if override:
        schema = merge_schema(schema, parse_schema(override))
    pipe = Pipeline(schema, CleaningOptions(), max_levels=int(fmt_kw.get("max_levels", 1000)))
    if "decimal" in fmt_kw:
        pipe.input_format.decimal = str(fmt_kw["decimal"])
    return pipe.fit(frame)


def _round_trip(pipe: Pipeline, frame: pd.DataFrame) -> pd.DataFrame:
    model = pipe.transform(frame, np.random.default_rng(0))
    return pipe.inverse_transform(model, np.random.default_rng(1)).to_pandas().astype(object)


def _as_written(frame: pd.DataFrame, pipe: Pipeline) -> pd.DataFrame:
    markers = pipe.missing_markers()
    return pd.DataFrame({c: frame[c].where(frame[c].notna(), markers[c]) for c in frame.columns})


@pytest.mark.parametrize(
    "path",
    [
        *SAMPLES.values(),
        CINNAMON / "risk_assessment_oncology" / "data.csv",
        CINNAMON / "obesity_levels" / "data.csv",
    ],
    ids=lambda p: p.stem,
)
def test_inverse_of_transform_reproduces_the_input(path: Path) -> None:
    frame, fmt = read_table(path, Limits())
    pipe = _fit(frame, decimal=fmt.decimal)
    back = _as_written(_round_trip(pipe, frame), pipe)
    kinds = pipe.output_kinds()
    for name in back.columns:
        if kinds[name] in (ColumnKind.ID, ColumnKind.TEXT):
            continue
        original = frame[name].str.strip()
        same = (back[name] == original) | (original.isin(MARKERS) & back[name].isin(MARKERS))
        # exponent notation (1.8e+16) is written back in fixed notation: same number
        same |= original.str.contains("e", case=False) & (
            pipe.output_kinds()[name] == ColumnKind.DECIMAL
        )
        assert same.all(), f"{path.stem}.{name}: {int((~same).sum())} values differ"


def test_german_excel_round_trips_in_its_own_conventions(tmp_path: Path) -> None:
    frame, fmt = read_table(GERMAN, Limits())
    pipe = _fit(frame, decimal=fmt.decimal)
    pipe.input_format = fmt
    table = pipe.inverse_transform(
        pipe.transform(frame, np.random.default_rng(0)), np.random.default_rng(1)
    )
    out = tmp_path / "out.csv"
    with TableWriter(
        out,
        resolve_format(fmt, OutputOptions(), out),
        pipe.output_columns(),
        pipe.output_kinds(),
        pipe.missing_markers(),
    ) as writer:
        writer.write(table)
    assert out.read_bytes() == GERMAN.read_bytes()


def test_missing_markers_and_rates_are_reproduced() -> None:
    frame = pd.DataFrame({"x": ["1", "?", "3", "?", "5", "6", "7", "8"], "y": list("abcabcab")})
    pipe = _fit(frame)
    assert pipe.missing_markers()["x"] == "?"
    model = pipe.transform(frame, np.random.default_rng(0))
    assert (model["c0__na"] == "missing").sum() == 2  # modelled as its own column
    back = _round_trip(pipe, frame)
    assert back["x"].isna().sum() == 2


def test_ids_and_text_are_never_copied() -> None:
    frame, _ = read_table(CINNAMON / "risk_assessment_heart" / "data.csv", Limits())
    pipe = _fit(frame, {"columns": {"id": {"kind": "id"}}})
    back = _round_trip(pipe, frame)
    assert not set(back["id"].dropna()) & set(frame["id"])
    assert not set(back["name"].dropna()) & set(frame["name"])
    assert back["id"].str.fullmatch(r"\d+").all()
    state = pipe.to_json()
    assert frame["name"].iloc[0] not in state and f'"{frame["id"].iloc[0]}"' not in state


def test_string_ids_keep_their_shape() -> None:
    frame = pd.DataFrame({"pid": [f"AB-{i:05d}" for i in range(40)], "v": ["1", "2"] * 20})
    pipe = _fit(frame)
    back = _round_trip(pipe, frame)
    assert back["pid"].str.fullmatch(r"AB-\d{5}").all()
    assert not set(back["pid"]) & set(frame["pid"])


def test_cleaning_variants_coercion_and_flags() -> None:
    frame = pd.DataFrame(
        {
            "city": ["Berlin", "berlin ", "BERLIN", "Bonn", "Bonn", "Köln"] * 3,
            "n": ["1", "2", "x", "4", "5", "6"] * 3,
            "const": ["k"] * 18,
            "empty": [""] * 18,
        }
    )
    pipe = Pipeline(
        merge_schema(
            infer_schema(frame, MARKERS),
            parse_schema({"columns": {"city": {"unify_variants": True}, "n": {"kind": "integer"}}}),
        ),
        CleaningOptions(),
    )
    pipe.fit(frame)
    reports = {r.name: r for r in pipe.report_.column_reports}
    assert reports["city"].variants_unified == 6 and reports["city"].distinct_levels == 3
    assert reports["n"].coerced_to_missing == 3
    assert any("constant" in a for a in reports["const"].actions)
    assert any("all values missing" in a for a in reports["empty"].actions)
    assert pipe.report_.duplicate_rows == 12
    dumped = pipe.report_.model_dump_json()
    assert "Köln" not in dumped and "Bonn" not in dumped  # counts, never values


def test_out_of_range_values_and_clipping() -> None:
    bounds = {"columns": {"age": {"max": 120}, "d": {"min": "01.01.1970", "max": "31.12.2030"}}}
    frame = pd.DataFrame(
        {
            "age": ["5", "50", "500", "40"],
            "d": ["01.01.1900", "01.01.2000", "05.05.2005", "01.01.2100"],
        }
    )
    reports = {r.name: r for r in _fit(frame, bounds).report_.column_reports}
    assert reports["age"].out_of_range == 1 and reports["d"].out_of_range == 2
    inside = pd.DataFrame(
        {
            "age": ["5", "50", "70", "40"],
            "d": ["01.01.1990", "01.01.2000", "05.05.2005", "01.01.2010"],
        }
    )
    pipe = _fit(inside, bounds)
    model = pipe.transform(inside, np.random.default_rng(0))
    model["c0"] = [-10.0, 1e6, 50.0, 60.0]
    model["c1"] = [-1e6, 1e6, 12000.0, 12000.0]
    back = pipe.inverse_transform(model, np.random.default_rng(0)).to_pandas()
    assert back["age"].tolist() == ["5", "120", "50", "60"]  # observed min, configured max
    assert back["d"].tolist()[:2] == ["01.01.1970", "31.12.2030"]  # configured bounds


def test_missing_rates_are_calibrated_to_the_training_rate() -> None:
    frame = pd.DataFrame({"x": ["1", "", "3", "4"] * 50, "c": ["a", "b", "", "a"] * 50})
    pipe = _fit(frame)
    model = pipe.transform(frame, np.random.default_rng(0))
    model["c0__na"] = "missing"  # a badly trained model: everything missing
    model["c1"] = "a"  # ... or nothing missing
    back = pipe.inverse_transform(model, np.random.default_rng(3)).to_pandas()
    assert back["x"].isna().sum() == 50 and back["c"].isna().sum() == 50
    assert set(back["x"].dropna()) <= {"1", "3", "4"}


def test_time_zones_are_kept() -> None:
    frame = pd.DataFrame(
        {
            "t": [
                "2023-01-05T10:00:00+01:00",
                "2023-07-05T10:00:00+01:00",
                "2023-03-01T08:30:00+01:00",
            ]
        }
    )
    back = _round_trip(_fit(frame), frame)
    assert back["t"].tolist() == frame["t"].tolist()
    pipe = _fit(frame, {"columns": {"t": {"timezone": "Europe/Berlin"}}})
    back = _round_trip(pipe, frame)
    assert back["t"].tolist() == [
        "2023-01-05T10:00:00+01:00",
        "2023-07-05T11:00:00+02:00",
        "2023-03-01T08:30:00+01:00",
    ]


def test_epoch_columns_when_configured() -> None:
    frame = pd.DataFrame({"ts": ["1700000000000", "1700000500000", ""]})
    pipe = _fit(frame, {"columns": {"ts": {"kind": "datetime", "epoch_unit": "ms"}}})
    back = _round_trip(pipe, frame)
    assert back["ts"].tolist()[:2] == ["1700000000000", "1700000500000"]


def test_huge_cardinality_is_pooled_not_exploded() -> None:
    frame = pd.DataFrame(
        {"code": [f"c{i % 50_000}" for i in range(60_000)], "v": ["1", "2", "3"] * 20_000}
    )
    schema = merge_schema(
        infer_schema(frame, MARKERS), parse_schema({"columns": {"code": {"kind": "categorical"}}})
    )
    pipe = Pipeline(schema, CleaningOptions(), max_levels=100).fit(frame)
    report = {r.name: r for r in pipe.report_.column_reports}["code"]
    assert report.pooled_levels == 50_000 - 99
    model = pipe.transform(frame, np.random.default_rng(0))
    assert model["c0"].nunique() == 100


def test_state_round_trips_through_json() -> None:
    frame, _fmt = read_table(SAMPLES["polls"], Limits())
    pipe = _fit(frame)
    model = pipe.transform(frame, np.random.default_rng(0))
    again = Pipeline.from_json(pipe.to_json())
    first = pipe.inverse_transform(model, np.random.default_rng(5))
    second = again.inverse_transform(model, np.random.default_rng(5))
    assert first.equals(second)
    json.loads(pipe.to_json())  # plain JSON, no pickle


def test_formula_like_strings_are_neutralised_numbers_untouched(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"s": ["=SUM(A1)", "+cmd", "@x", "-5", "ok"] * 4, "n": ["-5", "3", "-1", "2", "0"] * 4}
    )
    pipe = _fit(frame, {"columns": {"s": {"kind": "categorical"}}})
    table = pipe.inverse_transform(
        pipe.transform(frame, np.random.default_rng(0)), np.random.default_rng(0)
    )
    out = tmp_path / "o.csv"
    with TableWriter(
        out,
        resolve_format(pipe.input_format, OutputOptions(), out),
        pipe.output_columns(),
        pipe.output_kinds(),
        pipe.missing_markers(),
    ) as writer:
        writer.write(table)
    lines = out.read_text().splitlines()[1:6]
    assert lines == ["'=SUM(A1),-5", "'+cmd,3", "'@x,-1", "-5,2", "ok,0"]


def test_excluded_columns_are_dropped_and_reported() -> None:
    frame = pd.DataFrame({"a": ["1", "2", "3"], "secret": ["x", "y", "z"]})
    pipe = _fit(frame, {"columns": {"secret": {"exclude": True}}})
    assert pipe.output_columns() == ["a"]
    assert any(
        r.name == "secret" and "excluded" in r.actions[0] for r in pipe.report_.column_reports
    )


def test_kind_override_to_unparseable_dates_is_a_clear_error() -> None:
    frame = pd.DataFrame({"x": ["apple", "pear", "plum"]})
    schema = DatasetSchema(columns={"x": ColumnSpec(kind=ColumnKind.DATE)})
    from preprocessing.errors import PreprocessingError

    with pytest.raises(PreprocessingError, match="no date format") as info:
        Pipeline(schema).fit(frame)
    assert info.value.column == "x" and "apple" not in str(info.value)


@pytest.mark.parametrize("values", [["1", "2", "3", "4"], ["", "", "", ""], ["7", "", "9", ""]])
def test_configured_decimal_without_any_separator(values: list[str]) -> None:
    """A column configured as decimal whose values have no decimal separator (or none at all)."""
    frame = pd.DataFrame({"x": values, "y": ["a", "b", "a", "b"]})
    pipe = _fit(frame, {"columns": {"x": {"kind": "decimal"}}})
    out = _round_trip(pipe, frame)
    assert list(out["x"].fillna("")) == values


def test_string_patterns_are_enforced_in_and_out() -> None:
    rows = 60
    frame = pd.DataFrame(
        {
            "code": (["J", "N", "U", "JJ", "x"] * 12)[:rows],
            "ref": [f"P{i:04d}" for i in range(rows)],
            "note": [
                f"{'abcdefgh'[: 3 + i % 6]} {10 + i}" if i % 10 else "bad" for i in range(rows)
            ],
        }
    )
    pattern_schema = {
        "columns": {
            "code": {"kind": "categorical", "pattern": "(J|N|U)"},
            "ref": {"kind": "id", "pattern": "P[0-9]{4}"},
            "note": {"kind": "text", "pattern": "[a-z]{3,8} [0-9]{2}"},
        }
    }
    pipe = _fit(frame, pattern_schema)
    reports = {r.name: r for r in pipe.report_.column_reports}
    assert reports["code"].pattern_mismatch == 24  # "JJ" (a partial match) and "x"
    assert reports["note"].pattern_mismatch == rows // 10
    model = pipe.transform(frame, np.random.default_rng(0))
    back = pipe.inverse_transform(model, np.random.default_rng(1)).to_pandas()
    assert back["code"].dropna().isin(["J", "N", "U"]).all()
    assert back["code"].isna().sum() > 0  # the mismatches are missing values now
    assert back["ref"].dropna().str.fullmatch(r"P[0-9]{4}").all()
    assert not set(back["ref"].dropna()) & set(frame["ref"])  # still never an original id
    notes = back["note"].dropna()
    assert len(notes) > rows // 2 and notes.str.fullmatch(r"[a-z]{3,8} [0-9]{2}").all()
    assert not set(notes) & set(frame["note"])  # generated text is never an input value


@pytest.mark.parametrize("pattern", ["(a)\\1", "(?=a)a", "([0-9]"])
def test_patterns_the_safe_engine_cannot_run_are_refused(pattern: str) -> None:
    from config.errors import ConfigError

    with pytest.raises(ConfigError, match="pattern") as info:
        parse_schema({"columns": {"c": {"kind": "categorical", "pattern": pattern}}})
    assert pattern not in str(info.value)
