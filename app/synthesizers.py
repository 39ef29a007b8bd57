"""The registered synthesizers with the JSON Schema of their parameters."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from app.schemas import SynthesizerList, SynthesizerOut
from synthesizers.registry import REGISTRY

synthesizers_blueprint = Blueprint("synthesizers", __name__)


@synthesizers_blueprint.get("/synthesizers")
def list_synthesizers() -> dict[str, Any]:
    """Names, descriptions and parameter schemas."""
    entries = [
        SynthesizerOut(name=i.name, description=i.description, parameters=i.parameters_schema())
        for i in REGISTRY.values()
    ]
    return SynthesizerList(synthesizers=entries).model_dump()
