"""The monthly invoice run, gapless numbers, credit notes and payments (SPEC §9)."""

from __future__ import annotations

import io
import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum

from billing.models import Invoice, InvoiceCounter, InvoicedEntry, InvoiceLine, LedgerEntry
from billing.services.invoices import (
    InvoiceRefused,
    credit_note_issue,
    invoice_mark_paid,
    invoice_number_next,
    invoices_issue_month,
    invoices_issue_previous_month,
)
from console.money import money

from .invoice_helpers import NOVEMBER, OCTOBER, account_with_campaigns, at, charge

pytestmark = pytest.mark.django_db


def _three_accounts_in_october():
    acme, (miner, racer) = account_with_campaigns("Acme Games", "Space Miner", "Road Racer")
    globex, (quiz,) = account_with_campaigns("Globex", "Quiz Night")
    initech, (tetra,) = account_with_campaigns("Initech", "Tetra", terms="invoice", card=False)
    charge(miner, "0.3333", at(2026, 10, 3), times=3)  # 0.9999 → one line of $1.00
    charge(miner, "25.0000", at(2026, 10, 20), times=2)
    charge(racer, "1.2345", at(2026, 10, 31, 23, 59))
    charge(quiz, "10.0050", at(2026, 10, 1, 0, 0), times=3)
    charge(tetra, "7.5000", at(2026, 10, 15), times=4)
    charge(tetra, "7.5000", at(2026, 11, 1, 0, 1))  # November's: not on October's invoice
    return acme, globex, initech


def _expected_total(account, month: date) -> Decimal:
    """The account's month's ledger summed per campaign and unit price, each rounded once."""
    rows = (
        LedgerEntry.objects.filter(account_id=account.pk, month=month)
        .values("campaign_id", "amount")
        .annotate(s=Sum("amount"))
    )
    return sum((money(r["s"]) for r in rows), Decimal("0.00"))


def test_october_run_gives_three_accounts_consecutive_numbers_and_per_line_totals():
    acme, globex, initech = _three_accounts_in_october()

    with time_machine.travel(at(2026, 11, 1, 2, 0), tick=False):
        out = io.StringIO()
        call_command("issue_invoices", "--month", "2026-10", stdout=out)

    invoices = list(Invoice.objects.order_by("number"))
    assert [i.number for i in invoices] == ["MC-2026-000001", "MC-2026-000002", "MC-2026-000003"]
    assert [i.account for i in invoices] == [acme, globex, initech]
    for invoice in invoices:
        assert invoice.period == OCTOBER
        assert invoice.total == _expected_total(invoice.account, OCTOBER)
        assert invoice.total == sum(line.amount for line in invoice.lines.all())
    assert "Issued 3 invoice(s) for 2026-10." in out.getvalue()
    acme_invoice = invoices[0]
    assert acme_invoice.total == Decimal("1.00") + Decimal("50.00") + Decimal("1.23")
    assert [line.description for line in acme_invoice.lines.all()] == [
        "Road Racer — 1 action × $1.2345",
        "Space Miner — 3 actions × $0.3333",
        "Space Miner — 2 actions × $25.0000",
    ]
    assert invoices[1].total == Decimal("30.02")  # 3 × 10.005 = 30.015, rounded half up once
    assert invoices[2].total == Decimal("30.00")  # November's charge waits for November


def test_running_october_again_issues_nothing_and_draws_no_number():
    _three_accounts_in_october()
    with time_machine.travel(at(2026, 11, 1, 2, 0), tick=False):
        first = invoices_issue_month(month=OCTOBER)
        again = invoices_issue_month(month=OCTOBER)

    assert len(first) == 3
    assert again == []
    assert Invoice.objects.count() == 3
    assert InvoiceCounter.objects.get(year=2026).last == 3


def test_every_october_ledger_entry_is_billed_once_and_november_ones_not_yet():
    _three_accounts_in_october()
    with time_machine.travel(at(2026, 11, 1, 2, 0), tick=False):
        invoices_issue_month(month=OCTOBER)

    october = LedgerEntry.objects.filter(month=OCTOBER)
    assert InvoicedEntry.objects.count() == october.count() == 13
    assert not InvoicedEntry.objects.filter(ledger_entry__month=NOVEMBER).exists()


