"""{% campaign_lifecycle campaign %}: the campaign page's history, rejection reason and
lifecycle actions (take down, edit and resubmit)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.inclusion_tag("campaigns/_lifecycle.html", takes_context=True)
def campaign_lifecycle(context, campaign):
    return {"campaign": campaign, "request": context.get("request")}
