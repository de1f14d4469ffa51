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
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from console.activity import activity_entry, activity_record, activity_record_many
from console.clock import day_end, day_start
from console.hooks import API_CACHE_INVALIDATE, hook_call
from console.rules import case_value, q_matches
from console.webhooks.events import webhook_events_publish

from ..models import Campaign, CampaignTransition
from .events import status_changed_events
from .rounds import round_close, round_open

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
    # Only campaign_resume_after_payment makes this move (RESTRICTED_MOVES): a campaign that
    # billing paused for an unpaid invoice goes live again once it is paid.
    (S.SUSPENDED, S.LIVE): None,
}
# Moves no caller makes through campaign_transition directly: a reviewer's suspension is final.
RESTRICTED_MOVES = frozenset({(S.SUSPENDED, S.LIVE)})


# The activity log's action of a move, by the status it moves to.
ACTIVITY_ACTIONS: dict[str, str] = {
    S.PENDING_APPROVAL: "campaign.submitted",
    S.APPROVED: "campaign.approved",
    S.REJECTED: "campaign.rejected",
    S.LIVE: "campaign.went_live",
    S.FINISHED: "campaign.finished",
    S.SUSPENDED: "campaign.suspended",
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
    action: str | None = None,
    condition: Q | None = None,
    _restricted_ok: bool = False,
) -> Campaign:
    """Move one campaign from `expected` (default: its current status) to `to_status`.

    The UPDATE's `WHERE status = expected` decides: if another process moved the campaign
    first, nothing is written and IllegalTransition is raised. The transition row is written
    in the same transaction; notifications and cache invalidation run after commit.
    `extra` are further fields set by the same UPDATE (e.g. the rejection reason).
    `action` names the move in the activity log when the status alone does not (a take-down).
    `condition` narrows the UPDATE further (the review desk: the version the reviewer saw, and
    nobody else's live claim), so the check and the write are one statement.

    Every move bumps the campaign's `version`: a page opened before it is stale.
    """
    from_status = expected or campaign.status
    stamp = TRANSITIONS.get((from_status, to_status), "")
    if stamp == "" or ((from_status, to_status) in RESTRICTED_MOVES and not _restricted_ok):
        raise IllegalTransition(
            f"A campaign cannot move from {S(from_status).label} to {S(to_status).label}."
        )
    now = now or timezone.now()
    values = {"status": to_status, "updated_at": now, **(extra or {})}
    if stamp:
        values[stamp] = now
    if from_status == S.PENDING_APPROVAL:
        values.update(review_taken_by=None, review_taken_at=None)  # decided: nobody's to take
    with transaction.atomic():
        rows = Campaign.objects.filter(pk=campaign.pk, status=from_status)
        if condition is not None:
            rows = rows.filter(condition)
        moved = rows.update(version=F("version") + 1, **values)
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
        webhook_events_publish(
            events=status_changed_events([row], accounts={campaign.pk: campaign.account_id})
        )
        # Dated like the transition row (the demo account's history starts in the past). A
        # reviewer's move also shows on the campaign's admin "History" page.
        activity_record(
            actor=actor,
            account=campaign.account_id,
            action=action or ACTIVITY_ACTIONS[to_status],
            target=campaign,
            data={"from_status": from_status, "to_status": to_status, "reason": reason},
            history=_history_message(from_status, to_status, reason),
            created_at=now,
        )
        # The rounds of review follow the status: a submission opens one, a decision closes it.
        if to_status == S.PENDING_APPROVAL:
            round_open(campaign=campaign, now=now)
        elif from_status == S.PENDING_APPROVAL:
            round_close(
                campaign=campaign,
                to_status=to_status,
                actor=actor,
                actor_label=row.actor_label,
                reason=reason,
                now=now,
            )
        moves = [Move(campaign.pk, from_status, to_status, row.pk)]
        transaction.on_commit(lambda: after_moves(moves))
    for field, value in values.items():
        setattr(campaign, field, value)
    campaign.refresh_from_db(fields=["version"])
    return campaign


