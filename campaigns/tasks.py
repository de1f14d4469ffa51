"""Celery tasks of the campaign lifecycle. Thin: they call services, and are safe to run twice
or concurrently (the sweep's conditional UPDATEs and the notification claim decide)."""

from __future__ import annotations

import logging

from celery import shared_task

from .services.lifecycle import campaigns_sweep
from .services.notifications import transitions_notify, transitions_pending_notification

logger = logging.getLogger(__name__)


@shared_task(autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def notify_transitions(transition_pks: list[int]) -> int:
    """Email the accounts about these transitions (each once)."""
    return transitions_notify(transition_pks=transition_pks)


@shared_task
def sweep_campaigns() -> int:
    """Every minute (CELERY_BEAT_SCHEDULE): move due campaigns live or finished, and
    re-enqueue any transition email that was never sent."""
    moves = campaigns_sweep()
    if moves:
        logger.info("Lifecycle sweep moved %d campaign(s)", len(moves))
    stale = transitions_pending_notification()
    if stale:
        notify_transitions.delay(stale)
    return len(moves)
