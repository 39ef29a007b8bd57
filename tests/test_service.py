"""The service as the README starts it: a real Gunicorn over real HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "CINNAMON_BIND": f"127.0.0.1:{port}",
        "CINNAMON_WEB_WORKERS": "1",
        "CINNAMON_DATA_DIR": str(tmp_path_factory.mktemp("data")),
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(
        [str(gunicorn), "-c", "gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/api/v1/health", timeout=1)
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        else:
            pytest.fail("gunicorn did not come up")
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def _get(url: str) -> tuple[int, str, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.headers["Content-Type"], json.load(resp)
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], json.load(err)


def test_health(base_url: str) -> None:
    assert _get(base_url + "/api/v1/health") == (200, "application/json", {"status": "ok"})


def test_synthesizers_with_parameter_schemas(base_url: str) -> None:
    status, _, body = _get(base_url + "/api/v1/synthesizers")
    assert status == 200
    entries = {s["name"]: s for s in body["synthesizers"]}  # type: ignore[union-attr]
    assert set(entries) == {"cart", "argn", "gaussian_copula", "ctgan", "tvae", "copulagan"}
    epochs = entries["ctgan"]["parameters"]["properties"]["epochs"]
    assert (epochs["minimum"], epochs["maximum"], epochs["default"]) == (1, 10_000, 300)
    leaf = entries["cart"]["parameters"]["properties"]["min_samples_leaf"]
    assert leaf["default"] is None and "privacy" in leaf["description"]


def test_unknown_path_is_problem_json(base_url: str) -> None:
    status, content_type, body = _get(base_url + "/api/v1/nothing-here")
    assert status == 404 and content_type == "application/problem+json"
    assert body["status"] == 404 and body["title"] == "Not Found"


def test_cinnamon_synth_serve_starts_api_and_runner(tmp_path: Path) -> None:
    """The README's run command: ``cinnamon-synth serve`` on the embedded defaults."""
    port = _free_port()
    env = {**os.environ, "CINNAMON_DATA_DIR": str(tmp_path / "data")}
    env.pop("CINNAMON_BIND", None)
    cli = Path(sys.executable).with_name("cinnamon-synth")
    proc = subprocess.Popen(
        [str(cli), "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ready: tuple[int, str, dict[str, object]] | None = None
        for _ in range(150):
            try:
                ready = _get(f"http://127.0.0.1:{port}/api/v1/ready")
                if ready[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.2)
        assert ready is not None and ready[0] == 200, ready
        assert ready[2] == {
            "ready": True,
            "checks": {"store": True, "storage": True, "runner": True},
        }
        assert (tmp_path / "data" / "jobs.sqlite3").is_file()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
