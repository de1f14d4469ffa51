"""The review desk's writes (SPEC §6, issue 20): take a campaign, approve or reject what the
reviewer saw, and the rounds of review (a snapshot of each submission and its decision).

Two rules hold in the database, not in Python:
- A decision is made on the version the reviewer's page showed. The version travels in the
  form and is matched by the move's conditional UPDATE (`WHERE version = seen`), so a campaign
  rejected, edited and resubmitted in the meantime is never approved from a stale tab.
- "Take" is a lease won by one conditional UPDATE (free, lapsed, or already the taker's), so
  two reviewers pressing Take at once cannot both get it. A decision by someone other than a
  live taker is refused the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format

from console.activity import activity_record

from ..models import Campaign, CampaignSubmission, CampaignTransition
from .lifecycle import (
    REVIEW_PERMISSION,
    IllegalTransition,
    _actor_label,
    campaign_approve,
    campaign_reject,
)

S = Campaign.Status
# A reviewer's claim on a campaign lapses after this long without a decision.
TAKE_LEASE = timedelta(hours=1)


class ReviewRefused(IllegalTransition):
    """A take or a decision the desk refuses, with the sentence the reviewer reads."""


@dataclass(frozen=True)
class ChecklistResult:
    """One checklist item as the reviewer marked it on the desk."""

    item: int
    text: str
    passed: bool

    def as_json(self) -> dict:
        return {"item": self.item, "text": self.text, "passed": self.passed}


def _require_reviewer(actor) -> None:
    if actor is None or not actor.has_perm(REVIEW_PERMISSION):
        raise PermissionDenied("Only Moments reviewers can review campaigns.")


def _when(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def taken_by_other(actor, now: datetime) -> Q:
    """Rows with a live claim of another reviewer (the complement is what `actor` may take)."""
    return (
        Q(review_taken_by__isnull=False)
        & ~Q(review_taken_by=actor.pk)
        & Q(review_taken_at__gt=now - TAKE_LEASE)
    )


def campaign_review_take(*, campaign: Campaign, actor, now: datetime | None = None) -> Campaign:
    """The reviewer claims a campaign pending approval for an hour (TAKE_LEASE): one
    conditional UPDATE, matched only when nobody else holds a live claim. Taking it again
    renews the reviewer's own claim. Refused with who holds it otherwise."""
    _require_reviewer(actor)
    now = now or timezone.now()
    with transaction.atomic():
        taken = (
            Campaign.objects.filter(pk=campaign.pk, status=S.PENDING_APPROVAL)
            .exclude(taken_by_other(actor, now))
            .update(review_taken_by=actor, review_taken_at=now)
        )
        if taken != 1:
            raise ReviewRefused(_why_not_taken(campaign.pk, actor, now))
        # Staff's own record (no account: the developer's log is about their campaign's
        # moves, not about who is reading it).
        activity_record(actor=actor, account=None, action="campaign.review_taken", target=campaign)
    campaign.review_taken_by, campaign.review_taken_at = actor, now
    return campaign


def campaign_review_release(*, campaign: Campaign, actor) -> Campaign:
    """The reviewer gives a taken campaign back to the queue (only their own claim)."""
    _require_reviewer(actor)
    with transaction.atomic():
        released = Campaign.objects.filter(pk=campaign.pk, review_taken_by=actor).update(
            review_taken_by=None, review_taken_at=None
        )
        if released:
            activity_record(
                actor=actor, account=None, action="campaign.review_released", target=campaign
            )
    campaign.review_taken_by, campaign.review_taken_at = None, None
    return campaign


def _why_not_taken(pk: int, actor, now: datetime) -> str:
    row = Campaign.objects.select_related("review_taken_by").filter(pk=pk).first()
    if row is None or row.status != S.PENDING_APPROVAL:
        return _already_decided(pk) or "The campaign is no longer pending approval."
    holder = _actor_label(row.review_taken_by)
    return (
        f"{holder} took this campaign at {_when(row.review_taken_at)}; it is theirs until "
        f"{_when(row.review_taken_at + TAKE_LEASE)} unless they release it."
    )


