"""The "Duplicate as a new draft" button: a submitted campaign cannot be edited (SPEC §6), so
a developer changes one by copying it into a new draft that opens in the wizard."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, Moment, RewardGroup
from campaigns.services.wizard import campaign_duplicate, campaign_problems
from console.models import ActivityEntry
from tests.factories import AppFactory, CampaignFactory

from .conftest import future, image_bytes, make_complete_draft, step_url

pytestmark = pytest.mark.django_db


def duplicate_url(campaign: Campaign) -> str:
    return reverse("campaigns:duplicate", args=[campaign.campaign_id])


def detail_url(campaign: Campaign) -> str:
    return reverse("campaigns:detail", args=[campaign.campaign_id])


@pytest.fixture
def live_campaign(acme_app, earbuds, toys_credit, de_headphones):
    """A live campaign with two marketplaces (a discount category and a quantity limit in
    one), two moments and a banner, that started ten days ago."""
    campaign = make_complete_draft(
        acme_app,
        product=earbuds,
        name="Summer Quest",
        start_date=future(-10),
        end_date=future(20),
        total_budget=Decimal("2000.0000"),
        cpa=Decimal("27.5000"),
    )
    us = campaign.reward_groups.get(marketplace_id="US")
    us.discount_category = toys_credit
    us.quantity_limit = 300
    us.granted = 12
    us.save()
    de = RewardGroup.objects.create(campaign=campaign, marketplace_id="DE")
    de.products.add(de_headphones)
    Moment.objects.create(campaign=campaign, moment_id="BOSS_DEFEATED", action="Beats the boss")
    Campaign.objects.filter(pk=campaign.pk).update(
        status="live",
        submitted_at=timezone.now() - timedelta(days=20),
        spent=Decimal("330.0000"),
    )
    campaign.refresh_from_db()
    return campaign


def test_the_copy_is_a_draft_with_everything_of_the_original(live_campaign, bob, earbuds):
    copy = campaign_duplicate(campaign=live_campaign, actor=bob)

    assert copy.pk != live_campaign.pk
    assert (copy.status, copy.account, copy.app, copy.created_by) == (
        "draft",
        live_campaign.account,
        live_campaign.app,
        bob,
    )
    assert copy.name == "Summer Quest (copy)"
    assert (copy.total_budget, copy.cpa, copy.spent) == (
        Decimal("2000.0000"),
        Decimal("27.5000"),
        Decimal("0"),
    )
    for field in ("announcement_message", "announcement_criteria", "redemption_message", "terms"):
        assert getattr(copy, field) == getattr(live_campaign, field)
    groups = {g.marketplace_id: g for g in copy.reward_groups.all()}
    assert sorted(groups) == ["DE", "US"]
    assert list(groups["US"].products.all()) == [earbuds]
    assert (groups["US"].discount_category, groups["US"].quantity_limit) == (
        live_campaign.reward_groups.get(marketplace_id="US").discount_category,
        300,
    )
    assert groups["US"].granted == 0
    assert [p.title for p in groups["DE"].products.all()] == ["Kopfhörer"]
    assert list(copy.moments.values_list("moment_id", "action")) == [
        ("LEVEL_10_COMPLETE", "Completes level 10"),
        ("BOSS_DEFEATED", "Beats the boss"),
    ]
    # Nothing of the original's history: no review, no spend, nothing handed out.
    assert (copy.submitted_at, copy.goes_live_at, copy.rejection_reason) == (None, None, "")
    # The original is untouched.
    assert live_campaign.reward_groups.get(marketplace_id="US").granted == 12
    assert live_campaign.moments.count() == 2


def test_the_copy_has_its_own_banner_file_with_the_same_image(live_campaign, alice):
    copy = campaign_duplicate(campaign=live_campaign, actor=alice)

    assert copy.banner.name != live_campaign.banner.name
    assert copy.campaign_id.hex in copy.banner.name
    with copy.banner.open("rb") as handle:
        assert handle.read() == image_bytes()
    # Replacing the original's banner later must not break the copy's.
    live_campaign.banner.storage.delete(live_campaign.banner.name)
    assert copy.banner.storage.exists(copy.banner.name)


@time_machine.travel("2026-06-15 10:00Z", tick=False)
def test_dates_in_the_past_move_to_today_keeping_the_duration(acme_app, alice):
    original = CampaignFactory(
        app=acme_app, status="finished", start_date=date(2026, 5, 1), end_date=date(2026, 5, 31)
    )
    copy = campaign_duplicate(campaign=original, actor=alice)
    assert (copy.start_date, copy.end_date) == (date(2026, 6, 15), date(2026, 7, 15))


def test_future_dates_are_kept(acme_app, alice):
    original = CampaignFactory(app=acme_app, start_date=future(9), end_date=future(40))
    copy = campaign_duplicate(campaign=original, actor=alice)
    assert (copy.start_date, copy.end_date) == (future(9), future(40))


def test_a_complete_campaign_copies_into_a_draft_ready_for_review(live_campaign, alice):
    copy = campaign_duplicate(campaign=live_campaign, actor=alice)
    assert copy.wizard_step == 7
    assert campaign_problems(copy) == []


def test_the_copy_name_is_made_unique_in_the_account_whatever_its_case(acme_app, alice):
    original = CampaignFactory(app=acme_app, name="Summer Quest")
    CampaignFactory(app=acme_app, name="summer quest (COPY)")

    second = campaign_duplicate(campaign=original, actor=alice)
    third = campaign_duplicate(campaign=original, actor=alice)

    assert (second.name, third.name) == ("Summer Quest (copy 2)", "Summer Quest (copy 3)")


def test_a_copy_of_a_long_name_still_fits_the_name_column(acme_app, alice):
    original = CampaignFactory(app=acme_app, name="A" * 120)
    copy = campaign_duplicate(campaign=original, actor=alice)
    assert copy.name == "A" * 113 + " (copy)"
    assert len(copy.name) == 120


def test_another_accounts_name_does_not_count(acme_app, alice, charlie):
    CampaignFactory(app=AppFactory(account=charlie.membership.account), name="Summer Quest (copy)")
    original = CampaignFactory(app=acme_app, name="Summer Quest")
    assert campaign_duplicate(campaign=original, actor=alice).name == "Summer Quest (copy)"


def test_a_draft_still_at_step_2_gets_its_own_placeholder_name(draft_at, alice):
    original = draft_at(2)
    copy = campaign_duplicate(campaign=original, actor=alice)
    assert copy.name.startswith("Untitled campaign ")
    assert copy.name != original.name
    assert (copy.wizard_step, copy.start_date) == (2, None)


def test_duplicating_writes_an_activity_row(live_campaign, bob):
    copy = campaign_duplicate(campaign=live_campaign, actor=bob)
    entry = ActivityEntry.objects.get(action="campaign.duplicated")
    assert (entry.account_id, entry.actor, entry.object_id) == (
        live_campaign.account_id,
        bob,
        str(copy.pk),
    )
    assert entry.data["source_campaign_id"] == str(live_campaign.campaign_id)


# --- The page and the button ----------------------------------------------------------------


@pytest.mark.parametrize(
    "status", ["pending_approval", "approved", "live", "finished", "suspended"]
)
def test_a_submitted_campaigns_page_offers_duplicating_and_says_why(
    alice_client, live_campaign, status
):
    Campaign.objects.filter(pk=live_campaign.pk).update(status=status)
    html = alice_client.get(detail_url(live_campaign)).content.decode()
    assert f'action="{duplicate_url(live_campaign)}"' in html
    assert "Duplicate as a new draft" in html
    assert "A change means a new campaign" in html


@pytest.mark.parametrize("status", ["draft", "rejected"])
def test_an_editable_campaigns_page_offers_duplicating_without_the_warning(
    alice_client, live_campaign, status
):
    Campaign.objects.filter(pk=live_campaign.pk).update(status=status)
    html = alice_client.get(detail_url(live_campaign)).content.decode()
    assert "Duplicate as a new draft" in html
    assert "A change means a new campaign" not in html


def test_a_member_duplicates_and_lands_in_the_wizard_at_name_and_dates(client, bob, live_campaign):
    client.force_login(bob)
    response = client.post(duplicate_url(live_campaign), follow=True)

    copy = Campaign.objects.get(name="Summer Quest (copy)")
    assert response.redirect_chain[-1][0] == step_url(copy, 2)
    assert response.context["form"]["name"].value() == "Summer Quest (copy)"
    messages = [str(m) for m in response.context["messages"]]
    assert messages == [
        "“Summer Quest (copy)” is a new draft with everything of “Summer Quest”. Check its name "
        "and dates, then go through the steps: nothing is submitted until you submit it."
    ]
    # The copy can be edited, unlike the live original.
    client.post(step_url(copy, 3), {"total_budget": "3000", "cpa": "30"})
    copy.refresh_from_db()
    assert copy.cpa == Decimal("30")


def test_duplicating_needs_a_post(alice_client, live_campaign):
    assert alice_client.get(duplicate_url(live_campaign)).status_code == 405
    assert Campaign.objects.count() == 1


def test_an_outsider_gets_a_404_and_no_copy(charlie_client, live_campaign):
    assert charlie_client.post(duplicate_url(live_campaign)).status_code == 404
    assert charlie_client.get(detail_url(live_campaign)).status_code == 404
    assert Campaign.objects.count() == 1
    assert not ActivityEntry.objects.filter(action="campaign.duplicated").exists()


def test_a_lost_banner_file_is_said_not_silently_skipped(alice_client, live_campaign):
    live_campaign.banner.storage.delete(live_campaign.banner.name)
    response = alice_client.post(duplicate_url(live_campaign), follow=True)
    copy = Campaign.objects.get(name="Summer Quest (copy)")
    assert not copy.banner
    (message,) = [str(m) for m in response.context["messages"]]
    assert message.endswith(
        "The original's banner file could not be read: upload it again in step 6."
    )
