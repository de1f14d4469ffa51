"""Issued invoices are sealed in the database (issue 17, billing/0007): each change below is
tried through SQL and through the ORM on invoices committed by the services, and refused by
PostgreSQL's triggers; the services' own moves still go through.

Transactional tests: the seal is about what a *later* transaction may do, so the invoices must
really be committed (in a plain test, everything runs inside one transaction, the issuing one).
Each refused statement runs in its own `transaction.atomic()`, which rolls it back."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from billing.models import Invoice, InvoiceLine
from billing.services.invoice_email import EMAIL_LEASE, invoice_email_send
from billing.services.invoices import (
    InvoiceRefused,
    credit_note_issue,
    invoice_mark_paid,
    invoices_issue_month,
)

from .invoice_helpers import NOVEMBER, OCTOBER, account_with_campaigns, at, charge

pytestmark = pytest.mark.django_db(transaction=True)

INJECT = (
    "INSERT INTO billing_invoiceline (invoice_id, description, actions, unit_cpa, amount, "
    "position) VALUES (%s, 'injected', 1, 1, 999.99, 99)"
)
COPY_LINES = (
    "INSERT INTO billing_invoiceline "
    "(invoice_id, campaign_id, description, actions, unit_cpa, amount, position) "
    "SELECT invoice_id, campaign_id, description, actions, unit_cpa, amount, position + 100 "
    "FROM billing_invoiceline WHERE invoice_id = %s"
)


def _issue_october() -> tuple[Invoice, Invoice]:
    """October's two invoices, committed by the monthly run: Acme pays by card (issued paid,
    $51.50), Initech is on invoice terms (issued open, $30.00)."""
    acme, (miner, racer) = account_with_campaigns("Acme Games", "Space Miner", "Road Racer")
    initech, (tetra,) = account_with_campaigns("Initech", "Tetra", terms="invoice", card=False)
    charge(miner, "25.0000", at(2026, 10, 3), times=2)
    charge(racer, "1.5000", at(2026, 10, 3))
    charge(tetra, "7.5000", at(2026, 10, 15), times=4)
    with time_machine.travel(at(2026, 11, 1, 2, 0), tick=False):
        card_paid, open_invoice = invoices_issue_month(month=OCTOBER)
    assert (card_paid.account, card_paid.status) == (acme, "paid")
    assert card_paid.total == Decimal("51.50")
    assert (open_invoice.account, open_invoice.status) == (initech, "open")
    return card_paid, open_invoice


def _sql(statement: str, *params):
    def run():
        with connection.cursor() as cursor:
            cursor.execute(statement, list(params))

    return run


def _refused(attempt, match: str) -> None:
    # The savepoint (here: the transaction) rolls the refused statement back.
    with pytest.raises(DatabaseError, match=match), transaction.atomic():
        attempt()


def _books(invoice: Invoice) -> list[tuple]:
    """The invoice's lines as stored, after checking that they add up to its total."""
    lines = list(
        InvoiceLine.objects.filter(invoice_id=invoice.pk)
        .order_by("pk")
        .values_list("pk", "description", "actions", "unit_cpa", "amount", "position")
    )
    total = Invoice.objects.values_list("total", flat=True).get(pk=invoice.pk)
    assert sum((line[4] for line in lines), Decimal("0.00")) == total
    return lines


def _line(invoice: Invoice, **fields) -> InvoiceLine:
    values = {
        "description": "injected",
        "actions": 1,
        "unit_cpa": Decimal("1"),
        "amount": Decimal("999.99"),
        "position": 99,
    } | fields
    return InvoiceLine(invoice=invoice, **values)


# What PostgreSQL refuses.


def test_a_line_cannot_be_added_to_an_issued_invoice_by_sql_or_by_the_orm(postgres):
    card_paid, open_invoice = _issue_october()
    for invoice in (card_paid, open_invoice):
        before = _books(invoice)
        sealed = rf"Invoice {invoice.number} is issued and sealed: a line cannot be added"
        for attempt in (
            _sql(INJECT, invoice.pk),
            _sql(COPY_LINES, invoice.pk),
            lambda invoice=invoice: InvoiceLine.objects.create(
                invoice=invoice, description="injected", unit_cpa=1, amount=Decimal("999.99")
            ),
            lambda invoice=invoice: InvoiceLine.objects.bulk_create([_line(invoice)]),
            lambda invoice=invoice: _line(invoice).save(),
        ):
            _refused(attempt, sealed)
        assert _books(invoice) == before


