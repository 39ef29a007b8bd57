"""Type inference: documented rules, stable under row order."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.job import CleaningOptions
from config.schema import ColumnKind, DatasetSchema
from config.settings import Limits
from preprocessing.inference import infer_column, infer_schema
from preprocessing.readers import read_table
from tests.conftest import CINNAMON, SAMPLES

MARKERS = set(CleaningOptions().missing_markers)


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["1", "2", "3", "2"], ColumnKind.INTEGER),
        (["1.5", "2", "-3.25"], ColumnKind.DECIMAL),
        (["yes", "No", "YES"], ColumnKind.BOOLEAN),
        (["True", "False"], ColumnKind.BOOLEAN),
        (["007", "012", "007"], ColumnKind.CATEGORICAL),
        (["a", "b", "a"], ColumnKind.CATEGORICAL),
        (["2020-01-01", "2021-02-03"], ColumnKind.DATE),
        (["24.12.2023 18:00", "25.12.2023 09:30"], ColumnKind.DATETIME),
        ([str(i) for i in range(100, 150)], ColumnKind.ID),
        ([f"P-{i:04d}" for i in range(30)], ColumnKind.ID),
        ([f"Person Number {i}" for i in range(30)], ColumnKind.TEXT),
        (
            [f"a long free text remark about patient visit {i % 30}" for i in range(40)],
            ColumnKind.TEXT,
        ),
        ([], ColumnKind.CATEGORICAL),
    ],
)
def test_kinds(values: list[str], kind: ColumnKind) -> None:
    assert infer_column(pd.Series(values, dtype=object)).kind == kind


def test_decimal_comma() -> None:
    assert infer_column(pd.Series(["1,5", "2,25", "3"]), decimal=",").kind == ColumnKind.DECIMAL


def test_real_samples() -> None:
    frame, fmt = read_table(SAMPLES["polls"], Limits())
    kinds = infer_schema(frame, MARKERS, fmt.decimal).kinds()
    assert kinds["startdate"] == ColumnKind.DATE and kinds["pollster"] == ColumnKind.CATEGORICAL
    assert kinds["adjpoll_clinton"] == ColumnKind.DECIMAL
    frame, fmt = read_table(CINNAMON / "risk_assessment_heart" / "data.csv", Limits())
    kinds = infer_schema(frame, MARKERS, fmt.decimal).kinds()
    assert kinds["name"] == ColumnKind.TEXT and kinds["birthdate"] == ColumnKind.DATE


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), name=st.sampled_from(sorted(SAMPLES)))
def test_inference_is_stable_under_row_shuffles(seed: int, name: str) -> None:
    frame, fmt = read_table(SAMPLES[name], Limits())
    shuffled = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    assert infer_schema(frame, MARKERS, fmt.decimal) == infer_schema(shuffled, MARKERS, fmt.decimal)


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.integers(-(10**6), 10**6).map(str),
            st.sampled_from(["red", "green", "blue", "", "NA"]),
            st.dates().map(lambda d: d.strftime("%d.%m.%Y")),
        ),
        min_size=1,
        max_size=60,
    ),
    seed=st.integers(0, 1000),
)
def test_inference_of_arbitrary_columns_is_order_independent(values: list[str], seed: int) -> None:
    frame = pd.DataFrame({"c": values}, dtype=object)
    shuffled = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    assert infer_schema(frame, MARKERS) == infer_schema(shuffled, MARKERS)


def _reference_schema(frame: pd.DataFrame, markers: set[str], decimal: str = ".") -> Any:
    """Inference as it was written before each column was hashed once: value by value
    (trim, drop null cells and markers, then ``infer_column``)."""
    columns = {}
    for name in frame.columns:
        values = frame[name].astype(object)
        values = values[values.notna()]
        values = values.map(lambda v: v.strip() if isinstance(v, str) else float("nan"))
        columns[name] = infer_column(values[~values.isin(markers)], decimal)
    return DatasetSchema(columns=columns)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_hashing_each_column_once_infers_what_value_by_value_did(name: str) -> None:
    frame, fmt = read_table(SAMPLES[name], Limits())
    factorized: dict[str, Any] = {}
    schema = infer_schema(frame, MARKERS, fmt.decimal, factorized=factorized)
    assert schema == _reference_schema(frame, MARKERS, fmt.decimal)
    for column in frame.columns:  # what the caller gets back rebuilds the column exactly
        codes, uniques = factorized[column]
        rebuilt = np.append(uniques, None)[codes]
        assert list(rebuilt) == [None if pd.isna(v) else v for v in frame[column]]


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.none(),
            st.sampled_from(["1", " 1", "1 ", "2.5", " NA", "NA", "", "  ", "yes", " no", "x"]),
            st.integers(-50, 50).map(str),
            st.dates().map(lambda d: d.strftime(" %Y-%m-%d")),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_hashed_inference_matches_value_by_value_on_arbitrary_columns(
    values: list[str | None],
) -> None:
    frame = pd.DataFrame({"c": values}, dtype=object)
    assert infer_schema(frame, MARKERS) == _reference_schema(frame, MARKERS)
