"""The demo account's redemptions (claimed, expired grants, credit balances), and the proof
that developers see counts only: every console page reachable from the demo's dashboard is
rendered and searched for the demo shoppers' emails, names and addresses."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.management import call_command
from django.test import Client

from console.models import Membership
from rewards.models import Claim, CreditEntry, RewardGrant

pytestmark = pytest.mark.django_db

SHOPPER_DATA = ("shoppers.moments.test", "shopper1@", "Demo Shopper", "Demo Street", "Springfield")


@pytest.fixture
def demo(settings) -> dict:
    settings.DEBUG = True
    out = io.StringIO()
    call_command("load_demo_account", "--json", stdout=out)
    return json.loads(out.getvalue())


def _account(demo):
    return Membership.objects.get(user__username=demo["email"]).account


def test_the_demo_has_claimed_returned_and_expired_grants_and_shopper_credit(demo):
    grants = RewardGrant.objects.filter(campaign__account=_account(demo))

    claims = Claim.objects.filter(grant__in=grants, status="claimed")
    returned = Claim.objects.filter(grant__in=grants, status="returned")
    assert claims.filter(kind="product").exists() and claims.filter(kind="credit").exists()
    # A returned product stays its grant's one claim: the grant is not claimable again.
    assert claims.count() + returned.count() == grants.filter(redeemed_at__isnull=False).count()
    assert grants.filter(expired_at__isnull=False, redeemed_at__isnull=True).exists()
    assert (
        CreditEntry.objects.filter(claim__in=claims).count() == claims.filter(kind="credit").count()
    )
    # Each return is a product, credited once with its value.
    assert returned.count() == 3
    assert set(returned.values_list("kind", flat=True)) == {"product"}
    for claim in returned:
        assert list(claim.credit_entries.values_list("reason", "amount")) == [
            ("return", claim.value)
        ]


def test_the_demo_campaign_page_counts_the_returns(demo):
    from django.contrib.auth import get_user_model

    client = Client()
    client.force_login(get_user_model().objects.get(username=demo["email"]))
    page = client.get(f"/campaigns/{demo['live_campaign_id']}/").content.decode()
    # The redemption table's total row: actions, claimed, expired, returned.
    total = re.search(r"Total</th>((?:\s*<td[^>]*>[^<]*</td>){4})", page)
    assert total is not None
    cells = re.findall(r">([^<]*)</td>", total.group(1))
    assert cells[3] == "3"


def _internal_links(html: str) -> set[str]:
    links = set()
    for href in re.findall(r'href="(/[^"#?]*)', html):
        if href.startswith(("/static/", "/media/", "/admin/", "/r/", "/prod/")):
            continue
        links.add(href)
    return links


def test_no_console_page_of_the_demo_shows_any_shopper_data(demo):
    from django.contrib.auth import get_user_model

    client = Client()
    client.force_login(get_user_model().objects.get(username=demo["email"]))
    seen: set[str] = set()
    queue = ["/dashboard/", "/campaigns/"]
    rendered = 0
    while queue and len(seen) < 80:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        rendered += 1
        for private in SHOPPER_DATA:
            assert private not in html, f"{private!r} shown on {path}"
        queue.extend(sorted(_internal_links(html) - seen))

    assert rendered >= 8
    assert any(p.startswith("/campaigns/") and p.count("/") >= 3 for p in seen)
    # The counts are there: the live campaign's page shows claimed rewards.
    live = client.get(f"/campaigns/{demo['live_campaign_id']}/").content.decode()
    assert 'id="stats-redemptions"' in live


def test_the_demo_has_a_flagged_claim_for_the_fraud_queue_with_its_reason_and_links(demo):
    from rewards.redemption.selectors import claim_links

    grants = RewardGrant.objects.filter(campaign__account=_account(demo))
    (flagged,) = Claim.objects.filter(grant__in=grants, status="flagged")

    assert flagged.flag_reason == "4 shopper accounts on this device (the limit is 3)."
    links = claim_links(flagged)
    assert len(links.shoppers) == 4 and all(s.by_device for s in links.shoppers)
    assert len(links.device_history) == 4
    # Not claimed: the grant is still free for the shopper if staff release it.
    assert RewardGrant.objects.get(pk=flagged.grant_id).redeemed_at is None
