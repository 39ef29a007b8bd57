"""Hints between the processes of one machine: web workers' long polls wake on job changes."""

from __future__ import annotations

import multiprocessing
import socket
import threading
import time
from pathlib import Path

from jobs.wakeup import ChangeBoard, notify_watchers, watch_dir


def _announce(data_dir: str) -> None:
    notify_watchers(Path(data_dir))


def test_a_hint_from_another_process_ends_the_wait(tmp_path: Path) -> None:
    board = ChangeBoard(tmp_path)
    assert board.listening()
    mark = board.mark()
    waited: list[float] = []

    def waiter() -> None:
        started = time.monotonic()
        board.wait(mark, 60)
        waited.append(time.monotonic() - started)

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.2)
    proc = multiprocessing.get_context("spawn").Process(target=_announce, args=(str(tmp_path),))
    proc.start()
    proc.join(30)
    thread.join(60)
    assert waited and waited[0] < 30  # woken by the hint, not at the 60 s timeout
    assert board.mark() > mark


def test_a_hint_before_the_wait_is_not_lost(tmp_path: Path) -> None:
    board = ChangeBoard(tmp_path)
    assert board.listening()
    mark = board.mark()
    notify_watchers(tmp_path)  # arrives between reading the store and waiting
    deadline = time.monotonic() + 30
    while board.mark() == mark and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    board.wait(mark, 60)
    assert time.monotonic() - started < 30


def test_sockets_of_dead_listeners_are_removed(tmp_path: Path) -> None:
    folder = watch_dir(tmp_path)
    folder.mkdir(parents=True)
    dead = folder / "gone.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(dead))
    sock.close()  # the file stays, as after a SIGKILL
    assert dead.exists()
    notify_watchers(tmp_path)
    assert not dead.exists()
