"""The reward page in a real Chromium (issue 19, "Shoppers"): the DE and JP reward links of a
US-first campaign read in German and Japanese, with local prices and country names and their
country's address form; the Claim button of a second tab goes dead once the first tab claimed;
a US address has a State and prints as the US writes it.

Set SHOPPER_SHOTS=<dir> to also write the reward page at desktop and phone width there."""

from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from rewards.models import Claim
from tests.factories import AppFactory
from tests.rewards.redemption_helpers import (
    SHOPPER_PASSWORD,
    add_reward_group,
    grant_for,
    make_shopper,
    reward_campaign,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def browse(browser, live_server):
    """Pages in browser contexts of their own (a context is one shopper's cookies)."""
    contexts = []

    def open_context(viewport=PHONE):
        context = browser.new_context(base_url=live_server.url, viewport=viewport)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()


def sign_in(page, reward_path: str, email: str) -> None:
    """Through the shopper's sign-in page, in whatever language it speaks, back to the reward."""
    page.goto(f"/r/account/signin/?next={reward_path}")
    page.locator("[name=email]").fill(email)
    page.locator("[name=password]").fill(SHOPPER_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{page.url.split('/r/')[0]}{reward_path}")


def us_de_jp_campaign():
    """A live campaign whose first reward group is US, then DE and JP."""
    app = AppFactory(name="Space Miner", support_email="help@spaceminer.example")
    campaign = reward_campaign(app=app)
    de = add_reward_group(campaign, marketplace="DE", title="Kopfhörer", price="1234.50")
    jp = add_reward_group(campaign, marketplace="JP", title="ワイヤレスイヤホン", price="12980")
    return campaign, de, jp


def test_the_de_and_jp_reward_links_of_a_us_first_campaign_read_in_german_and_japanese(
    browse,
):
    campaign, de, jp = us_de_jp_campaign()
    german, japanese = grant_for(campaign, reward_group=de), grant_for(campaign, reward_group=jp)
    make_shopper("erika@shopper.test")
    page = browse().new_page()

    page.goto(f"/r/{german.token}/")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", name="Wählen Sie Ihre Prämie")).to_be_visible()
    expect(page.locator("#rewards-list")).to_contain_text("1.234,50\xa0€")  # German numbers
    expect(page.locator("#app-name")).to_have_text("Space Miner")
    expect(page.locator("#rewards-list")).to_contain_text("Lieferung in 2–4 Werktagen")
    expect(page.locator("#support-contact")).to_contain_text("Fragen zu Space Miner?")
    expect(page.locator("#delivered-through-badge")).to_have_text("Geliefert über Moments")
    sign_in(page, f"/r/{german.token}/", "erika@shopper.test")
    page.locator("li", has_text="Kopfhörer").get_by_role("link", name="Wählen").click()
    form = page.locator("#claim-form")
    expect(form.get_by_label("Land")).to_have_text("Deutschland")  # not "DE"
    expect(form.get_by_label("Postleitzahl")).to_be_visible()
    expect(form.locator("[name=area]")).to_have_count(0)  # no state in a German address
    labels = form.locator("label").all_inner_texts()
    assert labels.index("Postleitzahl*") < labels.index("Ort*")  # 10115 Berlin

    page.goto(f"/r/{japanese.token}/")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_role("heading", name="特典を選んでください")).to_be_visible()
    expect(page.locator("#rewards-list")).to_contain_text("￥12,980")  # Japanese numbers
    expect(page.locator("#delivered-through-badge")).to_have_text("Moments でお届け")
    page.locator("li", has_text="ワイヤレスイヤホン").get_by_role("link").click()
    form = page.locator("#claim-form")
    expect(form.get_by_label("国")).to_have_text("日本")
    form.get_by_label("氏名").fill("山田太郎")
    form.get_by_label("郵便番号").fill("100-0001")
    form.get_by_label("都道府県").select_option("東京都")
    form.locator("[name=line1]").fill("千代田区千代田1-1")
    form.locator("#claim-submit").click()

    expect(page.locator("#claim-confirmed")).to_be_visible()
    expect(page.locator("#ship-to")).to_have_text("〒100-0001東京都千代田区千代田1-1山田太郎日本")
    assert Claim.objects.get().ship_area == "東京都"


def test_a_second_tab_cannot_claim_after_the_first_and_shows_the_claimed_state(browse):
    campaign = reward_campaign()
    grant = grant_for(campaign)
    make_shopper("dana@shopper.test")
    context = browse(DESKTOP)
    first, second = context.new_page(), context.new_page()
    sign_in(first, f"/r/{grant.token}/", "dana@shopper.test")
    credit = campaign.reward_groups.get().discount_category
    for tab in (first, second):
        tab.goto(f"/r/{grant.token}/claim/?credit={credit.pk}")
        expect(tab.locator("#claim-submit")).to_be_enabled()

    first.locator("#claim-submit").click()
    expect(first.locator("#claim-confirmed")).to_contain_text("added to your balance")
    second.bring_to_front()
    second.locator("#claim-submit").click()

    # The stale tab lands on the reward's claimed state: what was claimed, no button to press.
    expect(second).to_have_url(f"{second.url.split('/r/')[0]}/r/{grant.token}/")
    expect(second.locator("#reward-state")).to_have_text("This reward has already been claimed.")
    expect(second.locator("#claim-summary")).to_contain_text("Educational Toys credit")
    expect(second.locator("#claim-submit")).to_have_count(0)
    expect(second.get_by_role("link", name="Choose")).to_have_count(0)
    # Opening the claim form again is no way around it either.
    second.goto(f"/r/{grant.token}/claim/?credit={credit.pk}")
    expect(second.locator("#reward-state")).to_be_visible()
    expect(second.locator("#claim-submit")).to_have_count(0)
    assert Claim.objects.count() == 1


def test_a_second_tab_turns_to_the_claimed_state_when_the_shopper_comes_back_to_it(browse):
    campaign = reward_campaign()
    grant = grant_for(campaign)
    make_shopper("dana@shopper.test")
    context = browse(DESKTOP)
    first, second = context.new_page(), context.new_page()
    sign_in(first, f"/r/{grant.token}/", "dana@shopper.test")
    credit = campaign.reward_groups.get().discount_category
    for tab in (first, second):
        tab.goto(f"/r/{grant.token}/claim/?credit={credit.pk}")
    first.locator("#claim-submit").click()
    expect(first.locator("#claim-confirmed")).to_be_visible()

    # Back to the second tab (its window gets the focus): nothing pressed, it asks and turns.
    second.bring_to_front()
    second.evaluate("window.dispatchEvent(new Event('focus'))")

    expect(second.locator("#reward-state")).to_have_text("This reward has already been claimed.")
    expect(second.locator("#claim-submit")).to_have_count(0)
    assert Claim.objects.count() == 1


def test_the_claim_button_submits_once_however_often_it_is_pressed(browse):
    campaign = reward_campaign()
    grant = grant_for(campaign)
    make_shopper("dana@shopper.test")
    page = browse(DESKTOP).new_page()
    sign_in(page, f"/r/{grant.token}/", "dana@shopper.test")
    credit = campaign.reward_groups.get().discount_category
    page.goto(f"/r/{grant.token}/claim/?credit={credit.pk}")
    posts = []

    def answer_nothing(route):
        # 204 No Content: the browser stays on the form, as while a slow claim is on its way.
        posts.append(route.request.url)
        route.fulfill(status=204)

    page.route(lambda url: "/claim/" in url, answer_nothing)
    page.locator("#claim-submit").click()
    expect(page.locator("#claim-submit")).to_be_disabled()
    # Enter in the form, or a script's second submit: neither sends the claim again.
    page.evaluate("document.getElementById('claim-form').requestSubmit()")
    page.wait_for_timeout(300)

    assert len(posts) == 1
    assert Claim.objects.count() == 0  # the one POST was answered by the route, not the server


def test_a_us_address_has_a_state_and_prints_as_the_us_writes_it(browse):
    campaign = reward_campaign()
    campaign.reward_groups.get().products.filter(title="Wireless Earbuds").update(
        price=Decimal("19.99")
    )
    grant = grant_for(campaign)
    make_shopper("dana@shopper.test")
    page = browse().new_page()
    sign_in(page, f"/r/{grant.token}/", "dana@shopper.test")
    page.locator("li", has_text="Wireless Earbuds").get_by_role("link", name="Choose").click()
    form = page.locator("#claim-form")
    expect(form.get_by_label("Country")).to_have_text("United States")
    labels = form.locator("label").all_inner_texts()
    assert labels.index("City*") < labels.index("State*") < labels.index("ZIP code*")

    form.get_by_label("Full name").fill("Dana Shopper")
    form.locator("[name=line1]").fill("1 Market Street")
    form.get_by_label("City").fill("San Francisco")
    form.get_by_label("State").select_option(label="California")
    form.get_by_label("ZIP code").fill("10001")  # New York's: the library knows
    form.locator("#claim-submit").click()
    # Refused on the ZIP code field, with an example; the button works again.
    expect(form.locator("#id_postcode")).to_have_class("textinput form-control is-invalid")
    expect(form).to_contain_text("Enter a valid ZIP code.")
    expect(form).to_contain_text("For example 95014")
    expect(form.get_by_label("State")).to_have_value("CA")
    expect(page.locator("#claim-submit")).to_be_enabled()
    form.get_by_label("ZIP code").fill("94105")
    form.locator("#claim-submit").click()

    expect(page.locator("#claim-confirmed")).to_be_visible()
    expect(page.locator("#ship-to")).to_contain_text("San Francisco, CA 94105")
    assert "94105 San Francisco" not in page.locator("#ship-to").inner_text()
    claim = Claim.objects.get()
    assert (claim.ship_area, claim.ship_city, claim.ship_postcode) == (
        "CA",
        "San Francisco",
        "94105",
    )


def test_the_reward_page_at_desktop_and_phone_width(browse):
    """Screenshots to look at (SHOPPER_SHOTS=<dir>); the page fits a phone without scrolling
    sideways either way."""
    campaign, _de, _jp = us_de_jp_campaign()
    grant = grant_for(campaign, reward_group=campaign.reward_groups.get(marketplace_id="US"))
    shots = os.environ.get("SHOPPER_SHOTS")
    for name, viewport in (("reward_desktop", DESKTOP), ("reward_phone", PHONE)):
        page = browse(viewport).new_page()
        page.goto(f"/r/{grant.token}/")
        expect(page.locator("#delivered-through-badge")).to_be_visible()
        assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
        if shots:
            page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)


