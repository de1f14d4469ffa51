"""Money in Django admin: one column helper, so every list and read-only field shows amounts
as people read them (`$1,000.00`, `€12.50`, a CPA as `$0.125`), never as the stored
`1000.0000` without a currency."""

from __future__ import annotations

from operator import attrgetter

from django.contrib import admin
from django.db import models

from console.money import format_money


def money_column(
    model: type[models.Model],
    field: str,
    *,
    currency: str = "USD",
    currency_from: str | None = None,
):
    """A ModelAdmin (or inline) method showing `model`'s field `field` as money, labelled
    with the field's verbose name and sorted on the field. Assign it to the admin class
    (`total_shown = money_column(Invoice, "total", currency_from="currency")`) and list its
    name in `list_display` / `readonly_fields` instead of the field's.

    `currency_from` is a dotted path on the row to its currency (`"invoice.currency"`);
    otherwise `currency`. Fields stored with four places (CPAs, budgets, spend) keep the places
    that matter (`$0.125`, `$1,000.00`); two-place fields show cents.
    """
    model_field = model._meta.get_field(field)
    # Four-place fields (CPAs, budgets, spend) keep the places that matter; two-place ones
    # (invoice amounts) show exact cents.
    places = None if model_field.decimal_places > 2 else 2
    currency_of = attrgetter(currency_from) if currency_from else (lambda obj: currency)

    @admin.display(description=model_field.verbose_name, ordering=field)
    def show(modeladmin, obj) -> str:
        value = getattr(obj, field)
        if value is None:
            return "—"
        return format_money(value, currency_of(obj), places=places)

    show.__name__ = f"{field}_shown"
    return show
