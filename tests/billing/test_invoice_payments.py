"""Partial payments (issue 20, item 4): finance records a payment's amount, date and
reference; an invoice paid in part stays open, "Partially paid", with its balance due; the
payments are append-only Payment rows whose sum is the invoice's `amount_paid`, which never goes
above the total, even with two payments recorded at once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.db import DatabaseError, IntegrityError, connection, transaction

from billing.models import Invoice, Payment
from billing.services.invoices import (
    InvoiceRefused,
    credit_note_issue,
    invoice_balance_due,
    invoice_mark_paid,
    invoice_payment_record,
    invoices_issue_month,
)
from console.models import ActivityEntry
from tests.rewards.redemption_helpers import at_once

from .invoice_helpers import OCTOBER, account_with_campaigns, at, charge


def _open_invoice(total_charges: int = 4) -> Invoice:
    """Initech's October invoice on invoice terms: open, $30.00, due 1 December."""
    _, (tetra,) = account_with_campaigns("Initech", "Tetra", terms="invoice", card=False)
    charge(tetra, "7.5000", at(2026, 10, 15), times=total_charges)
    with time_machine.travel(at(2026, 11, 1, 2, 0), tick=False):
        (invoice,) = invoices_issue_month(month=OCTOBER)
    assert (invoice.status, invoice.total) == ("open", Decimal("30.00"))
    return invoice


def _pay(finance, invoice, amount, reference="BANK-1", paid_on=date(2026, 11, 10)):
    with time_machine.travel(at(2026, 11, 12), tick=False):
        return invoice_payment_record(
            actor=finance, invoice=invoice, amount=amount, paid_on=paid_on, reference=reference
        )


@pytest.mark.django_db
def test_a_partial_payment_leaves_the_invoice_partially_paid_with_its_balance_due(finance):
    invoice = _open_invoice()

    payment = _pay(finance, invoice, Decimal("12.5"))

    invoice.refresh_from_db()
    assert (payment.amount, payment.reference, payment.recorded_by) == (
        Decimal("12.50"),
        "BANK-1",
        finance,
    )
    assert (invoice.status, invoice.amount_paid) == ("open", Decimal("12.50"))
    assert invoice_balance_due(invoice=invoice) == Decimal("17.50")
    with time_machine.travel(at(2026, 11, 12), tick=False):
        assert invoice.status_label == "Partially paid"
    with time_machine.travel(at(2026, 12, 2), tick=False):
        assert invoice.status_label == "Overdue"  # still owed after its due date
    entry = ActivityEntry.objects.get(action="invoice.payment_recorded")
    assert entry.data["amount"] == "12.50" and entry.data["balance_due"] == "17.50"


@pytest.mark.django_db
def test_the_payment_of_the_balance_marks_it_paid_with_that_payments_date_and_reference(finance):
    invoice = _open_invoice()
    _pay(finance, invoice, Decimal("10"), reference="BANK-1", paid_on=date(2026, 11, 5))

    _pay(finance, invoice, Decimal("20"), reference="BANK-2", paid_on=date(2026, 11, 11))

    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_on, invoice.paid_reference, invoice.amount_paid) == (
        "paid",
        date(2026, 11, 11),
        "BANK-2",
        Decimal("30.00"),
    )
    assert invoice.status_label == "Paid"
    assert sum(p.amount for p in Payment.objects.filter(invoice=invoice)) == invoice.amount_paid
    with pytest.raises(InvoiceRefused, match="is paid, not open"):
        _pay(finance, invoice, Decimal("1"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (Decimal("30.01"), r"At most \$30.00 is due on MC-2026-000001"),
        (Decimal("0"), "must be more than"),
        (Decimal("-5"), "must be more than"),
    ],
)
def test_a_payment_of_more_than_is_due_or_not_positive_is_refused(finance, amount, message):
    invoice = _open_invoice()

    with pytest.raises(InvoiceRefused, match=message):
        _pay(finance, invoice, amount)

    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("open", Decimal("0.00"))
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_credit_notes_lower_what_is_due(finance):
    invoice = _open_invoice()
    with time_machine.travel(at(2026, 11, 3), tick=False):
        credit_note_issue(actor=finance, invoice=invoice, reason="Test traffic", amount=10)

    with pytest.raises(InvoiceRefused, match=r"At most \$20.00 is due"):
        _pay(finance, invoice, Decimal("25"))
    with time_machine.travel(at(2026, 11, 12), tick=False):
        paid = invoice_mark_paid(
            actor=finance, invoice=invoice, paid_on=date(2026, 11, 10), reference="BANK-9"
        )

    assert (paid.status, paid.amount_paid) == ("paid", Decimal("20.00"))


