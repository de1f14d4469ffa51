"""Invoices in a real Chromium (SPEC §9): finance filters October in admin and downloads the
CSV and a PDF; a developer downloads their PDF from the Billing page."""

from __future__ import annotations

import csv
import io
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from billing.services.invoices import invoices_issue_month
from tests.billing.invoice_helpers import (
    OCTOBER,
    account_with_campaigns,
    at,
    charge,
    finance_group,
)
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery-staple-9"


@pytest.fixture
def books():
    """Two accounts charged in September and October 2026, both months invoiced."""
    _, (miner, arena) = account_with_campaigns("Acme Games", "Space Miner", "Arena")
    _, (quest,) = account_with_campaigns("Globex", "Quest", terms="invoice", card=False)
    charge(miner, "0.5000", at(2026, 9, 12), times=2)
    charge(miner, "0.5000", at(2026, 10, 3), times=3)
    charge(arena, "0.1250", at(2026, 10, 9), times=5)
    charge(quest, "1.2500", at(2026, 10, 20), times=4)
    september = invoices_issue_month(month=OCTOBER.replace(month=9), now=at(2026, 10, 1, 2))
    october = invoices_issue_month(month=OCTOBER, now=at(2026, 11, 1, 2))
    assert len(september) == 1 and len(october) == 2
    return {"september": september, "october": october}


def _pdf_text(path: str) -> str:
    reader = PdfReader(io.BytesIO(Path(path).read_bytes()))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_finance_filters_october_and_downloads_its_csv_and_an_invoice_pdf(page, books):
    finance = UserFactory(email="fred@moments.test", is_staff=True)
    finance.groups.add(finance_group())
    october = {invoice.number: invoice for invoice in books["october"]}

    page.goto("/admin/login/?next=/admin/billing/invoice/")
    page.get_by_label("Username").fill("fred@moments.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.locator("#changelist-filter").get_by_role("link", name="October 2026").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    expected_total = sum(invoice.total for invoice in october.values())
    expect(page.locator("#filtered-total")).to_contain_text(f"${expected_total:,.2f}")

    with page.expect_download() as csv_download:
        page.locator("#invoices-csv").click()
    rows = list(
        csv.DictReader(io.StringIO(Path(csv_download.value.path()).read_text(encoding="utf-8")))
    )
    assert sorted(row["number"] for row in rows) == sorted(october)  # one row per invoice
    for row in rows:
        invoice = october[row["number"]]
        assert row["period"] == "2026-10-01"
        assert Decimal(row["total"]) == invoice.total
        assert row["company"] == invoice.buyer_company
    assert sum(Decimal(row["total"]) for row in rows) == expected_total == Decimal("7.13")

    acme = next(i for i in october.values() if i.buyer_company == "Acme Games")
    with page.expect_download() as pdf_download:
        page.locator("#result_list tbody tr", has_text=acme.number).get_by_role(
            "link", name="PDF"
        ).click()
    assert pdf_download.value.suggested_filename == f"{acme.number}.pdf"
    text = _pdf_text(pdf_download.value.path())
    assert acme.number in text and "Acme Games" in text and "Space Miner" in text
    assert "Total (USD) $2.13" in text and "Paid by Visa •••• 4242" in text


def test_a_developer_downloads_their_invoice_pdf_from_the_billing_page(page, books):
    [acme_september] = books["september"]
    acme = next(i for i in books["october"] if i.buyer_company == "Acme Games")
    globex = next(i for i in books["october"] if i.buyer_company == "Globex")

    page.goto("/login/")
    page.get_by_label("Email").fill("owner@acmegames.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Billing", exact=True).first.click()
    expect(page.locator(f"#invoice-{acme.number}")).to_contain_text("October 2026")
    expect(page.locator(f"#invoice-{acme_september.number}")).to_contain_text("September 2026")
    expect(page.locator(f"#invoice-{globex.number}")).to_have_count(0)

    with page.expect_download() as download:
        page.locator(f"#invoice-{acme.number}").get_by_role("link", name="PDF").click()
    assert download.value.suggested_filename == f"{acme.number}.pdf"
    text = _pdf_text(download.value.path())
    assert f"Invoice number {acme.number}" in text
    assert "Period October 2026" in text
    assert "Total (USD) $2.13" in text
    # Another account's invoice, asked for by number, is not found.
    response = page.request.get(f"/billing/invoices/{globex.number}.pdf")
    assert response.status == 404


def test_finance_records_a_partial_payment_from_the_invoice_page(page, books):
    """The invoice page's buttons (issue 20): record $2.00 of Globex's $5.00, then the page
    shows $3.00 due. SHOTS_DIR=<dir> saves the page as
    invoice_admin.png."""
    finance = UserFactory(email="fred@moments.test", is_staff=True)
    finance.groups.add(finance_group())
    globex = next(i for i in books["october"] if i.buyer_company == "Globex")

    page.goto(f"/admin/login/?next=/admin/billing/invoice/{globex.pk}/change/")
    page.get_by_label("Username").fill("fred@moments.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#invoice-balance")).to_have_text("$5.00")
    expect(page.locator("#invoice-pdf")).to_be_visible()
    expect(page.locator("#invoice-email")).to_be_visible()
    page.locator("#invoice-pay").click()
    page.get_by_label("Amount received").fill("2.00")
    page.get_by_label("Payment reference").fill("WIRE-2026-118")
    page.get_by_role("button", name="Record payment").click()

    expect(page.locator(".messagelist")).to_contain_text("payment recorded")
    expect(page.locator(".messagelist")).to_contain_text("$3.00 still due")
    # Paid in part; overdue wins once its due date (1 December 2026) is past on the clock.
    expect(page.locator("#invoice-status")).to_have_text(re.compile("^(Partially paid|Overdue)$"))
    expect(page.locator("#invoice-balance")).to_have_text("$3.00")
    expect(page.get_by_text("WIRE-2026-118", exact=True)).to_be_visible()
    expect(page.get_by_text("Email claimed at")).to_have_count(0)
    if shots := os.environ.get("SHOTS_DIR"):
        page.screenshot(path=str(Path(shots) / "invoice_admin.png"), full_page=True)
