"""End to end: the real Gunicorn (2 web workers) with its real runner, over real HTTP."""

from __future__ import annotations

import http.client
import io
import json
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import create_engine, select

from jobs import tables
from tests.celery_stack import CeleryStack
from tests.conftest import SAMPLES
from tests.server import Server, call, multipart, request, upload, wait_for

CREDIT = SAMPLES["credit_data"]
FINISHED = {"succeeded", "failed", "cancelled"}
TINY = {
    "gaussian_copula": {},
    "ctgan": {"epochs": 2, "batch_size": 100, "generator_dim": [32], "discriminator_dim": [32]},
    "tvae": {"epochs": 2, "batch_size": 100, "compress_dims": [32], "decompress_dims": [32]},
    "copulagan": {"epochs": 2, "batch_size": 100, "generator_dim": [32], "discriminator_dim": [32]},
}
LONG_CTGAN = {"name": "ctgan", "params": {"epochs": 5000, "batch_size": 100}}
Service = Server | CeleryStack  # the local runner, or Celery workers on PostgreSQL and Redis


@pytest.fixture(scope="module", params=["local", "celery"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """The same service with the local runner, and scaled out: Celery, PostgreSQL, Redis."""
    limits = {
        "CINNAMON_MAX_CONCURRENT_JOBS": "2",
        "CINNAMON_LIMIT_MAX_BYTES": "300000",
        "CINNAMON_MAX_QUEUED_JOBS": "40",
    }
    folder = tmp_path_factory.mktemp(f"e2e-{request.param}")
    srv: Service
    if request.param == "local":
        srv = Server(folder / "data", **limits)
    else:
        redis = request.getfixturevalue("redis_server")
        srv = CeleryStack(folder, redis, request.getfixturevalue("postgres"), workers=2, **limits)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def dataset(server: Service) -> str:
    return upload(server.url, CREDIT)


def _submit(url: str, payload: dict[str, Any]) -> str:
    status, body = call("POST", url + "/api/v1/jobs", payload)
    assert status == 202, body
    return str(body["id"])


def _worker_pid(server: Service, job_id: str, timeout: float = 60) -> int:
    """The pid of a job's child process, read from the real job store (SQLite or PostgreSQL)."""
    engine = create_engine(server.store_url)
    jobs = tables.jobs
    query = select(jobs.c.worker_pid, jobs.c.stage).where(jobs.c.id == job_id)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                row = conn.execute(query).first()
            if row and row.worker_pid and row.stage == "fitting":
                return int(row.worker_pid)
            time.sleep(0.2)
    finally:
        engine.dispose()
    raise AssertionError("the job never started fitting")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting to be reaped is dead too
        return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    except FileNotFoundError:
        return False


def test_upload_train_poll_download_with_every_synthesizer(server: Service, dataset: str) -> None:
    header = CREDIT.read_text().splitlines()[0]
    jobs = {
        name: _submit(
            server.url,
            {
                "dataset_id": dataset,
                "synthesizer": {"name": name, "params": params},
                "num_rows": 60,
                "seed": 5,
            },
        )
        for name, params in TINY.items()
    }
    for name, job_id in jobs.items():
        job = wait_for(server.url, job_id, FINISHED)
        assert job["state"] == "succeeded", (name, job["error"])
        assert job["result_rows"] == 60 and job["progress"]["fraction"] == 1.0
        assert {"fitting", "sampling"} <= set(job["timings"])
        status, headers, body = request("GET", f"{server.url}/api/v1/jobs/{job_id}/result")
        assert status == 200 and headers["Content-Type"].startswith("text/csv")
        lines = body.decode().splitlines()
        assert lines[0] == header and len(lines) == 61, name
    job_id = jobs["gaussian_copula"]
    for fmt in ("parquet", "json"):
        status, _, body = request("GET", f"{server.url}/api/v1/jobs/{job_id}/result?format={fmt}")
        assert status == 200
        frame = (
            pd.read_parquet(io.BytesIO(body))
            if fmt == "parquet"
            else pd.read_json(io.BytesIO(body))
        )
        assert frame.shape == (60, 14)
    status, report = call("GET", f"{server.url}/api/v1/jobs/{job_id}/preprocessing")
    assert status == 200 and report["rows"] == 400  # the training rows: 100 are held out
    assert "values" not in json.dumps(report)
    for name, job_id in jobs.items():
        _check_quality_report(server.url, job_id, name, synthetic=60)


def _check_quality_report(url: str, job_id: str, synthesizer: str, synthetic: int) -> None:
    """JSON and HTML report of a succeeded job on the credit sample (500 rows, 20% held out)."""
    status, report = call("GET", f"{url}/api/v1/jobs/{job_id}/report")
    assert status == 200 and report["schema_version"] == "1" and report["job_id"] == job_id
    assert report["synthesizer"] == synthesizer
    assert report["rows"] == {"input": 500, "training": 400, "holdout": 100, "synthetic": synthetic}
    evaluation = report["evaluation"]
    assert evaluation["holdout_used"] and evaluation["sizes"]["holdout"] == 100
    assert 0 < evaluation["fidelity"]["overall"]["score"] <= 1
    assert evaluation["privacy"]["verdict"] in ("ok", "caution", "at risk")
    assert report["protection"]["k"] == 5 and report["protection"]["clip_extremes"]
    status, headers, page = request("GET", f"{url}/api/v1/jobs/{job_id}/report.html")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert page.startswith(b"<!DOCTYPE html>") and b"<script" not in page


def test_report_page_served_renders_in_chromium(server: Service, dataset: str) -> None:
    from tests.browser import HeadlessChromium

    job_id = _submit(server.url, {"dataset_id": dataset, "seed": 3})
    assert wait_for(server.url, job_id, FINISHED)["state"] == "succeeded"
    with HeadlessChromium() as browser:
        page = browser.render(f"{server.url}/api/v1/jobs/{job_id}/report.html")
    assert page.requests == [page.url] and page.console_errors == []
    # 14 column distributions, the pair heatmap, the utility bars and the DCR histograms
    assert len(page.figures) == 17 and page.hidden_figures == []


def test_more_samples_from_a_fitted_model_same_seed_same_bytes(
    server: Server, dataset: str
) -> None:
    parent = _submit(server.url, {"dataset_id": dataset, "num_rows": 30})
    assert wait_for(server.url, parent, FINISHED)["state"] == "succeeded"
    results = []
    for _ in range(2):
        status, job = call(
            "POST", f"{server.url}/api/v1/jobs/{parent}/samples", {"num_rows": 1000, "seed": 9}
        )
        assert status == 202 and job["kind"] == "sample", job
        done = wait_for(server.url, job["id"], FINISHED)
        assert done["state"] == "succeeded" and "fitting" not in done["timings"]
        results.append(request("GET", f"{server.url}/api/v1/jobs/{job['id']}/result")[2])
        # judged against the parent's holdout, like the parent
        _check_quality_report(server.url, job["id"], "cart", synthetic=1000)
    assert results[0] == results[1] and len(results[0].splitlines()) == 1001


def _result_frame(url: str, job_id: str) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(request("GET", f"{url}/api/v1/jobs/{job_id}/result")[2]))


def test_conditional_samples_over_http(server: Service, dataset: str) -> None:
    parent = _submit(server.url, {"dataset_id": dataset, "synthesizer": {"name": "cart"}})
    assert wait_for(server.url, parent, FINISHED)["state"] == "succeeded"
    samples = f"{server.url}/api/v1/jobs/{parent}/samples"
    # 700 rows that all take two given values
    status, job = call(
        "POST", samples, {"num_rows": 700, "conditions": {"Home": "rent", "Records": "yes"}}
    )
    assert status == 202, job
    assert wait_for(server.url, job["id"], FINISHED)["state"] == "succeeded"
    rows = pd.read_csv(
        io.BytesIO(request("GET", f"{server.url}/api/v1/jobs/{job['id']}/result")[2])
    )
    assert len(rows) == 700 and set(rows.Home) == {"rent"} and set(rows.Records) == {"yes"}
    status, problem = call("GET", f"{server.url}/api/v1/jobs/{job['id']}/report")
    assert status == 404 and "conditions" in problem["detail"]
    # one row per combination, in order
    combos = [{"Status": s, "Job": j} for s in ("good", "bad") for j in ("fixed", "partime")] * 3
    status, job = call("POST", samples, {"conditions": combos, "seed": 4})
    assert status == 202, job
    assert wait_for(server.url, job["id"], FINISHED)["state"] == "succeeded"
    rows = pd.read_csv(
        io.BytesIO(request("GET", f"{server.url}/api/v1/jobs/{job['id']}/result")[2])
    )
    assert rows[["Status", "Job"]].to_dict("records") == combos
    # refused up front, naming the column, never the value; no job is created
    before = call("GET", f"{server.url}/api/v1/jobs?limit=100")[1]["jobs"]
    for body, pointer in [
        ({"conditions": {"Home": "castle-of-secrets"}}, "/conditions/Home"),
        ({"conditions": {"Nope": "x"}}, "/conditions/Nope"),
        ({"conditions": {"Income": "129.0"}}, "/conditions/Income"),  # continuous, not first
        ({"conditions": [{"Home": "rent"}, {"Job": "fixed"}]}, "/conditions"),
        ({"conditions": [{"Home": "rent"}], "num_rows": 5}, "/conditions"),
    ]:
        status, problem = call("POST", samples, body)
        assert status == 422, (body, problem)
        assert pointer in json.dumps(problem["errors"]), problem
        assert "castle" not in json.dumps(problem)
    copula = _submit(
        server.url,
        {"dataset_id": dataset, "num_rows": 20, "synthesizer": {"name": "gaussian_copula"}},
    )
    assert wait_for(server.url, copula, FINISHED)["state"] == "succeeded"
    status, problem = call(
        "POST", f"{server.url}/api/v1/jobs/{copula}/samples", {"conditions": {"Home": "rent"}}
    )
    assert status == 422 and "cannot sample with conditions" in json.dumps(problem)
    after = call("GET", f"{server.url}/api/v1/jobs?limit=100")[1]["jobs"]
    assert len(after) == len(before) + 1  # only the copula's training job


def test_cancel_a_running_job_whichever_worker_answers(server: Service, dataset: str) -> None:
    job_id = _submit(server.url, {"dataset_id": dataset, "synthesizer": LONG_CTGAN})
    pid = _worker_pid(server, job_id)
    for _ in range(3):  # two web workers: the cancel may land on either
        status, body = call("POST", f"{server.url}/api/v1/jobs/{job_id}/cancel")
        if status == 409:
            break
        assert status in (200, 202), body
    job = wait_for(server.url, job_id, FINISHED, timeout=30)
    assert job["state"] == "cancelled"
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)
    assert call("POST", f"{server.url}/api/v1/jobs/{job_id}/cancel")[0] == 409
    status, problem = call("GET", f"{server.url}/api/v1/jobs/{job_id}/report")
    assert status == 410 and "succeeded jobs only" in problem["detail"]


