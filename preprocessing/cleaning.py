"""Cleaning helpers shared by the column steps: whitespace, missing markers, variants."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

_SPACES = re.compile(r"\s+")


# what ``split_missing`` returns: values (None = missing), missing mask, the marker to write
Cleaned = tuple[pd.Series, pd.Series, str]


def split_missing(raw: pd.Series, markers: set[str], trim: bool = True) -> Cleaned:
    """Trim values and turn missing markers into None (a null cell counts as "").

    Returns (values with None for missing, missing mask, the commonest marker spelling used in
    this column, so that the output writes missing values the way the input did).

    Columns repeat their values: the column is hashed once, and trimming and the marker test
    run on its distinct values only (the same result as value by value).
    """
    codes, uniques = pd.factorize(raw.astype(object), use_na_sentinel=True)
    spellings = np.append(np.asarray(uniques, dtype=object), "")  # code -1 (a null cell): ""
    values = spellings
    if trim:
        values = np.asarray(pd.Index(spellings, dtype=object).str.strip(), dtype=object)
    is_marker = np.asarray(pd.Index(values, dtype=object).isin(markers), dtype=bool)
    missing = is_marker[codes]
    marker = ""
    if missing.any():
        counts = np.bincount(codes + 1, minlength=len(spellings) + 1)  # +1: nulls at 0
        by_spelling: dict[str, int] = {}
        for code in np.flatnonzero(is_marker):
            n = int(counts[code + 1]) if code < len(uniques) else int(counts[0])
            if n:
                key = str(spellings[code])
                by_spelling[key] = by_spelling.get(key, 0) + n
        marker = sorted(by_spelling.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        if trim:
            marker = marker.strip()
    out = np.where(is_marker, None, values)[codes]
    return (
        pd.Series(out, index=raw.index, dtype=object),
        pd.Series(missing, index=raw.index),
        marker,
    )


def variant_key(value: str) -> str:
    """Key under which case and spacing variants of one category collide."""
    return _SPACES.sub(" ", value).strip().casefold()


def unify_variants(values: pd.Series) -> tuple[dict[str, str], int]:
    """Map each spelling to the commonest spelling of its variant group.

    Returns (mapping for the spellings that change, number of values changed).
    """
    counts = values.dropna().value_counts()
    groups: dict[str, list[tuple[int, str]]] = {}
    for spelling, count in counts.items():
        groups.setdefault(variant_key(str(spelling)), []).append((int(count), str(spelling)))
    mapping: dict[str, str] = {}
    changed = 0
    for members in groups.values():
        if len(members) < 2:
            continue
        canonical = sorted(members, key=lambda m: (-m[0], m[1]))[0][1]
        for count, spelling in members:
            if spelling != canonical:
                mapping[spelling] = canonical
                changed += count
    return mapping, changed
