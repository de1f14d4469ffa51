"""{% campaign_stats campaign %}: actions per moment, spend, remaining budget and rewards, and
the redemption counts per moment and reward group (claimed, expired, returned: counts only,
never who), read in a fixed number of queries (five), whatever the number of moments, reward
groups, grants or charges. {% redemption_summary account %}: the same counts for an account's
campaigns, on the dashboard (one query, through rewards.selectors)."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.conf import settings
from django.utils import timezone

from billing.models import CampaignMonthlySpend
from billing.money import month_start
from campaigns.models import Campaign, Moment, RewardGroup
from campaigns.selectors.results import campaign_spend_total, moment_actions_expression
from rewards.selectors import redemption_counts, redemption_totals

register = template.Library()


def campaign_stats_data(campaign) -> dict:
    """What the fragment shows, as plain values (also handy to test)."""
    # Actions and spend from the campaign's daily rollup plus the charges since its watermark
    # (campaigns.selectors.results): the same cost at ten charges and at a million.
    moments = list(
        Moment.objects.filter(campaign=campaign)
        .annotate(actions=moment_actions_expression(campaign))
        .order_by("pk")
    )
    groups = list(RewardGroup.objects.filter(campaign=campaign).select_related("marketplace"))
    spent = campaign_spend_total(campaign)
    month = month_start(timezone.localdate())
    month_spent = CampaignMonthlySpend.objects.filter(campaign=campaign, month=month).values_list(
        "spent", flat=True
    ).first() or Decimal(0)
    budget = campaign.total_budget
    remaining_budget = None if budget is None else max(Decimal(0), budget - spent)
    affordable = None
    if remaining_budget is not None and campaign.cpa:
        affordable = int(remaining_budget // campaign.cpa)
    redemptions = redemption_counts(campaigns=[campaign])
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
