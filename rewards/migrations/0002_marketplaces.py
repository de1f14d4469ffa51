"""The 13 marketplaces of SPEC §4 and starting exchange rates (staff edit both in admin)."""

from decimal import Decimal

from django.db import migrations

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
    "USD": "1", "GBP": "1.27", "EUR": "1.08", "CAD": "0.73", "BRL": "0.20", "AUD": "0.66",
    "INR": "0.012", "JPY": "0.0067", "MXN": "0.058",
}


def create(apps, schema_editor):
    Marketplace = apps.get_model("rewards", "Marketplace")
    ExchangeRate = apps.get_model("rewards", "ExchangeRate")
    for position, (code, name, currency, tax, shipping, margin) in enumerate(MARKETPLACES):
        Marketplace.objects.update_or_create(
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
    for currency, rate in USD_PER_UNIT.items():
        ExchangeRate.objects.update_or_create(
            currency=currency, defaults={"usd_per_unit": Decimal(rate)}
        )


class Migration(migrations.Migration):
    dependencies = [("rewards", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
