"""``/datasets``: upload a table (multipart), list, show, delete."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request, url_for

from app.context import owner, page_limit, services
from app.schemas import DatasetOut, DatasetPage
from config.errors import ConfigError, FieldProblem
from jobs import service

datasets_blueprint = Blueprint("datasets", __name__)


def upload_dataset() -> tuple[Any, str]:
    """Store the multipart part ``file`` (+ optional ``schema``, ``sheet``); returns the record."""
    upload = request.files.get("file")
    if upload is None:
        raise ConfigError(
            "no file uploaded", [FieldProblem("/file", "the part 'file' is required")]
        )
    svc = services()
    schema_part = request.files.get("schema")
    schema_text = schema_part.read() if schema_part else request.form.get("schema")
    schema = service.parse_schema_text(schema_text, svc.settings)
    record, digest = service.create_dataset(
        svc, owner(), upload.stream, upload.filename or "upload", schema, request.form.get("sheet")
    )
    return record, digest


@datasets_blueprint.post("/datasets")
def create_dataset() -> tuple[dict[str, Any], int, dict[str, str]]:
    """Upload a table; 201 with its id, shape and inferred schema."""
    record, _ = upload_dataset()
    location = url_for(".get_dataset", dataset_id=record.id)
    return DatasetOut.of(record).model_dump(by_alias=True), 201, {"Location": location}


@datasets_blueprint.get("/datasets")
def list_datasets() -> dict[str, Any]:
    """The caller's datasets, newest first, with a cursor."""
    rows, cursor = service.list_datasets(
        services(), owner(), request.args.get("cursor"), page_limit()
    )
    page = DatasetPage(datasets=[DatasetOut.of(r) for r in rows], next_cursor=cursor)
    return page.model_dump(by_alias=True)


@datasets_blueprint.get("/datasets/<dataset_id>")
def get_dataset(dataset_id: str) -> dict[str, Any]:
    """One dataset."""
    return DatasetOut.of(service.get_dataset(services(), owner(), dataset_id)).model_dump(
        by_alias=True
    )


@datasets_blueprint.delete("/datasets/<dataset_id>")
def delete_dataset(dataset_id: str) -> tuple[str, int]:
    """Remove a dataset and its file (409 while a job needs it)."""
    service.delete_dataset(services(), owner(), dataset_id)
    return "", 204
