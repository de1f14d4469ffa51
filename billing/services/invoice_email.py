"""The email of an issued invoice or credit note, its PDF attached (SPEC §9: "emailed to the
billing owner on issue").

Sent by the `billing.tasks.email_invoice` task after the issuing transaction commits. The send
is claimed first with a conditional UPDATE of `Invoice.emailed_at` (`emailed_at IS NULL`), so
the task run twice, or by two workers at once, mails once. When the mail server refuses, the
claim is given back and the error raised, so the task's retry sends it.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from console.models import Account, Membership

from ..models import Invoice
from ..pdf import (
    document_title,
    invoice_pdf,
    invoice_pdf_filename,
    money_display,
    payment_status,
    period_display,
)

logger = logging.getLogger(__name__)


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
    total = money_display(invoice.total, invoice.currency)
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
    if not Invoice.objects.filter(pk=invoice_pk, emailed_at__isnull=True).update(
        emailed_at=claimed_at
    ):
        return False
    try:
        invoice_email_message(invoice, recipients).send()
    except Exception:
        # Give the claim back so the task's retry sends it.
        Invoice.objects.filter(pk=invoice_pk, emailed_at=claimed_at).update(emailed_at=None)
        raise
    return True
