"""The Cinnamon platform's protocol end to end: a real Gunicorn (2 workers) and a real HTTP
server standing in for the platform's callback endpoint, over every fixture dataset."""

from __future__ import annotations

import email.parser
import email.policy
import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pandas as pd
import pytest
import yaml

from tests.conftest import CINNAMON
from tests.server import Server, call, multipart, request

DATASETS = sorted(p.parent.name for p in CINNAMON.glob("*/attribute_config.yaml"))


class Platform(BaseHTTPRequestHandler):
    """Records callbacks: part name -> (file name, content type, bytes)."""

    received: ClassVar[dict[str, dict[str, tuple[str | None, str, bytes]]]] = {}
    fail_first: ClassVar[set[str]] = set()

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        raw = self.rfile.read(length)
        head = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
        parts = {
            part.get_param("name", header="content-disposition"): (
                part.get_filename(),
                part.get_content_type(),
                part.get_payload(decode=True),
            )
            for part in message.iter_parts()
        }
        session = self.path.rsplit("/", 2)[-2]
        if session in Platform.fail_first:
            Platform.fail_first.discard(session)
            self.send_response(503)
        else:
            Platform.received[session] = parts
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def platform() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Platform)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(
        tmp_path_factory.mktemp("cinnamon") / "data",
        CINNAMON_CALLBACK_ALLOWED_HOSTS='["127.0.0.1"]',
        CINNAMON_MAX_CONCURRENT_JOBS="2",
    ).start()
    yield srv
    srv.stop()


def _start(
    url: str, name: str, session: str, callback: str, data: bytes, attrs: bytes, algo: bytes
) -> tuple[int, dict[str, Any]]:
    body, ctype = multipart(
        {
            "session_key": session,
            "callback": callback,
            "data": ("real_data.csv", data),
            "attribute_config": ("attribute_config.yaml", attrs),
            "algorithm_config": ("synthesizer_config.yaml", algo),
        }
    )
    started = time.monotonic()
    status, _, raw = request(
        "POST", f"{url}/start_synthetization_process/{name}", body, {"Content-Type": ctype}
    )
    assert time.monotonic() - started < 5  # the platform waits 20 s at most
    return status, json.loads(raw)


def _copula_config(rows: int) -> bytes:
    doc = {
        "synthetization_configuration": {
            "algorithm": {
                "synthesizer": "gaussian_copula",
                "type": "cross-sectional",
                "version": "0.1",
                "sampling": {"num_samples": rows},
            }
        }
    }
    return yaml.safe_dump(doc).encode()


def _wait_callback(session: str, timeout: float = 120) -> dict[str, tuple[str | None, str, bytes]]:
    deadline = time.monotonic() + timeout
    while session not in Platform.received:
        assert time.monotonic() < deadline, "no callback"
        time.sleep(0.2)
    return Platform.received[session]


REPORT_PARTS = {
    "quality_report": ("quality_report.html", "text/html"),
    "quality_report_data": ("quality_report_data.json", "application/json"),
}


def _check_report_parts(
    url: str, parts: dict[str, tuple[str | None, str, bytes]], rows: int
) -> None:
    """The report files of the callback, and /report rendering the same report from them."""
    for part, (filename, ctype) in REPORT_PARTS.items():
        assert parts[part][:2] == (filename, ctype)
    page, data = parts["quality_report"][2], json.loads(parts["quality_report_data"][2])
    assert page.startswith(b"<!DOCTYPE html>") and b"<script" not in page
    assert data["schema_version"] == "1" and data["rows"]["synthetic"] == rows
    verdict = data["evaluation"]["privacy"]["verdict"]
    assert f"Privacy verdict: {verdict}".encode() in page
    # the platform forwards every extra file to /report, part name = file name stem
    form, ctype = multipart(
        {
            "configuration": json.dumps(yaml.safe_load(_copula_config(rows))),
            "quality_report": (REPORT_PARTS["quality_report"][0], page),
            "quality_report_data": (
                REPORT_PARTS["quality_report_data"][0],
                parts["quality_report_data"][2],
            ),
        }
    )
    status, _, raw = request("POST", f"{url}/report", form, {"Content-Type": ctype})
    doc = json.loads(raw)
    assert status == 200, doc
    assert f"Privacy verdict: {verdict}" in doc["configDescription"]
    assert "<svg" in doc["configDescription"] and "DCR share" in doc["glossar"]


