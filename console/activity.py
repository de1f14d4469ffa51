"""The activity log (SPEC §12): `activity_record` writes one audit row inside the caller's
transaction, so the row exists exactly when the change does.

The client's IP comes from the request being served (`ActivityIPMiddleware` sets it for the
duration of the request, after TrustedProxyMiddleware has resolved the real client), so
services need no request argument. Celery tasks and commands record no IP.

Reading the log (the account's Activity page) is here too: the action groups a reader filters
by, and the sentence each row reads as.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import date, datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .clock import day_end, day_start
from .models import ActivityEntry
from .money import MoneyError, format_money

_client_ip: ContextVar[str | None] = ContextVar("activity_client_ip", default=None)


def actor_label(actor) -> str:
    """How an actor is shown in the log: the user's email, or "system" for sweeps and tasks.

    An actor that is not a console user (a shopper returning a reward) appears as its kind
    only ("shopper"): the log never holds shopper personal data."""
    if actor is None:
        return "system"
    meta = getattr(actor, "_meta", None)
    if meta is not None and meta.label_lower != settings.AUTH_USER_MODEL.lower():
        return str(meta.verbose_name)
    label = getattr(actor, "email", "") or getattr(actor, "username", "") or str(actor)
    return f"{label} (staff)" if getattr(actor, "is_staff", False) else label


def _is_user(actor) -> bool:
    meta = getattr(actor, "_meta", None)
    return (
        getattr(actor, "pk", None) is not None
        and meta is not None
        and meta.label_lower == settings.AUTH_USER_MODEL.lower()
    )


def _plain(data: dict | None) -> dict:
    # Services hand over Decimals, dates and UUIDs; the JSON column stores their text, the
    # way a reader (and the admin) shows them.
    return json.loads(json.dumps(data or {}, cls=DjangoJSONEncoder))


def activity_entry(
    *,
    actor,
    account,
    action: str,
    target: models.Model | None = None,
    data: dict | None = None,
    created_at: datetime | None = None,
) -> ActivityEntry:
    """An unsaved audit row (see activity_record); for services that write many at once."""
    return ActivityEntry(
        account_id=getattr(account, "pk", account),
        actor=actor if _is_user(actor) else None,
        actor_label=actor_label(actor)[:254],
        action=action,
        # The row's own model, not the proxy an admin page showed it through (a campaign
        # approved from the review queue is a campaign: its link and history are the same).
        object_type=target._meta.concrete_model._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        object_repr=str(target)[:200] if target is not None else "",
        ip=_client_ip.get(),
        data=_plain(data),
        created_at=created_at or timezone.now(),
    )


class HistoryLine(NamedTuple):
    """One line of a Django admin object's "History" page, as activity_record writes it."""

    obj: models.Model
    message: str
    flag: int = CHANGE


def activity_record(
    *,
    actor,
    account,
    action: str,
    target: models.Model | None = None,
    data: dict | None = None,
    history: str | Iterable[HistoryLine] = (),
    created_at: datetime | None = None,
) -> ActivityEntry:
    """Write one audit row for a state change. Call it inside the change's transaction.

    `account` is the account the change belongs to (an Account or its id; None for changes
    outside any account). `target` is the object changed; `data` holds what a reader needs
    to understand the change (old and new values, a reason), never secrets or shopper data.

    `history` is what staff read on the admin's "History" page of the objects changed: a
    sentence about `target`, or HistoryLine rows about other objects (a card change shows on
    its account). This call writes them as the admin's LogEntry rows, beside the audit row:
    the one call a service makes to record a change, so the two never disagree or go missing
    one without the other.
    """
    entry = activity_entry(
        actor=actor,
        account=account,
        action=action,
        target=target,
        data=data,
        created_at=created_at,
    )
    entry.save(force_insert=True)
    if isinstance(history, str):
        history = [HistoryLine(target, history)] if history and target is not None else []
    _admin_history_write(actor=actor, lines=history, when=entry.created_at)
    return entry


