"""Which campaign, reward group and moment an API request names, checked to belong to the
calling app: one query, shared by GetRewardInfo (on a cache miss) and GetReward's "python"
engine (its SQL function does this lookup itself)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from billing.models import AccountMonthlySpend, CampaignMonthlySpend
from campaigns.models import Campaign, Moment, RewardGroup
from console.models import Account
from console.money import month_start


@dataclass(frozen=True)
class Target:
    """The campaign, reward group and moment a request names, checked to belong together."""

    campaign: Campaign
    reward_group: RewardGroup
    moment: Moment
    campaign_month_spent: Decimal
    account_month_spent: Decimal
    # The account's monthly cap as the account row says now (not the remembered app's copy).
    account_limit: Decimal


def reward_target(
    *, app, campaign_id: uuid.UUID, reward_group_id: str, moment_id: str, now: datetime | None
) -> Target | None:
    """One query: the reward group `reward_group_id` of the campaign `campaign_id` of `app`,
    with the moment, this month's spend counters and the account's cap; None when any of them
    does not exist."""
    month = month_start(timezone.localdate(now))
    if connection.vendor == "postgresql":
        return _target_postgresql(app, campaign_id, reward_group_id, moment_id, month)
    group = (
        RewardGroup.objects.select_related("campaign")
        .filter(
            campaign__campaign_id=campaign_id,
            campaign__app_id=app.pk,
            marketplace_id=reward_group_id,
        )
        .annotate(
            moment_pk=Subquery(
                Moment.objects.filter(
                    campaign_id=OuterRef("campaign_id"), moment_id=moment_id
                ).values("pk")[:1]
            ),
            campaign_month_spent=Subquery(
                CampaignMonthlySpend.objects.filter(
                    campaign_id=OuterRef("campaign_id"), month=month
                ).values("spent")[:1]
            ),
            account_month_spent=Subquery(
                AccountMonthlySpend.objects.filter(
                    account_id=OuterRef("campaign__account_id"), month=month
                ).values("spent")[:1]
            ),
            account_limit=Subquery(
                Account.objects.filter(pk=OuterRef("campaign__account_id")).values(
                    "monthly_spend_limit"
                )[:1]
            ),
        )
        .first()
    )
    if group is None or group.moment_pk is None:
        return None
    campaign = group.campaign
    return Target(
        campaign=campaign,
        reward_group=group,
        moment=Moment(pk=group.moment_pk, campaign=campaign, moment_id=moment_id),
        campaign_month_spent=group.campaign_month_spent or Decimal(0),
        account_month_spent=group.account_month_spent or Decimal(0),
        account_limit=group.account_limit,
    )


# The same query as the ORM one above, written out for PostgreSQL: it runs on every API call,
# and compiling the ORM version costs more than the query itself. psycopg returns Decimal,
# date, aware datetime and UUID values, so the model instances are built as the ORM would.
_CAMPAIGN_COLUMNS = (
    "id",
    "account_id",
    "app_id",
    "campaign_id",
    "name",
    "status",
    "start_date",
    "end_date",
    "total_budget",
    "cpa",
    "spent",
    "announcement_message",
    "redemption_message",
    "banner",
    "submitted_at",
    "goes_live_at",
    "ends_at",
)
_TARGET_SQL = f"""
SELECT {", ".join("c." + col for col in _CAMPAIGN_COLUMNS)},
       g.id, g.marketplace_id, g.quantity_limit, g.granted,
       (SELECT m.id FROM campaigns_moment m WHERE m.campaign_id = c.id AND m.moment_id = %s),
       (SELECT s.spent FROM billing_campaignmonthlyspend s
         WHERE s.campaign_id = c.id AND s.month = %s),
       (SELECT s.spent FROM billing_accountmonthlyspend s
         WHERE s.account_id = c.account_id AND s.month = %s),
       (SELECT a.monthly_spend_limit FROM console_account a WHERE a.id = c.account_id)
FROM campaigns_campaign c
JOIN campaigns_rewardgroup g ON g.campaign_id = c.id AND g.marketplace_id = %s
WHERE c.campaign_id = %s AND c.app_id = %s
"""  # noqa: S608 - column names are constants


def _target_postgresql(app, campaign_id, reward_group_id, moment_id, month) -> Target | None:
    with connection.cursor() as cursor:
        cursor.execute(_TARGET_SQL, [moment_id, month, month, reward_group_id, campaign_id, app.pk])
        row = cursor.fetchone()
    if row is None:
        return None
    n = len(_CAMPAIGN_COLUMNS)
    group_pk, marketplace_id, quantity_limit, granted, moment_pk, c_spent, a_spent, limit = row[n:]
    if moment_pk is None:
        return None
    campaign = Campaign.from_db("default", list(_CAMPAIGN_COLUMNS), list(row[:n]))
    group = RewardGroup.from_db(
        "default",
        ["id", "campaign_id", "marketplace_id", "quantity_limit", "granted"],
        [group_pk, campaign.pk, marketplace_id, quantity_limit, granted],
    )
    return Target(
        campaign=campaign,
        reward_group=group,
        moment=Moment(pk=moment_pk, campaign=campaign, moment_id=moment_id),
        campaign_month_spent=c_spent or Decimal(0),
        account_month_spent=a_spent or Decimal(0),
        account_limit=limit,
    )
