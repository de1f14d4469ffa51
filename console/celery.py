"""The Celery application. Settings come from Django's (CELERY_* names)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

app = Celery("console")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Packages inside an app are not discovered by the line above.
app.autodiscover_tasks(["console.webhooks", "campaigns.results"])
