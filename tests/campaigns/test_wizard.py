"""The seven-step campaign wizard: each step validates on its own page, puts its message at the
field that breaks the rule, and saves the draft to the database."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, CampaignTransition, Moment, RewardGroup
from campaigns.services.lifecycle import campaign_schedule
from tests.factories import AppFactory, CampaignFactory, ProductFactory

from .conftest import PASSWORD_FOR_LOGIN, future, image_bytes, make_complete_draft, step_url, upload

pytestmark = pytest.mark.django_db


def errors(response, field, form="form"):
    return response.context[form].errors.get(field, [])


# --- Step 1: App ---------------------------------------------------------------------------------


def test_step_1_offers_only_the_accounts_own_apps(alice_client, acme_app, charlie):
    other = AppFactory(account=charlie.membership.account, name="Globex Racer")
    response = alice_client.get(reverse("campaigns:create"))
    html = response.content.decode()
    assert "Space Miner" in html
    assert "Globex Racer" not in html
    response = alice_client.post(reverse("campaigns:create"), {"app": other.pk})
    assert errors(response, "app") == ["Choose one of your apps."]
    assert not Campaign.objects.exists()


def test_step_1_without_a_choice_asks_for_the_app(alice_client, acme_app):
    response = alice_client.post(reverse("campaigns:create"), {"app": ""})
    assert errors(response, "app") == ["Choose the app whose users earn the reward."]


def test_step_1_without_any_app_points_to_registering_one(alice_client):
    response = alice_client.get(reverse("campaigns:create"))
    assert "you have not registered one yet" in response.content.decode()
    assert reverse("console:app_create") in response.content.decode()


def test_choosing_the_app_saves_a_draft_and_moves_to_step_2(alice_client, acme_app, alice):
    response = alice_client.post(reverse("campaigns:create"), {"app": acme_app.pk}, follow=True)
    campaign = Campaign.objects.get()
    assert (campaign.status, campaign.app, campaign.wizard_step) == ("draft", acme_app, 2)
    assert campaign.created_by == alice
    assert response.redirect_chain[-1][0] == step_url(campaign, 2)
    assert "Draft saved. You can leave and resume it from Campaigns." in response.content.decode()
    # The placeholder name is not offered as the campaign's name.
    assert response.context["form"]["name"].value() in (None, "")


def test_a_draft_survives_logging_out_and_resumes_at_its_saved_step(
    client, alice, acme_app, draft_at
):
    campaign = draft_at(4)
    client.login(username="alice@acme.test", password=PASSWORD_FOR_LOGIN)
    client.post(reverse("logout"))
    client.login(username="alice@acme.test", password=PASSWORD_FOR_LOGIN)
    html = client.get(reverse("campaigns:list")).content.decode()
    resume = reverse("campaigns:wizard", args=[campaign.campaign_id])
    assert resume in html
    response = client.get(resume)
    assert response.status_code == 302
    assert response["Location"] == step_url(campaign, 4)


def test_a_step_after_the_saved_one_sends_the_developer_back_to_finish_it(alice_client, draft_at):
    campaign = draft_at(3)
    response = alice_client.get(step_url(campaign, 5), follow=True)
    assert response.redirect_chain[-1][0] == step_url(campaign, 3)
    assert "Finish step 3 first." in response.content.decode()


def test_an_unknown_step_is_a_404(alice_client, draft_at):
    campaign = draft_at(3)
    assert alice_client.get(step_url(campaign, 8)).status_code == 404


@pytest.mark.parametrize("step", range(1, 8))
def test_every_step_shows_the_progress_and_back_and_next(alice_client, complete_draft, step):
    response = alice_client.get(step_url(complete_draft, step))
    html = response.content.decode()
    assert response.status_code == 200
    assert f"Step {step} of 7" in html
    assert 'id="wizard-back"' in html
    assert 'id="wizard-next"' in html or 'id="wizard-submit"' in html
    for title in ("App", "Name &amp; duration", "Budget &amp; CPA", "Marketplaces"):
        assert title in html


def test_changing_the_app_in_step_1_of_a_draft_keeps_the_draft(alice_client, complete_draft, acme):
    other = AppFactory(account=acme, name="Moon Digger")
    alice_client.post(step_url(complete_draft, 1), {"app": other.pk})
    complete_draft.refresh_from_db()
    assert complete_draft.app == other
    assert complete_draft.wizard_step == 7


# --- Step 2: Name & duration ---------------------------------------------------------------------


@time_machine.travel("2026-03-02 10:00Z", tick=False)
def test_step_2_says_the_earliest_go_live_day_seven_days_after_submitting_today(
    alice_client, draft_at
):
    campaign = draft_at(2)
    html = alice_client.get(step_url(campaign, 2)).content.decode()
    assert "If you submit today, it can go live on <strong>March 9, 2026</strong>" in html


def test_step_2_refuses_a_start_date_in_the_past(alice_client, draft_at):
    campaign = draft_at(2)
    response = alice_client.post(
        step_url(campaign, 2),
        {"name": "Summer", "start_date": future(-1), "end_date": future(10)},
    )
    assert errors(response, "start_date") == ["The start date cannot be in the past."]
    campaign.refresh_from_db()
    assert campaign.start_date is None


def test_step_2_accepts_today_as_start_date(alice_client, draft_at):
    campaign = draft_at(2)
    alice_client.post(
        step_url(campaign, 2), {"name": "Summer", "start_date": future(0), "end_date": future(1)}
    )
    campaign.refresh_from_db()
    assert (campaign.name, campaign.start_date, campaign.wizard_step) == ("Summer", future(0), 3)


@pytest.mark.parametrize("end_offset", [10, 5])
def test_step_2_refuses_an_end_date_not_after_the_start(alice_client, draft_at, end_offset):
    campaign = draft_at(2)
    response = alice_client.post(
        step_url(campaign, 2),
        {"name": "Summer", "start_date": future(10), "end_date": future(end_offset)},
    )
    assert errors(response, "end_date") == ["The end date must be after the start date."]


def test_step_2_refuses_a_name_already_used_in_the_account_whatever_its_case(
    alice_client, acme_app, draft_at
):
    CampaignFactory(app=acme_app, name="Summer Quest")
    campaign = draft_at(2)
    response = alice_client.post(
        step_url(campaign, 2),
        {"name": "  SUMMER quest ", "start_date": future(8), "end_date": future(20)},
    )
    assert errors(response, "name") == [
        "You already have a campaign named “SUMMER quest”. Pick another name."
    ]


def test_step_2_allows_a_name_used_by_another_account(alice_client, charlie, draft_at):
    CampaignFactory(app=AppFactory(account=charlie.membership.account), name="Summer Quest")
    campaign = draft_at(2)
    alice_client.post(
        step_url(campaign, 2),
        {"name": "Summer Quest", "start_date": future(8), "end_date": future(20)},
    )
    campaign.refresh_from_db()
    assert campaign.name == "Summer Quest"


def test_step_2_asks_for_every_field(alice_client, draft_at):
    response = alice_client.post(step_url(draft_at(2), 2), {})
    form = response.context["form"]
    assert form.errors == {
        "name": ["Give the campaign a name."],
        "start_date": ["Choose the start date."],
        "end_date": ["Choose the end date."],
    }


# --- Step 3: Budget & CPA ------------------------------------------------------------------------


def test_step_3_refuses_a_budget_under_50_dollars(alice_client, draft_at):
    response = alice_client.post(step_url(draft_at(3), 3), {"total_budget": "49.99", "cpa": "10"})
    assert errors(response, "total_budget") == ["The total budget must be at least $50."]


@pytest.mark.parametrize("cpa", ["0", "-5"])
def test_step_3_refuses_a_cpa_that_is_not_positive(alice_client, draft_at, cpa):
    response = alice_client.post(step_url(draft_at(3), 3), {"total_budget": "100", "cpa": cpa})
    assert errors(response, "cpa") == ["The CPA must be greater than zero."]


def test_step_3_refuses_a_cpa_above_the_budget(alice_client, draft_at):
    response = alice_client.post(step_url(draft_at(3), 3), {"total_budget": "60", "cpa": "60.01"})
    assert errors(response, "cpa") == ["The CPA cannot be more than the total budget ($60.00)."]


def test_step_3_saves_budget_and_cpa_and_shows_the_actions_the_budget_buys(alice_client, draft_at):
    campaign = draft_at(3)
    alice_client.post(step_url(campaign, 3), {"total_budget": "1000", "cpa": "27.50"})
    campaign.refresh_from_db()
    assert (campaign.total_budget, campaign.cpa) == (Decimal("1000"), Decimal("27.50"))
    html = alice_client.get(step_url(campaign, 3)).content.decode()
    assert "This budget buys <strong>36</strong> actions at this CPA." in html


def test_going_back_to_step_3_shows_the_saved_figures_and_next_keeps_them(alice_client, draft_at):
    campaign = draft_at(3)
    alice_client.post(step_url(campaign, 3), {"total_budget": "1000", "cpa": "27.50"})

    form = alice_client.get(step_url(campaign, 3)).context["form"]
    shown = {name: str(form[name].value()) for name in ("total_budget", "cpa")}
    response = alice_client.post(step_url(campaign, 3), shown)

    assert shown == {"total_budget": "1000.00", "cpa": "27.50"}
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.total_budget, campaign.cpa) == (Decimal("1000"), Decimal("27.50"))


def test_step_3_shows_the_default_15000_dollar_account_cap_when_finance_has_not_raised_it(
    alice_client, draft_at
):
    html = alice_client.get(step_url(draft_at(3), 3)).content.decode()
    assert "At most <strong>$5,000</strong> a month is spent on one campaign." in html
    assert "at most <strong>$15,000</strong> a month across all its campaigns" in html


def test_step_3_shows_the_campaign_cap_and_the_accounts_raised_cap(alice_client, acme, draft_at):
    acme.monthly_spend_limit = Decimal("20000.00")
    acme.save()
    html = alice_client.get(step_url(draft_at(3), 3)).content.decode()
    assert "At most <strong>$5,000</strong> a month is spent on one campaign." in html
    assert "at most <strong>$20,000</strong> a month across all its campaigns" in html


# --- Step 4: Marketplaces ------------------------------------------------------------------------


def test_step_4_needs_at_least_one_marketplace(alice_client, draft_at):
    response = alice_client.post(step_url(draft_at(4), 4), {})
    assert errors(response, "marketplaces") == ["Choose at least one marketplace."]


def test_step_4_offers_the_13_marketplaces(alice_client, draft_at):
    response = alice_client.get(step_url(draft_at(4), 4))
    assert len(response.context["form"].fields["marketplaces"].queryset) == 13
    assert "Rest of World (USD)" in response.content.decode()


def test_step_4_makes_one_reward_group_per_marketplace_and_drops_unchosen_ones(
    alice_client, draft_at
):
    campaign = draft_at(4)
    alice_client.post(step_url(campaign, 4), {"marketplaces": ["US", "DE", "JP"]})
    assert sorted(campaign.reward_groups.values_list("marketplace_id", flat=True)) == [
        "DE",
        "JP",
        "US",
    ]
    alice_client.post(step_url(campaign, 4), {"marketplaces": ["US"]})
    assert list(campaign.reward_groups.values_list("marketplace_id", flat=True)) == ["US"]


# --- Step 5: Rewards and moments -----------------------------------------------------------------


def rewards_data(us=None, de=None, moments=(("LEVEL_10_COMPLETE", "Completes level 10"),)):
    data = {
        "moments-TOTAL_FORMS": str(len(moments)),
        "moments-INITIAL_FORMS": "0",
        "moments-MIN_NUM_FORMS": "0",
        "moments-MAX_NUM_FORMS": "1000",
    }
    for i, (moment_id, action) in enumerate(moments):
        data[f"moments-{i}-moment_id"] = moment_id
        data[f"moments-{i}-action"] = action
    for code, picks in (("US", us), ("DE", de)):
        if picks is None:
            continue
        data[f"{code}-products"] = [str(p) for p in picks.get("products", [])]
        data[f"{code}-discount_category"] = str(picks.get("discount", "") or "")
        data[f"{code}-quantity_limit"] = str(picks.get("limit", "") or "")
    return data


@pytest.fixture
def at_step_5(draft_at):
    campaign = draft_at(5, cpa=Decimal("25.0000"))
    RewardGroup.objects.create(campaign=campaign, marketplace_id="US")
    return campaign


def group_errors(response, code):
    block = next(b for b in response.context["blocks"] if b.form.prefix == code)
    return block.form.errors


def test_step_5_lists_each_marketplaces_rewards_with_reference_prices_in_usd(
    alice_client, at_step_5, earbuds, toys_credit
):
    html = alice_client.get(step_url(at_step_5, 5)).content.decode()
    assert "Wireless Earbuds" in html
    assert "$22.00" in html  # $20 + 10.02 % US tax allowance
    assert "Educational Toys credit" in html


def test_step_5_shows_each_products_image_and_a_placeholder_without_one(
    alice_client, at_step_5, earbuds, speaker
):
    earbuds.image.save("earbuds.png", upload("earbuds.png", image_bytes(60, 60)), save=True)
    html = alice_client.get(step_url(at_step_5, 5)).content.decode()
    row = re.search(r"<tr>(?:(?!</tr>).)*Wireless Earbuds.*?</tr>", html, re.S).group(0)
    assert f'<img class="mc-thumb" src="{earbuds.image.url}"' in row
    row = re.search(r"<tr>(?:(?!</tr>).)*Bluetooth Speaker.*?</tr>", html, re.S).group(0)
    assert "mc-thumb-empty" in row and "<img" not in row


def test_step_5_needs_at_least_one_reward_per_marketplace(alice_client, at_step_5, earbuds):
    response = alice_client.post(step_url(at_step_5, 5), rewards_data(us={}))
    assert group_errors(response, "US")["__all__"] == [
        "Pick at least one reward for United States: a free product or a discount category."
    ]


def test_step_5_allows_at_most_five_products(alice_client, at_step_5):
    products = [ProductFactory(price=Decimal("5.00")) for _ in range(6)]
    response = alice_client.post(
        step_url(at_step_5, 5), rewards_data(us={"products": [p.pk for p in products]})
    )
    assert group_errors(response, "US")["products"] == [
        "Pick at most five products for United States; you picked 6."
    ]


def test_step_5_refuses_a_product_whose_reference_price_the_cpa_does_not_cover(
    alice_client, at_step_5, speaker
):
    response = alice_client.post(
        step_url(at_step_5, 5), rewards_data(us={"products": [speaker.pk]})
    )
    assert group_errors(response, "US")["products"] == [
        "The CPA ($25.00) does not cover Bluetooth Speaker: its reference price is $44.01. "
        "Raise the CPA to at least $44.01 in step 3 or pick another reward."
    ]
    assert "Bluetooth Speaker: its reference price is $44.01" in response.content.decode()


def test_step_5_accepts_the_faqs_27_50_cpa_for_a_25_dollar_us_item_and_refuses_a_cent_less(
    alice_client, draft_at
):
    stick = ProductFactory(marketplace_id="US", title="Fire TV Stick", price=Decimal("25.00"))
    too_low = draft_at(5, cpa=Decimal("27.4900"))
    RewardGroup.objects.create(campaign=too_low, marketplace_id="US")
    response = alice_client.post(step_url(too_low, 5), rewards_data(us={"products": [stick.pk]}))
    message = (
        "The CPA ($27.49) does not cover Fire TV Stick: its reference price is $27.50. "
        "Raise the CPA to at least $27.50 in step 3 or pick another reward."
    )
    assert group_errors(response, "US")["products"] == [message]
    assert "Fire TV Stick: its reference price is $27.50" in response.content.decode()

    campaign = draft_at(5, cpa=Decimal("27.5000"), name="Winter Quest")
    RewardGroup.objects.create(campaign=campaign, marketplace_id="US")
    response = alice_client.post(step_url(campaign, 5), rewards_data(us={"products": [stick.pk]}))
    assert response.status_code == 302
    assert response["Location"] == step_url(campaign, 6)
    assert list(campaign.reward_groups.get().products.all()) == [stick]


def test_step_5_refuses_a_discount_category_the_cpa_does_not_cover(alice_client, at_step_5):
    from tests.factories import DiscountCategoryFactory

    credit = DiscountCategoryFactory(name="Headphones", credit_amount=Decimal("30.00"))
    response = alice_client.post(step_url(at_step_5, 5), rewards_data(us={"discount": credit.pk}))
    assert group_errors(response, "US")["discount_category"] == [
        "The CPA ($25.00) does not cover Headphones credit: its reference price is $33.01. "
        "Raise the CPA to at least $33.01 in step 3 or pick another reward."
    ]


def test_step_5_converts_a_foreign_price_to_usd_before_comparing_with_the_cpa(
    alice_client, draft_at
):
    campaign = draft_at(5, cpa=Decimal("10.0000"))
    RewardGroup.objects.create(campaign=campaign, marketplace_id="DE")
    expensive = ProductFactory(marketplace_id="DE", title="Kopfhörer", price=Decimal("15.00"))
    response = alice_client.post(
        step_url(campaign, 5), rewards_data(de={"products": [expensive.pk]})
    )
    (message,) = group_errors(response, "DE")["products"]
    assert message.startswith("The CPA ($10.00) does not cover Kopfhörer: its reference price is $")
    assert re.search(r" \(€[\d,]+\.\d\d\)\. Raise the CPA", message)


def test_step_5_refuses_a_product_of_another_marketplace(alice_client, at_step_5, de_headphones):
    response = alice_client.post(
        step_url(at_step_5, 5), rewards_data(us={"products": [de_headphones.pk]})
    )
    assert group_errors(response, "US")["products"] == [
        f"Product {de_headphones.pk} is not an in-stock product of the United States catalog."
    ]


def test_step_5_refuses_a_quantity_limit_under_1(alice_client, at_step_5, earbuds):
    response = alice_client.post(
        step_url(at_step_5, 5), rewards_data(us={"products": [earbuds.pk], "limit": "0"})
    )
    assert group_errors(response, "US")["quantity_limit"] == [
        "The quantity limit must be at least 1, or empty for no limit."
    ]


def test_step_5_needs_at_least_one_moment(alice_client, at_step_5, earbuds):
    response = alice_client.post(
        step_url(at_step_5, 5), rewards_data(us={"products": [earbuds.pk]}, moments=[("", "")])
    )
    assert response.context["moments"].non_form_errors() == [
        "Add at least one moment: the ID your app sends (like LEVEL_10_COMPLETE) and the action "
        "it stands for."
    ]


def test_step_5_refuses_a_malformed_moment_id(alice_client, at_step_5, earbuds):
    response = alice_client.post(
        step_url(at_step_5, 5),
        rewards_data(us={"products": [earbuds.pk]}, moments=[("level 10!", "Level 10")]),
    )
    assert response.context["moments"].forms[0].errors["moment_id"] == [
        "Use capital letters, digits and underscores, like LEVEL_10_COMPLETE."
    ]


def test_step_5_refuses_the_same_moment_id_twice(alice_client, at_step_5, earbuds):
    response = alice_client.post(
        step_url(at_step_5, 5),
        rewards_data(
            us={"products": [earbuds.pk]},
            moments=[("LEVEL_10", "Level ten"), ("LEVEL_10", "Level ten again")],
        ),
    )
    assert response.context["moments"].forms[1].errors["moment_id"] == [
        "The moment ID LEVEL_10 is used twice; each moment of a campaign needs its own ID."
    ]


def test_step_5_needs_the_action_a_moment_stands_for(alice_client, at_step_5, earbuds):
    response = alice_client.post(
        step_url(at_step_5, 5),
        rewards_data(us={"products": [earbuds.pk]}, moments=[("LEVEL_10", "")]),
    )
    assert response.context["moments"].forms[0].errors["action"] == [
        "Say which action in your app this moment stands for."
    ]


def test_step_5_saves_picks_limit_and_several_moments(
    alice_client, at_step_5, earbuds, toys_credit
):
    alice_client.post(
        step_url(at_step_5, 5),
        rewards_data(
            us={"products": [earbuds.pk], "discount": toys_credit.pk, "limit": "250"},
            moments=[("LEVEL_10_COMPLETE", "Completes level 10"), ("BOSS_DEFEATED", "Beats it")],
        ),
    )
    group = at_step_5.reward_groups.get()
    assert list(group.products.all()) == [earbuds]
    assert (group.discount_category, group.quantity_limit) == (toys_credit, 250)
    assert list(at_step_5.moments.values_list("moment_id", flat=True)) == [
        "LEVEL_10_COMPLETE",
        "BOSS_DEFEATED",
    ]
    at_step_5.refresh_from_db()
    assert at_step_5.wizard_step == 6
    # Back on the page: the saved picks are checked and the suggested CPA covers them all.
    html = alice_client.get(step_url(at_step_5, 5)).content.decode()
    assert f'value="{earbuds.pk}" id="id_US-products-{earbuds.pk}" data-usd="22.00" checked' in html
    assert '<strong id="suggested-cpa">$22.00</strong>' in html


def test_step_5_removes_a_moment_marked_for_removal(alice_client, at_step_5, earbuds):
    Moment.objects.create(campaign=at_step_5, moment_id="OLD_MOMENT", action="Old")
    data = rewards_data(
        us={"products": [earbuds.pk]}, moments=[("OLD_MOMENT", "Old"), ("NEW", "n")]
    )
    data["moments-INITIAL_FORMS"] = "1"
    data["moments-0-DELETE"] = "on"
    alice_client.post(step_url(at_step_5, 5), data)
    assert list(at_step_5.moments.values_list("moment_id", flat=True)) == ["NEW"]


# --- Step 6: Messages & banner -------------------------------------------------------------------


def test_step_6_prefills_the_terms_with_end_date_expiry_and_the_usual_clauses(
    alice_client, draft_at
):
    from datetime import date

    campaign = draft_at(6, start_date=future(8), end_date=date(2031, 5, 31))
    terms = alice_client.get(step_url(campaign, 6)).context["form"]["terms"].value()
    assert "Offer ends May 31, 2031, or while supplies last." in terms
    assert "Rewards must be claimed by June 30, 2031" in terms
    assert "an equal or similar value item may be provided instead" in terms


def test_step_6_limits_the_length_of_the_messages(alice_client, draft_at):
    response = alice_client.post(
        step_url(draft_at(6), 6),
        {
            "announcement_message": "x" * 281,
            "announcement_criteria": "y" * 501,
            "redemption_message": "z" * 281,
            "terms": "t" * 3001,
            "banner": upload("banner.png", image_bytes()),
        },
    )
    form = response.context["form"]
    assert form.errors["announcement_message"] == [
        "Ensure this value has at most 280 characters (it has 281)."
    ]
    assert form.errors["announcement_criteria"] == [
        "Ensure this value has at most 500 characters (it has 501)."
    ]
    assert form.errors["redemption_message"] == [
        "Ensure this value has at most 280 characters (it has 281)."
    ]
    assert form.errors["terms"] == ["Ensure this value has at most 3000 characters (it has 3001)."]


def test_step_6_asks_for_the_messages(alice_client, draft_at):
    response = alice_client.post(step_url(draft_at(6), 6), {})
    form = response.context["form"]
    assert form.errors["announcement_message"] == ["Write the announcement message customers see."]
    assert form.errors["redemption_message"] == ["Write the redemption message customers see."]
    assert form.errors["terms"] == ["The terms and conditions cannot be empty."]


def test_step_6_keeps_the_banner_already_uploaded_when_no_new_one_is_sent(
    alice_client, complete_draft
):
    before = complete_draft.banner.name
    response = alice_client.post(
        step_url(complete_draft, 6),
        {
            "announcement_message": "New announcement",
            "announcement_criteria": "Everyone",
            "redemption_message": "Enjoy",
            "terms": "While supplies last.",
        },
    )
    assert response.status_code == 302
    complete_draft.refresh_from_db()
    assert (complete_draft.banner.name, complete_draft.announcement_message) == (
        before,
        "New announcement",
    )


# --- Step 7: Review & submit ---------------------------------------------------------------------


def test_the_review_page_shows_everything_with_the_banner(alice_client, complete_draft, earbuds):
    html = alice_client.get(step_url(complete_draft, 7)).content.decode()
    for text in (
        "Space Miner",
        "Wireless Earbuds",
        "LEVEL_10_COMPLETE",
        "Finish level 10 and win a pair of earbuds!",
        "Players who reached level 8",
        "Congratulations! Claim your earbuds.",
        complete_draft.banner.url,
        "$1,000.00",
    ):
        assert text in html


@pytest.mark.parametrize(
    ("start", "go_live"),
    [
        # The case: submitted Dec 3, starting Dec 12: the review ends Dec 10, but the
        # campaign goes live on its start date.
        (date(2026, 12, 12), "December 12, 2026"),
        # A start date inside the review period: it goes live when the review is over.
        (date(2026, 12, 5), "December 10, 2026"),
    ],
)
@time_machine.travel("2026-12-03 15:00Z", tick=False)
def test_the_review_page_and_the_submission_say_the_day_the_sweep_will_go_live(
    alice_client, acme_app, earbuds, card_on_file, start, go_live
):
    campaign = make_complete_draft(
        acme_app, product=earbuds, start_date=start, end_date=date(2027, 1, 31)
    )
    html = alice_client.get(step_url(campaign, 7)).content.decode()
    assert f'<strong id="go-live-day">{go_live}</strong>' in html
    response = alice_client.post(step_url(campaign, 7), follow=True)
    assert (
        f"Once approved, it goes live on {go_live}."
        in [str(m) for m in response.context["messages"]][0]
    )
    # The same day the lifecycle stores at approval and the beat sweep acts on.
    campaign.refresh_from_db()
    goes_live_at, _ = campaign_schedule(
        submitted_at=campaign.submitted_at, start_date=campaign.start_date, end_date=None
    )
    assert f"{timezone.localdate(goes_live_at):%B %-d, %Y}" == go_live


def test_the_review_page_lists_what_keeps_an_incomplete_draft_from_being_submitted(
    alice_client, draft_at, card_on_file
):
    campaign = draft_at(6, wizard_step=7)
    html = alice_client.get(step_url(campaign, 7)).content.decode()
    assert "Choose at least one marketplace." in html
    assert "Upload the 3000 × 600 banner." in html
    response = alice_client.post(step_url(campaign, 7), follow=True)
    assert "Add at least one moment." in [str(m) for m in response.context["messages"]]
    campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_submitting_without_a_payment_method_links_to_adding_a_card_and_back(
    alice_client, complete_draft
):
    review = step_url(complete_draft, 7)
    card_link = f"{reverse('billing:card_add')}?next={review}"
    html = alice_client.get(review).content.decode()
    assert card_link in html
    response = alice_client.post(review, follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "Add a payment method before submitting: a campaign needs a card on file (or invoice "
        "terms) to be charged."
    ]
    assert card_link in response.content.decode()
    complete_draft.refresh_from_db()
    assert (complete_draft.status, complete_draft.submitted_at) == ("draft", None)


def test_a_cpa_lowered_after_the_picks_blocks_the_submission(
    alice_client, complete_draft, card_on_file
):
    complete_draft.cpa = Decimal("10.0000")
    complete_draft.save()
    response = alice_client.post(step_url(complete_draft, 7), follow=True)
    assert any(
        "The CPA ($10.00) does not cover Wireless Earbuds" in str(m)
        for m in response.context["messages"]
    )
    complete_draft.refresh_from_db()
    assert complete_draft.status == "draft"


def test_a_start_date_that_has_passed_since_blocks_the_submission(
    alice_client, acme_app, earbuds, card_on_file
):
    campaign = make_complete_draft(acme_app, product=earbuds, start_date=future(-1))
    response = alice_client.post(step_url(campaign, 7), follow=True)
    assert "The start date is in the past; choose today or later." in [
        str(m) for m in response.context["messages"]
    ]


@time_machine.travel("2026-03-02 10:00Z", tick=False)
def test_submitting_moves_the_campaign_to_pending_approval_and_records_who(
    alice_client, complete_draft, card_on_file, alice
):
    response = alice_client.post(step_url(complete_draft, 7), follow=True)
    assert response.redirect_chain[-1][0] == reverse(
        "campaigns:detail", args=[complete_draft.campaign_id]
    )
    assert (
        # The draft starts after the review is over: it goes live on its start date.
        "“Summer Quest” is submitted for review. Once approved, it goes live on "
        f"{complete_draft.start_date:%B %-d, %Y}." in [str(m) for m in response.context["messages"]]
    )
    complete_draft.refresh_from_db()
    assert complete_draft.status == "pending_approval"
    assert complete_draft.submitted_at.isoformat() == "2026-03-02T10:00:00+00:00"
    transition = CampaignTransition.objects.get(campaign=complete_draft)
    assert (transition.from_status, transition.to_status, transition.actor) == (
        "draft",
        "pending_approval",
        alice,
    )


def test_an_account_on_invoice_terms_submits_without_a_card(alice_client, acme, complete_draft):
    acme.payment_terms = acme.PaymentTerms.INVOICE
    acme.save()
    alice_client.post(step_url(complete_draft, 7))
    complete_draft.refresh_from_db()
    assert complete_draft.status == "pending_approval"


# --- After submission nothing can be edited ------------------------------------------------------


@pytest.mark.parametrize(
    "status", ["pending_approval", "approved", "live", "finished", "suspended"]
)
def test_every_wizard_url_of_a_submitted_campaign_redirects_to_its_page(
    alice_client, complete_draft, status
):
    Campaign.objects.filter(pk=complete_draft.pk).update(status=status)
    detail = reverse("campaigns:detail", args=[complete_draft.campaign_id])
    urls = [reverse("campaigns:wizard", args=[complete_draft.campaign_id])] + [
        step_url(complete_draft, step) for step in range(1, 8)
    ]
    for url in urls:
        response = alice_client.get(url, follow=True)
        assert response.redirect_chain[-1][0] == detail, url
        assert (
            "“Summer Quest” was submitted and can no longer be edited" in response.content.decode()
        )
    alice_client.post(
        step_url(complete_draft, 2),
        {"name": "Renamed", "start_date": future(9), "end_date": future(30)},
    )
    alice_client.post(step_url(complete_draft, 3), {"total_budget": "5000", "cpa": "40"})
    complete_draft.refresh_from_db()
    assert (complete_draft.name, complete_draft.total_budget) == ("Summer Quest", Decimal("1000"))


def test_a_rejected_campaign_is_edited_in_the_wizard_and_resubmitted(
    alice_client, complete_draft, card_on_file
):
    Campaign.objects.filter(pk=complete_draft.pk).update(
        status="rejected", rejection_reason="The banner is blurry."
    )
    response = alice_client.post(
        step_url(complete_draft, 2),
        {"name": "Summer Quest II", "start_date": future(9), "end_date": future(40)},
    )
    assert response.status_code == 302
    alice_client.post(step_url(complete_draft, 7))
    complete_draft.refresh_from_db()
    assert (complete_draft.name, complete_draft.status) == ("Summer Quest II", "pending_approval")
    assert CampaignTransition.objects.filter(
        campaign=complete_draft, from_status="rejected", to_status="pending_approval"
    ).exists()
