"""Reads of the review desk (issue 20): the snapshot of what a reviewer judges, the diff of a
resubmission against the rejected round, everything the desk page shows, and the reviewers'
throughput report. Nothing here reads or shows money: reviewers never see it (SPEC §9)."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from ..models import Campaign, CampaignSubmission, CampaignTransition, ReviewChecklistItem
from ..services.lifecycle import earliest_go_live
from ..services.review import TAKE_LEASE
from . import reward_groups_with_picks

S = Campaign.Status

# The fields a reviewer judges, in the order the diff lists them, with their labels.
SNAPSHOT_FIELDS: dict[str, str] = {
    "name": "Name",
    "app": "App",
    "store_url": "Store link",
    "start_date": "Start date",
    "end_date": "End date",
    "announcement_message": "Notification message",
    "announcement_criteria": "Who is notified",
    "redemption_message": "Redemption message",
    "terms": "Terms",
    "banner": "Banner",
    "rewards": "Rewards",
    "moments": "Moments",
}


def review_snapshot(campaign: Campaign) -> dict:
    """What the reviewer judges of the campaign, as plain JSON: texts, dates, the banner's file,
    the rewards per marketplace (titles, never prices) and the moments."""
    row = Campaign.objects.select_related("app").get(pk=campaign.pk)
    rewards = []
    for group in reward_groups_with_picks(row):
        picks = [f"{p.title} ({p.asin})" for p in group.products.all()]
        if group.discount_category is not None:
            picks.append(f"Catalog credit: {group.discount_category.name}")
        limit = f"; limit {group.quantity_limit}" if group.quantity_limit else ""
        rewards.append(f"{group.marketplace_id}: {', '.join(picks) or '—'}{limit}")
    moments = [f"{m.moment_id} — {m.action}" for m in row.moments.all()]
    return {
        "name": row.name,
        "app": row.app.name,
        "store_url": row.app.store_url,
        "start_date": row.start_date.isoformat() if row.start_date else "",
        "end_date": row.end_date.isoformat() if row.end_date else "",
        "announcement_message": row.announcement_message,
        "announcement_criteria": row.announcement_criteria,
        "redemption_message": row.redemption_message,
        "terms": row.terms,
        "banner": row.banner.name or "",
        "rewards": "\n".join(rewards),
        "moments": "\n".join(moments),
    }


@dataclass(frozen=True)
class FieldChange:
    """One reviewed field that differs between the rejected round and this one."""

    label: str
    before: str
    after: str


def review_diff(before: dict, after: dict) -> list[FieldChange]:
    """The reviewed fields that changed, field by field, in SNAPSHOT_FIELDS' order."""
    changes = []
    for key, label in SNAPSHOT_FIELDS.items():
        old, new = str(before.get(key, "")), str(after.get(key, ""))
        if old != new:
            if key == "banner":
                old, new = "the banner of the rejected round", "a new banner (shown above)"
            changes.append(FieldChange(label, old or "—", new or "—"))
    return changes


# --- The queue -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    """Where a campaign pending approval stands against its review deadline."""

    due_at: datetime
    age_days: int
    due_in_days: int

    @property
    def overdue(self) -> bool:
        return self.due_in_days < 0

    @property
    def label(self) -> str:
        if self.overdue:
            late = -self.due_in_days
            return f"overdue by {late} day{'s' if late != 1 else ''}"
        if self.due_in_days == 0:
            return "due today"
        return f"due in {self.due_in_days} day{'s' if self.due_in_days != 1 else ''}"


