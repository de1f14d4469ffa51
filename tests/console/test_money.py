"""Money has one home (console/money.py and its `money` filter): its rules, a scan that fails
when money is formatted by hand anywhere else, and one CPA read on every surface."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from billing.pdf import invoice_pdf
from billing.services.invoices import invoices_issue_month
from console.money import (
    CENTS,
    MILLS,
    MoneyError,
    csv_amount,
    format_money,
    parse_money,
    plain_amount,
    round_money,
)
from tests.billing.invoice_helpers import OCTOBER, at, charge
from tests.campaigns.lifecycle_helpers import staff_group
from tests.factories import AppFactory, CampaignFactory, MembershipFactory

ROOT = Path(__file__).resolve().parents[2]

# --- The rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (Decimal("0.125"), "$0.125"),
        (Decimal("0.1250"), "$0.125"),
        (Decimal("17.0000"), "$17.00"),
        (Decimal("1.2345"), "$1.2345"),
        (Decimal("1.23456"), "$1.2346"),  # rounded half up to 4 places
        (Decimal("1000"), "$1,000.00"),
        (Decimal("-12"), "-$12.00"),
        (Decimal("0"), "$0.00"),
        ("34.0000", "$34.00"),
    ],
)
def test_a_cpa_or_spend_shows_its_places_up_to_four_and_at_least_the_cents(amount, shown):
    assert format_money(amount, "USD") == shown


def test_invoice_amounts_show_exactly_cents_rounded_half_up():
    assert format_money(Decimal("0.005"), places=2) == "$0.01"
    assert format_money(Decimal("0.125"), places=2) == "$0.13"
    assert format_money(Decimal("234.5"), places=2) == "$234.50"
    assert format_money(Decimal("-234.50"), "USD", places=2) == "-$234.50"


def test_whole_units_for_limits_stated_in_prose():
    assert format_money(5000, places=0) == "$5,000"
    assert format_money(Decimal("15000.00"), places=0) == "$15,000"


def test_each_currency_has_its_symbol_and_minor_unit_in_the_console():
    with translation.override("en-us"):
        assert format_money(Decimal("1480.00"), "JPY") == "¥1,480"
        assert format_money(Decimal("23.80"), "EUR") == "€23.80"
        assert format_money(Decimal("30"), "CAD") == "CA$30.00"
        assert format_money(Decimal("9.99"), "GBP") == "£9.99"


def test_each_language_has_its_conventions():
    assert format_money(Decimal("13.99"), "EUR", language="de") == "13,99\xa0€"
    assert format_money(Decimal("1234.50"), "JPY", language="ja") == "￥1,235"
    assert format_money(Decimal("0.125"), "EUR", language="de") == "0,125\xa0€"


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("$1,000", Decimal("1000")),
        (" 12,500.00 ", Decimal("12500.00")),
        ("27.5", Decimal("27.5")),
        ("-12", Decimal("-12")),
        (Decimal("0.125"), Decimal("0.125")),
        (7, Decimal(7)),
    ],
)
def test_amounts_are_read_as_people_type_them(typed, amount):
    assert parse_money(typed) == amount


@pytest.mark.parametrize("typed", ["27,50", "lots", "1,00,000", "NaN", "Infinity", "$"])
def test_what_is_not_an_amount_is_refused(typed):
    with pytest.raises(MoneyError):
        parse_money(typed)


def test_floats_are_refused_everywhere():
    for call in (parse_money, round_money, format_money, csv_amount):
        with pytest.raises(TypeError):
            call(0.1)


def test_rounding_is_half_up_once():
    assert round_money(Decimal("0.125")) == Decimal("0.13")
    assert round_money(Decimal("-0.125")) == Decimal("-0.13")
    assert round_money(Decimal("0.00005"), MILLS) == Decimal("0.0001")


def test_csv_amounts_are_plain_decimals_with_fixed_places():
    assert str(csv_amount(Decimal("34"))) == "34.0000"
    assert str(csv_amount(Decimal("0.125"))) == "0.1250"
    assert str(csv_amount(Decimal("-12"), CENTS)) == "-12.00"
    assert csv_amount(None) == ""


def test_a_form_shows_the_amount_with_the_places_it_has():
    assert plain_amount(Decimal("0.1250")) == "0.125"
    assert plain_amount(Decimal("25.0000")) == "25.00"
    assert plain_amount(Decimal("1000.5")) == "1000.50"
    assert plain_amount(None) == ""


@pytest.mark.parametrize(
    ("template", "shown"),
    [
        ('{{ amount|money:"USD" }}', "$0.125"),
        ("{{ amount|money:currency }}", "€0.125"),
        ('{{ amount|money:"USD:2" }}', "$0.13"),
        ('{{ big|money:"USD:0" }}', "$15,000"),
        ('{{ nothing|money:"USD" }}', ""),
    ],
)
def test_one_filter_is_built_in_for_every_template(template, shown):
    context = Context(
        {"amount": Decimal("0.1250"), "currency": "EUR", "big": Decimal("15000"), "nothing": None}
    )
    with translation.override("en-us"):
        assert Template(template).render(context) == shown


# --- The scan: no money formatted by hand outside the money module and its filter -------------

HOME = {"console/money.py", "console/templatetags/money.py"}
APPS = ["console", "billing", "campaigns", "rewards"]
CURRENCIES = r"(USD|EUR|GBP|JPY|CAD|AUD|INR|BRL|MXN)"

# A variable whose last name says money (`campaign.cpa`, `row.spend`, `bar.limit`), not a count.
MONEY_VARIABLE = re.compile(
    r"\{\{\s*(?:[\w.]*\.)?\w*(price|amount|total|cpa|spen[dt]|budget|limit|balance|credit|usd"
    r"|cap|cost)\w*\s*(\|[^}]*)\}\}"
)


# Counts that share a word with money: `total_actions`, `totals.claimed`.
COUNT = re.compile(r"action|count|granted|claimed|expired|returned|quantity|percent")


class _OnMoney:
    """A filter applied to a money variable: `{{ campaign.cpa|floatformat:2 }}`."""

    def __init__(self, name: str):
        self.name = name

    def search(self, line: str) -> bool:
        return any(
            f"|{self.name}" in match.group(2)
            and "|money" not in match.group(2)
            and not COUNT.search(match.group(0))
            for match in MONEY_VARIABLE.finditer(line)
        )


TEMPLATE_PATTERNS = {
    "a dollar sign before a variable": re.compile(r"\$\{[{%]"),
    "floatformat on money": _OnMoney("floatformat"),
    "intcomma on money": _OnMoney("intcomma"),
    "an amount followed by its currency code": re.compile(
        r"\}\}\s*(\{\{[^}]*currency[^}]*\}\}|" + CURRENCIES + r"\b)"
    ),
    "a dollar sign glued in JavaScript": re.compile(r"[\"']\$[\"']\s*\+"),
    "toFixed in JavaScript": re.compile(r"\.toFixed\("),
}
PYTHON_PATTERNS = {
    "a dollar sign before a placeholder": re.compile(r"\$\{"),
    "an amount followed by its currency code": re.compile(
        r"\{[^{}]*\}\s*(\{[\w.]*currency\}|" + CURRENCIES + r"\b)"
    ),
    # Money has 2 or 4 places; "%.0f s" and "{:.1f} MB" are durations and sizes.
    "a fixed-places format": re.compile(r"\{[^{}]*:[,_]?\.[24]f\}|%,?\.[24]f"),
    "a dollar sign as a string": re.compile(r"[\"']\$[\"']"),
    "a dollar sign glued to a number": re.compile(r"[\"']\$[\"']?\s*\+|\+\s*[\"']\$"),
    "rounding outside round_money": re.compile(r"\.quantize\("),
    "babel's number formatting outside the money module": re.compile(
        r"format_currency\(|format_decimal\("
    ),
}
# Lines that look like money and are not, each with why.
NOT_MONEY = {
    # Braze's Liquid variable in the API snippet: "{{${user_id}}}".
    ("campaigns/selectors/__init__.py", "${user_id}"),
    # Demo catalog titles name a gift card's face value as a product would ("25 EUR").
    ("rewards/catalog/demo.py", "eGift Card, {value:,}"),
    ("rewards/catalog/demo.py", 'image_caption=f"{value:,}'),
    # An exchange rate, not an amount: "1 EUR = 1.0850 USD".
    ("rewards/catalog/models.py", "= {self.usd_per_unit} USD"),
    # The comment in the results selector explains rounding; the code calls round_money.
    ("campaigns/results/selectors.py", "quantized so every database"),
}


def _template_files():
    return sorted(p for p in (ROOT / "templates").rglob("*") if p.is_file())


def _python_files():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative or relative in HOME:
                continue
            yield path


def _offences(paths, patterns) -> list[str]:
    found = []
    for path in paths:
        relative = path.relative_to(ROOT).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(relative == where and what in line for where, what in NOT_MONEY):
                continue
            for why, pattern in patterns.items():
                if pattern.search(line):
                    found.append(f"{relative}:{number}: {why}: {line.strip()[:120]}")
    return found


def test_no_template_formats_money_by_hand():
    assert _offences(_template_files(), TEMPLATE_PATTERNS) == []


def test_no_python_module_formats_money_by_hand():
    assert _offences(_python_files(), PYTHON_PATTERNS) == []


@pytest.mark.parametrize(
    ("line", "pattern"),
    [
        ("<td>${{ campaign.cpa }}</td>", "a dollar sign before a variable"),
        ("{{ spent|floatformat:2|intcomma }}", "floatformat on money"),
        ("{{ r.amount|intcomma }}", "intcomma on money"),
        ("{{ price.local }} {{ price.currency }}", "an amount followed by its currency code"),
        ("{{ price.local }} JPY", "an amount followed by its currency code"),
        ('out.textContent = "$" + best.toFixed(2);', "a dollar sign glued in JavaScript"),
    ],
)
def test_the_template_scan_catches_each_style(line, pattern):
    assert TEMPLATE_PATTERNS[pattern].search(line)


@pytest.mark.parametrize(
    ("line", "pattern"),
    [
        ('f"{name} × ${unit}"', "a dollar sign before a placeholder"),
        ('f"{self.amount} {self.currency}"', "an amount followed by its currency code"),
        ('f"{price.local} EUR"', "an amount followed by its currency code"),
        ('f"The CPA ({cpa:,.2f})"', "a fixed-places format"),
        ('f"{cpa:.4f}"', "a fixed-places format"),
        ('"%.2f" % value', "a fixed-places format"),
        ('return "$" if currency == "USD" else currency', "a dollar sign as a string"),
        ('"$" + str(value)', "a dollar sign glued to a number"),
        ('value.quantize(Decimal("0.01"))', "rounding outside round_money"),
    ],
)
def test_the_python_scan_catches_each_style(line, pattern):
    assert PYTHON_PATTERNS[pattern].search(line)


def test_counts_are_not_money():
    assert not TEMPLATE_PATTERNS["intcomma on money"].search("{{ totals.actions|intcomma }}")
    assert not TEMPLATE_PATTERNS["intcomma on money"].search("{{ total_actions|intcomma }}")
    assert not TEMPLATE_PATTERNS["intcomma on money"].search('{{ spent|money:"USD" }}')


# --- One CPA, every surface ------------------------------------------------------------------

EIGHTH = Decimal("0.1250")
# "$0.13" or "$0.12" (not the start of "$0.125"), or the stored "0.1250" shown to people.
WRONG = re.compile(r"\$0\.1[23](?!\d)|\$?0\.1250")


@pytest.mark.django_db
def test_a_cpa_of_an_eighth_of_a_dollar_reads_the_same_everywhere(client, finance):
    """The wizard, admin, the campaign page, the results CSV and the invoice PDF all say $0.125
    (the CSV as the plain decimal 0.1250 with its currency); none says $0.13 or $0.12."""
    membership = MembershipFactory(account__name="Acme Games", user__email="owner@acme.test")
    app = AppFactory(account=membership.account)
    with time_machine.travel(at(2026, 11, 2, 12, 0), tick=False):
        live = CampaignFactory(
            app=app,
            name="Space Miner",
            status="live",
            cpa=EIGHTH,
            total_budget=Decimal("100.0000"),
            start_date=date(2026, 10, 1),
            end_date=date(2026, 12, 31),
        )
        draft = CampaignFactory(app=app, name="Draft Quest", status="draft", cpa=EIGHTH)
        charge(live, "0.1250", at(2026, 10, 3))
        (invoice,) = invoices_issue_month(month=OCTOBER)

        client.force_login(membership.user)
        wizard_review = client.get(
            reverse("campaigns:wizard_step", args=[draft.campaign_id, 7])
        ).content.decode()
        wizard_budget = client.get(
            reverse("campaigns:wizard_step", args=[draft.campaign_id, 3])
        ).content.decode()
        campaign_page = client.get(
            reverse("campaigns:detail", args=[live.campaign_id])
        ).content.decode()
        response = client.get(
            reverse("campaigns:results_csv", args=[live.campaign_id]),
            {"from": "2026-10-01", "to": "2026-10-31"},
        )
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))

        # Finance: reviewers never see money (SPEC §9).
        finance.groups.add(staff_group("Finance"))
        client.force_login(finance)
        admin_page = client.get(
            reverse("admin:campaigns_campaign_change", args=[live.pk])
        ).content.decode()

    pdf = PdfReader(io.BytesIO(invoice_pdf(invoice)))
    pdf_text = "\n".join(page.extract_text() for page in pdf.pages)

    for surface, text in [
        ("wizard review", wizard_review),
        ("campaign page", campaign_page),
        ("admin", admin_page),
    ]:
        assert "$0.125" in text, surface
        assert not WRONG.search(text), (surface, WRONG.search(text))
    # The budget step shows the CPA as it was set, ready to submit again.
    assert 'value="0.125"' in wizard_budget
    # The invoice line: one action at $0.125 (description and unit column), billed as $0.13:
    # an invoice rounds each line's amount to cents, never the CPA.
    assert "Space Miner — 1 action × $0.125" in pdf_text
    assert re.search(r"\b1\s+\$0\.125\s+\$0\.13\b", pdf_text), pdf_text
    assert "0.1250" not in pdf_text and "$0.12\n" not in pdf_text
    # The CSV: the day's spend as a plain decimal with four places, the currency beside it.
    (day,) = [r for r in rows if r["date"] == "2026-10-03"]
    assert (day["spend"], day["currency"]) == ("0.1250", "USD")
    assert Decimal(day["spend"]) == Decimal("0.125")
