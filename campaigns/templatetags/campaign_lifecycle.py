"""{% campaign_lifecycle campaign %}: the campaign page's history, rejection reason and
lifecycle actions (take down, edit and resubmit)."""

from __future__ import annotations

from django import template
from django.urls import NoReverseMatch, reverse

from ..models import Campaign
from ..services.lifecycle import earliest_go_live, effective_status
from ..services.notifications import actor_display

register = template.Library()

S = Campaign.Status


def _edit_url(campaign: Campaign) -> str | None:
    """The wizard, where a rejected campaign is edited and resubmitted."""
    try:
        return reverse("campaigns:wizard", kwargs={"campaign_id": campaign.campaign_id})
    except NoReverseMatch:
        return None


@register.inclusion_tag("campaigns/_lifecycle.html", takes_context=True)
def campaign_lifecycle(context, campaign):
    # One query, whatever the length of the history (actors' memberships joined, for names).
    transitions = list(
        campaign.transitions.select_related("actor__membership").order_by("-created_at", "-pk")
    )
    for row in transitions:
        row.campaign = campaign  # already loaded: actor_display reads its account
        row.by = actor_display(row)
    status = effective_status(campaign)
    go_live = None
    if campaign.submitted_at and status in (S.PENDING_APPROVAL, S.APPROVED):
        go_live = earliest_go_live(campaign.submitted_at)
    return {
        "campaign": campaign,
        "status": status,
        "status_label": S(status).label,
        "transitions": transitions,
        "review_ends": go_live,
        "can_take_down": status in (S.APPROVED, S.LIVE),
        "edit_url": _edit_url(campaign) if campaign.status == S.REJECTED else None,
        "request": context.get("request"),
    }
