"""The finance filters on invoices, one definition shared by the admin's list and the CSV
exports (so the admin's "export" link with its current filters means the same rows):
`month=YYYY-MM` (the period billed), `status` (open, paid, void or overdue), `terms` (card or
invoice), `account` (an account id), `kind` (invoice or credit_note) and `q` (a number or a
company, as the admin's search)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from django.db.models import Q, QuerySet
from django.utils import timezone

from billing.models import Invoice, invoice_overdue_q
from console import clock

FILTERS = ("month", "status", "terms", "account", "kind", "q")
STATUSES = (*Invoice.Status.values, "overdue")


class FilterError(ValueError):
    """A filter value that means nothing; the message says what is expected."""


def parse_month(value: str) -> date:
    """`YYYY-MM` → the first day of that month, or a FilterError that says what is expected."""
    try:
        return clock.parse_month(value)
    except ValueError:
        raise FilterError(
            f"month must be a month as YYYY-MM (e.g. 2026-10), not {value!r}."
        ) from None


def filter_invoices(queryset: QuerySet, params: Mapping[str, str]) -> QuerySet:
    """Apply the finance filters present (and not empty) in `params`; raise FilterError on a
    value that means nothing. Unknown parameters are the caller's business."""
    value = (params.get("month") or "").strip()
    if value:
        queryset = queryset.filter(period=parse_month(value))
    value = (params.get("status") or "").strip()
    if value:
        if value not in STATUSES:
            raise FilterError(f"status must be one of {', '.join(STATUSES)}, not {value!r}.")
        if value == "overdue":
            queryset = queryset.filter(invoice_overdue_q(timezone.localdate()))
        else:
            queryset = queryset.filter(status=value)
    value = (params.get("terms") or "").strip()
    if value:
        if value not in Invoice.PaymentTerms.values:
            terms = ", ".join(Invoice.PaymentTerms.values)
            raise FilterError(f"terms must be one of {terms}, not {value!r}.")
        queryset = queryset.filter(payment_terms=value)
    value = (params.get("account") or "").strip()
    if value:
        if not value.isdigit():
            raise FilterError(f"account must be an account id (a number), not {value!r}.")
        queryset = queryset.filter(account_id=int(value))
    value = (params.get("kind") or "").strip()
    if value:
        if value not in Invoice.Kind.values:
            kinds = ", ".join(Invoice.Kind.values)
            raise FilterError(f"kind must be one of {kinds}, not {value!r}.")
        queryset = queryset.filter(kind=value)
    value = (params.get("q") or "").strip()
    if value:
        queryset = queryset.filter(Q(number__icontains=value) | Q(buyer_company__icontains=value))
    return queryset
