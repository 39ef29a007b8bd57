"""Date patterns: Java and strftime syntax, detection, vectorised parse/format round trips."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preprocessing.timestamps import (
    NAT,
    DateFormatError,
    compile_pattern,
    detect_patterns,
    parse_with_patterns,
)


def _parse_one(pattern: str, text: str) -> int:
    ns, _ = compile_pattern(pattern).parse(pd.Series([text]))
    return int(ns[0])


def _utc_ns(*args: int, micro: int = 0) -> int:
    stamp = dt.datetime(*args, microsecond=micro, tzinfo=dt.timezone.utc)
    return int(stamp.timestamp()) * 1_000_000_000 + micro * 1000


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("dd.MM.yyyy", "24.12.2023", _utc_ns(2023, 12, 24)),
        ("%d.%m.%Y", "24.12.2023", _utc_ns(2023, 12, 24)),
        (
            "dd.MM.yyyy HH:mm:ss.SSS",
            "24.12.2023 18:30:05.250",
            _utc_ns(2023, 12, 24, 18, 30, 5, micro=250000),
        ),
        ("yyyy-MM-dd'T'HH:mm:ssXXX", "2023-12-24T18:30:05+01:00", _utc_ns(2023, 12, 24, 17, 30, 5)),
        ("yyyy-MM-dd'T'HH:mm:ssXXX", "2023-12-24T18:30:05Z", _utc_ns(2023, 12, 24, 18, 30, 5)),
        ("yyyyMMdd", "20231224", _utc_ns(2023, 12, 24)),
        ("d MMMM yyyy", "5 March 2021", _utc_ns(2021, 3, 5)),
        ("MMM d, yyyy", "Mar 5, 2021", _utc_ns(2021, 3, 5)),
        ("'Tag' dd 'im' MM/yyyy", "Tag 05 im 03/2021", _utc_ns(2021, 3, 5)),
        ("M/d/yyyy h:mm a", "3/5/2021 1:07 PM", _utc_ns(2021, 3, 5, 13, 7)),
    ],
)
def test_parses_java_and_strftime_patterns(pattern: str, text: str, expected: int) -> None:
    assert _parse_one(pattern, text) == expected


@pytest.mark.parametrize("text", ["31.04.2023", "2023-13-01", "29.02.2023", "hello", ""])
def test_impossible_dates_do_not_parse(text: str) -> None:
    pattern = "yyyy-MM-dd" if text.startswith("2023") else "dd.MM.yyyy"
    assert _parse_one(pattern, text) == NAT


def test_formats_back_with_quoted_literals_and_offsets() -> None:
    pattern = compile_pattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX")
    ns, offsets = pattern.parse(
        pd.Series(["2020-01-02T03:04:05.123+01:00", "2020-01-02T03:04:05.120Z"])
    )
    assert pattern.format(ns, offsets).to_pylist() == [
        "2020-01-02T03:04:05.123+01:00",
        "2020-01-02T03:04:05.120Z",
    ]


@pytest.mark.parametrize("bad", ["", "dd.MM", "yyyy-QQ-dd", "dd.MM.yyyy 'open", "%Q-%m-%Y"])
def test_bad_patterns_are_rejected(bad: str) -> None:
    with pytest.raises(DateFormatError):
        compile_pattern(bad)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["01/02/2020", "13/02/2020"], "dd/MM/yyyy"),  # a day above 12 decides
        (["01/02/2020", "02/13/2020"], "MM/dd/yyyy"),
        (["01/02/2020", "03/04/2020"], "MM/dd/yyyy"),  # undecidable: US order, documented
        (["1.2.2020", "12.11.2020"], "d.M.yyyy"),  # not zero-padded
        (["2016-11-03", "2016-11-04"], "yyyy-MM-dd"),
        (["2016-11-03T10:00:00Z"], "yyyy-MM-dd'T'HH:mm:ssXXX"),
        (["2016-11-03 10:00:00.123456"], "yyyy-MM-dd HH:mm:ss.SSSSSS"),
        (["20160101", "19991231"], "yyyyMMdd"),
    ],
)
def test_detection_picks_the_dominant_format(values: list[str], expected: str) -> None:
    assert detect_patterns(values)[0] == expected


def test_detection_ignores_plain_numbers_and_words() -> None:
    assert detect_patterns(["123", "45", "7"]) == []
    assert detect_patterns(["red", "green"]) == []


def test_mixed_formats_parse_value_by_value() -> None:
    values = pd.Series(["24.12.2023", "2023-12-25", "26.12.2023", "garbage"])
    patterns = detect_patterns(values.unique())
    assert set(patterns) == {"dd.MM.yyyy", "yyyy-MM-dd"}
    ns, _, used = parse_with_patterns(values, patterns)
    assert ns[3] == NAT and used[3] == -1
    assert ns[1] - ns[0] == 86_400 * 10**9


FORMATS = [
    "dd.MM.yyyy HH:mm:ss",
    "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
    "MM/dd/yyyy hh:mm:ss a",
    "%Y%m%d %H%M%S",
    "d MMM yyyy HH:mm",
    "yyyy-MM-dd HH:mm:ss.SSSSSS Z",
]


@settings(max_examples=60, deadline=None)
@given(
    fmt=st.sampled_from(FORMATS),
    stamps=st.lists(
        st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2199, 12, 31)),
        min_size=1,
        max_size=20,
    ),
    offset_minutes=st.sampled_from([0, 60, -300, 330, 120]),
)
def test_round_trip_across_formats_and_offsets(
    fmt: str, stamps: list[dt.datetime], offset_minutes: int
) -> None:
    pattern = compile_pattern(fmt)
    ns = pd.DatetimeIndex(stamps).as_unit("ns").asi8
    codes = {t.code for t in pattern.tokens}
    # drop what the format cannot hold, so the round trip must be exact
    unit = (
        10**3
        if "f6" in codes
        else 10**6
        if "f3" in codes
        else 60 * 10**9
        if "s2" not in codes
        else 10**9
    )
    ns = ns // unit * unit
    offset = offset_minutes * 60 if pattern.has_offset else 0
    text = pattern.format(ns, offset)
    back, offsets = pattern.parse(pd.Series(text.to_pylist()))
    assert (back == ns).all()
    assert (offsets == offset).all()
    assert pattern.format(back, offsets).to_pylist() == text.to_pylist()


def test_formatting_a_million_values_is_vectorised() -> None:
    ns = np.arange(1_000_000, dtype="int64") * 86_400 * 10**9 // 100
    text = compile_pattern("dd.MM.yyyy").format(ns)
    assert len(text) == 1_000_000 and text[0].as_py() == "01.01.1970"
