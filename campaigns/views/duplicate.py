"""The "Duplicate as a new draft" button: how a developer changes a submitted campaign
(SPEC §6: nothing can be edited after submission; a change means a new campaign)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from console.decorators import account_required
from console.selectors import get_for_account

from ..models import Campaign
from ..services.wizard import campaign_duplicate
from .wizard import step_url


@account_required
@require_POST
def campaign_duplicate_view(request, campaign_id):
    """Any member may duplicate any campaign of their account, whatever its status; the copy
    opens in the wizard at its name and dates."""
    campaign = get_for_account(
        Campaign.objects.select_related("app"), request, campaign_id=campaign_id
    )
    copy = campaign_duplicate(campaign=campaign, actor=request.user)
    text = (
        f"“{copy.name}” is a new draft with everything of “{campaign.name}”. Check its name and "
        "dates, then go through the steps: nothing is submitted until you submit it."
    )
    if campaign.banner and not copy.banner:
        text += " The original's banner file could not be read: upload it again in step 6."
    messages.success(request, text)
    return redirect(step_url(copy, 2 if copy.wizard_step >= 2 else 1))
