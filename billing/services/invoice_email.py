"""The email of an issued invoice or credit note, its PDF attached (SPEC §9: "emailed to the
billing owner on issue").

Sent by the `billing.tasks.email_invoice` task after the issuing transaction commits. The send
is claimed first with a conditional UPDATE (`emailed_at IS NULL` and no live lease on
`email_claimed_at`) and stamped `emailed_at` once sent, so the task run twice, or by two workers
at once, mails once. When the mail server refuses, the claim is given back and the error
raised, so the task's retry sends it. When a worker dies between claim and send, or the broker
was down at issue, the beat sweep (`invoices_pending_email`) finds the invoice still unsent
after the lease and enqueues it again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from console.activity import activity_record
from console.models import Account, Membership
from console.money import format_money

from ..models import Invoice
from ..pdf import (
    document_title,
    invoice_pdf,
    invoice_pdf_filename,
    payment_status,
    period_display,
)

logger = logging.getLogger(__name__)

# How long a claimed email may stay unsent before another worker may send it.
EMAIL_LEASE = timedelta(minutes=10)
# An invoice whose email never went out is retried by the sweep for this long after issue.
EMAIL_GIVE_UP_AFTER = timedelta(days=7)


def invoice_recipients(account: Account) -> list[str]:
    """Who receives the account's invoices: its billing owner (the admin who set the payment
    method). An account without one (invoice terms set by finance before any card) has its
    admins instead, so an invoice never goes unsent for want of a card."""
    owner = account.billing_owner
    if owner is not None and owner.email:
        return [owner.email]
    return list(
        Membership.objects.filter(account=account, role=Membership.Role.ADMIN)
        .exclude(user__email="")
        .order_by("pk")
        .values_list("user__email", flat=True)
    )


def invoice_email_message(invoice: Invoice, recipients: list[str]) -> EmailMultiAlternatives:
    """The message: a short text and HTML body, the PDF attached under the invoice's number."""
    title = document_title(invoice)
    total = format_money(invoice.total, invoice.currency, places=2)
    context = {
        "invoice": invoice,
        "is_credit_note": invoice.kind == Invoice.Kind.CREDIT_NOTE,
        "period": period_display(invoice.period),
        "total": total,
        "status": payment_status(invoice, timezone.localdate()),
        "filename": invoice_pdf_filename(invoice),
        "link": f"{settings.SITE_URL}{reverse('billing:overview')}",
        "seller": settings.INVOICE_SELLER_NAME,
    }
    subject = f"{title} {invoice.number} for {period_display(invoice.period)}: {total}"
    message = EmailMultiAlternatives(
        subject,
        render_to_string("billing/email/invoice.txt", context),
        None,
        recipients,
        reply_to=[settings.INVOICE_SELLER_EMAIL],
    )
    message.attach_alternative(render_to_string("billing/email/invoice.html", context), "text/html")
    message.attach(invoice_pdf_filename(invoice), invoice_pdf(invoice), "application/pdf")
    return message


def _unsent(now: datetime):
    """Invoices not yet emailed and not claimed by a worker within the lease."""
    return Invoice.objects.filter(emailed_at__isnull=True).filter(
        Q(email_claimed_at__isnull=True) | Q(email_claimed_at__lt=now - EMAIL_LEASE)
    )


def invoice_email_send(*, invoice_pk: int) -> bool:
    """Email invoice `invoice_pk` (PDF attached) to its account's billing owner, once.

    Returns True when this call sent it; False when it was already sent (or is being sent by
    another worker), or when the account has nobody to send it to (logged).
    """
    invoice = (
        Invoice.objects.select_related("account__billing_owner", "corrects")
        .filter(pk=invoice_pk)
        .first()
    )
    if invoice is None or invoice.emailed_at is not None:
        return False
    recipients = invoice_recipients(invoice.account)
    if not recipients:
        logger.warning(
            "Invoice %s not emailed: account %s has no billing owner or admin with an email.",
            invoice.number,
            invoice.account_id,
        )
        return False
    claimed_at = timezone.now()
    # The claim: of two runs, only the one whose UPDATE matched the row sends.
    if not _unsent(claimed_at).filter(pk=invoice_pk).update(email_claimed_at=claimed_at):
        return False
    try:
        invoice_email_message(invoice, recipients).send()
    except Exception:
        # Give the claim back so the task's retry (or the sweep) sends it.
        Invoice.objects.filter(pk=invoice_pk, email_claimed_at=claimed_at).update(
            email_claimed_at=None
        )
        raise
    Invoice.objects.filter(pk=invoice_pk).update(emailed_at=timezone.now())
    return True


def invoices_pending_email(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Invoices whose email never went out (the broker was down at issue, or a worker died
    after claiming): issued more than a lease ago, less than EMAIL_GIVE_UP_AFTER ago, unsent
    and unclaimed within the lease. The beat sweep enqueues their emails again."""
    now = now or timezone.now()
    return list(
        _unsent(now)
        .filter(issued_at__lt=now - EMAIL_LEASE, issued_at__gte=now - EMAIL_GIVE_UP_AFTER)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def invoice_email_resend(*, actor, invoice: Invoice) -> list[str]:
    """Finance emails an invoice's PDF again (the "Email PDF" button), now, to the account's
    invoice recipients: a copy asked for on the phone, or a first send that failed. Not the
    once-only issue email: that one's stamp (emailed_at) is left as it is. Returns the
    recipients; refused (ValidationError) when the account has nobody to send it to. A mail
    server that refuses raises, and nothing is recorded."""
    invoice = Invoice.objects.select_related("account__billing_owner", "corrects").get(
        pk=invoice.pk
    )
    recipients = invoice_recipients(invoice.account)
    if not recipients:
        raise ValidationError(
            f"{invoice.number} cannot be emailed: its account has no billing owner or admin "
            "with an email address."
        )
    invoice_email_message(invoice, recipients).send()
    activity_record(
        actor=actor,
        account=invoice.account_id,
        action="invoice.emailed",
        target=invoice,
        data={"recipients": len(recipients)},
        history=f"PDF emailed again to {', '.join(recipients)}.",
    )
    return recipients
