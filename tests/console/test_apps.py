"""App registration, API keys (shown once, hashed, rotated with a grace period, revoked) and
account scoping."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, connection
from django.urls import reverse
from django.utils import timezone

from console.models import ApiKey, App, StaffRequest
from console.services import keys as services

pytestmark = pytest.mark.django_db

REGISTER = {
    "name": "Space Miner",
    "platform": "android",
    "store_url": "https://play.example.test/store/apps/details?id=space.miner",
    "allowed_ips": "",
    "message": "",
}


def _raw_key(response) -> str:
    return re.search(r'id="api-key" value="([^"]+)"', response.content.decode()).group(1)


def test_registering_an_app_shows_its_key_once_and_the_details_page_shows_only_the_prefix(
    alice_client,
):
    response = alice_client.post(reverse("console:app_create"), REGISTER)
    assert response.status_code == 200
    assert "This is the only time the full key is shown" in response.content.decode()
    raw = _raw_key(response)
    app = App.objects.get(name="Space Miner")
    key = app.api_keys.get()
    assert raw.startswith(key.prefix + ".")
    assert response["Cache-Control"].startswith("max-age=0")

    detail = alice_client.get(reverse("console:app_detail", args=[app.app_id])).content.decode()
    assert "Registration details" in detail
    assert str(app.app_id) in detail
    assert key.prefix in detail
    assert raw not in detail


def test_the_raw_api_key_appears_nowhere_in_the_database(alice_client):
    raw = _raw_key(alice_client.post(reverse("console:app_create"), REGISTER))
    secret = raw.split(".", 1)[1]
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        for table in tables:
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (introspected names)
            for row in cursor.fetchall():
                assert secret not in repr(row), f"raw key found in {table}"
    assert ApiKey.objects.get().key_hash == hashlib.sha256(raw.encode()).hexdigest()


def test_the_authentication_service_returns_the_app_for_its_key_only(acme_app, alice):
    issued = services.api_key_rotate(app=acme_app, actor=alice)
    assert services.api_key_authenticate(issued.raw) == acme_app
    assert services.api_key_authenticate(issued.raw + "x") is None
    assert services.api_key_authenticate(issued.api_key.prefix + ".wrong") is None
    assert services.api_key_authenticate("") is None
    assert services.api_key_authenticate(None) is None


def test_a_rotated_key_works_for_24_hours_then_stops(acme_app, alice):
    first = services.api_key_rotate(app=acme_app, actor=alice)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        second = services.api_key_rotate(app=acme_app, actor=alice)
        traveller.shift(timedelta(hours=23, minutes=59))
        assert services.api_key_authenticate(first.raw) == acme_app
        assert services.api_key_authenticate(second.raw) == acme_app
        traveller.shift(timedelta(minutes=2))
        assert services.api_key_authenticate(first.raw) is None
        assert services.api_key_authenticate(second.raw) == acme_app


def test_rotating_twice_does_not_extend_the_oldest_keys_grace(acme_app, alice):
    first = services.api_key_rotate(app=acme_app, actor=alice)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        services.api_key_rotate(app=acme_app, actor=alice)
        traveller.shift(timedelta(hours=12))
        services.api_key_rotate(app=acme_app, actor=alice)
        traveller.shift(timedelta(hours=12, minutes=1))
        assert services.api_key_authenticate(first.raw) is None


def test_a_key_is_still_issued_when_its_first_prefix_is_already_taken(
    alice_client, acme_app, alice, monkeypatch
):
    taken = services.api_key_rotate(app=acme_app, actor=alice).api_key.prefix
    draws = iter([taken, taken, "mk_0f0f0f0f"])
    monkeypatch.setattr(services, "_random_prefix", lambda: next(draws))
    response = alice_client.post(reverse("console:app_key_rotate", args=[acme_app.app_id]))
    assert response.status_code == 200
    raw = _raw_key(response)
    assert raw.startswith("mk_0f0f0f0f.")
    assert services.api_key_authenticate(raw) == acme_app
    assert acme_app.api_keys.count() == 2
    # The rotation's other writes survived the collision: the old key got its 24-hour grace.
    assert acme_app.api_keys.get(prefix=taken).expires_at is not None


def test_key_issuing_gives_up_after_a_few_taken_prefixes(acme_app, alice, monkeypatch):
    taken = services.api_key_rotate(app=acme_app, actor=alice).api_key.prefix
    monkeypatch.setattr(services, "_random_prefix", lambda: taken)
    with pytest.raises(IntegrityError):
        services.api_key_rotate(app=acme_app, actor=alice)


def test_rotate_in_the_console_shows_the_new_key_once(alice_client, acme_app):
    response = alice_client.post(reverse("console:app_key_rotate", args=[acme_app.app_id]))
    raw = _raw_key(response)
    assert "Your previous key keeps working for 24 hours" in response.content.decode()
    assert services.api_key_authenticate(raw) == acme_app


def test_revoking_a_key_ends_it_at_once(alice_client, acme_app, alice):
    issued = services.api_key_rotate(app=acme_app, actor=alice)
    response = alice_client.post(
        reverse("console:app_key_revoke", args=[acme_app.app_id, issued.api_key.pk]), follow=True
    )
    assert "revoked" in response.content.decode()
    assert services.api_key_authenticate(issued.raw) is None


def test_allowed_ips_are_validated_and_normalised(alice_client):
    response = alice_client.post(
        reverse("console:app_create"), {**REGISTER, "allowed_ips": "10.0.0.1, 300.1.1.1 bogus"}
    )
    assert "Not an IP address or CIDR range: 300.1.1.1, bogus." in response.content.decode()
    assert not App.objects.exists()
    alice_client.post(
        reverse("console:app_create"),
        {**REGISTER, "allowed_ips": "203.0.113.7\n198.51.100.0/24, 2001:db8::/32"},
    )
    app = App.objects.get()
    assert app.allowed_ips == ["203.0.113.7/32", "198.51.100.0/24", "2001:db8::/32"]
    assert services.ip_allowed(app, "198.51.100.20")
    assert not services.ip_allowed(app, "192.0.2.1")


def test_an_app_name_is_unique_within_the_account(alice_client, acme_app):
    response = alice_client.post(reverse("console:app_create"), {**REGISTER, "name": "space miner"})
    assert "You already have an app with this name." in response.content.decode()


def test_choosing_fire_tv_opens_a_support_request_instead_of_registering(alice_client, acme):
    response = alice_client.post(
        reverse("console:app_create"),
        {**REGISTER, "platform": "fire_tv", "message": "Launching in March"},
    )
    assert "Fire TV apps are not self-service yet" in response.content.decode()
    assert not App.objects.exists()
    ticket = StaffRequest.objects.get()
    assert ticket.account == acme and ticket.kind == "fire_tv"
    assert "Launching in March" in ticket.details


def test_a_bad_store_url_gets_a_message(alice_client):
    response = alice_client.post(reverse("console:app_create"), {**REGISTER, "store_url": "no"})
    assert "Enter a valid URL." in response.content.decode()


def test_a_teammate_sees_the_accounts_apps(client, bob, acme_app):
    client.force_login(bob)
    assert client.get(reverse("console:app_detail", args=[acme_app.app_id])).status_code == 200


# --- An outsider gets a 404 on every app page and action --------------------------------------


@pytest.mark.parametrize(
    "method,name,extra",
    [
        ("get", "console:app_detail", []),
        ("get", "console:app_edit", []),
        ("post", "console:app_edit", []),
        ("post", "console:app_key_rotate", []),
        ("post", "console:app_key_revoke", ["KEY"]),
    ],
)
def test_another_accounts_member_gets_404_on_every_app_page_and_action(
    charlie_client, acme_app, alice, method, name, extra
):
    key = services.api_key_rotate(app=acme_app, actor=alice).api_key
    args = [acme_app.app_id] + [key.pk if e == "KEY" else e for e in extra]
    data = {"name": "Stolen", "store_url": "https://evil.test"} if method == "post" else None
    response = getattr(charlie_client, method)(reverse(name, args=args), data)
    assert response.status_code == 404
    acme_app.refresh_from_db()
    key.refresh_from_db()
    assert acme_app.name == "Space Miner"
    assert key.revoked_at is None and key.expires_at is None
    assert acme_app.api_keys.count() == 1


def test_another_accounts_apps_are_not_listed(charlie_client, acme_app):
    assert "Space Miner" not in charlie_client.get(reverse("console:app_list")).content.decode()
    assert "Space Miner" not in charlie_client.get(reverse("console:dashboard")).content.decode()


def test_pages_need_a_login(client, acme_app):
    for url in [reverse("console:app_list"), reverse("console:app_detail", args=[acme_app.app_id])]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")
