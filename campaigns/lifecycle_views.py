"""Developer-side lifecycle actions: take a campaign down after a confirmation page."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from console.decorators import account_required
from console.selectors import get_for_account

from .models import Campaign
from .services.lifecycle import IllegalTransition, campaign_take_down, effective_status
from .services.notifications import campaign_page_path

TAKE_DOWN_FROM = (Campaign.Status.APPROVED, Campaign.Status.LIVE)


@account_required
@require_http_methods(["GET", "POST"])
def campaign_take_down_view(request, campaign_id):
    """GET: what taking down means, and a confirm button. POST: approved or live → suspended."""
    campaign = get_for_account(
        Campaign.objects.select_related("app"), request, campaign_id=campaign_id
    )
    if request.method == "POST":
        try:
            campaign_take_down(campaign=campaign, actor=request.user)
        except IllegalTransition as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                f"“{campaign.name}” is taken down: "
                "the Rewards API no longer hands out its rewards.",
            )
        return redirect(campaign_page_path(campaign))
    if (
        campaign.status not in TAKE_DOWN_FROM
        or effective_status(campaign) == Campaign.Status.FINISHED
    ):
        messages.error(
            request,
            f"Only an approved or live campaign can be taken down; this one is "
            f"{Campaign.Status(effective_status(campaign)).label}.",
        )
        return redirect(campaign_page_path(campaign))
    return render(
        request,
        "campaigns/confirm_take_down.html",
        {"campaign": campaign, "back": campaign_page_path(campaign), "nav_section": "campaigns"},
    )
