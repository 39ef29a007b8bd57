"""The local runner: one per machine, outside the web workers, one child process per job.

It claims queued jobs from the store with a lease, renews the lease while a job runs, starts
each job in a fresh child process (forkserver, with the job module preloaded), kills the child
on cancel or timeout, fails a job whose child died with the reason, re-queues jobs whose
lease expired (another runner or an earlier server died), sends callbacks and removes
expired jobs and datasets. Processes hold nothing that cannot be rebuilt from the job rows.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import multiprocessing.forkserver
import os
import shutil
import signal
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path

from config.settings import Settings
from jobs.artifacts import ArtifactStore
from jobs.callbacks import send_callback
from jobs.errors import JobError, NotFoundError
from jobs.models import JobState
from jobs.store import SqlJobStore
from jobs.wakeup import WakeupListener, notify_watchers, wake_dir

log = logging.getLogger(__name__)


# our own synthesizers (cart is the default) and the SDV-backed ones (missing extras: skipped)
PRELOAD_OPTIONAL = [
    "synthesizers.cart",
    "synthesizers.argn",
    "synthesizers.sdv_backed",
    "synthesizers.gaussian_copula",
    "synthesizers.ctgan",
    "synthesizers.tvae",
]
# the report's scoring and page: imported once by the fork server, not by every job
PRELOAD_REPORT = ["evaluation.scoring", "evaluation.report_html"]


@dataclass
class _Child:
    process: BaseProcess
    started: float
    cancelled: bool = False
    timed_out: bool = False
    abandoned: bool = False  # the row was deleted or taken over: leave it alone


@dataclass
class _Standby:
    """A job process forked ahead of its job, warming up (``jobs.child.standby_main``)."""

    process: BaseProcess
    conn: multiprocessing.connection.Connection
    scratch: Path  # its warm-up folder
    ready: bool = False

    def is_ready(self) -> bool:
        """True once its warm-up is done and it waits for a job."""
        if not self.ready and self.process.is_alive():
            with contextlib.suppress(EOFError, OSError):
                self.ready = self.conn.poll() and self.conn.recv() == "ready"
        return self.ready and self.process.is_alive()

    def dismiss(self) -> None:
        """Let it go: closing the pipe ends a waiting standby, a warming one is killed."""
        self.conn.close()
        if not self.ready:
            self.process.kill()
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        shutil.rmtree(self.scratch, ignore_errors=True)  # left behind by a cut-short warm-up


def _death_reason(exitcode: int | None, memory_mb: int) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        hint = ", possibly out of memory" if name == "SIGKILL" else ""
        return f"the job's process was killed by {name}{hint}"
    cap = f" (memory cap {memory_mb} MB)" if memory_mb else ""
    return f"the job's process exited with code {exitcode}{cap}"


class LocalRunner:
    """Runs queued jobs in child processes, at most ``settings.concurrent_jobs`` at once."""

    starts_children = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = SqlJobStore(settings.store_url)
        self.artifacts = ArtifactStore(settings.data_dir)
        self.id = f"{socket.gethostname()[:32]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.children: dict[str, _Child] = {}
        self.stopping = threading.Event()
        self._last_heartbeat = 0.0
        self._last_recovery = 0.0
        self._last_cleanup = 0.0
        self._standby: _Standby | None = None
        self._ctx = multiprocessing.get_context("forkserver")
        # the fork server imports these once, so a job starts in milliseconds, not seconds;
        # modules of a missing optional extra are skipped by multiprocessing
        self._ctx.set_forkserver_preload(
            ["jobs.worker", *PRELOAD_REPORT, *PRELOAD_OPTIONAL, "jobs.preloaded"]
        )

    def start_fork_server(self) -> None:
        """Start the fork server and wait until its preloaded imports are done.

        Claiming a job before that would hold its lease without a heartbeat while the first
        fork waits for the imports (seconds on a cold machine), so another runner could take
        the job over. A no-op process forked and joined here returns only once the server
        serves forks.
        """
        from jobs.child import fork_server_ready

        multiprocessing.forkserver.ensure_running()
        probe = self._ctx.Process(target=fork_server_ready, name="fork-server-probe")
        probe.start()
        probe.join()

    # the loop -----------------------------------------------------------------------------

    def run(self, parent_pid: int | None = None) -> None:
        """Loop until ``stop()`` (or the parent process is gone)."""
        self.store.migrate()
        # start the fork server now: it imports the preloaded modules (seconds) while the
        # runner waits for work, not when the first job arrives
        if self.starts_children:
            self.start_fork_server()
            self._remove_old_warmups()
        log.info("%s %s started", type(self).__name__, self.id)
        wake = WakeupListener(wake_dir(self.settings.data_dir), f"{os.getpid()}-{self.id[-8:]}")
        self._wake = wake
        try:
            self._loop(parent_pid, wake)
        finally:
            wake.close()
            self.shutdown()

    def _loop(self, parent_pid: int | None, wake: WakeupListener) -> None:
        while not self.stopping.is_set():
            if parent_pid is not None and os.getppid() != parent_pid:
                log.warning("runner %s: the server is gone; stopping", self.id)
                break
            try:
                self.tick()
            except JobError as exc:  # store unavailable: keep the children, retry
                log.warning("runner tick failed: %s", exc)
            wake.wait(self.settings.runner_poll_s)

    def stop(self) -> None:
        """Ask the loop to end."""
        self.stopping.set()

    def tick(self) -> None:
        """One round: reap, cancel, time out, heartbeat, recover, claim, notify, clean up."""
        now = time.monotonic()
        self.supervise(now)
        if now - self._last_recovery >= min(self.settings.lease_s / 2, 10):
            for job_id, state in self.store.recover_expired(self.settings.max_attempts):
                log.warning("job %s lost its lease: now %s", job_id, state.value)
            self._last_recovery = now
        self.take_work()
        self._keep_standby()
        self._callbacks()
        if self.settings.retention_hours and now - self._last_cleanup >= 600:
            self._cleanup()
            self._last_cleanup = now

    def supervise(self, now: float) -> None:
        """Reap finished children, kill cancelled and timed-out ones, renew the leases."""
        self._reap()
        self._cancel_and_timeout(now)
        if now - self._last_heartbeat >= self.settings.lease_s / 3:
            self.store.heartbeat(self.id, list(self.children), self.settings.lease_s)
            self._last_heartbeat = now

    def take_work(self) -> None:
        """Claim queued jobs while a slot is free and start each in a child."""
        while len(self.children) < self.settings.concurrent_jobs and not self.stopping.is_set():
            job = self.store.claim_next(self.id, self.settings.lease_s)
            if job is None:
                break
            self._start(job.id)

    def run_claimed(self, job_id: str) -> None:
        """Run one job already claimed by this runner to its end (a Celery task's body)."""
        self._last_heartbeat = time.monotonic()  # the claim has just set the lease
        self._start(job_id)
        while self.children:
            self.supervise(time.monotonic())
            if self.children:  # back at once when the child ends, else after a poll interval
                sentinels = [c.process.sentinel for c in self.children.values()]
                multiprocessing.connection.wait(sentinels, min(self.settings.runner_poll_s, 0.5))

    # children -----------------------------------------------------------------------------

    def _start(self, job_id: str) -> None:
        threads = self.threads_for_next_job()
        process = self._hand_to_standby(job_id, threads)
        if process is None:
            from jobs.child import child_main

            settings = self.settings.model_dump(mode="json")
            settings["threads"] = threads
            process = self._ctx.Process(
                target=child_main,
                args=(job_id, settings, self.settings.job_memory_mb),
                name=f"job-{job_id}",
                daemon=False,
            )
            process.start()
        self.children[job_id] = _Child(process, time.monotonic())
        self.store.update_job(job_id, worker_pid=process.pid)
        log.info("job %s started in process %s", job_id, process.pid)

    def _hand_to_standby(self, job_id: str, threads: int) -> BaseProcess | None:
        """Give the job to the warmed-up standby process; None if there is none ready.

        A standby still warming up is dismissed rather than waited for: its warm-up would
        compete with the job for the cores.
        """
        standby, self._standby = self._standby, None
        if standby is None:
            return None
        if standby.is_ready():
            try:
                standby.conn.send((job_id, threads))
                standby.conn.close()
                return standby.process
            except OSError:
                pass  # it died just now: start the job in a fresh process
        standby.dismiss()
        return None

    def _keep_standby(self) -> None:
        """While no job runs, keep one process forked and warming up for the next job."""
        if not (self.starts_children and self.settings.standby_process) or self.stopping.is_set():
            return
        if self._standby is not None:
            if self._standby.process.is_alive():
                return
            log.warning(
                "standby process %s ended (%s)",
                self._standby.process.pid,
                self._standby.process.exitcode,
            )
            self._standby.dismiss()
            self._standby = None
        if self.children:
            return  # its warm-up would slow the running jobs down
        from jobs.child import standby_main

        mine, theirs = self._ctx.Pipe()
        settings = self.settings.model_dump(mode="json")
        scratch = self.artifacts.warmup_dir() / uuid.uuid4().hex
        process = self._ctx.Process(
            target=standby_main,
            args=(theirs, settings, self.settings.job_memory_mb, str(scratch)),
            name="job-standby",
            daemon=False,
        )
        process.start()
        theirs.close()
        self._standby = _Standby(process, mine, scratch)

    def dismiss_standby(self) -> None:
        """End the standby process, if any (killed if still warming up)."""
        standby, self._standby = self._standby, None
        if standby is not None:
            standby.dismiss()

    def standby_pid(self) -> int | None:
        """The process id of the warmed-up standby waiting for a job, None if there is none."""
        standby = self._standby
        return standby.process.pid if standby is not None and standby.is_ready() else None

    def threads_for_next_job(self) -> int:
        """torch/BLAS threads for a job starting now: the cores shared by the running jobs.

        A job that starts on an idle machine gets every core; with N jobs running each
        started with cores / N (a job's thread count cannot change once it runs).
        """
        if self.settings.threads:
            return self.settings.threads
        return max(1, (os.cpu_count() or 1) // (len(self.children) + 1))

    def _reap(self) -> None:
        for job_id, child in list(self.children.items()):
            if child.process.is_alive():
                continue
            child.process.join()
            del self.children[job_id]
            if child.abandoned:
                with contextlib.suppress(NotFoundError):
                    self.store.get_job(job_id)
                    continue
                self.artifacts.remove_job(job_id)  # deleted while running: drop late files
                continue
            if child.cancelled:
                self.store.finish(job_id, JobState.CANCELLED, message="cancelled while running")
            elif child.timed_out:
                detail = f"timeout after {self.settings.job_timeout_s} s"
                self.store.finish(job_id, JobState.FAILED, error=_problem(detail), message=detail)
            else:
                # normally the child recorded its own end state; if not, it died
                reason = _death_reason(child.process.exitcode, self.settings.job_memory_mb)
                if self.store.finish(job_id, JobState.FAILED, error=_problem(reason)):
                    log.warning("job %s: %s", job_id, reason)
            notify_watchers(self.settings.data_dir)

    def _cancel_and_timeout(self, now: float) -> None:
        if not self.children:
            return
        flagged = set(self.store.cancel_requested(list(self.children)))
        for job_id, child in self.children.items():
            if child.cancelled or child.timed_out or child.abandoned:
                continue
            if job_id in flagged:
                child.cancelled = True
            elif not self._still_ours(job_id):
                child.abandoned = True
            elif now - child.started > self.settings.job_timeout_s:
                child.timed_out = True
            else:
                continue
            child.process.kill()
        killed = [c for c in self.children.values() if c.cancelled or c.timed_out or c.abandoned]
        for child in killed:
            child.process.join(5)
        if killed:
            self._reap()

    def _still_ours(self, job_id: str) -> bool:
        try:
            job = self.store.get_job(job_id)
        except NotFoundError:
            return False  # deleted by a client
        return job.state == JobState.RUNNING and job.lease_owner == self.id

    def shutdown(self) -> None:
        """Stop the children and hand their jobs back to the queue for the next start."""
        self.dismiss_standby()
        for job_id, child in self.children.items():
            child.process.kill()
            child.process.join(10)
            # if the store is down, the lease expires and recovery re-queues the job
            with contextlib.suppress(JobError):
                self.store.finish(job_id, JobState.QUEUED, message="re-queued: server stopped")
        self.children.clear()
        self.store.dispose()

    # callbacks and retention --------------------------------------------------------------

    def _callbacks(self) -> None:
        for job in self.store.callback_due():
            if self.store.claim_callback(job.id):
                threading.Thread(
                    target=send_callback, args=(self.store, self.settings, job), daemon=True
                ).start()

    def _remove_old_warmups(self) -> None:
        """Warm-up folders left by a runner that died (a live one is seconds old)."""
        before = time.time() - 600
        for folder in self.artifacts.warmup_dir().iterdir():
            with contextlib.suppress(OSError):
                if folder.stat().st_mtime < before:
                    shutil.rmtree(folder, ignore_errors=True)

    def _cleanup(self) -> None:
        self._remove_old_warmups()
        before = time.time() - self.settings.retention_hours * 3600
        jobs, datasets = self.store.expired(before)
        for job in jobs:
            self.store.delete_job(job.id, None)
            self.artifacts.remove_job(job.id)
        for dataset in datasets:
            self.store.delete_dataset(dataset.id, None)
            self.artifacts.remove_dataset(dataset.id)


class CeleryDispatcher(LocalRunner):
    """runner=celery, beside the web tier: hands queued jobs to the broker, runs none itself.

    It does what does not belong to any one worker: re-queues (or fails) jobs whose worker
    was lost once their lease expires, hands every queued job to the broker that was never
    handed over (the broker was down at submit) or was handed over ``redispatch_s`` ago and
    is still queued (a lost message), sends callbacks and removes expired jobs. Its
    heartbeat tells ``/ready`` that jobs are being looked after.
    """

    starts_children = False

    def take_work(self) -> None:
        from jobs.celery_app import publish

        due = self.store.undispatched(self.settings.redispatch_s)
        if due:
            self.store.mark_dispatched(publish(self.settings, due))


def _problem(detail: str) -> dict[str, object]:
    return {"type": "about:blank", "title": "Job failed", "status": 500, "detail": detail}


def serve_runner(settings: Settings, parent_pid: int | None = None) -> None:
    """Run a runner in this process until SIGTERM/SIGINT (or the parent process is gone).

    With ``runner=celery`` this is the dispatcher: the jobs run on the Celery workers.
    """
    runner = CeleryDispatcher(settings) if settings.runner == "celery" else LocalRunner(settings)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: runner.stop())
    runner.run(parent_pid)


def main(argv: list[str] | None = None) -> None:
    """``python -m jobs.runner [--parent-pid N]``: what the server's hook starts."""
    import argparse

    parser = argparse.ArgumentParser(description="run the local job runner")
    parser.add_argument("--parent-pid", type=int, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s runner %(levelname)s %(message)s")
    serve_runner(Settings(), args.parent_pid)


if __name__ == "__main__":
    main()
