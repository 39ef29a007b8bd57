"""The REST API through Flask's test client: validation, errors, idempotency, ETags, auth.

No runner here, so jobs stay queued; runs to the end are in test_e2e.py (real Gunicorn).
"""

from __future__ import annotations

import io
import pickle
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from config.settings import Limits, Settings
from tests.conftest import SAMPLES

CREDIT = SAMPLES["credit_data"]


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        secret_key="test-secret-key",
        max_queued_jobs=5,
        callback_allowed_hosts=["127.0.0.1"],
        limits=Limits(max_bytes=200_000),
    )


@pytest.fixture
def app(api_settings: Settings) -> Flask:
    return create_app(api_settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _upload(client: FlaskClient, content: bytes, name: str = "t.csv", **form: Any) -> Any:
    return client.post("/api/v1/datasets", data={"file": (io.BytesIO(content), name), **form})


@pytest.fixture
def dataset_id(client: FlaskClient) -> str:
    resp = _upload(client, CREDIT.read_bytes(), "credit.csv")
    assert resp.status_code == 201, resp.json
    return str(resp.json["id"])


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file() and p.suffix not in (".sqlite3",)}


def _problem(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    body: dict[str, Any] = resp.json
    assert body["status"] == status and body["detail"]
    assert "Traceback" not in resp.get_data(as_text=True)
    return body


def test_upload_returns_shape_schema_and_location(client: FlaskClient) -> None:
    resp = _upload(client, CREDIT.read_bytes(), "credit.csv")
    assert resp.status_code == 201
    body = resp.json
    assert (body["rows"], body["columns"], body["format"]) == (500, 14, "csv")
    assert body["schema"]["columns"]["Age"]["kind"] == "integer"
    assert resp.headers["Location"] == f"/api/v1/datasets/{body['id']}"
    assert client.get(resp.headers["Location"]).json["id"] == body["id"]
    assert [d["id"] for d in client.get("/api/v1/datasets").json["datasets"]] == [body["id"]]


def test_upload_with_schema_override_and_bad_schema(client: FlaskClient) -> None:
    schema = b"columns:\n  Age: {kind: decimal}\n"
    ok = _upload(client, CREDIT.read_bytes(), schema=(io.BytesIO(schema), "s.yaml"))
    assert ok.json["schema"]["columns"]["Age"]["kind"] == "decimal"
    bad = _upload(client, CREDIT.read_bytes(), schema="columns:\n  Nope: {kind: integer}\n")
    assert _problem(bad, 422)["errors"] == [
        {"pointer": "/columns/Nope", "detail": "configured column is missing from the data"}
    ]
    bomb = "a: &a [1,1,1,1,1,1,1,1,1]\n" + "".join(
        f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    start = time.monotonic()
    _problem(_upload(client, CREDIT.read_bytes(), schema=bomb), 422)
    _problem(_upload(client, CREDIT.read_bytes(), schema="!!python/object:os.system {}"), 422)
    assert time.monotonic() - start < 1.0


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"", 422),  # empty file
        (b"a,b,c\n", 422),  # header only
        (b"a,b\n1,2\n", 422),  # one row
        (pickle.dumps({"x": 1}), 400),  # a pickle renamed .csv: never loaded
    ],
)
def test_unusable_uploads_are_refused_and_leave_nothing(
    client: FlaskClient, api_settings: Settings, content: bytes, status: int
) -> None:
    before = _files(api_settings.data_dir)
    _problem(_upload(client, content), status)
    assert _files(api_settings.data_dir) == before
    assert client.get("/api/v1/datasets").json["datasets"] == []


def test_no_file_part(client: FlaskClient) -> None:
    body = _problem(client.post("/api/v1/datasets", data={"x": "1"}), 422)
    assert body["errors"][0]["pointer"] == "/file"


def test_oversized_upload_is_413_and_leaves_nothing(
    client: FlaskClient, api_settings: Settings
) -> None:
    big = b"a,b\n" + b"1,2\n" * 100_000  # 400 kB > max_bytes=200 kB
    _problem(_upload(client, big), 413)
    assert not any((api_settings.data_dir / "tmp").glob("*"))


def test_many_multipart_parts_refused(client: FlaskClient) -> None:
    data = {f"f{i}": "x" for i in range(200)}
    data["file"] = (io.BytesIO(CREDIT.read_bytes()), "c.csv")  # type: ignore[assignment]
    assert client.post("/api/v1/datasets", data=data).status_code == 413


