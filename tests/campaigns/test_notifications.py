"""Every transition emails the account's members, once, from a Celery task run after commit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from campaigns.models import Campaign, CampaignTransition
from campaigns.services.lifecycle import campaign_reject, campaign_transition, campaigns_sweep
from campaigns.services.notifications import (
    NOTIFY_LEASE,
    campaign_page_path,
    transitions_pending_notification,
)
from campaigns.tasks import notify_transitions
from tests.factories import CampaignFactory

from . import lifecycle_helpers
from .lifecycle_helpers import DAY, pending_campaign

# Fixtures shared by the lifecycle tests (tests/campaigns/conftest.py is another helper's).
celery_eager = lifecycle_helpers.celery_eager
reviewer_in_group = lifecycle_helpers.reviewer_in_group

pytestmark = pytest.mark.django_db

S = Campaign.Status


def test_a_rejection_emails_every_member_with_the_reason_and_a_link(
    settings,
    celery_eager,
    django_capture_on_commit_callbacks,
    acme_app,
    bob,
    charlie,
    reviewer_in_group,
):
    settings.SITE_URL = "https://console.example.test"
    campaign = pending_campaign(app=acme_app, submitted_at=timezone.now(), name="Summer Quest")
    with django_capture_on_commit_callbacks(execute=True):
        campaign_reject(
            campaign=campaign, actor=reviewer_in_group, reason="The banner shows a competitor."
        )

    assert sorted(m.to[0] for m in mail.outbox) == ["alice@acme.test", "bob@acme.test"]
    message = mail.outbox[0]
    assert message.to == ["alice@acme.test"]  # teammates' addresses are not shared
    assert message.subject == "Campaign “Summer Quest” is now Rejected"
    link = f"https://console.example.test{campaign_page_path(campaign)}"
    for body in (message.body, message.alternatives[0].content):
        assert "Summer Quest" in body
        assert "Pending approval" in body and "Rejected" in body
        assert "The banner shows a competitor." in body
        assert link in body
        assert "Moments review team" in body
        assert "rita@moments.test" not in body  # reviewers stay anonymous to developers
    assert message.alternatives[0].mimetype == "text/html"
    assert CampaignTransition.objects.get(campaign=campaign).notified_at is not None


def test_the_sweeps_moves_email_the_account_too(
    celery_eager, django_capture_on_commit_callbacks, acme_app
):
    now = datetime(2030, 1, 20, 9, 0, tzinfo=UTC)
    CampaignFactory(
        app=acme_app,
        name="Winter Quest",
        status=S.APPROVED,
        submitted_at=now - 8 * DAY,
        start_date=now.date(),
    )
    with django_capture_on_commit_callbacks(execute=True):
        campaigns_sweep(now=now)
    assert [m.subject for m in mail.outbox] == ["Campaign “Winter Quest” is now Live"]
    assert "Approved (test mode)" in mail.outbox[0].body
    assert "System" in mail.outbox[0].body


def test_the_email_task_run_twice_sends_each_email_once(acme_app, bob, alice):
    campaign = CampaignFactory(app=acme_app)
    campaign_transition(campaign=campaign, to_status=S.PENDING_APPROVAL, actor=alice)
    pks = list(CampaignTransition.objects.values_list("pk", flat=True))

    assert notify_transitions(pks) == 1
    assert notify_transitions(pks) == 0

    assert len(mail.outbox) == 2  # alice and bob, once each
    assert "alice@acme.test" in mail.outbox[0].body  # a teammate is named


def test_an_email_whose_task_never_ran_is_sent_by_a_later_sweep(acme_app, alice):
    campaign = CampaignFactory(app=acme_app)
    campaign_transition(campaign=campaign, to_status=S.PENDING_APPROVAL, actor=alice)
    row = CampaignTransition.objects.get()
    later = row.created_at + NOTIFY_LEASE + timedelta(minutes=1)
    assert transitions_pending_notification(now=row.created_at) == []  # the task may still run
    assert transitions_pending_notification(now=later) == [row.pk]

    # A worker claimed it a minute ago and may still be sending: leave it alone.
    CampaignTransition.objects.filter(pk=row.pk).update(notify_claimed_at=later - DAY / 1440)
    assert transitions_pending_notification(now=later) == []
    # A worker that claimed it and died: past the lease, it is sent again.
    CampaignTransition.objects.filter(pk=row.pk).update(
        notify_claimed_at=timezone.now() - NOTIFY_LEASE - timedelta(seconds=1)
    )
    assert notify_transitions([row.pk]) == 1
    assert [m.to for m in mail.outbox] == [["alice@acme.test"]]
    assert transitions_pending_notification(now=later) == []


def test_a_transition_is_not_mailed_before_its_transaction_commits(
    celery_eager, django_capture_on_commit_callbacks, acme_app, alice
):
    campaign = CampaignFactory(app=acme_app)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        campaign_transition(campaign=campaign, to_status=S.PENDING_APPROVAL, actor=alice)
        assert mail.outbox == []  # still inside the transaction
    assert len(callbacks) >= 1
    assert [m.to for m in mail.outbox] == [["alice@acme.test"]]
