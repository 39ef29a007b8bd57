"""Gunicorn settings; every value can be overridden with CINNAMON_* environment variables."""

import os

bind = os.environ.get("CINNAMON_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("CINNAMON_WEB_WORKERS", "2"))
threads = int(os.environ.get("CINNAMON_WEB_THREADS", "4"))
timeout = int(os.environ.get("CINNAMON_WEB_TIMEOUT", "120"))
graceful_timeout = 30
max_requests = 1000  # recycle workers; jobs never run inside them
max_requests_jitter = 100
accesslog = "-"
wsgi_app = "app:create_app()"
