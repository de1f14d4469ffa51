"""The dashboard: the account's apps, its campaigns by status and its spend this month."""

from __future__ import annotations

from django.shortcuts import render

from campaigns.results.selectors import account_redemption_summary, dashboard_spend
from campaigns.selectors import campaign_status_counts
from console import selectors
from console.decorators import account_required


@account_required
def dashboard(request):
    apps = selectors.app_list(request)
    return render(
        request,
        "console/dashboard.html",
        {
            "apps": apps[:5],
            "app_count": apps.count(),
            "campaign_counts": campaign_status_counts(request.account),
            "spend": dashboard_spend(request.account),
            "redemptions": account_redemption_summary(request.account),
        },
    )
