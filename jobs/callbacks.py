"""Callback notifications: one JSON POST when a job ends, to an allow-listed host only."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from config.errors import ConfigError, FieldProblem
from config.settings import Settings
from jobs.models import JobRecord

log = logging.getLogger(__name__)

# file parts of the Cinnamon callback besides ``synthetic_data`` (part = file name stem, as the
# platform forwards them to ``/report``)
REPORT_PART, REPORT_DATA_PART = "quality_report", "quality_report_data"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect could lead outside the allow-list: treat it as a failure."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def check_callback_url(url: str, settings: Settings) -> None:
    """Refuse a callback URL that is not http(s) or whose host is not allow-listed."""
    parts = urlsplit(url)
    problem = None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problem = "must be an http or https URL with a host"
    elif parts.username or parts.password:
        problem = "must not contain credentials"
    elif parts.hostname.lower() not in {h.lower() for h in settings.callback_allowed_hosts}:
        problem = "host is not in the allow-list (CINNAMON_CALLBACK_ALLOWED_HOSTS)"
    if problem:
        raise ConfigError("invalid callback URL", [FieldProblem("/callback_url", problem)])


def notification(job: JobRecord) -> dict[str, Any]:
    """The JSON body of a job's callback."""
    links = {"self": f"/api/v1/jobs/{job.id}"}
    if job.state.value == "succeeded":
        links["result"] = f"/api/v1/jobs/{job.id}/result"
    return {"id": job.id, "state": job.state.value, "error": job.error, "links": links}


def multipart_body(
    fields: dict[str, str], files: dict[str, tuple[str, str, bytes]]
) -> tuple[bytes, str]:
    """Encode form fields and files (part -> (file name, content type, bytes))."""
    boundary = f"cinnamon-{uuid.uuid4().hex}"
    parts: list[bytes] = []
    for name, value in fields.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(head.encode() + value.encode() + b"\r\n")
    for name, (filename, ctype, content) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def cinnamon_callback(job: JobRecord, settings: Settings) -> tuple[bytes, str]:
    """The Cinnamon platform's callback: ``synthetic_data`` CSV, or ``error_message``.

    With the synthetic table go the quality and privacy report as a page
    (``quality_report.html``) and as data (``quality_report_data.json``): the platform stores
    both and forwards them to ``/report``, which renders the same report from the data. Never
    a model file.
    """
    key = (job.config.get("protocol") or {}).get("session_key", "")
    if job.state.value == "succeeded":
        from jobs.artifacts import ArtifactStore
        from jobs.worker import QUALITY_HTML, QUALITY_JSON

        folder = ArtifactStore(settings.data_dir).job_dir(job.id)
        path = folder / (job.result_file or "")
        files = {"synthetic_data": ("synthetic_data.csv", "text/csv", path.read_bytes())}
        for part, name, ctype in (
            (REPORT_PART, QUALITY_HTML, "text/html"),
            (REPORT_DATA_PART, QUALITY_JSON, "application/json"),
        ):
            if (folder / name).is_file():
                files[part] = (f"{part}{Path(name).suffix}", ctype, (folder / name).read_bytes())
        return multipart_body({"session_key": key}, files)
    error = job.error or {}
    message = str(error.get("detail") or f"the synthetization was {job.state.value}")
    status = str(error.get("status", 500 if job.state.value == "failed" else 499))
    files = {"error_message": ("error_message.txt", "text/plain", message.encode())}
    return multipart_body({"session_key": key, "status_code": status}, files)


def send_callback(store: Any, settings: Settings, job: JobRecord) -> bool:
    """POST the notification with retries and exponential backoff; record the outcome."""
    assert job.callback_url is not None
    if (job.config.get("protocol") or {}).get("name") == "cinnamon":
        body, ctype = cinnamon_callback(job, settings)
    else:
        body, ctype = json.dumps(notification(job)).encode(), "application/json"
    delay = 1.0
    for attempt in range(1, settings.callback_attempts + 1):
        request = urllib.request.Request(
            job.callback_url,
            data=body,
            method="POST",
            headers={"Content-Type": ctype, "User-Agent": "cinnamon-synth"},
        )
        try:
            with _OPENER.open(request, timeout=settings.callback_timeout_s) as resp:
                if 200 <= resp.status < 300:
                    store.set_callback_state(job.id, "sent")
                    return True
        except (urllib.error.URLError, OSError, ValueError) as exc:
            log.info("callback for job %s, try %d: %s", job.id, attempt, type(exc).__name__)
        if attempt < settings.callback_attempts:
            time.sleep(delay)
            delay = min(delay * 2, 60.0)
    store.set_callback_state(job.id, "failed")
    log.warning("callback for job %s failed %d times", job.id, settings.callback_attempts)
    return False
