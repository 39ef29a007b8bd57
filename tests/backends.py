"""Real Redis and PostgreSQL servers for the scale-out tests, each private to the test run.

Both come from the OS packages (Debian ``redis-server`` and ``postgresql``, installed by the
README's test command and ``.ci/run``) and run in temporary folders on free ports: a Redis
with a password and append-only persistence (restartable with its queue intact), and a
PostgreSQL cluster made by ``initdb`` (as the ``postgres`` user when the tests run as root,
since PostgreSQL refuses to run as root).

When a binary is missing the fixtures skip, unless ``CINNAMON_TEST_REQUIRE_BACKENDS=1`` (set by
``.ci/run``): then a missing server is a failure, so CI can never pass by skipping them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.server import free_port

REDIS_PASSWORD = "test-redis-password"


def _missing(what: str) -> None:
    message = f"{what} is not installed (apt-get install redis-server postgresql)"
    if os.environ.get("CINNAMON_TEST_REQUIRE_BACKENDS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def _wait_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


class RedisServer:
    """``redis-server`` with a password and AOF persistence in its own folder."""

    def __init__(self, folder: Path) -> None:
        if shutil.which("redis-server") is None:
            _missing("redis-server")
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://:{REDIS_PASSWORD}@127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--requirepass", REDIS_PASSWORD]
        args += ["--dir", str(self.folder), "--appendonly", "yes", "--appendfsync", "always"]
        args += ["--save", "", "--daemonize", "no", "--logfile", str(self.folder / "redis.log")]
        self.proc = subprocess.Popen(["redis-server", *args], start_new_session=True)
        _wait_port(self.port)
        return self

    def stop(self) -> None:
        """Shut down the way a restart does (SIGTERM: Redis flushes its append-only file)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


class PostgresServer:
    """A private PostgreSQL cluster (``initdb``) with one database for the job store."""

    def __init__(self, folder: Path) -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not found:
            _missing("postgresql")
        self.bin = found[-1].parent
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def _as_owner(self, args: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return args
        return ["runuser", "-u", "postgres", "--", *args]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://cinnamon:cinnamon@127.0.0.1:{self.port}/cinnamon"

    def start(self) -> PostgresServer:
        data = self.folder / "data"
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        if not data.exists():
            password = self.folder / "pw"
            password.write_text("cinnamon\n")
            if os.geteuid() == 0:
                shutil.chown(password, "postgres", "postgres")
            initdb = [str(self.bin / "initdb"), "-D", str(data), "-U", "cinnamon", "-A", "md5"]
            initdb += ["--pwfile", str(password), "-E", "UTF8", "--no-sync"]
            subprocess.run(self._as_owner(initdb), check=True, capture_output=True)
        serve = [str(self.bin / "postgres"), "-D", str(data), "-p", str(self.port)]
        serve += ["-h", "127.0.0.1", "-k", str(self.folder), "-c", "fsync=off"]
        with (self.folder / "postgres.log").open("ab") as log:
            self.proc = subprocess.Popen(
                self._as_owner(serve),
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
            )
        _wait_port(self.port)
        env = {**os.environ, "PGPASSWORD": "cinnamon"}
        deadline = time.monotonic() + 30
        while True:
            made = subprocess.run(
                [str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
                 "cinnamon", "cinnamon"],
                env=env, capture_output=True, text=True,
            )  # fmt: skip
            if made.returncode == 0 or "already exists" in made.stderr:
                return self
            if time.monotonic() > deadline:
                raise RuntimeError(f"createdb failed: {made.stderr}")
            time.sleep(0.3)

    def reset(self) -> None:
        """An empty database again (dropped and created)."""
        env = {**os.environ, "PGPASSWORD": "cinnamon"}
        base = ["-h", "127.0.0.1", "-p", str(self.port), "-U", "cinnamon"]
        subprocess.run(
            [str(self.bin / "dropdb"), *base, "--force", "cinnamon"], env=env, check=True
        )
        subprocess.run([str(self.bin / "createdb"), *base, "cinnamon"], env=env, check=True)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)  # fast shutdown
            self.proc.wait(30)
        self.proc = None
