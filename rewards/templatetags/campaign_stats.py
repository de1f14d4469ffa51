"""{% campaign_stats campaign %}: actions per moment, spend, remaining budget and rewards, and
the redemption counts per moment and reward group (claimed, expired, returned: counts only,
never who), read in a fixed number of queries (ten) from the results rollup, whatever the
number of moments, reward groups, grants or charges. {% redemption_summary account %}: the
same counts for an account's campaigns, on the dashboard (one query, through
rewards.redemption.selectors)."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.conf import settings
from django.utils import timezone

from billing.models import CampaignMonthlySpend
from campaigns.models import Campaign, Moment, RewardGroup
from campaigns.results.selectors import campaign_totals
from console.money import month_start
from rewards.redemption.selectors import RedemptionCounts, redemption_counts, redemption_totals

register = template.Library()


def campaign_stats_data(campaign) -> dict:
    """What the fragment shows, as plain values (also handy to test)."""
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


@register.inclusion_tag("rewards/_campaign_stats.html", takes_context=True)
def campaign_stats(context, campaign):
    return {**campaign_stats_data(campaign), "request": context.get("request")}


@register.inclusion_tag("rewards/_redemption_summary.html")
def redemption_summary(account):
    """The dashboard's redemption counts of the account's campaigns (numbers only)."""
    counts = redemption_counts(campaigns=Campaign.objects.filter(account=account))
    return {"totals": redemption_totals(counts), "counts": counts}
