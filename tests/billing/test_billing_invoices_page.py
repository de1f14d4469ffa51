"""The developer's Billing page: their invoices, this month's unbilled spend per campaign, the
PDF links (another account's invoice is a 404) and the account's tax / VAT id."""

from __future__ import annotations

import sys
import types
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import Invoice
from billing.services.invoices import invoices_issue_month
from console.models import Account
from tests.factories import AppFactory, CampaignFactory

from .invoice_helpers import NOVEMBER, OCTOBER, account_with_campaigns, at, charge

pytestmark = pytest.mark.django_db

OVERVIEW = "/billing/"


@pytest.fixture
def pdf_module(monkeypatch):
    """A stand-in PDF renderer when the real one (billing/pdf.py) is not in this tree."""
    try:
        import billing.pdf  # noqa: F401
    except ImportError:
        fake = types.ModuleType("billing.pdf")
        fake.invoice_pdf = lambda invoice: b"%PDF-1.4 " + invoice.number.encode()
        monkeypatch.setitem(sys.modules, "billing.pdf", fake)


def _acme_with_october(acme, alice):
    app = AppFactory(account=acme, created_by=alice, name="Space Miner")
    miner = CampaignFactory(app=app, name="Level Up", status="live")
    charge(miner, "25.0000", at(2026, 10, 3), times=2)
    with time_machine.travel(at(2026, 11, 1, 2, 0), tick=False):
        (invoice,) = invoices_issue_month(month=OCTOBER)
    return miner, invoice


def test_the_billing_page_lists_the_accounts_invoices_with_a_pdf_link(alice_client, acme, alice):
    _, invoice = _acme_with_october(acme, alice)
    globex, (quiz,) = account_with_campaigns("Globex", "Quiz Night")
    charge(quiz, "10.0000", at(2026, 10, 5))
    with time_machine.travel(at(2026, 11, 1, 3, 0), tick=False):
        invoices_issue_month(month=OCTOBER)

    with time_machine.travel(at(2026, 11, 10), tick=False):
        page = alice_client.get(OVERVIEW).content.decode()

    assert invoice.number in page
    assert "October 2026" in page
    assert "$50.00" in page
    assert 'href="/billing/invoices/MC-2026-000001.pdf"' in page
    assert reverse("billing:invoice_pdf", kwargs={"number": invoice.number}) in page
    assert "MC-2026-000002" not in page  # Globex's


def test_an_open_invoice_past_its_due_date_shows_as_overdue(alice_client, acme, alice):
    Account.objects.filter(pk=acme.pk).update(payment_terms="invoice")
    _acme_with_october(acme, alice)
    with time_machine.travel(at(2026, 11, 30), tick=False):
        assert "Overdue" not in alice_client.get(OVERVIEW).content.decode()
    with time_machine.travel(at(2026, 12, 2), tick=False):
        assert "Overdue" in alice_client.get(OVERVIEW).content.decode()


def test_this_months_unbilled_spend_is_shown_per_campaign(alice_client, acme, alice):
    miner, _ = _acme_with_october(acme, alice)
    other = CampaignFactory(app=miner.app, name="Boss Fight", status="live")
    charge(miner, "25.0000", at(2026, 11, 4), times=3)
    charge(other, "1.5000", at(2026, 11, 5))

    with time_machine.travel(at(2026, 11, 10), tick=False):
        response = alice_client.get(OVERVIEW)

    rows = {row["campaign__name"]: row for row in response.context["unbilled"]}
    assert (rows["Level Up"]["actions"], rows["Level Up"]["spend"]) == (3, Decimal("75.0000"))
    assert rows["Boss Fight"]["spend"] == Decimal("1.5000")
    assert response.context["unbilled_total"] == Decimal("76.5000")
    assert 'id="unbilled-total">$76.50' in response.content.decode()

    with time_machine.travel(at(2026, 12, 1, 2, 0), tick=False):
        invoices_issue_month(month=NOVEMBER)
        assert alice_client.get(OVERVIEW).context["unbilled"] == []


def test_the_billing_page_makes_the_same_number_of_queries_for_1_or_10_invoices(
    alice_client, acme, alice
):
    miner, _ = _acme_with_october(acme, alice)
    with time_machine.travel(at(2026, 11, 10), tick=False):
        alice_client.force_login(alice)
        alice_client.get(OVERVIEW)
        with CaptureQueriesContext(connection) as one:
            alice_client.get(OVERVIEW)
    for month in range(1, 10):
        charge(miner, "1.0000", at(2027, month, 3))
        with time_machine.travel(at(2027, month + 1, 1, 2, 0), tick=False):
            invoices_issue_month(month=date(2027, month, 1))
    assert Invoice.objects.filter(account=acme).count() == 10
    with time_machine.travel(at(2027, 10, 10), tick=False):
        alice_client.force_login(alice)
        alice_client.get(OVERVIEW)
        with CaptureQueriesContext(connection) as ten:
            alice_client.get(OVERVIEW)
    assert len(one.captured_queries) > 0
    assert len(ten.captured_queries) == len(one.captured_queries)


