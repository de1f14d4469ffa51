"""A key the Rewards API remembers obeys a revocation, a rotation, an allow-list, a rate limit
or a spend limit changed by the console or by staff on the very next call, in every process."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone
from time_machine import travel as time_machine_travel

from console.services import api_key_revoke, api_key_rotate, app_update
from tests.rewards.conftest import ApiCaller, live_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def remembered(redis_client, api, live, django_assert_num_queries):
    """The key is remembered (and the answer cached): a GetRewardInfo costs no query."""
    api.info(live)
    api.info(live)
    with django_assert_num_queries(0):
        assert api.info(live).status_code == 200


class _FormFields(HTMLParser):
    """The values an admin change form would submit as it is shown."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, str] = {}
        self._textarea = self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in {"submit", "checkbox"}:
            self.data[name] = attrs.get("value") or ""
        elif tag == "input" and name and "checked" in attrs:
            self.data[name] = "on"
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data.strip("\n")


def admin_save(client, url: str, **changes) -> None:
    """Submit an admin change form as shown, with `changes`, like a staff member would."""
    form = _FormFields()
    form.feed(client.get(url).content.decode())
    response = client.post(url, {**form.data, **changes, "_save": "Save"})
    assert response.status_code == 302, response.content.decode()[:3000]


def test_a_remembered_key_revoked_in_the_console_is_refused_by_the_next_call(
    redis_client, api, api_app, live, alice, remembered, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        api_key_revoke(api_key=api_app.app.api_keys.get(), actor=alice)

    answer = api.info(live)

    assert answer.status_code == 403
    assert answer.json()["errorCode"] == "invalid_api_key"
    assert api.reward(live).status_code == 403


def test_a_remembered_key_keeps_working_through_its_rotation_grace_and_stops_after_it(
    redis_client, api, api_app, live, alice, remembered, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        issued = api_key_rotate(app=api_app.app, actor=alice)

    assert api.info(live).status_code == 200
    assert ApiCaller(issued.raw).info(live).status_code == 200
    with time_machine_travel(timezone.now() + timedelta(hours=25)):
        assert api.info(live).json()["errorCode"] == "invalid_api_key"
        assert ApiCaller(issued.raw).info(live).status_code == 200


def test_an_allow_list_change_refuses_the_next_call_from_outside_it(
    redis_client, api, api_app, live, alice, remembered, django_capture_on_commit_callbacks
):
    app = api_app.app
    with django_capture_on_commit_callbacks(execute=True):
        app_update(
            app=app,
            actor=alice,
            name=app.name,
            store_url=app.store_url,
            allowed_ips=["203.0.113.0/24"],
        )

    outside = api.post("GetRewardInfo", _body(live), remote_addr="198.51.100.9")
    inside = api.post("GetRewardInfo", _body(live), remote_addr="203.0.113.7")

    assert outside.status_code == 403
    assert outside.json()["errorCode"] == "ip_not_allowed"
    assert inside.status_code == 200


def test_a_remembered_allow_list_never_refuses_an_address_the_app_has_since_allowed(
    api, api_app, live, remembered
):
    from console.models import App

    # Written behind the services' back (no generation bump): the database still decides.
    App.objects.filter(pk=api_app.app.pk).update(allowed_ips=["203.0.113.0/24"])
    api.post("GetRewardInfo", _body(live), remote_addr="203.0.113.7")  # remembered again
    App.objects.filter(pk=api_app.app.pk).update(allowed_ips=["198.51.100.0/24"])

    answer = api.post("GetRewardInfo", _body(live), remote_addr="198.51.100.9")

    assert answer.status_code == 200


def test_a_staff_rate_limit_change_shows_in_the_next_answers_headers(
    redis_client, admin_client, api, api_app, live, remembered, django_capture_on_commit_callbacks
):
    assert api.info(live)["X-RateLimit-Limit"] == "100000"
    with django_capture_on_commit_callbacks(execute=True):
        admin_save(
            admin_client,
            reverse("admin:console_app_change", args=[api_app.app.pk]),
            rate_limit_per_second="7",
        )

    answer = api.info(live)

    assert answer.status_code == 200
    assert answer["X-RateLimit-Limit"] == "7"


def test_a_key_revoked_by_staff_in_the_keys_admin_is_refused_by_the_next_call(
    redis_client, admin_client, api, api_app, live, remembered, django_capture_on_commit_callbacks
):
    key = api_app.app.api_keys.get()
    with django_capture_on_commit_callbacks(execute=True):
        admin_save(admin_client, reverse("admin:console_apikey_change", args=[key.pk]), revoke="on")

    assert api.info(live).json()["errorCode"] == "invalid_api_key"


def test_a_key_revoked_by_staff_in_the_apps_key_list_is_refused_by_the_next_call(
    redis_client, admin_client, api, api_app, live, remembered, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        admin_save(
            admin_client,
            reverse("admin:console_app_change", args=[api_app.app.pk]),
            **{"api_keys-0-revoke": "on"},
        )

    assert api_app.app.api_keys.get().revoked_at is not None
    assert api.info(live).json()["errorCode"] == "invalid_api_key"


def test_a_lowered_account_spend_limit_applies_to_the_next_reward_and_reward_info(
    redis_client, admin_client, api, api_app, acme, django_capture_on_commit_callbacks
):
    campaign = live_campaign(api_app.app, cpa=Decimal("10"))
    with django_capture_on_commit_callbacks(execute=True):
        assert api.reward(campaign).status_code == 200
    api.info(campaign)
    api.info(campaign)  # the key is remembered with the account's limit, the answer cached
    assert api.info(campaign).json()["remainingRewardCount"] == 99

    with django_capture_on_commit_callbacks(execute=True):
        # Finance's "Change spend limit" form (the Account form no longer saves the limit).
        response = admin_client.post(
            reverse("admin:console_account_spend_limit", args=[acme.pk]),
            {"limit": "15.00", "reason": "FIN-9 lowered"},
        )
        assert response.status_code == 302

    assert api.info(campaign).json()["remainingRewardCount"] == 0
    assert api.reward(campaign).json()["errorCode"] == "account_monthly_cap_reached"


def test_without_redis_a_revoked_key_is_refused_at_once(settings, api, api_app, live, alice):
    settings.REDIS_URL = ""
    assert [api.info(live).status_code for _ in range(3)] == [200, 200, 200]

    api_key_revoke(api_key=api_app.app.api_keys.get(), actor=alice)

    assert api.info(live).json()["errorCode"] == "invalid_api_key"


def test_when_redis_goes_down_a_remembered_revoked_key_is_refused_at_once(
    redis_client, settings, api, api_app, live, alice, remembered
):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there: the bump is lost
    api_key_revoke(api_key=api_app.app.api_keys.get(), actor=alice)

    assert api.info(live).json()["errorCode"] == "invalid_api_key"


def _body(campaign) -> dict:
    from tests.rewards.conftest import body_for

    return body_for(campaign)
