"""Reads about an account's billing."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Sum

from .models import Invoice, InvoicedEntry, LedgerEntry, PaymentMethod


def active_payment_method(account) -> PaymentMethod | None:
    return PaymentMethod.objects.filter(account=account, is_active=True).first()


def payment_method_on_file(account) -> bool:
    """True when the account can be charged: an active card, or invoice terms set by finance."""
    if account.payment_terms == account.PaymentTerms.INVOICE:
        return True
    return PaymentMethod.objects.filter(account=account, is_active=True).exists()


def unbilled_spend_by_campaign(account) -> list[dict]:
    """What the account has been charged that no invoice covers yet, per campaign (this
    month's spend, and a late charge of last month until its invoice): one query."""
    covered = InvoicedEntry.objects.filter(ledger_entry_id=OuterRef("pk"))
    return list(
        LedgerEntry.objects.filter(account=account)
        .filter(~Exists(covered))
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
