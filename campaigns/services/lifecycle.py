"""The campaign state machine (SPEC §6): one table of allowed moves and one function that
applies a move with a conditional UPDATE and records it, in one transaction.

No other code assigns `Campaign.status`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ..models import Campaign, CampaignTransition

logger = logging.getLogger(__name__)

S = Campaign.Status

# (from, to) -> the timestamp field the move stamps. The one table of allowed moves.
TRANSITIONS: dict[tuple[str, str], str | None] = {
    (S.DRAFT, S.PENDING_APPROVAL): "submitted_at",
    (S.REJECTED, S.PENDING_APPROVAL): "submitted_at",
    (S.PENDING_APPROVAL, S.APPROVED): "approved_at",
    (S.PENDING_APPROVAL, S.REJECTED): "rejected_at",
    (S.APPROVED, S.LIVE): "live_at",
    (S.LIVE, S.FINISHED): "finished_at",
    (S.APPROVED, S.SUSPENDED): "suspended_at",
    (S.LIVE, S.SUSPENDED): "suspended_at",
}


class IllegalTransition(Exception):
    """A move the state machine does not allow, or a campaign that moved meanwhile."""


# What the developer may still change in the wizard; after submission nothing is edited
# (SPEC §6), and a rejected campaign is edited to be resubmitted.
EDITABLE_STATUSES = frozenset({S.DRAFT, S.REJECTED})
REVIEW_PERMISSION = "campaigns.review_campaign"


@dataclass(frozen=True)
class Move:
    campaign_pk: int
    from_status: str
    to_status: str
    transition_pk: int | None = None


def _actor_label(actor) -> str:
    if actor is None:
        return "system"
    return getattr(actor, "email", "") or getattr(actor, "username", "") or str(actor)


def campaign_transition(
    *,
    campaign: Campaign,
    to_status: str,
    actor=None,
    reason: str = "",
    expected: str | None = None,
    extra: dict | None = None,
    now: datetime | None = None,
) -> Campaign:
    """Move one campaign from `expected` (default: its current status) to `to_status`.

    The UPDATE's `WHERE status = expected` decides: if another process moved the campaign
    first, nothing is written and IllegalTransition is raised. The transition row is written
    in the same transaction; notifications and cache invalidation run after commit.
    `extra` are further fields set by the same UPDATE (e.g. the rejection reason).
    """
    from_status = expected or campaign.status
    stamp = TRANSITIONS.get((from_status, to_status), "")
    if stamp == "":
        raise IllegalTransition(
            f"A campaign cannot move from {S(from_status).label} to {S(to_status).label}."
        )
    now = now or timezone.now()
    values = {"status": to_status, "updated_at": now, **(extra or {})}
    if stamp:
        values[stamp] = now
    with transaction.atomic():
        moved = Campaign.objects.filter(pk=campaign.pk, status=from_status).update(**values)
        if moved != 1:
            raise IllegalTransition(
                f"The campaign is no longer {S(from_status).label}; reload and try again."
            )
        row = CampaignTransition.objects.create(
            campaign_id=campaign.pk,
            from_status=from_status,
            to_status=to_status,
            actor=actor,
            actor_label=_actor_label(actor),
            reason=reason,
            created_at=now,
        )
        moves = [Move(campaign.pk, from_status, to_status, row.pk)]
        transaction.on_commit(lambda: after_moves(moves))
    for field, value in values.items():
        setattr(campaign, field, value)
    return campaign


def after_moves(moves: list[Move]) -> None:
    """After commit: drop cached API answers of the moved campaigns and email their
    accounts (a Celery task; the sweep re-sends any email whose task never ran)."""
    from rewards.cache import invalidate_campaigns

    invalidate_campaigns([m.campaign_pk for m in moves])
    transition_pks = [m.transition_pk for m in moves if m.transition_pk is not None]
    if transition_pks:
        # Runs at once when called after commit (as campaign_transition does), else waits for it.
        transaction.on_commit(lambda: _enqueue_notifications(transition_pks))


def _enqueue_notifications(transition_pks: list[int]) -> None:
    from ..tasks import notify_transitions

    try:
        notify_transitions.delay(transition_pks)
    except Exception:
        # The move is committed; a broker outage must not turn it into an error page. The
        # rows stay un-notified and the next sweep enqueues them again.
        logger.exception("Could not enqueue notifications of transitions %s", transition_pks)


# --- The moves of the review -------------------------------------------------------------------


def _require_reviewer(actor) -> None:
    if actor is None or not actor.has_perm(REVIEW_PERMISSION):
        raise PermissionDenied("Only Moments reviewers can approve, reject or suspend campaigns.")


def campaign_approve(*, campaign: Campaign, actor, now: datetime | None = None) -> Campaign:
    """A reviewer approves a campaign pending approval: it enters test mode and goes live
    when its review period is over and its start date has come (the beat sweep)."""
    _require_reviewer(actor)
    return campaign_transition(campaign=campaign, to_status=S.APPROVED, actor=actor, now=now)


def campaign_reject(
    *, campaign: Campaign, actor, reason: str, now: datetime | None = None
) -> Campaign:
    """A reviewer rejects a campaign pending approval. The reason is required: the developer
    reads it on the campaign page and in the email, edits the campaign and resubmits."""
    _require_reviewer(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Give the developer a reason for the rejection."})
    return campaign_transition(
        campaign=campaign,
        to_status=S.REJECTED,
        actor=actor,
        reason=reason,
        extra={"rejection_reason": reason},
        now=now,
    )


def _suspend(*, campaign: Campaign, actor, reason: str, now: datetime | None) -> Campaign:
    now = now or timezone.now()
    if campaign.status not in (S.APPROVED, S.LIVE):
        raise IllegalTransition(
            f"Only an approved or live campaign can be taken down; this one is "
            f"{S(campaign.status).label}."
        )
    if effective_status(campaign, now) == S.FINISHED:
        raise IllegalTransition("The campaign has already finished.")
    return campaign_transition(
        campaign=campaign,
        to_status=S.SUSPENDED,
        actor=actor,
        reason=reason,
        expected=campaign.status,
        now=now,
    )


def campaign_suspend(
    *, campaign: Campaign, actor, reason: str, now: datetime | None = None
) -> Campaign:
    """Staff suspend an approved or live campaign (e.g. a complaint); the API stops at once.
    The reason is required: the developer reads it in the email and the history."""
    _require_reviewer(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Tell the developer why the campaign is suspended."})
    return _suspend(campaign=campaign, actor=actor, reason=reason, now=now)


def campaign_take_down(*, campaign: Campaign, actor, now: datetime | None = None) -> Campaign:
    """The developer takes their approved or live campaign down (→ suspended). The caller
    has already scoped the campaign to the actor's account; this re-checks it."""
    membership = getattr(actor, "membership", None)
    if membership is None or membership.account_id != campaign.account_id:
        raise PermissionDenied("Only a member of the campaign's account can take it down.")
    return _suspend(campaign=campaign, actor=actor, reason="Taken down by the developer.", now=now)


