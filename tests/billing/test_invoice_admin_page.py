"""The invoice's admin page as finance's desk (issue 20, item 4): its actions as buttons
(record a payment, credit note, PDF, email), partial payments and partial credit notes, errors
that keep what was typed, internal fields hidden and one status everywhere."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.core import mail

from billing.models import Invoice, Payment
from billing.services.invoices import invoices_issue_month
from tests.factories import UserFactory

from .invoice_helpers import OCTOBER, account_with_campaigns, at, charge, finance_group

pytestmark = pytest.mark.django_db

LIST = "/admin/billing/invoice/"


@pytest.fixture
def october():
    """Acme pays by card ($50.00, paid on issue); Globex is on invoice terms ($30.00, open,
    due 1 December)."""
    _, (miner,) = account_with_campaigns("Acme Games", "Space Miner")
    _, (quiz,) = account_with_campaigns("Globex", "Quiz Night", terms="invoice", card=False)
    charge(miner, "25.0000", at(2026, 10, 3), times=2)
    charge(quiz, "10.0000", at(2026, 10, 4), times=3)
    with time_machine.travel(at(2026, 11, 1, 2, 0), tick=False):
        card_paid, open_invoice = invoices_issue_month(month=OCTOBER)
    return card_paid, open_invoice


@pytest.fixture
def finance_client(client, finance):
    finance.groups.add(finance_group())
    client.force_login(finance)
    return client


def _page(client, invoice) -> str:
    response = client.get(f"{LIST}{invoice.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_invoice_page_has_its_actions_as_buttons_and_hides_internal_fields(
    finance_client, october
):
    _, invoice = october
    with time_machine.travel(at(2026, 11, 10), tick=False):
        page = _page(finance_client, invoice)

    assert f'href="{LIST}{invoice.pk}/payment/"' in page and "Record payment…" in page
    assert f'href="{LIST}{invoice.pk}/credit/"' in page and "Issue credit note…" in page
    assert f'href="/billing/invoices/{invoice.number}.pdf"' in page
    assert f'action="{LIST}{invoice.pk}/email/"' in page
    assert "Email claimed at" not in page and "email_claimed_at" not in page
    assert '<strong id="invoice-balance">$30.00</strong>' in page


def test_the_invoice_page_says_overdue_as_the_list_does(finance_client, october):
    # On the old code the list said "Overdue" and the invoice's own page "Open".
    _, invoice = october
    with time_machine.travel(at(2026, 12, 2), tick=False):
        page = _page(finance_client, invoice)
        listing = finance_client.get(LIST).content.decode()

    assert '<strong id="invoice-status">Overdue</strong>' in page
    assert '<div class="readonly">Overdue</div>' in page
    assert '<div class="readonly">Open</div>' not in page
    assert "Overdue" in listing


def test_a_paid_invoice_offers_no_payment_and_a_viewer_gets_no_buttons(
    finance_client, client, october
):
    card_paid, invoice = october
    page = _page(finance_client, card_paid)
    assert "Record payment…" not in page and "Issue credit note…" in page

    viewer = UserFactory(email="vera@moments.test", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_invoice"))
    client.force_login(viewer)
    page = _page(client, invoice)
    assert "Record payment…" not in page and "Issue credit note…" not in page
    assert "Email PDF" not in page and "Download PDF" in page
    assert client.get(f"{LIST}{invoice.pk}/payment/").status_code == 403
    assert client.post(f"{LIST}{invoice.pk}/email/").status_code == 403


def test_finance_records_a_partial_payment_then_the_rest(finance_client, october):
    _, invoice = october
    url = f"{LIST}{invoice.pk}/payment/"
    with time_machine.travel(at(2026, 11, 20), tick=False):
        form = finance_client.get(url).content.decode()
        assert 'name="amount"' in form and 'value="30.00"' in form  # the balance, prefilled
        first = finance_client.post(
            url, {"amount": "12.00", "paid_on": "2026-11-18", "reference": "WIRE-1"}
        )
        assert first.status_code == 302
        page = _page(finance_client, invoice)
        assert '<strong id="invoice-status">Partially paid</strong>' in page
        assert '<strong id="invoice-balance">$18.00</strong>' in page
        assert "WIRE-1" in page  # the payments received
        finance_client.post(url, {"amount": "", "paid_on": "2026-11-19", "reference": "WIRE-2"})

    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.paid_reference) == (
        "paid",
        Decimal("30.00"),
        "WIRE-2",
    )
    assert list(Payment.objects.order_by("pk").values_list("amount", flat=True)) == [
        Decimal("12.00"),
        Decimal("18.00"),
    ]


def test_a_refused_payment_shows_why_and_keeps_what_was_typed(finance_client, october):
    _, invoice = october
    with time_machine.travel(at(2026, 11, 20), tick=False):
        response = finance_client.post(
            f"{LIST}{invoice.pk}/payment/",
            {"amount": "45.00", "paid_on": "2026-11-18", "reference": "WIRE-77"},
        )

    page = response.content.decode()
    assert response.status_code == 200
    assert "At most $30.00 is due on" in page
    assert 'value="45.00"' in page and 'value="WIRE-77"' in page and 'value="2026-11-18"' in page
    assert not Payment.objects.exists()


def test_the_list_action_keeps_what_was_typed_when_the_service_refuses(finance_client, october):
    # On the old code a refusal (here: a date in the future) sent finance back to the list,
    # and what was typed was lost.
    _, invoice = october
    with time_machine.travel(at(2026, 11, 20), tick=False):
        response = finance_client.post(
            LIST,
            {
                "action": "mark_paid",
                ACTION_CHECKBOX_NAME: [invoice.pk],
                "apply": "1",
                "amount": "10.00",
                "paid_on": "2026-11-25",
                "reference": "WIRE-88",
            },
        )

    page = response.content.decode()
    assert response.status_code == 200
    assert "The payment date cannot be in the future." in page
    assert 'value="WIRE-88"' in page and 'value="10.00"' in page
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("open", Decimal("0.00"))


def test_the_list_action_records_a_partial_payment(finance_client, october):
    _, invoice = october
    with time_machine.travel(at(2026, 11, 20), tick=False):
        done = finance_client.post(
            LIST,
            {
                "action": "mark_paid",
                ACTION_CHECKBOX_NAME: [invoice.pk],
                "apply": "1",
                "amount": "10.00",
                "paid_on": "2026-11-18",
                "reference": "WIRE-5",
            },
        )
        assert done.status_code == 302
        listing = finance_client.get(LIST).content.decode()

    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("open", Decimal("10.00"))
    assert "Partially paid" in listing


def test_finance_issues_a_partial_credit_note_from_the_invoice_page(finance_client, october):
    card_paid, _ = october
    url = f"{LIST}{card_paid.pk}/credit/"
    assert "At most $50.00 is left to credit" in finance_client.get(url).content.decode()

    response = finance_client.post(url, {"amount": "7.50", "reason": "Bot traffic"})

    assert response.status_code == 302
    note = Invoice.objects.get(corrects=card_paid)
    assert (note.total, note.reason) == (Decimal("-7.50"), "Bot traffic")
    # A credit note reads "Applied", never "Paid".
    page = _page(finance_client, note)
    assert '<strong id="invoice-status">Applied</strong>' in page
    assert "Record payment…" not in page and "Issue credit note…" not in page
    listing = finance_client.get(LIST, {"kind": "credit_note"}).content.decode()
    assert '<td class="field-status_shown">Applied</td>' in listing
    too_much = finance_client.post(url, {"amount": "50.00", "reason": "Again"})
    assert "At most $42.50 is left to credit" in too_much.content.decode()
    assert 'value="50.00"' in too_much.content.decode()


def test_the_list_action_credits_an_amount(finance_client, october):
    card_paid, _ = october
    finance_client.post(
        LIST,
        {
            "action": "issue_credit_note",
            ACTION_CHECKBOX_NAME: [card_paid.pk],
            "apply": "1",
            "amount": "5.00",
            "reason": "Goodwill",
        },
    )

    assert Invoice.objects.get(corrects=card_paid).total == Decimal("-5.00")


def test_email_pdf_sends_it_again_to_the_account(finance_client, october):
    card_paid, _ = october
    mail.outbox.clear()

    response = finance_client.post(f"{LIST}{card_paid.pk}/email/")

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["owner@acmegames.test"]
    assert mail.outbox[0].attachments[0][0] == f"{card_paid.number}.pdf"


def test_reviewers_cannot_reach_the_invoice_actions(client, reviewer_in_group, october):
    _, invoice = october
    client.force_login(reviewer_in_group)
    for action in ("payment", "credit", "email"):
        assert client.post(f"{LIST}{invoice.pk}/{action}/").status_code == 403
    invoice.refresh_from_db()
    assert invoice.status == "open"
    assert date(2026, 12, 1) == invoice.due_date
