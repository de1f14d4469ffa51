"""The invoice PDF (SPEC §9), read back as text with pypdf: what a finance clerk would see."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

import pytest
from pypdf import PdfReader

from billing.models import Invoice, InvoiceLine
from billing.pdf import invoice_pdf
from console.money import format_money


def _invoice(**overrides) -> Invoice:
    fields = {
        "number": "MC-2026-000042",
        "kind": Invoice.Kind.INVOICE,
        "period": date(2026, 10, 1),
        "issue_date": date(2026, 11, 1),
        "due_date": date(2026, 12, 1),
        "status": Invoice.Status.OPEN,
        "payment_terms": Invoice.PaymentTerms.INVOICE,
        "buyer_company": "Acme Games & Co.",
        "buyer_address": "1 Main Street\nSeattle, WA 98101",
        "buyer_country": "US",
        "buyer_tax_id": "EIN 12-3456789",
        "subtotal": Decimal("1734.50"),
        "total": Decimal("1734.50"),
    }
    fields.update(overrides)
    return Invoice(**fields)


def _lines() -> list[InvoiceLine]:
    return [
        InvoiceLine(
            description="Space Miner: level 10 complete",
            actions=3000,
            unit_cpa=Decimal("0.5000"),
            amount=Decimal("1500.00"),
            position=1,
        ),
        InvoiceLine(
            description="Space Miner: first purchase",
            actions=1876,
            unit_cpa=Decimal("0.1250"),
            amount=Decimal("234.50"),
            position=2,
        ),
    ]


def _pages(pdf: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(pdf))
    return [page.extract_text() for page in reader.pages]


def _text(pdf: bytes) -> str:
    """All pages' text, whitespace (line breaks between cells) folded to single spaces."""
    return " ".join(" ".join(_pages(pdf)).split())


def test_the_pdf_holds_the_number_the_buyer_each_line_and_the_total():
    pdf = invoice_pdf(_invoice(), lines=_lines(), today=date(2026, 11, 5))

    assert pdf.startswith(b"%PDF-")
    text = _text(pdf)
    assert "INVOICE" in text
    assert "MC-2026-000042" in text
    for buyer in ("Acme Games & Co.", "1 Main Street", "Seattle, WA 98101", "United States"):
        assert buyer in text
    assert "Tax ID: EIN 12-3456789" in text
    assert "Issue date 1 November 2026" in text
    assert "Due date 1 December 2026" in text
    assert "Period October 2026" in text
    assert re.search(r"Space Miner: level 10 complete\s+3,000\s+\$0\.50\s+\$1,500\.00", text)
    assert re.search(r"Space Miner: first purchase\s+1,876\s+\$0\.125\s+\$234\.50", text)
    assert re.search(r"Total \(USD\)\s+\$1,734\.50", text)
    assert "Due by 1 December 2026." in text
    assert "Page 1 of 1" in text


def test_the_seller_block_comes_from_settings(settings):
    settings.INVOICE_SELLER_NAME = "Moments Inc."
    settings.INVOICE_SELLER_ADDRESS = "500 Pine Street\nSeattle, WA 98101"
    settings.INVOICE_SELLER_TAX_ID = "US 98-7654321"
    settings.INVOICE_SELLER_EMAIL = "invoices@moments.test"

    text = _text(invoice_pdf(_invoice(), lines=_lines()))

    assert "Moments Inc." in text
    assert "500 Pine Street" in text
    assert "Tax ID: US 98-7654321" in text
    assert "invoices@moments.test" in text


def test_a_card_paid_invoice_says_which_card_paid_it_and_when():
    invoice = _invoice(
        status=Invoice.Status.PAID,
        payment_terms=Invoice.PaymentTerms.CARD,
        due_date=None,
        paid_by="Visa •••• 4242",
        paid_on=date(2026, 11, 1),
    )

    text = _text(invoice_pdf(invoice, lines=_lines()))

    assert "Paid by Visa •••• 4242 on 1 November 2026. Nothing is due." in text
    # Charged on issue: due that day (billing.models.invoice_due_date), printed all the same.
    assert "Due date 1 November 2026" in text


def test_an_open_invoice_past_its_due_date_says_overdue_since_then():
    text = _text(invoice_pdf(_invoice(), lines=_lines(), today=date(2026, 12, 2)))

    assert "Overdue since 1 December 2026: please pay now." in text
    assert "Due by" not in text


def test_an_invoice_paid_by_transfer_shows_the_reference_finance_recorded():
    invoice = _invoice(
        status=Invoice.Status.PAID, paid_on=date(2026, 11, 20), paid_reference="WIRE 88213"
    )

    text = _text(invoice_pdf(invoice, lines=_lines(), today=date(2026, 12, 20)))

    assert "Paid on 20 November 2026 (reference WIRE 88213). Nothing is due." in text
    assert "Overdue" not in text


