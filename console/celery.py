"""The Celery application. Settings come from Django's (CELERY_* names).

Logging (console/logs.py): workers and beat keep Django's LOGGING instead of Celery's own
handlers, so their lines have the same format (`LOG_FORMAT`) as the web's; and a task carries
the request id of the request (or task) that enqueued it, in its message headers, so that its
log lines can be found by the request's id.
"""

from __future__ import annotations

import logging
import os

from celery import Celery
from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun

from .logs import REQUEST_ID_TASK_HEADER, request_id

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

app = Celery("console")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Packages inside an app are not discovered by the line above.
app.autodiscover_tasks(["console.webhooks", "campaigns.results"])


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
