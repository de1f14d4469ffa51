"""The 13 marketplaces of SPEC §4 with their starting allowances, and exchange rates.

They are reference data the product cannot run without: the data migration creates them, and a
post_migrate hook puts back any that are missing (a database flush removes them). Existing rows
are never changed here: staff edit them in admin.
"""

from __future__ import annotations

from decimal import Decimal

# code, name, currency, highest sales tax / VAT %, shipping allowance (local currency), margin %
MARKETPLACES = [
    ("US", "United States", "USD", "10.02", "0", "0"),
    ("UK", "United Kingdom", "GBP", "20.00", "0", "0"),
    ("DE", "Germany", "EUR", "19.00", "0", "0"),
    ("FR", "France", "EUR", "20.00", "0", "0"),
    ("CA", "Canada", "CAD", "15.00", "0", "0"),
    ("BR", "Brazil", "BRL", "17.00", "0", "0"),
    ("AU", "Australia", "AUD", "10.00", "0", "0"),
    ("IT", "Italy", "EUR", "22.00", "0", "0"),
    ("IN", "India", "INR", "18.00", "0", "0"),
    ("ES", "Spain", "EUR", "21.00", "0", "0"),
    ("JP", "Japan", "JPY", "10.00", "0", "0"),
    ("MX", "Mexico", "MXN", "16.00", "0", "0"),
    ("WW", "Rest of World", "USD", "0.00", "5.00", "0"),
]
USD_PER_UNIT = {
    "USD": "1",
    "GBP": "1.27",
    "EUR": "1.08",
    "CAD": "0.73",
    "BRL": "0.20",
    "AUD": "0.66",
    "INR": "0.012",
    "JPY": "0.0067",
    "MXN": "0.058",
}


def ensure_marketplaces(marketplace_model, rate_model) -> int:
    """Create the marketplaces and exchange rates that are missing; returns how many rows were
    created. Takes the model classes so the data migration can pass its historical ones."""
    created = 0
    for position, (code, name, currency, tax, shipping, margin) in enumerate(MARKETPLACES):
        _, new = marketplace_model.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "currency": currency,
                "position": position,
                "tax_allowance_percent": Decimal(tax),
                "shipping_allowance": Decimal(shipping),
                "margin_percent": Decimal(margin),
            },
        )
        created += new
    for currency, rate in USD_PER_UNIT.items():
        _, new = rate_model.objects.get_or_create(
            currency=currency, defaults={"usd_per_unit": Decimal(rate)}
        )
        created += new
    return created
