"""Dunning (finance desk, issue 20): a card payment that failed is chased until it is paid.

- The invoice run charges the card on issue (billing.services.payments.card_charge); when that
  fails the invoice stays open, due at once. The sweep opens a `DunningCase` for it.
- The card is retried on days 1, 3 and 7 after the failure (RETRY_DAYS), and on the next sweep
  after the account puts a new card on file; the account's admins are emailed after each retry
  (declined: when the next one is and when campaigns pause; paid: a receipt).
- Once the invoice is `DUNNING_SUSPEND_DAYS` overdue (settings, env), the account's live
  campaigns are paused through the lifecycle service (transition rows, activity rows, webhook
  events, the developer's email) and recorded as `DunningPause` rows.
- Once the invoice is paid (a retry, finance's mark paid, a reconciled bank transfer) or voided
  by a credit note, the case is resolved and the campaigns dunning paused go live again; no
  other campaign is touched.

Everything runs in `dunning_sweep` (beat, billing.tasks.sweep_dunning), safe to run twice or on
two workers at once: cases are opened under the unique one-to-one on the invoice; each retry is
claimed with a conditional UPDATE on (attempts, next_retry_on) and a lease; the suspension is
claimed by stamping `suspended_at` where it is empty; the resolution by moving the status from
open. A late sweep only acts late: the dates it acts on are stored, not derived from when it ran.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Exists, F, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone

from billing.models import (
    DunningAttempt,
    DunningCase,
    DunningPause,
    Invoice,
    PaymentMethod,
)
from campaigns.models import Campaign
from campaigns.services.lifecycle import (
    IllegalTransition,
    campaign_pause_for_payment,
    campaign_resume_after_payment,
)
from console.activity import activity_record
from console.models import Account, Membership
from console.money import format_money

from .aging import open_invoices_owed
from .invoices import invoice_mark_paid
from .payments import card_charge

logger = logging.getLogger(__name__)

# Days after the failed charge on which the card is tried again.
RETRY_DAYS = (1, 3, 7)
# How long a claimed retry may stay unfinished before another sweep may take it over.
CLAIM_LEASE = timedelta(minutes=15)


def suspend_days() -> int:
    """DUNNING_SUSPEND_DAYS: days overdue before the account's live campaigns pause."""
    return settings.DUNNING_SUSPEND_DAYS


def suspend_on(invoice: Invoice) -> date:
    """The day dunning pauses the account's campaigns if `invoice` is still unpaid."""
    return invoice.due_date + timedelta(days=suspend_days())


def dunning_recipients(account_id: int) -> list[str]:
    """The account's admins (every one of them: a failed payment is the whole admin team's
    business, not only the billing owner's)."""
    return list(
        Membership.objects.filter(account_id=account_id, role=Membership.Role.ADMIN)
        .exclude(user__email="")
        .order_by("pk")
        .values_list("user__email", flat=True)
    )


def _email_after_commit(*, recipients: list[str], subject: str, template: str, context: dict):
    body = render_to_string(template, context)

    def send():
        try:
            send_mail(subject, body, None, recipients)
        except Exception:
            # The attempt stands (its row says who should have been emailed); a mail outage
            # must not undo a recorded payment or pause.
            logger.exception("Dunning email %r to %s failed.", subject, recipients)

    if recipients:
        transaction.on_commit(send, robust=True)


def _owed(invoice_pk: int):
    invoice = open_invoices_owed().filter(pk=invoice_pk).first()
    return (invoice.total + invoice.credited) if invoice is not None else None


# --- Opening cases ------------------------------------------------------------------------------


def dunning_cases_open() -> int:
    """Open a case for every open card invoice without one (its charge on issue failed).
    Safe to run twice: the one-to-one on the invoice keeps one case each."""
    invoices = Invoice.objects.filter(
        kind=Invoice.Kind.INVOICE,
        status=Invoice.Status.OPEN,
        payment_terms=Invoice.PaymentTerms.CARD,
        dunning__isnull=True,
    ).values_list("pk", "account_id", "issue_date")
    cases = [
        DunningCase(
            invoice_id=pk,
            account_id=account_id,
            failed_on=issued,
            next_retry_on=issued + timedelta(days=RETRY_DAYS[0]),
        )
        for pk, account_id, issued in invoices
    ]
    made = DunningCase.objects.bulk_create(cases, ignore_conflicts=True)
    return len(made)


# --- Retries ------------------------------------------------------------------------------------


def dunning_new_cards(*, today: date) -> int:
    """Bring the retry of a case forward to `today` when the account put a card on file since
    its last attempt (what the emails ask the admins to do), also after the last scheduled
    retry. Each new card gets one retry: once tried, the card is older than the attempt."""
    last_try = Coalesce(
        Subquery(
            DunningAttempt.objects.filter(case=OuterRef("pk"))
            .order_by()
            .values("case")
            .annotate(last=Max("attempted_at"))
            .values("last")
        ),
        F("created_at"),
    )
    newer_card = PaymentMethod.objects.filter(
        account_id=OuterRef("account_id"), is_active=True, created_at__gt=OuterRef("last_try")
    )
    return (
        DunningCase.objects.filter(status=DunningCase.Status.OPEN)
        .filter(Q(next_retry_on__isnull=True) | Q(next_retry_on__gt=today))
        .annotate(last_try=last_try)
        .filter(Exists(newer_card))
        .update(next_retry_on=today)
    )


