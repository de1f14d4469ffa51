"""Billing's Celery tasks: the monthly invoice run (beat, the 1st of each month) and the email
of an issued invoice. Thin: they call services."""

from __future__ import annotations

import importlib

from celery import shared_task


@shared_task
def issue_invoices() -> int:
    """Issue every account's invoice for the previous month; safe to run twice or on two
    workers at once (the service's unique (account, period) and row locks decide)."""
    from billing.services.invoices import invoices_issue_previous_month

    return len(invoices_issue_previous_month())


@shared_task
def email_invoice(invoice_pk: int) -> None:
    """Email an issued invoice (PDF attached) to the account's billing owner."""
    # The sending service lives in billing.services.invoice_email (the PDF/email part);
    # until it is there, issuing an invoice must not fail on its email.
    try:
        module = importlib.import_module("billing.services.invoice_email")
    except ModuleNotFoundError:
        return
    module.invoice_email_send(invoice_pk=invoice_pk)