def test_sigkilled_child_fails_its_job_and_others_go_on(server: Service, dataset: str) -> None:
    victim = _submit(server.url, {"dataset_id": dataset, "synthesizer": LONG_CTGAN})
    pid = _worker_pid(server, victim)
    other = _submit(server.url, {"dataset_id": dataset, "num_rows": 20})
    os.kill(pid, signal.SIGKILL)
    job = wait_for(server.url, victim, FINISHED, timeout=30)
    assert job["state"] == "failed"
    assert "SIGKILL" in job["error"]["detail"]
    assert wait_for(server.url, other, FINISHED)["state"] == "succeeded"
    assert call("GET", f"{server.url}/api/v1/ready")[0] == 200  # runner still alive


def test_sixteen_concurrent_clients_no_5xx(server: Service, dataset: str) -> None:
    statuses: list[int] = []
    finals: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        status, job = call(
            "POST", f"{server.url}/api/v1/jobs", {"dataset_id": dataset, "num_rows": 20}
        )
        seen = [status]
        etag = None
        while status == 202 or job.get("state") not in FINISHED:
            headers = {"If-None-Match": etag} if etag else {}
            code, hdrs, raw = request("GET", f"{server.url}/api/v1/jobs/{job['id']}", None, headers)
            seen.append(code)
            if code == 200:
                job, etag, status = json.loads(raw), hdrs.get("ETag"), 200
            time.sleep(0.05)
        with lock:
            statuses.extend(seen)
            finals.append(job["state"])

    threads = [threading.Thread(target=client) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert finals == ["succeeded"] * 16
    assert all(s < 500 for s in statuses), sorted(set(statuses))
    assert 304 in statuses  # pollers were served from the ETag
    log = server.log.read_text()
    assert "database is locked" not in log


def test_upload_over_the_limit_with_and_without_content_length(server: Service) -> None:
    big = b"a,b\n" + b"1234567,7654321\n" * 40_000  # 640 kB > 300 kB
    body, ctype = multipart({"file": ("big.csv", big)})
    status, headers, _ = request(
        "POST", server.url + "/api/v1/datasets", body, {"Content-Type": ctype}
    )
    assert status == 413 and headers["Content-Type"] == "application/problem+json"
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
    conn.request(
        "POST",
        "/api/v1/datasets",
        body=chunks,
        headers={"Content-Type": ctype},
        encode_chunked=True,
    )
    assert conn.getresponse().status == 413
    conn.close()
    assert not any((server.data_dir / "tmp").glob("*"))
    assert call("GET", server.url + "/api/v1/health")[0] == 200


def test_server_killed_mid_job_then_restarted_recovers_the_job(
    tmp_path: Path,
) -> None:
    srv = Server(tmp_path / "data", CINNAMON_LEASE_S="2", CINNAMON_WEB_WORKERS="1").start()
    try:
        dataset = upload(srv.url, CREDIT)
        params = {"epochs": 20, "batch_size": 100, "generator_dim": [16], "discriminator_dim": [16]}
        job_id = _submit(
            srv.url, {"dataset_id": dataset, "synthesizer": {"name": "ctgan", "params": params}}
        )
        pid = _worker_pid(srv, job_id)
        srv.kill()  # master, web worker, runner: all at once
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(pid), "the job's child outlived the server"
        srv.start()
        job = wait_for(srv.url, job_id, FINISHED, timeout=240)
        assert job["state"] == "succeeded" and job["attempts"] == 2
        assert request("GET", f"{srv.url}/api/v1/jobs/{job_id}/result")[0] == 200
    finally:
        srv.stop()


def test_sigterm_requeues_running_job_and_restart_finishes_it(tmp_path: Path) -> None:
    srv = Server(tmp_path / "data", CINNAMON_WEB_WORKERS="1").start()
    try:
        dataset = upload(srv.url, CREDIT)
        params = {"epochs": 20, "batch_size": 100, "generator_dim": [16], "discriminator_dim": [16]}
        job_id = _submit(
            srv.url, {"dataset_id": dataset, "synthesizer": {"name": "ctgan", "params": params}}
        )
        _worker_pid(srv, job_id)
        # an upload in flight when SIGTERM arrives is drained, not cut off
        body, ctype = multipart({"file": ("credit.csv", CREDIT.read_bytes())})
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
        conn.putrequest("POST", "/api/v1/datasets")
        conn.putheader("Content-Type", ctype)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        conn.send(body[: len(body) // 2])
        time.sleep(0.3)
        assert srv.proc is not None
        srv.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        conn.send(body[len(body) // 2 :])
        assert conn.getresponse().status == 201
        conn.close()
        srv.stop()  # waits for the SIGTERM'd server to finish
        with sqlite3.connect(srv.data_dir / "jobs.sqlite3") as db:
            assert db.execute("SELECT state FROM jobs WHERE id=?", (job_id,)).fetchone() == (
                "queued",
            )
        srv.start()
        assert wait_for(srv.url, job_id, FINISHED, timeout=240)["state"] == "succeeded"
    finally:
        srv.stop()


def test_runner_sigkilled_alone_takes_its_job_processes_along_and_comes_back(
    tmp_path: Path,
) -> None:
    """Only the runner dies (not its process group): its job must not run on as an orphan."""
    srv = Server(tmp_path / "data", CINNAMON_WEB_WORKERS="1", CINNAMON_LEASE_S="3").start()
    try:
        dataset = upload(srv.url, CREDIT)
        job_id = _submit(srv.url, {"dataset_id": dataset, "synthesizer": LONG_CTGAN})
        child = _worker_pid(srv, job_id)
        engine = create_engine(srv.store_url)
        with engine.connect() as conn:
            owner = conn.execute(
                select(tables.jobs.c.lease_owner).where(tables.jobs.c.id == job_id)
            ).scalar_one()
        engine.dispose()
        runner = int(owner.split("-")[-2])  # runner ids are host-pid-random
        assert runner != child and _alive(runner)
        os.kill(runner, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child), "the job's process outlived its runner"
        # the server starts a new runner: new jobs run, and the lost one is re-queued
        small = _submit(srv.url, {"dataset_id": dataset, "num_rows": 20})
        assert wait_for(srv.url, small, FINISHED, timeout=120)["state"] == "succeeded"
        deadline = time.monotonic() + 60
        while call("GET", f"{srv.url}/api/v1/jobs/{job_id}")[1]["attempts"] < 2:
            assert time.monotonic() < deadline, "the lost job was never re-queued"
            time.sleep(0.5)
        assert "starting it again" in srv.log.read_text()
    finally:
        srv.stop()
