"""The invoice email (SPEC §9): the PDF goes to the billing owner on issue, once."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import DatabaseError, transaction
from django.utils import timezone
from pypdf import PdfReader

from billing.models import Invoice, InvoiceLine
from billing.services.invoice_email import (
    EMAIL_LEASE,
    invoice_email_send,
    invoices_pending_email,
)
from billing.services.invoices import credit_note_issue, invoices_issue_month
from billing.tasks import email_invoice, email_unsent_invoices

from .invoice_helpers import OCTOBER, account_with_campaigns, at, charge

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(acme, alice, bob):
    # alice set the card, so she is the billing owner; bob is a plain member.
    acme.billing_owner = alice
    acme.save(update_fields=["billing_owner"])
    invoice = Invoice.objects.create(
        number="MC-2026-000007",
        account=acme,
        period=date(2026, 10, 1),
        issue_date=date(2026, 11, 1),
        status=Invoice.Status.PAID,
        payment_terms=Invoice.PaymentTerms.CARD,
        paid_by="Visa •••• 4242",
        paid_on=date(2026, 11, 1),
        buyer_company="Acme Games",
        buyer_address="1 Main Street\nSeattle, WA 98101",
        buyer_country="US",
        subtotal=Decimal("1500.00"),
        total=Decimal("1500.00"),
    )
    InvoiceLine.objects.create(
        invoice=invoice,
        description="Space Miner: level 10 complete",
        actions=3000,
        unit_cpa=Decimal("0.5000"),
        amount=Decimal("1500.00"),
    )
    return invoice


def _pdf_text(message) -> tuple[str, str]:
    [(filename, content, mimetype)] = message.attachments
    assert mimetype == "application/pdf"
    return filename, " ".join(PdfReader(io.BytesIO(content)).pages[0].extract_text().split())


def test_the_billing_owner_receives_the_invoice_with_its_pdf_attached(invoice):
    email_invoice.delay(invoice.pk)

    [message] = mail.outbox
    assert message.to == ["alice@acme.test"]
    assert message.subject == "Invoice MC-2026-000007 for October 2026: $1,500.00"
    assert "Paid by Visa •••• 4242 on 1 November 2026" in message.body
    filename, text = _pdf_text(message)
    assert filename == "MC-2026-000007.pdf"
    assert "MC-2026-000007" in text and "$1,500.00" in text
    invoice.refresh_from_db()
    assert invoice.emailed_at is not None


def test_issuing_the_months_invoices_emails_each_billing_owner_one_pdf(
    django_capture_on_commit_callbacks,
):
    _, (miner,) = account_with_campaigns("Acme Games", "Space Miner")
    _, (quest,) = account_with_campaigns("Globex", "Quest")
    charge(miner, "0.5000", at(2026, 10, 3), times=3)
    charge(quest, "1.2500", at(2026, 10, 20), times=2)

    with django_capture_on_commit_callbacks(execute=True):
        issued = invoices_issue_month(month=OCTOBER, now=at(2026, 11, 1, 2))
    # The run again, and the tasks again: nothing more is sent.
    with django_capture_on_commit_callbacks(execute=True):
        assert invoices_issue_month(month=OCTOBER, now=at(2026, 11, 1, 3)) == []
    for invoice in issued:
        email_invoice.delay(invoice.pk)

    sent = {message.to[0]: message for message in mail.outbox}
    assert len(mail.outbox) == 2
    assert set(sent) == {"owner@acmegames.test", "owner@globex.test"}
    acme_invoice = next(i for i in issued if i.buyer_company == "Acme Games")
    message = sent["owner@acmegames.test"]
    assert message.subject == f"Invoice {acme_invoice.number} for October 2026: $1.50"
    filename, text = _pdf_text(message)
    assert filename == f"{acme_invoice.number}.pdf"
    assert "Space Miner" in text and "Total (USD) $1.50" in text
    assert "Paid by Visa •••• 4242 on 1 November 2026" in text


def test_a_credit_note_is_emailed_when_finance_issues_it(
    django_capture_on_commit_callbacks, finance
):
    _, (miner,) = account_with_campaigns("Acme Games", "Space Miner")
    charge(miner, "0.5000", at(2026, 10, 3), times=4)
    with django_capture_on_commit_callbacks(execute=True):
        [invoice] = invoices_issue_month(month=OCTOBER, now=at(2026, 11, 1, 2))

    with django_capture_on_commit_callbacks(execute=True):
        note = credit_note_issue(actor=finance, invoice=invoice, reason="Test traffic.")

    assert [m.subject for m in mail.outbox] == [
        f"Invoice {invoice.number} for October 2026: $2.00",
        f"Credit note {note.number} for October 2026: -$2.00",
    ]


def test_running_the_task_twice_sends_the_email_once(invoice):
    email_invoice.delay(invoice.pk)
    email_invoice.delay(invoice.pk)
    assert invoice_email_send(invoice_pk=invoice.pk) is False

    assert len(mail.outbox) == 1


def test_a_refused_send_gives_the_claim_back_so_the_retry_sends_it(invoice, monkeypatch):
    real_send = EmailMultiAlternatives.send
    calls = []

    def send_once_refused(self, *args, **kwargs):
        calls.append(self.subject)
        if len(calls) == 1:
            raise ConnectionRefusedError("mail server down")
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", send_once_refused)

    with pytest.raises(ConnectionRefusedError):
        invoice_email_send(invoice_pk=invoice.pk)
    invoice.refresh_from_db()
    assert invoice.emailed_at is None and invoice.email_claimed_at is None
    assert mail.outbox == []

    assert invoice_email_send(invoice_pk=invoice.pk) is True
    assert len(mail.outbox) == 1


def test_an_email_claimed_by_a_worker_that_died_is_sent_by_the_sweep_after_the_lease(invoice):
    issued = invoice.issued_at
    # A worker claimed the send at issue and died before sending.
    Invoice.objects.filter(pk=invoice.pk).update(email_claimed_at=issued)

    assert invoice_email_send(invoice_pk=invoice.pk) is False  # the lease still holds
    assert invoices_pending_email(now=issued + EMAIL_LEASE / 2) == []
    assert invoices_pending_email(now=issued + EMAIL_LEASE * 2) == [invoice.pk]

    with time_machine.travel(issued + EMAIL_LEASE * 2):
        assert email_unsent_invoices.delay().get() == 1
        assert email_unsent_invoices.delay().get() == 0  # sent: nothing left to sweep
    assert [m.to for m in mail.outbox] == [["alice@acme.test"]]


def test_the_sweep_gives_up_on_invoices_issued_more_than_a_week_ago(invoice):
    assert invoices_pending_email(now=invoice.issued_at + timedelta(days=8)) == []
    assert invoices_pending_email(now=invoice.issued_at + timedelta(days=6)) == [invoice.pk]


def test_an_account_without_a_billing_owner_has_its_invoice_sent_to_its_admins(invoice, acme):
    acme.billing_owner = None
    acme.save(update_fields=["billing_owner"])

    assert invoice_email_send(invoice_pk=invoice.pk) is True

    [message] = mail.outbox
    assert message.to == ["alice@acme.test"]  # the admin; bob is a member


def test_a_credit_note_email_names_the_invoice_it_corrects(invoice):
    note = Invoice.objects.create(
        number="MC-2026-000008",
        kind=Invoice.Kind.CREDIT_NOTE,
        corrects=invoice,
        account=invoice.account,
        period=invoice.period,
        issue_date=date(2026, 11, 9),
        buyer_company="Acme Games",
        reason="Outage on 14 October.",
        subtotal=Decimal("-100.00"),
        total=Decimal("-100.00"),
    )

    invoice_email_send(invoice_pk=note.pk)

    [message] = mail.outbox
    assert message.subject == "Credit note MC-2026-000008 for October 2026: -$100.00"
    assert "corrects invoice MC-2026-000007" in message.body
    assert "Reason: Outage on 14 October." in message.body
    _, text = _pdf_text(message)
    assert "CREDIT NOTE" in text and "Corrects invoice MC-2026-000007" in text


def test_on_postgresql_the_email_stamp_may_move_but_the_issued_invoice_may_not(invoice, postgres):
    now = timezone.now()
    assert Invoice.objects.filter(pk=invoice.pk).update(email_claimed_at=now, emailed_at=now) == 1

    with pytest.raises(DatabaseError, match="never edited"), transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(total=Decimal("1.00"))
    invoice.refresh_from_db()
    assert invoice.total == Decimal("1500.00")