def review_deadline(submitted_at: datetime, now: datetime | None = None) -> Deadline:
    """The review deadline (submitted + the seven-day review period), the age in days and the
    days left; a deadline passed is overdue."""
    now = now or timezone.now()
    due_at = earliest_go_live(submitted_at)
    left = (due_at - now).total_seconds() / 86400
    return Deadline(
        due_at=due_at,
        age_days=max(0, int((now - submitted_at).total_seconds() // 86400)),
        # 4.0 days left reads "due in 4 days", 3.2 "due in 4 days"; 0.5 days late is overdue.
        due_in_days=math.ceil(left) if left >= 0 else math.floor(left),
    )


def live_taker(campaign: Campaign, now: datetime | None = None):
    """The reviewer whose claim on the campaign has not lapsed, or None."""
    now = now or timezone.now()
    if campaign.review_taken_by_id and campaign.review_taken_at > now - TAKE_LEASE:
        return campaign.review_taken_by
    return None


def review_queue(now: datetime | None = None):
    """Campaigns pending approval, earliest review deadline first (the deadline is submission
    + a fixed period, so that is oldest submission first), with the taker joined."""
    return (
        Campaign.objects.filter(status=S.PENDING_APPROVAL)
        .select_related("account", "app", "review_taken_by")
        .order_by("submitted_at", "pk")
    )


def next_in_queue(campaign: Campaign, actor, now: datetime | None = None) -> Campaign | None:
    """The next campaign the reviewer may work on after this one: the earliest deadline that is
    neither this one nor held by another reviewer."""
    now = now or timezone.now()
    others_claim = (
        Q(review_taken_by__isnull=False)
        & ~Q(review_taken_by=actor.pk)
        & Q(review_taken_at__gt=now - TAKE_LEASE)
    )
    return review_queue(now).exclude(pk=campaign.pk).exclude(others_claim).first()


# --- The desk page ---------------------------------------------------------------------------


@dataclass
class EarlierCampaign:
    campaign: Campaign
    outcome: str
    reason: str


@dataclass
class ReviewDesk:
    """Everything the desk page shows to decide on one campaign, and no money."""

    campaign: Campaign
    deadline: Deadline | None
    taker: object | None
    groups: list
    moments: list
    checklist: list[ReviewChecklistItem]
    round_number: int
    previous_round: CampaignSubmission | None
    changes: list[FieldChange]
    earlier: list[EarlierCampaign]
    history: list[CampaignTransition]
    previews: list[dict] = field(default_factory=list)


def review_desk(campaign: Campaign, now: datetime | None = None) -> ReviewDesk:
    """The desk of one campaign: its rewards with images, its moments, one shopper-page preview
    per marketplace (the /r/test/ page, which speaks each marketplace's language), the
    checklist, the diff against the last rejected round, and the developer's other campaigns
    with their outcomes."""
    now = now or timezone.now()
    groups = reward_groups_with_picks(campaign)
    rounds = list(CampaignSubmission.objects.filter(campaign=campaign).order_by("number"))
    current = next((r for r in reversed(rounds) if r.outcome == "pending"), None)
    rejected = [r for r in rounds if r.outcome == CampaignSubmission.Outcome.REJECTED]
    previous = rejected[-1] if rejected else None
    changes = []
    if previous is not None and campaign.status == S.PENDING_APPROVAL:
        changes = review_diff(previous.snapshot, review_snapshot(campaign))
    preview = reverse("rewards:test_reward_page", args=[campaign.campaign_id])
    return ReviewDesk(
        campaign=campaign,
        deadline=review_deadline(campaign.submitted_at, now) if campaign.submitted_at else None,
        taker=live_taker(campaign, now),
        groups=groups,
        moments=list(campaign.moments.all()),
        checklist=list(ReviewChecklistItem.objects.filter(active=True)),
        round_number=current.number if current else len(rounds) + 1,
        previous_round=previous,
        changes=changes,
        earlier=_earlier_campaigns(campaign),
        history=list(campaign.transitions.order_by("created_at", "pk")),
        previews=[
            {
                "code": g.marketplace_id,
                "name": g.marketplace.name,
                "url": f"{preview}?group={g.marketplace_id}",
            }
            for g in groups
        ],
    )


def _earlier_campaigns(campaign: Campaign) -> list[EarlierCampaign]:
    """The account's other submitted campaigns, newest first, with how each one ended."""
    others = list(
        Campaign.objects.filter(account_id=campaign.account_id, submitted_at__isnull=False)
        .exclude(pk=campaign.pk)
        .order_by("-submitted_at")[:20]
    )
    rejections: dict[int, str] = {}
    for pk, reason in (
        CampaignTransition.objects.filter(campaign__in=others, to_status=S.REJECTED)
        .order_by("created_at")
        .values_list("campaign_id", "reason")
    ):
        rejections[pk] = reason
    return [
        EarlierCampaign(
            campaign=other,
            outcome=S(other.status).label,
            reason=rejections.get(other.pk, ""),
        )
        for other in others
    ]


# --- The throughput report -------------------------------------------------------------------


@dataclass
class ReviewerThroughput:
    reviewer: str
    per_day: dict[date, int]
    total: int
    median_hours: float | None


@dataclass
class ThroughputReport:
    days: list[date]
    reviewers: list[ReviewerThroughput]
    median_hours: float | None
    overdue: int
    pending: int


def review_throughput(*, days: int = 14, now: datetime | None = None) -> ThroughputReport:
    """Decisions per day per reviewer over the last `days` days, the median time from
    submission to decision (per reviewer and overall), and how many campaigns pending
    approval are past their review deadline now. Two queries."""
    now = now or timezone.now()
    first_day = timezone.localdate(now) - timedelta(days=days - 1)
    since = now - timedelta(days=days)
    decided = CampaignSubmission.objects.filter(decided_at__gte=since).values_list(
        "decided_by_label", "decided_at", "submitted_at"
    )
    per_reviewer: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    waits: dict[str, list[float]] = defaultdict(list)
    for label, decided_at, submitted_at in decided:
        day = timezone.localdate(decided_at)
        if day < first_day:
            continue
        per_reviewer[label][day] += 1
        waits[label].append((decided_at - submitted_at).total_seconds() / 3600)
    all_waits = [w for values in waits.values() for w in values]
    overdue_before = now - (earliest_go_live(now) - now)
    pending = Campaign.objects.filter(status=S.PENDING_APPROVAL)
    return ThroughputReport(
        days=[first_day + timedelta(days=i) for i in range(days)],
        reviewers=[
            ReviewerThroughput(
                reviewer=label,
                per_day=dict(per_day),
                total=sum(per_day.values()),
                median_hours=round(statistics.median(waits[label]), 1),
            )
            for label, per_day in sorted(per_reviewer.items())
        ],
        median_hours=round(statistics.median(all_waits), 1) if all_waits else None,
        overdue=pending.filter(submitted_at__lt=overdue_before).count(),
        pending=pending.count(),
    )
