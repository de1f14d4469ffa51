"""The finance desk in a real Chromium (issue 20): finance opens the aging report and the
revenue page from the admin's index, sees the amounts, the tie-out check and the drawn chart.
With FINANCE_SHOTS=<dir> set, the pages are also saved there as screenshots (1280 wide)."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from billing.models import Invoice
from billing.services.invoices import credit_note_issue, invoice_mark_paid, invoices_issue_month
from console.clock import month_after, month_before, month_start
from tests.billing.invoice_helpers import account_with_campaigns, at, charge, finance_group
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery-staple-9"


@pytest.fixture
def books():
    """Five months of charges and invoices up to last month, some paid, some credited, some
    long overdue."""
    finance = UserFactory(email="fred@moments.test", is_staff=True)
    finance.groups.add(finance_group())
    _, (miner, arena) = account_with_campaigns("Acme Games", "Space Miner", "Arena")
    _, (quest,) = account_with_campaigns("Globex", "Quest", terms="invoice", card=False)
    _, (tps,) = account_with_campaigns("Initech", "TPS Reports", terms="invoice", card=False)
    _, (moon,) = account_with_campaigns("Umbrella", "Moon Base", terms="invoice", card=False)
    this_month = month_start(timezone.localdate())
    months = [this_month]
    for _ in range(5):
        months.insert(0, month_before(months[0]))
    for n, month in enumerate(months):
        day = at(month.year, month.month, 10)
        charge(miner, "0.5000", day, times=20 + 6 * n)
        charge(arena, "0.1250", day, times=30 + n)
        charge(quest, "1.2500", day, times=12 + 3 * n)
        charge(tps, "2.0000", day, times=9 + n)
        if n >= 2:
            charge(moon, "3.3333", day, times=5 + n)
    for month in months[:-1]:
        issued = month_after(month)
        invoices_issue_month(month=month, now=at(issued.year, issued.month, 1, 2))
    # Globex pays its first three invoices a few weeks late; Umbrella its first; Initech never.
    for company, count in (("Globex", 3), ("Umbrella", 1)):
        for invoice in Invoice.objects.filter(buyer_company=company).order_by("period")[:count]:
            paid = invoice.issue_date.replace(day=25)
            invoice_mark_paid(actor=finance, invoice=invoice, paid_on=paid, reference="TRF")
    oldest = Invoice.objects.filter(buyer_company="Initech").order_by("period").first()
    credit_note_issue(
        actor=finance,
        invoice=oldest,
        reason="Goodwill",
        amount=Decimal("5"),
        now=at(oldest.issue_date.year, oldest.issue_date.month, 15),
    )
    return finance


def sign_in(page, then: str) -> None:
    page.goto(f"/admin/login/?next={then}")
    page.get_by_label("Username").fill("fred@moments.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def shot(page, name: str) -> None:
    folder = os.environ.get("FINANCE_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def test_finance_opens_the_aging_report_and_the_revenue_page_from_the_admin(page, books):
    sign_in(page, "/admin/")
    page.get_by_role("link", name="Receivables (aging)").first.click()
    expect(page.locator("h1")).to_have_text("Receivables aging")
    rows = page.locator("#aging-table tbody tr")
    expect(rows).to_have_count(3)  # Globex, Initech and Umbrella owe; Acme pays by card
    expect(page.locator("#aging-table tbody")).to_contain_text("Initech")
    expect(page.locator("#aging-total-USD")).to_be_visible()
    # Initech's first invoice is over 90 days past due.
    over_90 = page.locator("#aging-table tbody tr", has_text="Initech").locator("td").nth(5)
    expect(over_90).not_to_have_text("—")
    shot(page, "aging.png")

    page.locator("#desk-tabs").get_by_role("link", name="Revenue").click()
    expect(page.locator("#check-ledger")).to_contain_text("✓")
    expect(page.locator("#check-invoices")).to_contain_text("✓ to the cent")
    expect(page.locator("#revenue-table tbody tr")).to_have_count(6)
    # Chart.js drew on the canvas (it sizes it to its box).
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.getElementById('chart-revenue'))"
    )
    shot(page, "revenue.png")


def test_finance_reconciles_a_bank_csv_and_builds_the_month_end_pack(page, books, tmp_path):
    open_invoices = Invoice.objects.filter(
        status="open", kind="invoice", credit_notes__isnull=True
    ).order_by("number")
    first, second = open_invoices[0], open_invoices[1]
    bank = tmp_path / "bank.csv"
    today = timezone.localdate()
    bank.write_text(
        "date,amount,reference\n"
        f"{today:%Y-%m-%d},{first.total:.2f},Transfer {first.number}\n"
        f"{today:%Y-%m-%d},{second.total + 1:.2f},Transfer {second.number}\n"
        f"{today:%Y-%m-%d},999.00,Unknown sender\n"
    )
    sign_in(page, "/finance/reconciliation/")
    page.get_by_label("Bank CSV").set_input_files(str(bank))
    page.get_by_role("button", name="Upload and match").click()
    expect(page.locator("#lines-matched tbody tr")).to_have_count(1)
    expect(page.locator("#lines-unmatched tbody tr")).to_have_count(2)
    expect(page.locator("#lines-unmatched")).to_contain_text(f"owed on {second.number}")
    shot(page, "reconciliation.png")
    page.get_by_role("button", name="Confirm 1 payment").click()
    expect(page.locator(".messagelist")).to_contain_text(
        f"1 invoice(s) marked paid: {first.number}"
    )
    first.refresh_from_db()
    assert first.status == "paid"

    page.locator("#desk-tabs").get_by_role("link", name="Month-end pack").click()
    page.get_by_label("Month").fill(f"{month_before(today):%Y-%m}")
    page.get_by_role("button", name="Build the pack").click()
    # The task ran in-process (as a worker would); the page offers the ZIP.
    expect(page.get_by_role("link", name="Download ZIP")).to_be_visible()
    shot(page, "monthend.png")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download ZIP").click()
    assert download.value.suggested_filename == f"month-end-{month_before(today):%Y-%m}.zip"


def test_finance_reads_an_accounts_dunning_on_its_admin_page(page, books, settings):
    from datetime import timedelta

    from billing.services.dunning import dunning_sweep
    from tests.billing.test_dunning import DECLINING, put_card

    settings.DUNNING_SUSPEND_DAYS = 14
    hooli, (game,) = account_with_campaigns("Hooli", "Nucleus", card=False)
    last_month = month_before(month_start(timezone.localdate()))
    issued = at(month_after(last_month).year, month_after(last_month).month, 1, 2)
    with time_machine.travel(at(last_month.year, last_month.month, 1), tick=False):
        put_card(hooli, DECLINING)
    charge(game, "9.0000", at(last_month.year, last_month.month, 12), times=3)
    (invoice,) = [
        i for i in invoices_issue_month(month=last_month, now=issued) if i.account_id == hooli.pk
    ]
    start = invoice.issue_date
    for days in (0, 1, 3, 7, 14):
        moment = at(start.year, start.month, start.day, 4) + timedelta(days=days)
        if moment <= timezone.now():
            dunning_sweep(now=moment)
    sign_in(page, f"/admin/console/account/{hooli.pk}/change/")
    panel = page.locator("#dunning-panel")
    expect(panel).to_contain_text(invoice.number)
    expect(panel).to_contain_text("was declined")
    panel.scroll_into_view_if_needed()
    shot(page, "dunning.png")
