"""The daily results rollup (SPEC §12 "Results", §11 "reports over a million charges").

A campaign's results per day, moment and reward group (actions, spend, claimed, expired,
returned) are aggregated in SQL from the raw rows by a beat sweep every five minutes and
stored as CampaignDay rows; readers combine those with the live part (the few minutes after
the watermark) read from the indexed raw rows. `day_aggregates` is the one definition of what
a day's numbers are: the roll-up and the live reads both call it, so the two cannot drift.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, F, Min, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from billing.models import LedgerEntry
from console.clock import day_start
from rewards.models import Claim, RewardGrant

from ..models import Campaign, CampaignDay, CampaignRollup
from ..services.lifecycle import rewards_expire_at

logger = logging.getLogger(__name__)

# A day is sealed (recomputed whole) only this long after it ended, so that a GetReward or a
# claim whose transaction started before midnight and committed just after is counted in it.
ROLLUP_GRACE = timedelta(minutes=15)
# The open day's rows are added up to this long ago, not up to now: transactions in flight
# commit within it. One that takes longer is taken in when its day is sealed.
ROLLUP_LAG = timedelta(minutes=2)


@dataclass
class DayNumbers:
    """One day's numbers of one moment and reward group (None, None: ledger corrections)."""

    actions: int = 0
    spend: Decimal = Decimal(0)
    claimed: int = 0
    expired: int = 0
    returned: int = 0

    def add(self, other: DayNumbers) -> None:
        self.actions += other.actions
        self.spend += other.spend
        self.claimed += other.claimed
        self.expired += other.expired
        self.returned += other.returned


# (day, moment pk, reward group pk)
Key = tuple[date, int | None, int | None]


def day_aggregates(
    *, campaign_id: int, since: datetime | None, until: datetime | None, now: datetime
) -> dict[Key, DayNumbers]:
    """A campaign's numbers per (day, moment pk, reward group pk) for the rows timestamped in
    [since, until), in five grouped queries on the indexed raw rows (None: unbounded).

    Actions are the rewards handed out (GetReward writes one grant and one CPA charge in one
    transaction, so they are the charges), spend every ledger entry (corrections too),
    claimed the grants redeemed then, expired the unclaimed grants whose expiry passed then
    (decided by `expires_at`, so it is right before the expiry sweep stamps them), returned
    the claims returned then."""

    def scope(field: str, campaign: str) -> Q:
        q = Q(**{f"{campaign}_id": campaign_id})
        if since is not None:
            q &= Q(**{f"{field}__gte": since})
        if until is not None:
            q &= Q(**{f"{field}__lt": until})
        return q

    return _aggregates(scope, now=now)


def account_aggregates_after_rollup(*, account_id: int, now: datetime) -> dict[Key, DayNumbers]:
    """The numbers of every campaign of the account that its CampaignDay rows do not hold yet:
    the rows timestamped from each campaign's own watermark (`rolled_until`) on, or all of a
    campaign's rows before its first roll-up. The same five grouped queries as
    `day_aggregates`, whatever the number of campaigns; each reads a few minutes of rows per
    rolled-up campaign through the (campaign, timestamp) indexes. Added to the account's
    CampaignDay sums, they give its numbers since it began."""

    def scope(field: str, campaign: str) -> Q:
        return Q(**{f"{campaign}__account_id": account_id}) & (
            Q(**{f"{campaign}__rollup__isnull": True})
            | Q(**{f"{field}__gte": F(f"{campaign}__rollup__rolled_until")})
        )

    return _aggregates(scope, now=now)


def _aggregates(scope, *, now: datetime) -> dict[Key, DayNumbers]:
    """The one definition of a day's numbers (see `day_aggregates`), over the rows that
    `scope(timestamp field, path to the campaign)` selects."""
    out: dict[Key, DayNumbers] = defaultdict(DayNumbers)

    def grouped(queryset, field: str, moment: str, group: str):
        return (
            queryset.annotate(day=TruncDate(field), m=F(moment), g=F(group))
            .values("day", "m", "g")
            .annotate(n=Count("pk"))
            .order_by()
        )

    grants = RewardGrant.objects.filter(scope("created_at", "campaign"))
    for row in grouped(grants, "created_at", "moment_id", "reward_group_id"):
        out[(row["day"], row["m"], row["g"])].actions = row["n"]
    spend = (
        LedgerEntry.objects.filter(scope("created_at", "campaign"))
        .annotate(day=TruncDate("created_at"), m=F("moment_id"), g=F("grant__reward_group_id"))
        .values("day", "m", "g")
        .annotate(s=Sum("amount"))
        .order_by()
    )
    for row in spend:
        out[(row["day"], row["m"], row["g"])].spend = row["s"] or Decimal(0)
    claims = RewardGrant.objects.filter(scope("redeemed_at", "campaign"), redeemed_at__isnull=False)
    for row in grouped(claims, "redeemed_at", "moment_id", "reward_group_id"):
        out[(row["day"], row["m"], row["g"])].claimed = row["n"]
    expiries = RewardGrant.objects.filter(
        scope("expires_at", "campaign"), redeemed_at__isnull=True, expires_at__lte=now
    )
    for row in grouped(expiries, "expires_at", "moment_id", "reward_group_id"):
        out[(row["day"], row["m"], row["g"])].expired = row["n"]
    returns = Claim.objects.filter(
        scope("returned_at", "grant__campaign"), status=Claim.Status.RETURNED
    )
    for row in grouped(returns, "returned_at", "grant__moment_id", "grant__reward_group_id"):
        out[(row["day"], row["m"], row["g"])].returned = row["n"]
    return dict(out)


