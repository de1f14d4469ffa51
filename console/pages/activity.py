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
    actor_display,
)
from console.decorators import admin_required
from console.models import ActivityEntry, App
from rewards.redemption.models import Claim

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

    def __init__(self, *args, actors: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].choices = [("", "Anyone"), *actors]

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "The end of the range is before its start.")
        return cleaned


@dataclass(frozen=True)
class Ref:
    """An object a row is about, as it is now: its current name and its page (if it has one)."""

    name: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Row:
    """One line of the page: the entry, who made it (as developers may read it), its sentence,
    and the object's current name and page."""

    entry: ActivityEntry
    who: str
    sentence: str
    object_name: str
    url: str | None


def _claim_text(claim: Claim) -> str:
    # What the shopper claimed, from which campaign, with no shopper data: "Echo Dot (US)
    # from Summer Quest".
    if claim.product_id:
        item = f"{claim.product.title} ({claim.product.marketplace_id})"
    else:
        credit = claim.catalog_credit
        item = f"a {credit.name} credit ({credit.marketplace_id})"
    return f"{item} from {claim.grant.campaign.name}"


def _objects(entries: list[ActivityEntry], account_id: int) -> dict[tuple[str, str], Ref]:
    """The current name and page of each object that still exists, in one query per kind of
    object (so the page's queries do not grow with its rows). Names are read now, not kept
    from when the row was written: a draft renamed after "Untitled campaign fa43179a" reads
    by its name. Scoped to the account, like every page."""

    def ids(object_type: str) -> list[int]:
        return [
            int(e.object_id)
            for e in entries
            if e.object_type == object_type and e.object_id.isdigit()
        ]

    refs: dict[tuple[str, str], Ref] = {}
    if app_ids := ids("console.app"):
        for pk, app_id, name in App.objects.filter(
            account_id=account_id, pk__in=app_ids
        ).values_list("pk", "app_id", "name"):
            refs["console.app", str(pk)] = Ref(name, reverse("console:app_detail", args=[app_id]))
    if campaign_ids := ids("campaigns.campaign"):
        for pk, campaign_id, name in Campaign.objects.filter(
            account_id=account_id, pk__in=campaign_ids
        ).values_list("pk", "campaign_id", "name"):
            refs["campaigns.campaign", str(pk)] = Ref(
                name, reverse("campaigns:detail", args=[campaign_id])
            )
    if claim_ids := ids("rewards.claim"):
        claims = Claim.objects.filter(
            grant__campaign__account_id=account_id, pk__in=claim_ids
        ).select_related("grant__campaign", "product", "catalog_credit")
        for claim in claims:
            refs["rewards.claim", str(claim.pk)] = Ref(
                _claim_text(claim),
                reverse("campaigns:detail", args=[claim.grant.campaign.campaign_id]),
            )
    if endpoint_ids := ids("console.webhookendpoint"):
        from console.webhooks.models import WebhookEndpoint

        for pk in WebhookEndpoint.objects.filter(
            account_id=account_id, pk__in=endpoint_ids
        ).values_list("pk", flat=True):
            refs["console.webhookendpoint", str(pk)] = Ref(
                url=reverse("webhooks:detail", args=[pk])
            )
    for e in entries:
        if e.object_type == "billing.invoice" and e.object_repr:
            # Invoices are reached by their number, which the row keeps.
            refs[e.object_type, e.object_id] = Ref(
                url=reverse("billing:invoice_pdf", args=[e.object_repr])
            )
    return refs


# Team rows name their person by email (kept in the row's data): the seat's or invitation's
# text ("dave@acme.test (Admin) at Acme Games") would show a role that has changed since.
_PEOPLE = frozenset({"console.membership", "console.invitation"})


def _row(entry: ActivityEntry, ref: Ref) -> Row:
    what = activity_what(entry, name=ref.name)
    if ref.name:
        shown = ref.name
    elif entry.object_type == "rewards.claim":
        shown = "a reward"
    elif entry.object_type in _PEOPLE and (entry.data or {}).get("email"):
        shown = entry.data["email"]
    else:
        shown = entry.object_repr
    return Row(entry, actor_display(entry.actor_label), what, shown, ref.url)


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
    refs = _objects(entries, account_id)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "console/activity.html",
        {
            "form": form,
            "page": page,
            "rows": [_row(e, refs.get((e.object_type, e.object_id), Ref())) for e in entries],
            "query": query.urlencode(),
            "filtered": bool(filters and any(filters.values())),
        },
    )