def campaign_check_editable(campaign: Campaign) -> None:
    """Refuse changes to a submitted campaign: only drafts and rejected campaigns are edited
    (a change after submission means a new campaign)."""
    if campaign.status not in EDITABLE_STATUSES:
        raise IllegalTransition(
            f"A campaign cannot be edited once submitted; this one is "
            f"{S(campaign.status).label}. Create a new campaign instead."
        )


# --- The beat sweep ----------------------------------------------------------------------------


def campaigns_sweep(*, now: datetime | None = None) -> list[Move]:
    """Move every due campaign in a few bulk statements (SPEC §6), mirroring effective_status:

    approved → live once the review period is over and the start date has come;
    live → finished after the end date, or with less than one CPA of budget left.

    Each step selects the due rows with FOR UPDATE SKIP LOCKED, moves them with one
    conditional UPDATE and bulk-inserts their transition rows in the same transaction. Two
    sweeps at once never move (or record) a campaign twice: a row locked by one is skipped by
    the other, and once committed it no longer matches `status = expected`. A row skipped
    because GetReward holds its lock is moved by the next sweep.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    review_over = now - timedelta(days=settings.REVIEW_PERIOD_DAYS)
    moves = _sweep_step(
        Q(status=S.APPROVED, submitted_at__lte=review_over, start_date__lte=today),
        S.APPROVED,
        S.LIVE,
        now=now,
        reason="The review period is over and the start date has come.",
    )
    moves += _sweep_step(
        Q(status=S.LIVE, end_date__lt=today),
        S.LIVE,
        S.FINISHED,
        now=now,
        reason="The end date has passed.",
    )
    moves += _sweep_step(
        Q(status=S.LIVE, cpa__gt=F("total_budget") - F("spent")),
        S.LIVE,
        S.FINISHED,
        now=now,
        reason="The budget is spent: less than one CPA is left.",
    )
    return moves


# Rows moved per transaction: keeps each one's locks short when very many fall due at once.
SWEEP_BATCH = 2000


def _sweep_step(
    due: Q, from_status: str, to_status: str, *, now: datetime, reason: str
) -> list[Move]:
    moves: list[Move] = []
    while True:
        batch = _sweep_batch(due, from_status, to_status, now=now, reason=reason)
        moves += batch
        if len(batch) < SWEEP_BATCH:
            return moves


def _sweep_batch(
    due: Q, from_status: str, to_status: str, *, now: datetime, reason: str
) -> list[Move]:
    stamp = TRANSITIONS[(from_status, to_status)]
    with transaction.atomic():
        pks = list(
            Campaign.objects.select_for_update(skip_locked=True)
            .filter(due)
            .order_by("pk")
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        if not pks:
            return []
        # We hold these rows' locks (on SQLite the IMMEDIATE transaction holds the database's
        # write lock), so every one of them still matches and moves.
        Campaign.objects.filter(pk__in=pks, status=from_status).update(
            status=to_status, updated_at=now, **{stamp: now}
        )
        rows = CampaignTransition.objects.bulk_create(
            [
                CampaignTransition(
                    campaign_id=pk,
                    from_status=from_status,
                    to_status=to_status,
                    actor=None,
                    actor_label=_actor_label(None),
                    reason=reason,
                    created_at=now,
                )
                for pk in pks
            ]
        )
        moves = [Move(row.campaign_id, from_status, to_status, row.pk) for row in rows]
        transaction.on_commit(lambda: after_moves(moves))
    return moves


# --- Reading the state -------------------------------------------------------------------------


def earliest_go_live(submitted_at: datetime) -> datetime:
    """A campaign cannot go live before its review period is over (SPEC §6)."""
    return submitted_at + timedelta(days=settings.REVIEW_PERIOD_DAYS)


def effective_status(campaign: Campaign, now: datetime | None = None) -> str:
    """The campaign's status as of `now`, from its stored status and its timestamps, so that
    readers (the Rewards API) are right even when the beat sweep runs late.

    approved + review period over + start date come → live; live (or due) past its end date
    or with less than one CPA of budget left → finished.
    """
    now = now or timezone.now()
    today: date = timezone.localdate(now)
    status = campaign.status
    if (
        status == S.APPROVED
        and campaign.submitted_at
        and campaign.start_date
        and earliest_go_live(campaign.submitted_at) <= now
        and campaign.start_date <= today
    ):
        status = S.LIVE
    if status == S.LIVE:
        if campaign.end_date and today > campaign.end_date:
            return S.FINISHED
        if (
            campaign.total_budget is not None
            and campaign.cpa is not None
            and campaign.total_budget - campaign.spent < campaign.cpa
        ):
            return S.FINISHED
    return status


def rewards_expire_at(campaign: Campaign) -> datetime:
    """Reward URLs expire 30 days after the campaign's end date (end of that day, UTC)."""
    end = datetime.combine(
        campaign.end_date + timedelta(days=settings.REWARD_EXPIRY_DAYS + 1),
        datetime.min.time(),
        tzinfo=timezone.get_current_timezone(),
    )
    return end
