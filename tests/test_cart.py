"""cart's own choices beyond the contract battery of test_synthesizers.py."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from config.job import CleaningOptions
from preprocessing.formats import TableFormat
from preprocessing.inference import infer_schema
from preprocessing.pipeline import Pipeline
from synthesizers.registry import create


def _sparse_table(rows: int = 2000, present: int = 40) -> tuple[pd.DataFrame, Any, Any]:
    """``b`` = 2·``a`` + 1, but present in only ``present`` rows (the rest empty)."""
    rng = np.random.default_rng(11)
    a = rng.uniform(0, 100, rows).round(2)
    b = np.full(rows, "", dtype=object)
    where = rng.choice(rows, present, replace=False)
    b[where] = [f"{2 * v + 1:.2f}" for v in a[where]]
    frame = pd.DataFrame(
        {"a": [f"{v:.2f}" for v in a], "b": b, "c": rng.choice(["x", "y", "z"], rows)}
    )
    pipe = Pipeline(
        infer_schema(frame, set(CleaningOptions().missing_markers)),
        CleaningOptions(),
        TableFormat(kind="csv"),
    )
    model = pipe.fit_transform(frame, np.random.default_rng(0))
    labels = {s.model_name: s.name for s in pipe.steps_}
    return model, pipe.model_columns(), labels


def _correlation_where_present(params: dict[str, Any]) -> float:
    model, columns, labels = _sparse_table()
    a, b = ({label: name for name, label in labels.items()}[c] for c in ("a", "b"))
    assert b + "__na" in columns  # b is modelled as an indicator and the number where present
    synth = create("cart", params, seed=5, threads=1).fit(model, columns, None, labels)
    out = synth.sample(20_000)
    shown = out[b + "__na"] == "present"
    assert 100 < shown.sum() < 1_000  # about 2% of the rows, as in the real table
    return float(np.corrcoef(out.loc[shown, a], out.loc[shown, b])[0, 1])


def test_a_sparse_number_keeps_its_relation_to_the_columns_before_it() -> None:
    """40 present rows are too few for the table's leaf minimum (30 on 2,000 rows) to split:
    such a number gets the largest leaf that allows a split instead of its bare marginal."""
    assert _correlation_where_present({}) > 0.5


def test_a_leaf_minimum_the_user_set_is_kept_for_sparse_numbers_too() -> None:
    # 30-row leaves cannot split 40 rows: b is drawn from its marginal, unrelated to a
    assert abs(_correlation_where_present({"min_samples_leaf": 30})) < 0.3


@pytest.mark.parametrize("rows, expected", [(40, 20), (12, 6), (9, 5), (4, 5), (1000, 30)])
def test_sparse_leaf_rule(rows: int, expected: int) -> None:
    from synthesizers.cart import _subset_leaf

    assert _subset_leaf(30, rows) == expected
