"""Shopper accounts: separate from developer accounts, signed in on their own session key,
back to the reward page after signing in, a one-hour password reset link."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from console.redis import redis_reset
from rewards.models import Shopper
from rewards.redemption.services import ShopperError, shopper_sign_up

from .redemption_helpers import (
    SHOPPER_PASSWORD,
    grant_for,
    make_shopper,
    reward_campaign,
    sign_in,
)

pytestmark = pytest.mark.django_db


def test_signing_up_from_a_reward_page_returns_to_it_signed_in(client):
    grant = grant_for(reward_campaign())
    page = f"/r/{grant.token}/"

    response = client.post(
        f"/r/account/signup/?next={page}",
        {"email": "New.Shopper@Example.TEST", "password": SHOPPER_PASSWORD, "next": page},
    )

    assert response.status_code == 302 and response.url == page
    assert Shopper.objects.get().email == "new.shopper@example.test"
    assert 'id="signin-prompt"' not in client.get(page).content.decode()


def test_an_email_is_one_account_whatever_its_case():
    make_shopper("dana@shopper.test")

    with pytest.raises(ShopperError, match="already exists"):
        shopper_sign_up(email="DANA@Shopper.test", password=SHOPPER_PASSWORD)


def test_a_weak_password_is_refused_with_the_validators_reason(client):
    response = client.post("/r/account/signup/", {"email": "x@shopper.test", "password": "123"})

    assert "too short" in response.content.decode()
    assert not Shopper.objects.exists()


def test_a_wrong_password_says_so_and_signs_nobody_in(client):
    make_shopper()

    response = client.post(
        "/r/account/signin/", {"email": "dana@shopper.test", "password": "wrong-password-1"}
    )

    assert "do not match an account" in response.content.decode()
    assert client.get("/r/me/").status_code == 302


def test_sign_in_ignores_a_next_url_on_another_site(client):
    shopper = make_shopper()

    response = client.post(
        "/r/account/signin/",
        {"email": shopper.email, "password": SHOPPER_PASSWORD, "next": "https://evil.test/"},
    )

    assert response.url == "/r/me/"


def test_signing_in_gives_a_new_session_key(client):
    shopper = make_shopper()
    client.get("/r/account/signin/")
    client.session.save()
    before = client.session.session_key

    sign_in(client, shopper)

    assert client.session.session_key != before


def test_a_shopper_session_never_opens_the_console(client):
    sign_in(client, make_shopper())

    response = client.get("/dashboard/")

    assert response.status_code == 302 and response.url.startswith("/login/")


def test_a_developer_session_is_not_a_shopper(alice_client):
    response = alice_client.get("/r/me/")

    assert response.status_code == 302 and response.url.startswith("/r/account/signin/")


def test_signing_out_ends_the_shopper_session(client):
    sign_in(client, make_shopper())

    client.post("/r/account/signout/")

    assert client.get("/r/me/").status_code == 302


def _reset_link(client, email: str) -> str:
    client.post("/r/account/reset/", {"email": email})
    return re.search(r"http://testserver(/r/account/reset/\S+/)", mail.outbox[-1].body).group(1)


def test_a_password_reset_link_sets_a_new_password_once(client):
    shopper = make_shopper()
    link = _reset_link(client, shopper.email)

    response = client.post(link, {"password": "another-long-secret-88"})
    again = client.post(link, {"password": "yet-another-secret-99"})

    assert response.status_code == 302
    assert Shopper.objects.get().check_password("another-long-secret-88")
    assert "expired or was already used" in again.content.decode()


def test_a_password_reset_link_stops_working_after_an_hour(client):
    shopper = make_shopper()
    link = _reset_link(client, shopper.email)

    with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=5)):
        response = client.post(link, {"password": "another-long-secret-88"})

    assert "expired or was already used" in response.content.decode()
    assert Shopper.objects.get().check_password(SHOPPER_PASSWORD)


def test_a_reset_for_an_unknown_address_says_the_same_and_sends_nothing(client):
    response = client.post("/r/account/reset/", {"email": "nobody@shopper.test"})

    assert 'id="reset-sent"' in response.content.decode()
    assert mail.outbox == []


def test_a_password_reset_signs_out_the_other_sessions(client, django_user_model):
    from django.test import Client

    shopper = make_shopper()
    other = Client()
    sign_in(other, shopper)
    link = _reset_link(client, shopper.email)

    client.post(link, {"password": "another-long-secret-88"})

    assert other.get("/r/me/").status_code == 302


def test_too_many_failed_sign_ins_are_refused_for_a_while(client, settings):
    settings.THROTTLE_LOGIN_ACCOUNT_FAILURES = 2
    settings.REDIS_SOCKET_TIMEOUT = 2.0  # a loaded machine must not make the limit fail open
    redis_reset()  # this process's client is built again with that timeout
    shopper = make_shopper()
    for _ in range(2):
        client.post("/r/account/signin/", {"email": shopper.email, "password": "nope-nope-1"})

    response = client.post(
        "/r/account/signin/", {"email": shopper.email, "password": SHOPPER_PASSWORD}
    )

    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
