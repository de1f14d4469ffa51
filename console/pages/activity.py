"""The account's Activity page (SPEC §12): the audit log of the account, for its admins.

Kept apart from console/views.py: the log is read-only and has its own filter form.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import reverse

from campaigns.models import Campaign
from console.activity import (
    ACTION_GROUPS,
    account_activity,
    account_activity_actors,
    activity_what,
)
from console.decorators import admin_required
from console.models import ActivityEntry, App

PER_PAGE = 50


class ActivityFilterForm(forms.Form):
    """The page's filters (GET): an action group, an actor, a range of days."""

    group = forms.ChoiceField(
        required=False,
        label="What",
        choices=[("", "Everything"), *((key, label) for key, (label, _) in ACTION_GROUPS.items())],
    )
    actor = forms.ChoiceField(required=False, label="Who", choices=[("", "Anyone")])
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, actors: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].choices = [("", "Anyone"), *((a, a) for a in actors)]

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "The end of the range is before its start.")
        return cleaned


@dataclass(frozen=True)
class Row:
    """One line of the page: the entry, its sentence and the link to its object (if any)."""

    entry: ActivityEntry
    sentence: str
    url: str | None


def _links(entries: list[ActivityEntry], account_id: int) -> dict[tuple[str, str], str]:
    """The page of each object that still has one, in one query per kind of object (so the
    page's queries do not grow with its rows). Scoped to the account, like every page."""
    def ids(object_type: str) -> list[int]:
        return [
            int(e.object_id)
            for e in entries
            if e.object_type == object_type and e.object_id.isdigit()
        ]

    links: dict[tuple[str, str], str] = {}
    if app_ids := ids("console.app"):
        for pk, app_id in App.objects.filter(account_id=account_id, pk__in=app_ids).values_list(
            "pk", "app_id"
        ):
            links["console.app", str(pk)] = reverse("console:app_detail", args=[app_id])
    if campaign_ids := ids("campaigns.campaign"):
        for pk, campaign_id in Campaign.objects.filter(
            account_id=account_id, pk__in=campaign_ids
        ).values_list("pk", "campaign_id"):
            links["campaigns.campaign", str(pk)] = reverse("campaigns:detail", args=[campaign_id])
    if endpoint_ids := ids("console.webhookendpoint"):
        from console.webhooks.models import WebhookEndpoint

        for pk in WebhookEndpoint.objects.filter(
            account_id=account_id, pk__in=endpoint_ids
        ).values_list("pk", flat=True):
            links["console.webhookendpoint", str(pk)] = reverse("webhooks:detail", args=[pk])
    for e in entries:
        if e.object_type == "billing.invoice" and e.object_repr:
            # Invoices are reached by their number, which the row keeps.
            links[e.object_type, e.object_id] = reverse("billing:invoice_pdf", args=[e.object_repr])
    return links


@admin_required
def activity(request):
    """Who changed what in the account, and from where: newest first, 50 a page, filtered by
    what changed, who changed it and when."""
    account_id = request.account.pk
    form = ActivityFilterForm(
        request.GET or None, actors=account_activity_actors(account_id=account_id)
    )
    filters = form.cleaned_data if form.is_valid() else {}
    rows = account_activity(
        account_id=account_id,
        group=filters.get("group", ""),
        actor=filters.get("actor", ""),
        since=filters.get("since"),
        until=filters.get("until"),
    )
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    entries = list(page.object_list)
    links = _links(entries, account_id)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "console/activity.html",
        {
            "form": form,
            "page": page,
            "rows": [
                Row(e, activity_what(e), links.get((e.object_type, e.object_id)))
                for e in entries
            ],
            "query": query.urlencode(),
            "filtered": bool(filters and any(filters.values())),
        },
    )
