"""The Gunicorn settings module: values from the environment, the worker hook."""

from __future__ import annotations

import gc
import importlib
from pathlib import Path

import pytest

import app.server


def test_max_requests_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CINNAMON_WEB_MAX_REQUESTS", "2500")
    try:
        module = importlib.reload(app.server)
        assert (module.max_requests, module.max_requests_jitter) == (2500, 250)
        monkeypatch.setenv("CINNAMON_WEB_MAX_REQUESTS", "0")  # never recycle
        module = importlib.reload(app.server)
        assert (module.max_requests, module.max_requests_jitter) == (0, 0)
    finally:
        monkeypatch.delenv("CINNAMON_WEB_MAX_REQUESTS")
        importlib.reload(app.server)
    assert app.server.max_requests == 10_000


def test_gunicorn_conf_names_the_worker_hook() -> None:
    namespace: dict[str, object] = {}
    source = Path(app.server.__file__).parent.parent / "gunicorn.conf.py"
    exec(compile(source.read_text(), str(source), "exec"), namespace)  # as Gunicorn does
    assert namespace["post_worker_init"] is app.server.post_worker_init
    assert namespace["max_requests"] == app.server.max_requests


def test_worker_hook_freezes_what_is_loaded() -> None:
    """After the hook, a full collection no longer walks the loaded modules' objects."""
    before = gc.get_freeze_count()
    try:
        app.server.post_worker_init(None)
        assert gc.get_freeze_count() > max(before, 10_000)
    finally:
        gc.unfreeze()