def test_a_developer_downloads_their_invoice_pdf(alice_client, acme, alice, pdf_module):
    _, invoice = _acme_with_october(acme, alice)
    response = alice_client.get(f"/billing/invoices/{invoice.number}.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    body = response.content if not response.streaming else b"".join(response.streaming_content)
    assert body.startswith(b"%PDF")


def test_another_accounts_invoice_pdf_is_a_404(charlie_client, acme, alice, pdf_module):
    _, invoice = _acme_with_october(acme, alice)
    assert charlie_client.get(f"/billing/invoices/{invoice.number}.pdf").status_code == 404
    assert charlie_client.get("/billing/invoices/MC-2099-000001.pdf").status_code == 404


def test_another_accounts_invoice_is_not_on_the_billing_page(charlie_client, acme, alice):
    _, invoice = _acme_with_october(acme, alice)
    page = charlie_client.get(OVERVIEW).content.decode()
    assert invoice.number not in page
    assert "Level Up" not in page


def test_an_anonymous_visitor_is_sent_to_sign_in_for_a_pdf(client, acme, alice):
    _, invoice = _acme_with_october(acme, alice)
    response = client.get(f"/billing/invoices/{invoice.number}.pdf")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_an_admin_sets_the_tax_id_shown_on_the_billing_page(alice_client, acme):
    response = alice_client.post("/billing/tax-id/", {"tax_id": "  de 123456789 "})
    assert response.status_code == 302
    acme.refresh_from_db()
    assert acme.tax_id == "DE 123456789"
    assert "DE 123456789" in alice_client.get(OVERVIEW).content.decode()
    alice_client.post("/billing/tax-id/", {"tax_id": ""})
    acme.refresh_from_db()
    assert acme.tax_id == ""


def test_a_tax_id_with_odd_characters_is_refused_with_a_message(alice_client, acme):
    response = alice_client.post("/billing/tax-id/", {"tax_id": "DE<script>"}, follow=True)
    assert "only letters, digits" in response.content.decode()
    acme.refresh_from_db()
    assert acme.tax_id == ""


def test_a_member_who_is_not_an_admin_cannot_change_the_tax_id(client, bob, acme):
    client.force_login(bob)
    assert "tax-id-form" not in client.get(OVERVIEW).content.decode()
    assert client.post("/billing/tax-id/", {"tax_id": "DE1"}).status_code == 403
    acme.refresh_from_db()
    assert acme.tax_id == ""


def test_the_next_invoice_carries_the_new_tax_id_and_issued_ones_keep_theirs(
    alice_client, acme, alice
):
    miner, october = _acme_with_october(acme, alice)
    alice_client.post("/billing/tax-id/", {"tax_id": "FR12345678901"})
    charge(miner, "25.0000", at(2026, 11, 3))
    with time_machine.travel(at(2026, 12, 1, 2, 0), tick=False):
        (november,) = invoices_issue_month(month=NOVEMBER)
    assert Invoice.objects.get(pk=october.pk).buyer_tax_id == ""
    assert november.buyer_tax_id == "FR12345678901"


def test_sign_up_takes_an_optional_tax_id(client):
    form = {
        "company": "Initech",
        "country": "US",
        "billing_address": "1 Main Street",
        "email": "peter@initech.test",
        "password": "correct-horse-battery-staple-9",
    }
    client.post("/signup/", {**form, "tax_id": "us 12-3456789"})
    assert Account.objects.get(name="Initech").tax_id == "US 12-3456789"
    client.logout()
    client.post("/signup/", {**form, "company": "Hooli", "email": "gavin@hooli.test"})
    assert Account.objects.get(name="Hooli").tax_id == ""


def test_sign_up_refuses_a_tax_id_that_cannot_be_one(client):
    response = client.post(
        "/signup/",
        {
            "company": "Initech",
            "country": "US",
            "billing_address": "1 Main Street",
            "email": "peter@initech.test",
            "password": "correct-horse-battery-staple-9",
            "tax_id": "DE;DROP",
        },
    )
    assert response.status_code == 200
    assert "only letters, digits" in response.content.decode()
    assert not Account.objects.filter(name="Initech").exists()
