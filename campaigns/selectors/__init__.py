"""Reads of campaigns that span relations."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from django.core.paginator import Paginator
from django.db.models import Count
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse

from console.models import ApiKey, App
from rewards.catalog.pricing import suggested_cpa, usd_rates
from rewards.catalog.selectors import PricedItem, priced_picks

from ..models import Campaign, Moment, RewardGroup
from ..services.lifecycle import (
    earliest_go_live,
    effective_status,
    effective_status_expression,
    go_live_day,
)
from ..services.notifications import actor_display


def campaign_status_counts(account, *, now=None) -> dict[str, int]:
    """Number of the account's campaigns in each effective status (the badge the list shows),
    in one query."""
    rows = (
        Campaign.objects.filter(account=account)
        .values(shown=effective_status_expression(now))
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = {status: 0 for status in Campaign.Status.values}
    counts.update({row["shown"]: row["n"] for row in rows})
    return counts


def campaign_list_page(
    account, *, status: str | None, page: str | None, per_page: int = 20, now=None
):
    """One page of the account's campaigns with their app, newest first: two queries (count
    and rows) whatever the number of campaigns. `status` filters by the effective status, the
    one each row's badge shows, so a campaign shown as Live is found under Live even before
    the beat sweep has moved it."""
    campaigns = Campaign.objects.filter(account=account).select_related("app")
    if status in Campaign.Status.values:
        campaigns = campaigns.alias(shown=effective_status_expression(now)).filter(shown=status)
    return Paginator(campaigns.order_by("-created_at", "-pk"), per_page).get_page(page)


def reward_groups_with_picks(campaign: Campaign) -> list[RewardGroup]:
    """The campaign's reward groups with their marketplace and picks, in three queries."""
    return list(
        RewardGroup.objects.filter(campaign=campaign)
        .select_related("marketplace", "discount_category__marketplace")
        .prefetch_related("products__marketplace")
        .order_by("marketplace__position")
    )


def group_picks(group: RewardGroup, rates: dict[str, Decimal]) -> list[PricedItem]:
    """A reward group's products and discount category with their reference prices."""
    items: list = list(group.products.all())
    if group.discount_category is not None:
        items.append(group.discount_category)
    return priced_picks(items, rates)


@dataclass
class GroupSummary:
    group: RewardGroup
    picks: list[PricedItem]
    suggested_cpa: Decimal | None


@dataclass
class CampaignSummary:
    """What the review and detail pages show of a campaign."""

    campaign: Campaign
    groups: list[GroupSummary]
    moments: list[Moment]
    suggested_cpa: Decimal | None
    actions: int | None

    @property
    def reward_group_ids(self) -> list[str]:
        return [g.group.marketplace_id for g in self.groups]

    @property
    def moment_ids(self) -> list[str]:
        return [m.moment_id for m in self.moments]


def budget_actions(total_budget: Decimal | None, cpa: Decimal | None) -> int | None:
    """How many actions the budget buys at this CPA."""
    if not total_budget or not cpa:
        return None
    return int(total_budget // cpa)


def campaign_summary(campaign: Campaign) -> CampaignSummary:
    """The campaign with its reward groups, picks (priced), moments and what the budget buys,
    in a fixed number of queries."""
    groups = reward_groups_with_picks(campaign)
    rates = usd_rates() if groups else {}
    summaries = []
    for group in groups:
        picks = group_picks(group, rates)
        summaries.append(GroupSummary(group, picks, suggested_cpa([p.price for p in picks])))
    every_price = [p.price for s in summaries for p in s.picks]
    return CampaignSummary(
        campaign=campaign,
        groups=summaries,
        moments=list(Moment.objects.filter(campaign=campaign).order_by("pk")),
        suggested_cpa=suggested_cpa(every_price),
        actions=budget_actions(campaign.total_budget, campaign.cpa),
    )


DEVICE_TYPES = {
    App.Platform.ANDROID: "Android",
    App.Platform.IOS: "iOS",
    App.Platform.FIRE_OS: "FireOS",
    App.Platform.WEB: "Web",
}


@dataclass
class ApiParameters:
    """The "Rewards API parameters" panel: the IDs a developer's server sends, and snippets
    filled with them."""

    app_id: str
    campaign_id: str
    moment_ids: list[str]
    reward_group_ids: list[str]
    key_prefix: str | None
    curl: str
    python: str
    braze: str


def active_key_prefix(app: App) -> str | None:
    """The prefix of the app's current key (not one on its grace period after a rotation)."""
    key = (
        ApiKey.objects.filter(app=app, revoked_at__isnull=True, expires_at__isnull=True)
        .order_by("-created_at")
        .values_list("prefix", flat=True)
        .first()
    )
    return key


def campaign_api_parameters(summary: CampaignSummary, *, site_url: str) -> ApiParameters:
    campaign = summary.campaign
    app = campaign.app
    moment = summary.moment_ids[0] if summary.moment_ids else "YOUR_MOMENT_ID"
    group = summary.reward_group_ids[0] if summary.reward_group_ids else "US"
    device = DEVICE_TYPES.get(app.platform, "Android")
    body = {
        "appId": str(app.app_id),
        "momentId": moment,
        "deviceType": device,
        "campaignId": str(campaign.campaign_id),
        "rewardGroupId": group,
    }
    context = {"site_url": site_url, "body": body, "json_body": json.dumps(body)}
    return ApiParameters(
        app_id=str(app.app_id),
        campaign_id=str(campaign.campaign_id),
        moment_ids=summary.moment_ids,
        reward_group_ids=summary.reward_group_ids,
        key_prefix=active_key_prefix(app),
        curl=_snippet("curl", context),
        python=_snippet("python", context),
        braze=_snippet("braze", context),
    )


def _snippet(name: str, context: dict) -> str:
    """One integration snippet, templates/rewards/snippets/<name>.txt filled with the IDs (the
    file's final newline is not part of the snippet)."""
    return render_to_string(f"rewards/snippets/{name}.txt", context).removesuffix("\n")


def _edit_url(campaign: Campaign) -> str | None:
    """The wizard, where a rejected campaign is edited and resubmitted."""
    try:
        return reverse("campaigns:wizard", kwargs={"campaign_id": campaign.campaign_id})
    except NoReverseMatch:
        return None


def campaign_lifecycle_data(campaign: Campaign) -> dict:
    """What the campaign page's history card shows ({% campaign_lifecycle %}): the moves, the
    rejection reason and the lifecycle actions (take down, edit and resubmit)."""
    S = Campaign.Status
    # One query, whatever the length of the history (actors' memberships joined, for names).
    transitions = list(
        campaign.transitions.select_related("actor__membership").order_by("-created_at", "-pk")
    )
    for row in transitions:
        row.campaign = campaign  # already loaded: actor_display reads its account
        row.by = actor_display(row)
    status = effective_status(campaign)
    go_live = goes_live_on = None
    if campaign.submitted_at and status in (S.PENDING_APPROVAL, S.APPROVED):
        go_live = earliest_go_live(campaign.submitted_at)
        # The day it goes live once approved, by the rule approval stores for the sweep.
        goes_live_on = go_live_day(
            submitted_at=campaign.submitted_at, start_date=campaign.start_date
        )
    return {
        "campaign": campaign,
        "status": status,
        "status_label": S(status).label,
        "transitions": transitions,
        "review_ends": go_live,
        "goes_live_on": goes_live_on,
        "can_take_down": status in (S.APPROVED, S.LIVE),
        "edit_url": _edit_url(campaign) if campaign.status == S.REJECTED else None,
    }
