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
