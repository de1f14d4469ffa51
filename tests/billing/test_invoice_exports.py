"""Finance's CSV exports: /finance/invoices.csv and /finance/invoice-lines.csv (SPEC §9)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
import time_machine
from django.http import StreamingHttpResponse

from billing.models import Invoice
from billing.services.invoices import credit_note_issue, invoices_issue_month

from .invoice_helpers import NOVEMBER, OCTOBER, account_with_campaigns, at, charge, finance_group

pytestmark = pytest.mark.django_db

INVOICES = "/finance/invoices.csv"
LINES = "/finance/invoice-lines.csv"


@pytest.fixture
def books(finance):
    """Three accounts invoiced for October (one on invoice terms), one for November, and a
    credit note on Acme's October invoice."""
    acme, (miner, racer) = account_with_campaigns("Acme Games", "Space Miner", "Road Racer")
    globex, (quiz,) = account_with_campaigns("Globex", "Quiz Night")
    initech, (tetra,) = account_with_campaigns("Initech", "Tetra", terms="invoice", card=False)
    acme.tax_id = "DE123456789"
    acme.save(update_fields=["tax_id"])
    charge(miner, "0.3333", at(2026, 10, 3), times=3)
    charge(racer, "25.0000", at(2026, 10, 4), times=2)
    charge(quiz, "10.0050", at(2026, 10, 5), times=3)
    charge(tetra, "7.5000", at(2026, 10, 6), times=4)
    charge(tetra, "7.5000", at(2026, 11, 6))
    with time_machine.travel(at(2026, 11, 1, 2, 0), tick=False):
        invoices_issue_month(month=OCTOBER)
        credit_note_issue(
            actor=finance,
            invoice=Invoice.objects.get(account=acme),
            reason="Test traffic",
            amount=Decimal("1.00"),
        )
    with time_machine.travel(at(2026, 12, 1, 2, 0), tick=False):
        invoices_issue_month(month=NOVEMBER)
    return {"acme": acme, "globex": globex, "initech": initech}


@pytest.fixture
def finance_client(client, finance):
    finance.groups.add(finance_group())
    client.force_login(finance)
    return client


def _rows(response) -> list[dict]:
    assert response.status_code == 200, response.content
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_the_october_csv_has_one_row_per_invoice_and_its_totals_match_the_books(
    finance_client, books
):
    rows = _rows(finance_client.get(INVOICES, {"month": "2026-10"}))

    october = Invoice.objects.filter(period=OCTOBER).order_by("number")
    assert [r["number"] for r in rows] == [i.number for i in october]
    assert len(rows) == 4  # three invoices and a credit note
    by_number = {r["number"]: r for r in rows}
    for invoice in october:
        assert Decimal(by_number[invoice.number]["total"]) == invoice.total
    assert sum(Decimal(r["total"]) for r in rows) == sum(i.total for i in october)
    acme = by_number["MC-2026-000001"]
    assert acme["company"] == "Acme Games"
    assert acme["tax id"] == "DE123456789"
    assert acme["type"] == "invoice"
    assert (acme["status"], acme["payment terms"], acme["paid date"]) == (
        "paid",
        "card",
        "2026-11-01",
    )
    note = by_number["MC-2026-000004"]
    assert (note["type"], note["corrects"], note["total"]) == (
        "credit note",
        "MC-2026-000001",
        "-1.00",
    )


def test_the_csv_has_the_columns_finance_files(finance_client, books):
    response = finance_client.get(INVOICES)
    header = b"".join(response.streaming_content).decode().splitlines()[0]
    assert header == (
        "number,type,corrects,issue date,due date,period,account id,company,country,tax id,"
        "payment terms,status,subtotal,total,amount paid,currency,paid date,reference"
    )
    assert 'filename="invoices.csv"' in response["Content-Disposition"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "open"}, ["MC-2026-000003", "MC-2026-000005"]),
        ({"terms": "invoice"}, ["MC-2026-000003", "MC-2026-000005"]),
        ({"month": "2026-11"}, ["MC-2026-000005"]),
        (
            {"month": "2026-10", "terms": "card", "status": "paid"},
            ["MC-2026-000001", "MC-2026-000002", "MC-2026-000004"],
        ),
        ({"q": "globex"}, ["MC-2026-000002"]),
        ({"kind": "credit_note"}, ["MC-2026-000004"]),
    ],
)
def test_the_filters_select_the_invoices_finance_asked_for(finance_client, books, params, expected):
    rows = _rows(finance_client.get(INVOICES, params))
    assert [r["number"] for r in rows] == expected


def test_the_account_filter_selects_one_accounts_invoices(finance_client, books):
    initech = books["initech"]
    rows = _rows(finance_client.get(INVOICES, {"account": initech.pk}))
    assert {r["account id"] for r in rows} == {str(initech.pk)}
    assert len(rows) == 2


