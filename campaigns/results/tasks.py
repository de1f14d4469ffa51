"""Celery tasks of results and budget alerts. Thin: they call services, and are safe to run
twice or concurrently. Their names stay those they had in campaigns/tasks.py (the beat schedule
and messages already queued use them)."""

from __future__ import annotations

import logging

from celery import shared_task

from .alerts import alerts_email, alerts_pending_email, alerts_sweep
from .rollup import campaigns_days_roll_up

logger = logging.getLogger(__name__)


@shared_task(
    name="campaigns.tasks.email_alerts", autoretry_for=(OSError,), retry_backoff=30, max_retries=5
)
def email_alerts(budget_alert_pks: list[int], cap_alert_pks: list[int]) -> int:
    """Email the account admins about these budget and monthly-limit alerts (each once)."""
    return alerts_email(budget_alert_pks=budget_alert_pks, cap_alert_pks=cap_alert_pks)


@shared_task(name="campaigns.tasks.sweep_budget_alerts")
def sweep_budget_alerts() -> int:
    """Every minute (CELERY_BEAT_SCHEDULE): claim the budget and monthly-limit thresholds
    reached since the last sweep (their events and emails go with the claim), and re-enqueue
    any alert email that was never sent."""
    claimed = alerts_sweep()
    if claimed.budget or claimed.cap:
        logger.info("Budget alerts: %d campaign, %d account", len(claimed.budget), len(claimed.cap))
    budget_stale, cap_stale = alerts_pending_email()
    if budget_stale or cap_stale:
        email_alerts.delay(budget_stale, cap_stale)
    return len(claimed.budget) + len(claimed.cap)


@shared_task(name="campaigns.tasks.roll_up_campaign_days")
def roll_up_campaign_days() -> int:
    """Every 5 minutes (CELERY_BEAT_SCHEDULE): add each campaign's new charges, claims and
    expiries to its CampaignDay rows, and seal the days that closed. Safe to run twice or
    concurrently (the watermark's conditional UPDATE decides)."""
    return campaigns_days_roll_up()
