"""Periodic work of the rewards app (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from rewards.api.idempotency import idempotency_purge
from rewards.redemption.services import grants_expire


@shared_task
def purge_idempotency_records() -> int:
    """Drop Idempotency-Key records past their 24-hour retention; safe to run twice."""
    return idempotency_purge()


@shared_task
def expire_grants() -> int:
    """Stamp unclaimed grants past their expiry (in batches); safe to run twice."""
    return grants_expire()
