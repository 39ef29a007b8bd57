"""The Celery runner: jobs handed to Celery workers on any machine through a Redis broker.

The web tier (and the dispatcher beside it) only publishes a job id; a worker's task claims
that job in the job store with a lease and runs it exactly as the local runner does: in a
child process (fork server, memory cap, nice), renewing the lease, killing the child on
cancel or timeout, recording why it ended. The store, not the broker, decides who runs a
job: a duplicate or late message finds the job taken or finished and is dropped, and a job
whose worker died is re-queued when its lease expires (or failed after
``CINNAMON_MAX_ATTEMPTS`` tries) and published again by the dispatcher.

Broker settings for long, heavy, at-least-once work: JSON only (a pickle message is refused
before it is decoded), late acknowledgement with rejection on a lost worker, one message
prefetched at a time, time limits above the job timeout, and a visibility timeout longer
than the longest job, so the broker never hands out a running job's message again.

Start a worker (one job at a time; run several for more)::

    celery -A jobs.celery_app worker --pool solo --concurrency 1 -Q cinnamon-jobs
"""

from __future__ import annotations

import functools
import logging

from celery import Celery
from celery.signals import worker_ready

from config.settings import Settings
from jobs.artifacts import is_valid_id

log = logging.getLogger(__name__)

TASK = "cinnamon.run_job"


def make_celery(settings: Settings) -> Celery:
    """A Celery app configured from the service settings."""
    if not settings.broker_url:
        raise ValueError("runner=celery needs CINNAMON_BROKER_URL (e.g. redis://:pw@host/0)")
    app = Celery("cinnamon", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        # JSON only: pickle (or anything else) is refused before it is deserialised
        task_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        event_serializer="json",
        task_ignore_result=True,
        # at least once: acknowledged after the job, re-delivered when a worker is lost;
        # the job store's lease makes sure it never runs twice at once
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=settings.celery_queue,
        task_time_limit=settings.job_timeout_s + 300,
        task_soft_time_limit=settings.job_timeout_s + 240,
        broker_transport_options={"visibility_timeout": settings.job_timeout_s + 3600},
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=5,
        # a publish while the broker is down fails fast: the job is in the store already and
        # the dispatcher hands it over once the broker is back
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5},
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    app.task(name=TASK, bind=True, acks_late=True, reject_on_worker_lost=True)(_run_job)
    return app


@functools.lru_cache(maxsize=4)
def _publisher(broker_url: str, queue: str, timeout_s: int) -> Celery:
    return make_celery(Settings(broker_url=broker_url, celery_queue=queue, job_timeout_s=timeout_s))


def publisher(settings: Settings) -> Celery:
    """The (cached) Celery app a process publishes with."""
    assert settings.broker_url
    return _publisher(settings.broker_url, settings.celery_queue, settings.job_timeout_s)


def publish(settings: Settings, job_ids: list[str]) -> list[str]:
    """Hand jobs to the broker; returns the ids published (stops at the first failure)."""
    app, sent = publisher(settings), []
    for job_id in job_ids:
        try:
            app.send_task(TASK, args=[job_id], task_id=job_id, queue=settings.celery_queue)
        except Exception as exc:  # broker unreachable: the dispatcher tries again
            log.warning("could not hand job %s to the broker: %s", job_id, type(exc).__name__)
            break
        sent.append(job_id)
    return sent


def revoke(settings: Settings, job_id: str) -> None:
    """Tell the workers to drop a queued job's message (best effort: the store decides)."""
    try:
        publisher(settings).control.revoke(job_id)
    except Exception as exc:
        log.warning("could not revoke job %s: %s", job_id, type(exc).__name__)


@functools.lru_cache(maxsize=1)
def _worker_runner() -> object:
    from jobs.runner import LocalRunner

    return LocalRunner(Settings())


def _run_job(task: object, job_id: object) -> str:
    """The task: claim the job in the store, run it in a child process, report how it went."""
    if not isinstance(job_id, str) or not is_valid_id(job_id):
        log.warning("task with a malformed job id refused")
        return "refused"
    from jobs.runner import LocalRunner

    runner = _worker_runner()
    assert isinstance(runner, LocalRunner)
    _fork_server_ready()  # never hold a lease while the fork server still imports
    job = runner.store.claim_job(job_id, runner.id, runner.settings.lease_s)
    if job is None:  # taken, finished, cancelled or deleted: a duplicate or late delivery
        log.info("job %s is not queued: message dropped", job_id)
        return "dropped"
    log.info("job %s claimed by %s", job_id, runner.id)
    runner.run_claimed(job_id)
    return "ran"


@functools.lru_cache(maxsize=1)
def _fork_server_ready() -> None:
    """Start this worker's fork server and wait for its imports (once per worker)."""
    from jobs.runner import LocalRunner

    runner = _worker_runner()  # sets the fork server's preloaded modules
    assert isinstance(runner, LocalRunner)
    runner.start_fork_server()


@worker_ready.connect
def _start_fork_server(**_: object) -> None:
    """At worker start: the fork server imports the job modules now, not at the first job."""
    _fork_server_ready()


def _worker_app() -> Celery | None:
    """The app ``celery -A jobs.celery_app`` finds (None when not configured for Celery)."""
    settings = Settings()
    return make_celery(settings) if settings.broker_url else None


app = _worker_app()
