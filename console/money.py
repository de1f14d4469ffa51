"""Money helpers: Decimal only, rounded once, half up (STYLE: one helper for rounding)."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
MILLS = Decimal("0.0001")


def money(value, places: Decimal = CENT, *, rounding: str = ROUND_HALF_UP) -> Decimal:
    """Round a Decimal (or int/str) to `places`, half up unless a caller documents why not
    (the tax allowance of reference prices follows the seed's arithmetic). Floats are refused:
    they cannot represent money exactly."""
    if isinstance(value, float):
        raise TypeError("money() refuses floats; pass a Decimal or a string")
    return Decimal(value).quantize(places, rounding=rounding)


def month_start(day: date) -> date:
    """The first day of the month `day` falls in: the key of monthly caps and invoices."""
    return day.replace(day=1)


def _symbol(currency: str) -> str:
    return "$" if currency == "USD" else f"{currency} "


def money_display(value, currency: str = "USD") -> str:
    """`$1,234.50`, `-$12.00`, `EUR 9.99`: two places (rounded half up, like invoices),
    thousands separated, the sign before the symbol. The one way money is shown to people
    (PDFs, emails, admin)."""
    value = money(value)
    sign = "-" if value < 0 else ""
    return f"{sign}{_symbol(currency)}{abs(value):,.2f}"


def cpa_display(value, currency: str = "USD") -> str:
    """A unit CPA keeps its four stored places where they matter: `$0.50`, `$0.125`,
    `$1.2345` (a CPA rounded to cents would not multiply back to the line)."""
    value = money(value, MILLS)
    text = f"{abs(value):,.4f}".rstrip("0")
    whole, _, fraction = text.partition(".")
    text = f"{whole}.{fraction.ljust(2, '0')}"
    return f"{'-' if value < 0 else ''}{_symbol(currency)}{text}"
