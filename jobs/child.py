"""The entry points of a job's process: limits first, then the job function.

``child_main`` runs one job in a freshly forked process; ``standby_main`` first warms up on a
made-up table (``jobs.warmup``) while the runner is idle, then waits for the one job it runs.

Kept apart from ``jobs.worker`` so that the runner, which only names this function, does not
import the synthesis stack itself; the fork server has it preloaded for the children.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from config.settings import Settings

if TYPE_CHECKING:
    from threadpoolctl import ThreadpoolController

    from jobs.store import SqlJobStore

log = logging.getLogger(__name__)


def _die_with_parent() -> None:
    """Linux: get SIGKILL when the parent (the runner's fork server) goes away."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _release_fork_server() -> None:
    """Drop this process's hold on the fork server, so that it dies with the runner.

    The fork server stays up while any process holds its "alive" pipe, and it hands that pipe
    to every child it forks. A job's child holding it would keep the fork server (its parent)
    alive after the runner or Celery worker died, so the parent-death signal would never
    come and the orphaned job would go on beside its retry. Closed here, the runner is the
    last holder: when it dies the fork server exits and the job gets SIGKILL.
    """
    from multiprocessing import forkserver

    server = forkserver._forkserver
    fd = getattr(server, "_forkserver_alive_fd", None)
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)
        server._forkserver_alive_fd = None


def _address_space_bytes() -> int:
    """What this process has mapped now (VmSize), 0 if unknown."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _keep_freed_memory() -> None:
    """glibc: serve arrays up to 32 MB from the heap and keep freed heap for reuse.

    By default every array over 128 kB (one column of a 20,000-row table) is mapped afresh
    and unmapped when freed, so a job pays page faults for the same memory again and again
    (on Adult with ``gaussian_copula``: 44,000 faults and 0.25 s of system time; with these
    settings 28,000 and 0.18 s). A job process lives for one job, so what it keeps is
    returned when it exits.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL("libc.so.6")
            m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
            libc.mallopt(m_mmap_threshold, 32 * 1024 * 1024)
            libc.mallopt(m_trim_threshold, 128 * 1024 * 1024)
            libc.mallopt(m_top_pad, 16 * 1024 * 1024)


def _arrow_on_the_heap() -> None:
    """Arrow's buffers from glibc's heap (kept by ``_keep_freed_memory``), not mimalloc.

    pyarrow's default pool, mimalloc, hands freed pages back to the system within
    milliseconds, so a job pays page faults for its Arrow buffers (the sampled batches, the
    result's string copy, the parsed upload) again and again: on Adult with
    ``gaussian_copula`` the system pool cut the job's system time 0.21-0.27 s -> 0.15-0.17 s
    and its sampling stage 0.23-0.25 s -> 0.17-0.19 s (through the server, six jobs each, two
    rounds: stage sums 1.274 / 1.337 s -> 1.245 / 1.257 s). Job processes are ours; the
    library call leaves the host process's pool alone.
    """
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())


def _prepare(settings: Settings) -> None:
    """What every job process does first: die with the runner, yield the CPU to the API."""
    _die_with_parent()
    _release_fork_server()
    _keep_freed_memory()
    _arrow_on_the_heap()
    if settings.job_nice:
        os.nice(settings.job_nice)  # training yields the CPU to the web workers


def _run(
    job_id: str,
    settings: Settings,
    memory_mb: int,
    store: SqlJobStore | None = None,
    pools: ThreadpoolController | None = None,
) -> None:
    """Thread pools and the memory cap for this job, then the job itself."""
    if settings.threads:
        from threadpoolctl import ThreadpoolController

        # BLAS/OpenMP pools; torch is set by the model
        (pools or ThreadpoolController()).limit(limits=settings.threads)
    if memory_mb:
        import resource

        limit = _address_space_bytes() + memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from jobs.worker import run_job  # preloaded by the fork server: no import cost here

    run_job(job_id, settings, store)


def fork_server_ready() -> None:
    """A no-op process: forking it succeeds once the fork server has done its imports."""


def child_main(job_id: str, settings_json: dict[str, Any], memory_mb: int) -> None:
    """Entry point of a job's child process: apply the memory cap, then run the job.

    The cap (RLIMIT_AS) is ``memory_mb`` on top of what the process maps at start, i.e. the
    libraries the fork server preloaded, so that the setting means the job's own memory.
    """
    settings = Settings.model_validate(settings_json)
    _prepare(settings)
    _run(job_id, settings, memory_mb)


def standby_main(
    conn: Connection, settings_json: dict[str, Any], memory_mb: int, scratch: str
) -> None:
    """Entry point of a standby process: warm up, say so, wait for one job, run it, exit.

    The warm-up works in ``scratch`` (a folder the runner named). The runner sends
    ``(job_id, threads)`` or closes the pipe (then this process exits). The memory cap is
    applied when the job arrives, on top of what the process maps then.
    """
    settings = Settings.model_validate(settings_json)
    _prepare(settings)
    store: SqlJobStore | None = None
    pools: ThreadpoolController | None = None
    try:
        from threadpoolctl import ThreadpoolController

        from jobs.store import SqlJobStore
        from jobs.warmup import warm_up

        warm_up(settings, Path(scratch))
        pools = ThreadpoolController()  # finds the BLAS/OpenMP libraries once, now
        store = SqlJobStore(settings.store_url)
        store.warm_up()  # connected, statements compiled
    except Exception as exc:  # a failed warm-up only costs the speed-up, never the job
        log.warning("standby warm-up failed: %s", type(exc).__name__)
        store = None
    gc.collect()
    try:
        conn.send("ready")
        job_id, threads = conn.recv()
    except (EOFError, OSError):
        return  # the runner let this standby go
    conn.close()
    _run(job_id, settings.model_copy(update={"threads": threads}), memory_mb, store, pools)
