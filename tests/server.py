"""A real Gunicorn (with its job runner) on a free port, for the end-to-end tests."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``gunicorn -c gunicorn.conf.py`` in its own process group, as the README starts it."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "CINNAMON_BIND": f"127.0.0.1:{self.port}",
            "CINNAMON_DATA_DIR": str(data_dir),
            "CINNAMON_SECRET_KEY": "test-secret-key",
            "CINNAMON_WEB_WORKERS": "2",
            "CINNAMON_RUNNER_POLL_S": "0.2",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"gunicorn-{self.port}.log"

    @property
    def store_url(self) -> str:
        """The job store this server uses (as the settings derive it)."""
        configured = self.env.get("CINNAMON_DATABASE_URL")
        return configured or f"sqlite:///{(self.data_dir / 'jobs.sqlite3').resolve()}"

    def start(self, wait_ready: bool = True) -> Server:
        """Start and wait until ``/api/v1/ready`` says yes (runner included)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        gunicorn = Path(sys.executable).with_name("gunicorn")
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(gunicorn), "-c", "gunicorn.conf.py"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        path = "/api/v1/ready" if wait_ready else "/api/v1/health"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()[-2000:]}")
            try:
                if request("GET", self.url + path, timeout=2)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not become ready")

    def stop(self) -> None:
        """Graceful stop (SIGTERM to the master), then make sure the group is gone."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()
        self._reap_group()

    def kill(self) -> None:
        """SIGKILL to the whole process group: master, web workers, runner, job children."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._reap_group()

    def _reap_group(self) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)


def request(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request; returns status, headers and body (errors included)."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def call(method: str, url: str, payload: Any = None, **headers: str) -> tuple[int, Any]:
    """A JSON request; returns status and decoded JSON body (or None)."""
    body = None if payload is None else json.dumps(payload).encode()
    hdrs = {"Content-Type": "application/json", **headers} if body else dict(headers)
    status, _, raw = request(method, url, body, hdrs)
    return status, (json.loads(raw) if raw else None)


def multipart(fields: dict[str, tuple[str, bytes] | str]) -> tuple[bytes, str]:
    """Encode a multipart/form-data body; returns body and content type."""
    boundary = "cinnamonboundary7MA4YWxkTrZu0gW"
    parts: list[bytes] = []
    for name, value in fields.items():
        if isinstance(value, tuple):
            filename, content = value
            head = (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            )
            parts.append(head.encode() + content + b"\r\n")
        else:
            head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            parts.append(head.encode() + value.encode() + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def upload(url: str, path: Path) -> str:
    """POST a file to /api/v1/datasets; returns the dataset id."""
    body, ctype = multipart({"file": (path.name, path.read_bytes())})
    status, _, raw = request("POST", url + "/api/v1/datasets", body, {"Content-Type": ctype})
    assert status == 201, raw[:500]
    return str(json.loads(raw)["id"])


def wait_for(url: str, job_id: str, states: set[str], timeout: float = 180) -> dict[str, Any]:
    """Poll a job until its state is one of ``states``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, job = call("GET", f"{url}/api/v1/jobs/{job_id}")
        assert status == 200, job
        if job["state"] in states:
            return dict(job)
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} never reached {states}: {job}")