def _claim_retry(case: DunningCase, now: datetime) -> bool:
    lease_over = Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_LEASE)
    return (
        DunningCase.objects.filter(
            lease_over,
            pk=case.pk,
            status=DunningCase.Status.OPEN,
            attempts=case.attempts,
            next_retry_on=case.next_retry_on,
        ).update(claimed_at=now)
        == 1
    )


def dunning_retry(*, case: DunningCase, now: datetime | None = None) -> DunningAttempt | None:
    """Retry the card of a case whose retry is due; None when it is not due or another
    sweep has it. Paid: the invoice is marked paid (by the card) and the case resolved."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    if case.next_retry_on is None or case.next_retry_on > today:
        return None
    if not _claim_retry(case, now):
        return None
    number = case.attempts + 1
    with transaction.atomic():
        invoice = Invoice.objects.select_related("account").get(pk=case.invoice_id)
        owed = _owed(invoice.pk)
        if owed is None:
            # Paid or voided since the case was read: the resolution step closes it.
            DunningCase.objects.filter(pk=case.pk, claimed_at=now).update(claimed_at=None)
            return None
        charged = card_charge(account=invoice.account, amount=owed, today=today)
        if charged.paid:
            invoice_mark_paid(
                actor=None,
                invoice=invoice,
                paid_on=today,
                reference=f"Card retry {number}: {charged.paid_by}",
            )
            next_on = None
        else:
            later = RETRY_DAYS[number:] if number < len(RETRY_DAYS) else ()
            next_on = case.failed_on + timedelta(days=later[0]) if later else None
        recipients = dunning_recipients(invoice.account_id)
        attempt = DunningAttempt.objects.create(
            case=case,
            number=number,
            attempted_at=now,
            succeeded=charged.paid,
            message=charged.message,
            emailed_to=", ".join(recipients),
        )
        DunningCase.objects.filter(pk=case.pk, claimed_at=now).update(
            attempts=number, next_retry_on=next_on, claimed_at=None
        )
        activity_record(
            actor=None,
            account=invoice.account_id,
            action="invoice.card_retried",
            target=invoice,
            data={"attempt": number, "paid": charged.paid, "message": charged.message},
            created_at=now,
        )
        amount = format_money(owed, invoice.currency, places=2)
        _email_after_commit(
            recipients=recipients,
            subject=(
                f"Payment received for invoice {invoice.number}"
                if charged.paid
                else f"Payment failed for invoice {invoice.number}: please update your card"
            ),
            template="billing/email/dunning_retry.txt",
            context={
                "invoice": invoice,
                "amount": amount,
                "attempt": attempt,
                "next_retry_on": next_on,
                "suspend_on": suspend_on(invoice),
                "suspended": case.suspended_at is not None,
                "billing_url": f"{settings.SITE_URL}/billing/",
            },
        )
    case.attempts, case.next_retry_on = number, next_on
    return attempt


# --- Pausing and resuming campaigns -------------------------------------------------------------


def _pause_live_campaigns(case: DunningCase, invoice: Invoice, now: datetime) -> list[int]:
    """Pause the account's live campaigns for this case (each in its own savepoint: one that
    moved meanwhile is skipped, the others are paused)."""
    paused = []
    reason = (
        f"Paused: invoice {invoice.number} is unpaid {suspend_days()} days after it was due. "
        "It goes live again once the invoice is paid."
    )
    live = Campaign.objects.filter(account_id=case.account_id, status=Campaign.Status.LIVE)
    for campaign in live.order_by("pk"):
        try:
            with transaction.atomic():
                campaign_pause_for_payment(campaign=campaign, reason=reason, now=now)
                DunningPause.objects.create(case=case, campaign=campaign, paused_at=now)
        except IllegalTransition:
            continue
        paused.append(campaign.pk)
    return paused


def dunning_suspend_due(*, now: datetime | None = None) -> list[int]:
    """Pause the live campaigns of accounts whose dunned invoice is DUNNING_SUSPEND_DAYS
    overdue. The first time for a case, `suspended_at` is stamped (the claim) and the admins
    are emailed; later sweeps pause campaigns of that account that went live since. Returns
    the campaigns paused."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    cutoff = today - timedelta(days=suspend_days())
    due = DunningCase.objects.filter(
        # The one overdue rule (billing.models.invoice_overdue_q), then how long.
        invoice__in=Invoice.objects.overdue(today).values("pk"),
        status=DunningCase.Status.OPEN,
        invoice__due_date__lte=cutoff,
    ).select_related("invoice", "account")
    paused: list[int] = []
    for case in due:
        with transaction.atomic():
            first = (
                case.suspended_at is None
                and DunningCase.objects.filter(pk=case.pk, suspended_at__isnull=True).update(
                    suspended_at=now
                )
                == 1
            )
            done = _pause_live_campaigns(case, case.invoice, now)
            paused += done
            if first:
                activity_record(
                    actor=None,
                    account=case.account_id,
                    action="account.dunning_suspended",
                    target=case.invoice,
                    data={"invoice": case.invoice.number, "campaigns": len(done)},
                    created_at=now,
                )
                _email_after_commit(
                    recipients=dunning_recipients(case.account_id),
                    subject=f"Your campaigns are paused: invoice {case.invoice.number} is unpaid",
                    template="billing/email/dunning_suspended.txt",
                    context={
                        "invoice": case.invoice,
                        "amount": format_money(
                            _owed(case.invoice_id) or 0, case.invoice.currency, places=2
                        ),
                        "count": len(done),
                        "days": suspend_days(),
                        "billing_url": f"{settings.SITE_URL}/billing/",
                    },
                )
    return paused


