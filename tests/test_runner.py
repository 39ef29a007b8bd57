"""The local runner in this process with real child processes: limits, recovery, callbacks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from config.requests import JobRequest
from config.settings import Settings
from jobs import service
from jobs.errors import NotFoundError
from jobs.models import JobRecord, JobState
from jobs.runner import LocalRunner
from tests.conftest import SAMPLES


def _settings(tmp_path: Path, **extra: Any) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        secret_key="test-secret-key",
        runner_poll_s=0.1,
        lease_s=2,
        **extra,
    )


@pytest.fixture
def run_runner() -> Iterator[Any]:
    runners: list[tuple[LocalRunner, threading.Thread]] = []

    def start(settings: Settings) -> LocalRunner:
        runner = LocalRunner(settings)
        thread = threading.Thread(target=runner.run, daemon=True)
        thread.start()
        runners.append((runner, thread))
        return runner

    yield start
    for runner, thread in runners:
        runner.stop()
        thread.join(30)


def _submit(svc: service.Services, **request: Any) -> JobRecord:
    with SAMPLES["credit_data"].open("rb") as fh:
        dataset, _ = service.create_dataset(svc, "", fh, "credit.csv")
    job, _ = service.submit_job(
        svc, "", JobRequest.model_validate({"dataset_id": dataset.id, **request})
    )
    return job


def _wait(svc: service.Services, job_id: str, timeout: float = 120) -> JobRecord:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = service.get_job(svc, "", job_id)
        if job.state.finished:
            return job
        time.sleep(0.1)
    raise AssertionError("job did not finish")


def test_timeout_fails_the_job_with_the_limit(tmp_path: Path, run_runner: Any) -> None:
    settings = _settings(tmp_path, job_timeout_s=2)
    svc = service.open_services(settings)
    job = _submit(svc, synthesizer={"name": "ctgan", "params": {"epochs": 5000}})
    run_runner(settings)
    done = _wait(svc, job.id)
    assert done.state == JobState.FAILED
    assert done.error is not None and done.error["detail"] == "timeout after 2 s"


def _ready_standby(runner: LocalRunner, other_than: int | None = None) -> int:
    """Wait for the runner's warmed-up standby process (a new one, if ``other_than``)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pid = runner.standby_pid()
        if pid is not None and pid != other_than:
            return pid
        time.sleep(0.1)
    raise AssertionError("no standby process got ready")


def _pid_of(settings: Settings, job_id: str) -> int | None:
    """The process the runner ran a job in (the row's worker_pid)."""
    from sqlalchemy import create_engine, select

    from jobs.tables import jobs

    engine = create_engine(settings.store_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(jobs.c.worker_pid).where(jobs.c.id == job_id)).scalar()
    finally:
        engine.dispose()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"  # exited, not yet reaped


@pytest.mark.parametrize("standby", [False, True], ids=["fresh-process", "standby-process"])
def test_memory_cap_fails_the_job_and_says_so(
    tmp_path: Path, run_runner: Any, standby: bool
) -> None:
    # one batch of 5M rows x 14 columns needs well over 256 MB
    settings = _settings(tmp_path, job_memory_mb=256, sample_batch_rows=5_000_000)
    svc = service.open_services(settings)
    if standby:  # the cap counts from when the job reaches the warmed-up process
        runner = run_runner(settings)
        pid = _ready_standby(runner)
        job = _submit(svc, num_rows=5_000_000)
    else:  # claimed at the runner's first round, before any standby exists
        job = _submit(svc, num_rows=5_000_000)
        run_runner(settings)
    done = _wait(svc, job.id)
    if standby:
        assert _pid_of(settings, job.id) == pid
    assert done.state == JobState.FAILED
    assert done.error is not None
    assert done.error["title"] == "Out of memory", done.error
    assert "memory" in done.error["detail"]


def test_standby_process_runs_exactly_one_job(tmp_path: Path, run_runner: Any) -> None:
    """An idle runner keeps one warmed-up process; it runs the next job, only that one."""
    settings = _settings(tmp_path)
    svc = service.open_services(settings)
    runner = run_runner(settings)
    first = _ready_standby(runner)
    files = [p for p in settings.data_dir.rglob("*") if p.is_file()]
    assert all(p.name.startswith("jobs.sqlite3") for p in files), files  # the warm-up cleaned up
    job = _wait(svc, _submit(svc, num_rows=30).id)
    assert job.state == JobState.SUCCEEDED, job.error
    assert _pid_of(settings, job.id) == first
    second = _ready_standby(runner, other_than=first)
    assert _gone(first)  # the process ended with its job
    job = _wait(svc, _submit(svc, num_rows=30).id)
    assert job.state == JobState.SUCCEEDED and _pid_of(settings, job.id) == second


def test_a_lost_standby_is_replaced(tmp_path: Path, run_runner: Any) -> None:
    settings = _settings(tmp_path)
    svc = service.open_services(settings)
    runner = run_runner(settings)
    lost = _ready_standby(runner)
    os.kill(lost, signal.SIGKILL)
    replacement = _ready_standby(runner, other_than=lost)

    job = _wait(svc, _submit(svc, num_rows=30).id)
    assert job.state == JobState.SUCCEEDED and _pid_of(settings, job.id) == replacement


