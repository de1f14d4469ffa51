"""{% campaign_stats stats %}: the campaign page's results card (actions per moment, spend,
remaining budget and rewards, redemption counts per moment and reward group: counts only, never
who). {% redemption_summary summary %}: the dashboard's redemption counts. The views read what
they show with the selectors (campaigns.results.selectors.campaign_stats_data and
account_redemption_summary): these tags make no query of their own. Given a campaign or an
account instead (templates of old, tests), they call the same selectors."""

from __future__ import annotations

from django import template

from campaigns.results.selectors import account_redemption_summary, campaign_stats_data

register = template.Library()


@register.inclusion_tag("rewards/_campaign_stats.html", takes_context=True)
def campaign_stats(context, stats):
    if not isinstance(stats, dict):
        stats = campaign_stats_data(stats)
    return {**stats, "request": context.get("request")}


@register.inclusion_tag("rewards/_redemption_summary.html")
def redemption_summary(summary):
    """The dashboard's redemption counts of the account's campaigns (numbers only)."""
    if not isinstance(summary, dict):
        summary = account_redemption_summary(summary)
    return summary
