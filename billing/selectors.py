"""Reads about an account's billing."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection
from django.db.models import BooleanField, Count, Sum
from django.db.models.expressions import RawSQL
from django.utils import timezone

from console.clock import month_start

from .models import AccountMonthlySpend, Invoice, LedgerEntry, PaymentMethod


def active_payment_method(account) -> PaymentMethod | None:
    return PaymentMethod.objects.filter(account=account, is_active=True).first()


def payment_method_on_file(account) -> bool:
    """True when the account can be charged: an active card, or invoice terms set by finance."""
    if account.payment_terms == account.PaymentTerms.INVOICE:
        return True
    return PaymentMethod.objects.filter(account=account, is_active=True).exists()


def account_month_spent(*, account_id: int, today=None) -> Decimal:
    """What the account has spent this month (business time zone), in USD: the monthly
    counter GetReward checks the account's spend limit on (zero before the first charge)."""
    month = month_start(today or timezone.localdate())
    spent = (
        AccountMonthlySpend.objects.filter(account_id=account_id, month=month)
        .values_list("spent", flat=True)
        .first()
    )
    return spent if spent is not None else Decimal("0")


_COVERED = (
    "EXISTS (SELECT 1 FROM billing_invoicedentry ie "
    'WHERE ie.ledger_entry_id = "billing_ledgerentry"."id")'
)
_COVERED_PG = _COVERED[:-1] + " OFFSET 0)"


def uninvoiced_entries(*, account_id: int):
    """The account's ledger entries that no invoice covers yet.

    The test is a probe of InvoicedEntry's unique index per entry of this account. Written by
    hand because PostgreSQL would otherwise turn NOT EXISTS into a hash anti-join that reads
    every invoiced entry of every account, each time: a cost that grows with the whole
    history. `OFFSET 0` keeps the subquery a per-row probe there (SQLite probes anyway)."""
    sql = _COVERED_PG if connection.vendor == "postgresql" else _COVERED
    covered = RawSQL(sql, [], output_field=BooleanField())  # noqa: S611 - a constant, no input
    return (
        LedgerEntry.objects.filter(account_id=account_id)
        .alias(covered=covered)
        .filter(covered=False)
    )


def unbilled_spend_by_campaign(account, *, since) -> list[dict]:
    """What the account has been charged since the month `since` that no invoice covers yet,
    per campaign (this month's spend, and a late charge of last month until its invoice):
    one query."""
    return list(
        uninvoiced_entries(account_id=account.pk)
        .filter(month__gte=since)
        .values("campaign_id", "campaign__name")
        .annotate(actions=Count("id"), spend=Sum("amount"))
        .order_by("campaign__name", "campaign_id")
    )


def account_invoices(account):
    """The account's invoices and credit notes, newest first (scoped: a developer reaches no
    other account's)."""
    return (
        Invoice.objects.filter(account=account)
        .select_related("corrects")
        .order_by("-issue_date", "-number")
    )
