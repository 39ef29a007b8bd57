"""The string tables kept between processes: exact round trips, old Parquet files still read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from jobs import string_tables


def _frame() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "id": ["007", "010", "007", "", "x"],
            "city": ["Zürich", None, "Zürich", "東京", "NA"],
            "amount": ["1,5", "2", np.nan, "2", "-0"],
        }
    )
    frame.columns = ["id", "city", "id"]  # duplicate names survive too
    return frame


def test_frame_round_trip_keeps_every_string_and_missing_cell(tmp_path: Path) -> None:
    frame = _frame()
    string_tables.write_frame(frame, tmp_path / "t.arrow")
    back = string_tables.read_frame(tmp_path / "t.arrow")
    assert list(back.columns) == ["id", "city", "id"]
    assert back.iloc[:, 0].tolist() == ["007", "010", "007", "", "x"]
    assert back.iloc[:, 1].tolist() == ["Zürich", None, "Zürich", "東京", "NA"]
    assert back.iloc[:, 2].tolist() == ["1,5", "2", None, "2", "-0"]
    assert all(back[c].dtype == object for c in ("city",))


def test_empty_and_all_missing_columns(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": pd.Series([], dtype=object), "b": pd.Series([], dtype=object)})
    string_tables.write_frame(frame, tmp_path / "e.arrow")
    assert string_tables.read_frame(tmp_path / "e.arrow").shape == (0, 2)
    gaps = pd.DataFrame({"a": [None, None], "b": ["x", None]})
    string_tables.write_frame(gaps, tmp_path / "g.arrow")
    assert string_tables.read_frame(tmp_path / "g.arrow").values.tolist() == [
        [None, "x"],
        [None, None],
    ]


def test_parquet_files_of_earlier_releases_are_read(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": ["1", None, "3"], "b": ["x", "y", ""]})
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "p.parquet")
    assert string_tables.read_frame(tmp_path / "p.parquet").equals(frame)
    batches = list(string_tables.iter_batches(tmp_path / "p.parquet", batch_rows=2))
    assert [b.num_rows for b in batches] == [2, 1]


def test_batches_come_back_in_order(tmp_path: Path) -> None:
    schema = pa.schema([("a", pa.string()), ("b", pa.string())])
    parts = [pa.table({"a": [str(i), None], "b": ["x", str(i)]}, schema=schema) for i in range(3)]
    with string_tables.BatchWriter(tmp_path / "s.arrow", schema) as writer:
        for part in parts:
            writer.write_table(part)
    back = pa.concat_tables(string_tables.iter_batches(tmp_path / "s.arrow"))
    assert back.equals(pa.concat_tables(parts))