def test_the_claim_form_confirmation_and_404_at_phone_width(browse):
    """The other shopper pages this issue changed, on a phone (SHOPPER_SHOTS=<dir>)."""
    campaign, _de, jp = us_de_jp_campaign()
    grant = grant_for(campaign, reward_group=jp)
    make_shopper("hana@shopper.test")
    shots = os.environ.get("SHOPPER_SHOTS")
    page = browse().new_page()

    def shot(name):
        assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
        if shots:
            page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)

    sign_in(page, f"/r/{grant.token}/", "hana@shopper.test")
    page.locator("li", has_text="ワイヤレスイヤホン").get_by_role("link").click()
    page.locator("#claim-submit").click()  # the browser asks for the required fields first
    shot("claim_form_ja_phone")
    form = page.locator("#claim-form")
    form.get_by_label("氏名").fill("山田太郎")
    form.get_by_label("郵便番号").fill("1000")
    form.get_by_label("都道府県").select_option("東京都")
    form.locator("[name=line1]").fill("千代田区千代田1-1")
    form.locator("#claim-submit").click()
    expect(form.locator("#id_postcode")).to_have_class("textinput form-control is-invalid")
    shot("claim_form_ja_error_phone")
    form.get_by_label("郵便番号").fill("100-0001")
    form.locator("#claim-submit").click()
    expect(page.locator("#claim-confirmed")).to_be_visible()
    expect(page.locator("#delivery-estimate")).to_have_text("2～4営業日でお届け")
    shot("claim_done_ja_phone")
    page.goto("/r/no-such-token/")
    expect(page.locator("#shopper-not-found")).to_be_visible()
    shot("shopper_404_phone")


def test_a_rest_of_world_form_changes_its_fields_with_the_country(browse):
    campaign = reward_campaign(marketplace="WW")
    grant = grant_for(campaign)
    make_shopper("kim@shopper.test")
    page = browse().new_page()
    sign_in(page, f"/r/{grant.token}/", "kim@shopper.test")
    page.locator("li", has_text="Wireless Earbuds").get_by_role("link", name="Choose").click()
    form = page.locator("#claim-form")
    expect(form.locator("[name=area]")).to_have_count(0)  # no country chosen yet

    form.get_by_label("Country").select_option(label="Canada")

    expect(page).to_have_url(re.compile(r"country=CA"))
    expect(form.get_by_label("Province")).to_be_visible()
    expect(form.get_by_label("Country")).to_have_value("CA")
    form.get_by_label("Country").select_option(label="Germany")
    expect(form.get_by_label("Country")).to_have_value("DE")
    expect(form.locator("[name=area]")).to_have_count(0)
