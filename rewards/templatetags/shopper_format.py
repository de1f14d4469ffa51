"""Dates on shopper pages in the active language's conventions (SPEC §8):
`{{ date|day }}` → 31. Dezember 2026, 2026年12月31日. Prices use the built-in money filter,
`{{ amount|money:currency }}` (console/money.py): 1.234,50 € in German, ￥1,235 in Japanese."""

from __future__ import annotations

from django import template

from rewards.redemption.language import format_day

register = template.Library()


@register.filter
def day(value) -> str:
    return format_day(value)
