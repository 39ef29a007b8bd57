"""Wake the runners on this machine at once when there is work, instead of at their next poll.

Each runner listens on a Unix datagram socket in ``<data_dir>/wake``; submitting a job (or a
job ending) sends one byte to every socket there. It is only a hint: a runner still polls
the store, so a lost datagram (or a platform without Unix sockets) merely costs latency.
"""

from __future__ import annotations

import contextlib
import select
import socket
from pathlib import Path

MAX_SOCKET_PATH = 100  # AF_UNIX paths are limited to about 108 bytes


def wake_dir(data_dir: Path) -> Path:
    """Where the runners' sockets live."""
    return data_dir.resolve() / "wake"


class WakeupListener:
    """The runner's end: ``wait`` returns early when a datagram arrives."""

    def __init__(self, data_dir: Path, name: str) -> None:
        self.path = wake_dir(data_dir) / f"{name}.sock"
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

    def wait(self, timeout: float) -> None:
        """Sleep up to ``timeout`` seconds, less if woken."""
        if self.sock is None:
            select.select([], [], [], timeout)
            return
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if ready:
            with contextlib.suppress(OSError):
                while self.sock.recv(64):
                    pass

    def close(self) -> None:
        """Stop listening and remove the socket file."""
        if self.sock is not None:
            self.sock.close()
            self.path.unlink(missing_ok=True)


def notify_runners(data_dir: Path) -> None:
    """Nudge every runner listening on this machine (best effort, never raises)."""
    folder = wake_dir(data_dir)
    if not folder.is_dir():
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        for path in folder.glob("*.sock"):
            with contextlib.suppress(OSError):
                sock.sendto(b"1", str(path))
