"""Liveness."""

from __future__ import annotations

from flask import Blueprint

health_blueprint = Blueprint("health", __name__)


@health_blueprint.get("/health")
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}