def test_a_standby_cut_short_leaves_nothing_behind(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    runner = LocalRunner(settings)  # no loop: this test drives it
    try:
        for pause in (0.5, 1.0, 2.0):
            runner._keep_standby()
            time.sleep(pause)  # somewhere in its warm-up (or already waiting)
            runner.dismiss_standby()
            assert not list((settings.data_dir / "warmup").iterdir())
    finally:
        runner.shutdown()


def test_no_standby_when_switched_off(tmp_path: Path, run_runner: Any) -> None:
    settings = _settings(tmp_path, standby_process=False)
    svc = service.open_services(settings)
    runner = run_runner(settings)
    job = _wait(svc, _submit(svc, num_rows=30).id)
    assert job.state == JobState.SUCCEEDED
    time.sleep(1)
    assert runner.standby_pid() is None and runner._standby is None


def test_a_job_whose_runner_died_is_rerun(tmp_path: Path, run_runner: Any) -> None:
    settings = _settings(tmp_path)
    svc = service.open_services(settings)
    job = _submit(svc, num_rows=50)
    assert svc.store.claim_next("runner-that-died", lease_s=0.5) is not None
    time.sleep(0.6)
    run_runner(settings)
    done = _wait(svc, job.id)
    assert done.state == JobState.SUCCEEDED and done.attempts == 2
    assert done.result_rows == 50


class _Receiver(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict[str, Any]]] = []
    failures_left = 1

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        if _Receiver.failures_left > 0:
            _Receiver.failures_left -= 1
            self.send_response(503)
        else:
            _Receiver.bodies.append(body)
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_callback_is_retried_until_delivered(tmp_path: Path, run_runner: Any) -> None:
    receiver = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        settings = _settings(tmp_path, callback_allowed_hosts=["127.0.0.1"])
        svc = service.open_services(settings)
        url = f"http://127.0.0.1:{receiver.server_port}/done"
        job = _submit(svc, num_rows=10, callback_url=url)
        run_runner(settings)
        assert _wait(svc, job.id).state == JobState.SUCCEEDED
        deadline = time.monotonic() + 20
        while not _Receiver.bodies and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _Receiver.bodies == [
            {
                "id": job.id,
                "state": "succeeded",
                "error": None,
                "links": {
                    "self": f"/api/v1/jobs/{job.id}",
                    "result": f"/api/v1/jobs/{job.id}/result",
                },
            }
        ]
        assert _Receiver.failures_left == 0  # the first try failed and was retried
    finally:
        receiver.shutdown()
        receiver.server_close()


def test_retention_removes_old_jobs_and_datasets_with_their_files(tmp_path: Path) -> None:
    settings = _settings(tmp_path, retention_hours=0.0001)  # 0.36 s
    svc = service.open_services(settings)
    job = _submit(svc, num_rows=10)
    runner = LocalRunner(settings)
    deadline = time.monotonic() + 60
    while not service.get_job(svc, "", job.id).state.finished and time.monotonic() < deadline:
        runner.tick()
        time.sleep(0.1)
    assert service.get_job(svc, "", job.id).state == JobState.SUCCEEDED
    assert svc.artifacts.job_dir(job.id).is_dir()
    time.sleep(0.5)
    runner._last_cleanup = 0.0
    runner.tick()
    with pytest.raises(NotFoundError):
        service.get_job(svc, "", job.id)
    assert job.dataset_id is not None
    with pytest.raises(NotFoundError):
        service.get_dataset(svc, "", job.dataset_id)
    assert not svc.artifacts.job_dir(job.id).exists()
    assert not svc.artifacts.dataset_dir(job.dataset_id).exists()
    runner.shutdown()


def test_cinnamon_synth_worker_runs_jobs_until_sigterm(tmp_path: Path) -> None:
    """``cinnamon-synth worker``: a runner alone, e.g. beside servers with CINNAMON_RUNNER=none."""
    settings = _settings(tmp_path)
    svc = service.open_services(settings)
    job = _submit(svc, num_rows=25)
    env = {
        **os.environ,
        "CINNAMON_DATA_DIR": str(settings.data_dir),
        "CINNAMON_SECRET_KEY": "test-secret-key",
        "CINNAMON_RUNNER_POLL_S": "0.1",
    }
    cli = Path(sys.executable).with_name("cinnamon-synth")
    proc = subprocess.Popen(
        [str(cli), "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        done = _wait(svc, job.id)
        assert done.state == JobState.SUCCEEDED and done.result_rows == 25
        assert service.readiness(svc)["runner"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0


def test_threads_shared_by_running_jobs(tmp_path: Path) -> None:
    runner = LocalRunner(_settings(tmp_path))
    cores = os.cpu_count() or 1
    assert runner.threads_for_next_job() == cores
    runner.children["x" * 32] = None  # type: ignore[assignment]
    assert runner.threads_for_next_job() == max(1, cores // 2)
    assert LocalRunner(_settings(tmp_path, threads=3)).threads_for_next_job() == 3


def test_job_processes_keep_arrow_buffers_on_the_heap(tmp_path: Path) -> None:
    """A job process's preparation moves Arrow from mimalloc (which hands freed pages back
    at once) to the system allocator, whose freed heap the process keeps."""
    code = (
        "import pyarrow as pa; from jobs.child import _prepare; from config.settings import "
        f"Settings; s = Settings(data_dir={str(tmp_path)!r}, secret_key='test-secret-key'); "
        "before = pa.default_memory_pool().backend_name; _prepare(s); "
        "print(before, pa.default_memory_pool().backend_name)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    before, after = out.stdout.split()
    assert after == "system" and before != "system"
