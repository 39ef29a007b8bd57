"""The README's promises: its curl flow works as written against a real server."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.server import ROOT, Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("readme") / "data").start()
    yield srv
    srv.stop()


def _curl_flow() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- curl-flow[^>]*-->\n```bash\n(.*?)```", text, re.S)
    assert match, "the README lost its curl-flow block"
    return match.group(1)


def test_readme_curl_flow(server: Server, tmp_path: Path) -> None:
    (tmp_path / "tests").symlink_to(ROOT / "tests")
    script = "set -euo pipefail\n" + _curl_flow()
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env={"BASE": server.url + "/api/v1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    frame = pd.read_csv(tmp_path / "synthetic.csv", dtype=str, keep_default_na=False)
    source = pd.read_csv(ROOT / "tests/data/credit_data_sample.csv", nrows=1)
    assert list(frame.columns) == list(source.columns) and len(frame) == 1000
    assert pd.read_parquet(tmp_path / "synthetic.parquet").shape == (1000, 14)
    assert '"state":"succeeded"' in done.stdout
    renters = pd.read_csv(tmp_path / "renters.csv", dtype=str, keep_default_na=False)
    assert len(renters) == 500 and set(renters.Home) == {"rent"} and set(renters.Records) == {"yes"}
