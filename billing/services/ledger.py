"""The spend ledger and the spend counters that GetReward moves (SPEC §9, §11).

Each reservation below is ONE conditional UPDATE: the limit is in its WHERE clause, so
PostgreSQL re-checks it on the latest committed row after waiting for a concurrent writer's
lock (read committed), and the matched-row count says whether the money fits. Nothing is read,
changed in Python and written back. They run inside the caller's transaction, in the fixed lock
order inventory → campaign → account, and a refusal is an exception that rolls back every
earlier step.

Ledger rows are append-only: charges and corrections are new rows, never edits.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import F, OuterRef, Subquery

from billing.models import AccountMonthlySpend, CampaignMonthlySpend, LedgerEntry
from campaigns.models import Campaign
from console.models import Account


class SpendRefused(Exception):
    """A limit would be exceeded; `code` is the Rewards API's errorCode for it (its sentence
    is in rewards/refusals.py, shared with the SQL function's outcomes)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


_CHARGEABLE = (Campaign.Status.APPROVED, Campaign.Status.LIVE)


def campaign_spend_reserve(*, campaign: Campaign, amount: Decimal, month: date) -> None:
    """Add `amount` to the campaign's lifetime spend and to this month's campaign spend, or
    raise SpendRefused when the total budget or the monthly campaign cap would be exceeded
    (or the campaign was suspended meanwhile)."""
    moved = Campaign.objects.filter(
        pk=campaign.pk,
        status__in=_CHARGEABLE,
        spent__lte=F("total_budget") - amount,
    ).update(spent=F("spent") + amount)
    if moved != 1:
        status = Campaign.objects.filter(pk=campaign.pk).values_list("status", flat=True).first()
        if status not in _CHARGEABLE:
            raise SpendRefused("campaign_not_live")
        raise SpendRefused("budget_exhausted")
    # The month's row may not exist yet: create it without ever failing on a concurrent
    # creator (INSERT ... ON CONFLICT DO NOTHING), then move it conditionally.
    CampaignMonthlySpend.objects.bulk_create(
        [CampaignMonthlySpend(campaign_id=campaign.pk, month=month, spent=0)],
        ignore_conflicts=True,
    )
    cap = Decimal(settings.CAMPAIGN_MONTHLY_CAP)
    moved = CampaignMonthlySpend.objects.filter(
        campaign_id=campaign.pk, month=month, spent__lte=cap - amount
    ).update(spent=F("spent") + amount)
    if moved != 1:
        raise SpendRefused("campaign_monthly_cap_reached")


def account_spend_reserve(*, account_id: int, amount: Decimal, month: date) -> None:
    """Add `amount` to the account's spend of `month`, or raise SpendRefused when that would
    pass the account's monthly cap (shared by all its campaigns).

    The cap is read from the account row by the UPDATE itself, never passed in: the API
    remembers apps (and their account) for up to a minute, and a limit that finance lowers
    must hold from the next call on."""
    AccountMonthlySpend.objects.bulk_create(
        [AccountMonthlySpend(account_id=account_id, month=month, spent=0)],
        ignore_conflicts=True,
    )
    limit = Subquery(
        Account.objects.filter(pk=OuterRef("account_id")).values("monthly_spend_limit")[:1]
    )
    moved = AccountMonthlySpend.objects.filter(
        account_id=account_id, month=month, spent__lte=limit - amount
    ).update(spent=F("spent") + amount)
    if moved != 1:
        raise SpendRefused("account_monthly_cap_reached")


def ledger_charge(
    *,
    account_id: int,
    campaign_id: int,
    moment_id: int | None,
    grant_id: int | None,
    amount: Decimal,
    month: date,
    now: datetime,
) -> LedgerEntry:
    """Append one CPA charge to the ledger (in the caller's transaction)."""
    return LedgerEntry.objects.create(
        account_id=account_id,
        campaign_id=campaign_id,
        moment_id=moment_id,
        grant_id=grant_id,
        kind=LedgerEntry.Kind.CHARGE,
        amount=amount,
        month=month,
        created_at=now,
    )