def test_a_card_account_is_recorded_paid_by_its_card_and_an_invoice_terms_one_is_due_in_30_days():
    acme, _, initech = _three_accounts_in_october()
    with time_machine.travel(at(2026, 11, 1, 2, 0), tick=False):
        invoices_issue_month(month=OCTOBER)

    card = Invoice.objects.get(account=acme)
    assert (card.status, card.paid_by, card.paid_on) == (
        "paid",
        "Visa •••• 4242",
        date(2026, 11, 1),
    )
    assert card.due_date is None
    terms = Invoice.objects.get(account=initech)
    assert (terms.status, terms.payment_terms) == ("open", "invoice")
    assert terms.due_date == date(2026, 12, 1)
    with time_machine.travel(at(2026, 12, 1), tick=False):
        assert not terms.is_overdue
    with time_machine.travel(at(2026, 12, 2), tick=False):
        assert terms.is_overdue
        assert terms.status_label == "Overdue"


def test_the_invoice_keeps_the_buyer_as_they_were_on_the_day_of_issue():
    acme, (miner,) = account_with_campaigns("Acme Games", "Space Miner")
    acme.tax_id = "DE123456789"
    acme.save(update_fields=["tax_id"])
    charge(miner, "25.0000", at(2026, 10, 3))
    with time_machine.travel(at(2026, 11, 1, 2, 0), tick=False):
        (invoice,) = invoices_issue_month(month=OCTOBER)
    acme.name, acme.tax_id = "Acme Renamed", ""
    acme.save(update_fields=["name", "tax_id"])

    invoice.refresh_from_db()
    assert (invoice.buyer_company, invoice.buyer_tax_id) == ("Acme Games", "DE123456789")
    assert invoice.buyer_country == "US"
    assert invoice.buyer_address == "1 Main Street\nSeattle, WA 98101"


def test_a_charge_committed_after_october_was_invoiced_lands_on_novembers_invoice_as_its_own_line():
    acme, (miner,) = account_with_campaigns("Acme Games", "Space Miner")
    charge(miner, "25.0000", at(2026, 10, 10))
    with time_machine.travel(at(2026, 11, 1, 2, 0), tick=False):
        (october,) = invoices_issue_month(month=OCTOBER)
    # A GetReward that started on 31 October and committed after the run: October's charge.
    charge(miner, "25.0000", at(2026, 10, 31, 23, 59))
    charge(miner, "25.0000", at(2026, 11, 12), times=2)

    with time_machine.travel(at(2026, 12, 1, 2, 0), tick=False):
        (november,) = invoices_issue_month(month=NOVEMBER)

    assert october.total == Decimal("25.00")
    assert november.number == "MC-2026-000002"
    assert november.total == Decimal("75.00")
    assert [line.description for line in november.lines.all()] == [
        "Space Miner — 2 actions × $25.0000",
        "Space Miner — 1 action × $25.0000 (October 2026)",
    ]
    assert InvoicedEntry.objects.count() == LedgerEntry.objects.count() == 4


def test_an_account_with_no_charges_gets_no_invoice():
    account_with_campaigns("Quiet Co", "Nothing")
    with time_machine.travel(at(2026, 11, 1, 2, 0), tick=False):
        assert invoices_issue_month(month=OCTOBER) == []
    assert not InvoiceCounter.objects.filter(last__gt=0).exists()


def test_the_beat_task_invoices_the_previous_month():
    _, (miner,) = account_with_campaigns("Acme Games", "Space Miner")
    charge(miner, "25.0000", at(2026, 12, 31, 22, 0))
    with time_machine.travel(at(2027, 1, 1, 2, 0), tick=False):
        (invoice,) = invoices_issue_previous_month()
    # The series is the year of issue: December's invoice is the first of 2027.
    assert (invoice.number, invoice.period) == ("MC-2027-000001", date(2026, 12, 1))


def test_the_beat_schedule_runs_the_invoices_on_the_first_at_two_in_the_morning():
    entry = settings.CELERY_BEAT_SCHEDULE["billing-issue-invoices"]
    assert entry["task"] == "billing.tasks.issue_invoices"
    schedule = entry["schedule"]
    assert schedule.day_of_month == {1}
    assert (schedule.hour, schedule.minute) == ({2}, {0})


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("2026-13", "YYYY-MM"),
        ("October", "YYYY-MM"),
        ("2026-1", "YYYY-MM"),
        ("2026-11", "November 2026 is not over yet"),
    ],
)
def test_the_command_refuses_a_bad_month_or_one_not_over_with_a_clear_message(month, message):
    with time_machine.travel(at(2026, 11, 20), tick=False), pytest.raises(CommandError) as exc:
        call_command("issue_invoices", "--month", month)
    assert message in str(exc.value)


