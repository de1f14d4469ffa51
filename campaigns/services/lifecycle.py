"""The campaign state machine (SPEC §6): one table of allowed moves and one function that
applies a move with a conditional UPDATE and records it, in one transaction.

No other code assigns `Campaign.status`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import Campaign, CampaignTransition

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


@dataclass(frozen=True)
class Move:
    campaign_pk: int
    from_status: str
    to_status: str


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
        CampaignTransition.objects.create(
            campaign_id=campaign.pk,
            from_status=from_status,
            to_status=to_status,
            actor=actor,
            actor_label=_actor_label(actor),
            reason=reason,
            created_at=now,
        )
        moves = [Move(campaign.pk, from_status, to_status)]
        transaction.on_commit(lambda: after_moves(moves))
    for field, value in values.items():
        setattr(campaign, field, value)
    return campaign


def after_moves(moves: list[Move]) -> None:
    """After commit: drop cached API answers of the moved campaigns and email their
    accounts. Filled in by the lifecycle and API issues (notifications, cache)."""
    from rewards.cache import invalidate_campaigns

    invalidate_campaigns([m.campaign_pk for m in moves])


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
