"""A campaign's results over time (SPEC §12 "Results"): actions per day per moment, spend per
day and cumulative against the budget, claimed and expired rewards, for a date range.

Read in a fixed number of queries (nine) whatever the number of charges: the CampaignDay
rollup up to its watermark (a few minutes ago), the rest from the raw rows through their
(campaign, timestamp) indexes, both aggregated by `day_aggregates`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import timezone
from django.utils.formats import date_format

from billing.models import AccountMonthlySpend, CampaignMonthlySpend
from console.clock import day_start, month_start
from console.money import MILLS, csv_amount, round_money
from rewards.redemption.selectors import RedemptionCounts, redemption_totals

from ..models import Campaign, CampaignDay, CampaignRollup, Moment, RewardGroup
from ..services.lifecycle import effective_status_expression
from .rollup import DayNumbers, account_aggregates_after_rollup, day_aggregates

# Wider than any campaign needs, narrow enough that a typo (year 1) cannot ask for a million
# rows.
MAX_RANGE_DAYS = 1096
# Campaign budgets, CPAs and spend are in USD (SPEC §5); the CSV says so in its own column.
CURRENCY = "USD"


@dataclass(frozen=True)
class ResultsRange:
    """The days shown, both included."""

    start: date
    end: date

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


def results_default_range(campaign: Campaign, *, today: date | None = None) -> ResultsRange:
    """From the campaign's start to today, or to its end date once it has ended (a campaign
    that has not started yet shows its first day)."""
    today = today or timezone.localdate()
    start = campaign.start_date or today
    end = min(today, campaign.end_date) if campaign.end_date else today
    return ResultsRange(start, max(start, end))


def _parse_day(value: str, label: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(
            f"The {label} date “{value}” is not a date: use YYYY-MM-DD, like 2026-03-01.",
            code="invalid_date",
        ) from None


def results_range(
    campaign: Campaign,
    *,
    date_from: str | None,
    date_to: str | None,
    today: date | None = None,
) -> ResultsRange:
    """The range asked for in the `from` / `to` parameters (either may be empty: the default
    range's bound is used), or ValidationError saying what is wrong with it."""
    default = results_default_range(campaign, today=today)
    start = _parse_day(date_from, "from") if date_from and date_from.strip() else default.start
    end = _parse_day(date_to, "to") if date_to and date_to.strip() else default.end
    if start > end:
        raise ValidationError(
            f"The range starts after it ends: “from” ({date_format(start)}) must be on or "
            f"before “to” ({date_format(end)}).",
            code="reversed_range",
        )
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise ValidationError(
            f"Choose a range of at most {MAX_RANGE_DAYS} days (three years); this one has "
            f"{(end - start).days + 1}.",
            code="range_too_long",
        )
    return ResultsRange(start, end)


@dataclass
class ResultsDay:
    """One row of the results: a day's numbers, actions per moment in the campaign's order."""

    day: date
    moment_actions: list[int]
    actions: int
    spend: Decimal
    cumulative_spend: Decimal
    claimed: int
    expired: int


@dataclass
class CampaignResults:
    """What the results panel draws and the CSV lists."""

    campaign: Campaign
    period: ResultsRange
    moments: list[Moment]
    days: list[ResultsDay]
    budget: Decimal | None
    totals: dict = field(default_factory=dict)

    def chart_data(self) -> dict:
        """The charts' data for `json_script`: money as strings (exact decimals; the browser
        only draws them)."""
        return {
            "labels": [d.day.isoformat() for d in self.days],
            "moments": [
                {"id": m.moment_id, "actions": [d.moment_actions[i] for d in self.days]}
                for i, m in enumerate(self.moments)
            ],
            "actions": [d.actions for d in self.days],
            "spend": [str(d.spend) for d in self.days],
            "cumulative": [str(d.cumulative_spend) for d in self.days],
            "budget": None if self.budget is None else str(self.budget),
            "claimed": [d.claimed for d in self.days],
            "expired": [d.expired for d in self.days],
        }


def campaign_results(
    campaign: Campaign, *, period: ResultsRange, now: datetime | None = None
) -> CampaignResults:
    """The campaign's results per day over `period`, every day present (zeros included), the
    cumulative spend counted from the campaign's first charge (not from the range's start).
    Nine queries, whatever the number of charges, grants or days rolled up."""
    now = now or timezone.now()
    moments = list(Moment.objects.filter(campaign=campaign).order_by("pk"))
    # Rows timestamped before `rolled_until` are in CampaignDay; the rest is read live. Without
    # a rollup yet everything is live, and the two rollup reads find nothing (they still run,
    # so the page's query count does not depend on the sweep).
    rolled_until = (
        CampaignRollup.objects.filter(pk=campaign.pk).values_list("rolled_until", flat=True).first()
    )
    numbers: dict[tuple[date, int | None], DayNumbers] = defaultdict(DayNumbers)
    for row in CampaignDay.objects.filter(
        campaign=campaign, day__gte=period.start, day__lte=period.end
    ).values("day", "moment_id", "actions", "spend", "claimed", "expired", "returned"):
        numbers[(row["day"], row["moment_id"])].add(
            DayNumbers(
                row["actions"], row["spend"], row["claimed"], row["expired"], row["returned"]
            )
        )
    prior = CampaignDay.objects.filter(campaign=campaign, day__lt=period.start).aggregate(
        total=Sum("spend")
    )["total"] or Decimal(0)
    live = day_aggregates(
        campaign_id=campaign.pk,
        since=rolled_until,
        until=day_start(period.end + timedelta(days=1)),
        now=now,
    )
    for (day, moment_pk, _group), n in live.items():
        if day < period.start:
            prior += n.spend
        else:
            numbers[(day, moment_pk)].add(n)

    index = {m.pk: i for i, m in enumerate(moments)}
    per_day: dict[date, ResultsDay] = {
        day: ResultsDay(day, [0] * len(moments), 0, Decimal(0), Decimal(0), 0, 0)
        for day in period.days
    }
    for (day, moment_pk), n in numbers.items():
        row = per_day[day]
        if moment_pk in index:
            row.moment_actions[index[moment_pk]] += n.actions
        row.actions += n.actions
        row.spend += n.spend
        row.claimed += n.claimed
        row.expired += n.expired
    # Exact sums of 4-place amounts; quantized so every database shows them alike (SQLite's
    # SUM drops trailing zeros).
    cumulative = prior
    days = list(per_day.values())
    for row in days:
        row.spend = round_money(row.spend, MILLS)
        cumulative += row.spend
        row.cumulative_spend = round_money(cumulative, MILLS)
    return CampaignResults(
        campaign=campaign,
        period=period,
        moments=moments,
        days=days,
        budget=campaign.total_budget,
        totals={
            "moment_actions": [sum(d.moment_actions[i] for d in days) for i in index.values()],
            "actions": sum(d.actions for d in days),
            "spend": round_money(sum((d.spend for d in days), Decimal(0)), MILLS),
            "claimed": sum(d.claimed for d in days),
            "expired": sum(d.expired for d in days),
            "cumulative_spend": round_money(cumulative, MILLS),
        },
    )


def results_csv_rows(results: CampaignResults):
    """The CSV's header then one row per day (what the charts draw, as exact numbers)."""
    yield [
        "date",
        *[f"actions {m.moment_id}" for m in results.moments],
        "actions total",
        "spend",
        "cumulative spend",
        "budget",
        "currency",
        "claimed",
        "expired",
    ]
    # Money as plain decimals with four places (console/money.py), the currency beside them.
    budget = csv_amount(results.budget)
    for d in results.days:
        yield [
            d.day.isoformat(),
            *d.moment_actions,
            d.actions,
            csv_amount(d.spend),
            csv_amount(d.cumulative_spend),
            budget,
            CURRENCY,
            d.claimed,
            d.expired,
        ]


@dataclass
class BudgetBar:
    """A progress bar: what was spent of a limit (None: no limit set)."""

    label: str
    spent: Decimal
    limit: Decimal | None
    campaign: Campaign | None = None

    @property
    def percent(self) -> int:
        """Whole percent for the bar's width, 0..100 (over the limit shows full)."""
        if not self.limit:
            return 0
        return min(100, int(self.spent * 100 / self.limit))

    @property
    def level(self) -> str:
        """The bar's Bootstrap colour: warn from 80 %, danger once the limit is reached."""
        if self.percent >= 100:
            return "danger"
        return "warning" if self.percent >= 80 else "primary"


@dataclass
class DashboardSpend:
    """The dashboard's bars: this month's account spend against its cap, each live campaign's
    spend against its total budget."""

    month: date
    account: BudgetBar
    campaigns: list[BudgetBar]


def dashboard_spend(account, *, now: datetime | None = None) -> DashboardSpend:
    """Two queries whatever the number of campaigns: the month's spend counter (the one the
    cap is checked on) and the live campaigns with their lifetime spend counters."""
    now = now or timezone.now()
    month = month_start(timezone.localdate(now))
    spent = AccountMonthlySpend.objects.filter(account=account, month=month).values_list(
        "spent", flat=True
    ).first() or Decimal(0)
    live = (
        Campaign.objects.filter(account=account)
        .alias(shown=effective_status_expression(now))
        .filter(shown=Campaign.Status.LIVE)
        .only("campaign_id", "name", "spent", "total_budget")
        .order_by("name", "pk")
    )
    return DashboardSpend(
        month=month,
        account=BudgetBar("This month's spend", spent, account.monthly_spend_limit),
        campaigns=[BudgetBar(c.name, c.spent, c.total_budget, campaign=c) for c in live],
    )


def campaign_totals(
    campaign: Campaign, *, now: datetime | None = None
) -> dict[tuple[int | None, int | None], DayNumbers]:
    """The campaign's numbers since it began per (moment pk, reward group pk): the rollup's
    sums plus what came after its watermark. Seven queries, whatever the number of charges."""
    now = now or timezone.now()
    rolled_until = (
        CampaignRollup.objects.filter(pk=campaign.pk).values_list("rolled_until", flat=True).first()
    )
    totals: dict[tuple[int | None, int | None], DayNumbers] = defaultdict(DayNumbers)
    for row in (
        CampaignDay.objects.filter(campaign=campaign)
        .values("moment_id", "reward_group_id")
        .annotate(
            a=Sum("actions"), s=Sum("spend"), c=Sum("claimed"), e=Sum("expired"), r=Sum("returned")
        )
        .order_by()
    ):
        totals[(row["moment_id"], row["reward_group_id"])].add(
            DayNumbers(row["a"], row["s"] or Decimal(0), row["c"], row["e"], row["r"])
        )
    live = day_aggregates(campaign_id=campaign.pk, since=rolled_until, until=None, now=now)
    for (_day, moment_pk, group_pk), n in live.items():
        totals[(moment_pk, group_pk)].add(n)
    return dict(totals)


def campaign_stats_data(campaign) -> dict:
    """What the campaign page's results card shows ({% campaign_stats %}), as plain values, in
    a fixed number of queries (ten) whatever the number of moments, groups or charges."""
    # Every count from the campaign's results rollup plus the minutes after its watermark
    # (campaigns.results.selectors): the same cost at ten charges and at a million.
    totals = campaign_totals(campaign)
    moments = list(Moment.objects.filter(campaign=campaign).order_by("pk"))
    for moment in moments:
        moment.actions = sum(n.actions for (m, _g), n in totals.items() if m == moment.pk)
    groups = list(RewardGroup.objects.filter(campaign=campaign).select_related("marketplace"))
    spent = sum((n.spend for n in totals.values()), Decimal(0))
    month = month_start(timezone.localdate())
    month_spent = CampaignMonthlySpend.objects.filter(campaign=campaign, month=month).values_list(
        "spent", flat=True
    ).first() or Decimal(0)
    budget = campaign.total_budget
    remaining_budget = None if budget is None else max(Decimal(0), budget - spent)
    affordable = None
    if remaining_budget is not None and campaign.cpa:
        affordable = int(remaining_budget // campaign.cpa)
    moment_ids = {m.pk: m.moment_id for m in moments}
    marketplaces = {g.pk: g.marketplace_id for g in groups}
    redemptions = sorted(
        (
            RedemptionCounts(
                moment_id=moment_ids[m],
                marketplace_id=marketplaces[g],
                actions=n.actions,
                claimed=n.claimed,
                expired=n.expired,
                returned=n.returned,
            )
            for (m, g), n in totals.items()
            if m in moment_ids and g in marketplaces
        ),
        key=lambda c: (c.moment_id, c.marketplace_id),
    )
    return {
        "campaign": campaign,
        "redemptions": redemptions,
        "redemption_totals": redemption_totals(redemptions),
        "moments": moments,
        "total_actions": sum(m.actions for m in moments),
        "groups": groups,
        "spent": spent,
        "month_spent": month_spent,
        "monthly_cap": Decimal(settings.CAMPAIGN_MONTHLY_CAP),
        "remaining_budget": remaining_budget,
        "affordable": affordable,
    }


def account_redemption_summary(account, *, now: datetime | None = None) -> dict:
    """The dashboard's "Rewards handed out": the counts of the campaigns live now and of every
    campaign since the account began (live and finished), per moment and reward group and in
    total. Read from the daily roll-up (CampaignDay) plus the minutes after each campaign's
    watermark, in nine queries whatever the number of grants, so the dashboard costs the same
    at ten grants and at a million; the numbers are those `redemption_counts` counts over
    every grant."""
    now = now or timezone.now()
    campaigns = Campaign.objects.filter(account=account)
    live_ids = set(
        campaigns.alias(shown=effective_status_expression(now))
        .filter(shown=Campaign.Status.LIVE)
        .values_list("pk", flat=True)
    )
    totals: dict[tuple[int | None, int | None], DayNumbers] = defaultdict(DayNumbers)
    for row in (
        CampaignDay.objects.filter(campaign__account=account)
        .values("moment_id", "reward_group_id")
        .annotate(a=Sum("actions"), c=Sum("claimed"), e=Sum("expired"), r=Sum("returned"))
        .order_by()
    ):
        totals[(row["moment_id"], row["reward_group_id"])].add(
            DayNumbers(row["a"], Decimal(0), row["c"], row["e"], row["r"])
        )
    after = account_aggregates_after_rollup(account_id=account.pk, now=now)
    for (_day, moment_pk, group_pk), n in after.items():
        totals[(moment_pk, group_pk)].add(n)
    moments = {
        pk: (moment_id, campaign_pk)
        for pk, moment_id, campaign_pk in Moment.objects.filter(
            campaign__account=account
        ).values_list("pk", "moment_id", "campaign_id")
    }
    marketplaces = dict(
        RewardGroup.objects.filter(campaign__account=account).values_list("pk", "marketplace_id")
    )
    every: dict[tuple[str, str], DayNumbers] = defaultdict(DayNumbers)
    live: dict[tuple[str, str], DayNumbers] = defaultdict(DayNumbers)
    for (moment_pk, group_pk), n in totals.items():
        # Ledger corrections have no moment or group, and no reward: not a row here.
        if moment_pk not in moments or group_pk not in marketplaces:
            continue
        moment_id, campaign_pk = moments[moment_pk]
        key = (moment_id, marketplaces[group_pk])
        every[key].add(n)
        if campaign_pk in live_ids:
            live[key].add(n)
    all_counts, live_counts = _counts(every), _counts(live)
    return {
        "counts": all_counts,
        "totals": redemption_totals(all_counts),
        "live_counts": live_counts,
        "live_totals": redemption_totals(live_counts),
        "live_campaigns": len(live_ids),
    }


def _counts(numbers: dict[tuple[str, str], DayNumbers]) -> list[RedemptionCounts]:
    """RedemptionCounts per (moment id, marketplace), in that order; a moment and reward group
    with no grant has no row (as `redemption_counts`, which groups the grants)."""
    return [
        RedemptionCounts(
            moment_id=moment_id,
            marketplace_id=marketplace_id,
            actions=n.actions,
            claimed=n.claimed,
            expired=n.expired,
            returned=n.returned,
        )
        for (moment_id, marketplace_id), n in sorted(numbers.items())
        if n.actions
    ]
