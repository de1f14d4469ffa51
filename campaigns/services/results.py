"""The daily results rollup (SPEC §12 "Results", §11 "reports over a million charges").

A campaign's results per day and moment (actions, spend, claimed, expired) are aggregated in
SQL from the raw rows once a day is closed, and stored as CampaignDay rows; readers combine
those with the live part (the days after the watermark, normally only today) read from the
indexed raw rows. `day_aggregates` is the one definition of what a day's numbers are: the
roll-up and the live reads both call it, so the two cannot drift.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Min, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from billing.models import LedgerEntry
from rewards.models import RewardGrant

from ..models import Campaign, CampaignDay, CampaignRollup
from .lifecycle import rewards_expire_at

logger = logging.getLogger(__name__)

# A day is rolled up only this long after it ended, so that a GetReward or a claim whose
# transaction started before midnight and committed just after is counted in it.
ROLLUP_GRACE = timedelta(minutes=15)


@dataclass
class DayNumbers:
    """One day's numbers of one moment (moment_pk None: ledger corrections without one)."""

    actions: int = 0
    spend: Decimal = Decimal(0)
    claimed: int = 0
    expired: int = 0


def day_start(day: date) -> datetime:
    """Midnight starting `day` in the business time zone (the days of the results)."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def day_aggregates(
    *, campaign_id: int, since: datetime | None, until: datetime, now: datetime
) -> dict[tuple[date, int | None], DayNumbers]:
    """A campaign's numbers per (day, moment pk) for the rows timestamped in [since, until),
    in three grouped queries on the indexed raw rows (since None: from the beginning).

    Actions are CPA charges, spend every ledger entry (corrections too), claimed the grants
    redeemed then, expired the unclaimed grants whose expiry passed then (decided by
    `expires_at`, so it is right before the expiry sweep stamps them)."""
    out: dict[tuple[date, int | None], DayNumbers] = {}

    def window(field: str) -> Q:
        q = Q(**{f"{field}__lt": until})
        return q & Q(**{f"{field}__gte": since}) if since is not None else q

    charges = (
        LedgerEntry.objects.filter(window("created_at"), campaign_id=campaign_id)
        .annotate(day=TruncDate("created_at"))
        .values("day", "moment_id")
        .annotate(actions=Count("pk", filter=Q(kind=LedgerEntry.Kind.CHARGE)), spend=Sum("amount"))
        .order_by()
    )
    for row in charges:
        numbers = out.setdefault((row["day"], row["moment_id"]), DayNumbers())
        numbers.actions = row["actions"]
        numbers.spend = row["spend"] or Decimal(0)
    claims = (
        RewardGrant.objects.filter(
            window("redeemed_at"), campaign_id=campaign_id, redeemed_at__isnull=False
        )
        .annotate(day=TruncDate("redeemed_at"))
        .values("day", "moment_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in claims:
        out.setdefault((row["day"], row["moment_id"]), DayNumbers()).claimed = row["n"]
    expiries = (
        RewardGrant.objects.filter(
            window("expires_at"),
            campaign_id=campaign_id,
            redeemed_at__isnull=True,
            expires_at__lte=now,
        )
        .annotate(day=TruncDate("expires_at"))
        .values("day", "moment_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in expiries:
        out.setdefault((row["day"], row["moment_id"]), DayNumbers()).expired = row["n"]
    return out


def last_closed_day(now: datetime) -> date:
    """The latest day that ended at least ROLLUP_GRACE ago."""
    return timezone.localdate(now - ROLLUP_GRACE) - timedelta(days=1)


def _first_day(campaign_id: int, start_date: date | None) -> date:
    """The first day a campaign can have results: its start date, or an earlier charge."""
    first = (
        LedgerEntry.objects.filter(campaign_id=campaign_id)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    days = [d for d in (start_date, first and timezone.localdate(first)) if d is not None]
    return min(days) if days else timezone.localdate()


def campaign_days_roll_up(*, campaign: Campaign, now: datetime | None = None) -> int:
    """Roll up the campaign's closed days after its watermark into CampaignDay rows and move
    the watermark, in one transaction; returns the number of days rolled up.

    Safe to run twice or concurrently: the watermark moves by a conditional UPDATE from the
    value read, taken before anything is written, so a second runner waits on that row and
    then matches nothing (its transaction ends without writing). The rows of the rolled days
    are replaced, not incremented, so a repeated day cannot be counted twice."""
    now = now or timezone.now()
    through = last_closed_day(now)
    CampaignRollup.objects.bulk_create(
        [
            CampaignRollup(
                campaign=campaign,
                rolled_through=_first_day(campaign.pk, campaign.start_date) - timedelta(days=1),
                updated_at=now,
            )
        ],
        ignore_conflicts=True,
    )
    old = CampaignRollup.objects.values_list("rolled_through", flat=True).get(pk=campaign.pk)
    if old >= through:
        return 0
    with transaction.atomic():
        claimed = CampaignRollup.objects.filter(pk=campaign.pk, rolled_through=old).update(
            rolled_through=through, updated_at=now
        )
        if claimed != 1:
            return 0
        first = old + timedelta(days=1)
        numbers = day_aggregates(
            campaign_id=campaign.pk,
            since=day_start(first),
            until=day_start(through + timedelta(days=1)),
            now=now,
        )
        CampaignDay.objects.filter(campaign=campaign, day__gte=first, day__lte=through).delete()
        CampaignDay.objects.bulk_create(
            [
                CampaignDay(
                    campaign=campaign,
                    day=day,
                    moment_id=moment_pk,
                    actions=n.actions,
                    spend=n.spend,
                    claimed=n.claimed,
                    expired=n.expired,
                )
                for (day, moment_pk), n in sorted(
                    numbers.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)
                )
            ],
            batch_size=1000,
        )
    return (through - old).days


def campaigns_days_roll_up(*, now: datetime | None = None) -> int:
    """The periodic sweep: roll up every campaign that has had a live day and still has
    closed days to roll (results stop changing once its rewards' expiry day is rolled up).
    Returns the number of campaigns rolled up."""
    now = now or timezone.now()
    through = last_closed_day(now)
    candidates = (
        Campaign.objects.filter(live_at__isnull=False)
        .filter(Q(rollup__isnull=True) | Q(rollup__rolled_through__lt=through))
        .annotate(rolled=Min("rollup__rolled_through"))
        .only("pk", "start_date", "end_date")
        .order_by("pk")
    )
    done = 0
    for campaign in candidates:
        # Nothing changes after the rewards' expiry day (end date + expiry + 1).
        if (
            campaign.end_date
            and campaign.rolled is not None
            and campaign.rolled >= timezone.localdate(rewards_expire_at(campaign))
        ):
            continue
        if campaign_days_roll_up(campaign=campaign, now=now):
            done += 1
    if done:
        logger.info("Results roll-up: %d campaign(s) rolled up through %s", done, through)
    return done
