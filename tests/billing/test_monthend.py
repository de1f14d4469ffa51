"""The month-end pack (finance desk, issue 20): the ZIP opened in a test. Its PDFs are the
month's invoices and credit notes (numbers and totals), its CSVs list them, and its journal
balances (debits = credits), in each entry and in total; built by a task with progress,
downloadable when ready, built once however often the task runs."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from pypdf import PdfReader

from billing.models import Invoice, MonthEndPack
from billing.services.invoices import credit_note_issue, invoice_mark_paid, invoices_issue_month
from billing.services.monthend import monthend_build, monthend_request
from console.models import ActivityEntry
from console.money import format_money

from .invoice_helpers import OCTOBER, account_with_campaigns, at, charge, finance_group

pytestmark = pytest.mark.django_db


@pytest.fixture
def november(finance, settings, tmp_path):
    """Issued in November: Acme's card invoice ($50, paid on issue), Globex's ($30.375 →
    $30.38, invoice terms) and a $10 credit note on Globex's; Globex pays the $20.38 left on
    20 November. Then Acme's paid invoice is credited $5 (a refund)."""
    settings.MONTHEND_DIR = tmp_path / "monthend"
    finance.groups.add(finance_group())
    _, (miner,) = account_with_campaigns("Acme Games", "Space Miner")
    globex, (quiz,) = account_with_campaigns("Globex", "Quiz Night", terms="invoice", card=False)
    charge(miner, "25.0000", at(2026, 10, 3), times=2)
    charge(quiz, "10.1250", at(2026, 10, 4), times=3)
    with time_machine.travel(at(2026, 11, 1, 2, 0), tick=False):
        invoices_issue_month(month=OCTOBER)
    acme_inv = Invoice.objects.get(buyer_company="Acme Games", kind="invoice")
    globex_inv = Invoice.objects.get(account=globex)
    with time_machine.travel(at(2026, 11, 10), tick=False):
        credit_note_issue(actor=finance, invoice=globex_inv, reason="Goodwill", amount=Decimal(10))
    with time_machine.travel(at(2026, 11, 20), tick=False):
        invoice_mark_paid(
            actor=finance, invoice=globex_inv, paid_on=date(2026, 11, 20), reference="TRF 77"
        )
        credit_note_issue(actor=finance, invoice=acme_inv, reason="Refund", amount=Decimal(5))
    return finance


def build(actor, month=date(2026, 11, 1)):
    with time_machine.travel(at(2026, 12, 2), tick=False):
        pack = monthend_request(actor=actor, month=month)
        return monthend_build(pack_pk=pack.pk) or MonthEndPack.objects.get(pk=pack.pk)


def opened(pack) -> zipfile.ZipFile:
    from billing.services.monthend import monthend_file

    return zipfile.ZipFile(monthend_file(pack))


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())


def test_the_zip_holds_every_document_of_the_month_and_its_pdfs_match_the_invoices(november):
    pack = build(november)
    assert pack.status == "ready" and pack.percent == 100 and pack.documents == 4
    archive = opened(pack)
    documents = Invoice.objects.filter(issue_date__month=11).order_by("number")
    assert len(documents) == 4
    pdfs = sorted(n for n in archive.namelist() if n.endswith(".pdf"))
    expected = sorted(
        f"{'credit-notes' if d.is_credit_note else 'invoices'}/{d.number}.pdf" for d in documents
    )
    assert pdfs == expected
    for doc in documents:
        folder = "credit-notes" if doc.is_credit_note else "invoices"
        text = pdf_text(archive.read(f"{folder}/{doc.number}.pdf"))
        assert doc.number in text and doc.buyer_company in text
        label = "Total credited" if doc.is_credit_note else "Total (USD)"
        assert re.search(
            re.escape(label) + r"\s+" + re.escape(format_money(doc.total, "USD", places=2)), text
        ), (doc.number, text[-300:])

    invoices = list(csv.DictReader(io.StringIO(archive.read("invoices.csv").decode())))
    assert [r["number"] for r in invoices] == [d.number for d in documents]
    assert sum(Decimal(r["total"]) for r in invoices) == sum(d.total for d in documents)
    lines = list(csv.DictReader(io.StringIO(archive.read("lines.csv").decode())))
    assert {r["invoice number"] for r in lines} == {d.number for d in documents}
    assert sum(Decimal(r["amount"]) for r in lines) == sum(d.total for d in documents)