def activity_record_session(
    *,
    actor,
    account,
    action: str,
    target: models.Model,
    data: dict,
    gather: str,
    within: timedelta,
) -> ActivityEntry:
    """Record one edit of `target` in its editing session: while the same user's edits of the
    same object follow each other within `within`, with nobody else's change to it in between,
    they update one row instead of adding one each ("edited Summer Quest (steps 2, 3 and 5)").

    `data[gather]` is what tells the edits apart (the wizard's step): the row keeps each one's
    value in `<gather>s`, in order, and the newest value of every other field. The row takes
    the latest edit's time and IP, so the log's newest-first order shows the session where it
    ended. Call it inside the edit's transaction.

    Written at write time, not grouped when read, so a page of the log is 50 rows of what a
    reader sees and its filters count what they show. Two edits at once are serialised by the
    target's row lock (taken here; the wizard holds it already), so the second sees the first's
    row and extends it; the UPDATE is also conditional on the row being unchanged since read.
    """
    model = target._meta.concrete_model
    list(model._base_manager.select_for_update().filter(pk=target.pk).values_list("pk"))
    now = timezone.now()
    key = f"{gather}s"
    value = _plain({gather: data[gather]})[gather]
    last = (
        ActivityEntry.objects.filter(
            account_id=getattr(account, "pk", account),
            object_type=model._meta.label_lower,
            object_id=str(target.pk),
            created_at__gte=now - within,
        )
        .order_by("-created_at", "-pk")
        .first()
    )
    if last is not None and last.action == action and _is_user(actor) and last.actor_id == actor.pk:
        gathered = list(last.data.get(key) or [last.data.get(gather)])
        if value not in gathered:
            gathered.append(value)
        merged = {**last.data, **_plain(data), key: gathered}
        extended = ActivityEntry.objects.filter(
            pk=last.pk, created_at=last.created_at, action=action
        ).update(data=merged, created_at=now, ip=_client_ip.get())
        if extended == 1:
            last.data, last.created_at, last.ip = merged, now, _client_ip.get()
            return last
    return activity_record(
        actor=actor,
        account=account,
        action=action,
        target=target,
        data={**data, key: [value]},
        created_at=now,
    )


def _admin_history_write(*, actor, lines: Iterable[HistoryLine], when: datetime) -> None:
    # The admin's LogEntry needs a user: a change by the system (a sweep, a task) has no line
    # there; it is in the activity log all the same.
    if not _is_user(actor):
        return
    LogEntry.objects.bulk_create(
        [
            LogEntry(
                action_time=when,
                user_id=actor.pk,
                content_type=ContentType.objects.get_for_model(line.obj),
                object_id=str(line.obj.pk),
                object_repr=str(line.obj)[:200],
                action_flag=line.flag,
                change_message=line.message,
            )
            for line in lines
        ]
    )


def activity_record_many(*, entries: Iterable[ActivityEntry]) -> list[ActivityEntry]:
    """Write audit rows built by activity_entry in one INSERT (a sweep's batch), inside the
    batch's transaction."""
    return ActivityEntry.objects.bulk_create(list(entries))


def changes(before: dict, after: dict) -> dict[str, list]:
    """The fields whose value differs, as {field: [old, new]}: an update's `data`."""
    return {
        field: [before.get(field), value]
        for field, value in after.items()
        if before.get(field) != value
    }


