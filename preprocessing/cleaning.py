"""Cleaning helpers shared by the column steps: whitespace, missing markers, variants."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd

_SPACES = re.compile(r"\s+")


def split_missing(
    raw: pd.Series, markers: set[str], trim: bool = True
) -> tuple[pd.Series, pd.Series, str]:
    """Trim values and turn missing markers into None.

    Returns (values with None for missing, missing mask, the commonest marker spelling used in
    this column, so that the output writes missing values the way the input did).
    """
    values = raw.astype(object)
    values = values.where(values.notna(), "")
    if trim:  # on the distinct values only: columns repeat their values, and strip is slow
        codes, uniques = pd.factorize(values)
        stripped = np.asarray(pd.Index(uniques, dtype=object).str.strip(), dtype=object)
        values = pd.Series(stripped[codes], index=values.index, dtype=object)
    missing = values.isin(markers)
    marker = ""
    if missing.any():
        counts = Counter(raw[missing].astype(object).where(raw[missing].notna(), ""))
        marker = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        if trim:
            marker = marker.strip()
    return values.where(~missing, None), missing, marker


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
