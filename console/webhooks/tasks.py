"""Celery tasks of webhook delivery. Thin: they call services, and are safe to run twice or
concurrently (a delivery is sent only by the holder of its claim)."""

from __future__ import annotations

import logging
import uuid

from celery import shared_task

from .services import webhook_deliveries_sweep, webhook_delivery_send

logger = logging.getLogger(__name__)


@shared_task
def send_webhook_delivery(token: str) -> bool:
    """Make the attempt claimed with this token (nothing if the claim is gone)."""
    return webhook_delivery_send(token=uuid.UUID(token)) is not None


@shared_task
def sweep_webhook_deliveries() -> int:
    """Every few seconds (CELERY_BEAT_SCHEDULE): claim due attempts and send each in its own
    task, so one slow endpoint does not hold up the others."""
    tokens = webhook_deliveries_sweep()
    for token in tokens:
        # A claim whose task is lost (broker trouble) expires and the next sweep retakes it.
        send_webhook_delivery.delay(str(token))
    if tokens:
        logger.info("Webhook sweep claimed %d due attempt(s)", len(tokens))
    return len(tokens)
