"""API keys that tell their story (issue 22, item 3): each key shows when it was last used and
from which IP (the client's, through the trusted-proxy rules), stamped at most once a minute per
key and never at the cost of the call."""

# ruff: noqa: F811 -- imported fixtures are redefined as test parameters, as pytest intends.

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone

from console.models import ApiKey

# The Rewards API fixtures, imported so pytest finds them here (their names are then parameters).
from tests.rewards.conftest import (  # noqa: F401
    _fresh_rate_limits,
    api,
    api_app,
    body_for,
    live,
)

pytestmark = pytest.mark.django_db

BALANCER = "10.0.3.7"  # inside the trusted 10.0.0.0/8
CLIENT = "203.0.113.7"


@pytest.fixture
def behind_balancer(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    return settings


def info_from(api, live, *, peer: str = BALANCER, client: str = CLIENT):
    return api.post(
        "GetRewardInfo", body_for(live), remote_addr=peer, **{"X-Forwarded-For": client}
    )


def visible_text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("\xa0", " ").split())


def the_key(api_app) -> ApiKey:
    return api_app.app.api_keys.get()


def test_a_new_key_was_never_used(api_app):
    key = the_key(api_app)
    assert key.last_used_at is None
    assert key.last_used_ip is None


def test_a_call_stamps_when_and_from_which_client_ip_behind_the_balancer(
    behind_balancer, api, api_app, live
):
    with time_machine.travel(timezone.now(), tick=False):
        assert info_from(api, live).status_code == 200
        key = the_key(api_app)
        assert key.last_used_at == timezone.now()
    # The client behind our balancer, not the balancer itself.
    assert key.last_used_ip == CLIENT


def test_a_forwarded_for_header_from_outside_the_trusted_proxies_is_not_believed(
    behind_balancer, api, api_app, live
):
    assert info_from(api, live, peer="198.51.100.9", client="192.0.2.66").status_code == 200
    assert the_key(api_app).last_used_ip == "198.51.100.9"


def test_a_second_call_within_the_minute_writes_nothing_and_after_a_minute_it_moves(
    behind_balancer, api, api_app, live
):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert info_from(api, live).status_code == 200
    first = the_key(api_app).last_used_at
    assert first == start

    with time_machine.travel(start + timedelta(seconds=59), tick=False):
        assert info_from(api, live, client="203.0.113.8").status_code == 200
    key = the_key(api_app)
    assert key.last_used_at == first  # not moved within the minute
    assert key.last_used_ip == CLIENT

    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        assert info_from(api, live, client="203.0.113.8").status_code == 200
    key = the_key(api_app)
    assert key.last_used_at == start + timedelta(seconds=61)
    assert key.last_used_ip == "203.0.113.8"


def test_within_the_minute_the_other_calls_do_not_touch_the_database_for_the_stamp(
    behind_balancer, api, api_app, live, monkeypatch
):
    from rewards.api import auth

    calls = []
    real = auth.api_key_usage_stamp
    monkeypatch.setattr(
        auth, "api_key_usage_stamp", lambda **kwargs: calls.append(kwargs) or real(**kwargs)
    )
    for _ in range(5):
        assert info_from(api, live).status_code == 200
    assert len(calls) == 1  # five calls, one stamp


def test_the_database_condition_keeps_other_processes_to_one_write_a_minute(api_app):
    from console.services import api_key_usage_stamp

    key = the_key(api_app)
    now = timezone.now()
    assert api_key_usage_stamp(api_key_id=key.pk, ip=CLIENT, now=now) is True
    # Another web process, with its own memory, stamping 30 s later: nothing to update.
    later = now + timedelta(seconds=30)
    assert api_key_usage_stamp(api_key_id=key.pk, ip="203.0.113.9", now=later) is False
    key.refresh_from_db()
    assert (key.last_used_at, key.last_used_ip) == (now, CLIENT)


def test_a_database_error_while_stamping_never_fails_the_call(api, api_app, live, monkeypatch):
    from rewards.api import auth

    def broken(**kwargs):
        raise OperationalError("the database went away")

    monkeypatch.setattr(auth, "api_key_usage_stamp", broken)
    assert api.info(live).status_code == 200
    assert the_key(api_app).last_used_at is None


def test_the_app_page_shows_when_and_from_where_each_key_was_last_used(
    behind_balancer, api, api_app, live, alice_client
):
    page = reverse("console:app_detail", args=[api_app.app.app_id])
    assert "Never used" in alice_client.get(page).content.decode()

    assert info_from(api, live).status_code == 200

    text = visible_text(alice_client.get(page).content.decode())
    assert "Never used" not in text
    assert f"Last used: 0 minutes ago from {CLIENT}" in text


def test_an_outsider_cannot_see_another_accounts_key_usage(
    behind_balancer, api, api_app, live, charlie_client
):
    assert info_from(api, live).status_code == 200

    response = charlie_client.get(reverse("console:app_detail", args=[api_app.app.app_id]))
    assert response.status_code == 404
    assert CLIENT not in response.content.decode()


# --- Idle keys: a warning email to the admins (API_KEY_IDLE_DAYS) ------------------------------


@pytest.fixture
def idle_days(settings):
    settings.API_KEY_IDLE_DAYS = 30
    return 30


def test_an_idle_key_warns_the_admins_once_per_idle_spell(
    api, api_app, live, alice, bob, mailoutbox, idle_days
):
    from console.services import api_keys_idle_warn

    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert api.info(live).status_code == 200
    key = the_key(api_app)

    # Not idle yet.
    assert api_keys_idle_warn(now=start + timedelta(days=29)) == 0
    assert mailoutbox == []

    assert api_keys_idle_warn(now=start + timedelta(days=31)) == 1
    [mail] = mailoutbox
    assert mail.to == ["alice@acme.test"]  # the admin, not bob (a member)
    assert key.prefix in mail.subject
    assert f"/apps/{api_app.app.app_id}/" in mail.body
    # Told once: the next day's run says nothing.
    assert api_keys_idle_warn(now=start + timedelta(days=32)) == 0
    assert len(mailoutbox) == 1

    # A use ends the spell; the next spell is told again.
    with time_machine.travel(start + timedelta(days=33), tick=False):
        # The campaign has ended by now (a 409): the key still signed the call.
        api.info(live)
    assert the_key(api_app).last_used_at == start + timedelta(days=33)
    assert api_keys_idle_warn(now=start + timedelta(days=34)) == 0
    assert api_keys_idle_warn(now=start + timedelta(days=64)) == 1
    assert len(mailoutbox) == 2


def test_a_never_used_key_counts_from_its_creation_and_a_revoked_one_is_not_told(
    api_app, alice, mailoutbox, idle_days
):
    from console.services import api_key_revoke, api_keys_idle_warn

    key = the_key(api_app)
    later = key.created_at + timedelta(days=31)
    assert api_keys_idle_warn(now=later) == 1
    assert "never used" in mailoutbox[0].body

    other = the_key(api_app)
    ApiKey.objects.filter(pk=other.pk).update(idle_warned_at=None)
    api_key_revoke(api_key=other, actor=alice)
    assert api_keys_idle_warn(now=later) == 0
