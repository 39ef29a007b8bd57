"""Liveness (``/health``) and readiness (``/ready``: store, storage and a runner)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from app.context import services
from app.schemas import Readiness
from jobs import service

health_blueprint = Blueprint("health", __name__)


@health_blueprint.get("/health")
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@health_blueprint.get("/ready")
def ready() -> tuple[dict[str, Any], int]:
    """200 when the store and data directory are writable and a runner is alive, else 503."""
    checks = service.readiness(services())
    ok = all(checks.values())
    return Readiness(ready=ok, checks=checks).model_dump(), 200 if ok else 503
