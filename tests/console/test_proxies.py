"""Behind a load balancer (SPEC §10): the client's IP and scheme come from X-Forwarded-For and
X-Forwarded-Proto only when the direct peer is in TRUSTED_PROXIES; anyone else's are ignored."""

# ruff: noqa: F811 -- imported fixtures are redefined as test parameters, as pytest intends.
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from console.proxies import TrustedProxyMiddleware

# The Rewards API fixtures, imported so pytest finds them here (their names are then parameters).
from tests.rewards.conftest import (  # noqa: F401
    _fresh_rate_limits,
    api,
    api_app,
    body_for,
    live,
)

ROOT = Path(__file__).resolve().parents[2]
BALANCER = "10.0.3.7"  # inside the trusted 10.0.0.0/8
ALLOWED = "203.0.113.7"  # inside the app's allow-list
OUTSIDER = "198.51.100.9"


@pytest.fixture
def behind_balancer(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "2001:db8:feed::/48"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    return settings


@pytest.fixture
def allow_listed(api_app):
    api_app.app.allowed_ips = ["203.0.113.0/24"]
    api_app.app.save(update_fields=["allowed_ips"])
    return api_app


def info_via(api, live, *, peer: str, forwarded_for: str | None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for is not None else {}
    return api.post("GetRewardInfo", body_for(live), remote_addr=peer, **headers)


def test_a_trusted_balancers_forwarded_client_ip_passes_the_apps_allow_list(
    behind_balancer, allow_listed, api, live
):
    response = info_via(api, live, peer=BALANCER, forwarded_for=ALLOWED)

    assert response.status_code == 200, response.content
    assert response.json()["remainingRewardCount"] > 0


def test_a_trusted_balancers_forwarded_ip_outside_the_allow_list_is_a_403_naming_it(
    behind_balancer, allow_listed, api, live
):
    response = info_via(api, live, peer=BALANCER, forwarded_for=OUTSIDER)

    assert response.status_code == 403
    assert response.json()["errorCode"] == "ip_not_allowed"
    assert OUTSIDER in response.json()["rewardNotificationText"]


def test_an_allowed_ip_the_client_wrote_into_the_header_itself_does_not_get_it_in(
    behind_balancer, allow_listed, api, live
):
    # The client sent "X-Forwarded-For: 203.0.113.7"; the balancer appended the address it saw.
    spoofed = info_via(api, live, peer=BALANCER, forwarded_for=f"{ALLOWED}, {OUTSIDER}")

    assert spoofed.status_code == 403
    assert OUTSIDER in spoofed.json()["rewardNotificationText"]


def test_a_chain_of_trusted_proxies_is_skipped_to_reach_the_client(
    behind_balancer, allow_listed, api, live
):
    # CDN edge (trusted, IPv6) -> internal balancer (trusted) -> us; junk and ports ignored.
    chain = f"{OUTSIDER}, {ALLOWED}:51234, not-an-ip, [2001:db8:feed::1]:443, 10.9.9.9"

    assert info_via(api, live, peer=BALANCER, forwarded_for=chain).status_code == 200


def test_an_untrusted_peers_forwarded_for_is_ignored_and_its_own_address_decides(
    behind_balancer, allow_listed, api, live
):
    outsider_claiming = info_via(api, live, peer=OUTSIDER, forwarded_for=ALLOWED)
    allowed_claiming_outsider = info_via(api, live, peer=ALLOWED, forwarded_for=OUTSIDER)

    assert outsider_claiming.status_code == 403
    assert OUTSIDER in outsider_claiming.json()["rewardNotificationText"]
    assert allowed_claiming_outsider.status_code == 200


def test_without_trusted_proxies_forwarded_for_changes_nothing(settings, allow_listed, api, live):
    settings.TRUSTED_PROXIES = []

    assert info_via(api, live, peer=BALANCER, forwarded_for=ALLOWED).status_code == 403
    assert info_via(api, live, peer=ALLOWED, forwarded_for=OUTSIDER).status_code == 200


def test_the_per_ip_throttle_counts_each_client_behind_the_balancer_apart(
    behind_balancer, redis_client, api, live
):
    # Calls without a key are throttled per caller IP at 5 per second: one noisy client
    # behind the balancer must not use up everyone's allowance.
    api.key = None
    noisy = [info_via(api, live, peer=BALANCER, forwarded_for=OUTSIDER) for _ in range(6)]
    quiet = info_via(api, live, peer=BALANCER, forwarded_for=ALLOWED)

    assert [r.status_code for r in noisy] == [403] * 5 + [429]
    assert quiet.status_code == 403
    assert quiet.json()["errorCode"] == "missing_api_key"


def _scheme_seen(*, peer: str, proto: str) -> bool:
    seen = {}

    def view(request):
        seen["secure"] = request.is_secure()
        return HttpResponse()

    request = RequestFactory().get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_PROTO=proto)
    TrustedProxyMiddleware(view)(request)
    return seen["secure"]


def test_forwarded_proto_makes_a_request_secure_only_from_a_trusted_peer(behind_balancer):
    assert _scheme_seen(peer=BALANCER, proto="https") is True
    assert _scheme_seen(peer=OUTSIDER, proto="https") is False
    assert _scheme_seen(peer=BALANCER, proto="http") is False


def test_an_untrusted_peer_claiming_https_is_still_redirected_to_https(behind_balancer, client):
    behind_balancer.SECURE_SSL_REDIRECT = True

    spoofed = client.get("/login/", REMOTE_ADDR=OUTSIDER, headers={"X-Forwarded-Proto": "https"})
    via_balancer = client.get(
        "/login/", REMOTE_ADDR=BALANCER, headers={"X-Forwarded-Proto": "https"}
    )

    assert spoofed.status_code == 301
    assert spoofed["Location"] == "https://testserver/login/"
    assert via_balancer.status_code == 200


def _settings_with(**overrides) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO"))}
    env.update(DEBUG="1", **overrides)
    code = "from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)"
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "console.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_trusted_proxies_entry_that_is_not_a_network_stops_startup_with_a_clear_message():
    result = _settings_with(TRUSTED_PROXIES="10.0.0.0/8,balancer.internal")

    assert result.returncode != 0
    assert "TRUSTED_PROXIES: 'balancer.internal' is not an IP network" in result.stderr


def test_the_proxy_ssl_header_is_believed_only_when_trusted_proxies_are_set():
    assert _settings_with(TRUSTED_PROXIES="").stdout.strip() == "None"
    with_proxies = _settings_with(TRUSTED_PROXIES="10.0.0.0/8, 192.0.2.7")
    assert with_proxies.stdout.strip() == "('HTTP_X_FORWARDED_PROTO', 'https')", with_proxies.stderr
