"""The webhook outbox: each change stores its event in its own transaction (SPEC §12)."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from campaigns.services.lifecycle import campaign_approve, campaigns_sweep
from console.activity import activity_record
from console.models import ActivityEntry, WebhookEvent
from console.webhooks.events import webhook_event_publish
from tests.campaigns.lifecycle_helpers import pending_campaign

pytestmark = pytest.mark.django_db


def test_an_approval_and_the_sweeps_go_live_each_store_a_status_changed_event(
    acme_app, reviewer_in_group, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    campaign = pending_campaign(app=acme_app, submitted_at=timezone.now())
    campaign_approve(campaign=campaign, actor=reviewer_in_group)
    campaign.refresh_from_db()
    time_machine.move_to(campaign.goes_live_at, tick=False)
    campaigns_sweep()

    events = WebhookEvent.objects.filter(account=acme_app.account).order_by("pk")
    assert [(e.type, e.data["from_status"], e.data["to_status"]) for e in events] == [
        ("campaign.status_changed", "pending_approval", "approved"),
        ("campaign.status_changed", "approved", "live"),
    ]
    assert {e.data["campaign_id"] for e in events} == {str(campaign.campaign_id)}


def test_an_unknown_event_type_is_refused(acme):
    with pytest.raises(ValueError, match="Unknown webhook event type"):
        webhook_event_publish(account_id=acme.pk, event_type="campaign.exploded", data={})


def test_a_rolled_back_change_leaves_neither_its_event_nor_its_audit_row(acme, alice):
    with pytest.raises(RuntimeError), transaction.atomic():
        webhook_event_publish(account_id=acme.pk, event_type="invoice.issued", data={})
        activity_record(actor=alice, account=acme, action="invoice.issued", target=acme)
        raise RuntimeError("the change failed after both rows were written")
    assert not WebhookEvent.objects.exists()
    assert not ActivityEntry.objects.exists()
