"""Prices and dates on shopper pages in the active language's conventions (SPEC §8):
`{{ amount|price:currency }}` → 1.234,50 € in German, ￥1,235 in Japanese;
`{{ date|day }}` → 31. Dezember 2026, 2026年12月31日."""

from __future__ import annotations

from django import template

from rewards.redemption.language import format_day, format_price

register = template.Library()


@register.filter
def price(amount, currency: str) -> str:
    return format_price(amount, currency)


@register.filter
def day(value) -> str:
    return format_day(value)
