"""Shared fixtures: real sample data and settings bound to a temporary data directory."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from config.settings import Settings
from tests.backends import PostgresServer, RedisServer

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


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One private PostgreSQL server for the whole run (in /tmp: its user must reach it)."""
    folder = Path(tempfile.mkdtemp(prefix="cinnamon-postgres-"))
    folder.chmod(0o755)
    server = PostgresServer(folder).start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One private Redis (password, append-only file) for the whole run."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server
    finally:
        server.stop()