def _already_decided(pk: int) -> str | None:
    """ "Already approved by rita@… on …", from the campaign's last decision, if any."""
    last = (
        CampaignTransition.objects.filter(
            campaign_id=pk, from_status=S.PENDING_APPROVAL, to_status__in=[S.APPROVED, S.REJECTED]
        )
        .order_by("-created_at", "-pk")
        .first()
    )
    if last is None:
        return None
    verb = "approved" if last.to_status == S.APPROVED else "rejected"
    return f"This campaign was already {verb} by {last.actor_label} on {_when(last.created_at)}."


def _why_refused(pk: int, actor, version: int | None, refused: IllegalTransition) -> str:
    """The sentence the reviewer reads when the decision's conditional UPDATE matched nothing
    (or the state machine refused the move: then its own sentence, unless decided before)."""
    row = Campaign.objects.select_related("review_taken_by").filter(pk=pk).first()
    if row is None:
        return "This campaign no longer exists."
    if row.status != S.PENDING_APPROVAL:
        return _already_decided(pk) or str(refused)
    if version is None or row.version != version:
        decided = _already_decided(pk)
        since = f" {decided[:-1]}, and it was changed and submitted again." if decided else ""
        return (
            "The campaign changed since you opened it; nothing was decided."
            f"{since} Reload the page to review what is submitted now."
        )
    holder = _actor_label(row.review_taken_by)
    return f"{holder} has taken this campaign; only they can decide on it until their claim lapses."


def _decision_condition(actor, version: int | None, now: datetime) -> Q:
    # version=None (a form without it) can never match: an old page decides nothing.
    return Q(version=version if version is not None else -1) & ~taken_by_other(actor, now)


def campaign_review_approve(
    *,
    campaign: Campaign,
    actor,
    version: int | None,
    checklist: list[ChecklistResult] = (),
    now: datetime | None = None,
) -> Campaign:
    """Approve the version of the campaign the reviewer saw (`version`, from the desk's form).
    Refused, with why, when it changed since, was decided already, or another reviewer holds
    it. The move closes the round of review and frees the claim; the checklist as ticked is
    recorded on the round."""
    _require_reviewer(actor)
    now = now or timezone.now()
    if any(not result.passed for result in checklist):
        raise ReviewRefused("A checklist item failed: reject the campaign, or tick the item.")
    with transaction.atomic():
        try:
            campaign_approve(
                campaign=campaign,
                actor=actor,
                now=now,
                condition=_decision_condition(actor, version, now),
            )
        except IllegalTransition as exc:
            raise ReviewRefused(_why_refused(campaign.pk, actor, version, exc)) from exc
        _checklist_record(campaign, checklist)
    return campaign


def campaign_review_reject(
    *,
    campaign: Campaign,
    actor,
    version: int | None,
    reason: str,
    checklist: list[ChecklistResult] = (),
    now: datetime | None = None,
) -> Campaign:
    """Reject the version of the campaign the reviewer saw, with the reason the developer
    reads (often pre-filled from the failed checklist items' canned texts). Refused like
    campaign_review_approve."""
    _require_reviewer(actor)
    now = now or timezone.now()
    with transaction.atomic():
        try:
            campaign_reject(
                campaign=campaign,
                actor=actor,
                reason=reason,
                now=now,
                condition=_decision_condition(actor, version, now),
            )
        except IllegalTransition as exc:
            raise ReviewRefused(_why_refused(campaign.pk, actor, version, exc)) from exc
        _checklist_record(campaign, checklist)
    return campaign


def _checklist_record(campaign: Campaign, checklist) -> None:
    """The checklist as ticked, on the round the move just closed (campaigns.services.rounds)."""
    if not checklist:
        return
    closed = CampaignSubmission.objects.filter(campaign=campaign).order_by("-number").first()
    closed.checklist = [result.as_json() for result in checklist]
    closed.save(update_fields=["checklist"])