def _history_message(from_status: str, to_status: str, reason: str) -> str:
    """A move as the admin's History page reads it: "Pending approval → Approved: why"."""
    move = f"{S(from_status).label} → {S(to_status).label}"
    return f"{move}: {reason}" if reason else f"{move}."


def after_moves(moves: list[Move]) -> None:
    """After commit: drop cached API answers of the moved campaigns and email their
    accounts (a Celery task; the sweep re-sends any email whose task never ran). The cache is
    the Rewards API's, a layer above: reached through its hook, not imported."""
    hook_call(API_CACHE_INVALIDATE, [m.campaign_pk for m in moves])
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


def campaign_approve(
    *, campaign: Campaign, actor, now: datetime | None = None, condition: Q | None = None
) -> Campaign:
    """A reviewer approves a campaign pending approval: it enters test mode and goes live
    when its review period is over and its start date has come (the beat sweep).

    When it goes live and when it ends are worked out here, once, from the row as submitted
    (locked: nothing changes it meanwhile), and stored with the move."""
    _require_reviewer(actor)
    with transaction.atomic():
        submitted = (
            Campaign.objects.select_for_update()
            .filter(pk=campaign.pk)
            .values("submitted_at", "start_date", "end_date")
            .first()
        ) or {"submitted_at": None, "start_date": None, "end_date": None}
        goes_live_at, ends_at = campaign_schedule(**submitted)
        return campaign_transition(
            campaign=campaign,
            to_status=S.APPROVED,
            actor=actor,
            now=now,
            extra={"goes_live_at": goes_live_at, "ends_at": ends_at},
            condition=condition,
        )


def campaign_reject(
    *,
    campaign: Campaign,
    actor,
    reason: str,
    now: datetime | None = None,
    condition: Q | None = None,
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
        condition=condition,
    )


def _suspend(
    *, campaign: Campaign, actor, reason: str, now: datetime | None, action: str | None = None
) -> Campaign:
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
        action=action,
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
    return _suspend(
        campaign=campaign,
        actor=actor,
        reason="Taken down by the developer.",
        now=now,
        action="campaign.taken_down",
    )


def campaign_pause_for_payment(
    *, campaign: Campaign, reason: str, now: datetime | None = None
) -> Campaign:
    """Billing's dunning pauses a live campaign of an account that has not paid an overdue
    invoice (live → suspended, by the system): the API stops at once, the developer is told
    why. Billing records which campaigns it paused, and resumes only those."""
    return campaign_transition(
        campaign=campaign,
        to_status=S.SUSPENDED,
        expected=S.LIVE,
        reason=reason,
        now=now,
        action="campaign.paused_for_payment",
    )


