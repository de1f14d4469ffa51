"""The Celery application. Settings come from Django's (CELERY_* names).

Beat stays single (README, "Topology"): web servers and workers scale out, but two beats would
enqueue every periodic task twice. At start (`beat_init`) beat takes a lock held for its whole
life: a PostgreSQL session advisory lock on a connection of its own, or on the embedded SQLite
default a file lock in VAR_DIR. Either is released by the server or the kernel the moment the
process dies, however it dies, so a standby beat started after a crash takes over at once. A
second beat started while the first runs exits with a message naming the lock.

Logging (console/logs.py): workers and beat keep Django's LOGGING instead of Celery's own
handlers, so their lines have the same format (`LOG_FORMAT`) as the web's; and a task carries
the request id of the request (or task) that enqueued it, in its message headers, so that its
log lines can be found by the request's id.
"""

from __future__ import annotations

import logging
import os

from celery import Celery, signals
from celery.signals import (
    beat_init,
    before_task_publish,
    setup_logging,
    task_postrun,
    task_prerun,
)

from .logs import REQUEST_ID_TASK_HEADER, request_id

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

app = Celery("console")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Packages inside an app are not discovered by the line above.
app.autodiscover_tasks(["console.webhooks", "campaigns.results"])

BEAT_LOCK_NAME = "moments-console:celery-beat"
BEAT_LOCK_FILE = "celerybeat.lock"
# What holds the lock (a database connection or an open file), kept for the process's life.
_beat_lock_holder: object | None = None


class BeatLockHeld(SystemExit):
    """Another beat holds the lock: this one must not run (exit status 1)."""


def beat_lock_acquire() -> object | None:
    """Take beat's lock without waiting. Returns what holds it (keep it referenced: the lock
    lives as long as it), or None when another process holds it."""
    from django.conf import settings
    from django.db import connections

    from console.locks import lock_key

    if connections["default"].vendor == "postgresql":
        # A connection of its own, outside Django's handler, so nothing closes it (request
        # ends, CONN_MAX_AGE). A session lock, not a transaction one: it must outlive every
        # transaction. So beat must reach PostgreSQL directly, not through PgBouncer's
        # transaction pool (README, "Topology").
        holder = connections.create_connection("default")
        holder.ensure_connection()
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [lock_key(BEAT_LOCK_NAME)])
            (taken,) = cursor.fetchone()
        if not taken:
            holder.close()
            return None
        return holder
    import fcntl
    from pathlib import Path

    path = Path(settings.VAR_DIR) / BEAT_LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a")  # noqa: SIM115 (held open for the process's life)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


@beat_init.connect
def _hold_beat_lock(sender=None, **kwargs) -> None:
    """Refuse to start a second beat (Celery runs this before the scheduler's first tick)."""
    global _beat_lock_holder
    holder = beat_lock_acquire()
    if holder is None:
        # SystemExit, not an Exception: Celery's signal dispatch logs and swallows those.
        message = (
            f"celery beat refused to start: another beat holds the lock "
            f"{BEAT_LOCK_NAME!r}. Run one beat per deployment (README, 'Topology')."
        )
        print(message, flush=True)
        raise BeatLockHeld(1)
    _beat_lock_holder = holder
    logging.getLogger(__name__).info("celery beat holds the lock %r", BEAT_LOCK_NAME)


# --- Metrics (console/metrics.py): imported on first use, not here (this module loads with the
# `console` package, before the settings).


@signals.worker_init.connect
@signals.beat_init.connect
def _metrics_start(**kwargs) -> None:
    """Take the metrics folder in the main process, before the pool forks: every pool process
    inherits its share, and a fresh start empties the folder once, not under live processes."""
    from .metrics import metrics_directory_prepare

    metrics_directory_prepare()


@signals.task_success.connect
def _task_succeeded(sender=None, **kwargs) -> None:
    from .metrics import celery_task_finished

    celery_task_finished(sender.name, "success")


@signals.task_failure.connect
def _task_failed(sender=None, **kwargs) -> None:
    from .metrics import celery_task_finished

    celery_task_finished(sender.name, "failure")


@signals.task_retry.connect
def _task_retried(sender=None, **kwargs) -> None:
    from .metrics import celery_task_finished

    celery_task_finished(sender.name, "retry")


@signals.worker_process_shutdown.connect
def _pool_process_ended(pid=None, **kwargs) -> None:
    """A pool process ends: its live gauges go (its counters stay in the totals)."""
    from .metrics import process_dead

    process_dead(pid or os.getpid())


@setup_logging.connect
def _django_logging(loglevel=None, **kwargs) -> None:
    """A receiver here tells Celery not to replace the root logger's handlers with its own:
    Django's LOGGING stays (configured here, as django.setup() would), at the level the worker
    or beat was started with (`--loglevel`, WARNING when not given, as Celery's own)."""
    from django.conf import settings
    from django.utils.log import configure_logging

    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)


@before_task_publish.connect
def _send_request_id(headers=None, **kwargs) -> None:
    """A task published while a request (or a task) is served carries its id."""
    rid = request_id.get()
    if rid and headers is not None:
        headers.setdefault(REQUEST_ID_TASK_HEADER, rid)


# The context variable's previous value per running task, put back when it ends (a worker
# process runs one task after another: none may keep the last one's id).
_previous: dict[str, object] = {}


@task_prerun.connect
def _receive_request_id(task_id=None, task=None, **kwargs) -> None:
    """The worker's log lines while a task runs carry the id it was published with. A task run
    in-process (eager) keeps the id of the request that runs it."""
    message = task.request if task is not None else None
    rid = getattr(message, REQUEST_ID_TASK_HEADER, None) or (
        (getattr(message, "headers", None) or {}).get(REQUEST_ID_TASK_HEADER)
    )
    if not rid:
        if getattr(message, "is_eager", False):
            return
        rid = ""
    _previous[task_id] = request_id.set(str(rid)[:128])


@task_postrun.connect
def _forget_request_id(task_id=None, **kwargs) -> None:
    token = _previous.pop(task_id, None)
    if token is not None:
        try:
            request_id.reset(token)
        except ValueError:  # set in another context (a pool that switched threads)
            request_id.set("")


@signals.worker_init.connect
def declare_dead_letter_queue(sender=None, **kwargs) -> None:
    """On RabbitMQ, make sure the dead-letter queue exists before this worker takes a message:
    RabbitMQ drops a dead-lettered message whose exchange has no queue (console/queues.py)."""
    from django.conf import settings

    from console.queues import dead_letter_queue

    if not settings.BROKER_IS_AMQP:
        return
    with app.connection_for_write() as connection:
        dead_letter_queue(prefix=settings.CELERY_QUEUE_PREFIX)(connection.default_channel).declare()