def test_a_line_cannot_be_added_to_an_issued_credit_note_by_sql_or_by_the_orm(postgres, finance):
    _, open_invoice = _issue_october()
    with time_machine.travel(at(2026, 11, 5), tick=False):
        note = credit_note_issue(
            actor=finance, invoice=open_invoice, reason="Goodwill", amount=Decimal("10")
        )
    before = _books(note)
    sealed = (
        rf"Credit note {note.number} is issued and sealed: .* to credit more of invoice "
        rf"{open_invoice.number}, issue another credit note"
    )
    for attempt in (
        _sql(INJECT, note.pk),
        _sql(COPY_LINES, note.pk),
        lambda: InvoiceLine.objects.create(
            invoice=note, description="injected", unit_cpa=0, amount=Decimal("-20.00")
        ),
        lambda: InvoiceLine.objects.bulk_create([_line(note, amount=Decimal("-20.00"))]),
    ):
        _refused(attempt, sealed)
    assert _books(note) == before
    assert Invoice.objects.get(pk=open_invoice.pk).status == "open"


def test_an_issued_invoices_lines_cannot_be_updated_or_deleted_by_sql_or_by_the_orm(postgres):
    card_paid, _ = _issue_october()
    before = _books(card_paid)
    line = InvoiceLine.objects.filter(invoice=card_paid).first()
    kept = rf"The lines of invoice {card_paid.number} are kept as issued: (UPDATE|DELETE)"
    for attempt in (
        _sql("UPDATE billing_invoiceline SET amount = 0 WHERE invoice_id = %s", card_paid.pk),
        _sql("UPDATE billing_invoiceline SET description = 'x' WHERE id = %s", line.pk),
        _sql("DELETE FROM billing_invoiceline WHERE id = %s", line.pk),
        lambda: InvoiceLine.objects.filter(invoice=card_paid).update(amount=Decimal("0")),
        lambda: InvoiceLine.objects.filter(pk=line.pk).delete(),
        lambda: InvoiceLine(
            pk=line.pk,
            invoice=card_paid,
            description="edited",
            unit_cpa=line.unit_cpa,
            amount=line.amount,
        ).save(),
        line.delete,
    ):
        _refused(attempt, kept)
    assert _books(card_paid) == before


def test_a_paid_invoice_never_goes_back_to_open_by_sql_or_by_the_orm(postgres, finance):
    card_paid, open_invoice = _issue_october()
    with time_machine.travel(at(2026, 11, 20), tick=False):
        marked = invoice_mark_paid(
            actor=finance, invoice=open_invoice, paid_on=date(2026, 11, 19), reference="BANK-1"
        )
    for invoice in (card_paid, marked):
        back = rf"Invoice {invoice.number} cannot go from paid to open: .* only moves forward"
        reopened = Invoice.objects.get(pk=invoice.pk)
        reopened.status = Invoice.Status.OPEN
        for attempt in (
            _sql("UPDATE billing_invoice SET status = 'open' WHERE id = %s", invoice.pk),
            _sql(
                "UPDATE billing_invoice SET status = 'open', paid_on = NULL, "
                "paid_reference = '', paid_by = '' WHERE id = %s",
                invoice.pk,
            ),
            lambda invoice=invoice: Invoice.objects.filter(pk=invoice.pk).update(
                status=Invoice.Status.OPEN
            ),
            reopened.save,
        ):
            _refused(attempt, back)
        assert Invoice.objects.get(pk=invoice.pk).status == "paid"


def test_a_paid_invoice_cannot_be_made_void(postgres, finance):
    card_paid, _ = _issue_october()
    void = rf"Invoice {card_paid.number} cannot go from paid to void"
    _refused(_sql("UPDATE billing_invoice SET status = 'void' WHERE id = %s", card_paid.pk), void)
    _refused(lambda: Invoice.objects.filter(pk=card_paid.pk).update(status="void"), void)
    # The service's way: a paid invoice credited in full stays paid (the money is refunded).
    with time_machine.travel(at(2026, 11, 5), tick=False):
        credit_note_issue(actor=finance, invoice=card_paid, reason="Refund")
    assert Invoice.objects.get(pk=card_paid.pk).status == "paid"


