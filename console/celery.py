"""The Celery application. Settings come from Django's (CELERY_* names)."""

from __future__ import annotations

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

app = Celery("console")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Packages inside an app are not discovered by the line above.
app.autodiscover_tasks(["console.webhooks", "campaigns.results"])


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
