"""Bank reconciliation (finance desk, issue 20): a CSV of transfers is matched to open invoices
by number and amount; ambiguous and unmatched lines say why; finance confirms the matches in
one step; the same CSV uploaded again marks nothing paid twice; a bad CSV is refused whole."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from billing.models import BankLine, BankStatement, Invoice
from billing.services.invoices import invoices_issue_month
from billing.services.reconciliation import (
    StatementRefused,
    statement_confirm,
    statement_upload,
)
from console.models import ActivityEntry

from .invoice_helpers import OCTOBER, account_with_campaigns, at, charge, finance_group

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance_user(finance):
    finance.groups.add(finance_group())
    return finance


@pytest.fixture
def open_invoices():
    """Four invoice-terms accounts owe October: Globex $30, Initech $45, Hooli $45, Umbrella
    $12.50 (numbers in account order)."""
    made = {}
    for name, cpa in (("Globex", "30"), ("Initech", "45"), ("Hooli", "45"), ("Umbrella", "12.5")):
        _, (campaign,) = account_with_campaigns(name, f"{name} game", terms="invoice", card=False)
        charge(campaign, cpa, at(2026, 10, 5))
    with time_machine.travel(at(2026, 11, 1, 2, 0), tick=False):
        invoices_issue_month(month=OCTOBER)
    for invoice in Invoice.objects.all():
        made[invoice.buyer_company] = invoice
    return made


def statement_csv(inv) -> bytes:
    g, i, h, u = inv["Globex"], inv["Initech"], inv["Hooli"], inv["Umbrella"]
    return (
        "date,amount,reference\n"
        f"2026-11-10,30.00,Payment {g.number} Globex Ltd\n"  # matched
        f"2026-11-11,45.00,INVOICE {i.number.lower()}\n"  # matched (case does not matter)
        "2026-11-12,45.00,Hooli monthly\n"  # no number: Initech and Hooli both owe $45
        f"2026-11-12,10.00,{u.number}\n"  # the wrong amount
        "2026-11-13,99.00,Unknown sender\n"  # nothing owes $99
        f"2026-11-14,75.00,{i.number} {h.number}\n"  # two invoices in one transfer
        "2026-11-14,5.00,MC-2026-999999\n"  # no such invoice
    ).encode()


def upload(actor, content: bytes, name: str = "bank.csv"):
    with time_machine.travel(at(2026, 11, 20), tick=False):
        return statement_upload(actor=actor, filename=name, content=content)


def outcomes(statement):
    return [(line.row, line.outcome) for line in statement.lines.order_by("row")]


def test_lines_are_matched_by_number_and_amount_and_the_others_say_why(finance_user, open_invoices):
    statement = upload(finance_user, statement_csv(open_invoices))
    assert outcomes(statement) == [
        (2, "matched"),
        (3, "matched"),
        (4, "ambiguous"),
        (5, "unmatched"),
        (6, "unmatched"),
        (7, "ambiguous"),
        (8, "unmatched"),
    ]
    why = {line.row: line.why for line in statement.lines.all()}
    initech, hooli, umbrella = (open_invoices[n] for n in ("Initech", "Hooli", "Umbrella"))
    assert why[4].startswith("No invoice number in the reference; 2 open invoice(s) owe $45.00")
    assert initech.number in why[4] and hooli.number in why[4]
    assert why[5] == f"$10.00 differs from the $12.50 owed on {umbrella.number}."
    assert why[6] == "No invoice number in the reference and no open invoice owes $99.00."
    assert why[7].startswith("The reference names 2 invoices")
    assert why[8] == "No invoice numbered MC-2026-999999."
    # Nothing is paid before finance confirms.
    assert Invoice.objects.filter(status="paid").count() == 0


def test_confirming_pays_the_matches_once_and_a_second_upload_marks_nothing(
    finance_user, open_invoices
):
    content = statement_csv(open_invoices)
    first = upload(finance_user, content)
    with time_machine.travel(at(2026, 11, 20, 13), tick=False):
        done = statement_confirm(actor=finance_user, statement=first)
        again = statement_confirm(actor=finance_user, statement=first)  # a double click
    globex, initech = open_invoices["Globex"], open_invoices["Initech"]
    assert sorted(done.paid) == sorted([globex.number, initech.number])
    assert again.paid == [] and again.refused == []
    globex.refresh_from_db()
    assert globex.status == "paid" and globex.paid_on == date(2026, 11, 10)
    assert globex.paid_reference == f"Bank transfer 2026-11-10: Payment {globex.number} Globex Ltd"
    assert ActivityEntry.objects.filter(action="invoice.paid").count() == 2

    # The same file again: every line is recognised, nothing is matched or paid.
    second = upload(finance_user, content, name="bank-again.csv")
    assert {o for _, o in outcomes(second)} == {"duplicate"}
    assert all(line.duplicate_of_id for line in second.lines.all())
    with time_machine.travel(at(2026, 11, 21), tick=False):
        assert statement_confirm(actor=finance_user, statement=second).paid == []
    assert ActivityEntry.objects.filter(action="invoice.paid").count() == 2
    assert Invoice.objects.filter(status="paid").count() == 2
    (confirmed,) = ActivityEntry.objects.filter(action="bank_statement.confirmed")
    assert sorted(confirmed.data["paid"]) == sorted([globex.number, initech.number])
    uploads = ActivityEntry.objects.filter(action="bank_statement.uploaded").order_by("pk")
    assert [u.data["duplicate"] for u in uploads] == [0, 7]


def test_a_new_statement_naming_a_paid_invoice_does_not_pay_it_again(finance_user, open_invoices):
    globex = open_invoices["Globex"]
    first = upload(
        finance_user, f"date,amount,reference\n2026-11-10,30.00,{globex.number}\n".encode()
    )
    with time_machine.travel(at(2026, 11, 20, 13), tick=False):
        statement_confirm(actor=finance_user, statement=first)
    # A different transfer (another day) naming the same, now paid, invoice.
    later = upload(
        finance_user, f"date,amount,reference\n2026-11-15,30.00,{globex.number}\n".encode()
    )
    (line,) = later.lines.all()
    assert (
        line.outcome == "unmatched" and line.why == f"{globex.number} is not open (paid or void)."
    )


def test_two_identical_transfers_in_one_file_are_two_lines_both_ambiguous(
    finance_user, open_invoices
):
    globex = open_invoices["Globex"]
    row = f"2026-11-10,30.00,{globex.number}\n"
    statement = upload(finance_user, ("date,amount,reference\n" + row + row).encode())
    assert outcomes(statement) == [(2, "ambiguous"), (3, "ambiguous")]
    assert statement.lines.first().why == f"2 lines of this file name {globex.number}."


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"when,amount,reference\n2026-11-10,30.00,x\n", "missing: date"),
        (
            b"date,amount,reference\n10 Nov,30.00,x\n",
            "Line 2: the date '10 Nov' is not YYYY-MM-DD.",
        ),
        (b"date,amount,reference\n2026-11-10,thirty,x\n", "Line 2: the amount 'thirty'"),
        (b"date,amount,reference\n2026-11-10,-5.00,x\n", "Line 2: the amount must be"),
        (b"date,amount,reference\n", "no transfer lines"),
        (b"\xff\xfe\x00d", "not UTF-8"),
    ],
)
def test_a_bad_csv_is_refused_with_a_clear_error_and_nothing_is_written(
    finance_user, open_invoices, content, message
):
    with pytest.raises(StatementRefused) as refused:
        upload(finance_user, content)
    assert message in " ".join(refused.value.messages)
    assert BankStatement.objects.count() == 0 and BankLine.objects.count() == 0


def test_a_bad_line_among_good_ones_refuses_the_whole_file(finance_user, open_invoices):
    globex = open_invoices["Globex"]
    content = f"date,amount,reference\n2026-11-10,30.00,{globex.number}\n2026-13-01,1,x\n"
    with pytest.raises(StatementRefused, match="Line 3"):
        upload(finance_user, content.encode())
    assert BankLine.objects.count() == 0


def test_finance_uploads_and_confirms_in_the_browser_flow(client, finance_user, open_invoices):
    client.force_login(finance_user)
    content = statement_csv(open_invoices)
    with time_machine.travel(at(2026, 11, 20), tick=False):
        response = client.post(
            "/finance/reconciliation/",
            {"statement": SimpleUploadedFile("bank.csv", content, content_type="text/csv")},
        )
        assert response.status_code == 302
        page = client.get(response["Location"])
        html = page.content.decode()
        assert "Confirm 2 payments ($75.00)" in html
        assert "$10.00 differs from the $12.50 owed" in html
        confirmed = client.post(response["Location"], follow=True)
    assert "2 invoice(s) marked paid" in confirmed.content.decode()
    assert Invoice.objects.filter(status="paid").count() == 2

    bad = client.post(
        "/finance/reconciliation/",
        {"statement": SimpleUploadedFile("bad.csv", b"date,amount\n", content_type="text/csv")},
    )
    assert bad.status_code == 200
    assert "missing: reference" in bad.content.decode()
    assert "nothing was recorded" in bad.content.decode()


def test_reviewers_cannot_upload(client, reviewer, open_invoices):
    client.force_login(reviewer)
    response = client.post(
        "/finance/reconciliation/",
        {"statement": SimpleUploadedFile("bank.csv", b"date,amount,reference\n")},
    )
    assert response.status_code == 403
    assert Decimal(0) == BankLine.objects.count()


@pytest.mark.django_db(transaction=True)
def test_two_finance_users_confirming_at_once_pay_each_invoice_once(
    postgres, finance_user, open_invoices
):
    from tests.rewards.redemption_helpers import at_once

    statement = upload(finance_user, statement_csv(open_invoices))
    with time_machine.travel(at(2026, 11, 20, 13), tick=False):
        results = at_once([lambda: statement_confirm(actor=finance_user, statement=statement)] * 4)
    paid = [number for result in results for number in result.paid]
    assert sorted(paid) == sorted([open_invoices["Globex"].number, open_invoices["Initech"].number])
    assert all(result.refused == [] for result in results)
    assert ActivityEntry.objects.filter(action="invoice.paid").count() == 2
