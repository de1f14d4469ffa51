"""Campaign pages: the list, a campaign's page with its Rewards API parameters and results over
time (and their CSV), deleting a draft."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from console.csvexport import csv_response
from console.decorators import account_required
from console.selectors import get_for_account

from ..models import Campaign
from ..results.selectors import (
    campaign_results,
    campaign_stats_data,
    results_csv_rows,
    results_default_range,
    results_range,
)
from ..selectors import (
    campaign_api_parameters,
    campaign_lifecycle_data,
    campaign_list_page,
    campaign_status_counts,
    campaign_summary,
)
from ..services.lifecycle import EDITABLE_STATUSES, effective_status
from ..services.wizard import campaign_draft_delete, campaign_problems


@account_required
def campaign_list(request):
    status = request.GET.get("status") or None
    if status not in Campaign.Status.values:
        status = None
    page = campaign_list_page(request.account, status=status, page=request.GET.get("page"))
    now = timezone.now()
    page.object_list = list(page.object_list)
    for campaign in page.object_list:
        # What the Rewards API answers now, even if the beat sweep has not caught up yet.
        campaign.display_status = effective_status(campaign, now)
    counts = campaign_status_counts(request.account)
    filters = [
        (value, label, counts[value]) for value, label in Campaign.Status.choices if counts[value]
    ]
    return render(
        request,
        "campaigns/list.html",
        {
            "page": page,
            "status": status,
            "status_label": Campaign.Status(status).label if status else "",
            "filters": filters,
            "total": sum(counts.values()),
        },
    )


@account_required
def campaign_detail(request, campaign_id):
    campaign = get_for_account(
        Campaign.objects.select_related("app", "account"), request, campaign_id=campaign_id
    )
    summary = campaign_summary(campaign)
    editable = campaign.status in EDITABLE_STATUSES
    date_from, date_to = request.GET.get("from"), request.GET.get("to")
    range_error = None
    try:
        period = results_range(campaign, date_from=date_from, date_to=date_to)
    except ValidationError as exc:
        # The page still opens, on the default range, with the reason next to the inputs.
        range_error = " ".join(exc.messages)
        period = results_default_range(campaign)
    results = campaign_results(campaign, period=period) if campaign.live_at else None
    return render(
        request,
        "campaigns/detail.html",
        {
            "campaign": campaign,
            "summary": summary,
            "api": campaign_api_parameters(summary, site_url=settings.SITE_URL),
            "editable": editable,
            "display_status": effective_status(campaign),
            "problems": campaign_problems(campaign) if campaign.status == "draft" else [],
            "SITE_URL": settings.SITE_URL,
            "results": results,
            # The history and results cards, read here (their tags only render).
            "lifecycle": campaign_lifecycle_data(campaign),
            "stats": campaign_stats_data(campaign),
            "range_error": range_error,
            # What the inputs show: what was typed when it was wrong, else the range drawn.
            "range_from": date_from if range_error else period.start.isoformat(),
            "range_to": date_to if range_error else period.end.isoformat(),
        },
    )


@account_required
def campaign_results_csv(request, campaign_id):
    """The results over the `from` / `to` range as CSV, one row per day (streamed)."""
    campaign = get_for_account(Campaign.objects.all(), request, campaign_id=campaign_id)
    try:
        period = results_range(
            campaign, date_from=request.GET.get("from"), date_to=request.GET.get("to")
        )
    except ValidationError as exc:
        return HttpResponse(
            " ".join(exc.messages), status=400, content_type="text/plain; charset=utf-8"
        )
    results = campaign_results(campaign, period=period)
    filename = f"results-{campaign.campaign_id}-{period.start}-{period.end}.csv"
    return csv_response(filename, results_csv_rows(results))


@account_required
@require_http_methods(["GET", "POST"])
def campaign_delete(request, campaign_id):
    """GET: a confirmation page. POST: delete the draft."""
    campaign = get_for_account(
        Campaign.objects.select_related("app"), request, campaign_id=campaign_id
    )
    if campaign.status != Campaign.Status.DRAFT:
        messages.error(
            request,
            f"Only a draft can be deleted; “{campaign.name}” is {campaign.get_status_display()}.",
        )
        return redirect("campaigns:detail", campaign_id=campaign.campaign_id)
    if request.method == "POST":
        try:
            campaign_draft_delete(campaign=campaign, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"The draft “{campaign.name}” is deleted.")
        return redirect("campaigns:list")
    return render(request, "campaigns/confirm_delete.html", {"campaign": campaign})
