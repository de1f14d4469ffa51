"""Reads about an account's billing."""

from __future__ import annotations

from .models import PaymentMethod


def active_payment_method(account) -> PaymentMethod | None:
    return PaymentMethod.objects.filter(account=account, is_active=True).first()


def payment_method_on_file(account) -> bool:
    """True when the account can be charged: an active card, or invoice terms set by finance."""
    if account.payment_terms == account.PaymentTerms.INVOICE:
        return True
    return PaymentMethod.objects.filter(account=account, is_active=True).exists()