def _check_against_config(csv: bytes, attrs: dict[str, Any], rows: int) -> None:
    from datetime import datetime

    from preprocessing.timestamps import compile_pattern  # noqa: F401

    frame = pd.read_csv(io.BytesIO(csv), dtype=str, keep_default_na=False)
    columns = [c["name"] for c in sorted(attrs["configurations"], key=lambda c: c["index"])]
    assert list(frame.columns) == columns and len(frame) == rows
    for column in attrs["configurations"]:
        values = frame[column["name"]][frame[column["name"]] != ""]
        subs = {s["name"]: s for s in column.get("configurations") or []}
        if column["type"] == "INTEGER":
            assert values.str.fullmatch(r"-?\d+").all(), column["name"]
        if "StringPatternConfiguration" in subs:  # Java's String.matches: the whole value
            pattern = subs["StringPatternConfiguration"]["pattern"]
            assert values.str.fullmatch(pattern).all(), column["name"]
        if column["type"] in ("DATE", "DATE_TIME"):
            fmt = subs.get("DateFormatConfiguration", {}).get("dateFormatter") or subs.get(
                "DateTimeFormatConfiguration", {}
            ).get("dateTimeFormatter")
            if fmt:
                py = fmt.replace("yyyy", "%Y").replace("MM", "%m").replace("dd", "%d")
                py = py.replace("HH", "%H").replace("mm", "%M").replace("ss", "%S")
                py = py.replace("'T'", "T")
                parsed = [datetime.strptime(v, py) for v in values]
                rng = subs.get("RangeConfiguration")
                if rng:
                    low = datetime.strptime(str(rng["minValue"]), py)
                    high = datetime.strptime(str(rng["maxValue"]), py)
                    assert all(low <= p <= high for p in parsed), column["name"]
        elif "RangeConfiguration" in subs and column["type"] in ("INTEGER", "DECIMAL"):
            rng = subs["RangeConfiguration"]
            numbers = values.astype(float)
            assert numbers.min() >= float(rng["minValue"]), column["name"]
            assert numbers.max() <= float(rng["maxValue"]), column["name"]


@pytest.mark.parametrize("dataset", DATASETS)
def test_full_flow_on_every_fixture(server: Server, platform: str, dataset: str) -> None:
    folder = CINNAMON / dataset
    data = (folder / "data.csv").read_bytes()
    attrs_raw = (folder / "attribute_config.yaml").read_bytes()
    attrs = yaml.safe_load(attrs_raw.decode("utf-8-sig"))
    session = f"e2e-{dataset.replace('_', '-')}"
    rows = 50
    status, body = _start(
        server.url,
        "gaussian_copula",
        session,
        f"{platform}/api/process/{session}/callback",
        data,
        attrs_raw,
        _copula_config(rows),
    )
    assert status == 202, body
    assert body["session_key"] == session and body["pid"]
    parts = _wait_callback(session)
    assert set(parts) == {"session_key", "synthetic_data", *REPORT_PARTS}, parts.get(
        "error_message"
    )
    filename, ctype, csv = parts["synthetic_data"]
    assert (filename, ctype) == ("synthetic_data.csv", "text/csv")
    _check_against_config(csv, attrs, rows)
    _check_report_parts(server.url, parts, rows)
    status, doc = call("GET", f"{server.url}/get_status/{session}")
    assert status == 200 and doc["session_key"] == session
    steps = {s["step"]: s for s in doc["status"]}
    assert [s["step"] for s in doc["status"]] == [
        "initialization",
        "fitting",
        "sampling",
        "callback",
    ]
    assert all(s["completed"] == "True" for s in steps.values()), doc
    assert all(isinstance(v, str) for s in doc["status"] for v in s.values())


def test_original_algorithm_configs_accepted_or_refused_clearly(
    server: Server, platform: str
) -> None:
    for folder in sorted(CINNAMON.glob("*/algorithm_config*.yaml")):
        algo = yaml.safe_load(folder.read_bytes().decode("utf-8-sig"))
        name = algo["synthetization_configuration"]["algorithm"].get("synthesizer")
        session = f"orig-{folder.parent.name}-{folder.stem}".replace("_", "-")
        status, body = _start(
            server.url,
            str(name),
            session,
            f"{platform}/api/process/{session}/callback",
            (folder.parent / "data.csv").read_bytes(),
            (folder.parent / "attribute_config.yaml").read_bytes(),
            folder.read_bytes(),
        )
        if status == 202:
            call("POST", f"{server.url}/cancel_synthetization_process")
            body_, ctype = multipart({"session_key": session, "pid": str(body["pid"])})
            request(
                "POST",
                f"{server.url}/cancel_synthetization_process",
                body_,
                {"Content-Type": ctype},
            )
        else:
            assert 400 <= status < 500 and body["error"], (folder, body)


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"session_key": "../etc"}, "/session_key"),
        ({"name": "nope"}, "/name"),
        (
            {
                "algo": b"synthetization_configuration: {algorithm: {synthesizer: ctgan, "
                b"model_fitting: {epochs: 1000000}}}"
            },
            "epochs",
        ),
        ({"attrs": b"configurations: [unbalanced"}, "attribute_config"),
        ({"callback": "http://169.254.169.254/x"}, "/callback"),
    ],
)
def test_bad_start_requests_get_4xx_and_no_job(
    server: Server, platform: str, change: dict[str, Any], pointer: str
) -> None:
    folder = CINNAMON / "mixed_types"
    name = change.get("name", "ctgan")
    session = change.get("session_key", "bad-request")
    algo = change.get("algo", b"synthetization_configuration: {algorithm: {synthesizer: ctgan}}")
    status, body = _start(
        server.url,
        name,
        session,
        change.get("callback", f"{platform}/cb/x/callback"),
        (folder / "data.csv").read_bytes(),
        change.get("attrs", (folder / "attribute_config.yaml").read_bytes()),
        algo,
    )
    assert 400 <= status < 500, body
    assert pointer in json.dumps(body)
    assert call("GET", f"{server.url}/api/v1/jobs?state=queued")[1]["jobs"] == []


