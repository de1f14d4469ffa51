"""Periodic work of the rewards app (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from console.retention import activity_archive, webhook_deliveries_purge, webhook_events_purge
from console.services import api_keys_idle_warn
from rewards.api.idempotency import idempotency_purge
from rewards.redemption.retention import claim_addresses_erase
from rewards.redemption.services import grants_expire


@shared_task
def sweep_retention() -> dict[str, int]:
    """The retention sweep (README, "Retention"), each part in batches; safe to run twice or
    concurrently. Throttle counters are not here: they live in Redis (or the embedded mode's
    file cache) with an expiry, and go by themselves. Returns what each part removed."""
    return {
        "idempotency_records": idempotency_purge(),
        "webhook_deliveries": webhook_deliveries_purge(),
        # After the deliveries: the events they leave behind.
        "webhook_events": webhook_events_purge(),
        "claim_addresses": claim_addresses_erase(),
        "activity_archived": activity_archive(),
    }


@shared_task
def purge_idempotency_records() -> int:
    """Drop Idempotency-Key records past their 24-hour retention; safe to run twice. Part of
    sweep_retention now; kept so that messages queued before an upgrade still run."""
    return idempotency_purge()


@shared_task
def expire_grants() -> int:
    """Stamp unclaimed grants past their expiry (in batches); safe to run twice."""
    return grants_expire()


@shared_task
def warn_idle_api_keys() -> int:
    """Tell admins about API keys unused for API_KEY_IDLE_DAYS (issue 22); safe to run twice."""
    return api_keys_idle_warn()
