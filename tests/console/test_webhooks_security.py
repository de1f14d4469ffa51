"""Webhooks and security (SPEC §12, §11): SSRF refusals when saving and at send time, and who
may do what on the Webhooks page (members 403, outsiders 404)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from console.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from console.webhooks import ssrf, transport
from console.webhooks.services import webhook_endpoint_create, webhook_endpoint_send_test

pytestmark = pytest.mark.django_db

DNS = {
    "hooks.example.com": ["93.184.216.34"],
    "intranet.example.com": ["93.184.216.34", "10.1.2.3"],  # one private answer is enough
    "loopback.example.com": ["127.0.0.1"],
    "metadata.example.com": ["169.254.169.254"],
    "v6-loopback.example.com": ["::1"],
    "mapped.example.com": ["::ffff:127.0.0.1"],
    "cgnat.example.com": ["100.64.0.7"],
}


@pytest.fixture
def dns(monkeypatch, settings):
    """Private addresses refused (production's default), and a fake resolver: the machines
    running the tests may be offline."""
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    table = dict(DNS)

    def resolve(host, port):
        if host not in table:
            raise OSError("Name or service not known")
        return table[host]

    monkeypatch.setattr(ssrf, "_resolve", resolve)
    return table


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://intranet.example.com/hook", "resolves to 10.1.2.3, a private address"),
        ("https://loopback.example.com/hook", "resolves to 127.0.0.1, a loopback address"),
        ("https://metadata.example.com/", "169.254.169.254, a link-local address"),
        ("https://v6-loopback.example.com/", "::1, a loopback address"),
        ("https://mapped.example.com/", "::ffff:127.0.0.1, a loopback address"),
        ("https://cgnat.example.com/", "100.64.0.7, a non-public address"),
        ("https://127.0.0.1/hook", "127.0.0.1, a loopback address"),
        ("http://hooks.example.com/hook", "Use an https:// URL"),
        ("https://nowhere.example.com/", "could not be resolved"),
        ("https://user:pw@hooks.example.com/", "Leave credentials out of the URL"),
    ],
)
def test_an_unsafe_url_is_refused_with_a_clear_form_error(alice_client, dns, url, message):
    dns["127.0.0.1"] = ["127.0.0.1"]
    response = alice_client.post("/webhooks/new/", {"url": url, "events": ["invoice.issued"]})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_a_public_https_url_is_accepted(alice_client, dns):
    response = alice_client.post(
        "/webhooks/new/", {"url": "https://hooks.example.com/hook", "events": ["invoice.issued"]}
    )
    assert "Copy your signing secret now" in response.content.decode()


def test_the_setting_allows_http_and_private_addresses_for_local_receivers(alice, acme, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    endpoint, _ = webhook_endpoint_create(
        account=acme, actor=alice, url="http://127.0.0.1:9000/hook", events=["invoice.issued"]
    )
    assert endpoint.pk


def test_a_host_that_now_resolves_to_a_private_address_is_refused_at_send_time(
    alice, acme, dns, monkeypatch, django_capture_on_commit_callbacks
):
    endpoint, _ = webhook_endpoint_create(
        account=acme, actor=alice, url="https://hooks.example.com/hook", events=["invoice.issued"]
    )
    dns["hooks.example.com"] = ["192.168.0.10"]  # DNS changed after the endpoint was saved

    def never(*args):
        raise AssertionError("nothing may be sent to a private address")

    monkeypatch.setattr(transport, "post", never)
    with django_capture_on_commit_callbacks(execute=True):
        webhook_endpoint_send_test(endpoint=endpoint, actor=alice)

    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None and not attempt.succeeded
    assert "Refused" in attempt.error and "192.168.0.10, a private address" in attempt.error


def test_the_attempt_connects_to_the_address_that_was_checked(
    alice, acme, dns, monkeypatch, django_capture_on_commit_callbacks
):
    targets = []

    def record(target, body, headers):
        targets.append(target)
        return transport.Response(204, 1)

    monkeypatch.setattr(transport, "post", record)
    endpoint, _ = webhook_endpoint_create(
        account=acme, actor=alice, url="https://hooks.example.com/in?x=1", events=["invoice.issued"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        webhook_endpoint_send_test(endpoint=endpoint, actor=alice)

    [target] = targets
    assert (target.addresses, target.host, target.port, target.path) == (
        ("93.184.216.34",),
        "hooks.example.com",
        443,
        "/in?x=1",
    )
    assert WebhookDelivery.objects.get().status == "succeeded"


def test_the_url_check_itself_names_the_problem(dns):
    with pytest.raises(ValidationError, match="https://"):
        ssrf.webhook_url_check("ftp://hooks.example.com/")


# --- Roles: admins only; another account's endpoints do not exist ------------------------------


@pytest.fixture
def acme_endpoint(alice, acme, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    endpoint, _ = webhook_endpoint_create(
        account=acme, actor=alice, url="https://hooks.example.test/a", events=["invoice.issued"]
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=acme.events.create(type="invoice.issued", data={}),
        status="failed",
        attempts=8,
        created_at=timezone.now(),
    )
    return endpoint, delivery


def _pages(endpoint, delivery):
    base = f"/webhooks/{endpoint.pk}"
    gets = ["/webhooks/", "/webhooks/new/", f"{base}/", f"{base}/edit/"]
    posts = [
        "/webhooks/new/",
        f"{base}/edit/",
        f"{base}/secret/rotate/",
        f"{base}/enable/",
        f"{base}/disable/",
        f"{base}/delete/",
        f"{base}/test/",
        f"{base}/deliveries/{delivery.pk}/retry/",
    ]
    return gets, posts


def _unchanged(endpoint, delivery):
    fresh = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert (fresh.enabled, fresh.url, fresh.secret_encrypted) == (
        endpoint.enabled,
        endpoint.url,
        endpoint.secret_encrypted,
    )
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "failed"
    assert WebhookDelivery.objects.count() == 1


def test_a_member_gets_403_on_every_webhook_page_and_action(client, bob, acme_endpoint):
    endpoint, delivery = acme_endpoint
    client.force_login(bob)
    gets, posts = _pages(endpoint, delivery)
    post_data = {"url": "https://evil.example.test/", "events": ["invoice.issued"]}

    for url in gets:
        assert client.get(url).status_code == 403, url
    for url in posts:
        assert client.post(url, post_data).status_code == 403, url
    assert 'id="nav-webhooks"' not in client.get("/dashboard/").content.decode()
    _unchanged(endpoint, delivery)


def test_an_outsider_gets_404_on_another_accounts_endpoint(charlie_client, acme_endpoint):
    endpoint, delivery = acme_endpoint
    gets, posts = _pages(endpoint, delivery)
    post_data = {"url": "https://evil.example.test/", "events": ["invoice.issued"]}

    for url in gets[2:]:
        assert charlie_client.get(url).status_code == 404, url
    for url in posts[1:]:
        assert charlie_client.post(url, post_data).status_code == 404, url
    assert endpoint.url not in charlie_client.get("/webhooks/").content.decode()
    _unchanged(endpoint, delivery)