def test_the_journal_balances_and_books_each_invoice_credit_payment_and_refund(november):
    archive = opened(build(november))
    rows = list(csv.DictReader(io.StringIO(archive.read("journal.csv").decode())))
    debit = sum(Decimal(r["debit"] or 0) for r in rows)
    credit = sum(Decimal(r["credit"] or 0) for r in rows)
    assert debit == credit
    by_entry: dict[str, list] = {}
    for r in rows:
        by_entry.setdefault(r["entry"], []).append(r)
    for entry in by_entry.values():
        assert sum(Decimal(r["debit"] or 0) for r in entry) == sum(
            Decimal(r["credit"] or 0) for r in entry
        )

    def balance(code):
        return sum(
            Decimal(r["debit"] or 0) - Decimal(r["credit"] or 0)
            for r in rows
            if r["account code"] == code
        )

    # Revenue: $50 + $30.38 invoiced, less $10 and $5 credited.
    assert balance("4000") == Decimal("-65.38")
    # Bank: Acme's $50 by card, Globex's $20.38 by transfer, less Acme's $5 refund.
    assert balance("1000") == Decimal("65.38")
    # Nothing left owed: every invoice is paid or credited.
    assert balance("1100") == Decimal("0.00")
    globex_payment = [r for r in rows if r["memo"] == "Payment: TRF 77"]
    assert [(r["account code"], r["debit"], r["credit"]) for r in globex_payment] == [
        ("1000", "20.38", ""),
        ("1100", "", "20.38"),
    ]
    assert {r["date"] for r in rows} <= {f"2026-11-{d:02d}" for d in range(1, 31)}


def test_the_build_runs_once_however_often_the_task_runs(november):
    with time_machine.travel(at(2026, 12, 2), tick=False):
        pack = monthend_request(actor=november, month=date(2026, 11, 1))
        # Asked again while queued: the same pack, not a second build.
        assert monthend_request(actor=november, month=date(2026, 11, 1)).pk == pack.pk
        assert monthend_build(pack_pk=pack.pk) is not None
        assert monthend_build(pack_pk=pack.pk) is None
    assert MonthEndPack.objects.count() == 1
    (requested,) = ActivityEntry.objects.filter(action="monthend.requested")
    assert requested.data == {"month": "2026-11"}


def test_finance_builds_follows_and_downloads_the_pack_on_its_page(
    client, november, django_capture_on_commit_callbacks
):
    client.force_login(november)
    with (
        time_machine.travel(at(2026, 12, 2), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post("/finance/month-end/", {"month": "2026-11"})
    assert response.status_code == 302
    pack = MonthEndPack.objects.get()
    assert pack.status == "ready"  # the task ran (eagerly, as a worker would)
    page = client.get("/finance/month-end/").content.decode()
    assert "November 2026" in page and f"/finance/month-end/{pack.pk}/download/" in page
    download = client.get(f"/finance/month-end/{pack.pk}/download/")
    assert download["Content-Type"] == "application/zip"
    assert 'filename="month-end-2026-11.zip"' in download["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert "journal.csv" in archive.namelist()


def test_the_page_shows_progress_while_the_pack_is_built(client, november):
    client.force_login(november)
    MonthEndPack.objects.create(
        month=date(2026, 11, 1), status="building", total_steps=10, done_steps=4
    )
    page = client.get("/finance/month-end/").content.decode()
    assert "Building 40 %" in page
    assert 'http-equiv="refresh"' in page


def test_reviewers_get_no_pack(client, reviewer, november):
    pack = build(november)
    client.force_login(reviewer)
    assert client.get(f"/finance/month-end/{pack.pk}/download/").status_code == 403
