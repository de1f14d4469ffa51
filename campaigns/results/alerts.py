"""Budget alerts (SPEC §12): at 50 %, 80 % and 100 % of a campaign's total budget and of the
account's monthly spend limit, the account's admins get one email per threshold (per month for
the limit) and a webhook event. Found by a periodic sweep (`alerts_sweep`, every minute), never
on GetReward's path: GetReward only moves the counters, the sweep reads them.

The claim is a unique row (`BudgetAlert(campaign, threshold)`, `CapAlert(account, month,
threshold)`), inserted one by one in a savepoint. A concurrent sweep inserting the same row
waits on PostgreSQL for the first one's transaction and gets an IntegrityError once it
commits (SQLite runs one writer at a time), so exactly one run owns each alert. Only that run
records it in the activity log and publishes its webhook event, in the claim's transaction
(the outbox), and enqueues its email after commit. Emails are claimed with a lease and
stamped once sent, as campaigns.services.notifications does; the sweep re-sends the ones that
never went (broker down, worker died).

Several thresholds crossed at once (a campaign that went from 40 % to 100 % between two
sweeps, or a first sweep after an outage) record a row for every crossed threshold (so a
lower one is never sent later, out of order) and publish an event for each (an integration
that acts at 80 % must see 80 % even when spend jumped past it), but email the admins only
once, about the highest: people want one email saying "100 %", not three in the same minute.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, models, transaction
from django.db.models import Case, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThanOrEqual
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from billing.models import AccountMonthlySpend
from console.activity import activity_record
from console.clock import month_start
from console.models import Membership
from console.money import format_money, round_money
from console.webhooks.events import webhook_events_publish

from ..models import AlertThreshold, BudgetAlert, Campaign, CapAlert
from ..services.events import campaign_event_refs
from ..services.lifecycle import BUDGET_SPENT
from ..services.notifications import campaign_page_url

logger = logging.getLogger(__name__)

S = Campaign.Status
# Budgets, caps and charges are in US dollars (SPEC §9); webhook amounts name their currency.
BILLING_CURRENCY = "USD"
THRESHOLDS: tuple[int, ...] = tuple(sorted(AlertThreshold.values))

# How long a claimed email may stay unsent before another worker may send it.
EMAIL_LEASE = timedelta(minutes=10)
# Older unsent alerts are not re-sent: "50 % of your budget" days late is noise.
EMAIL_GIVE_UP_AFTER = timedelta(days=1)
# Campaigns that stopped spending (finished, suspended) are still swept this long, so the 100 %
# alert of a campaign that ran out reaches its admins even when the lifecycle sweep finished
# it first; older ones are left alone (no alert storm for last year's campaigns).
STOPPED_LOOKBACK = timedelta(days=1)
# The month of `now - this` is swept too: spend committed in the last minutes of a month is
# still alerted on the 1st.
MONTH_LOOKBACK = timedelta(hours=1)


@dataclass(frozen=True)
class Claimed:
    """The alerts one sweep claimed (primary keys), and which of them are to be emailed."""

    budget: list[int]
    cap: list[int]
    budget_email: list[int]
    cap_email: list[int]


def _reached(spent: str, limit: str, *, less_than_one_cpa_left: Q | None = None) -> Case:
    """The highest threshold `spent` has reached of `limit` (0 if none), as an expression:
    `spent * 100 >= limit * threshold`, multiplied rather than divided so that no engine
    rounds (SQLite's integer division would)."""
    whens = []
    for threshold in reversed(THRESHOLDS):
        reached = Q(GreaterThanOrEqual(F(spent) * 100, F(limit) * threshold))
        if threshold == 100 and less_than_one_cpa_left is not None:
            reached |= less_than_one_cpa_left
        whens.append(When(reached, then=Value(threshold)))
    return Case(*whens, default=Value(0), output_field=models.IntegerField())


def _highest_claimed(queryset) -> Coalesce:
    return Coalesce(
        Subquery(queryset.order_by("-threshold").values("threshold")[:1]),
        Value(0),
        output_field=models.IntegerField(),
    )


def _claim_rows(rows: list) -> list:
    """Insert each row unless it exists; returns the rows this call inserted. Each INSERT runs
    in its own savepoint: a duplicate (another sweep's claim) rolls back only itself."""
    inserted = []
    for row in rows:
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError:
            continue
        inserted.append(row)
    return inserted


def _new_thresholds(reached: int, claimed: int) -> list[int]:
    return [t for t in THRESHOLDS if claimed < t <= reached]


def _amount(value: Decimal) -> str:
    """Money in webhook data: a string with two places (JSON has no decimals; never a float)."""
    return str(round_money(value))


def _claim_budget_alerts(now: datetime) -> tuple[list[int], list[int]]:
    # The rule of "budget spent" is the lifecycle's (campaigns_sweep, effective_status): a
    # campaign with less than one CPA left is finished, so it has used 100 % of what it can.
    one_cpa_short = BUDGET_SPENT
    stopped_since = now - STOPPED_LOOKBACK
    candidates = (
        Campaign.objects.filter(total_budget__isnull=False, spent__gt=0)
        .filter(
            Q(status=S.LIVE)
            | Q(status=S.FINISHED, finished_at__gte=stopped_since)
            | Q(status=S.SUSPENDED, suspended_at__gte=stopped_since)
        )
        .annotate(
            reached=_reached("spent", "total_budget", less_than_one_cpa_left=one_cpa_short),
            claimed=_highest_claimed(BudgetAlert.objects.filter(campaign=OuterRef("pk"))),
        )
        .filter(reached__gt=F("claimed"))
        .only("pk", "account_id", "name", "spent", "total_budget")
        .order_by("pk")
    )
    claimed, emailed = [], []
    for campaign in candidates:
        thresholds = _new_thresholds(campaign.reached, campaign.claimed)
        rows = _claim_rows(
            [
                BudgetAlert(
                    campaign=campaign,
                    threshold=t,
                    spent=campaign.spent,
                    total_budget=campaign.total_budget,
                    created_at=now,
                    email_due=t == thresholds[-1],
                )
                for t in thresholds
            ]
        )
        if not rows:
            continue
        _record_and_publish(
            rows,
            account_id=campaign.account_id,
            target=campaign,
            action="campaign.budget_threshold_reached",
            event_type="campaign.budget_threshold",
            data=lambda row: {
                "threshold": row.threshold,
                "spent": _amount(row.spent),
                "total_budget": _amount(row.total_budget),
                "currency": BILLING_CURRENCY,
            },
            event_ids=campaign_event_refs([campaign.pk])[campaign.pk],
        )
        claimed += [row.pk for row in rows]
        # Of the rows this run inserted, the highest is emailed. If another sweep claimed the
        # highest meanwhile, it emails that one, and this run's lower rows stay quiet.
        emailed += [row.pk for row in rows if row.email_due]
    return claimed, emailed


def _record_and_publish(
    rows, *, account_id: int, target, action: str, event_type: str, data, event_ids=None
) -> None:
    """For each alert row this run claimed: its activity row (about `target`, or the row itself)
    and its webhook event, with the same figures, in the claim's transaction."""
    for row in rows:
        activity_record(
            actor=None, account=account_id, action=action, target=target or row, data=data(row)
        )
    webhook_events_publish(
        events=[(account_id, event_type, {**(event_ids or {}), **data(row)}) for row in rows]
    )


def _months_swept(now: datetime) -> set[date]:
    return {
        month_start(timezone.localdate(now)),
        month_start(timezone.localdate(now - MONTH_LOOKBACK)),
    }


def _claim_cap_alerts(now: datetime) -> tuple[list[int], list[int]]:
    candidates = (
        AccountMonthlySpend.objects.filter(month__in=_months_swept(now), spent__gt=0)
        .annotate(limit=F("account__monthly_spend_limit"), account_name=F("account__name"))
        .annotate(
            reached=_reached("spent", "limit"),
            claimed=_highest_claimed(
                CapAlert.objects.filter(account=OuterRef("account_id"), month=OuterRef("month"))
            ),
        )
        .filter(reached__gt=F("claimed"))
        .values("account_id", "account_name", "month", "spent", "limit", "reached", "claimed")
        .order_by("account_id", "month")
    )
    claimed, emailed = [], []
    for spend in candidates:
        thresholds = _new_thresholds(spend["reached"], spend["claimed"])
        rows = _claim_rows(
            [
                CapAlert(
                    account_id=spend["account_id"],
                    month=spend["month"],
                    threshold=t,
                    spent=spend["spent"],
                    limit=spend["limit"],
                    created_at=now,
                    email_due=t == thresholds[-1],
                )
                for t in thresholds
            ]
        )
        if not rows:
            continue
        _record_and_publish(
            rows,
            account_id=spend["account_id"],
            target=None,
            action="account.cap_threshold_reached",
            event_type="account.cap_threshold",
            data=lambda row: {
                "month": f"{row.month:%Y-%m}",
                "threshold": row.threshold,
                "spent": _amount(row.spent),
                "limit": _amount(row.limit),
                "currency": BILLING_CURRENCY,
            },
            event_ids={"account_name": spend["account_name"]},
        )
        claimed += [row.pk for row in rows]
        emailed += [row.pk for row in rows if row.email_due]
    return claimed, emailed


def alerts_sweep(*, now: datetime | None = None) -> Claimed:
    """Claim every budget and monthly-limit threshold reached since the last sweep, publish
    their webhook events, and email the account admins after commit (see the module
    docstring). Safe to run twice or concurrently: each alert is claimed by one run only."""
    now = now or timezone.now()
    with transaction.atomic():
        budget, budget_email = _claim_budget_alerts(now)
        cap, cap_email = _claim_cap_alerts(now)
        if budget_email or cap_email:
            transaction.on_commit(lambda: _enqueue_emails(budget_email, cap_email))
    return Claimed(budget=budget, cap=cap, budget_email=budget_email, cap_email=cap_email)


def _enqueue_emails(budget_pks: list[int], cap_pks: list[int]) -> None:
    from .tasks import email_alerts

    try:
        email_alerts.delay(budget_pks, cap_pks)
    except Exception:
        # The alerts are committed; the next sweep finds their emails unsent and re-sends.
        logger.exception("Could not enqueue alert emails %s / %s", budget_pks, cap_pks)


# --- The emails ----------------------------------------------------------------------------------


def _unsent(model: type[models.Model], now: datetime):
    return model.objects.filter(email_due=True, emailed_at__isnull=True).filter(
        Q(email_claimed_at__isnull=True) | Q(email_claimed_at__lt=now - EMAIL_LEASE)
    )


def account_admin_emails(account_id: int) -> list[str]:
    """Who gets alerts: the account's admins (members read the numbers in the console)."""
    return list(
        Membership.objects.filter(account_id=account_id, role=Membership.Role.ADMIN)
        .exclude(user__email="")
        .order_by("pk")
        .values_list("user__email", flat=True)
    )


def _budget_message(alert: BudgetAlert) -> tuple[str, str, str, int]:
    campaign = alert.campaign
    context = {
        "campaign": campaign,
        "threshold": alert.threshold,
        "spent": format_money(alert.spent),
        "total_budget": format_money(alert.total_budget),
        "ran_out": alert.threshold == 100,
        "link": campaign_page_url(campaign),
    }
    subject = render_to_string("campaigns/email/budget_alert_subject.txt", context)
    text = render_to_string("campaigns/email/budget_alert.txt", context)
    html = render_to_string("campaigns/email/budget_alert.html", context)
    return " ".join(subject.split()), text, html, campaign.account_id


def _cap_message(alert: CapAlert) -> tuple[str, str, str, int]:
    context = {
        "account": alert.account,
        "month": f"{alert.month:%B %Y}",
        "threshold": alert.threshold,
        "spent": format_money(alert.spent),
        "limit": format_money(alert.limit),
        "link": f"{settings.SITE_URL}{reverse('billing:overview')}",
        "request_link": settings.SITE_URL
        + reverse("console:staff_request_create", kwargs={"kind": "spend_limit"}),
    }
    subject = render_to_string("campaigns/email/cap_alert_subject.txt", context)
    text = render_to_string("campaigns/email/cap_alert.txt", context)
    html = render_to_string("campaigns/email/cap_alert.html", context)
    return " ".join(subject.split()), text, html, alert.account_id


def _send(model, pk: int, load, render) -> bool:
    claimed_at = timezone.now()
    # The claim: of two runs, only the one whose UPDATE matched the row sends.
    if not _unsent(model, claimed_at).filter(pk=pk).update(email_claimed_at=claimed_at):
        return False
    subject, text, html, account_id = render(load(pk))
    recipients = account_admin_emails(account_id)
    try:
        messages = []
        for address in recipients:
            # One message per admin: teammates' addresses are not shared through the To line.
            message = EmailMultiAlternatives(subject, text, None, [address])
            message.attach_alternative(html, "text/html")
            messages.append(message)
        if messages:
            get_connection().send_messages(messages)
    except Exception:
        # Give the claim back so the task's retry (or the sweep) sends it.
        model.objects.filter(pk=pk, email_claimed_at=claimed_at).update(email_claimed_at=None)
        raise
    model.objects.filter(pk=pk).update(emailed_at=timezone.now())
    return True


def alerts_email(*, budget_alert_pks: list[int], cap_alert_pks: list[int]) -> int:
    """Email each alert to its account's admins, once per alert (claimed with a lease, stamped
    once sent). Returns how many alerts this call mailed (0 when another run already did)."""
    mailed = 0
    for pk in budget_alert_pks:
        mailed += _send(
            BudgetAlert,
            pk,
            lambda pk: BudgetAlert.objects.select_related("campaign__account").get(pk=pk),
            _budget_message,
        )
    for pk in cap_alert_pks:
        mailed += _send(
            CapAlert,
            pk,
            lambda pk: CapAlert.objects.select_related("account").get(pk=pk),
            _cap_message,
        )
    return mailed


def alerts_pending_email(*, now: datetime | None = None) -> tuple[list[int], list[int]]:
    """Alerts whose email never went (the broker was down, or a worker died after claiming):
    older than a lease, younger than a day, and not claimed within the lease."""
    now = now or timezone.now()

    def pending(model) -> list[int]:
        return list(
            _unsent(model, now)
            .filter(created_at__lt=now - EMAIL_LEASE, created_at__gte=now - EMAIL_GIVE_UP_AFTER)
            .order_by("pk")
            .values_list("pk", flat=True)[:1000]
        )

    return pending(BudgetAlert), pending(CapAlert)