def test_overdue_is_a_status_finance_can_export(finance_client, books):
    with time_machine.travel(at(2026, 12, 2), tick=False):
        rows = _rows(finance_client.get(INVOICES, {"status": "overdue"}))
    assert [r["number"] for r in rows] == ["MC-2026-000003"]


def test_the_lines_csv_has_the_lines_of_the_filtered_invoices(finance_client, books):
    rows = _rows(finance_client.get(LINES, {"month": "2026-10", "account": books["acme"].pk}))

    assert [(r["invoice number"], r["description"], r["amount"]) for r in rows] == [
        ("MC-2026-000001", "Road Racer — 2 actions × $25.00", "50.00"),
        ("MC-2026-000001", "Space Miner — 3 actions × $0.3333", "1.00"),
        ("MC-2026-000004", "Credit on MC-2026-000001: Test traffic", "-1.00"),
    ]
    assert rows[2]["type"] == "credit note"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"month": "October"}, "month must be a month as YYYY-MM"),
        ({"month": "2026-13"}, "month must be a month as YYYY-MM"),
        ({"status": "late"}, "status must be one of open, paid, void, overdue"),
        ({"terms": "cash"}, "terms must be one of card, invoice"),
        ({"account": "acme"}, "account must be an account id"),
        ({"kind": "refund"}, "kind must be one of invoice, credit_note"),
    ],
)
@pytest.mark.parametrize("url", [INVOICES, LINES])
def test_a_bad_filter_is_a_400_that_says_what_is_expected(finance_client, url, params, message):
    response = finance_client.get(url, params)
    assert response.status_code == 400
    assert message in response.content.decode()


@pytest.mark.parametrize("url", [INVOICES, LINES])
def test_a_reviewer_is_refused_the_exports(client, reviewer_in_group, books, url):
    client.force_login(reviewer_in_group)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", [INVOICES, LINES])
def test_a_developer_does_not_learn_the_exports_exist(alice_client, books, url):
    assert alice_client.get(url).status_code == 404


@pytest.mark.parametrize("url", [INVOICES, LINES])
def test_an_anonymous_visitor_is_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_the_export_reads_in_a_fixed_number_of_queries(
    finance_client, books, django_assert_max_num_queries
):
    with django_assert_max_num_queries(6):
        response = finance_client.get(INVOICES)
        b"".join(response.streaming_content)


def test_a_company_name_that_reads_as_a_formula_is_neutralised_and_credits_stay_numbers(
    finance_client, finance
):
    """OWASP CSV injection: a developer types the company name, finance opens the CSV in a
    spreadsheet. The name arrives as text (a leading quote); a credit note's negative amount
    is still a number a spreadsheet adds up."""
    evil = '=HYPERLINK("http://evil","x")'
    account, (campaign,) = account_with_campaigns(evil, "-Minus Game")
    charge(campaign, "12.0000", at(2026, 10, 3))
    with time_machine.travel(at(2026, 11, 1, 2, 0), tick=False):
        (invoice,) = invoices_issue_month(month=OCTOBER)
        credit_note_issue(actor=finance, invoice=invoice, reason="@refund", amount=None)

    rows = _rows(finance_client.get(INVOICES, {"month": "2026-10"}))
    assert [r["company"] for r in rows] == ["'" + evil, "'" + evil]
    assert [(r["total"], r["currency"]) for r in rows] == [("12.00", "USD"), ("-12.00", "USD")]

    lines = _rows(finance_client.get(LINES, {"month": "2026-10"}))
    assert {r["company"] for r in lines} == {"'" + evil}
    assert lines[0]["description"] == "'-Minus Game — 1 action × $12.00"
    assert (lines[0]["unit cpa"], lines[0]["amount"]) == ("12.0000", "12.00")
    assert (lines[1]["amount"], lines[1]["currency"]) == ("-12.00", "USD")


def test_the_csv_says_overdue_and_applied_as_the_admin_does(finance_client, books):
    # On the old code an overdue invoice read "open" here while the admin list said "Overdue".
    with time_machine.travel(at(2026, 12, 2), tick=False):
        rows = {r["number"]: r for r in _rows(finance_client.get(INVOICES))}

    assert rows["MC-2026-000003"]["status"] == "overdue"  # Initech, due 1 December
    assert rows["MC-2026-000004"]["status"] == "applied"  # the credit note
    assert rows["MC-2026-000001"]["status"] == "paid"
    assert rows["MC-2026-000005"]["status"] == "open"  # November's, not due yet
    assert {r["currency"] for r in rows.values()} == {"USD"}


def test_the_lines_csv_names_campaigns_by_their_public_id_and_name(finance_client, books):
    rows = _rows(finance_client.get(LINES, {"account": books["acme"].pk}))

    racer = next(r for r in rows if r["description"].startswith("Road Racer"))
    campaign = books["acme"].campaigns.get(name="Road Racer")
    assert (racer["campaign id"], racer["campaign"]) == (str(campaign.campaign_id), "Road Racer")
    assert str(campaign.pk) not in {r["campaign id"] for r in rows}
    assert {r["currency"] for r in rows} == {"USD"}
