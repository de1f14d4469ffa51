"""Another account's campaigns and drafts are a 404 at every step of the wizard and on every
page and action; nothing of theirs changes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns.models import Campaign

from .conftest import image_bytes, make_complete_draft, step_url, upload

pytestmark = pytest.mark.django_db


def every_url(campaign: Campaign) -> list[str]:
    cid = campaign.campaign_id
    return [
        reverse("campaigns:detail", args=[cid]),
        reverse("campaigns:wizard", args=[cid]),
        reverse("campaigns:delete", args=[cid]),
        *[step_url(campaign, step) for step in range(1, 8)],
    ]


POSTS = {
    1: {"app": ""},
    2: {"name": "Stolen", "start_date": "2099-01-01", "end_date": "2099-02-01"},
    3: {"total_budget": "5000", "cpa": "40"},
    4: {"marketplaces": ["DE"]},
    5: {"moments-TOTAL_FORMS": "0", "moments-INITIAL_FORMS": "0"},
    6: {"announcement_message": "Stolen", "redemption_message": "x", "terms": "y"},
    7: {},
}


@pytest.mark.parametrize("status", ["draft", "rejected", "pending_approval", "live"])
def test_another_accounts_campaign_is_a_404_on_every_page_and_step(
    charlie_client, acme_app, earbuds, status
):
    campaign = make_complete_draft(acme_app, product=earbuds, name="Acme Secret", status=status)
    for url in every_url(campaign):
        response = charlie_client.get(url)
        assert response.status_code == 404, url
        assert "Acme Secret" not in response.content.decode()


def test_another_accounts_draft_is_a_404_to_every_post_and_stays_unchanged(
    charlie_client, acme_app, earbuds, charlie
):
    campaign = make_complete_draft(acme_app, product=earbuds, name="Acme Secret")
    charlie_app = charlie.membership.account.apps.create(
        name="Globex Racer", platform="web", store_url="https://globex.test"
    )
    posts = {**POSTS, 1: {"app": charlie_app.pk}}
    for step, data in posts.items():
        if step == 6:
            data = {**data, "banner": upload("b.png", image_bytes())}
        assert charlie_client.post(step_url(campaign, step), data).status_code == 404, step
    url = reverse("campaigns:delete", args=[campaign.campaign_id])
    assert charlie_client.post(url).status_code == 404
    campaign.refresh_from_db()
    assert (campaign.name, campaign.status, campaign.app) == ("Acme Secret", "draft", acme_app)
    assert list(campaign.reward_groups.values_list("marketplace_id", flat=True)) == ["US"]


def test_a_teammate_sees_and_edits_the_accounts_drafts(client, bob, acme_app, earbuds):
    campaign = make_complete_draft(acme_app, product=earbuds, name="Acme Quest")
    client.force_login(bob)
    resume = reverse("campaigns:wizard", args=[campaign.campaign_id])
    for url in every_url(campaign):
        response = client.get(url)
        if url == resume:
            assert (response.status_code, response["Location"]) == (302, step_url(campaign, 7))
        else:
            assert response.status_code == 200, url
            assert "Acme Quest" in response.content.decode(), url

    response = client.post(step_url(campaign, 3), {"total_budget": "2000", "cpa": "40"})
    assert (response.status_code, response["Location"]) == (302, step_url(campaign, 4))
    campaign.refresh_from_db()
    assert (campaign.total_budget, campaign.cpa) == (Decimal("2000"), Decimal("40"))


def test_pages_need_a_signed_in_member(client, acme_app, earbuds):
    campaign = make_complete_draft(acme_app, product=earbuds)
    for url in [reverse("campaigns:list"), reverse("campaigns:create"), *every_url(campaign)]:
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url
