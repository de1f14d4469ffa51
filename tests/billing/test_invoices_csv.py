"""The developer's invoices list as CSV (Billing page): their own account's invoices only, with
the numbers of the PDFs, the currency beside every amount and the same tax note."""

from __future__ import annotations

import csv
import io

import pytest
import time_machine

from billing.services.invoices import invoices_issue_month

from .invoice_helpers import OCTOBER, account_with_campaigns, at, charge

pytestmark = pytest.mark.django_db

CSV_URL = "/billing/invoices.csv"


def _rows(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="invoices.csv"' in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def _issue_october(*accounts_and_charges):
    for campaign, amount, times in accounts_and_charges:
        charge(campaign, amount, at(2026, 10, 3), times=times)
    with time_machine.travel(at(2026, 11, 1, 2, 0), tick=False):
        return {invoice.account_id: invoice for invoice in invoices_issue_month(month=OCTOBER)}


def test_a_member_downloads_their_accounts_invoices_and_no_one_elses(client, settings):
    settings.INVOICE_SELLER_COUNTRY = "DE"
    acme, (miner,) = account_with_campaigns("Acme", "Level Up", terms="invoice", card=False)
    globex, (quiz,) = account_with_campaigns("Globex", "Quiz Night")
    invoices = _issue_october((miner, "1234.5000", 2), (quiz, "10.0000", 1))
    mine, theirs = invoices[acme.pk], invoices[globex.pk]
    client.force_login(acme.memberships.get().user)

    with time_machine.travel(at(2026, 11, 10), tick=False):
        rows = _rows(client.get(CSV_URL))

    assert [row["number"] for row in rows] == [mine.number]
    (row,) = rows
    assert row["type"] == "invoice"
    assert row["period"] == "2026-10"
    assert row["issue date"] == "2026-11-01"
    assert row["due date"] == "2026-12-01"  # invoice terms: 30 days
    assert row["status"] == "open"
    assert (row["subtotal"], row["tax"], row["total"]) == ("2469.00", "0.00", "2469.00")
    assert row["currency"] == "USD"
    assert row["tax note"] == "No tax charged"
    assert theirs.number not in str(rows)


def test_an_outsider_gets_nothing_of_another_accounts_invoices(client):
    acme, (miner,) = account_with_campaigns("Acme", "Level Up")
    globex, _ = account_with_campaigns("Globex")
    invoices = _issue_october((miner, "25.0000", 2))
    client.force_login(globex.memberships.get().user)

    rows = _rows(client.get(CSV_URL))

    assert rows == []
    assert invoices[acme.pk].number not in str(rows)


def test_signed_out_the_csv_sends_to_the_sign_in_page(client):
    response = client.get(CSV_URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_card_paid_invoice_is_due_on_its_issue_date_and_a_vat_buyer_abroad_reverse_charged(
    client, settings
):
    settings.INVOICE_SELLER_COUNTRY = "DE"
    acme, (miner,) = account_with_campaigns("Acme", "Level Up")
    acme.country, acme.tax_id = "FR", "FR12345678901"
    acme.save(update_fields=["country", "tax_id"])
    _issue_october((miner, "25.0000", 2))
    client.force_login(acme.memberships.get().user)

    (row,) = _rows(client.get(CSV_URL))
    page = client.get("/billing/").content.decode()

    assert row["status"] == "paid" and row["paid by"] == "Visa •••• 4242"
    assert row["due date"] == "2026-11-01"
    assert row["tax note"].startswith("Reverse charge: VAT to be accounted for by the recipient")
    # The page says the same, from the same function.
    assert "Reverse charge: VAT to be accounted for by the recipient" in page
    assert 'href="/billing/invoices.csv"' in page