def campaign_resume_after_payment(
    *, campaign: Campaign, reason: str, now: datetime | None = None
) -> Campaign:
    """The invoice is paid: a campaign that dunning paused goes live again (suspended → live,
    the one move back from suspended). The caller (billing) checks the campaign is one it
    paused; if its end has passed meanwhile, the beat sweep finishes it as usual."""
    return campaign_transition(
        campaign=campaign,
        to_status=S.LIVE,
        expected=S.SUSPENDED,
        reason=reason,
        now=now,
        action="campaign.resumed_after_payment",
        _restricted_ok=True,
    )


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
    """Move every due campaign in a few bulk statements (SPEC §6), by the conditions of
    effective_status_expression (goes_live_due, end_due, BUDGET_SPENT):

    approved → live once `goes_live_at` has come; live → finished once `ends_at` has come, or
    with less than one CPA of budget left. One step per condition, so that each move records
    why it happened.

    Each step selects the due rows with FOR UPDATE SKIP LOCKED, moves them with one
    conditional UPDATE and bulk-inserts their transition rows in the same transaction. Two
    sweeps at once never move (or record) a campaign twice: a row locked by one is skipped by
    the other, and once committed it no longer matches `status = expected`. A row skipped
    because GetReward holds its lock is moved by the next sweep.
    """
    now = now or timezone.now()
    moves = _sweep_step(
        goes_live_due(now),
        S.APPROVED,
        S.LIVE,
        now=now,
        reason="The review period is over and the start date has come.",
    )
    moves += _sweep_step(
        Q(status=S.LIVE) & end_due(now),
        S.LIVE,
        S.FINISHED,
        now=now,
        reason="The end date has passed.",
    )
    moves += _sweep_step(
        Q(status=S.LIVE) & BUDGET_SPENT,
        S.LIVE,
        S.FINISHED,
        now=now,
        reason="The budget is spent: less than one CPA is left.",
    )
    if moves:
        # Once for the whole sweep: one cache invalidation (a Redis pipeline) and one
        # notification task, whatever the number of campaigns and batches. A sweep that dies
        # before this loses nothing that matters: cached answers stop at the stored moments by
        # themselves, and the next sweep re-sends unsent notifications.
        transaction.on_commit(lambda: after_moves(moves))
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
        due_rows = list(
            Campaign.objects.select_for_update(skip_locked=True)
            .filter(due)
            .order_by("pk")
            .values_list("pk", "account_id", "name")[:SWEEP_BATCH]
        )
        if not due_rows:
            return []
        accounts = {pk: account_id for pk, account_id, _ in due_rows}
        pks = list(accounts)
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
        webhook_events_publish(events=status_changed_events(rows, accounts=accounts))
        # The audit rows of the batch in one INSERT, actor the system (no request, no IP).
        data = {"from_status": from_status, "to_status": to_status, "reason": reason}
        activity_record_many(
            entries=[
                activity_entry(
                    actor=None,
                    account=account_id,
                    action=ACTIVITY_ACTIONS[to_status],
                    target=Campaign(pk=pk, account_id=account_id, name=name),
                    data=data,
                    created_at=now,
                )
                for pk, account_id, name in due_rows
            ]
        )
        return [Move(row.campaign_id, from_status, to_status, row.pk) for row in rows]


# --- Reading the state -------------------------------------------------------------------------


def earliest_go_live(submitted_at: datetime) -> datetime:
    """A campaign cannot go live before its review period is over (SPEC §6)."""
    return submitted_at + timedelta(days=settings.REVIEW_PERIOD_DAYS)


def go_live_day(*, submitted_at: datetime, start_date: date | None) -> date:
    """The day a campaign submitted at `submitted_at` goes live once approved: the later of the
    review period's end and its start date (SPEC §6). The one rule the beat sweep (through
    `campaign_schedule`, stored at approval) and the wizard's "it can go live on" both read;
    with no start date yet (step 2) it is the review period's end."""
    goes_live_at, _ = campaign_schedule(
        submitted_at=submitted_at, start_date=start_date, end_date=None
    )
    return timezone.localdate(goes_live_at or earliest_go_live(submitted_at))


def campaign_schedule(
    *, submitted_at: datetime | None, start_date: date | None, end_date: date | None
) -> tuple[datetime | None, datetime | None]:
    """(goes_live_at, ends_at) of a campaign approved now: it goes live once its review period
    is over and its start date has come, and ends the day after its end date, both at
    midnight in the business time zone. Stored at approval; None where a date is missing
    (such a campaign never moves by the clock)."""
    goes_live_at = None
    if submitted_at is not None and start_date is not None:
        goes_live_at = max(earliest_go_live(submitted_at), day_start(start_date))
    return goes_live_at, campaign_end_moment(end_date)


def campaign_end_moment(end_date: date | None) -> datetime | None:
    """The moment a campaign with this end date is over: the end of that day, in the business
    time zone (stored as `ends_at` at approval; returns close then too)."""
    return day_end(end_date) if end_date is not None else None