class ActivityIPMiddleware:
    """Makes the client's IP (as TrustedProxyMiddleware resolved it) known to activity_record
    for the duration of one request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _client_ip.set(request.META.get("REMOTE_ADDR") or None)
        try:
            return self.get_response(request)
        finally:
            _client_ip.reset(token)


# --- Reading the log ---------------------------------------------------------------------------

# What a reader filters by: a group is a set of action prefixes. New kinds of change join a
# group by their prefix, so the page needs no change when a service starts recording.
ACTION_GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "account": ("Account", ("account.signed_up", "account.spend_limit", "account.cap")),
    "members": ("Members", ("invitation.", "membership.")),
    "apps": ("Apps", ("app.",)),
    "keys": ("API keys", ("api_key.",)),
    "campaigns": ("Campaigns", ("campaign.",)),
    "billing": (
        "Billing",
        ("payment_method.", "account.payment_terms", "account.tax_id", "invoice."),
    ),
    "webhooks": ("Webhooks", ("webhook",)),
    "requests": ("Requests to staff", ("staff_request.",)),
    "rewards": ("Rewards and claims", ("claim.", "shopper.")),
}


def action_group_q(group: str) -> Q:
    """The filter of one action group (an unknown group matches nothing)."""
    prefixes = ACTION_GROUPS.get(group, ("", ()))[1]
    q = Q(pk__in=[])
    for prefix in prefixes:
        q |= Q(action__startswith=prefix)
    return q


def account_activity(
    *,
    account_id: int,
    group: str = "",
    actor: str = "",
    since: date | None = None,
    until: date | None = None,
):
    """The account's activity rows, newest first, filtered as the Activity page asks (group,
    actor label, an inclusive range of days in the business time zone)."""
    rows = ActivityEntry.objects.filter(account_id=account_id)
    if group:
        rows = rows.filter(action_group_q(group))
    if actor:
        rows = rows.filter(_actor_q(actor))
    if since:
        rows = rows.filter(created_at__gte=day_start(since))
    if until:
        rows = rows.filter(created_at__lt=day_end(until))
    return rows.order_by("-created_at", "-pk")


def account_activity_actors(*, account_id: int) -> list[tuple[str, str]]:
    """Who appears in the account's log, for the actor filter: (value, as shown) pairs,
    alphabetically. Every staff member is the one "Moments review team"."""
    labels = (
        ActivityEntry.objects.filter(account_id=account_id)
        .order_by("actor_label")
        .values_list("actor_label", flat=True)
        .distinct()
    )
    choices = {
        REVIEW_TEAM if label.endswith(_STAFF_SUFFIX) else label: actor_display(label)
        for label in labels
    }
    return sorted(choices.items(), key=lambda choice: choice[1].lower())


# Developers never see a reviewer's address (as on the campaign page's history): staff are
# "Moments review team". actor_label marks staff so (see actor_label()).
REVIEW_TEAM = "Moments review team"
_STAFF_SUFFIX = " (staff)"


def actor_display(label: str) -> str:
    """Who made a change, as the account's people read it: a teammate by email, staff as the
    review team, a shopper as "A shopper", sweeps and tasks as "System"."""
    if label.endswith(_STAFF_SUFFIX):
        return REVIEW_TEAM
    return {"system": "System", "shopper": "A shopper"}.get(label, label)


def _actor_q(actor: str) -> Q:
    # The filter of one choice in the "Who" list: the review team is every staff member.
    if actor == REVIEW_TEAM:
        return Q(actor_label__endswith=_STAFF_SUFFIX)
    return Q(actor_label=actor)


# The sentence each action reads as, after the actor: "{object}" is the changed object as it is
# named now (or was named then, if it is gone), other fields come from the row's data. An
# action missing here reads as its name, so a new service's rows are never hidden.
SENTENCES: dict[str, str] = {
    "account.signed_up": "signed up {object}",
    "account.spend_limit_set": (
        "changed the monthly spend limit from {old|money} to {new|money}: {reason}"
    ),
    "account.tax_id_set": "set the tax / VAT id to “{new}”",
    "account.payment_terms_set": "set the payment terms to {new}: {reason}",
    "account.cap_threshold_reached": (
        "noted the account reached {threshold} % of its monthly spend limit for {month} "
        "({spent|money} of {limit|money})"
    ),
    "membership.role_changed": "changed the role of {email} from {old_role} to {new_role}",
    "membership.removed": "removed {email} ({role}) from the team",
    "staff_request.created": "asked the Moments team: {object}",
    "staff_request.answered": "answered the request “{object}”: {decision}",
    "staff_request.withdrawn": "withdrew the request “{object}”",
    "webhook_endpoint.created": "added the webhook endpoint {object}",
    "webhook_endpoint.updated": "changed the webhook endpoint {object}",
    "webhook_endpoint.secret_rotated": "rotated the signing secret of {object}",
    "webhook_endpoint.enabled": "enabled the webhook endpoint {object}",
    "webhook_endpoint.disabled": "disabled the webhook endpoint {object}: {reason}",
    "webhook_endpoint.deleted": "deleted the webhook endpoint {object}",
    "webhook_endpoint.test_sent": "sent a test event to {object}",
    "webhook_delivery.retried": "retried a webhook delivery",
    "webhook_delivery.resent": "resent a webhook delivery",
    "campaign.budget_threshold_reached": (
        "noted {object} reached {threshold} % of its budget ({spent|money} of {total_budget|money})"
    ),
    "invitation.created": "invited {email} as {role}",
    "invitation.accepted": "accepted the invitation and joined as {role}",
    "invitation.revoked": "revoked the invitation of {email}",
    "app.registered": "registered the app {object}",
    "app.updated": "changed {fields} of the app {object}",
    "api_key.rotated": "rotated the key of {object}",
    "api_key.revoked": "revoked the key {prefix}… of {object}",
    "payment_method.added": "put the card {object} on file",
    "campaign.created": "started the draft campaign {object}",
    "campaign.updated": "edited {object} in the wizard ({steps})",
    "campaign.deleted": "deleted the draft campaign {object}",
    "campaign.duplicated": "duplicated {source_name} as the new draft {object}",
    "campaign.submitted": "submitted {object} for review",
    "campaign.approved": "approved {object}",
    "campaign.rejected": "rejected {object}: {reason}",
    "campaign.went_live": "put {object} live",
    "campaign.finished": "finished {object}: {reason}",
    "campaign.suspended": "suspended {object}: {reason}",
    "campaign.taken_down": "took {object} down",
    "invoice.issued": "issued invoice {object} of {total|money}",
    "invoice.credited": "issued credit note {credit_note} of {amount|money} on {object}: {reason}",
    "invoice.paid": "marked {object} paid on {paid_on} (reference {reference})",
    # A claim reads as what was claimed, from which campaign (the page joins both, current):
    # "released a shopper's flagged claim of Echo Dot (US) from Summer Quest".
    "claim.released": "released a shopper's flagged claim of {object}",
    "claim.blocked": "blocked a shopper's flagged claim of {object}",
    "claim.returned": "returned {object}",
    # The shopper is named by number only (issue 21): the log never holds shopper data.
    "shopper.deleted": (
        "deleted their shopper account; their {claims} claim(s) of this account's rewards "
        "are kept without personal data"
    ),
    "invoice.card_retried": "retried the card for {object} (attempt {attempt}): {message}",
    "account.dunning_suspended": (
        "paused {campaigns} live campaign(s): invoice {invoice} is unpaid past its grace period"
    ),
    "account.dunning_resolved": (
        "closed the dunning of invoice {invoice} ({status}), "
        "{campaigns_resumed} campaign(s) resumed"
    ),
    "bank_statement.uploaded": (
        "uploaded the bank statement {object}: {matched} matched, {ambiguous} ambiguous, "
        "{unmatched} unmatched, {duplicate} already uploaded"
    ),
    "bank_statement.confirmed": "confirmed the payments of bank statement {object}",
    "monthend.requested": "asked for the month-end pack of {month}",
    "campaign.paused_for_payment": "paused {object}: {reason}",
    "campaign.resumed_after_payment": "resumed {object}: {reason}",
    "invoice.emailed": "emailed {object}'s PDF again to the account ({recipients} recipient(s))",
    "invoice.payment_recorded": "recorded a payment of {amount|money} on {object}, paid on "
    "{paid_on} (reference {reference}); {balance_due|money} left to pay",
    "exchange_rate.set": "set the exchange rate: {object}",
}


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def activity_what(entry: ActivityEntry, *, name: str | None = None) -> str:
    """What happened, said after the actor (the Activity page shows who in a column of its own):
    "rotated the key of Space Miner".

    `name` is the object as it is called now (the page reads the current names of campaigns,
    apps and claims' rewards); without it, the object reads as it was named then."""
    template = SENTENCES.get(entry.action)
    if template is None:
        what = f"{entry.action} {name or entry.object_repr}".strip()
    else:
        data = entry.data or {}
        values = _Blank({k: _text(v) for k, v in data.items()})
        # Amounts read as money: "$15,000.00", not "15000.00".
        for field in _AMOUNTS.findall(template):
            values[f"{field}|money"] = _money(values.get(field, ""))
        for field in ("role", "old_role", "new_role"):
            if field in data:
                values[field] = _ROLES.get(data[field], values[field])
        if entry.action == "campaign.updated":
            values["steps"] = _steps(data)
        if name:
            values["object"] = name
        elif entry.object_type == "rewards.claim":  # "Claim 3 of grant 5" means nothing to them
            values["object"] = "a reward"
        else:
            values["object"] = entry.object_repr or "?"
        if entry.action == "account.tax_id_set" and not entry.data.get("new"):
            template = "removed the tax / VAT id"
        what = template.format_map(values)
    return what


_ROLES = {"admin": "Admin", "member": "Member"}


def _steps(data: dict) -> str:
    # "step 2, name and duration" for one; "steps 2, 3 and 5" for a session of several (rows
    # written before sessions hold only `step`).
    steps = data.get("steps") or [data.get("step", "?")]
    if len(steps) == 1:
        name = data.get("step_name")
        return f"step {steps[0]}, {name}" if name else f"step {steps[0]}"
    numbers = [str(step) for step in steps]
    return f"steps {', '.join(numbers[:-1])} and {numbers[-1]}"


# The fields a sentence shows as money: "{limit|money}" (in USD, as spend and limits are).
_AMOUNTS = re.compile(r"\{(\w+)\|money\}")


def _money(amount: str) -> str:
    """An amount written as digits, as money (left as it is when it is not one)."""
    try:
        return format_money(amount)
    except (MoneyError, TypeError):
        return amount


def _text(value) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