def test_hostile_filename_is_metadata_only(client: FlaskClient, api_settings: Settings) -> None:
    for name in ("../../etc/passwd", "x" * 300 + ".csv", "a\x00b.csv", "..\\..\\win.csv"):
        resp = _upload(client, CREDIT.read_bytes(), name)
        assert resp.status_code == 201
        assert "/" not in resp.json["filename"] and "\x00" not in resp.json["filename"]
        assert len(resp.json["filename"]) <= 255
    root = api_settings.data_dir.resolve()
    assert all(p.resolve().is_relative_to(root) for p in root.rglob("*"))
    assert {p.name for p in (root / "datasets").glob("*/input*")} <= {"input.csv"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/jobs/..%2f..%2fetc%2fpasswd",
        "/api/v1/jobs/%252e%252e%252f",
        "/api/v1/jobs/%00",
        "/api/v1/datasets/../../etc/passwd",
        "/api/v1/jobs/" + "0" * 32 + "/result",
    ],
)
def test_hostile_ids_are_404(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_job_validation_points_at_every_bad_field(client: FlaskClient, dataset_id: str) -> None:
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"dataset_id": dataset_id, "bogus": 1}, {"/bogus"}),
        ({"dataset_id": dataset_id, "seed": "x"}, {"/seed"}),
        (
            {"dataset_id": dataset_id, "synthesizer": {"name": "ctgan", "params": {"epochs": -1}}},
            {"/synthesizer/params/epochs"},
        ),
        (
            {"dataset_id": dataset_id, "synthesizer": {"name": "ctgan", "params": {"epochs": 1e9}}},
            {"/synthesizer/params/epochs"},
        ),
        ({"dataset_id": dataset_id, "num_rows": 1e12}, {"/num_rows"}),
        (  # CTGAN needs an even batch size: refused at submit, not a crash in the job
            {
                "dataset_id": dataset_id,
                "synthesizer": {"name": "ctgan", "params": {"batch_size": 127, "pac": 1}},
            },
            {"/synthesizer/params/"},
        ),
        ({"dataset_id": dataset_id, "synthesizer": {"name": "nope"}}, {"/synthesizer/name"}),
        (
            {"dataset_id": dataset_id, "schema": {"columns": {"Missing": {"kind": "integer"}}}},
            {"/columns/Missing"},
        ),
        (
            {"dataset_id": dataset_id, "callback_url": "http://169.254.169.254/latest"},
            {"/callback_url"},
        ),
        ({"dataset_id": dataset_id, "report": {"target": "Nope"}}, {"/report/target"}),
        ({"dataset_id": dataset_id, "report": {"holdout": 0.9}}, {"/report/holdout"}),
        ({"dataset_id": dataset_id, "protection": {"k": 1}}, {"/protection/k"}),
    ]
    for body, pointers in cases:
        problem = _problem(client.post("/api/v1/jobs", json=body), 422)
        assert {e["pointer"] for e in problem["errors"]} == pointers, body
    nan = f'{{"dataset_id": "{dataset_id}", "num_rows": NaN}}'
    _problem(client.post("/api/v1/jobs", data=nan, content_type="application/json"), 422)
    _problem(client.post("/api/v1/jobs", json={"dataset_id": "0" * 32}), 404)
    assert client.get("/api/v1/jobs").json["jobs"] == []  # no job from any of them


def test_idempotency_key(client: FlaskClient, dataset_id: str) -> None:
    body = {"dataset_id": dataset_id, "num_rows": 10}
    first = client.post("/api/v1/jobs", json=body, headers={"Idempotency-Key": "abc"})
    again = client.post("/api/v1/jobs", json=body, headers={"Idempotency-Key": "abc"})
    assert first.status_code == again.status_code == 202
    assert first.json["id"] == again.json["id"] and again.headers["Idempotent-Replayed"]
    other = {**body, "num_rows": 11}
    _problem(client.post("/api/v1/jobs", json=other, headers={"Idempotency-Key": "abc"}), 422)
    assert len(client.get("/api/v1/jobs").json["jobs"]) == 1


def test_poll_etag_cancel_result_delete(client: FlaskClient, dataset_id: str) -> None:
    resp = client.post("/api/v1/jobs", json={"dataset_id": dataset_id})
    assert resp.status_code == 202 and resp.json["state"] == "queued"
    url = resp.headers["Location"]
    etag = client.get(url).headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    _problem(client.get(url + "/result"), 409)  # not finished
    assert "when it ends" in _problem(client.get(url + "/report"), 409)["detail"]
    _problem(client.get(url + "/report.html"), 409)
    assert client.post(url + "/cancel").json["state"] == "cancelled"
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 200  # changed
    _problem(client.post(url + "/cancel"), 409)  # already finished
    assert client.get("/api/v1/jobs?state=cancelled").json["jobs"][0]["id"] == resp.json["id"]
    _problem(client.get("/api/v1/jobs?state=bogus"), 422)
    assert client.delete(url).status_code == 204
    _problem(client.get(url), 404)
    _problem(client.get(url + "/result"), 404)


