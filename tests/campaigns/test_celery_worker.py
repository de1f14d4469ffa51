"""A real Celery worker and beat, as separate processes on the test database, on Redis and on
RabbitMQ (tests/celery_helpers.py): beat fires the sweep on its own, the worker moves a due
campaign live, mails the account and delivers the signed webhook to the account's endpoint."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from campaigns.models import Campaign, CampaignTransition
from console.models import WebhookDelivery
from console.webhooks.services import webhook_endpoint_create
from tests.celery_helpers import (
    celery_broker_fixture,  # noqa: F401 (fixture)
    celery_env,
    logs,
    start_beat,
    start_worker,
    stop,
    wait_until,
)
from tests.console.webhook_helpers import receiver_fixture  # noqa: F401 (fixture)
from tests.factories import CampaignFactory

S = Campaign.Status


def _subject_and_to(path: Path) -> tuple[str, str]:
    """The file backend writes each message as it would go on the wire."""
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    return str(message["Subject"]), str(message["To"])


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_beat_and_a_worker_move_a_due_campaign_live_email_the_account_and_send_the_webhook(
    postgres, celery_broker, receiver, tmp_path, acme_app, alice
):
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    now = timezone.now()
    _endpoint, secret = webhook_endpoint_create(
        account=acme_app.account, actor=alice, url=receiver.url, events=["campaign.status_changed"]
    )
    campaign = CampaignFactory(
        app=acme_app,
        name="Beat Quest",
        status=S.APPROVED,
        submitted_at=now - timedelta(days=8),
        approved_at=now - timedelta(days=6),
        start_date=timezone.localdate(now),
    )
    env = celery_env(
        celery_broker,
        tmp_path,
        EMAIL_URL=f"filemail:///{mail_dir}",  # four slashes: an absolute path
        SWEEP_INTERVAL_SECONDS="1",
        WEBHOOKS_ALLOW_PRIVATE="1",  # the receiver is on 127.0.0.1
    )
    worker = start_worker(tmp_path, env, "lifecycle-test")
    beat = start_beat(tmp_path, env)
    try:

        def done() -> bool:
            campaign.refresh_from_db()
            return campaign.status == S.LIVE and any(mail_dir.iterdir()) and receiver.requests

        wait_until(done, worker, beat)
        out = logs(tmp_path, "worker.log", "beat.log")
        assert campaign.status == S.LIVE, out
        mails = [_subject_and_to(p) for p in mail_dir.iterdir()]
        assert mails == [("Campaign “Beat Quest” is now Live", "alice@acme.test")], out
        assert "campaigns.tasks.sweep_campaigns" in out  # beat sent it; nobody called it here
        row = CampaignTransition.objects.get(campaign=campaign)
        assert (row.from_status, row.to_status, row.actor_label) == (S.APPROVED, S.LIVE, "system")
        assert row.notified_at is not None
        [request] = receiver.requests
        payload = Webhook(secret).verify(request.body, request.headers)
        assert (payload["type"], payload["data"]["to_status"]) == (
            "campaign.status_changed",
            "live",
        )
        wait_until(
            lambda: WebhookDelivery.objects.filter(status=WebhookDelivery.Status.SUCCEEDED).exists()
        )
        assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.SUCCEEDED, out
    finally:
        stop(beat)
        stop(worker)
