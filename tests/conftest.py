"""Shared fixtures: real sample data and settings bound to a temporary data directory."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from config.settings import Settings

DATA = Path(__file__).parent / "data"
SAMPLES = {
    "adult": DATA / "adult_sample.csv",
    "credit_data": DATA / "credit_data_sample.csv",
    "polls": DATA / "polls_us_election_2016_sample.csv",
}
GERMAN = DATA / "polls_german_excel.csv"
CINNAMON = DATA / "cinnamon"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose data directory is a fresh temporary folder."""
    return Settings(data_dir=tmp_path / "data", secret_key="test-secret-key")


def read_strings(path: Path, **kwargs: object) -> pd.DataFrame:
    """Read a CSV as strings exactly like the service's reader would see it (no NA guessing)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, **kwargs)  # type: ignore[call-overload]
