"""Cleaning helpers: ``split_missing`` per distinct value gives what value by value gave."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.job import CleaningOptions
from config.settings import Limits
from preprocessing.cleaning import split_missing
from preprocessing.readers import read_table
from tests.conftest import SAMPLES

MARKERS = set(CleaningOptions().missing_markers)


def _value_by_value(
    raw: pd.Series, markers: set[str], trim: bool = True
) -> tuple[pd.Series, pd.Series, str]:
    """``split_missing`` as it was first written, cell by cell (the reference)."""
    values = raw.astype(object)
    values = values.where(values.notna(), "")
    if trim:
        values = values.map(lambda v: v.strip() if isinstance(v, str) else np.nan)
    missing = values.isin(markers)
    marker = ""
    if missing.any():
        counts = Counter(raw[missing].astype(object).where(raw[missing].notna(), ""))
        marker = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        if trim:
            marker = marker.strip()
    return values.where(~missing, None), missing, marker


def _same(raw: pd.Series, markers: set[str], trim: bool) -> None:
    values, missing, marker = split_missing(raw, markers, trim)
    want_values, want_missing, want_marker = _value_by_value(raw, markers, trim)
    assert marker == want_marker
    assert missing.index.equals(raw.index) and values.index.equals(raw.index)
    assert missing.tolist() == want_missing.tolist()
    got = [None if v is None else ("nan" if isinstance(v, float) else v) for v in values]
    want = [None if v is None else ("nan" if isinstance(v, float) else v) for v in want_values]
    assert got == want


@pytest.mark.parametrize("name", sorted(SAMPLES))
@pytest.mark.parametrize("trim", [True, False])
def test_real_columns(name: str, trim: bool) -> None:
    frame, _ = read_table(SAMPLES[name], Limits())
    for column in frame.columns:
        _same(frame[column], MARKERS, trim)


@settings(max_examples=80, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.none(),
            st.just(np.nan),
            st.sampled_from(["", " ", "NA", " NA ", "n/a", "?", "x", " x", "x ", "1", "1.0"]),
            st.text(alphabet=" ab?", max_size=3),
        ),
        min_size=1,
        max_size=30,
    ),
    trim=st.booleans(),
    markers=st.sampled_from([MARKERS, {"", "?"}, {"NA"}, set()]),
)
def test_arbitrary_columns(values: list[object], trim: bool, markers: set[str]) -> None:
    raw = pd.Series(values, dtype=object, index=np.arange(len(values)) * 3 + 7)
    _same(raw, markers, trim)
