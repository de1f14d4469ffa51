"""The fraud desk (issue 20, items 3 and 5): flagged claims in one queue that the Support group
works, each with why it was flagged, its linked shoppers and the device's history; release or
block one or many, each decision in the activity log and emailed to the shopper."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from console.models import ActivityEntry
from rewards.models import Claim, ClaimReview, RewardGrant
from rewards.redemption.fraud import claim_release
from rewards.redemption.services import reward_claim

from ..campaigns.lifecycle_helpers import staff_group
from ..factories import UserFactory
from .redemption_helpers import flagged_claim, reward_campaign

pytestmark = pytest.mark.django_db

QUEUE = "admin:rewards_claim_changelist"


@pytest.fixture
def support():
    user = UserFactory(email="sue@moments.test", is_staff=True)
    user.groups.add(staff_group("Support"))
    return user


@pytest.fixture
def support_client(support):
    client = Client()
    client.force_login(support)
    return client


@pytest.fixture
def campaign():
    return reward_campaign(name="Space Miner Summer")


def _flag(campaign, email: str = "fourth@shopper.test", *, device: str = "phone-1") -> Claim:
    return flagged_claim(campaign, email, device=device)


def test_the_reason_is_stored_when_a_claim_is_flagged(campaign):
    flagged = _flag(campaign)

    assert flagged.flag_reason == "4 shopper accounts on this device (the limit is 3)."


def test_support_staff_see_the_queue_with_the_shopper_campaign_and_reason_not_ids(
    support_client, campaign
):
    flagged = _flag(campaign)

    response = support_client.get(reverse(QUEUE))

    assert response.status_code == 200
    assert [c.pk for c in response.context["cl"].result_list] == [flagged.pk]  # only flagged
    page = response.content.decode()
    assert "fourth@shopper.test" in page
    assert "Space Miner Summer · Educational Toys credit" in page
    assert "4 shopper accounts on this device (the limit is 3)." in page
    assert not re.search(r"Shopper \d|Grant \d+ of \d", page)  # no row ids as names
    assert 'value="release"' in page and 'value="block"' in page


def test_the_queue_costs_the_same_queries_for_one_flagged_claim_or_three(
    support_client, campaign, django_assert_max_num_queries
):
    _flag(campaign, device="phone-1")
    support_client.get(reverse(QUEUE))  # warm the session and the content types
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        support_client.get(reverse(QUEUE))
    _flag(campaign, "fifth@shopper.test", device="phone-2")
    _flag(campaign, "sixth@shopper.test", device="phone-3")

    with django_assert_max_num_queries(len(one)):
        response = support_client.get(reverse(QUEUE))
    assert response.context["cl"].result_count == 3


def test_a_flagged_claims_page_shows_its_linked_shoppers_and_device_history(
    support_client, campaign
):
    flagged = _flag(campaign)

    page = support_client.get(reverse("admin:rewards_claim_change", args=[flagged.pk]))

    html = page.content.decode()
    assert 'id="linked-shoppers"' in html and "Linked shoppers (4)" in html
    for n in range(3):
        assert f"phone-1-player{n}@shopper.test" in html
    assert "same device" in html
    assert "Device history (4)" in html
    assert "198.51.100.7" in html
    assert 'id="release-claim"' in html and 'id="block-claim"' in html


def test_releasing_two_claims_at_once_records_each_emails_each_and_they_read_released(
    support, support_client, campaign, django_capture_on_commit_callbacks
):
    first = _flag(campaign, "fourth@shopper.test", device="phone-1")
    second = _flag(campaign, "fifth@shopper.test", device="phone-2")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        support_client.post(
            reverse(QUEUE), {"action": "release", "_selected_action": [first.pk, second.pk]}
        )

    for claim in (first, second):
        claim.refresh_from_db()
        assert claim.status == "released"
        assert ClaimReview.objects.get(claim=claim).actor == support
        entry = ActivityEntry.objects.get(action="claim.released", object_id=str(claim.pk))
        assert entry.actor == support
        assert entry.account_id == campaign.app.account_id
    emails = {m.to[0]: m for m in mail.outbox}
    assert set(emails) == {"fourth@shopper.test", "fifth@shopper.test"}
    assert emails["fourth@shopper.test"].subject == "You can claim your reward now"
    assert f"/r/{first.grant.token}/" in emails["fourth@shopper.test"].body

    decided = support_client.get(reverse(QUEUE) + "?review=decided").content.decode()
    rows = decided.split('id="result_list"')[1].split("</table>")[0]
    assert rows.count("Released by sue@moments.test") == 2
    assert "Flagged for review" not in rows
    # The released shopper claims at last.
    claimed = reward_claim(
        grant=first.grant,
        shopper=first.shopper,
        catalog_credit=first.catalog_credit,
        device_id="phone-1",
        ip=None,
    )
    assert claimed.status == "claimed"


def test_blocking_from_the_claims_page_blocks_the_grant_records_and_tells_the_shopper(
    support, support_client, campaign, django_capture_on_commit_callbacks
):
    flagged = _flag(campaign)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = support_client.post(reverse("admin:rewards_claim_block", args=[flagged.pk]))

    assert response.status_code == 302
    flagged.refresh_from_db()
    assert flagged.status == "blocked"
    assert RewardGrant.objects.get(pk=flagged.grant_id).blocked
    entry = ActivityEntry.objects.get(action="claim.blocked", object_id=str(flagged.pk))
    assert (entry.actor, entry.data["flag_reason"]) == (support, flagged.flag_reason)
    (email,) = mail.outbox
    assert email.to == ["fourth@shopper.test"]
    assert "cannot give you this reward" in email.body


@pytest.mark.parametrize("group", ["Reviewers", "Finance"])
def test_reviewers_and_finance_cannot_open_the_fraud_queue(client, group, campaign):
    user = UserFactory(email=f"{group.lower()}@moments.test", is_staff=True)
    user.groups.add(staff_group(group))
    client.force_login(user)

    assert client.get(reverse(QUEUE)).status_code == 403


def test_staff_without_the_review_permission_cannot_release(campaign):
    flagged = _flag(campaign)
    finance = UserFactory(email="fred@moments.test", is_staff=True)
    finance.groups.add(staff_group("Finance"))

    with pytest.raises(PermissionDenied):
        claim_release(claim=flagged, actor=finance)

    flagged.refresh_from_db()
    assert flagged.status == "flagged"
    assert not ActivityEntry.objects.filter(action="claim.released").exists()


def test_a_decided_claim_shows_no_release_or_block_button(support, support_client, campaign):
    flagged = _flag(campaign)
    claim_release(claim=flagged, actor=support)

    html = support_client.get(
        reverse("admin:rewards_claim_change", args=[flagged.pk])
    ).content.decode()

    assert 'id="release-claim"' not in html and 'id="block-claim"' not in html
    assert "Released by sue@moments.test" in html


@pytest.mark.django_db(transaction=True)
def test_a_release_and_a_block_at_once_decide_the_claim_once(postgres, support):
    from rewards.redemption.fraud import ReviewRefused, claim_block

    from .redemption_helpers import at_once

    flagged = _flag(reward_campaign(name="Space Miner Summer"))

    def decide(service):
        def call():
            try:
                return service(claim=flagged, actor=support)
            except ReviewRefused as exc:
                return exc

        return call

    results = at_once([decide(claim_release), decide(claim_block)])

    assert sum(isinstance(r, ReviewRefused) for r in results) == 1
    assert ClaimReview.objects.filter(claim=flagged).count() == 1
    decision = ClaimReview.objects.get(claim=flagged).decision
    flagged.refresh_from_db()
    assert flagged.status == {"release": "released", "block": "blocked"}[decision]
    assert RewardGrant.objects.get(pk=flagged.grant_id).blocked == (decision == "block")
    assert ActivityEntry.objects.filter(object_id=str(flagged.pk)).count() == 1
