"""Accounts' monthly spend limits: set by finance with a reason, every change kept."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from ..activity import activity_record
from ..hooks import ACCOUNT_LIMITS_CHANGED, ACCOUNT_MONTH_SPENT, hook_call
from ..models import (
    Account,
    SpendLimitChange,
)
from ..money import format_money, round_money
from .keys import _keyring_bump


def account_limits_changed(*, account: Account) -> None:
    """After an account's monthly spend limit changed: the Rewards API reads it from the app it
    remembers (GetReward) and from cached GetRewardInfo answers (remainingRewardCount), so
    both are made stale after commit (the cached answers by the Rewards API's hook)."""
    transaction.on_commit(lambda: _keyring_bump(account.pk))
    hook_call(ACCOUNT_LIMITS_CHANGED, account=account)


SPEND_LIMIT_MAX = Decimal("9999999999.99")  # Account.monthly_spend_limit: 12 digits, 2 places


def spend_limit_max() -> Decimal:
    """The highest limit finance may set (settings.SPEND_LIMIT_MAX, env SPEND_LIMIT_MAX): a
    typo's extra zeros must not let an account spend without bound."""
    return min(Decimal(str(settings.SPEND_LIMIT_MAX)), SPEND_LIMIT_MAX)


def account_month_spent(*, account: Account) -> Decimal:
    """What the account has spent this month, in USD (billing's counter, through a hook)."""
    return hook_call(ACCOUNT_MONTH_SPENT, account_id=account.pk)


def spend_limit_jump_is_large(*, old: Decimal, new: Decimal) -> bool:
    """True when `new` is more than SPEND_LIMIT_CONFIRM_FACTOR times `old` (a raise from $0
    counts as large): finance confirms such a change before it is made."""
    return new > old * settings.SPEND_LIMIT_CONFIRM_FACTOR


def spend_limit_error(limit) -> str | None:
    """What is wrong with a new monthly spend limit on its own (not against the account's
    spend), or None."""
    try:
        value = Decimal(str(limit)) if limit is not None and str(limit).strip() else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        return "Enter the new monthly spend limit in USD, e.g. 25000.00."
    if value < 0:
        return "The spend limit cannot be negative."
    if value == 0:
        # A $0 limit stops every campaign of the account at once: that is pausing them (or
        # suspending the account), not a limit, and it was one click away (issue 20).
        return (
            "The spend limit cannot be $0: it would stop all of the account's campaigns at "
            "once. Pause the campaigns instead."
        )
    if value > spend_limit_max():
        return f"The spend limit cannot be more than {_money(spend_limit_max())} (SPEND_LIMIT_MAX)."
    if value != round_money(value):
        return "Use at most 2 decimal places (dollars and cents)."
    return None


SPEND_LIMIT_REASON_REQUIRED = (
    "Say why the limit changes (a ticket, an approval): it is kept in the account's history."
)


class SpendLimitNeedsConfirm(ValidationError):
    """A large jump (spend_limit_jump_is_large) that finance has not confirmed yet: nothing
    was changed; the form asks again with a confirmation box."""


def account_spend_limit_set(
    *, actor, account: Account, limit: Decimal, reason: str, confirmed: bool = False
) -> SpendLimitChange:
    """Finance sets an account's monthly spend limit, with the reason why.

    The row is locked first, so the old value recorded is the one the UPDATE replaces even
    when two people change it at once; the UPDATE, the history row and the admin log entry
    are one transaction. After commit, the Rewards API's remembered keys and
    cached GetRewardInfo answers of the account are made stale (account_limits_changed).
    Raises PermissionDenied for anyone but finance staff, ValidationError for a bad limit
    ($0, above SPEND_LIMIT_MAX), a missing reason, a limit equal to the current one or below
    what the account has spent this month, and SpendLimitNeedsConfirm (a ValidationError on
    `confirm`) for a jump of more than SPEND_LIMIT_CONFIRM_FACTOR times unless `confirmed`.
    """
    if not (getattr(actor, "is_staff", False) and actor.has_perm("console.change_account")):
        raise PermissionDenied("Only Moments finance staff can change an account's spend limit.")
    errors = {}
    if message := spend_limit_error(limit):
        errors["limit"] = message
    if not (reason or "").strip():
        errors["reason"] = SPEND_LIMIT_REASON_REQUIRED
    if errors:
        raise ValidationError(errors)
    limit = round_money(Decimal(str(limit)))
    reason = reason.strip()
    with transaction.atomic():
        old = (
            Account.objects.select_for_update()
            .filter(pk=account.pk)
            .values_list("monthly_spend_limit", flat=True)
            .get()
        )
        if old == limit:
            raise ValidationError({"limit": f"The spend limit is already {_money(old)}."})
        # Read under the account's lock: charges keep counting, but the check is against the
        # spend at the moment of the change (GetReward refuses charges above the new limit).
        spent = account_month_spent(account=account)
        if limit < spent:
            raise ValidationError(
                {
                    "limit": f"The account has spent {_money(spent)} this month already: the "
                    f"limit cannot be below that (it would stop its campaigns at once)."
                }
            )
        if spend_limit_jump_is_large(old=old, new=limit) and not confirmed:
            raise SpendLimitNeedsConfirm(
                {
                    "confirm": f"{_money(limit)} is more than "
                    f"{settings.SPEND_LIMIT_CONFIRM_FACTOR}× the current limit of "
                    f"{_money(old)}: tick the box to confirm this jump."
                }
            )
        Account.objects.filter(pk=account.pk).update(monthly_spend_limit=limit)
        change = SpendLimitChange.objects.create(
            account=account, changed_by=actor, old_limit=old, new_limit=limit, reason=reason
        )
        activity_record(
            actor=actor,
            account=account,
            action="account.spend_limit_set",
            target=account,
            data={"old": old, "new": limit, "reason": reason},
            # The account's admin history is where staff look first: the change shows there.
            history=f"Monthly spend limit changed from {_money(old)} to {_money(limit)}: {reason}",
        )
        account_limits_changed(account=account)
    account.monthly_spend_limit = limit
    return change


def _money(value: Decimal) -> str:
    """A limit in USD, in cents: "$25,000.00"."""
    return format_money(value, "USD", places=2)
