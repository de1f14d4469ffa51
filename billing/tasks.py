"""Billing's Celery tasks: the monthly invoice run (beat, the 1st of each month) and the email
of an issued invoice. Thin: they call services."""

from __future__ import annotations

import smtplib

from celery import shared_task


@shared_task
def issue_invoices() -> int:
    """Issue every account's invoice for the previous month; safe to run twice or on two
    workers at once (the service's unique (account, period) and row locks decide)."""
    from billing.services.invoices import invoices_issue_previous_month

    return len(invoices_issue_previous_month())


# A refused or unreachable mail server is retried a few times, a minute or more apart; the
# service gave its claim back, so a retry sends (and a duplicate run still mails once).
@shared_task(
    autoretry_for=(OSError, smtplib.SMTPException),
    retry_backoff=60,
    retry_backoff_max=900,
    max_retries=5,
)
def email_invoice(invoice_pk: int) -> bool:
    """Email an issued invoice or credit note (PDF attached) to the account's billing owner,
    once however often it runs."""
    from billing.services.invoice_email import invoice_email_send

    return invoice_email_send(invoice_pk=invoice_pk)


@shared_task
def email_unsent_invoices() -> int:
    """Every 15 minutes (CELERY_BEAT_SCHEDULE): enqueue again the emails of invoices that were
    never sent (each is still sent once: the claim decides)."""
    from billing.services.invoice_email import invoices_pending_email

    pending = invoices_pending_email()
    for invoice_pk in pending:
        email_invoice.delay(invoice_pk)
    return len(pending)


@shared_task
def sweep_dunning() -> dict:
    """Every 10 minutes (CELERY_BEAT_SCHEDULE): retry failed card payments that are due (or
    whose account has a new card), pause the live campaigns of accounts overdue past
    DUNNING_SUSPEND_DAYS, resume them once paid. Safe to run twice or concurrently (each step
    is claimed)."""
    from billing.services.dunning import dunning_sweep

    return dunning_sweep().__dict__


@shared_task
def build_monthend_pack(pack_pk: int) -> bool:
    """Build a month-end pack's ZIP (queued by finance on the month-end page); a second run
    finds it claimed and does nothing."""
    from billing.services.monthend import monthend_build

    return monthend_build(pack_pk=pack_pk) is not None
