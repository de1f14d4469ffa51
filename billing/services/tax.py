"""The tax note of an invoice (SPEC §9): the one place that decides what an invoice says about
tax, read by the PDF (billing/pdf.py) and the console's billing page.

No tax is charged by Moments today. A business buyer with a VAT id in another country than the
seller's accounts for the VAT itself (the EU's reverse charge), and the invoice must say so;
every other invoice says plainly that no tax was charged. The buyer is the invoice's snapshot
(its tax id and country as issued), never the account as it is today."""

from __future__ import annotations

from django.conf import settings

REVERSE_CHARGE = "Reverse charge: VAT to be accounted for by the recipient (Art. 196 VAT Directive)"
NO_TAX = "No tax charged"


def invoice_is_reverse_charge(*, invoice) -> bool:
    """True when the buyer had a VAT id on the invoice and is in another country than the
    seller (INVOICE_SELLER_COUNTRY). Without a seller country nothing can be compared: no
    reverse charge is claimed."""
    seller_country = (settings.INVOICE_SELLER_COUNTRY or "").strip().upper()
    buyer_country = (invoice.buyer_country or "").strip().upper()
    return bool(
        (invoice.buyer_tax_id or "").strip()
        and seller_country
        and buyer_country
        and buyer_country != seller_country
    )


def invoice_tax_note(*, invoice) -> str:
    """The sentence printed under an invoice's totals and beside it on the billing page."""
    return REVERSE_CHARGE if invoice_is_reverse_charge(invoice=invoice) else NO_TAX
