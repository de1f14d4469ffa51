"""Dates on shopper pages in the active language's conventions (SPEC §8):
`{{ date|day }}` → 31. Dezember 2026, 2026年12月31日. Prices use the built-in money filter,
`{{ amount|money:currency }}` (console/money.py): 1.234,50 € in German, ￥1,235 in Japanese."""

from __future__ import annotations

from django import template

from rewards.redemption.countries import country_name
from rewards.redemption.language import format_day

register = template.Library()


@register.filter
def day(value) -> str:
    return format_day(value)


@register.filter
def country(code) -> str:
    """A country's name in the shopper's language: `{{ "US"|country }}` → Vereinigte Staaten."""
    return country_name(code)


@register.filter
def ship_to(claim) -> list[str]:
    """A claim's shipping address as its country writes it, then the country's name in the
    shopper's language: San Francisco, CA 94105 / Vereinigte Staaten."""
    if not claim.ship_name:
        return []
    return [*claim.shipping_lines(), country_name(claim.ship_country)]
