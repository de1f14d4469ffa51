"""Emails about campaign transitions (SPEC §6: every transition emails the developer).

Sent by a Celery task after commit. Each transition row is claimed before its email is sent
and stamped once sent, so a task run twice, or by two workers at once, mails once. The claim is
a lease: when a worker dies between claim and send, the beat sweep finds the row still
un-notified after the lease and enqueues it again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from console.models import Membership

from ..models import Campaign, CampaignTransition

# How long a claimed email may stay unsent before another worker may send it (and how old an
# unclaimed one must be before the sweep enqueues it again: its task may still be queued).
# CAMPAIGN_NOTIFY_LEASE_SECONDS (make cluster-check shortens it).
NOTIFY_LEASE = timedelta(seconds=settings.CAMPAIGN_NOTIFY_LEASE_SECONDS)
# Older un-notified rows are not re-sent: news of a move days ago is noise, not information.
NOTIFY_GIVE_UP_AFTER = timedelta(days=1)


def campaign_page_path(campaign: Campaign) -> str:
    """The campaign's page in the console."""
    try:
        return reverse("campaigns:detail", kwargs={"campaign_id": campaign.campaign_id})
    except NoReverseMatch:  # the campaign pages are a sibling feature; the list always exists
        return reverse("campaigns:list")


def campaign_page_url(campaign: Campaign) -> str:
    """The campaign's page in the console, absolute (for emails)."""
    return f"{settings.SITE_URL}{campaign_page_path(campaign)}"


def actor_display(transition: CampaignTransition) -> str:
    """Who made the move, as the developer sees it: a teammate by email; staff are "Moments
    review team" (reviewers' addresses are not shown to developers); the sweep is "System"."""
    if transition.actor_id is None:
        return "System" if transition.actor_label == "system" else transition.actor_label
    # Load with select_related("actor__membership") to keep this query-free.
    membership = getattr(transition.actor, "membership", None)
    if membership is None or membership.account_id != transition.campaign.account_id:
        return "Moments review team"
    return transition.actor_label


def _claim(pk: int, now: datetime) -> bool:
    return (
        CampaignTransition.objects.filter(pk=pk, notified_at__isnull=True)
        .filter(Q(notify_claimed_at__isnull=True) | Q(notify_claimed_at__lt=now - NOTIFY_LEASE))
        .update(notify_claimed_at=now)
        == 1
    )


def _messages(transition: CampaignTransition, recipients: list[str]) -> list:
    campaign = transition.campaign
    context = {
        "campaign": campaign,
        "account": campaign.account,
        "from_label": Campaign.Status(transition.from_status).label,
        "to_label": Campaign.Status(transition.to_status).label,
        "to_status": transition.to_status,
        "reason": transition.reason,
        "actor": actor_display(transition),
        "when": transition.created_at,
        "link": campaign_page_url(campaign),
    }
    subject = f"Campaign “{campaign.name}” is now {context['to_label']}"
    text = render_to_string("campaigns/email/transition.txt", context)
    html = render_to_string("campaigns/email/transition.html", context)
    messages = []
    for address in recipients:
        # One message per member: teammates' addresses are not shared through the To line.
        message = EmailMultiAlternatives(subject, text, None, [address])
        message.attach_alternative(html, "text/html")
        messages.append(message)
    return messages


def transitions_notify(*, transition_pks: list[int]) -> int:
    """Email each transition to the members of its campaign's account, once per transition.
    Returns how many transitions this call mailed (0 when another run already did)."""
    mailed = 0
    for pk in transition_pks:
        claimed_at = timezone.now()
        if not _claim(pk, claimed_at):
            continue  # already sent, or being sent by another worker
        transition = CampaignTransition.objects.select_related(
            "campaign__account", "actor__membership"
        ).get(pk=pk)
        recipients = list(
            Membership.objects.filter(account_id=transition.campaign.account_id)
            .exclude(user__email="")
            .order_by("pk")
            .values_list("user__email", flat=True)
        )
        try:
            if recipients:
                get_connection().send_messages(_messages(transition, recipients))
        except Exception:
            # Give the claim back so the task's retry (or the sweep) sends it.
            CampaignTransition.objects.filter(pk=pk, notify_claimed_at=claimed_at).update(
                notify_claimed_at=None
            )
            raise
        CampaignTransition.objects.filter(pk=pk).update(notified_at=timezone.now())
        mailed += 1
    return mailed


def transitions_pending_notification(*, now: datetime | None = None) -> list[int]:
    """Transitions whose email was never sent (the broker was down, or a worker died after
    claiming): older than a lease, younger than a day, and not claimed within the lease."""
    now = now or timezone.now()
    return list(
        CampaignTransition.objects.filter(
            notified_at__isnull=True,
            created_at__lt=now - NOTIFY_LEASE,
            created_at__gte=now - NOTIFY_GIVE_UP_AFTER,
        )
        .filter(Q(notify_claimed_at__isnull=True) | Q(notify_claimed_at__lt=now - NOTIFY_LEASE))
        .order_by("pk")
        .values_list("pk", flat=True)[:1000]
    )
