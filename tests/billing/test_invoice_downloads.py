"""Downloading invoice PDFs (SPEC §9): a developer their own, finance any, one by one or a
month's ZIP; another account's invoice is a 404."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.admin.sites import AdminSite
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory
from django.urls import reverse
from pypdf import PdfReader

from billing.admin_downloads import InvoiceDownloadsMixin
from billing.models import Invoice, InvoiceLine
from tests.campaigns.lifecycle_helpers import staff_group

from .invoice_helpers import finance_group

pytestmark = pytest.mark.django_db

N = iter(range(1, 1000))


def _issue(account, *, period=date(2026, 10, 1), kind=Invoice.Kind.INVOICE, corrects=None):
    number = f"MC-2026-{next(N):06d}"
    amount = Decimal("-25.00") if kind == Invoice.Kind.CREDIT_NOTE else Decimal("250.00")
    invoice = Invoice.objects.create(
        number=number,
        kind=kind,
        corrects=corrects,
        account=account,
        period=period,
        issue_date=date(period.year, period.month + 1, 1),
        due_date=date(period.year, period.month + 1, 28),
        payment_terms=Invoice.PaymentTerms.INVOICE,
        buyer_company=account.name,
        buyer_address=account.billing_address,
        buyer_country="US",
        subtotal=amount,
        total=amount,
    )
    InvoiceLine.objects.create(
        invoice=invoice,
        description=f"Campaign of {account.name}",
        actions=500,
        unit_cpa=Decimal("0.5000"),
        amount=amount,
    )
    return invoice


@pytest.fixture
def acme_invoice(acme):
    return _issue(acme)


@pytest.fixture
def globex(charlie):
    return charlie.membership.account


def _url(invoice) -> str:
    return reverse("billing:invoice_pdf", kwargs={"number": invoice.number})


def _text(pdf: bytes) -> str:
    return " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())


def test_a_developer_downloads_their_invoice_as_a_pdf_named_after_its_number(
    alice_client, acme_invoice
):
    response = alice_client.get(_url(acme_invoice))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{acme_invoice.number}.pdf"'
    assert {"private", "no-store"} <= set(response["Cache-Control"].replace(" ", "").split(","))
    text = _text(response.content)
    assert acme_invoice.number in text and "Acme Games" in text and "$250.00" in text


def test_a_teammate_may_download_the_accounts_invoice_too(client, bob, acme_invoice):
    client.force_login(bob)
    assert client.get(_url(acme_invoice)).status_code == 200


def test_another_accounts_invoice_is_a_404_like_a_number_that_does_not_exist(
    charlie_client, acme_invoice
):
    assert charlie_client.get(_url(acme_invoice)).status_code == 404
    missing = reverse("billing:invoice_pdf", kwargs={"number": "MC-2026-999999"})
    assert charlie_client.get(missing).status_code == 404


def test_signed_out_visitors_are_sent_to_log_in(client, acme_invoice):
    response = client.get(_url(acme_invoice))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_finance_may_download_any_accounts_pdf_but_a_reviewer_may_not(
    client, finance, reviewer, acme_invoice
):
    finance.groups.add(staff_group("Finance"))
    reviewer.groups.add(staff_group("Reviewers"))

    client.force_login(finance)
    assert client.get(_url(acme_invoice)).status_code == 200
    client.force_login(reviewer)
    assert client.get(_url(acme_invoice)).status_code == 404


# --- Admin actions ----------------------------------------------------------------------------


class _InvoiceAdmin(InvoiceDownloadsMixin, admin.ModelAdmin):
    """The mixin on a plain admin, as the Finance invoice admin includes it."""


def _admin_request(user):
    request = RequestFactory().post("/admin/billing/invoice/")
    request.user = user
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    return request


@pytest.fixture
def invoice_admin():
    return _InvoiceAdmin(Invoice, AdminSite())


def test_finance_has_the_download_actions_and_a_reviewer_does_not(invoice_admin, finance, reviewer):
    finance.groups.add(staff_group("Finance"))
    reviewer.groups.add(staff_group("Reviewers"))

    actions = invoice_admin.get_actions(_admin_request(finance))
    assert actions["download_pdf"][2] == "Download PDF"
    assert actions["download_month_zip"][2] == "ZIP of the month's PDFs"
    assert "download_pdf" not in invoice_admin.get_actions(_admin_request(reviewer))


def test_download_pdf_answers_the_selected_invoices_pdf(invoice_admin, finance, acme_invoice):
    request = _admin_request(finance)

    response = invoice_admin.download_pdf(request, Invoice.objects.filter(pk=acme_invoice.pk))

    assert response["Content-Disposition"] == f'attachment; filename="{acme_invoice.number}.pdf"'
    assert acme_invoice.number in _text(response.content)


def test_download_pdf_of_several_invoices_says_to_select_one(invoice_admin, finance, acme, globex):
    _issue(acme), _issue(globex)
    request = _admin_request(finance)

    assert invoice_admin.download_pdf(request, Invoice.objects.all()) is None
    [message] = get_messages(request)
    assert "Select exactly one invoice" in str(message)


def test_the_months_zip_holds_every_invoice_and_credit_note_of_that_month_and_no_other(
    invoice_admin, finance, acme, globex, django_assert_max_num_queries
):
    october = _issue(acme)
    other = _issue(globex)
    note = _issue(acme, kind=Invoice.Kind.CREDIT_NOTE, corrects=october)
    _issue(acme, period=date(2026, 9, 1))
    request = _admin_request(finance)

    # One October invoice selected is enough: the ZIP is the month's.
    with django_assert_max_num_queries(4):
        response = invoice_admin.download_month_zip(request, Invoice.objects.filter(pk=october.pk))
        body = b"".join(response.streaming_content)

    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="invoices-2026-10.zip"'
    archive = zipfile.ZipFile(io.BytesIO(body))
    expected = sorted(f"{invoice.number}.pdf" for invoice in (october, other, note))
    assert sorted(archive.namelist()) == expected
    assert "Globex" in _text(archive.read(f"{other.number}.pdf"))
    assert "CREDIT NOTE" in _text(archive.read(f"{note.number}.pdf"))


def test_a_zip_of_invoices_from_two_months_asks_to_filter_one_month(invoice_admin, finance, acme):
    _issue(acme), _issue(acme, period=date(2026, 9, 1))
    request = _admin_request(finance)

    assert invoice_admin.download_month_zip(request, Invoice.objects.all()) is None
    [message] = get_messages(request)
    assert "Select invoices of one month" in str(message)


def test_finance_downloads_a_pdf_and_the_months_zip_from_the_invoice_admin(
    client, finance, acme, globex
):
    finance.groups.add(finance_group())
    october, other = _issue(acme), _issue(globex)
    _issue(acme, period=date(2026, 9, 1))
    client.force_login(finance)
    url = reverse("admin:billing_invoice_changelist") + "?month=2026-10"

    page = client.get(url)
    assert page.status_code == 200
    assert f'href="{_url(october)}"' in page.content.decode()  # the PDF column
    pdf = client.post(url, {"action": "download_pdf", "_selected_action": [october.pk]})
    assert pdf["Content-Disposition"] == f'attachment; filename="{october.number}.pdf"'
    zipped = client.post(
        url, {"action": "download_month_zip", "select_across": "1", "_selected_action": [other.pk]}
    )
    names = zipfile.ZipFile(io.BytesIO(b"".join(zipped.streaming_content))).namelist()
    assert sorted(names) == sorted([f"{october.number}.pdf", f"{other.number}.pdf"])
