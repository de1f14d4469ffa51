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