def last_closed_day(now: datetime) -> date:
    """The latest day that ended at least ROLLUP_GRACE ago."""
    return timezone.localdate(now - ROLLUP_GRACE) - timedelta(days=1)


def _first_day(campaign_id: int, start_date: date | None, now: datetime) -> date:
    """The first day a campaign can have results: its start date, or an earlier charge."""
    first = (
        LedgerEntry.objects.filter(campaign_id=campaign_id)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    days = [d for d in (start_date, first and timezone.localdate(first)) if d is not None]
    return min(days) if days else timezone.localdate(now)


def _day_row(campaign: Campaign, key: Key, n: DayNumbers) -> CampaignDay:
    day, moment_pk, group_pk = key
    return CampaignDay(
        campaign=campaign,
        day=day,
        moment_id=moment_pk,
        reward_group_id=group_pk,
        actions=n.actions,
        spend=n.spend,
        claimed=n.claimed,
        expired=n.expired,
        returned=n.returned,
    )


def _add(*, campaign: Campaign, numbers: dict[Key, DayNumbers]) -> None:
    """Add a window's numbers to the day rows (created when missing). Only the roll-up that
    holds the campaign's CampaignRollup row (its claim) writes here, so nothing races it."""
    for key, n in numbers.items():
        day, moment_pk, group_pk = key
        added = CampaignDay.objects.filter(
            campaign=campaign, day=day, moment_id=moment_pk, reward_group_id=group_pk
        ).update(
            actions=F("actions") + n.actions,
            spend=F("spend") + n.spend,
            claimed=F("claimed") + n.claimed,
            expired=F("expired") + n.expired,
            returned=F("returned") + n.returned,
        )
        if not added:
            _day_row(campaign, key, n).save()


def campaign_days_roll_up(*, campaign: Campaign, now: datetime | None = None) -> bool:
    """Bring the campaign's CampaignDay rows up to ROLLUP_LAG ago, in one transaction:

    - the rows timestamped since `rolled_until` are added to their days;
    - each day closed since `sealed_through` (ended ROLLUP_GRACE ago) is recomputed whole and
      replaced, which also takes in a charge or claim that committed after `rolled_until`
      had passed its timestamp (a transaction longer than ROLLUP_LAG).

    Safe to run twice or concurrently: the watermarks move by one conditional UPDATE from the
    values read, before anything is written, so a second runner waits on that row and then
    matches nothing (its transaction ends without writing). Returns whether it rolled."""
    now = now or timezone.now()
    state = CampaignRollup.objects.filter(pk=campaign.pk).values_list(
        "rolled_until", "sealed_through"
    )
    if not state.exists():
        # The first run: from the campaign's first day (ON CONFLICT DO NOTHING, so a
        # concurrent first run creates nothing twice).
        first = _first_day(campaign.pk, campaign.start_date, now)
        CampaignRollup.objects.bulk_create(
            [
                CampaignRollup(
                    campaign=campaign,
                    rolled_until=day_start(first),
                    sealed_through=first - timedelta(days=1),
                    updated_at=now,
                )
            ],
            ignore_conflicts=True,
        )
    old_until, old_sealed = state.get()
    until = now - ROLLUP_LAG
    sealed = max(old_sealed, last_closed_day(now))
    if until <= old_until and sealed == old_sealed:
        return False
    until = max(until, old_until)
    with transaction.atomic():
        claimed = CampaignRollup.objects.filter(
            pk=campaign.pk, rolled_until=old_until, sealed_through=old_sealed
        ).update(rolled_until=until, sealed_through=sealed, updated_at=now)
        if claimed != 1:
            return False
        if sealed > old_sealed:
            # Closed days, whole: replaced, never added to, so a day is never counted twice.
            first = old_sealed + timedelta(days=1)
            whole = day_aggregates(
                campaign_id=campaign.pk,
                since=day_start(first),
                until=day_start(sealed + timedelta(days=1)),
                now=now,
            )
            CampaignDay.objects.filter(campaign=campaign, day__gte=first, day__lte=sealed).delete()
            CampaignDay.objects.bulk_create(
                [_day_row(campaign, key, n) for key, n in whole.items()],
                batch_size=1000,
            )
        # The open days: what was timestamped since the last run (days just sealed above are
        # already whole).
        since = max(old_until, day_start(sealed + timedelta(days=1)))
        if until > since:
            _add(
                campaign=campaign,
                numbers=day_aggregates(campaign_id=campaign.pk, since=since, until=until, now=now),
            )
    return True


def campaigns_days_roll_up(*, now: datetime | None = None) -> int:
    """The periodic sweep: roll up every campaign that has had a live day and whose results
    can still change (until its rewards' expiry day is sealed). Returns the number of
    campaigns rolled up."""
    now = now or timezone.now()
    candidates = (
        Campaign.objects.filter(live_at__isnull=False)
        .annotate(sealed=Min("rollup__sealed_through"))
        .only("pk", "start_date", "end_date")
        .order_by("pk")
    )
    done = 0
    for campaign in candidates:
        # Nothing changes after the rewards' expiry day (end date + expiry + 1) is sealed.
        if (
            campaign.end_date
            and campaign.sealed is not None
            and campaign.sealed >= timezone.localdate(rewards_expire_at(campaign))
        ):
            continue
        if campaign_days_roll_up(campaign=campaign, now=now):
            done += 1
    if done:
        logger.info("Results roll-up: %d campaign(s) rolled up", done)
    return done
