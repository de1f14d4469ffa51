"""The CPA in the wizard, as a new developer meets it: step 3 says what a CPA covers in the
campaign's marketplaces, and going back to step 3 to change the CPA keeps the step-5 picks and
moments (the ones the new CPA does not cover are flagged, never dropped)."""

from __future__ import annotations

from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns.models import Campaign, RewardGroup
from campaigns.services.wizard import campaign_budget_set, campaign_problems
from rewards.catalog.pricing import reference_price
from rewards.models import Marketplace
from tests.factories import DiscountCategoryFactory, ProductFactory

from .conftest import future, image_bytes, step_url, upload
from .test_wizard import rewards_data

pytestmark = pytest.mark.django_db


class _Fields(HTMLParser):
    """The values a browser would send for the page's forms (checked boxes, text, textareas;
    no files)."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "textarea":
            self._textarea = name
            self.data[name] = [""]
        elif tag == "input" and name and name != "csrfmiddlewaretoken":
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.data.setdefault(name, []).append(attrs.get("value", "on"))
            elif kind not in ("file", "submit"):
                self.data.setdefault(name, []).append(attrs.get("value") or "")
        elif tag == "select":
            self._select = name
        elif tag == "option" and "selected" in attrs:
            self.data.setdefault(self._select, []).append(attrs.get("value") or "")

    def handle_data(self, data):
        if self._textarea:
            # The first newline after <textarea> is not part of the value.
            value = self.data[self._textarea][0] + data
            self.data[self._textarea][0] = value.removeprefix("\n")

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None


def press_next(client, campaign: Campaign, step: int):
    """Open the step's page and press Next without changing anything, as a developer going
    through the wizard again does."""
    parser = _Fields()
    parser.feed(client.get(step_url(campaign, step)).content.decode())
    return client.post(step_url(campaign, step), parser.data)


@pytest.fixture
def filled(alice_client, acme_app, earbuds, toys_credit, de_headphones):
    """A draft filled through steps 1 to 6 in the wizard's pages: US (a product, a discount
    category, a quantity limit) and DE, two moments, a $25 CPA."""
    alice_client.post(reverse("campaigns:create"), {"app": acme_app.pk})
    campaign = Campaign.objects.get()
    pages = [
        (2, {"name": "Summer Quest", "start_date": future(8), "end_date": future(30)}),
        (3, {"total_budget": "1000", "cpa": "25"}),
        (4, {"marketplaces": ["US", "DE"]}),
        (
            5,
            rewards_data(
                us={"products": [earbuds.pk], "discount": toys_credit.pk, "limit": "40"},
                de={"products": [de_headphones.pk]},
                moments=[("LEVEL_10_COMPLETE", "Completes level 10"), ("BOSS", "Beats the boss")],
            ),
        ),
        (
            6,
            {
                "announcement_message": "Win earbuds!",
                "announcement_criteria": "Level 8 and up",
                "redemption_message": "Claim them.",
                "terms": "While supplies last.",
                "banner": upload("banner.png", image_bytes()),
            },
        ),
    ]
    for step, data in pages:
        response = alice_client.post(step_url(campaign, step), data)
        assert response.status_code == 302, (
            step,
            response.context and response.context.get("form"),
        )
    campaign.refresh_from_db()
    assert campaign.wizard_step == 7
    return campaign


def picks_of(campaign: Campaign) -> dict:
    return {
        g.marketplace_id: (
            sorted(p.title for p in g.products.all()),
            g.discount_category_id,
            g.quantity_limit,
        )
        for g in campaign.reward_groups.all()
    }


def moments_of(campaign: Campaign) -> list:
    return list(campaign.moments.order_by("pk").values_list("moment_id", "action"))


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- Going back to step 3 keeps the picks and moments --------------------------------------------


def test_raising_the_cpa_after_step_6_keeps_the_picks_and_the_moments(
    alice_client, filled, toys_credit
):
    before = (picks_of(filled), moments_of(filled))

    response = alice_client.post(step_url(filled, 3), {"total_budget": "1000", "cpa": "40"})
    assert response["Location"] == step_url(filled, 4)
    # And on through steps 4, 5 and 6 pressing Next, as the developer does.
    for step in (4, 5, 6):
        response = press_next(alice_client, filled, step)
        assert response.status_code == 302, step
        assert response["Location"] == step_url(filled, step + 1)

    filled.refresh_from_db()
    assert filled.cpa == Decimal("40")
    assert (picks_of(filled), moments_of(filled)) == before
    assert picks_of(filled)["US"] == (["Wireless Earbuds"], toys_credit.pk, 40)
    assert moments_of(filled) == [
        ("LEVEL_10_COMPLETE", "Completes level 10"),
        ("BOSS", "Beats the boss"),
    ]
    assert filled.banner
    assert campaign_problems(filled) == []


def test_the_budget_service_keeps_the_picks_and_moments_whatever_the_cpa(filled, alice):
    before = (picks_of(filled), moments_of(filled))
    for cpa in ("60", "5"):
        campaign_budget_set(
            campaign=filled, actor=alice, total_budget=Decimal("1000"), cpa=Decimal(cpa)
        )
        assert (picks_of(filled), moments_of(filled)) == before
    filled.refresh_from_db()
    assert (filled.cpa, filled.wizard_step) == (Decimal("5"), 7)


def test_lowering_the_cpa_keeps_the_picks_and_says_which_it_no_longer_covers(alice_client, filled):
    before = picks_of(filled)

    response = alice_client.post(
        step_url(filled, 3), {"total_budget": "1000", "cpa": "15"}, follow=True
    )

    message = messages_of(response)[-1]
    assert message.startswith(
        "Your rewards and moments are kept. The new CPA does not cover every reward picked in "
        "step 5: The CPA ($15.00) does not cover Wireless Earbuds: its reference price is $22.00"
    )
    assert picks_of(filled) == before
    # Step 3 and step 5 flag the pick; step 5 still shows it checked.
    assert "Wireless Earbuds: its reference price is $22.00" in (
        alice_client.get(step_url(filled, 3)).content.decode()
    )
    page = alice_client.get(step_url(filled, 5)).content.decode()
    assert 'id="saved-pick-problems"' in page
    assert "Not covered by your CPA ($15.00)" in page
    earbuds_pk = filled.reward_groups.get(marketplace_id="US").products.get().pk
    assert f'id="id_US-products-{earbuds_pk}" data-usd="22.00" checked' in page
    # Nothing is submitted until the CPA or the pick changes.
    filled.refresh_from_db()
    problems = [p.message for p in campaign_problems(filled)]
    assert any("does not cover Wireless Earbuds" in p for p in problems)


def test_a_saved_pick_now_out_of_stock_stays_checked_and_is_kept_on_next(alice_client, filled):
    earbuds = filled.reward_groups.get(marketplace_id="US").products.get()
    earbuds.in_stock = False
    earbuds.save()

    page = alice_client.get(step_url(filled, 5)).content.decode()
    assert f'id="id_US-products-{earbuds.pk}" data-usd="22.00" checked' in page
    assert "Out of stock: shoppers who choose it get an equal or similar item" in page
    response = press_next(alice_client, filled, 5)

    assert response.status_code == 302
    assert picks_of(filled)["US"][0] == ["Wireless Earbuds"]


def test_a_saved_pick_withdrawn_from_the_catalog_is_flagged_and_must_be_unchecked(
    alice_client, filled, earbuds
):
    earbuds.is_active = False
    earbuds.save()
    message = (
        "Wireless Earbuds was withdrawn from the United States catalog and is no longer "
        "offered to shoppers: uncheck it in step 5."
    )

    page = alice_client.get(step_url(filled, 5)).content.decode()
    assert "Withdrawn from the catalog: uncheck it" in page
    assert message in page
    response = press_next(alice_client, filled, 5)

    assert response.status_code == 200
    block = next(b for b in response.context["blocks"] if b.form.prefix == "US")
    assert block.form.errors["products"] == [message]
    assert picks_of(filled)["US"][0] == ["Wireless Earbuds"]  # still saved, not dropped
    assert message in [p.message for p in campaign_problems(filled)]


# --- Step 3 says what a CPA covers ----------------------------------------------------------------


def test_step_3_before_step_4_shows_the_cheapest_and_dearest_reward_of_every_marketplace(
    alice_client, draft_at, earbuds, speaker, toys_credit
):
    dear = ProductFactory(marketplace_id="DE", title="Lautsprecher", price=Decimal("90.00"))
    dear_usd = reference_price(dear).usd

    html = alice_client.get(step_url(draft_at(3), 3)).content.decode()

    assert (
        "You choose marketplaces in step 4; until then these figures cover every marketplace."
        in html
    )
    assert (
        "The cheapest reward, Educational Toys credit (United States), needs a CPA of at least "
        "<strong>$11.00</strong>." in html
    )
    assert (
        f"The dearest, Lautsprecher (Germany), needs <strong>${dear_usd:,.2f}</strong>: a CPA "
        f"of ${dear_usd:,.2f} covers every reward." in html
    )


def test_step_3_counts_only_the_campaigns_marketplaces_once_chosen(
    alice_client, draft_at, earbuds, speaker, toys_credit
):
    ProductFactory(marketplace_id="DE", title="Lautsprecher", price=Decimal("90.00"))
    campaign = draft_at(5, cpa=Decimal("50.0000"))
    RewardGroup.objects.create(campaign=campaign, marketplace_id="US")

    html = alice_client.get(step_url(campaign, 3)).content.decode()

    assert "In your marketplace: United States." in html
    assert "Lautsprecher" not in html
    assert (
        "The dearest, Bluetooth Speaker (United States), needs <strong>$44.01</strong>: a CPA "
        "of $44.01 covers every reward." in html
    )


def test_step_3_leaves_out_rewards_that_cannot_be_picked(alice_client, draft_at, earbuds):
    ProductFactory(title="Sold Out Drone", price=Decimal("300.00"), in_stock=False)
    ProductFactory(title="Retired Console", price=Decimal("400.00"), is_active=False)
    DiscountCategoryFactory(name="Old Toys", credit_amount=Decimal("1.00"), is_active=False)

    html = alice_client.get(step_url(draft_at(3), 3)).content.decode()

    for gone in ("Sold Out Drone", "Retired Console", "Old Toys"):
        assert gone not in html
    assert "The cheapest reward, Wireless Earbuds (United States)" in html
    assert "The dearest, Wireless Earbuds (United States), needs <strong>$22.00</strong>" in html


def test_step_3_says_what_the_rewards_picked_in_step_5_need(alice_client, filled):
    html = alice_client.get(step_url(filled, 3)).content.decode()
    assert "The rewards you picked in step 5 need a CPA of at least <strong>$22.00</strong>" in html
    assert 'id="cpa-shortfalls"' not in html


def test_step_3_makes_the_same_number_of_queries_whatever_the_catalogs_size(alice_client, draft_at):
    campaign = draft_at(3)
    ProductFactory(price=Decimal("5.00"))
    DiscountCategoryFactory(credit_amount=Decimal("5.00"))

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert alice_client.get(step_url(campaign, 3)).status_code == 200
        return len(queries)

    small = count()
    for code in Marketplace.objects.values_list("code", flat=True):
        for i in range(5):
            ProductFactory(marketplace_id=code, price=Decimal(10 + i))
            DiscountCategoryFactory(marketplace_id=code, credit_amount=Decimal(5 + i))
    assert count() == small
