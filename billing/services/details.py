"""The account's billing details that developers keep themselves (SPEC §9): the optional
tax/VAT id printed on their invoices."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction

from console.activity import activity_record
from console.models import Account
from console.services import tax_id_normalize


def account_tax_id_set(*, account: Account, actor, tax_id: str) -> Account:
    """Set or clear the account's tax/VAT id. An admin of the account only; the change is
    recorded in the account's history. Invoices already issued keep the id they were issued
    with (their buyer snapshot)."""
    membership = getattr(actor, "membership", None)
    if membership is None or membership.account_id != account.pk or not membership.is_admin:
        raise PermissionDenied("Only an admin of your account can change its tax / VAT id.")
    tax_id = tax_id_normalize(tax_id)
    with transaction.atomic():
        changed = Account.objects.filter(pk=account.pk).exclude(tax_id=tax_id).update(tax_id=tax_id)
        old = account.tax_id
        account.tax_id = tax_id
        if changed:
            activity_record(
                actor=actor,
                account=account,
                action="account.tax_id_set",
                target=account,
                data={"old": old, "new": tax_id},
                history=f"Tax / VAT id set to “{tax_id}”." if tax_id else "Tax id removed.",
            )
    return account
