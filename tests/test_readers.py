"""Readers: encodings, delimiters, decimal comma, file kinds, limits, malformed input."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from config.settings import Limits
from preprocessing.errors import EmptyTableError, LimitExceededError, ReadError
from preprocessing.readers import read_table
from tests.conftest import CINNAMON, GERMAN, SAMPLES

ROWS = "name;größe;datum\nAnna;1,5;01.02.2020\nJörg;2,25;13.02.2020\n"


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("encoding", "prefix", "expected"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", b"\xef\xbb\xbf", "utf-8"),
        ("cp1252", b"", "cp1252"),
        ("utf-16", b"", "utf-16"),
        ("utf-16-le", b"", "utf-16-le"),
    ],
)
def test_encodings_are_detected(
    tmp_path: Path, encoding: str, prefix: bytes, expected: str
) -> None:
    path = _write(tmp_path, "t.csv", prefix + ROWS.encode(encoding))
    frame, fmt = read_table(path, Limits())
    assert list(frame.columns) == ["name", "größe", "datum"]
    assert frame["name"].tolist() == ["Anna", "Jörg"]
    assert fmt.encoding == expected
    assert fmt.bom == (bool(prefix) or encoding == "utf-16")
    assert (fmt.delimiter, fmt.decimal) == (";", ",")


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_detected(tmp_path: Path, delimiter: str) -> None:
    text = "\n".join(
        delimiter.join(r) for r in [["a", "b", "c"], ["1", "x y", "3"], ["4", "5", "6"]]
    )
    frame, fmt = read_table(_write(tmp_path, "t.txt", text.encode()), Limits())
    assert fmt.delimiter == delimiter
    assert frame.shape == (2, 3)


def test_every_cell_is_a_string_with_nothing_guessed(tmp_path: Path) -> None:
    path = _write(tmp_path, "t.csv", b"zip,flag,note\n00123,NA,\n00042,TRUE,None\n")
    frame, _ = read_table(path, Limits())
    assert frame.to_dict("list") == {
        "zip": ["00123", "00042"],
        "flag": ["NA", "TRUE"],
        "note": ["", "None"],
    }


def test_line_endings_and_quoting_are_recorded(tmp_path: Path) -> None:
    frame, fmt = read_table(_write(tmp_path, "t.csv", b'"a","b"\r"1","x, y"\r"2","z"\r'), Limits())
    assert fmt.line_terminator == "\r" and fmt.quoting == "all"
    assert frame["b"].tolist() == ["x, y", "z"]


def test_german_excel_export(tmp_path: Path) -> None:
    frame, fmt = read_table(GERMAN, Limits())
    assert (fmt.delimiter, fmt.decimal, fmt.encoding, fmt.line_terminator) == (
        ";",
        ",",
        "cp1252",
        "\r\n",
    )
    assert frame["startdate"].str.match(r"^\d{2}\.\d{2}\.\d{4}$").all()


def test_cinnamon_fixtures_read_byte_exact_conventions() -> None:
    _, fmt = read_table(CINNAMON / "risk_assessment_heart" / "data.csv", Limits())
    assert fmt.bom and fmt.line_terminator == "\n"
    _, fmt = read_table(CINNAMON / "risk_assessment_oncology" / "data.csv", Limits())
    assert fmt.line_terminator == "\r"
    _, fmt = read_table(CINNAMON / "heart_disease_sample" / "data.csv", Limits())
    assert fmt.line_terminator == "\r\n"


def test_xlsx_first_and_named_sheet(tmp_path: Path) -> None:
    book = Workbook()
    first = book.active
    first.title = "first"
    first.append(["a", "b"])
    first.append([1, 2.5])
    second = book.create_sheet("second")
    second.append(["c"])
    second.append(["x"])
    path = tmp_path / "t.xlsx"
    book.save(path)
    frame, fmt = read_table(path, Limits())
    assert frame.to_dict("list") == {"a": ["1"], "b": ["2.5"]} and fmt.kind == "xlsx"
    frame, _ = read_table(path, Limits(), sheet="second")
    assert frame.to_dict("list") == {"c": ["x"]}
    with pytest.raises(ReadError, match="no sheet"):
        read_table(path, Limits(), sheet="missing")


def test_parquet_and_json_records(tmp_path: Path) -> None:
    table = pa.table({"n": [1, None], "x": [1.5, 2.0], "s": ["a", "b"], "f": [True, False]})
    pq.write_table(table, tmp_path / "t.parquet")
    frame, fmt = read_table(tmp_path / "t.parquet", Limits())
    assert fmt.kind == "parquet"
    assert frame.to_dict("list") == {
        "n": ["1", ""],
        "x": ["1.5", "2"],
        "s": ["a", "b"],
        "f": ["true", "false"],
    }
    path = _write(
        tmp_path, "t.json", json.dumps([{"a": 1, "b": None}, {"a": 2.5, "b": "x"}]).encode()
    )
    frame, fmt = read_table(path, Limits())
    assert fmt.kind == "json" and frame.to_dict("list") == {"a": ["1", "2.5"], "b": ["", "x"]}


# ---- reliability checklist rows 3, 8, 9 (library level) -------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"a,b,c\n", "no data rows"),
    ],
)
def test_empty_inputs_are_named(tmp_path: Path, data: bytes, message: str) -> None:
    with pytest.raises(EmptyTableError, match=message):
        read_table(_write(tmp_path, "t.csv", data), Limits())


def test_ragged_long_row_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ReadError) as info:
        read_table(_write(tmp_path, "t.csv", b"a,b\n1,2\n3,4,5\n"), Limits())
    assert info.value.line == 3
    assert str(info.value) == "line 3: row has 3 fields but the header has 2"  # no cell values


def test_short_rows_are_padded(tmp_path: Path) -> None:
    frame, _ = read_table(_write(tmp_path, "t.csv", b"a,b,c\n1,2,3\n4,5\n"), Limits())
    assert frame.iloc[1].tolist() == ["4", "5", ""]


def test_unbalanced_quote_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="unbalanced quote") as info:
        read_table(_write(tmp_path, "t.csv", b'a,b\n1,2\n3,"4\n5,6\n'), Limits())
    assert info.value.line is not None


def test_duplicate_and_empty_headers(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="duplicate") as info:
        read_table(_write(tmp_path, "t.csv", b"a,b,a\n1,2,3\n"), Limits())
    assert info.value.column == "a"
    with pytest.raises(ReadError, match="column 2 has no name"):
        read_table(_write(tmp_path, "t.csv", b"a,,c\n1,2,3\n"), Limits())


def test_pickle_renamed_is_refused_without_loading(tmp_path: Path) -> None:
    payload = pickle.dumps({"boom": 1})
    for name in ("t.csv", "t.parquet", "t.json"):
        with pytest.raises(ReadError):
            read_table(_write(tmp_path, name, payload), Limits())


@pytest.mark.parametrize(
    ("limits", "limit"),
    [
        (Limits(max_bytes=100), "max_bytes"),
        (Limits(max_rows=10), "max_rows"),
        (Limits(max_columns=2), "max_columns"),
        (Limits(max_field_chars=10), "max_field_chars"),
    ],
)
def test_limits_are_enforced_and_named(tmp_path: Path, limits: Limits, limit: str) -> None:
    rows = ["a,b,c"] + [f"{i},{'x' * (5 + i)},z" for i in range(20)]
    path = _write(tmp_path, "t.csv", "\n".join(rows).encode())
    with pytest.raises(LimitExceededError) as info:
        read_table(path, limits)
    assert info.value.limit == limit and limit in str(info.value)


def test_ten_thousand_columns_hit_the_column_limit(tmp_path: Path) -> None:
    header = ",".join(f"c{i}" for i in range(10_000))
    path = _write(tmp_path, "t.csv", (header + "\n" + ",".join("1" * 10_000) + "\n").encode())
    with pytest.raises(LimitExceededError, match="max_columns"):
        read_table(path, Limits())


def test_one_megabyte_field_hits_the_field_limit(tmp_path: Path) -> None:
    path = _write(tmp_path, "t.csv", b"a,b\n1," + b"x" * 1_000_001 + b"\n")
    with pytest.raises(LimitExceededError, match="max_field_chars") as info:
        read_table(path, Limits())
    assert info.value.column == "b"


def test_error_messages_never_contain_values(tmp_path: Path) -> None:
    secret = "SECRET-VALUE-123"
    path = _write(tmp_path, "t.csv", f"a,b\n1,2\n{secret},3,4\n".encode())
    with pytest.raises(ReadError) as info:
        read_table(path, Limits())
    assert secret not in str(info.value)


def test_real_samples_read_with_their_shapes() -> None:
    for name, path in SAMPLES.items():
        frame, fmt = read_table(path, Limits())
        expected = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert frame.shape == expected.shape, name
        assert fmt.delimiter == "," and fmt.decimal == "."
