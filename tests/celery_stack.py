"""The scaled-out service for the tests: Gunicorn with ``runner=celery`` plus Celery workers.

Everything is real: a Gunicorn (web tier and dispatcher) and N ``celery worker`` processes
(``--pool solo``, one job each at a time), sharing a PostgreSQL job store, a Redis broker
with a password and one data directory, as separate machines would share a volume.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.backends import PostgresServer, RedisServer
from tests.server import ROOT, Server


class CeleryWorker:
    """One ``celery -A jobs.celery_app worker`` process."""

    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name, self.env, self.log = name, env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> CeleryWorker:
        command = [sys.executable, "-m", "celery", "-A", "jobs.celery_app", "worker"]
        command += ["--pool", "solo", "--concurrency", "1", "-n", f"{self.name}@%h"]
        command += ["-Q", self.env["CINNAMON_CELERY_QUEUE"], "--loglevel", "INFO"]
        command += ["--without-gossip", "--without-mingle"]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        """Until the worker logs that it is ready to take tasks."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text()
            if b"ready." in self.log.read_bytes():
                return
            time.sleep(0.2)
        raise RuntimeError(f"worker {self.name} did not start: {self.log.read_text()[-2000:]}")

    def kill(self, group: bool = True) -> None:
        """SIGKILL the worker's whole process group, or (``group=False``) the worker alone."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                if group:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                else:
                    os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        """Cold shutdown (SIGQUIT), then make sure the group is gone."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(20)
        self.kill()


class CeleryStack:
    """Gunicorn (runner=celery) and ``workers`` Celery workers on one job store and broker."""

    def __init__(
        self,
        folder: Path,
        redis: RedisServer,
        postgres: PostgresServer,
        workers: int = 2,
        **env: str,
    ) -> None:
        postgres.reset()
        queue = f"jobs-{folder.name[-12:]}".replace("_", "-")
        self.env = {
            "CINNAMON_RUNNER": "celery",
            "CINNAMON_BROKER_URL": redis.url,
            "CINNAMON_DATABASE_URL": postgres.url,
            "CINNAMON_CELERY_QUEUE": queue,
            "CINNAMON_LEASE_S": "6",
            **env,
        }
        self.folder = folder
        self.server = Server(folder / "data", **self.env)
        self.workers = [
            CeleryWorker(f"w{i}", self.server.env, folder / f"worker-{i}.log")
            for i in range(workers)
        ]

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def data_dir(self) -> Path:
        return self.server.data_dir

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def log(self) -> Path:
        """The web tier's (and dispatcher's) log."""
        return self.server.log

    @property
    def store_url(self) -> str:
        return self.server.store_url

    def start(self) -> CeleryStack:
        self.server.start()
        for worker in self.workers:
            worker.start()
        for worker in self.workers:
            worker.wait_ready()
        return self

    def add_worker(self) -> CeleryWorker:
        n = len(self.workers)
        worker = CeleryWorker(f"w{n}", self.server.env, self.folder / f"worker-{n}.log")
        self.workers.append(worker.start())
        worker.wait_ready()
        return worker

    def logs(self) -> str:
        return "\n".join(w.log.read_text(errors="replace") for w in self.workers)

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.server.stop()
