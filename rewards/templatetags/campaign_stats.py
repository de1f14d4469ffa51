"""{% campaign_stats campaign %}: actions per moment, spend, remaining budget and rewards,
read from the ledger and counters."""

from __future__ import annotations

from django import template

register = template.Library()


@register.inclusion_tag("rewards/_campaign_stats.html", takes_context=True)
def campaign_stats(context, campaign):
    return {"campaign": campaign, "request": context.get("request")}