def test_a_void_invoice_never_changes_status(postgres, finance):
    _, open_invoice = _issue_october()
    with time_machine.travel(at(2026, 11, 5), tick=False):
        credit_note_issue(actor=finance, invoice=open_invoice, reason="Wrong account")
    assert Invoice.objects.get(pk=open_invoice.pk).status == "void"
    for status in ("open", "paid"):
        moved = rf"Invoice {open_invoice.number} cannot go from void to {status}"
        _refused(
            _sql(
                "UPDATE billing_invoice SET status = %s, paid_on = %s WHERE id = %s",
                status,
                date(2026, 11, 6) if status == "paid" else None,
                open_invoice.pk,
            ),
            moved,
        )
        _refused(
            lambda status=status: Invoice.objects.filter(pk=open_invoice.pk).update(
                status=status, paid_on=date(2026, 11, 6)
            ),
            moved,
        )
    assert Invoice.objects.get(pk=open_invoice.pk).status == "void"


def test_a_recorded_payment_is_never_changed_or_cleared_by_sql_or_by_the_orm(postgres, finance):
    card_paid, open_invoice = _issue_october()
    with time_machine.travel(at(2026, 11, 20), tick=False):
        marked = invoice_mark_paid(
            actor=finance, invoice=open_invoice, paid_on=date(2026, 11, 19), reference="BANK-1"
        )
    # A card-paid invoice was issued with its card and date; its reference may still be set
    # once (e.g. the card processor's charge id), and then no more.
    Invoice.objects.filter(pk=card_paid.pk).update(paid_reference="ch_42")
    changes = {
        "paid_on": [date(2026, 11, 18), None],
        "paid_reference": ["BANK-2", ""],
        "paid_by": ["Mastercard •••• 4444", ""],
    }
    for invoice in (marked, card_paid):
        before = Invoice.objects.filter(pk=invoice.pk).values().get()
        recorded = rf"Invoice {invoice.number} has its payment recorded already .* never changed"
        for column, values in changes.items():
            if not before[column]:
                continue  # an empty column may be set once: not a change of a payment
            for value in values:
                # `column` is one of the three names above.
                update = f"UPDATE billing_invoice SET {column} = %s WHERE id = %s"  # noqa: S608
                _refused(_sql(update, value, invoice.pk), recorded)
                _refused(
                    lambda column=column, value=value, invoice=invoice: Invoice.objects.filter(
                        pk=invoice.pk
                    ).update(**{column: value}),
                    recorded,
                )
        assert Invoice.objects.filter(pk=invoice.pk).values().get() == before
    assert Invoice.objects.get(pk=marked.pk).paid_by == ""  # left empty: tried in no loop
    assert (card_paid.paid_by, Invoice.objects.get(pk=card_paid.pk).paid_reference) == (
        "Visa •••• 4242",
        "ch_42",
    )


def test_an_unchanged_save_or_an_email_stamp_does_not_unseal_an_issued_invoice(postgres):
    # Why the seal compares the issuing transaction and not the row's xmin: these allowed
    # UPDATEs give the committed row a version written by this transaction.
    card_paid, _ = _issue_october()
    before = _books(card_paid)
    with transaction.atomic():
        invoice = Invoice.objects.get(pk=card_paid.pk)
        invoice.save()
        Invoice.objects.filter(pk=invoice.pk).update(emailed_at=timezone.now())
        _refused(
            lambda: InvoiceLine.objects.create(
                invoice=invoice, description="injected", unit_cpa=1, amount=Decimal("999.99")
            ),
            rf"Invoice {invoice.number} is issued and sealed",
        )
    assert _books(card_paid) == before


# What the services (and the issuing transaction) still do.


def test_the_monthly_run_issues_each_invoice_with_lines_that_add_up_to_its_total():
    card_paid, open_invoice = _issue_october()
    assert len(_books(card_paid)) == 2
    assert len(_books(open_invoice)) == 1
    assert Invoice.objects.get(pk=card_paid.pk).paid_by == "Visa •••• 4242"  # issued paid


