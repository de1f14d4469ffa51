"""Periodic work of the rewards app (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from rewards.api.idempotency import idempotency_purge


@shared_task
def purge_idempotency_records() -> int:
    """Drop Idempotency-Key records past their 24-hour retention; safe to run twice."""
    return idempotency_purge()
