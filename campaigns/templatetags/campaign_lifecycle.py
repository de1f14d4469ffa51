"""{% campaign_lifecycle lifecycle %}: the campaign page's history, rejection reason and
lifecycle actions (take down, edit and resubmit). The view reads them with
campaigns.selectors.campaign_lifecycle_data: the tag makes no query of its own. Given a campaign
instead (tests), it calls the same selector."""

from __future__ import annotations

from django import template

from ..selectors import campaign_lifecycle_data

register = template.Library()


@register.inclusion_tag("campaigns/_lifecycle.html", takes_context=True)
def campaign_lifecycle(context, lifecycle):
    if not isinstance(lifecycle, dict):
        lifecycle = campaign_lifecycle_data(lifecycle)
    return {**lifecycle, "request": context.get("request")}
