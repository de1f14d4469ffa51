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


@shared_task(autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def email_alerts(budget_alert_pks: list[int], cap_alert_pks: list[int]) -> int:
    """Email the account admins about these budget and monthly-limit alerts (each once)."""
    from .services.alerts import alerts_email

    return alerts_email(budget_alert_pks=budget_alert_pks, cap_alert_pks=cap_alert_pks)


@shared_task
def sweep_budget_alerts() -> int:
    """Every minute (CELERY_BEAT_SCHEDULE): claim the budget and monthly-limit thresholds
    reached since the last sweep (their events and emails go with the claim), and re-enqueue
    any alert email that was never sent."""
    from .services.alerts import alerts_pending_email, alerts_sweep

    claimed = alerts_sweep()
    if claimed.budget or claimed.cap:
        logger.info("Budget alerts: %d campaign, %d account", len(claimed.budget), len(claimed.cap))
    budget_stale, cap_stale = alerts_pending_email()
    if budget_stale or cap_stale:
        email_alerts.delay(budget_stale, cap_stale)
    return len(claimed.budget) + len(claimed.cap)


@shared_task
def roll_up_campaign_days() -> int:
    """Every 5 minutes (CELERY_BEAT_SCHEDULE): add each campaign's new charges, claims and
    expiries to its CampaignDay rows, and seal the days that closed. Safe to run twice or
    concurrently (the watermark's conditional UPDATE decides)."""
    from .services.results import campaigns_days_roll_up

    return campaigns_days_roll_up()
