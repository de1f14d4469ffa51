"""The one template filter for money (rules in console/money.py): console, admin, emails and
shopper pages write `{{ amount|money:currency }}`.

The argument is the currency ("USD", or a variable such as `invoice.currency`), optionally
with the places after a colon: `"USD:2"` an invoice amount in exact cents, `"USD:0"` whole
dollars for a limit stated in prose. None shows as "" (templates say "—" themselves).
Built in (TEMPLATES OPTIONS "builtins"), so no template needs to load it.
"""

from __future__ import annotations

from django import template

from console.money import MoneyError, format_money

register = template.Library()


@register.filter(name="money")
def money(amount, spec: str = "USD") -> str:
    currency, _, places = str(spec or "USD").partition(":")
    try:
        return format_money(amount, currency or "USD", places=int(places) if places else None)
    except (MoneyError, TypeError):
        # A template never raises: show what it was given rather than break the page.
        return str(amount)