def _resume(case: DunningCase, now: datetime, invoice: Invoice) -> list[int]:
    """Resume what this case paused, unless another of the account's cases is still suspended
    (then its pauses are handed to that case, to resume when that invoice is paid)."""
    other = (
        DunningCase.objects.filter(
            account_id=case.account_id,
            status=DunningCase.Status.OPEN,
            suspended_at__isnull=False,
        )
        .exclude(pk=case.pk)
        .order_by("pk")
        .first()
    )
    pauses = DunningPause.objects.filter(case=case, resumed_at__isnull=True).select_related(
        "campaign"
    )
    if other is not None:
        pauses.update(case=other)
        return []
    resumed = []
    reason = f"Invoice {invoice.number} is paid: the campaign is live again."
    for pause in pauses:
        try:
            with transaction.atomic():
                campaign_resume_after_payment(campaign=pause.campaign, reason=reason, now=now)
        except IllegalTransition:
            # No longer suspended (cannot happen today: nothing else moves a suspended
            # campaign); the pause is closed all the same.
            pass
        else:
            resumed.append(pause.campaign_id)
        DunningPause.objects.filter(pk=pause.pk, resumed_at__isnull=True).update(resumed_at=now)
    return resumed


def dunning_resolve_paid(*, now: datetime | None = None, invoice_pks=None) -> list[int]:
    """Resolve the open cases whose invoice is no longer open (paid or voided) and resume the
    campaigns they paused. Returns the campaigns resumed."""
    now = now or timezone.now()
    cases = DunningCase.objects.filter(status=DunningCase.Status.OPEN).exclude(
        invoice__status=Invoice.Status.OPEN
    )
    if invoice_pks is not None:
        cases = cases.filter(invoice_id__in=list(invoice_pks))
    resumed: list[int] = []
    for case in cases.select_related("invoice"):
        with transaction.atomic():
            moved = DunningCase.objects.filter(pk=case.pk, status=DunningCase.Status.OPEN).update(
                status=DunningCase.Status.RESOLVED,
                resolved_at=now,
                next_retry_on=None,
                claimed_at=None,
            )
            if moved != 1:
                continue
            done = _resume(case, now, case.invoice) if case.suspended_at else []
            resumed += done
            activity_record(
                actor=None,
                account=case.account_id,
                action="account.dunning_resolved",
                target=case.invoice,
                data={
                    "invoice": case.invoice.number,
                    "status": case.invoice.status,
                    "campaigns_resumed": len(done),
                },
                created_at=now,
            )
    return resumed


@dataclass(frozen=True)
class SweepResult:
    opened: int
    attempts: int
    paused: int
    resumed: int


def dunning_sweep(*, now: datetime | None = None) -> SweepResult:
    """The beat's sweep: open cases, retry what is due, pause what is overdue long enough,
    resume what is paid (in that order, so a retry that is paid resumes in the same run)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    opened = dunning_cases_open()
    dunning_new_cards(today=today)
    attempts = 0
    due = DunningCase.objects.filter(
        status=DunningCase.Status.OPEN, next_retry_on__lte=today
    ).order_by("pk")
    for case in due:
        if dunning_retry(case=case, now=now) is not None:
            attempts += 1
    resumed = dunning_resolve_paid(now=now)
    paused = dunning_suspend_due(now=now)
    return SweepResult(opened, attempts, len(paused), len(resumed))


# --- The account's admin page -------------------------------------------------------------------


@dataclass
class DunningPanel:
    cases: list[DunningCase]
    suspend_days: int


def dunning_panel(*, account: Account) -> DunningPanel:
    """The account's dunning, newest first, with attempts and paused campaigns (three
    queries whatever the number of cases)."""
    cases = list(
        DunningCase.objects.filter(account=account)
        .select_related("invoice")
        .prefetch_related("attempts_made", "pauses__campaign")
        .order_by("-failed_on", "-pk")
    )
    for case in cases:
        case.suspend_on = suspend_on(case.invoice)
    return DunningPanel(cases=cases, suspend_days=suspend_days())
