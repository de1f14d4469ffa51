"""Finance desk, revenue by month (issue 20): charged, invoiced, credited and collected, tied to
the ledger to the cent, on the page (with its chart data) and in its CSV."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
import time_machine

from billing.models import Invoice
from billing.services.invoices import credit_note_issue, invoice_mark_paid, invoices_issue_month
from billing.services.revenue import revenue_report

from .invoice_helpers import OCTOBER, account_with_campaigns, at, charge, finance_group

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(finance):
    """September: Acme (card) 3 × $0.125 = $0.375 on the ledger, billed $0.38 (rounded once
    per line). October: Globex (invoice terms) 2 × $10.3333 = $20.6666, billed $20.67; $5
    credited on 10 November and the rest ($15.67) paid on 20 November. November: $7 charged,
    not invoiced yet."""
    acme, (miner,) = account_with_campaigns("Acme Games", "Space Miner")
    globex, (quiz,) = account_with_campaigns("Globex", "Quiz Night", terms="invoice", card=False)
    charge(miner, "0.1250", at(2026, 9, 3), times=3)
    charge(quiz, "10.3333", at(2026, 10, 4), times=2)
    charge(quiz, "7.0000", at(2026, 11, 4))
    with time_machine.travel(at(2026, 10, 1, 2, 0), tick=False):
        invoices_issue_month(month=date(2026, 9, 1))
    with time_machine.travel(at(2026, 11, 1, 2, 0), tick=False):
        invoices_issue_month(month=OCTOBER)
    october = Invoice.objects.get(account=globex, period=OCTOBER)
    with time_machine.travel(at(2026, 11, 10), tick=False):
        credit_note_issue(actor=finance, invoice=october, reason="Goodwill", amount=Decimal("5"))
    with time_machine.travel(at(2026, 11, 20), tick=False):
        invoice_mark_paid(actor=finance, invoice=october, paid_on=date(2026, 11, 20), reference="T")
    return {"acme": acme, "globex": globex}


def by_month(report):
    return {f"{m.month:%Y-%m}": m for m in report.months}


def test_revenue_by_month_ties_to_the_ledger_to_the_cent(books):
    with time_machine.travel(at(2026, 11, 25), tick=False):
        report = revenue_report()
    months = by_month(report)
    assert list(months) == ["2026-09", "2026-10", "2026-11"]
    sep, oct_, nov = months["2026-09"], months["2026-10"], months["2026-11"]
    assert (sep.charged, sep.invoiced, sep.collected) == (
        Decimal("0.3750"),
        Decimal("0.38"),
        Decimal("0.00"),
    )
    assert oct_.charged == Decimal("20.6666") and oct_.invoiced == Decimal("20.67")
    assert oct_.credited == Decimal("-5.00") and oct_.net == Decimal("15.67")
    # September's card invoice was paid on issue (1 October); October's on 20 November.
    assert oct_.collected == Decimal("0.38")
    assert nov.collected == Decimal("15.67")
    assert nov.charged == nov.not_invoiced == Decimal("7.0000")

    tie = report.tie
    assert tie.ledger_total == Decimal("28.0416")
    assert tie.ledger_invoiced + tie.ledger_not_invoiced == tie.ledger_total
    assert tie.invoices_total == tie.invoices_from_ledger == Decimal("21.05")
    assert tie.ok


def test_the_check_names_an_invoice_that_does_not_match_its_ledger_entries(books):
    # A ledger entry recorded as billed by September's invoice although its lines never had it
    # (a bug in the run would look like this): the invoice no longer ties, and is named.
    from billing.models import InvoicedEntry, LedgerEntry

    invoice = Invoice.objects.get(account=books["acme"])
    assert revenue_report().tie.ok
    november = LedgerEntry.objects.get(month=date(2026, 11, 1))
    InvoicedEntry.objects.create(ledger_entry=november, invoice=invoice)
    report = revenue_report()
    assert report.tie.mismatched == [invoice.number]
    assert report.tie.ledger_ok and not report.tie.ok


def test_finance_sees_the_revenue_page_with_the_check_and_a_csv(client, finance, books):
    finance.groups.add(finance_group())
    client.force_login(finance)
    with time_machine.travel(at(2026, 11, 25), tick=False):
        page = client.get("/finance/revenue/")
        download = client.get("/finance/revenue.csv")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Ledger total $28.0416 = invoiced $21.0416 + not yet invoiced $7.00" in html
    assert "✓ to the cent" in html and "✗" not in html
    assert 'id="revenue-data"' in html and '"20.67"' in html  # the chart's data
    assert "vendor/chartjs/chart.umd.min.js" in html

    rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert [r["month"] for r in rows] == ["2026-09", "2026-10", "2026-11"]
    assert rows[1]["charged (ledger)"] == "20.6666" and rows[1]["invoiced"] == "20.67"
    assert rows[1]["credited"] == "-5.00" and rows[2]["collected"] == "15.67"
    assert sum(Decimal(r["charged (ledger)"]) for r in rows) == Decimal("28.0416")


def test_reviewers_do_not_see_revenue(client, reviewer):
    client.force_login(reviewer)
    assert client.get("/finance/revenue/").status_code == 403