@pytest.mark.django_db
def test_the_database_refuses_more_paid_than_the_total(finance):
    invoice = _open_invoice()

    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(amount_paid=Decimal("30.01"))


@pytest.mark.django_db(transaction=True)
def test_postgres_keeps_payments_as_recorded_and_amount_paid_only_grows(postgres, finance):
    invoice = _open_invoice()
    payment = _pay(finance, invoice, Decimal("10"))

    for statement, match in [
        ("UPDATE billing_payment SET amount = 1 WHERE id = %s", "kept as recorded"),
        ("DELETE FROM billing_payment WHERE id = %s", "kept as recorded"),
    ]:
        with pytest.raises(DatabaseError, match=match), transaction.atomic():
            connection.cursor().execute(statement, [payment.pk])
    with pytest.raises(DatabaseError, match="never taken back"), transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(amount_paid=Decimal("0"))
    assert Invoice.objects.get(pk=invoice.pk).amount_paid == Decimal("10.00")


@pytest.mark.django_db(transaction=True)
def test_payments_recorded_at_once_never_pay_more_than_is_due(postgres, finance):
    invoice = _open_invoice()

    # Eight clerks record $7.00 at the same moment on a $30.00 invoice: four fit.
    with time_machine.travel(at(2026, 11, 12), tick=True):
        results = at_once([lambda: _try_pay(finance, invoice, Decimal("7"))] * 8)

    invoice.refresh_from_db()
    assert sorted(type(r).__name__ for r in results).count("Payment") == 4
    assert all(isinstance(r, (Payment, InvoiceRefused)) for r in results)
    assert (invoice.status, invoice.amount_paid) == ("open", Decimal("28.00"))
    assert Payment.objects.filter(invoice=invoice).count() == 4


@pytest.mark.django_db(transaction=True)
def test_two_payments_of_the_whole_balance_at_once_pay_it_once(postgres, finance):
    invoice = _open_invoice()

    with time_machine.travel(at(2026, 11, 12), tick=True):
        results = at_once([lambda: _try_pay(finance, invoice, None)] * 2)

    assert sorted(type(r).__name__ for r in results) == ["InvoiceRefused", "Payment"]
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("paid", Decimal("30.00"))
    assert Payment.objects.get(invoice=invoice).amount == Decimal("30.00")


def _try_pay(finance, invoice, amount):
    try:
        return invoice_payment_record(
            actor=finance,
            invoice=invoice,
            amount=amount,
            paid_on=date(2026, 11, 10),
            reference="BANK-X",
        )
    except InvoiceRefused as exc:
        return exc


@pytest.mark.django_db
def test_the_pdf_says_what_was_received_and_when_the_rest_is_due(finance):
    from billing.pdf import payment_status

    invoice = _open_invoice()
    _pay(finance, invoice, Decimal("12.5"))
    invoice.refresh_from_db()

    assert payment_status(invoice, today=date(2026, 11, 20)) == (
        "$12.50 received; the rest is due by 1 December 2026."
    )
    assert payment_status(invoice, today=date(2026, 12, 2)).startswith(
        "$12.50 received; the rest is overdue since 1 December 2026"
    )


@pytest.mark.django_db
def test_a_credit_note_for_the_rest_of_a_partly_paid_invoice_settles_it(finance):
    invoice = _open_invoice()
    _pay(finance, invoice, Decimal("20"))

    with time_machine.travel(at(2026, 11, 14), tick=False):
        note = credit_note_issue(actor=finance, invoice=invoice, reason="Goodwill", amount=10)

    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_on, invoice.paid_reference) == (
        "paid",
        date(2026, 11, 14),
        f"Settled by credit note {note.number}",
    )
    assert invoice_balance_due(invoice=invoice) == Decimal("0.00")


@pytest.mark.django_db
def test_the_developers_billing_page_shows_a_partly_paid_invoice_and_an_applied_credit(
    client, finance
):
    invoice = _open_invoice()
    _pay(finance, invoice, Decimal("12.5"))
    with time_machine.travel(at(2026, 11, 14), tick=False):
        note = credit_note_issue(actor=finance, invoice=invoice, reason="Goodwill", amount=1)
    client.force_login(invoice.account.memberships.get().user)

    with time_machine.travel(at(2026, 11, 20), tick=False):
        page = client.get("/billing/").content.decode()

    row = page.split(f'id="invoice-{invoice.number}"')[1].split("</tr>")[0]
    assert "Partially paid" in row and "$12.50 received" in row
    note_row = page.split(f'id="invoice-{note.number}"')[1].split("</tr>")[0]
    assert "Applied" in note_row and ">Paid<" not in note_row
