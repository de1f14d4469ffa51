"""Finance desk, receivables aging (issue 20): open invoices by days past due, per account and
in total, on the page and in its CSV; the buckets move as the days pass (time_machine)."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
import time_machine

from billing.models import Invoice
from billing.services.aging import aging_report
from billing.services.invoices import credit_note_issue, invoices_issue_month

from .invoice_helpers import account_with_campaigns, at, charge, finance_group

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(finance):
    """Globex (invoice terms) owes $30 for August (due 2026-10-01) and $45 for September
    (due 2026-10-31); Initech (invoice terms) owes $12.50 for September, half credited; Acme
    pays by card (nothing open)."""
    acme, (miner,) = account_with_campaigns("Acme Games", "Space Miner")
    globex, (quiz,) = account_with_campaigns("Globex", "Quiz Night", terms="invoice", card=False)
    initech, (tps,) = account_with_campaigns("Initech", "TPS", terms="invoice", card=False)
    charge(quiz, "10.0000", at(2026, 8, 4), times=3)
    charge(miner, "25.0000", at(2026, 8, 4))
    charge(quiz, "15.0000", at(2026, 9, 4), times=3)
    charge(tps, "12.5000", at(2026, 9, 5))
    with time_machine.travel(at(2026, 9, 1, 2, 0), tick=False):
        invoices_issue_month(month=date(2026, 8, 1))
    with time_machine.travel(at(2026, 10, 1, 2, 0), tick=False):
        invoices_issue_month(month=date(2026, 9, 1))
        tps_invoice = Invoice.objects.get(account=initech)
        credit_note_issue(
            actor=finance, invoice=tps_invoice, reason="Goodwill", amount=Decimal("6.25")
        )
    return {"acme": acme, "globex": globex, "initech": initech}


def amounts(report, account):
    (row,) = [r for r in report.rows if r.account_id == account.pk]
    return {k: v for k, v in row.amounts.items() if v}


def test_the_buckets_follow_the_days_past_due(books):
    globex, initech = books["globex"], books["initech"]
    # On the due date of August's invoice: still current (due today is not overdue).
    with time_machine.travel(at(2026, 10, 1), tick=False):
        report = aging_report()
    assert amounts(report, globex) == {"current": Decimal("75.00")}
    # The next day it is 1 day past due.
    with time_machine.travel(at(2026, 10, 2), tick=False):
        report = aging_report()
    assert amounts(report, globex) == {"current": Decimal("45.00"), "d1_30": Decimal("30.00")}
    # Mid-December: August's is 75 days past due, September's 45.
    with time_machine.travel(at(2026, 12, 15), tick=False):
        report = aging_report()
    assert amounts(report, globex) == {"d31_60": Decimal("45.00"), "d61_90": Decimal("30.00")}
    assert amounts(report, initech) == {"d31_60": Decimal("6.25")}  # $12.50 less the credit
    assert report.totals["USD"]["d31_60"] == Decimal("51.25")
    # A year on, everything is over 90 days.
    with time_machine.travel(at(2027, 9, 1), tick=False):
        report = aging_report()
    assert report.totals["USD"] == {
        "current": 0,
        "d1_30": 0,
        "d31_60": 0,
        "d61_90": 0,
        "over_90": Decimal("81.25"),
    }
    assert books["acme"].pk not in [row.account_id for row in report.rows]  # paid by card


def test_a_paid_invoice_leaves_the_report(books, finance):
    from billing.services.invoices import invoice_mark_paid

    august = Invoice.objects.get(account=books["globex"], period=date(2026, 8, 1))
    with time_machine.travel(at(2026, 10, 20), tick=False):
        invoice_mark_paid(actor=finance, invoice=august, paid_on=date(2026, 10, 19), reference="T1")
        report = aging_report()
    assert amounts(report, books["globex"]) == {"current": Decimal("45.00")}


def test_finance_sees_the_page_with_amounts_links_and_a_csv_that_adds_up(client, finance, books):
    finance.groups.add(finance_group())
    client.force_login(finance)
    august = Invoice.objects.get(account=books["globex"], period=date(2026, 8, 1))
    with time_machine.travel(at(2026, 12, 15), tick=False):
        page = client.get("/finance/aging/")
        download = client.get("/finance/aging.csv")
    assert page.status_code == 200
    html = page.content.decode()
    assert "$30.00" in html and "$45.00" in html and "$81.25" in html
    assert f'href="/admin/billing/invoice/{august.pk}/change/"' in html
    assert f'href="/admin/console/account/{books["globex"].pk}/change/"' in html

    rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert rows[0]["invoice number"] == august.number  # the oldest due first
    assert rows[0]["days past due"] == "75"
    assert {r["invoice number"]: r["61–90 days"] for r in rows}[august.number] == "30.00"
    assert sum(Decimal(r["owed"]) for r in rows) == Decimal("81.25")
    assert sum(Decimal(r["31–60 days"] or 0) for r in rows) == Decimal("51.25")


def test_developers_and_reviewers_do_not_get_the_aging_report(client, alice, reviewer, books):
    client.force_login(alice)
    assert client.get("/finance/aging/").status_code == 404
    client.force_login(reviewer)
    assert client.get("/finance/aging/").status_code == 403
    assert client.get("/finance/aging.csv").status_code == 403


def test_the_finance_desk_is_in_the_admin_index_for_finance_only(client, finance, reviewer):
    finance.groups.add(finance_group())
    client.force_login(finance)
    index = client.get("/admin/").content.decode()
    for entry in ("Receivables (aging)", "Revenue by month", "Bank statements", "Month-end packs"):
        assert entry in index, entry
    assert client.get("/admin/billing/receivablesreport/")["Location"] == "/finance/aging/"
    assert client.get("/admin/billing/revenuereport/")["Location"] == "/finance/revenue/"
    assert client.get("/admin/billing/bankstatement/")["Location"] == "/finance/reconciliation/"
    assert client.get("/admin/billing/monthendpack/")["Location"] == "/finance/month-end/"
    page = client.get("/finance/aging/").content.decode()
    assert 'id="desk-tabs"' in page and "/finance/month-end/" in page

    client.force_login(reviewer)
    index = client.get("/admin/").content.decode()
    assert "Receivables (aging)" not in index and "Revenue by month" not in index
    assert client.get("/admin/billing/receivablesreport/").status_code == 403


def test_the_desk_pages_make_the_same_number_of_queries_whatever_the_number_of_invoices(
    client, finance, books
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    finance.groups.add(finance_group())
    client.force_login(finance)

    def queries(url):
        with (
            time_machine.travel(at(2026, 12, 15), tick=False),
            CaptureQueriesContext(connection) as captured,
        ):
            assert client.get(url).status_code == 200
        return len(captured)

    before = {url: queries(url) for url in ("/finance/aging/", "/finance/revenue/")}
    for n in range(4):
        _, (game,) = account_with_campaigns(f"More {n}", f"Game {n}", terms="invoice", card=False)
        charge(game, "3.0000", at(2026, 9, 5), times=2)
        charge(game, "4.0000", at(2026, 10, 5))
    with time_machine.travel(at(2026, 11, 1, 2, 0), tick=False):
        invoices_issue_month(month=date(2026, 10, 1))
    after = {url: queries(url) for url in before}
    assert after == before