def test_cancel_from_any_worker_really_stops(server: Server, platform: str) -> None:
    folder = CINNAMON / "mixed_types"
    session = "cancel-me"
    algo = (
        b"synthetization_configuration: {algorithm: {synthesizer: ctgan, "
        b"model_fitting: {epochs: 5000}}}"
    )
    status, body = _start(
        server.url,
        "ctgan",
        session,
        f"{platform}/api/process/{session}/callback",
        (folder / "data.csv").read_bytes(),
        (folder / "attribute_config.yaml").read_bytes(),
        algo,
    )
    assert status == 202, body
    deadline = time.monotonic() + 60
    while call("GET", f"{server.url}/get_status/{session}")[1]["status"][1]["completed"] == "False":
        doc = call("GET", f"{server.url}/api/v1/jobs/{body['pid']}")[1]
        if doc["progress"]["stage"] == "fitting":
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)
    form, ctype = multipart({"session_key": session, "pid": str(body["pid"])})
    for _ in range(2):  # whichever of the two workers answers
        status, _, _ = request(
            "POST", f"{server.url}/cancel_synthetization_process", form, {"Content-Type": ctype}
        )
        assert status == 200
    deadline = time.monotonic() + 30
    while call("GET", f"{server.url}/api/v1/jobs/{body['pid']}")[1]["state"] != "cancelled":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    doc = call("GET", f"{server.url}/get_status/{session}")[1]
    assert any(s.get("remaining_time") == "Cancelled" for s in doc["status"]), doc
    parts = _wait_callback(session)
    assert "error_message" in parts and parts["status_code"][2]


def test_unreachable_callback_is_retried_and_result_stays_downloadable(
    server: Server, platform: str
) -> None:
    folder = CINNAMON / "mixed_types"
    session = "retry-me"
    Platform.fail_first.add(session)
    status, body = _start(
        server.url,
        "gaussian_copula",
        session,
        f"{platform}/api/process/{session}/callback",
        (folder / "data.csv").read_bytes(),
        (folder / "attribute_config.yaml").read_bytes(),
        _copula_config(30),
    )
    assert status == 202
    parts = _wait_callback(session)
    assert session not in Platform.fail_first  # the first try failed, the retry arrived
    status, _, csv = request("GET", f"{server.url}/api/v1/jobs/{body['pid']}/result")
    assert status == 200 and csv == parts["synthetic_data"][2]


def test_protocol_metadata_endpoints(server: Server) -> None:
    assert call("GET", f"{server.url}/actuator/health") == (200, {"status": "UP"})
    status, _, raw = request("GET", f"{server.url}/get_algorithms")
    algorithms = yaml.safe_load(raw)["algorithms"]
    assert status == 200 and {a["name"] for a in algorithms} >= {"ctgan", "gaussian_copula"}
    for entry in algorithms:
        status, _, raw = request("GET", server.url + entry["URL"])
        definition = yaml.safe_load(raw)
        assert (
            status == 200 and definition["URL"] == f"/start_synthetization_process/{entry['name']}"
        )
    form, ctype = multipart(
        {
            "configuration": json.dumps(
                yaml.safe_load((CINNAMON / "cardiovascular" / "algorithm_config.yaml").read_text())
            )
        }
    )
    status, _, raw = request("POST", f"{server.url}/report", form, {"Content-Type": ctype})
    doc = json.loads(raw)
    assert status == 200 and "<table>" in doc["configDescription"] and "<dl>" in doc["glossar"]
    assert "Privacy verdict" not in doc["configDescription"]  # no report data was forwarded
    form, ctype = multipart(
        {
            "configuration": json.dumps(yaml.safe_load(_copula_config(10))),
            "quality_report_data": ("quality_report_data.json", b'{"schema_version": "9"}'),
        }
    )
    status, _, raw = request("POST", f"{server.url}/report", form, {"Content-Type": ctype})
    problem = json.loads(raw)
    assert status == 422 and "/quality_report_data" in problem["error"], problem
