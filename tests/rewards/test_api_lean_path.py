"""The Rewards API's short middleware chain (issue 13, rewards/api/lean.py): /prod/ skips the
console's middleware, and keeps what a JSON API needs: the security headers, the proxy rewrite
of the client's address, the Host check and the API's JSON error shapes."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.middleware.csrf import CsrfViewMiddleware
from django.test import Client

from billing.models import LedgerEntry

from .conftest import body_for

pytestmark = pytest.mark.django_db

BALANCER = "10.0.3.7"
CLIENT = "203.0.113.7"
OUTSIDER = "198.51.100.9"


def _error_code(response) -> str:
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert set(body) == {"rewardNotificationText", "errorCode"}
    return body["errorCode"]


@pytest.fixture
def console_middleware_refuses(monkeypatch):
    """Sessions, authentication and CSRF raise if they ever run."""

    def refuse(self, request, *args):
        raise AssertionError(f"{type(self).__name__} ran for {request.path}")

    monkeypatch.setattr(SessionMiddleware, "process_request", refuse)
    monkeypatch.setattr(AuthenticationMiddleware, "process_request", refuse)
    monkeypatch.setattr(CsrfViewMiddleware, "process_view", refuse)


def test_api_calls_never_run_the_consoles_sessions_auth_or_csrf(
    console_middleware_refuses, api, live
):
    info = api.info(live)
    reward = api.reward(live)

    assert info.status_code == 200, info.content
    assert reward.status_code == 200, reward.content
    assert LedgerEntry.objects.filter(campaign=live).count() == 1
    # ...while the console's pages still go through them.
    with pytest.raises(AssertionError, match="ran for /dashboard/"):
        Client().get("/dashboard/")


def test_an_api_answer_sets_no_cookie_and_does_not_vary_on_cookies(api, live):
    response = api.reward(live)

    assert response.status_code == 200
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")


@pytest.mark.parametrize("endpoint", ["GetRewardInfo", "GetReward"])
def test_every_api_answer_carries_the_json_apis_security_headers(api, live, endpoint):
    ok = api.post(endpoint, body_for(live))
    refused = api.post(endpoint, body_for(live), key="not-a-key")

    for response in (ok, refused):
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Cache-Control"] == "no-store"
        assert response["Referrer-Policy"] == "same-origin"
    assert _error_code(refused) == "invalid_api_key"


def test_hsts_is_sent_over_https_and_not_over_plain_http(settings, api, live):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_SSL_REDIRECT = False

    over_https = api.client.post(
        "/prod/GetRewardInfo",
        json.dumps(body_for(live)),
        content_type="application/json",
        headers={"x-api-key": api.key},
        secure=True,
    )
    over_http = api.info(live)

    assert over_https.status_code == 200
    assert over_https["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in over_http


def test_https_behind_a_trusted_balancer_gets_hsts(settings, api, live):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_SSL_REDIRECT = True

    behind = api.post(
        "GetRewardInfo",
        body_for(live),
        remote_addr=BALANCER,
        **{"X-Forwarded-Proto": "https", "X-Forwarded-For": CLIENT},
    )
    spoofed = api.post(
        "GetRewardInfo", body_for(live), remote_addr=OUTSIDER, **{"X-Forwarded-Proto": "https"}
    )

    assert behind.status_code == 200, behind.content
    assert behind["Strict-Transport-Security"].startswith("max-age=3600")
    # An untrusted peer claiming HTTPS is plain HTTP: redirected, as before the lean path.
    assert spoofed.status_code == 301
    assert spoofed["Location"].startswith("https://")


def test_the_allow_list_sees_the_client_behind_a_trusted_balancer_and_ignores_others(
    settings, api_app, api, live
):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    api_app.app.allowed_ips = ["203.0.113.0/24"]
    api_app.app.save(update_fields=["allowed_ips"])

    forwarded = api.post(
        "GetReward", body_for(live), remote_addr=BALANCER, **{"X-Forwarded-For": CLIENT}
    )
    forged = api.post(
        "GetReward", body_for(live), remote_addr=OUTSIDER, **{"X-Forwarded-For": CLIENT}
    )

    assert forwarded.status_code == 200, forwarded.content
    assert forged.status_code == 403
    assert _error_code(forged) == "ip_not_allowed"
    assert OUTSIDER in forged.json()["rewardNotificationText"]


def test_a_host_outside_allowed_hosts_is_a_json_400_and_charges_nothing(api, live):
    response = api.client.post(
        "/prod/GetReward",
        json.dumps(body_for(live)),
        content_type="application/json",
        headers={"x-api-key": api.key},
        HTTP_HOST="attacker.example",
    )

    assert response.status_code == 400
    assert _error_code(response) == "malformed_request"
    assert not LedgerEntry.objects.exists()


def test_unknown_paths_and_oversized_bodies_keep_their_json_shapes(api, live):
    missing = api.post("GetRewards", body_for(live))
    slash = api.post("GetReward/", body_for(live))
    too_large = api.client.post(
        "/prod/GetReward",
        b"{" + b" " * (1024 * 1024) + b"}",
        content_type="application/json",
        headers={"x-api-key": api.key},
    )

    assert (missing.status_code, _error_code(missing)) == (404, "not_found")
    assert (slash.status_code, _error_code(slash)) == (404, "not_found")
    assert (too_large.status_code, _error_code(too_large)) == (413, "payload_too_large")


def test_an_error_in_a_view_is_still_a_json_500(api, live, monkeypatch):
    from rewards.api import grant

    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(grant, "reward_grant", broken)

    response = api.reward(live)

    assert (response.status_code, _error_code(response)) == (500, "server_error")


def test_healthz_and_the_console_are_not_on_the_api_path(client):
    health = client.get("/healthz", HTTP_HOST="10.1.2.3")
    page = client.get("/prod-notes/")

    assert health["Content-Type"] == "application/json"
    assert "checks" in health.json()
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")