def test_numbers_come_from_the_years_counter_and_a_rolled_back_one_is_given_back():
    with transaction.atomic():
        assert invoice_number_next(year=2026) == "MC-2026-000001"
    with pytest.raises(RuntimeError), transaction.atomic():
        assert invoice_number_next(year=2026) == "MC-2026-000002"
        raise RuntimeError("the invoice failed")
    with transaction.atomic():
        assert invoice_number_next(year=2026) == "MC-2026-000002"
        assert invoice_number_next(year=2027) == "MC-2027-000001"


def _issued_october_for_acme():
    acme, (miner, racer) = account_with_campaigns("Acme Games", "Space Miner", "Road Racer")
    charge(miner, "25.0000", at(2026, 10, 3), times=2)
    charge(racer, "1.5000", at(2026, 10, 3))
    with time_machine.travel(at(2026, 11, 1, 2, 0), tick=False):
        (invoice,) = invoices_issue_month(month=OCTOBER)
    return acme, invoice


def _snapshot(invoice):
    row = Invoice.objects.filter(pk=invoice.pk).values().get()
    lines = list(InvoiceLine.objects.filter(invoice=invoice).values())
    return row, lines


def test_a_credit_note_takes_the_next_number_corrects_the_invoice_and_changes_no_issued_row(
    finance,
):
    _, invoice = _issued_october_for_acme()
    before = _snapshot(invoice)

    with time_machine.travel(at(2026, 11, 5), tick=False):
        note = credit_note_issue(actor=finance, invoice=invoice, reason="Charged for a test run")

    assert note.number == "MC-2026-000002"
    assert (note.kind, note.corrects, note.reason) == (
        "credit_note",
        invoice,
        "Charged for a test run",
    )
    assert note.total == -invoice.total == Decimal("-51.50")
    assert [line.amount for line in note.lines.all()] == [Decimal("-1.50"), Decimal("-50.00")]
    assert invoice.is_corrected
    assert _snapshot(invoice) == before  # a paid invoice stays exactly as issued


def test_a_partial_credit_note_credits_only_what_is_left(finance):
    _, invoice = _issued_october_for_acme()
    with time_machine.travel(at(2026, 11, 5), tick=False):
        first = credit_note_issue(
            actor=finance, invoice=invoice, reason="Goodwill", amount=Decimal("50")
        )
        with pytest.raises(InvoiceRefused, match=r"At most \$1.50 is left"):
            credit_note_issue(actor=finance, invoice=invoice, reason="Again", amount=Decimal("2"))
        rest = credit_note_issue(actor=finance, invoice=invoice, reason="The rest")
        with pytest.raises(InvoiceRefused, match="credited in full"):
            credit_note_issue(actor=finance, invoice=invoice, reason="More")

    assert (first.total, rest.total) == (Decimal("-50.00"), Decimal("-1.50"))
    assert (first.number, rest.number) == ("MC-2026-000002", "MC-2026-000003")


def test_a_credit_note_needs_a_reason(finance):
    _, invoice = _issued_october_for_acme()
    with pytest.raises(InvoiceRefused, match="needs a reason"):
        credit_note_issue(actor=finance, invoice=invoice, reason="  ")
    assert not invoice.is_corrected


def test_an_open_invoice_credited_in_full_is_void(finance):
    acme, (miner,) = account_with_campaigns("Acme", "Space Miner", terms="invoice", card=False)
    charge(miner, "25.0000", at(2026, 10, 3))
    with time_machine.travel(at(2026, 11, 1, 2, 0), tick=False):
        (invoice,) = invoices_issue_month(month=OCTOBER)
        credit_note_issue(actor=finance, invoice=invoice, reason="Wrong account")
    invoice.refresh_from_db()
    assert invoice.status == "void"
    assert invoice.total == Decimal("25.00")


