"""``/openapi.json`` generated from the pydantic models, and ``/docs`` with bundled Swagger UI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, send_from_directory
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from app.schemas import (
    DatasetOut,
    DatasetPage,
    JobOut,
    JobPage,
    Problem,
    Readiness,
    SynthesizerList,
)
from config.requests import JobRequest, SampleRequest
from evaluation.document import QualityReport

openapi_blueprint = Blueprint("openapi", __name__)

_MODELS: list[type[BaseModel]] = [
    JobRequest,
    SampleRequest,
    DatasetOut,
    DatasetPage,
    JobOut,
    JobPage,
    Problem,
    Readiness,
    SynthesizerList,
    QualityReport,
]


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


_PROBLEM = {
    "description": "problem details (RFC 9457)",
    "content": {"application/problem+json": {"schema": _ref(Problem)}},
}
_ID = {"in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"}}
_IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}}
_PAGE = [
    {"name": "cursor", "in": "query", "schema": {"type": "string"}},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
]
_UPLOAD = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "CSV/TSV/XLSX/Parquet/JSON"},
        "schema": {"type": "string", "description": "YAML/JSON column overrides"},
        "sheet": {"type": "string", "description": "sheet of an .xlsx file"},
    },
}


def _op(summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "responses": {**responses, "default": _PROBLEM}, **extra}


def build_spec() -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``/api/v1``."""
    _, defs = models_json_schema(
        [(m, "serialization") for m in _MODELS if m not in (JobRequest, SampleRequest)]
        + [(JobRequest, "validation"), (SampleRequest, "validation")],
        ref_template="#/components/schemas/{model}",
    )
    job_id = {**_ID, "name": "job_id"}
    ds_id = {**_ID, "name": "dataset_id"}
    paths: dict[str, Any] = {
        "/api/v1/health": {"get": _op("Liveness", {"200": {"description": "up"}})},
        "/api/v1/ready": {"get": _op("Readiness", {"200": _json(Readiness, "ready")})},
        "/api/v1/synthesizers": {
            "get": _op("Synthesizers and parameter schemas", {"200": _json(SynthesizerList, "")})
        },
        "/api/v1/datasets": {
            "post": _op(
                "Upload a table",
                {"201": _json(DatasetOut, "stored")},
                requestBody={"content": {"multipart/form-data": {"schema": _UPLOAD}}},
            ),
            "get": _op("List datasets", {"200": _json(DatasetPage, "")}, parameters=_PAGE),
        },
        "/api/v1/datasets/{dataset_id}": {
            "get": _op("Show a dataset", {"200": _json(DatasetOut, "")}, parameters=[ds_id]),
            "delete": _op("Delete a dataset", {"204": {"description": "gone"}}, parameters=[ds_id]),
        },
        "/api/v1/jobs": {
            "post": _op(
                "Submit a training job",
                {"202": _json(JobOut, "queued; Location names the job")},
                parameters=[
                    {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}}
                ],
                requestBody={"content": {"application/json": {"schema": _ref(JobRequest)}}},
            ),
            "get": _op(
                "List jobs",
                {"200": _json(JobPage, "")},
                parameters=[
                    *_PAGE,
                    {"name": "state", "in": "query", "schema": {"type": "string"}},
                ],
            ),
        },
        "/api/v1/jobs/{job_id}": {
            "get": _op(
                "Poll a job (ETag / If-None-Match)",
                {"200": _json(JobOut, ""), "304": {"description": "unchanged"}},
                parameters=[job_id],
            ),
            "delete": _op(
                "Delete a job and its files", {"204": {"description": "gone"}}, parameters=[job_id]
            ),
        },
        "/api/v1/jobs/{job_id}/cancel": {
            "post": _op("Cancel a job", {"202": _json(JobOut, "")}, parameters=[job_id])
        },
        "/api/v1/jobs/{job_id}/result": {
            "get": _op(
                "Download the synthetic table",
                {"200": {"description": "the table, streamed"}},
                parameters=[
                    job_id,
                    {
                        "name": "format",
                        "in": "query",
                        "schema": {"enum": ["csv", "tsv", "parquet", "json", "xlsx"]},
                    },
                ],
            )
        },
        "/api/v1/jobs/{job_id}/preprocessing": {
            "get": _op(
                "Preprocessing report",
                {"200": {"description": "per-column report"}},
                parameters=[job_id],
            )
        },
        "/api/v1/jobs/{job_id}/report": {
            "get": _op(
                "Quality and privacy report (JSON, versioned schema)",
                {"200": _json(QualityReport, "the report"), "409": _PROBLEM},
                parameters=[job_id],
            )
        },
        "/api/v1/jobs/{job_id}/report.html": {
            "get": _op(
                "Quality and privacy report as a self-contained HTML page",
                {"200": {"description": "text/html", "content": {"text/html": {}}}},
                parameters=[job_id],
            )
        },
        "/api/v1/jobs/{job_id}/samples": {
            "post": _op(
                "Sample more rows from the fitted model",
                {"202": _json(JobOut, "queued")},
                parameters=[job_id],
                requestBody={"content": {"application/json": {"schema": _ref(SampleRequest)}}},
            )
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Cinnamon Synthetization", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": defs["$defs"],
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


@openapi_blueprint.get("/openapi.json")
def openapi() -> dict[str, Any]:
    """The OpenAPI document."""
    spec: dict[str, Any] = current_app.extensions["cinnamon_openapi"]
    return spec


_DOCS = """<!doctype html><html><head><meta charset="utf-8"><title>Cinnamon API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head><body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/docs-init.js"></script></body></html>"""
_INIT = 'window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui"});'


@openapi_blueprint.get("/docs")
def docs() -> Response:
    """Interactive API docs (Swagger UI from the installed bundle; no CDN)."""
    return Response(_DOCS, mimetype="text/html")


@openapi_blueprint.get("/docs/assets/<name>")
def docs_asset(name: str) -> Response:
    """A file of the bundled Swagger UI."""
    if name == "docs-init.js":
        return Response(_INIT, mimetype="text/javascript")
    if name not in ("swagger-ui.css", "swagger-ui-bundle.js"):
        return Response(status=404)
    import swagger_ui_bundle

    return send_from_directory(Path(swagger_ui_bundle.swagger_ui_path), name, max_age=86_400)
