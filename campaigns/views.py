"""Campaign pages."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render

from console.decorators import account_required

from .models import Campaign


@account_required
def campaign_list(request):
    campaigns = Campaign.objects.filter(account=request.account).select_related("app")
    page = Paginator(campaigns, 20).get_page(request.GET.get("page"))
    return render(request, "campaigns/list.html", {"page": page})