def test_finance_marks_an_open_invoice_paid_once(finance):
    acme, (miner,) = account_with_campaigns("Acme", "Space Miner", terms="invoice", card=False)
    charge(miner, "25.0000", at(2026, 10, 3))
    with time_machine.travel(at(2026, 11, 1, 2, 0), tick=False):
        (invoice,) = invoices_issue_month(month=OCTOBER)
    with time_machine.travel(at(2026, 11, 20), tick=False):
        invoice_mark_paid(
            actor=finance, invoice=invoice, paid_on=date(2026, 11, 19), reference="BANK-991"
        )
        with pytest.raises(InvoiceRefused, match="is paid, not open"):
            invoice_mark_paid(
                actor=finance, invoice=invoice, paid_on=date(2026, 11, 19), reference="BANK-992"
            )
        with pytest.raises(InvoiceRefused, match="future"):
            invoice_mark_paid(
                actor=finance, invoice=invoice, paid_on=date(2026, 11, 21), reference="X"
            )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_on, invoice.paid_reference) == (
        "paid",
        date(2026, 11, 19),
        "BANK-991",
    )
    assert not invoice.is_overdue


def test_the_database_allows_one_invoice_per_account_and_month():
    _, invoice = _issued_october_for_acme()
    values = Invoice.objects.filter(pk=invoice.pk).values().get()
    values.pop("id")
    values["number"] = "MC-2026-999999"
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(**values)


def test_the_database_refuses_a_credit_note_that_corrects_nothing():
    _, invoice = _issued_october_for_acme()
    values = Invoice.objects.filter(pk=invoice.pk).values().get()
    values.pop("id")
    values.update(number="MC-2026-999999", kind="credit_note", corrects_id=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(**values)


def test_postgres_refuses_to_edit_or_delete_an_issued_invoice_its_lines_or_entries(postgres):
    _, invoice = _issued_october_for_acme()
    refusals = [
        lambda: Invoice.objects.filter(pk=invoice.pk).update(total=Decimal("1.00")),
        lambda: Invoice.objects.filter(pk=invoice.pk).update(buyer_company="Someone else"),
        # Past Django's PROTECT, straight to the table: the trigger is the last word.
        lambda: connection.cursor().execute(
            "DELETE FROM billing_invoice WHERE id = %s", [invoice.pk]
        ),
        lambda: InvoiceLine.objects.filter(invoice=invoice).update(amount=Decimal("0")),
        lambda: InvoiceLine.objects.filter(invoice=invoice).delete(),
        lambda: InvoicedEntry.objects.filter(invoice=invoice).delete(),
    ]
    for refuse in refusals:
        with pytest.raises(Exception, match="never edited|kept as issued"), transaction.atomic():
            refuse()
    # Recording a payment is the one change allowed.
    Invoice.objects.filter(pk=invoice.pk).update(paid_reference="card charge 42")
    assert Invoice.objects.get(pk=invoice.pk).total == Decimal("51.50")


def test_mark_paid_refuses_a_blank_reference(finance):
    _, invoice = _issued_october_for_acme()
    with pytest.raises(ValidationError, match="reference"):
        invoice_mark_paid(actor=finance, invoice=invoice, paid_on=date(2026, 11, 1), reference="")


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_issue_each_invoice_once_with_no_gap(postgres):
    accounts = [account_with_campaigns(f"Company {n}", f"Game {n}") for n in range(6)]
    for _, (campaign,) in accounts:
        charge(campaign, "12.3456", at(2026, 10, 9), times=3)
    start = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            start.wait(timeout=10)
            results.append(invoices_issue_month(month=OCTOBER, now=at(2026, 11, 1, 2, 0)))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sum(len(r) for r in results) == 6
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == [f"MC-2026-{n:06d}" for n in range(1, 7)]
    assert InvoiceCounter.objects.get(year=2026).last == 6
    assert InvoicedEntry.objects.count() == LedgerEntry.objects.count() == 18
    assert set(Invoice.objects.values_list("total", flat=True)) == {Decimal("37.04")}


def test_due_dates_are_30_days_after_issue():
    _, _, initech = _three_accounts_in_october()
    with time_machine.travel(at(2026, 11, 3, 9, 0), tick=False):
        invoices_issue_month(month=OCTOBER)
    invoice = Invoice.objects.get(account=initech)
    assert invoice.due_date - invoice.issue_date == timedelta(days=30)


def test_finding_an_accounts_uninvoiced_entries_probes_an_index_not_the_whole_history(postgres):
    from billing.selectors import uninvoiced_entries

    _, invoice = _issued_october_for_acme()
    query = uninvoiced_entries(account_id=invoice.account_id).filter(month__lte=NOVEMBER)
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)  # noqa: S608 - Django's compiled query
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # A hash anti-join would read every invoiced entry of every account, each month.
    assert "Anti Join" not in plan
    assert "SubPlan" in plan
    assert query.count() == 0
