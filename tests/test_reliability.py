"""Reliability checklist rows 3 and 13 through the whole library flow (``jobs.synthesis``).

Rows 8, 9 and 12 are covered in test_readers.py, test_config.py, test_synthesizers.py and at
the command line in test_cli.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from config.job import JobConfig, SynthesizerSpec
from config.settings import Settings
from jobs.synthesis import synthesize
from preprocessing.errors import PreprocessingError
from synthesizers.registry import REGISTRY
from tests.test_synthesizers import FAST


def _run(path: Path, name: str = "gaussian_copula", rows: int = 20) -> object:
    config = JobConfig(synthesizer=SynthesizerSpec(name=name, params=FAST[name]), num_rows=rows)
    return synthesize(path, None, config, Settings())


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_two_rows_are_enough(name: str, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("age,sex,when\n34,f,2020-01-02\n51,m,2021-03-04\n")
    result = _run(path, name)
    frame = result.frame  # type: ignore[attr-defined]
    assert len(frame) == 20 and list(frame.columns) == ["age", "sex", "when"]
    assert frame["age"].astype(int).between(34, 51).all()
    assert frame["when"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()


def test_one_row_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("age,sex\n34,f\n")
    with pytest.raises(PreprocessingError, match="at least 2 rows"):
        _run(path)


def test_constant_and_empty_columns_are_reproduced(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    rows = [f"{i},{'abc'[i % 3]},USA," for i in range(30)]
    path.write_text("n,c,const,empty\n" + "\n".join(rows) + "\n")
    result = _run(path, rows=50)
    frame = result.frame  # type: ignore[attr-defined]
    assert (frame["const"] == "USA").all() and frame["empty"].isna().all()
    actions = {r.name: r.actions for r in result.report.column_reports}  # type: ignore[attr-defined]
    assert "constant column" in actions["const"][0] and "all values missing" in actions["empty"][0]


def test_fifty_thousand_categories_stay_bounded(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    lines = [f"code{i % 50_000},{i % 7},{i % 3}" for i in range(60_000)]
    path.write_text("code,a,b\n" + "\n".join(lines) + "\n")
    config = JobConfig.model_validate(
        {
            "num_rows": 1000,
            "schema": {"columns": {"code": {"kind": "categorical"}}},
            "protection": {"rare_categories": False},  # else every level (1-2 rows) is rare
        }
    )
    result = synthesize(path, None, config, Settings())
    report = {r.name: r for r in result.report.column_reports}["code"]
    assert report.distinct_levels == 50_000 and report.pooled_levels == 50_000 - 999
    assert result.frame["code"].str.fullmatch(r"code\d+").all()  # type: ignore[index]


def test_odd_date_formats_fall_back_to_categories(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "d,v\n" + "\n".join(f"{i % 28 + 1}th of Brumaire,{i}" for i in range(30)) + "\n"
    )
    result = _run(path)
    kinds = {r.name: r.kind for r in result.report.column_reports}  # type: ignore[attr-defined]
    assert kinds["d"] == "categorical"