def test_lines_may_be_written_in_any_savepoint_of_the_transaction_that_inserts_the_invoice():
    _, open_invoice = _issue_october()
    values = Invoice.objects.filter(pk=open_invoice.pk).values().get()
    values.pop("id")
    values.update(number="MC-2026-900001", period=NOVEMBER, total=Decimal("3.00"))
    with transaction.atomic():
        with transaction.atomic():  # Django's savepoint, as the monthly run's per account
            november = Invoice.objects.create(**values)
        with transaction.atomic():  # a sibling savepoint, after the first was released
            InvoiceLine.objects.create(
                invoice=november, description="one", unit_cpa=1, amount=Decimal("1.00")
            )
            with transaction.atomic():  # and a nested one
                InvoiceLine.objects.bulk_create(
                    [_line(november, description="two", amount=Decimal("2.00"), position=2)]
                )
        if connection.vendor == "postgresql":
            # One statement putting lines on a new invoice and on an issued one: all refused.
            _refused(
                lambda: InvoiceLine.objects.bulk_create(
                    [_line(november, amount=Decimal("0.00")), _line(open_invoice)]
                ),
                rf"Invoice {open_invoice.number} is issued and sealed",
            )
    assert [line[1] for line in _books(november)] == ["one", "two"]
    if connection.vendor == "postgresql":
        # Committed: now it is sealed too.
        _refused(_sql(INJECT, november.pk), rf"Invoice {november.number} is issued and sealed")
    assert len(_books(open_invoice)) == 1


def test_credit_notes_in_part_and_in_full_are_issued_with_their_lines(finance):
    card_paid, open_invoice = _issue_october()
    with time_machine.travel(at(2026, 11, 5), tick=False):
        part = credit_note_issue(
            actor=finance, invoice=open_invoice, reason="Goodwill", amount=Decimal("10")
        )
        rest = credit_note_issue(actor=finance, invoice=open_invoice, reason="The rest")
        refund = credit_note_issue(actor=finance, invoice=card_paid, reason="Refund")

    assert [n.total for n in (part, rest, refund)] == [
        Decimal("-10.00"),
        Decimal("-20.00"),
        Decimal("-51.50"),
    ]
    assert [len(_books(n)) for n in (part, rest, refund)] == [1, 1, 2]  # refund: lines negated
    assert {n.status for n in (part, rest, refund)} == {"paid"}  # settled on issue
    assert Invoice.objects.get(pk=open_invoice.pk).status == "void"  # credited in full
    assert Invoice.objects.get(pk=card_paid.pk).status == "paid"
    assert len(_books(open_invoice)) == 1 and len(_books(card_paid)) == 2


def test_finance_marks_an_open_invoice_paid_and_the_payment_stays(finance):
    _, open_invoice = _issue_october()
    with time_machine.travel(at(2026, 11, 20), tick=False):
        invoice_mark_paid(
            actor=finance, invoice=open_invoice, paid_on=date(2026, 11, 19), reference="BANK-1"
        )
        with pytest.raises(InvoiceRefused, match="is paid, not open"):
            invoice_mark_paid(
                actor=finance, invoice=open_invoice, paid_on=date(2026, 11, 20), reference="B-2"
            )
    paid = Invoice.objects.get(pk=open_invoice.pk)
    assert (paid.status, paid.paid_on, paid.paid_reference) == (
        "paid",
        date(2026, 11, 19),
        "BANK-1",
    )
    _books(paid)


def test_the_invoice_email_claims_gives_back_re_claims_and_stamps_an_issued_invoice(monkeypatch):
    def refused(self, *args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    # At issue the mail server refuses every try: each claim is given back (to NULL).
    with monkeypatch.context() as patch:
        patch.setattr(EmailMultiAlternatives, "send", refused)
        card_paid, _ = _issue_october()
    invoice = Invoice.objects.get(pk=card_paid.pk)
    assert (invoice.email_claimed_at, invoice.emailed_at) == (None, None)
    assert mail.outbox == []

    # A worker claims it and dies; after the lease, the sweep's run claims it again and sends.
    issued = invoice.issued_at
    assert Invoice.objects.filter(pk=invoice.pk).update(email_claimed_at=issued) == 1
    with time_machine.travel(issued + EMAIL_LEASE * 2, tick=False):
        assert invoice_email_send(invoice_pk=invoice.pk) is True
    invoice.refresh_from_db()
    assert invoice.email_claimed_at == issued + EMAIL_LEASE * 2
    assert invoice.emailed_at is not None
    assert [m.to for m in mail.outbox] == [["owner@acmegames.test"]]
    _books(invoice)
