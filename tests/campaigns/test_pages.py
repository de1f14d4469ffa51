"""The campaign list (paginated, filtered, drafts resumed or deleted, a fixed number of queries)
and the campaign page with its Rewards API parameters and snippets."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, Moment, RewardGroup
from console.models import ApiKey
from console.services import app_register
from tests.factories import AppFactory, CampaignFactory

from .conftest import make_complete_draft

pytestmark = pytest.mark.django_db

LIST = "/campaigns/"


def test_the_list_shows_name_app_status_start_and_end(alice_client, acme_app):
    campaign = CampaignFactory(app=acme_app, name="Summer Quest", status="pending_approval")
    html = alice_client.get(LIST).content.decode()
    assert "Summer Quest" in html
    assert "Space Miner" in html
    assert '<span class="badge text-bg-warning status-badge">Pending approval</span>' in html
    assert campaign.start_date.strftime("%b %-d, %Y") in html
    assert campaign.end_date.strftime("%b %-d, %Y") in html


def test_the_list_shows_an_approved_campaign_past_its_review_and_start_as_live(
    alice_client, acme_app
):
    # The beat sweep may be a minute late; the developer sees what the API answers.
    CampaignFactory(
        app=acme_app,
        name="Due",
        status="approved",
        submitted_at=timezone.now() - timedelta(days=8),
        start_date=timezone.localdate(),
    )
    html = alice_client.get(LIST).content.decode()
    assert '<span class="badge text-bg-success status-badge">Live</span>' in html


def test_a_rejected_campaign_in_the_list_offers_edit_and_resubmit(alice_client, acme_app):
    rejected = CampaignFactory(app=acme_app, name="Try again", status="rejected")
    html = alice_client.get(LIST).content.decode()
    assert reverse("campaigns:wizard", args=[rejected.campaign_id]) in html
    assert "Edit and resubmit" in html
    assert reverse("campaigns:delete", args=[rejected.campaign_id]) not in html


def test_the_list_shows_only_the_accounts_campaigns(alice_client, acme_app, charlie):
    CampaignFactory(app=AppFactory(account=charlie.membership.account), name="Globex Secret")
    CampaignFactory(app=acme_app, name="Acme Quest")
    html = alice_client.get(LIST).content.decode()
    assert "Acme Quest" in html
    assert "Globex Secret" not in html


def test_the_list_is_paginated_20_a_page(alice_client, acme_app):
    for i in range(45):
        CampaignFactory(app=acme_app, name=f"Campaign {i:02d}")
    first = alice_client.get(LIST)
    assert len(first.context["page"].object_list) == 20
    assert "Page 1 of 3" in first.content.decode()
    last = alice_client.get(LIST, {"page": 3})
    assert len(last.context["page"].object_list) == 5


def test_the_list_filters_by_status(alice_client, acme_app):
    CampaignFactory(app=acme_app, name="A draft", status="draft")
    CampaignFactory(app=acme_app, name="A live one", status="live")
    html = alice_client.get(LIST, {"status": "live"}).content.decode()
    assert "A live one" in html
    assert "A draft" not in html
    assert 'href="?status=draft"' in html
    # An unknown status shows everything rather than an error.
    html = alice_client.get(LIST, {"status": "bogus"}).content.decode()
    assert "A live one" in html and "A draft" in html


def test_the_list_makes_the_same_number_of_queries_with_3_campaigns_and_with_50(
    alice_client, acme_app, django_assert_num_queries
):
    statuses = ["draft", "pending_approval", "live"]
    for i in range(3):
        CampaignFactory(app=AppFactory(account=acme_app.account), status=statuses[i])
    with CaptureQueriesContext(connection) as three:
        assert alice_client.get(LIST).status_code == 200
    for i in range(47):
        CampaignFactory(app=AppFactory(account=acme_app.account), status=statuses[i % 3])
    with django_assert_num_queries(len(three.captured_queries)):
        response = alice_client.get(LIST)
    assert len(response.context["page"].object_list) == 20


def test_a_draft_in_the_list_can_be_resumed_and_deleted(alice_client, acme_app):
    draft = CampaignFactory(app=acme_app, name="Half done", status="draft", wizard_step=4)
    live = CampaignFactory(app=acme_app, name="Running", status="live")
    html = alice_client.get(LIST).content.decode()
    assert reverse("campaigns:wizard", args=[draft.campaign_id]) in html
    assert reverse("campaigns:delete", args=[draft.campaign_id]) in html
    assert reverse("campaigns:wizard", args=[live.campaign_id]) not in html
    assert reverse("campaigns:delete", args=[live.campaign_id]) not in html
    assert 'data-confirm="Delete the draft “Half done”? This cannot be undone."' in html


def test_deleting_a_draft_asks_for_confirmation_then_deletes_it_with_its_rewards(
    alice_client, acme_app, earbuds
):
    draft = make_complete_draft(acme_app, product=earbuds, name="Half done")
    url = reverse("campaigns:delete", args=[draft.campaign_id])
    page = alice_client.get(url)
    assert "Delete the draft “Half done”?" in page.content.decode()
    assert Campaign.objects.filter(pk=draft.pk).exists()
    response = alice_client.post(url, follow=True)
    assert "The draft “Half done” is deleted." in response.content.decode()
    assert not Campaign.objects.filter(pk=draft.pk).exists()
    assert not RewardGroup.objects.exists() and not Moment.objects.exists()


@pytest.mark.parametrize("status", ["pending_approval", "rejected", "live"])
def test_a_campaign_that_is_not_a_draft_cannot_be_deleted(alice_client, acme_app, status):
    campaign = CampaignFactory(app=acme_app, name="Kept", status=status)
    response = alice_client.post(
        reverse("campaigns:delete", args=[campaign.campaign_id]), follow=True
    )
    assert "Only a draft can be deleted; “Kept” is" in response.content.decode()
    assert Campaign.objects.filter(pk=campaign.pk).exists()


def test_deleting_needs_a_post(alice_client, acme_app):
    draft = CampaignFactory(app=acme_app, status="draft")
    alice_client.get(reverse("campaigns:delete", args=[draft.campaign_id]))
    assert Campaign.objects.filter(pk=draft.pk).exists()


# --- The campaign page ---------------------------------------------------------------------------


@pytest.fixture
def submitted(acme, alice, earbuds, de_headphones, settings):
    settings.SITE_URL = "https://console.example.test"
    issued = app_register(
        account=acme,
        actor=alice,
        name="Space Miner",
        platform="ios",
        store_url="https://apps.example.test/space-miner",
    )
    app = issued.api_key.app
    campaign = make_complete_draft(app, product=earbuds, name="Summer Quest")
    group = RewardGroup.objects.create(campaign=campaign, marketplace_id="DE", quantity_limit=50)
    group.products.add(de_headphones)
    Moment.objects.create(campaign=campaign, moment_id="BOSS_DEFEATED", action="Beats the boss")
    Campaign.objects.filter(pk=campaign.pk).update(status="pending_approval")
    campaign.refresh_from_db()
    return campaign


def test_the_campaign_page_shows_the_rewards_api_parameters(alice_client, submitted):
    response = alice_client.get(reverse("campaigns:detail", args=[submitted.campaign_id]))
    html = response.content.decode()
    key = ApiKey.objects.get(app=submitted.app)
    # Identifiers are marked as such (monospace, see .mc-id); other values are plain text.
    assert f'<dd class="col-sm-9 mc-id" id="api-app-id">{submitted.app.app_id}</dd>' in html
    assert f'id="api-campaign-id">{submitted.campaign_id}</dd>' in html
    assert 'id="api-moment-ids">LEVEL_10_COMPLETE, BOSS_DEFEATED</dd>' in html
    assert 'id="api-reward-group-ids">US, DE</dd>' in html
    assert f'<span id="api-key-prefix" class="mc-id">{key.prefix}…</span>' in html
    assert '<span class="badge text-bg-warning status-badge">Pending approval</span>' in html


def test_the_snippets_call_the_api_with_the_campaigns_real_ids(alice_client, submitted):
    response = alice_client.get(reverse("campaigns:detail", args=[submitted.campaign_id]))
    api = response.context["api"]
    body = {
        "appId": str(submitted.app.app_id),
        "momentId": "LEVEL_10_COMPLETE",
        "deviceType": "iOS",
        "campaignId": str(submitted.campaign_id),
        "rewardGroupId": "US",
    }
    assert "-X POST 'https://console.example.test/prod/GetRewardInfo'" in api.curl
    assert "-X POST 'https://console.example.test/prod/GetReward'" in api.curl
    assert "-H 'x-api-key: <your API key>'" in api.curl
    assert f"-d '{json.dumps(body)}'" in api.curl
    assert 'BASE_URL = "https://console.example.test/prod"' in api.python
    assert 'HEADERS = {"x-api-key": "<your API key>"}' in api.python
    for field, value in body.items():
        assert f'"{field}": "{value}",' in api.python
    # The Python snippet is real Python.
    compile(api.python, "snippet.py", "exec")
    assert "{% connected_content https://console.example.test/prod/GetReward" in api.braze
    assert '"x-api-key": "<your API key>"' in api.braze
    assert (
        f":body appId={submitted.app.app_id}&momentId=LEVEL_10_COMPLETE&deviceType=iOS"
        f"&campaignId={submitted.campaign_id}&rewardGroupId=US" in api.braze
    )
    html = response.content.decode()
    assert "{% connected_content https://console.example.test/prod/GetReward" in html
    assert "appId=" in html and "&amp;momentId=LEVEL_10_COMPLETE" in html


def test_the_campaign_page_shows_rewards_per_marketplace_moments_messages_and_banner(
    alice_client, submitted
):
    html = alice_client.get(reverse("campaigns:detail", args=[submitted.campaign_id])).content
    html = html.decode()
    for text in (
        "Wireless Earbuds",
        "Kopfhörer",
        "United States",
        "Germany",
        "BOSS_DEFEATED</code> — Beats the boss",
        "Finish level 10 and win a pair of earbuds!",
        "Congratulations! Claim your earbuds.",
        submitted.banner.url,
        'id="campaign-lifecycle"',
    ):
        assert text in html, text


def test_a_rotated_key_shows_the_new_keys_prefix(alice_client, submitted, alice):
    from console.services import api_key_rotate

    new = api_key_rotate(app=submitted.app, actor=alice)
    html = alice_client.get(reverse("campaigns:detail", args=[submitted.campaign_id])).content
    assert f'<span id="api-key-prefix" class="mc-id">{new.api_key.prefix}…</span>' in html.decode()


def test_a_drafts_page_offers_to_continue_and_says_what_is_missing(
    alice_client, acme_app, draft_at
):
    draft = draft_at(4)
    html = alice_client.get(reverse("campaigns:detail", args=[draft.campaign_id])).content
    html = html.decode()
    assert reverse("campaigns:wizard", args=[draft.campaign_id]) in html
    assert "Choose at least one marketplace." in html


def test_the_campaign_page_makes_the_same_number_of_queries_with_1_and_5_moments(
    alice_client, submitted, django_assert_max_num_queries
):
    url = reverse("campaigns:detail", args=[submitted.campaign_id])
    with CaptureQueriesContext(connection) as before:
        alice_client.get(url)
    for i in range(5):
        Moment.objects.create(campaign=submitted, moment_id=f"EXTRA_{i}", action="More")
    with django_assert_max_num_queries(len(before.captured_queries)):
        alice_client.get(url)


def test_the_campaign_page_makes_the_same_number_of_queries_whatever_its_moments_and_groups(
    alice_client, submitted, django_assert_num_queries
):
    # The history and results cards are read by the view's selectors (their template tags
    # only render), so the page's queries do not grow with the campaign's rows.
    url = reverse("campaigns:detail", args=[submitted.campaign_id])
    with CaptureQueriesContext(connection) as few:
        response = alice_client.get(url)
    assert response.context["stats"]["campaign"] == submitted
    assert response.context["lifecycle"]["status"] == "pending_approval"
    for n in range(6):
        Moment.objects.create(campaign=submitted, moment_id=f"EXTRA_{n}", action=f"Extra {n}")
    for code in ["FR", "IT", "ES"]:
        RewardGroup.objects.create(campaign=submitted, marketplace_id=code, quantity_limit=5)
    with django_assert_num_queries(len(few.captured_queries)):
        html = alice_client.get(url).content.decode()
    assert "EXTRA_5" in html


def test_an_approved_campaigns_page_links_one_preview_per_reward_group(alice_client, acme_app):
    from tests.rewards.redemption_helpers import us_de_jp_preview_campaign

    campaign = us_de_jp_preview_campaign(app=acme_app)
    preview = reverse("rewards:test_reward_page", args=[campaign.campaign_id])

    html = alice_client.get(reverse("campaigns:detail", args=[campaign.campaign_id])).content
    html = html.decode()

    links = [f'href="{preview}?group={code}"' for code in ("US", "DE", "JP")]
    assert all(html.count(link) == 1 for link in links)
    assert html.index(links[0]) < html.index(links[1]) < html.index(links[2])
    assert 'id="test-previews"' in html


def test_a_live_campaigns_page_offers_no_preview(alice_client, acme_app):
    from tests.rewards.redemption_helpers import reward_campaign

    campaign = reward_campaign(app=acme_app)

    html = alice_client.get(reverse("campaigns:detail", args=[campaign.campaign_id])).content

    assert b'id="test-previews"' not in html
    assert reverse("rewards:test_reward_page", args=[campaign.campaign_id]).encode() not in html


def test_an_outsider_cannot_open_another_accounts_campaign_page_or_its_preview_links(
    charlie_client, acme_app
):
    from tests.rewards.redemption_helpers import us_de_jp_preview_campaign

    campaign = us_de_jp_preview_campaign(app=acme_app)

    response = charlie_client.get(reverse("campaigns:detail", args=[campaign.campaign_id]))

    assert response.status_code == 404
    assert reverse("rewards:test_reward_page", args=[campaign.campaign_id]).encode() not in (
        response.content
    )
