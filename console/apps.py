from __future__ import annotations

from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


def make_var_dirs() -> None:
    """Make the folders that this configuration writes into and that nothing else makes: the
    SQLite file's, the embedded (filesystem) broker's and beat's schedule file's. Every process
    (web, worker, beat, manage.py) starts Django, so a fresh clone runs without a setup step;
    importing the settings makes nothing."""
    folders = [Path(settings.CELERY_BEAT_SCHEDULE_FILENAME).parent]
    database = settings.DATABASES["default"]
    name = str(database.get("NAME") or "")
    if database["ENGINE"].endswith("sqlite3") and name and not name.startswith((":", "file:")):
        folders.append(Path(name).parent)
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    if settings.CELERY_BROKER_URL.startswith("filesystem"):
        # kombu's filesystem transport writes into these and never makes them.
        folders += [
            Path(options[key])
            for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")
            if options.get(key)
        ]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = "Developer accounts and apps"

    def ready(self) -> None:
        make_var_dirs()
        from .metrics import metrics_collector_register
        from .webhooks.selectors import webhook_oldest_pending_seconds

        metrics_collector_register(
            "moments_webhook_oldest_pending_seconds",
            "Seconds the most overdue pending webhook attempt has waited past its due time; "
            "0 when none is due.",
            webhook_oldest_pending_seconds,
        )
