"""Gunicorn settings and hooks: the server starts the job runner and stops it on exit.

``gunicorn.conf.py`` re-exports this module, and ``cinnamon-synth serve`` runs Gunicorn with
it, so both start the same thing. The runner is a separate process (not a Gunicorn worker),
so recycling web workers never touches running jobs.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import Any

from config.settings import Settings

_settings = Settings()

bind = _settings.bind
workers = _settings.web_workers
threads = _settings.web_threads
timeout = _settings.web_timeout_s
graceful_timeout = 30
# recycle web workers now and then (jobs never run inside them); not often: a new worker costs
# about a second of CPU on 2 cores, and every 1,000 requests that doubled a request's CPU
max_requests = _settings.web_max_requests
max_requests_jitter = max_requests // 10
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'  # never bodies or query values
wsgi_app = "app:create_app()"
control_socket_disable = True  # unused; one fixed socket path would clash between servers


def on_starting(server: Any) -> None:
    """Create or upgrade the job store once, before any worker starts."""
    from jobs.service import open_services, remove_tmp

    remove_tmp(open_services(Settings()))


def _start_runner(server: Any) -> None:
    import os

    server.cinnamon_runner = subprocess.Popen(
        [sys.executable, "-m", "jobs.runner", "--parent-pid", str(os.getpid())]
    )
    server.log.info("job runner started (pid %s)", server.cinnamon_runner.pid)


def _watch_runner(server: Any) -> None:
    """Start the runner again whenever it dies while the server runs (SIGKILL, OOM killer).

    Its jobs are not lost meanwhile: their leases run out and the new runner re-queues them.
    Gunicorn's arbiter may reap the process first; ``poll()`` then reports it gone all the
    same. A runner that dies again within a minute waits twice as long (up to 30 s) each time.
    """
    import time

    delay, started = 1.0, time.monotonic()
    while not server.cinnamon_stopping.wait(1.0):
        runner = server.cinnamon_runner
        if runner.poll() is None:
            continue
        server.log.warning("job runner exited (code %s); starting it again", runner.returncode)
        delay = delay * 2 if time.monotonic() - started < 60 else 1.0
        if server.cinnamon_stopping.wait(min(delay, 30.0)):
            return
        started = time.monotonic()
        _start_runner(server)


def when_ready(server: Any) -> None:
    """Start the local runner (or the Celery dispatcher) beside the workers, and watch it."""
    import threading

    if Settings().runner not in ("local", "celery"):  # none: the runner is run separately
        return
    server.cinnamon_stopping = threading.Event()
    _start_runner(server)
    threading.Thread(target=_watch_runner, args=(server,), daemon=True).start()


def on_exit(server: Any) -> None:
    """Stop the runner: its running jobs go back to the queue for the next start."""
    runner = getattr(server, "cinnamon_runner", None)
    if runner is None:
        return
    server.cinnamon_stopping.set()
    runner.send_signal(signal.SIGTERM)
    try:
        runner.wait(timeout=30)
    except subprocess.TimeoutExpired:
        runner.kill()


def post_worker_init(worker: Any) -> None:
    """Move what the web worker has loaded out of the garbage collector's sight.

    The app, Flask, SQLAlchemy, pydantic and pandas leave about 140,000 long-lived objects
    in each worker; every full collection walks them all (68 ms on an idle 2-core machine,
    100+ ms while a job trains), holding the GIL, so every request that worker is serving
    stalls for as long. Frozen, they are never scanned again; what requests allocate is
    still collected as usual.
    """
    import gc

    gc.collect()
    gc.freeze()


def serve(host: str | None = None, port: int | None = None) -> None:
    """Run Gunicorn in this process with these settings (``cinnamon-synth serve``)."""
    from gunicorn.app.base import BaseApplication

    settings = Settings()
    address = settings.bind
    if host is not None or port is not None:
        old_host, _, old_port = address.rpartition(":")
        address = f"{host or old_host}:{port or old_port}"
    options = {
        "bind": address,
        "workers": workers,
        "threads": threads,
        "timeout": timeout,
        "graceful_timeout": graceful_timeout,
        "max_requests": max_requests,
        "max_requests_jitter": max_requests_jitter,
        "accesslog": accesslog,
        "access_log_format": access_log_format,
        "on_starting": on_starting,
        "when_ready": when_ready,
        "on_exit": on_exit,
        "post_worker_init": post_worker_init,
        "control_socket_disable": control_socket_disable,
    }

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                if key in self.cfg.settings:  # older Gunicorns lack some settings
                    self.cfg.set(key, value)

        def load(self) -> Any:
            from app import create_app

            return create_app(settings)

    _Server().run()