def test_long_poll_answers_on_the_next_change(client: FlaskClient, dataset_id: str) -> None:
    url = client.post("/api/v1/jobs", json={"dataset_id": dataset_id}).headers["Location"]
    etag = client.get(url).headers["ETag"]
    unchanged = client.get(url + "?wait=0.2", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.headers["ETag"] == etag
    timer = threading.Timer(0.3, lambda: client.post(url + "/cancel"))
    timer.start()
    started = time.monotonic()
    changed = client.get(url + "?wait=20", headers={"If-None-Match": etag})
    timer.join()
    assert changed.status_code == 200 and changed.json["state"] == "cancelled"
    assert time.monotonic() - started < 15  # woke on the change, not at the deadline
    assert client.get(url + "?wait=5").status_code == 200  # nothing to compare: at once
    for bad in ("-1", "31", "nan", "inf", "soon"):
        problem = _problem(client.get(f"{url}?wait={bad}", headers={"If-None-Match": etag}), 422)
        assert problem["errors"][0]["pointer"] == "/wait"


def test_dataset_in_use_cannot_be_deleted(client: FlaskClient, dataset_id: str) -> None:
    client.post("/api/v1/jobs", json={"dataset_id": dataset_id})
    _problem(client.delete(f"/api/v1/datasets/{dataset_id}"), 409)


def test_queue_full_is_429_with_retry_after(client: FlaskClient, dataset_id: str) -> None:
    for _ in range(5):
        assert client.post("/api/v1/jobs", json={"dataset_id": dataset_id}).status_code == 202
    resp = client.post("/api/v1/jobs", json={"dataset_id": dataset_id})
    _problem(resp, 429)
    assert int(resp.headers["Retry-After"]) > 0
    assert len(client.get("/api/v1/jobs").json["jobs"]) == 5


def test_pagination(client: FlaskClient, dataset_id: str) -> None:
    ids = [
        client.post("/api/v1/jobs", json={"dataset_id": dataset_id}).json["id"] for _ in range(5)
    ]
    seen, cursor = [], None
    while True:
        page = client.get("/api/v1/jobs", query_string={"limit": 2, "cursor": cursor or ""}).json
        seen += [j["id"] for j in page["jobs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    _problem(client.get("/api/v1/jobs?cursor=garbage"), 422)
    _problem(client.get("/api/v1/jobs?limit=0"), 422)


def test_multipart_job_in_one_request(client: FlaskClient) -> None:
    config = b'{"synthesizer": {"name": "gaussian_copula"}, "num_rows": 20}'
    resp = client.post(
        "/api/v1/jobs",
        data={"file": (io.BytesIO(CREDIT.read_bytes()), "c.csv"), "config": config.decode()},
    )
    assert resp.status_code == 202 and resp.json["num_rows"] == 20
    bad = client.post(
        "/api/v1/jobs",
        data={"file": (io.BytesIO(CREDIT.read_bytes()), "c.csv"), "config": '{"num_rows": -5}'},
    )
    _problem(bad, 422)
    assert len(client.get("/api/v1/datasets").json["datasets"]) == 1  # no orphan dataset


def test_api_keys_isolate_owners(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "d", secret_key="test-secret-key", api_keys=["key-a", "key-b"]
    )
    client = create_app(settings).test_client()
    assert client.get("/api/v1/health").status_code == 200
    _problem(client.get("/api/v1/jobs"), 401)
    _problem(client.get("/api/v1/jobs", headers={"Authorization": "Bearer wrong"}), 401)
    a = {"Authorization": "Bearer key-a"}
    b = {"Authorization": "Bearer key-b"}
    ds = client.post(
        "/api/v1/datasets", data={"file": (io.BytesIO(CREDIT.read_bytes()), "c.csv")}, headers=a
    ).json["id"]
    job = client.post("/api/v1/jobs", json={"dataset_id": ds}, headers=a).json["id"]
    assert client.get(f"/api/v1/jobs/{job}", headers=a).status_code == 200
    _problem(client.get(f"/api/v1/jobs/{job}", headers=b), 404)
    _problem(client.get(f"/api/v1/datasets/{ds}", headers=b), 404)
    _problem(client.post("/api/v1/jobs", json={"dataset_id": ds}, headers=b), 404)
    _problem(client.delete(f"/api/v1/jobs/{job}", headers=b), 404)
    assert client.get("/api/v1/jobs", headers=b).json["jobs"] == []


def test_openapi_and_bundled_docs(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/jobs/{job_id}/result" in spec["paths"]
    job_request = spec["components"]["schemas"]["JobRequest"]
    assert "dataset_id" in job_request["properties"]
    page = client.get("/docs").get_data(as_text=True)
    assert "http" not in page.replace("/docs/assets", "")  # no CDN
    asset = client.get("/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and asset.mimetype == "text/javascript"
    asset.close()
    assert client.get("/docs/assets/../../app/server.py").status_code == 404
