"""The abuse limits and the fraud rule under real concurrency (issue 17), on PostgreSQL: every
request in its own thread, with its own client and database connection, released at once by a
barrier. One at a time these limits held before; at once they let 18 to 20 sign-ups through.

The abuse limits run on both of their counters (`counters`: real Redis, then the embedded
mode's file cache)."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from console.models import Account
from rewards.models import Claim, Shopper
from rewards.redemption.services import ClaimRefused, ShippingAddress, reward_claim

from ..conftest import PASSWORD
from .redemption_helpers import (
    SHOPPER_PASSWORD,
    at_once,
    grant_for,
    make_shopper,
    reward_campaign,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ONE_IP = "203.0.113.66"


class _Counted:
    """Counts the calls of a real method (the password checks), thread-safely, and calls it."""

    def __init__(self, monkeypatch, cls, name: str):
        self.calls = 0
        lock = threading.Lock()
        real = getattr(cls, name)

        def counted(instance, *args, **kwargs):
            with lock:
                self.calls += 1
            return real(instance, *args, **kwargs)

        monkeypatch.setattr(cls, name, counted)


# --- Shoppers ---------------------------------------------------------------------------------


def test_20_shopper_sign_ups_at_once_from_one_ip_create_exactly_5_accounts(postgres, counters):
    def sign_up(n: int):
        return Client().post(
            "/r/account/signup/",
            {"email": f"racer{n}@shopper.test", "password": SHOPPER_PASSWORD},
            REMOTE_ADDR=ONE_IP,
        )

    responses = at_once([lambda n=n: sign_up(n) for n in range(20)])

    assert Shopper.objects.count() == 5
    assert sorted(r.status_code for r in responses) == [302] * 5 + [429] * 15
    assert all("Too many attempts" in r.content.decode() for r in responses if r.status_code == 429)
    # Another network is not held back by this one.
    other = Client().post(
        "/r/account/signup/",
        {"email": "neighbour@shopper.test", "password": SHOPPER_PASSWORD},
        REMOTE_ADDR="198.51.100.7",
    )
    assert other.status_code == 302


def test_50_wrong_passwords_at_once_for_one_shopper_check_at_most_5(
    postgres, counters, monkeypatch
):
    shopper = make_shopper("target@shopper.test")
    checks = _Counted(monkeypatch, Shopper, "check_password")

    def guess(n: int):
        return Client().post(
            "/r/account/signin/",
            {"email": shopper.email, "password": f"guess-number-{n}"},
            REMOTE_ADDR=f"198.51.100.{n % 25 + 1}",
        )

    # 50 guesses through 25 threads: two waves of 25 at once.
    responses = at_once([lambda n=n: guess(n) for n in range(50)], threads=25)

    assert checks.calls <= 5
    assert sum(r.status_code == 429 for r in responses) >= 45
    # The limit is the account's: even the right password is refused now.
    right = Client().post(
        "/r/account/signin/",
        {"email": shopper.email, "password": SHOPPER_PASSWORD},
        REMOTE_ADDR="192.0.2.1",
    )
    assert right.status_code == 429


# --- Developers: the console's forms share the same helper ---------------------------------------


def test_20_console_sign_ups_at_once_from_one_ip_create_exactly_5_accounts(postgres, counters):
    def sign_up(n: int):
        return Client().post(
            reverse("signup"),
            {
                "company": f"Initech {n}",
                "email": f"founder{n}@initech.test",
                "country": "US",
                "billing_address": "1 Initech Way\nAustin, TX",
                "password": PASSWORD,
            },
            REMOTE_ADDR=ONE_IP,
        )

    responses = at_once([lambda n=n: sign_up(n) for n in range(20)])

    assert Account.objects.count() == 5
    assert get_user_model().objects.count() == 5
    assert sorted(r.status_code for r in responses) == [302] * 5 + [429] * 15


def test_30_wrong_passwords_at_once_for_one_developer_check_at_most_5(
    postgres, counters, monkeypatch, alice
):
    checks = _Counted(monkeypatch, get_user_model(), "check_password")

    def guess(n: int):
        return Client().post(
            reverse("login"),
            {"username": "alice@acme.test", "password": f"guess-number-{n}"},
            REMOTE_ADDR=f"198.51.100.{n + 1}",
        )

    responses = at_once([lambda n=n: guess(n) for n in range(30)])

    assert checks.calls <= 5
    assert sum(r.status_code == 429 for r in responses) >= 25
    assert all(
        "Too many failed sign-ins for this account" in r.content.decode()
        for r in responses
        if r.status_code == 429
    )


# --- The fraud rule (FRAUD_MAX_LINKED_ACCOUNTS = 3) -------------------------------------------


def _claimsat_once(*, device_ids: list[str], addresses: list[ShippingAddress | None]) -> list:
    """One new shopper per claim, each with a grant of their own, all claiming at once."""
    campaign = reward_campaign()
    product = campaign.reward_groups.get().products.first()
    runs = []
    for n, (device_id, address) in enumerate(zip(device_ids, addresses, strict=True)):
        shopper = make_shopper(f"linked{n}@shopper.test")
        grant = grant_for(campaign)
        runs.append(
            lambda g=grant, s=shopper, d=device_id, a=address: reward_claim(
                grant=g,
                shopper=s,
                product=product if a else None,
                catalog_credit=None if a else campaign.reward_groups.get().discount_category,
                address=a,
                device_id=d,
                ip="203.0.113.9",
            )
        )
    return at_once(runs)


def test_6_new_shoppers_on_one_device_claiming_at_once_let_3_through_and_flag_3(postgres, settings):
    settings.FRAUD_MAX_LINKED_ACCOUNTS = 3

    outcomes = _claimsat_once(device_ids=["one-shared-device"] * 6, addresses=[None] * 6)

    assert sum(isinstance(o, Claim) for o in outcomes) == 3
    assert [o.code for o in outcomes if isinstance(o, ClaimRefused)] == ["flagged"] * 3
    assert Claim.objects.filter(status="claimed").count() == 3
    assert Claim.objects.filter(status="flagged").count() == 3


SIX_SPELLINGS = [
    ("12 Elm Street", "Springfield", "12345"),
    ("12 elm st.", "springfield", "12345"),
    ("12, ELM STREET", "SPRINGFIELD", "12345"),
    ("  12   Elm    St  ", " Springfield ", "12 345"),
    ("No. 12 Elm St", "Springfield", "12345-6789"),
    ("12-Elm-Street", "Springfield.", "12345"),
]


def test_6_claims_to_one_address_spelled_6_ways_at_once_let_3_through_and_flag_3(
    postgres, settings
):
    settings.FRAUD_MAX_LINKED_ACCOUNTS = 3
    addresses = [
        ShippingAddress(f"Shopper {n}", line1, "", city, postcode, "US")
        for n, (line1, city, postcode) in enumerate(SIX_SPELLINGS)
    ]

    # Six devices: only the address links them.
    outcomes = _claimsat_once(device_ids=[f"device-{n}" for n in range(6)], addresses=addresses)

    assert sum(isinstance(o, Claim) for o in outcomes) == 3
    assert [o.code for o in outcomes if isinstance(o, ClaimRefused)] == ["flagged"] * 3
    assert Claim.objects.filter(status="flagged").count() == 3
    assert len(set(Claim.objects.values_list("address_normalised", flat=True))) == 1
