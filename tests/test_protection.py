"""Privacy protection on by default: rare categories, exact extremes and copied rows.

Each test trains a real Gaussian copula on a real sample and shows that the option changes
the output: with it on, the protected value never appears; with it off, it does.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from config.job import JobConfig, ProtectionOptions
from config.settings import Settings
from jobs.synthesis import FittedModel, fit_frame
from preprocessing.formats import TableFormat
from tests.conftest import SAMPLES, read_strings

OFF = {"rare_categories": False, "clip_extremes": False, "remove_copies": False}


def _fit(frame: pd.DataFrame, settings: Settings, **protection: bool) -> FittedModel:
    config = JobConfig(seed=3, protection=ProtectionOptions(**protection))
    return fit_frame(frame, TableFormat(), config, settings)


def _adult() -> pd.DataFrame:
    frame = read_strings(SAMPLES["adult"])
    frame.loc[[5, 77], "native_country"] = "Atlantis"  # a category seen twice
    frame.loc[11, "age"] = "97"  # one exact maximum, far above the rest
    frame.loc[12, "fnlwgt"] = "1"  # one exact minimum
    return frame


def test_rare_categories_are_never_written(settings: Settings) -> None:
    frame = _adult()
    protected = _fit(frame, settings)
    assert "Atlantis" not in set(protected.sample(6000)["native_country"])
    reports = {r.name: r for r in protected.report.column_reports}
    assert reports["native_country"].rare_replaced >= 2
    assert "Atlantis" not in protected.pipeline.to_json()  # nor kept in the model's state
    assert "Atlantis" in set(_fit(frame, settings, **OFF).sample(6000)["native_country"])


def test_exact_extremes_are_never_written(settings: Settings) -> None:
    frame = _adult()
    protected = _fit(frame, settings).sample(6000)
    unprotected = _fit(frame, settings, **OFF).sample(6000)
    assert pd.to_numeric(unprotected["age"]).max() == 97  # the outlier's exact age, copied
    ages = pd.to_numeric(frame["age"]).sort_values()
    assert pd.to_numeric(protected["age"]).max() <= ages.iloc[-5] < 97  # the 5th largest
    weights = pd.to_numeric(frame["fnlwgt"]).sort_values()
    assert pd.to_numeric(protected["fnlwgt"]).min() >= weights.iloc[4] > 1


def _rare_rows(frame: pd.DataFrame, k: int = 5) -> set[tuple[str, ...]]:
    counts = frame.value_counts(dropna=False)
    return {tuple(row) for row, n in counts.items() if n < k}


def test_rows_identical_to_rare_training_rows_are_drawn_again(settings: Settings) -> None:
    adult = read_strings(SAMPLES["adult"])
    frame = adult[["sex", "race", "relationship", "income", "education"]]
    rare = _rare_rows(frame)
    assert len(rare) > 50
    unprotected = _fit(frame, settings, **OFF).sample(2000)
    assert sum(tuple(r) in rare for r in unprotected.to_numpy().tolist()) > 20
    model = _fit(frame, settings, rare_categories=False, clip_extremes=False)
    rows = model.sample(2000)
    assert len(rows) == 2000 and model.copies_removed > 20
    assert not any(tuple(r) in rare for r in rows.to_numpy().tolist())
    common = set(map(tuple, frame.to_numpy().tolist())) - rare
    assert any(tuple(r) in common for r in rows.to_numpy().tolist())  # shared by >= k: kept


def test_a_model_that_can_only_copy_fails_clearly(settings: Settings) -> None:
    # every possible row is a training row held by one person: nothing new can be written
    frame = pd.DataFrame({"a": ["x", "x", "y", "y"], "b": ["p", "q", "p", "q"]})
    model = _fit(frame, settings, rare_categories=False, clip_extremes=False)
    with pytest.raises(Exception, match="reproduces training rows"):
        model.sample(50)


def test_the_copy_filter_survives_save_and_load(settings: Settings, tmp_path: Path) -> None:
    frame = read_strings(SAMPLES["adult"])[["sex", "race", "relationship", "education"]]
    model = _fit(frame, settings, rare_categories=False)
    model.save(tmp_path / "m.model")
    loaded = FittedModel.load(tmp_path / "m.model", settings)
    assert loaded.copy_filter is not None
    rows = loaded.sample(2000)
    assert not any(tuple(r) in _rare_rows(frame) for r in rows.to_numpy().tolist())
    assert loaded.copies_removed > 0
