"""Abuse limits on the public forms (SPEC §10): failed sign-ins per account and per IP,
password resets per address and per IP, sign-ups per IP, each with a clear message.

Every test runs twice: on real Redis (the production counters) and on the embedded mode's
Django cache (no REDIS_URL)."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from console import throttle
from console.models import Account

from ..conftest import PASSWORD
from ..factories import MembershipFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
ATTACKER = "203.0.113.66"
NEIGHBOUR = "198.51.100.7"

SIGNUP = {
    "company": "Initech",
    "country": "US",
    "billing_address": "1 Initech Way\nAustin, TX",
    "password": PASSWORD,
}


def _login(client, email, password, ip=ATTACKER):
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=ip)


def _signed_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == reverse("console:dashboard")


# --- Sign-in ------------------------------------------------------------------------------------


def test_fifty_wrong_passwords_lock_the_account_and_then_even_the_right_one_is_refused(
    client, alice, counters
):
    pages = [_login(client, "alice@acme.test", f"guess-{n}").content.decode() for n in range(50)]

    assert all("Please enter a correct email and password" in p for p in pages[:4])
    locked = "Too many failed sign-ins for this account. Try again in 15 minutes."
    assert locked in pages[4]  # the fifth failure says so at once
    assert all(locked in p or "Try again in 14 minutes." in p for p in pages[5:])
    assert not any("Please enter a correct email" in p for p in pages[4:])

    refused = _login(client, "alice@acme.test", PASSWORD, ip=NEIGHBOUR)
    assert refused.status_code == 429
    assert "Too many failed sign-ins for this account" in refused.content.decode()

    counters()  # the window passes
    assert _signed_in(_login(client, "alice@acme.test", PASSWORD, ip=NEIGHBOUR))


def test_the_account_limit_ignores_the_emails_case(client, alice, counters):
    for n in range(5):
        _login(client, ["ALICE@ACME.TEST", "Alice@Acme.test"][n % 2], f"guess-{n}")

    response = _login(client, "alice@acme.test", PASSWORD)

    assert not _signed_in(response)
    assert "Too many failed sign-ins for this account" in response.content.decode()


def test_a_right_password_clears_the_accounts_failures(client, alice, counters):
    for n in range(4):
        _login(client, "alice@acme.test", f"guess-{n}")
    assert _signed_in(_login(client, "alice@acme.test", PASSWORD))
    client.logout()
    for n in range(4):
        _login(client, "alice@acme.test", f"again-{n}")

    assert _signed_in(_login(client, "alice@acme.test", PASSWORD))


def test_a_locked_account_does_not_lock_its_teammates(client, alice, bob, counters):
    for n in range(6):
        _login(client, "alice@acme.test", f"guess-{n}")

    assert _signed_in(_login(client, "bob@acme.test", PASSWORD))


def test_twenty_failures_from_one_ip_block_that_ip_but_not_others(client, alice, counters):
    for n in range(20):
        _login(client, f"nobody{n}@example.test", "guess")

    blocked = _login(client, "alice@acme.test", PASSWORD)

    assert not _signed_in(blocked)
    assert (
        "Too many failed sign-ins from your network. Try again in 15 minutes."
        in blocked.content.decode()
    )
    assert _signed_in(_login(client, "alice@acme.test", PASSWORD, ip=NEIGHBOUR))


def test_a_success_does_not_reset_the_ips_count(client, alice, counters):
    for n in range(19):
        _login(client, f"nobody{n}@example.test", "guess")
    assert _signed_in(_login(client, "alice@acme.test", PASSWORD))
    client.logout()
    _login(client, "nobody-else@example.test", "guess")

    assert not _signed_in(_login(client, "alice@acme.test", PASSWORD))


def test_the_limits_are_settings(client, alice, counters, settings):
    settings.THROTTLE_LOGIN_ACCOUNT_FAILURES = 2
    settings.THROTTLE_LOGIN_WINDOW_SECONDS = 5 * 60

    _login(client, "alice@acme.test", "one")
    second = _login(client, "alice@acme.test", "two").content.decode()

    assert "Too many failed sign-ins for this account. Try again in 5 minutes." in second


# --- Password reset ---------------------------------------------------------------------------


def _reset(client, email, ip=ATTACKER):
    return client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=ip)


def test_twenty_resets_for_one_address_send_three_emails_and_then_say_so(client, alice, counters):
    responses = [_reset(client, "alice@acme.test") for _ in range(20)]

    assert len(mail.outbox) == 3
    assert [r.status_code for r in responses[:3]] == [302, 302, 302]
    refused = responses[3].content.decode()
    assert responses[3].status_code == 429
    assert "Too many password reset requests for this address" in refused
    assert "try again in 60 minutes" in refused
    assert all(r.status_code == 429 for r in responses[3:])

    counters()
    assert _reset(client, "alice@acme.test").status_code == 302
    assert len(mail.outbox) == 4


def test_the_reset_limit_answers_the_same_for_an_address_without_an_account(
    client, alice, counters
):
    known = [_reset(client, "alice@acme.test", ip=NEIGHBOUR) for _ in range(4)]
    unknown = [_reset(client, "ghost@acme.test") for _ in range(4)]

    assert [r.status_code for r in known] == [r.status_code for r in unknown]
    assert "for this address" in unknown[3].content.decode()
    assert len(mail.outbox) == 3  # alice's; the ghost has no account to mail


def test_ten_resets_from_one_ip_and_the_eleventh_is_refused(client, alice, counters):
    for n in range(10):
        assert _reset(client, f"someone{n}@example.test").status_code == 302

    refused = _reset(client, "alice@acme.test")

    assert refused.status_code == 429
    assert "Too many password reset requests from your network" in refused.content.decode()
    assert mail.outbox == []
    assert _reset(client, "alice@acme.test", ip=NEIGHBOUR).status_code == 302
    assert len(mail.outbox) == 1


# --- Sign-up --------------------------------------------------------------------------------------


def _signup(client, n, ip=ATTACKER):
    client.logout()
    return client.post(
        reverse("signup"),
        {**SIGNUP, "company": f"Initech {n}", "email": f"founder{n}@initech.test"},
        REMOTE_ADDR=ip,
    )


def test_twenty_signups_from_one_ip_create_five_accounts(client, counters):
    responses = [_signup(client, n) for n in range(20)]

    assert Account.objects.count() == 5
    assert User.objects.count() == 5
    assert [r.status_code for r in responses[:5]] == [302] * 5
    assert all(r.status_code == 429 for r in responses[5:])
    assert (
        "Too many new accounts from your network. Try again in 60 minutes."
        in responses[5].content.decode()
    )
    assert not User.objects.filter(username="founder5@initech.test").exists()

    assert _signup(client, 99, ip=NEIGHBOUR).status_code == 302
    assert Account.objects.count() == 6


def test_a_signup_form_with_mistakes_does_not_use_up_the_limit(client, counters):
    for _ in range(10):
        client.post(reverse("signup"), {**SIGNUP, "email": "not-an-email"}, REMOTE_ADDR=ATTACKER)

    assert _signup(client, 1).status_code == 302


# --- Redis failing ----------------------------------------------------------------------------


def test_a_failing_redis_never_blocks_a_sign_in_and_is_logged_once(client, alice, settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens: connection refused
    caplog.set_level(logging.ERROR, logger="console.throttle")
    throttle._failure_log.reset()

    for n in range(8):
        _login(client, "alice@acme.test", f"guess-{n}")
    response = _login(client, "alice@acme.test", PASSWORD)

    assert _signed_in(response)
    lines = [r for r in caplog.records if r.name == "console.throttle"]
    assert len(lines) == 1
    assert "fail open" in lines[0].getMessage()


def test_normal_use_never_meets_a_limit(client, counters):
    """A developer who mistypes twice, resets, and a colleague who signs up from the same
    office: nobody sees a limit."""
    member = MembershipFactory(user__email="dana@acme.test")
    _login(client, "dana@acme.test", "typo-1")
    _login(client, "dana@acme.test", "typo-2")
    assert _reset(client, "dana@acme.test").status_code == 302
    assert _signed_in(_login(client, member.user.email, PASSWORD))
    assert _signup(client, 1).status_code == 302
