"""Rough edges a new developer meets in the wizard: pre-filled terms that kept an old end date,
amounts typed as people type them, a marketplace with nothing to pick, picks removed with a
marketplace without a word."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from campaigns.forms import default_terms
from campaigns.models import RewardGroup
from campaigns.services.wizard import campaign_duplicate
from tests.factories import CampaignFactory

from .conftest import future, step_url

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- The pre-filled terms follow the end date ----------------------------------------------------


def test_changing_the_end_date_updates_the_pre_filled_terms(alice_client, complete_draft):
    complete_draft.terms = default_terms(complete_draft)
    complete_draft.save()

    alice_client.post(
        step_url(complete_draft, 2),
        {"name": "Summer Quest", "start_date": future(8), "end_date": date(2031, 5, 31)},
    )

    complete_draft.refresh_from_db()
    assert complete_draft.terms.startswith("Offer ends May 31, 2031, or while supplies last.")
    assert "Rewards must be claimed by June 30, 2031" in complete_draft.terms


def test_changing_the_end_date_keeps_terms_the_developer_wrote(alice_client, complete_draft):
    complete_draft.terms = "Our own terms, written by our lawyers."
    complete_draft.save()

    alice_client.post(
        step_url(complete_draft, 2),
        {"name": "Summer Quest", "start_date": future(8), "end_date": date(2031, 5, 31)},
    )

    complete_draft.refresh_from_db()
    assert complete_draft.terms == "Our own terms, written by our lawyers."


@time_machine.travel("2026-06-15 10:00Z", tick=False)
def test_a_copy_whose_dates_move_gets_pre_filled_terms_with_its_new_end_date(acme_app, alice):
    original = CampaignFactory(
        app=acme_app, status="finished", start_date=date(2026, 5, 1), end_date=date(2026, 5, 31)
    )
    original.terms = default_terms(original)
    original.save()

    copy = campaign_duplicate(campaign=original, actor=alice)

    assert copy.end_date == date(2026, 7, 15)
    assert copy.terms.startswith("Offer ends July 15, 2026, or while supplies last.")


# --- Amounts as people type them -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("budget", "cpa", "saved"),
    [
        ("$1,000", "$27.50", (Decimal("1000"), Decimal("27.50"))),
        (" 12,500.00 ", "27.5", (Decimal("12500"), Decimal("27.5"))),
    ],
)
def test_step_3_reads_dollar_signs_and_thousands_separators(
    alice_client, draft_at, budget, cpa, saved
):
    campaign = draft_at(3)
    response = alice_client.post(step_url(campaign, 3), {"total_budget": budget, "cpa": cpa})
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.total_budget, campaign.cpa) == saved


def test_step_3_refuses_a_decimal_comma_with_a_message_instead_of_misreading_it(
    alice_client, draft_at
):
    campaign = draft_at(3)
    response = alice_client.post(step_url(campaign, 3), {"total_budget": "1000", "cpa": "27,50"})
    assert response.context["form"].errors["cpa"] == [
        "Enter an amount in US dollars with a dot before the cents, like 1000 or 27.50."
    ]
    campaign.refresh_from_db()
    assert campaign.cpa is None


def test_step_3_amounts_are_text_inputs_so_the_server_sees_what_was_typed(alice_client, draft_at):
    html = alice_client.get(step_url(draft_at(3), 3)).content.decode()
    assert 'type="text" name="cpa"' in html
    assert 'inputmode="decimal"' in html


# --- Step 5 with a marketplace that has nothing to pick ------------------------------------------


def test_step_5_says_to_remove_a_marketplace_with_nothing_to_pick(alice_client, draft_at, earbuds):
    campaign = draft_at(5)
    RewardGroup.objects.create(campaign=campaign, marketplace_id="US")
    RewardGroup.objects.create(campaign=campaign, marketplace_id="JP")

    html = alice_client.get(step_url(campaign, 5)).content.decode()

    assert 'id="empty-catalog-JP"' in html
    assert "Japan has nothing to pick yet" in html
    assert step_url(campaign, 4) in html
    assert 'id="empty-catalog-US"' not in html


# --- Step 4 says what unchecking a marketplace removes -------------------------------------------


def test_unchecking_a_marketplace_says_its_picks_went_with_it(
    alice_client, complete_draft, de_headphones
):
    group = RewardGroup.objects.create(campaign=complete_draft, marketplace_id="DE")
    group.products.add(de_headphones)

    response = alice_client.post(step_url(complete_draft, 4), {"marketplaces": ["US"]}, follow=True)

    assert "The rewards picked for Germany were removed with that marketplace." in messages_of(
        response
    )
    assert list(complete_draft.reward_groups.values_list("marketplace_id", flat=True)) == ["US"]


def test_keeping_the_marketplaces_says_nothing(alice_client, complete_draft):
    response = alice_client.post(step_url(complete_draft, 4), {"marketplaces": ["US"]}, follow=True)
    assert not any("were removed" in m for m in messages_of(response))
