"""Columns that are not modelled but generated: constants, identifiers and free text.

Identifiers and text are never copied from the input: generated values are checked against
salted hashes of the original values (the values themselves are not kept in the state).
"""

from __future__ import annotations

import hashlib
import random
import secrets
import string
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import rstr

from config.patterns import full_matches
from preprocessing.errors import PreprocessingError
from preprocessing.steps.base import AnalysisType, ColumnStep, format_integers, with_missing

_CLASSES = {"d": string.digits, "u": string.ascii_uppercase, "l": string.ascii_lowercase}
_LOREM = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
]
MIN_WORD_ROWS = 5  # a word must occur in this many rows to be used in generated text


def _digest(salt: str, value: str) -> str:
    return hashlib.sha256((salt + value).encode("utf-8")).hexdigest()[:16]


class _HashedOriginals(ColumnStep):
    """Keeps salted hashes of the original values so outputs can be checked for copies."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.salt_ = ""
        self.hashes_: set[str] = set()

    def _remember(self, values: pd.Series) -> None:
        self.salt_ = secrets.token_hex(8)
        self.hashes_ = {_digest(self.salt_, v) for v in values.dropna().unique()}
        self.missing_rate_ = float(values.isna().mean()) if len(values) else 0.0
        self.report_.missing = int(values.isna().sum())

    def is_original(self, value: str) -> bool:
        """Whether a value occurs in the input (by hash)."""
        return _digest(self.salt_, value) in self.hashes_

    def _from_pattern(self, n: int, rng: np.random.Generator, distinct: bool) -> pa.Array:
        """``n`` values drawn from the configured pattern, none an original value."""
        assert self.spec.pattern is not None
        draw = rstr.Rstr(random.Random(int(rng.integers(2**63))))
        out: list[str] = []
        seen: set[str] = set()
        for _ in range(50):
            fresh = [draw.xeger(self.spec.pattern) for _ in range(n - len(out))]
            ok = full_matches(pa.array(fresh, pa.string()), self.spec.pattern)
            for value, good in zip(fresh, ok.to_pylist(), strict=True):
                if good and not self.is_original(value) and not (distinct and value in seen):
                    seen.add(value)
                    out.append(value)
            if len(out) == n:
                return pa.array(out, pa.string())
        raise PreprocessingError(
            "the configured pattern allows too few new values for generated identifiers or "
            "text; declare the column categorical instead",
            column=self.name,
        )

    def _transform(self, values: pd.Series, rng: np.random.Generator) -> dict[str, pd.Series]:
        return {}

    def _analysis(self, values: pd.Series) -> tuple[AnalysisType, pd.Series]:
        return "categorical", values.astype(object).where(values.notna(), None)

    def _hash_state(self) -> dict[str, Any]:
        return {"salt": self.salt_, "hashes": sorted(self.hashes_)}

    def _load_hashes(self, state: dict[str, Any]) -> None:
        self.salt_ = state["salt"]
        self.hashes_ = set(state["hashes"])


class ConstantStep(ColumnStep):
    """A column with at most one distinct value: reproduced with its missing rate."""

    step_name = "constant"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.value_: str | None = None

    def _fit(self, values: pd.Series) -> None:
        present = values.dropna()
        self.value_ = str(present.iloc[0]) if len(present) else None
        self.missing_rate_ = float(values.isna().mean()) if len(values) else 0.0
        self.report_.missing = int(values.isna().sum())
        self.report_.actions.append(
            "all values missing: reproduced empty"
            if self.value_ is None
            else "constant column: not modelled, reproduced as is"
        )

    def _transform(self, values: pd.Series, rng: np.random.Generator) -> dict[str, pd.Series]:
        return {}

    def _inverse(self, model: pd.DataFrame, rng: np.random.Generator, decimal: str) -> pa.Array:
        n = len(model)
        if self.value_ is None:
            return pa.nulls(n, pa.string())
        return with_missing(pa.array([self.value_] * n, pa.string()), self._random_missing(n, rng))

    def _state(self) -> dict[str, Any]:
        return {"value": self.value_}

    def _load_state(self, state: dict[str, Any]) -> None:
        self.value_ = state["value"]


class IdStep(_HashedOriginals):
    """Identifiers: regenerated in the original shape, never an original value."""

    step_name = "id"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.numeric_ = False
        self.next_ = 0
        self.template_: list[str] = []

    def _fit(self, values: pd.Series) -> None:
        self._remember(values)
        present = values.dropna().astype(str)
        self.numeric_ = bool(len(present)) and bool(present.str.fullmatch(r"[1-9]\d*|0").all())
        if self.numeric_:
            self.next_ = int(pd.to_numeric(present).max()) + 1
        else:
            self.template_ = _template(present)
        self.report_.actions.append("identifier: regenerated, never copied")

    def _inverse(self, model: pd.DataFrame, rng: np.random.Generator, decimal: str) -> pa.Array:
        n = len(model)
        missing = self._random_missing(n, rng)
        if self.spec.pattern is not None:
            text = self._from_pattern(n, rng, distinct=True)
        elif self.numeric_:
            text = format_integers(np.arange(self.next_, self.next_ + n))
        else:
            text = pa.array(self._generate(n, rng), pa.string())
        return with_missing(text, missing)

    def _generate(self, n: int, rng: np.random.Generator) -> list[str]:
        """Random strings on the template, distinct, none equal to an original value."""
        template = self.template_ or ["u"] * 8
        out: list[str] = []
        seen: set[str] = set()
        while len(out) < n:
            need = n - len(out)
            columns = []
            for part in template:
                alphabet = np.array(list(part[1:] if part.startswith("=") else _CLASSES[part]))
                columns.append(alphabet[rng.integers(len(alphabet), size=need)])
            chars = np.stack(columns, axis=1).astype("U1")
            candidates = chars.view(f"U{len(template)}").ravel().tolist()
            fresh = [
                c for c in dict.fromkeys(candidates) if c not in seen and not self.is_original(c)
            ]
            seen.update(fresh)
            out.extend(fresh[:need])
            if len(fresh) < need // 2:  # the template's space is nearly used up: widen it
                template = [*template, "d"]
        return out

    def _state(self) -> dict[str, Any]:
        return {
            "numeric": self.numeric_,
            "next": self.next_,
            "template": self.template_,
            **self._hash_state(),
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        self.numeric_, self.next_, self.template_ = (
            state["numeric"],
            state["next"],
            state["template"],
        )
        self._load_hashes(state)


def _template(values: pd.Series) -> list[str]:
    """Per position: a literal ('=x') for a non-digit constant in all values, else a class."""
    if values.empty:
        return []
    length = Counter(values.str.len()).most_common(1)[0][0]
    same = values[values.str.len() == length]
    template: list[str] = []
    for i in range(length):
        chars = set(same.str[i])
        if len(chars) == 1 and len(same) > 1 and not next(iter(chars)).isdigit():
            template.append("=" + next(iter(chars)))
        elif all(c.isdigit() for c in chars):
            template.append("d")
        elif all(c.isupper() for c in chars):
            template.append("u")
        elif all(c.islower() for c in chars):
            template.append("l")
        elif all(c.isalpha() for c in chars):
            template.append("u" if sum(c.isupper() for c in chars) * 2 >= len(chars) else "l")
        else:
            template.append("d" if sum(c.isdigit() for c in chars) * 2 >= len(chars) else "u")
    return template


class TextStep(_HashedOriginals):
    """Free text: new word sequences from words common to many rows; never an input value."""

    step_name = "text"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.words_: dict[str, int] = {}
        self.lengths_: dict[str, int] = {}

    def _fit(self, values: pd.Series) -> None:
        self._remember(values)
        present = values.dropna().astype(str)
        tokens = present.str.split()
        rows_per_word: Counter[str] = Counter()
        for words in tokens:
            rows_per_word.update(set(words))
        self.words_ = {w: c for w, c in rows_per_word.items() if c >= MIN_WORD_ROWS}
        self.lengths_ = {str(k): int(v) for k, v in Counter(tokens.str.len()).items()}
        self.report_.actions.append(
            f"free text: generated from words found in at least {MIN_WORD_ROWS} rows, never copied"
        )

    def _inverse(self, model: pd.DataFrame, rng: np.random.Generator, decimal: str) -> pa.Array:
        n = len(model)
        missing = self._random_missing(n, rng)
        if self.spec.pattern is not None:
            return with_missing(self._from_pattern(n, rng, distinct=False), missing)
        vocab = list(self.words_) or _LOREM
        weights = np.array([self.words_.get(w, 1) for w in vocab], dtype=float)
        weights /= weights.sum()
        lengths = np.array([int(k) for k in self.lengths_] or [5])
        lweights = np.array(list(self.lengths_.values()) or [1], dtype=float)
        counts = rng.choice(lengths, size=n, p=lweights / lweights.sum())
        out = []
        for k in counts:
            while True:
                text = " ".join(rng.choice(vocab, size=max(int(k), 1), p=weights))
                if not self.is_original(text):
                    break
                k += 1
            out.append(text)
        return with_missing(pa.array(out, pa.string()), missing)

    def _state(self) -> dict[str, Any]:
        return {"words": self.words_, "lengths": self.lengths_, **self._hash_state()}

    def _load_state(self, state: dict[str, Any]) -> None:
        self.words_, self.lengths_ = state["words"], state["lengths"]
        self._load_hashes(state)