def test_a_credit_note_is_titled_as_such_and_names_the_invoice_it_corrects_and_why():
    corrected = _invoice()
    note = _invoice(
        number="MC-2026-000051",
        kind=Invoice.Kind.CREDIT_NOTE,
        corrects=corrected,
        due_date=None,
        issue_date=date(2026, 11, 9),
        reason="Charges during the outage of 14 October are waived.",
        subtotal=Decimal("-234.50"),
        total=Decimal("-234.50"),
    )
    line = InvoiceLine(
        description="Credit: Space Miner: first purchase",
        actions=-1876,
        unit_cpa=Decimal("0.1250"),
        amount=Decimal("-234.50"),
    )

    text = _text(invoice_pdf(note, lines=[line]))

    assert "CREDIT NOTE" in text
    assert "Credit note number MC-2026-000051" in text
    assert "Corrects invoice MC-2026-000042" in text
    assert "Reason: Charges during the outage of 14 October are waived." in text
    assert re.search(r"-1,876\s+\$0\.125\s+-\$234\.50", text)
    assert re.search(r"Total credited\s+-\$234\.50", text)


def test_a_300_line_invoice_numbers_every_page_and_repeats_the_table_header():
    lines = [
        InvoiceLine(
            description=f"Campaign {n:03d}",
            actions=n,
            unit_cpa=Decimal("1.0000"),
            amount=Decimal(n),
            position=n,
        )
        for n in range(1, 301)
    ]
    total = Decimal(sum(range(1, 301)))

    pdf = invoice_pdf(_invoice(subtotal=total, total=total), lines=lines)
    pages = [" ".join(text.split()) for text in _pages(pdf)]

    assert len(pages) > 3
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
        assert "Description" in text and "Amount" in text
        if number > 1:
            assert "MC-2026-000042 · Acme Games & Co. · October 2026 (continued)" in text
    everything = " ".join(pages)
    assert all(f"Campaign {n:03d}" in everything for n in range(1, 301))
    assert re.search(r"Total \(USD\)\s+\$45,150\.00", pages[-1])


def test_money_is_printed_with_a_dollar_sign_thousands_separators_and_cents():
    assert format_money(Decimal("1234.5"), places=2) == "$1,234.50"
    assert format_money(Decimal("-12"), places=2) == "-$12.00"
    assert format_money(Decimal("0"), places=2) == "$0.00"
    assert format_money(Decimal("0.5000")) == "$0.50"
    assert format_money(Decimal("0.1250")) == "$0.125"
    assert format_money(Decimal("1.2345")) == "$1.2345"


@pytest.mark.django_db
def test_a_stored_invoice_prints_its_stored_lines_in_order(acme):
    invoice = _invoice(account=acme)
    invoice.save()
    second, first = _lines()[1], _lines()[0]
    for line in (second, first):  # stored out of order: the position decides
        line.invoice = invoice
        line.save()

    text = _text(invoice_pdf(invoice))

    assert text.index("level 10 complete") < text.index("first purchase")
    # The buyer by name and address, never by the internal account id.
    assert f"Account {acme.pk}" not in text
    assert "Acme Games & Co. 1 Main Street Seattle, WA 98101 United States" in text


def test_a_vat_registered_buyer_abroad_gets_the_reverse_charge_note(settings):
    settings.INVOICE_SELLER_COUNTRY = "DE"
    invoice = _invoice(buyer_country="FR", buyer_tax_id="FR12345678901")

    text = _text(invoice_pdf(invoice, lines=_lines()))

    assert "Tax $0.00" in text
    assert (
        "Reverse charge: VAT to be accounted for by the recipient (Art. 196 VAT Directive)." in text
    )
    assert "No tax charged" not in text


@pytest.mark.parametrize(
    ("seller_country", "buyer_country", "buyer_tax_id"),
    [
        ("DE", "US", ""),  # no VAT id
        ("DE", "DE", "DE987654321"),  # same country as the seller
        ("", "FR", "FR12345678901"),  # seller's country unknown: nothing to compare
    ],
)
def test_every_other_invoice_says_no_tax_was_charged(
    settings, seller_country, buyer_country, buyer_tax_id
):
    settings.INVOICE_SELLER_COUNTRY = seller_country
    invoice = _invoice(buyer_country=buyer_country, buyer_tax_id=buyer_tax_id)

    text = _text(invoice_pdf(invoice, lines=_lines()))

    assert "Tax $0.00" in text
    assert "No tax charged." in text
    assert "Reverse charge" not in text


def test_the_seller_country_is_printed_under_the_seller_address(settings):
    settings.INVOICE_SELLER_NAME = "Moments Labs GmbH"
    settings.INVOICE_SELLER_ADDRESS = "Friedrichstraße 68\n10117 Berlin"
    settings.INVOICE_SELLER_COUNTRY = "DE"

    text = _text(invoice_pdf(_invoice(), lines=_lines()))

    assert "Moments Labs GmbH Friedrichstraße 68 10117 Berlin Germany" in text
