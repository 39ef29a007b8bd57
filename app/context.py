"""Per-app services and per-request caller, and small helpers the views share."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, g, request

from config.errors import ConfigError
from jobs.service import Services


def services() -> Services:
    """The app's service bundle (store, artifacts, settings)."""
    svc: Services = current_app.extensions["cinnamon"]
    return svc


def owner() -> str:
    """The caller's id: a digest of its API key, or "" when keys are off."""
    return str(g.get("owner", ""))


def _reject_constant(name: str) -> Any:
    raise ConfigError(f"the JSON body contains {name}, which is not a number in JSON")


def json_body(max_bytes: int) -> Any:
    """The request body as JSON (no NaN/Infinity), within ``max_bytes``."""
    if (request.content_length or 0) > max_bytes:
        raise ConfigError(f"the JSON body exceeds the limit max_config_bytes={max_bytes}")
    raw = request.get_data(cache=False)
    if len(raw) > max_bytes:
        raise ConfigError(f"the JSON body exceeds the limit max_config_bytes={max_bytes}")
    if not raw.strip():
        return {}
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError("the request body is not valid JSON") from None


def page_limit() -> int:
    """``limit`` query parameter: 1..100, default 20."""
    raw = request.args.get("limit", "20")
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        from config.errors import FieldProblem

        raise ConfigError(
            "invalid query", [FieldProblem("/limit", "must be an integer from 1 to 100")]
        )
    return int(raw)