# The effective status, written once as a query expression over the columns stored at
# approval. The database evaluates it (the campaign list's filter and counts, the results); the
# sweep's due rows are its conditions; Python evaluates the same objects on a loaded row
# (console.rules), so the API and the badges cannot drift from the sweep. The one other copy is
# GetReward's SQL function (rewards/sql/, versioned), which tests/rewards/test_api.py runs at
# every edge of the timeline against effective_status on both engines.


def goes_live_due(now: datetime) -> Q:
    """Approved, and its go-live moment (review over, start date come) has come."""
    return Q(status=S.APPROVED, goes_live_at__lte=now)


def end_due(now: datetime) -> Q:
    """Its end moment (the day after its end date, at midnight) has come."""
    return Q(ends_at__lte=now)


def campaigns_sweep_lag_seconds(now: datetime | None = None) -> float:
    """How long the most overdue move has waited for the sweep (0 when nothing is due):
    moments_sweep_lag_seconds, read at each scrape. The oldest due moment is the earliest
    `goes_live_at` of an approved campaign or `ends_at` of a live one that has come; each is
    one probe of its (status, moment) index. A campaign finished by its spent budget has no
    due moment and is not counted (GetReward already refuses it)."""
    now = now or timezone.now()
    moments = [
        Campaign.objects.filter(filter_)
        .order_by(field)
        .values_list(field, flat=True)
        .first()
        for field, filter_ in (
            ("goes_live_at", goes_live_due(now)),
            ("ends_at", Q(status=S.LIVE) & end_due(now)),
        )
    ]
    due = [moment for moment in moments if moment is not None]
    return max(0.0, (now - min(due)).total_seconds()) if due else 0.0


# Less than one CPA of budget left: finished (campaigns.results.alerts counts it as 100 %).
BUDGET_SPENT = Q(cpa__gt=F("total_budget") - F("spent"))


def effective_status_expression(now: datetime | None = None) -> Case:
    """The campaign's status as of `now`, from its stored status and the moments stored at
    approval, so that readers (the Rewards API, the console) are right even when the beat sweep
    runs late: approved and `goes_live_at` come → live; live (or due) once `ends_at` has come or
    with less than one CPA of budget left → finished. Use it to filter and count campaigns by
    the status their badge shows; effective_status reads it on one loaded campaign."""
    now = now or timezone.now()
    live = Q(status=S.LIVE) | goes_live_due(now)
    return Case(
        When(live & end_due(now), then=Value(S.FINISHED.value)),
        When(live & BUDGET_SPENT, then=Value(S.FINISHED.value)),
        When(live, then=Value(S.LIVE.value)),
        default=F("status"),
    )


def effective_status(campaign: Campaign, now: datetime | None = None) -> str:
    """effective_status_expression evaluated on a loaded campaign, without a query."""
    return case_value(effective_status_expression(now), campaign)


def finished_by_budget_only(campaign: Campaign, now: datetime | None = None) -> bool:
    """A finished campaign whose end has not come: its budget ran out (the only other way to
    finish). GetRewardInfo still answers it, with nothing left (SPEC §7)."""
    now = now or timezone.now()
    if effective_status(campaign, now) != S.FINISHED:
        return False
    return not q_matches(end_due(now), campaign)


def reward_expiry_date(end_date: date) -> date:
    """The last day a reward of a campaign ending on `end_date` can be claimed: 30 days
    (settings.REWARD_EXPIRY_DAYS) after the end date. The terms say it; the grants store it."""
    return end_date + timedelta(days=settings.REWARD_EXPIRY_DAYS)


def rewards_expire_at(campaign: Campaign) -> datetime:
    """Reward URLs expire at the end of reward_expiry_date, in the business time zone (the
    SQL engine passes the same zone and number of days to rewards_get_reward)."""
    return day_end(reward_expiry_date(campaign.end_date))
