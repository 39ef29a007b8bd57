"""Hints between the processes of one machine, so that nobody has to poll the store often.

Runners listen on Unix datagram sockets in ``<data_dir>/wake``: submitting a job (or a job
ending) sends one byte to every socket there, and they claim at once. Web workers listen in
``<data_dir>/watch``: a job process writing progress or its end, a runner ending a job, a
cancel, each sends one byte there, and the long polls waiting in that worker look at the
store again (``ChangeBoard``). Hints only: everyone still reads the store, at a slower pace,
so a lost datagram, a job on another machine (Celery) or a platform without Unix sockets
merely costs latency.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import uuid
from pathlib import Path

MAX_SOCKET_PATH = 100  # AF_UNIX paths are limited to about 108 bytes


def wake_dir(data_dir: Path) -> Path:
    """Where the runners' sockets live."""
    return data_dir.resolve() / "wake"


def watch_dir(data_dir: Path) -> Path:
    """Where the web workers' sockets live."""
    return data_dir.resolve() / "watch"


class WakeupListener:
    """One listening end (in ``folder``): ``wait`` returns early when a datagram arrives."""

    def __init__(self, folder: Path, name: str) -> None:
        self.path = folder / f"{name}.sock"
        self.sock: socket.socket | None = None
        if len(str(self.path)) > MAX_SOCKET_PATH or not hasattr(socket, "AF_UNIX"):
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.unlink(missing_ok=True)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(str(self.path))
            sock.setblocking(False)
            self.sock = sock
        except OSError:
            self.sock = None

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, less if woken; whether it was woken."""
        if self.sock is None:
            select.select([], [], [], timeout)
            return False
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if ready:
            with contextlib.suppress(OSError):
                while self.sock.recv(64):
                    pass
        return bool(ready)

    def close(self) -> None:
        """Stop listening and remove the socket file."""
        if self.sock is not None:
            self.sock.close()
            self.path.unlink(missing_ok=True)


def _nudge(folder: Path) -> None:
    """One byte to every socket in ``folder`` (best effort, never raises).

    A socket file nobody listens on any more (its process was killed) is removed: listeners
    bind fresh, unique names, so it can never be taken again.
    """
    if not folder.is_dir():
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        for path in folder.glob("*.sock"):
            try:
                sock.sendto(b"1", str(path))
            except ConnectionRefusedError:
                path.unlink(missing_ok=True)
            except OSError:
                pass  # full buffer: the listener is awake anyway


def notify_runners(data_dir: Path) -> None:
    """Nudge every runner listening on this machine (best effort, never raises)."""
    _nudge(wake_dir(data_dir))


def notify_watchers(data_dir: Path) -> None:
    """Tell the web workers on this machine that some job changed (best effort)."""
    _nudge(watch_dir(data_dir))


class ChangeBoard:
    """A web worker's end of the job-change hints; its long polls wait on it.

    The listening thread starts at the first use in a process (Gunicorn forks its workers
    after the app is made, and a thread does not survive a fork). ``mark`` before reading the
    store, ``wait(mark, timeout)`` after: a change announced in between ends the wait at once.
    """

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._changed = threading.Condition()
        self._seq = 0
        self._pid: int | None = None
        self._listening = False

    def listening(self) -> bool:
        """Whether hints can arrive in this process (starts the listener on first use)."""
        with self._changed:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                name = f"{self._pid}-{uuid.uuid4().hex[:8]}"
                listener = WakeupListener(watch_dir(self._data_dir), name)
                self._listening = listener.sock is not None
                if self._listening:
                    threading.Thread(
                        target=self._listen, args=(listener,), name="job-changes", daemon=True
                    ).start()
            return self._listening

    def _listen(self, listener: WakeupListener) -> None:
        while True:
            if listener.wait(3600.0):
                with self._changed:
                    self._seq += 1
                    self._changed.notify_all()

    def mark(self) -> int:
        """The count of hints so far."""
        with self._changed:
            return self._seq

    def wait(self, mark: int, timeout: float) -> None:
        """Until a hint newer than ``mark`` arrives, at most ``timeout`` seconds."""
        with self._changed:
            self._changed.wait_for(lambda: self._seq != mark, timeout)
