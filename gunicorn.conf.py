"""Gunicorn settings and hooks (values from CINNAMON_* variables; see app/server.py)."""

from app.server import (  # noqa: F401
    access_log_format,
    accesslog,
    bind,
    control_socket_disable,
    graceful_timeout,
    max_requests,
    max_requests_jitter,
    on_exit,
    on_starting,
    post_worker_init,
    threads,
    timeout,
    when_ready,
    workers,
    wsgi_app,
)
