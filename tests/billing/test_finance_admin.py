"""Finance's invoice list in the Django admin: filters, search, the filtered total, the CSV
link with the current filters, mark paid and credit notes (SPEC §9)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from billing.models import Invoice
from billing.services.invoices import invoices_issue_month

from .invoice_helpers import OCTOBER, account_with_campaigns, at, charge, finance_group

pytestmark = pytest.mark.django_db

LIST = "/admin/billing/invoice/"


@pytest.fixture
def october():
    acme, (miner,) = account_with_campaigns("Acme Games", "Space Miner")
    globex, (quiz,) = account_with_campaigns("Globex", "Quiz Night", terms="invoice", card=False)
    charge(miner, "25.0000", at(2026, 10, 3), times=2)
    charge(quiz, "10.0000", at(2026, 10, 4), times=3)
    charge(miner, "25.0000", at(2026, 9, 30))
    with time_machine.travel(at(2026, 10, 1, 2, 0), tick=False):
        invoices_issue_month(month=date(2026, 9, 1))
    with time_machine.travel(at(2026, 11, 1, 2, 0), tick=False):
        invoices_issue_month(month=OCTOBER)
    return {i.number: i for i in Invoice.objects.all()}


@pytest.fixture
def finance_client(client, finance):
    finance.groups.add(finance_group())
    client.force_login(finance)
    return client


def test_finance_filters_october_and_sees_its_invoices_and_their_total(finance_client, october):
    response = finance_client.get(LIST, {"month": "2026-10"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "MC-2026-000002" in page and "MC-2026-000003" in page
    assert "MC-2026-000001" not in page  # September's
    assert response.context["filtered_total"] == Decimal("80.00")
    assert "2 invoices" in page
    assert response.context["invoices_csv"] == "/finance/invoices.csv?month=2026-10"
    assert 'href="/finance/invoices.csv?month=2026-10"' in page


def test_the_csv_link_carries_every_current_filter_and_the_search(finance_client, october):
    response = finance_client.get(
        LIST, {"month": "2026-10", "status": "open", "terms": "invoice", "q": "Glob"}
    )
    assert response.context["invoices_csv"] == (
        "/finance/invoices.csv?month=2026-10&status=open&terms=invoice&q=Glob"
    )
    assert response.context["filtered_total"] == Decimal("30.00")


def test_finance_searches_by_number_or_company(finance_client, october):
    by_number = finance_client.get(LIST, {"q": "MC-2026-000003"})
    by_company = finance_client.get(LIST, {"q": "acme"})
    assert list(by_number.context["cl"].queryset.values_list("number", flat=True)) == [
        "MC-2026-000003"
    ]
    assert sorted(by_company.context["cl"].queryset.values_list("number", flat=True)) == [
        "MC-2026-000001",
        "MC-2026-000002",
    ]


def test_the_account_filter_lists_the_accounts_with_invoices(finance_client, october):
    globex = october["MC-2026-000003"].account
    response = finance_client.get(LIST, {"account": globex.pk})
    assert response.context["filtered_total"] == Decimal("30.00")
    assert response.context["filtered_count"] == 1


def test_a_bad_month_in_the_list_does_not_crash_the_page(finance_client, october):
    response = finance_client.get(LIST, {"month": "2026-99"})
    assert response.status_code in (200, 302)
    assert response.status_code != 500


def test_mark_paid_asks_for_a_date_and_a_reference_then_records_them(finance_client, october):
    globex_invoice = october["MC-2026-000003"]
    selection = {"action": "mark_paid", ACTION_CHECKBOX_NAME: [globex_invoice.pk]}

    form_page = finance_client.post(LIST, selection)
    assert form_page.status_code == 200
    assert "Payment reference" in form_page.content.decode()

    with time_machine.travel(at(2026, 11, 20), tick=False):
        done = finance_client.post(
            LIST, {**selection, "apply": "1", "paid_on": "2026-11-18", "reference": "WIRE-77"}
        )
    assert done.status_code == 302
    globex_invoice.refresh_from_db()
    assert (globex_invoice.status, globex_invoice.paid_on, globex_invoice.paid_reference) == (
        "paid",
        date(2026, 11, 18),
        "WIRE-77",
    )


def test_mark_paid_without_a_reference_shows_the_form_again(finance_client, october):
    invoice = october["MC-2026-000003"]
    response = finance_client.post(
        LIST,
        {
            "action": "mark_paid",
            ACTION_CHECKBOX_NAME: [invoice.pk],
            "apply": "1",
            "paid_on": "2026-11-18",
            "reference": "",
        },
    )
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == "open"


def test_a_credit_note_from_the_list_takes_the_next_number(finance_client, october):
    invoice = october["MC-2026-000002"]
    selection = {"action": "issue_credit_note", ACTION_CHECKBOX_NAME: [invoice.pk]}

    assert "Reason" in finance_client.post(LIST, selection).content.decode()
    finance_client.post(LIST, {**selection, "apply": "1", "reason": "Bot traffic"})

    note = Invoice.objects.get(corrects=invoice)
    assert (note.number, note.total, note.reason) == (
        "MC-2026-000004",
        Decimal("-50.00"),
        "Bot traffic",
    )
    assert invoice.is_corrected


def test_an_invoice_page_is_read_only_for_finance(finance_client, october):
    invoice = october["MC-2026-000002"]
    url = f"{LIST}{invoice.pk}/change/"
    page = finance_client.get(url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert "Space Miner — 2 actions × $25.00" in page.content.decode()
    finance_client.post(url, {"buyer_company": "Someone else"})
    invoice.refresh_from_db()
    assert invoice.buyer_company == "Acme Games"
    assert finance_client.get(f"{LIST}add/").status_code == 403
    assert finance_client.get(f"{LIST}{invoice.pk}/delete/").status_code == 403


def test_reviewers_never_see_invoices(client, reviewer_in_group, october):
    client.force_login(reviewer_in_group)
    assert client.get(LIST).status_code == 403
    assert client.get(f"{LIST}{october['MC-2026-000001'].pk}/change/").status_code == 403
    assert "/admin/billing/invoice/" not in client.get("/admin/").content.decode()


def test_the_list_makes_a_fixed_number_of_queries(
    finance_client, october, django_assert_max_num_queries
):
    with django_assert_max_num_queries(14):
        finance_client.get(LIST)
    for n in range(5):
        _, (campaign,) = account_with_campaigns(f"More {n}", f"Game {n}")
        charge(campaign, "1.0000", at(2026, 10, 9))
    with time_machine.travel(at(2026, 11, 1, 3, 0), tick=False):
        invoices_issue_month(month=OCTOBER)
    with django_assert_max_num_queries(14):
        finance_client.get(LIST)


def test_invoice_amounts_show_with_their_currency_in_the_list_and_on_the_page(
    finance_client, october
):
    invoice = october["MC-2026-000002"]  # Acme's October: 2 actions × $25
    listing = finance_client.get(LIST, {"month": "2026-10"}).content.decode()
    assert "$50.00" in listing and "$30.00" in listing
    page = finance_client.get(f"{LIST}{invoice.pk}/change/").content.decode()
    assert page.count("$50.00") >= 3  # subtotal, total and the line's amount
    assert "$25.00" in page  # the line's unit CPA
    for raw in (">50.00<", ">25.0000<", "<p>50.00</p>"):
        assert raw not in listing and raw not in page
