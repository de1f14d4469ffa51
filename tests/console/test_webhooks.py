"""Signed webhooks (SPEC §12): an event reaches a real local receiver signed per Standard
Webhooks, failures are retried on the stored schedule by the sweep, a 410 or three days of
failures disable the endpoint and email its admins, and the sweep sends each attempt once."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from campaigns.services.lifecycle import campaign_approve
from console.models import (
    ActivityEntry,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from console.webhooks import services, transport
from console.webhooks.events import webhook_event_publish
from console.webhooks.schemas import SCHEMA_VERSION
from console.webhooks.services import (
    RETRY_SCHEDULE,
    webhook_deliveries_create,
    webhook_endpoint_create,
    webhook_endpoint_disable,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_send_test,
    webhook_request,
)
from console.webhooks.tasks import send_webhook_delivery, sweep_webhook_deliveries
from rewards.redemption.services import ShippingAddress, reward_claim
from tests.campaigns.lifecycle_helpers import pending_campaign
from tests.factories import MembershipFactory
from tests.rewards.redemption_helpers import grant_for, make_shopper, reward_campaign

from .webhook_helpers import public_dns_fixture, receiver_fixture  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def _endpoint(account, actor, url, events=("campaign.status_changed",)):
    return webhook_endpoint_create(account=account, actor=actor, url=url, events=list(events))


def _publish(account, event_type="campaign.status_changed", data=None):
    return webhook_event_publish(
        account_id=account.pk, event_type=event_type, data=data or {"campaign_id": 1}
    )


@pytest.fixture
def frozen(time_machine):
    """Time stands still (tick=False) at a fixed moment; tests move it on."""
    start = timezone.now().replace(microsecond=0)
    time_machine.move_to(start, tick=False)
    return start


# --- A real event at a real receiver -------------------------------------------------------------


def test_an_approved_campaign_reaches_the_endpoint_signed_per_standard_webhooks(
    acme_app, alice, reviewer_in_group, receiver, django_capture_on_commit_callbacks
):
    endpoint, secret = _endpoint(acme_app.account, alice, receiver.url)
    campaign = pending_campaign(app=acme_app, submitted_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        campaign_approve(campaign=campaign, actor=reviewer_in_group)

    [request] = receiver.requests
    assert request.path == "/hooks/moments"
    payload = Webhook(secret).verify(request.body, request.headers)
    event = WebhookEvent.objects.get(type="campaign.status_changed")
    assert payload == {
        "type": "campaign.status_changed",
        "version": SCHEMA_VERSION,
        "timestamp": event.created_at.isoformat(),
        "data": event.data,
    }
    assert payload["data"]["campaign_id"] == str(campaign.campaign_id)
    assert payload["data"]["to_status"] == "approved"
    assert request.headers["webhook-id"] == f"msg_{event.pk}"
    assert request.headers["webhook-signature"].startswith("v1,")
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(request.body.replace(b"approved", b"rejected"), request.headers)

    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    [attempt] = delivery.attempt_rows.all()
    assert (attempt.number, attempt.status_code, attempt.response_excerpt) == (1, 200, "ok")


def test_a_claim_reaches_only_subscribed_endpoints_of_its_account_without_shopper_data(
    receiver, django_capture_on_commit_callbacks, charlie
):
    campaign = reward_campaign()
    account = campaign.account
    claims_endpoint, secret = _endpoint(account, None, receiver.url, events=["grant.claimed"])
    _endpoint(account, None, receiver.url + "/invoices", events=["invoice.issued"])
    _endpoint(charlie.membership.account, charlie, receiver.url + "/globex", ["grant.claimed"])
    group = campaign.reward_groups.get()

    with django_capture_on_commit_callbacks(execute=True):
        reward_claim(
            grant=grant_for(campaign),
            shopper=make_shopper("secret.shopper@private.test"),
            product=group.products.first(),
            address=ShippingAddress("Zelda Hidden", "99 Secret Lane", "", "Hideout", "55555", "US"),
            device_id="device-abc",
            ip="198.51.100.7",
        )

    [request] = receiver.requests
    assert request.path == "/hooks/moments"
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["type"] == "grant.claimed"
    assert payload["data"]["campaign_id"] == str(campaign.campaign_id)
    assert payload["data"]["claimed_count"] == 1
    for private in (
        b"secret.shopper",
        b"Zelda",
        b"Secret Lane",
        b"Hideout",
        b"198.51.100",
        b"device",
    ):
        assert private not in request.body
    assert WebhookDelivery.objects.get().endpoint == claims_endpoint


def test_publishing_to_an_account_fans_out_once_even_when_run_twice(alice, acme):
    endpoint, _ = _endpoint(acme, alice, "https://hooks.example.test/a")
    event = _publish(acme)

    webhook_deliveries_create(events=[event])

    assert WebhookDelivery.objects.filter(endpoint=endpoint, event=event).count() == 1


def test_a_disabled_endpoint_gets_no_new_deliveries(alice, acme):
    endpoint, _ = _endpoint(acme, alice, "https://hooks.example.test/a")
    webhook_endpoint_disable(endpoint=endpoint, actor=alice)

    _publish(acme)

    assert not WebhookDelivery.objects.exists()


# --- Retries on the stored schedule -------------------------------------------------------------


def test_a_500_is_retried_by_the_sweep_not_before_5_seconds_then_succeeds(
    alice, acme, alice_client, receiver, frozen, time_machine, django_capture_on_commit_callbacks
):
    endpoint, secret = _endpoint(acme, alice, receiver.url)
    receiver.answer(500, "database on fire")

    with django_capture_on_commit_callbacks(execute=True):
        event = _publish(acme)

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.next_attempt_at == frozen + timedelta(seconds=5)
    time_machine.move_to(frozen + timedelta(seconds=4), tick=False)
    assert sweep_webhook_deliveries() == 0
    assert len(receiver.requests) == 1

    time_machine.move_to(frozen + timedelta(seconds=5), tick=False)
    assert sweep_webhook_deliveries() == 1

    assert len(receiver.requests) == 2
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == f"msg_{event.pk}"
    Webhook(secret).verify(second.body, second.headers)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("succeeded", 2, None)
    page = alice_client.get(f"/webhooks/{endpoint.pk}/").content.decode()
    assert "database on fire" in page
    assert ">500<" in page and ">200<" in page
    assert page.index("#2") < page.index("#1")  # newest attempt first


def test_failures_follow_the_standard_webhooks_schedule_then_give_up(
    alice, acme, frozen, time_machine, monkeypatch, public_dns, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(transport, "post", lambda *a: transport.Response(503, 3, "busy"))
    _endpoint(acme, alice, "https://hooks.example.test/a")
    with django_capture_on_commit_callbacks(execute=True):
        _publish(acme)
    delivery = WebhookDelivery.objects.get()

    now, waits = frozen, []
    while delivery.status == "pending":
        waits.append(delivery.next_attempt_at - now)
        now = delivery.next_attempt_at
        time_machine.move_to(now, tick=False)
        sweep_webhook_deliveries()
        delivery.refresh_from_db()

    assert waits == RETRY_SCHEDULE
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert list(delivery.attempt_rows.values_list("number", flat=True)) == list(range(8, 0, -1))


def test_a_redirect_is_a_failed_attempt_and_is_not_followed(
    alice, acme, receiver, django_capture_on_commit_callbacks
):
    _endpoint(acme, alice, receiver.url)
    receiver.answer(302, "moved", {"Location": receiver.url + "/elsewhere"})

    with django_capture_on_commit_callbacks(execute=True):
        _publish(acme)

    assert len(receiver.requests) == 1
    attempt = WebhookAttempt.objects.get()
    assert (attempt.status_code, attempt.succeeded) == (302, False)


def test_retry_now_sends_a_failed_delivery_again_at_once(
    alice, acme, alice_client, receiver, django_capture_on_commit_callbacks
):
    endpoint, _ = _endpoint(acme, alice, receiver.url)
    receiver.answer(500, "nope")
    with django_capture_on_commit_callbacks(execute=True):
        _publish(acme)
    delivery = WebhookDelivery.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(f"/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/retry/")

    assert response.status_code == 302
    assert len(receiver.requests) == 2
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    assert ActivityEntry.objects.filter(action="webhook_delivery.retried").count() == 1


def test_resend_delivers_a_delivered_event_again_with_the_same_webhook_id(
    alice, acme, alice_client, charlie, receiver, django_capture_on_commit_callbacks
):
    endpoint, _ = _endpoint(acme, alice, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        _publish(acme)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "succeeded"
    charlie_client = Client()
    charlie_client.force_login(charlie)

    outsider = charlie_client.post(f"/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/resend/")
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(f"/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/resend/")

    assert outsider.status_code == 404
    assert response.status_code == 302
    first, again = receiver.requests
    assert again.headers["webhook-id"] == first.headers["webhook-id"]
    assert again.body == first.body
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    assert ActivityEntry.objects.filter(action="webhook_delivery.resent").count() == 1


def test_the_delivery_log_shows_each_request_body_and_response_and_refreshes_itself(
    alice, acme, alice_client, receiver, django_capture_on_commit_callbacks
):
    endpoint, _ = _endpoint(acme, alice, receiver.url)
    receiver.answer(200, "thanks, got it")
    with django_capture_on_commit_callbacks(execute=True):
        _publish(acme, data={"campaign_id": "3f6f1c52-8d1e-4f7a-9a43-5d0c1b2a7e90"})

    page = alice_client.get(f"/webhooks/{endpoint.pk}/").content.decode()
    fragment = alice_client.get(f"/webhooks/{endpoint.pk}/?fragment=log").content.decode()

    assert f'data-refresh-url="/webhooks/{endpoint.pk}/?fragment=log"' in page
    for html in (page, fragment):
        assert "Request body" in html
        assert "&quot;campaign_id&quot;: &quot;3f6f1c52-8d1e-4f7a-9a43-5d0c1b2a7e90&quot;" in html
        assert "thanks, got it" in html
        assert "Resend" in html
    assert "<html" not in fragment and "<nav" not in fragment


# --- Disabling a failing endpoint ------------------------------------------------------------


def test_a_410_disables_the_endpoint_and_emails_each_admin_once(
    alice, acme, bob, alice_client, receiver, django_capture_on_commit_callbacks
):
    dana = MembershipFactory(user__email="dana@acme.test", account=acme, role="admin").user
    endpoint, _ = _endpoint(acme, alice, receiver.url)
    receiver.answer(410, "gone")

    with django_capture_on_commit_callbacks(execute=True):
        _publish(acme)
    with django_capture_on_commit_callbacks(execute=True):
        assert not webhook_endpoint_disable(endpoint=endpoint, actor=None, reason="again")
        _publish(acme)

    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert "410" in endpoint.disabled_reason
    assert len(receiver.requests) == 1
    assert sorted(m.to[0] for m in mail.outbox) == [alice.email, dana.email]  # not bob
    assert receiver.url in mail.outbox[0].body and "410" in mail.outbox[0].body
    page = alice_client.get(f"/webhooks/{endpoint.pk}/").content.decode()
    assert "410 Gone" in page
    entry = ActivityEntry.objects.get(action="webhook_endpoint.disabled")
    assert entry.actor_label == "system"


def test_three_days_of_failures_disable_the_endpoint_and_a_success_resets_the_clock(
    alice, acme, frozen, time_machine, monkeypatch, public_dns, django_capture_on_commit_callbacks
):
    answers = iter([500, 500, 200, 500, 500, 500])
    monkeypatch.setattr(transport, "post", lambda *a: transport.Response(next(answers), 5, ""))
    endpoint, _ = _endpoint(acme, alice, "https://hooks.example.test/a")

    def publish_at(moment):
        time_machine.move_to(moment, tick=False)
        with django_capture_on_commit_callbacks(execute=True):
            _publish(acme)
        endpoint.refresh_from_db()

    publish_at(frozen)
    publish_at(frozen + timedelta(days=2))
    publish_at(frozen + timedelta(days=3, seconds=1))  # 200: the clock starts again
    assert endpoint.enabled and endpoint.failing_since is None
    publish_at(frozen + timedelta(days=4))
    publish_at(frozen + timedelta(days=6))
    assert endpoint.enabled and not mail.outbox
    publish_at(frozen + timedelta(days=7))

    assert not endpoint.enabled
    assert "three days" in endpoint.disabled_reason
    assert len(mail.outbox) == 1
    # Its deliveries still waiting for a retry are abandoned, not sent to a dead endpoint.
    assert not WebhookDelivery.objects.filter(status="pending").exists()


# --- Each attempt sent once -------------------------------------------------------------------


def test_the_sweep_run_twice_sends_a_due_delivery_once(alice, acme, receiver, frozen, time_machine):
    _endpoint(acme, alice, receiver.url)
    _publish(acme)  # its task never ran (as if the broker had been down)
    fan_out_token = WebhookDelivery.objects.get().claim_token

    time_machine.move_to(frozen + timedelta(minutes=3), tick=False)  # the claim expired
    assert sweep_webhook_deliveries() == 1
    assert sweep_webhook_deliveries() == 0
    assert send_webhook_delivery(str(fan_out_token)) is False  # the lost task, late

    assert len(receiver.requests) == 1
    assert WebhookAttempt.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_send_each_due_delivery_once(
    postgres, alice, acme, receiver, time_machine, monkeypatch
):
    _endpoint(acme, alice, receiver.url)
    monkeypatch.setattr(send_webhook_delivery, "delay", lambda token: None)  # tasks lost
    for n in range(20):
        _publish(acme, data={"n": n})
    monkeypatch.undo()
    time_machine.move_to(timezone.now() + timedelta(minutes=3))  # their claims expired
    barrier = threading.Barrier(4)
    errors = []

    def sweep():
        try:
            barrier.wait(timeout=10)
            for token in services.webhook_deliveries_sweep():
                services.webhook_delivery_send(token=token)
        except Exception as exc:  # surfaced below: a thread's exception is otherwise lost
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    ids = [request.headers["webhook-id"] for request in receiver.requests]
    assert len(ids) == len(set(ids)) == 20
    assert WebhookAttempt.objects.count() == 20
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_a_broker_outage_at_publish_loses_nothing(
    alice, acme, receiver, frozen, time_machine, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise OSError("Connection refused")

    _endpoint(acme, alice, receiver.url)
    monkeypatch.setattr(send_webhook_delivery, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        _publish(acme)  # no error for the change that published
    monkeypatch.undo()
    assert not receiver.requests

    time_machine.move_to(frozen + timedelta(minutes=3), tick=False)
    sweep_webhook_deliveries()

    assert len(receiver.requests) == 1


# --- Secrets --------------------------------------------------------------------------------


def test_the_secret_is_stored_encrypted_and_shown_only_once(alice_client, acme, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    response = alice_client.post(
        "/webhooks/new/",
        {"url": "https://hooks.example.test/a", "events": ["invoice.issued"]},
    )
    page = response.content.decode()
    assert "Copy your signing secret now" in page
    secret = page.split('id="webhook-secret" value="')[1].split('"')[0]
    assert secret.startswith("whsec_")

    endpoint = WebhookEndpoint.objects.get(account=acme)
    assert secret not in endpoint.secret_encrypted
    for url in ("/webhooks/", f"/webhooks/{endpoint.pk}/", f"/webhooks/{endpoint.pk}/edit/"):
        assert secret not in alice_client.get(url).content.decode()
    body, headers = webhook_request(endpoint=endpoint, event=_publish(acme), now=timezone.now())
    Webhook(secret).verify(body, headers)

    rotated = alice_client.post(f"/webhooks/{endpoint.pk}/secret/rotate/").content.decode()
    new_secret = rotated.split('id="webhook-secret" value="')[1].split('"')[0]
    assert new_secret.startswith("whsec_") and new_secret != secret
    assert new_secret not in alice_client.get(f"/webhooks/{endpoint.pk}/").content.decode()


def test_a_rotated_secret_signs_beside_the_old_one_for_24_hours(alice, acme, frozen, time_machine):
    endpoint, old = _endpoint(acme, alice, "https://hooks.example.test/a")
    event = _publish(acme)

    new = webhook_endpoint_rotate_secret(endpoint=endpoint, actor=alice)

    body, headers = webhook_request(endpoint=endpoint, event=event, now=timezone.now())
    Webhook(old).verify(body, headers)
    Webhook(new).verify(body, headers)
    later = frozen + timedelta(hours=24, seconds=1)
    time_machine.move_to(later, tick=False)
    body, headers = webhook_request(endpoint=endpoint, event=event, now=later)
    Webhook(new).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(body, headers)
    assert ActivityEntry.objects.filter(action="webhook_endpoint.secret_rotated").exists()


# --- The page's actions -----------------------------------------------------------------------


def test_an_admin_adds_tests_edits_disables_enables_and_deletes_an_endpoint(
    alice, alice_client, acme, receiver, django_capture_on_commit_callbacks
):
    assert 'id="nav-webhooks"' in alice_client.get("/webhooks/").content.decode()
    alice_client.post(
        "/webhooks/new/", {"url": receiver.url, "events": ["invoice.issued"], "description": "ERP"}
    )
    endpoint = WebhookEndpoint.objects.get()
    base = f"/webhooks/{endpoint.pk}"

    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(f"{base}/test/")
    [request] = receiver.requests
    assert json.loads(request.body)["type"] == "webhook.test"
    alice_client.post(
        f"{base}/edit/", {"url": receiver.url, "events": ["invoice.issued", "grant.claimed"]}
    )
    alice_client.post(f"{base}/disable/")
    endpoint.refresh_from_db()
    assert endpoint.events == ["invoice.issued", "grant.claimed"]
    assert not endpoint.enabled and endpoint.disabled_reason == "Disabled by alice@acme.test."
    assert not mail.outbox  # an admin's own choice: nobody is emailed
    alice_client.post(f"{base}/enable/")
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.disabled_reason == ""
    alice_client.post(f"{base}/delete/")

    assert not WebhookEndpoint.objects.exists()
    assert list(
        ActivityEntry.objects.filter(actor=alice).order_by("pk").values_list("action", flat=True)
    ) == [
        "webhook_endpoint.created",
        "webhook_endpoint.test_sent",
        "webhook_endpoint.updated",
        "webhook_endpoint.disabled",
        "webhook_endpoint.enabled",
        "webhook_endpoint.deleted",
    ]


def test_a_test_event_goes_only_to_its_endpoint(
    alice, acme, receiver, django_capture_on_commit_callbacks
):
    endpoint, secret = _endpoint(acme, alice, receiver.url, events=list(services.EVENT_TYPES))
    _endpoint(acme, alice, receiver.url + "/other", events=list(services.EVENT_TYPES))

    with django_capture_on_commit_callbacks(execute=True):
        webhook_endpoint_send_test(endpoint=endpoint, actor=alice)

    [request] = receiver.requests
    assert request.path == "/hooks/moments"
    assert Webhook(secret).verify(request.body, request.headers)["type"] == "webhook.test"


def test_an_endpoint_needs_at_least_one_event(alice_client):
    response = alice_client.post("/webhooks/new/", {"url": "https://hooks.example.test/a"})
    assert "Choose at least one event." in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_delivery_log_pages_newest_first_in_a_fixed_number_of_queries(
    alice, acme, alice_client, django_assert_max_num_queries, monkeypatch, public_dns
):
    monkeypatch.setattr(transport, "post", lambda *a: transport.Response(500, 1, "no"))
    endpoint, _ = _endpoint(acme, alice, "https://hooks.example.test/a")
    events = [_publish(acme, data={"n": n}) for n in range(30)]
    for delivery in WebhookDelivery.objects.all():
        services.webhook_delivery_send(token=delivery.claim_token)

    with django_assert_max_num_queries(12):
        first = alice_client.get(f"/webhooks/{endpoint.pk}/").content.decode()
    second = alice_client.get(f"/webhooks/{endpoint.pk}/?page=2").content.decode()

    assert f"msg_{events[-1].pk} " in first and f"msg_{events[0].pk} " not in first
    assert f"msg_{events[0].pk} " in second
    assert first.count("Retry now") == 25


def test_after_a_secret_key_change_the_fallback_keys_still_sign(
    alice, acme, settings, public_dns, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(transport, "post", lambda *a: sent.append(a) or transport.Response(200, 1))
    _endpoint(acme, alice, "https://hooks.example.test/a")
    old_key, settings.SECRET_KEY = settings.SECRET_KEY, "a-new-key-and-the-old-one-forgotten"

    with django_capture_on_commit_callbacks(execute=True):
        _publish(acme)
    attempt = WebhookAttempt.objects.get()
    assert not sent and "cannot be decrypted" in attempt.error

    settings.SECRET_KEY_FALLBACKS = [old_key]
    with django_capture_on_commit_callbacks(execute=True):
        _publish(acme)
    assert len(sent) == 1


def test_the_worker_finds_the_sweep_that_beat_runs_every_few_seconds():
    entry = django_settings.CELERY_BEAT_SCHEDULE["webhooks-sweep-deliveries"]
    assert entry["schedule"] <= 10
    # A fresh process, as the worker starts: the task must be found by autodiscovery alone.
    script = (
        "from console.celery import app; app.loader.import_default_modules(); "
        f"print({entry['task']!r} in app.tasks, 'console.webhooks.tasks.send_webhook_delivery' "
        "in app.tasks)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=django_settings.BASE_DIR,
    )
    assert out.stdout.split()[-2:] == ["True", "True"]


def test_a_receiver_named_localhost_is_reached_and_a_closed_port_is_a_failed_attempt(
    alice, acme, receiver, django_capture_on_commit_callbacks
):
    # localhost may resolve to ::1 first while the receiver listens on IPv4 only.
    named, _ = _endpoint(acme, alice, receiver.url.replace("127.0.0.1", "localhost"))
    closed, _ = _endpoint(acme, alice, "http://127.0.0.1:9/nobody-listens")

    with django_capture_on_commit_callbacks(execute=True):
        webhook_endpoint_send_test(endpoint=named, actor=alice)
        webhook_endpoint_send_test(endpoint=closed, actor=alice)

    assert len(receiver.requests) == 1
    failed = WebhookAttempt.objects.get(delivery__endpoint=closed)
    assert failed.status_code is None and "Connection failed" in failed.error
    assert WebhookDelivery.objects.get(endpoint=closed).status == "pending"  # retried later
