"""Money helpers: Decimal only, rounded once, half up (STYLE: one helper for rounding)."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
MILLS = Decimal("0.0001")


def money(value, places: Decimal = CENT) -> Decimal:
    """Round a Decimal (or int/str) to `places` with ROUND_HALF_UP. Floats are refused:
    they cannot represent money exactly."""
    if isinstance(value, float):
        raise TypeError("money() refuses floats; pass a Decimal or a string")
    return Decimal(value).quantize(places, rounding=ROUND_HALF_UP)


def month_start(day: date) -> date:
    """The first day of the month `day` falls in: the key of monthly caps and invoices."""
    return day.replace(day=1)
