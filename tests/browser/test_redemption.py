"""The reward URL in a real Chromium (SPEC §8): a phone at 390×844 gets a reward from GetReward
over real HTTP, opens it, creates a shopper account, picks a product, ships it and sees the
confirmation; the URL then says "already claimed" and a second shopper is refused. A catalog
credit at 1280 px ends on My rewards with the balance. German and Japanese pages, and no
sideways scrolling at 360 px."""

from __future__ import annotations

import http.client
import json
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from console.services import app_register
from rewards.models import Claim, CreditEntry
from tests.factories import AccountFactory, MembershipFactory
from tests.rewards.redemption_helpers import grant_for, reward_campaign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SHOPPER_PASSWORD = "plum-tangerine-47-orbit"


@pytest.fixture
def phone(browser, live_server):
    contexts = []

    def open_context(viewport=PHONE):
        context = browser.new_context(base_url=live_server.url, viewport=viewport)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_context
    for context in contexts:
        context.close()


def get_reward(live_server, settings, *, marketplace: str = "US") -> tuple[str, object]:
    """A live campaign of a freshly registered app, and the reward URL its GetReward returns
    over real HTTP (the path of it: the live server's port is not SITE_URL's)."""
    settings.SITE_URL = live_server.url
    membership = MembershipFactory(account=AccountFactory())
    issued = app_register(
        account=membership.account,
        actor=membership.user,
        name="Space Miner",
        platform="android",
        store_url="https://play.example.test/store/apps/details?id=com.acme.miner",
    )
    campaign = reward_campaign(app=issued.api_key.app, marketplace=marketplace)
    body = json.dumps(
        {
            "appId": str(campaign.app.app_id),
            "momentId": "LEVEL_10_COMPLETE",
            "deviceType": "Android",
            "campaignId": str(campaign.campaign_id),
            "rewardGroupId": marketplace,
        }
    ).encode()
    server = urlsplit(live_server.url)
    connection = http.client.HTTPConnection(server.hostname, server.port, timeout=15)
    connection.request(
        "POST",
        "/prod/GetReward",
        body=body,
        headers={"Content-Type": "application/json", "x-api-key": issued.raw},
    )
    response = connection.getresponse()
    answer = json.loads(response.read())
    connection.close()
    assert response.status == 200, answer
    url = answer["rewardNotificationUrl"]
    assert url.startswith(f"{live_server.url}/r/"), answer
    return urlsplit(url).path, campaign


def create_account(page, email: str) -> None:
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(SHOPPER_PASSWORD)
    page.get_by_role("button", name="Create account").click()


def ship_to_seattle(page) -> None:
    form = page.locator("#claim-form")
    form.locator("[name=name]").fill("Dana Shopper")
    form.locator("[name=line1]").fill("12 Elm Street")
    form.locator("[name=city]").fill("Seattle")
    form.locator("[name=area]").select_option("WA")
    form.locator("[name=postcode]").fill("98101")
    page.get_by_role("button", name="Claim this reward").click()


def no_sideways_scrolling(page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


def test_a_phone_claims_a_product_from_the_reward_url_once_and_a_second_shopper_is_refused(
    phone, live_server, settings
):
    path, campaign = get_reward(live_server, settings)
    page = phone()

    page.goto(path)
    expect(page.locator("#redemption-message")).to_have_text(
        "Congratulations, Space Miner! Pick your prize."
    )
    expect(page.locator("#rewards-list")).to_contain_text("Wireless Earbuds")
    expect(page.locator("#rewards-list")).to_contain_text("$19.99")
    create_account(page, "dana@shopper.test")
    expect(page).to_have_url(f"{live_server.url}{path}")  # back on the reward page
    page.locator("li", has_text="Wireless Earbuds").get_by_role("link", name="Choose").click()
    expect(page.locator("#picked-item")).to_have_text("Wireless Earbuds")
    ship_to_seattle(page)

    expect(page.locator("#claim-confirmed")).to_contain_text(
        "Your reward is claimed and will be shipped to you."
    )
    expect(page.locator("#claimed-item")).to_have_text("Wireless Earbuds")
    assert no_sideways_scrolling(page)

    page.goto(path)
    expect(page.locator("#reward-state")).to_have_text("This reward has already been claimed.")
    expect(page.locator("#claim-summary")).to_contain_text("Wireless Earbuds")

    other = phone()
    other.goto(path)
    expect(other.locator("#reward-state")).to_have_text("This reward has already been claimed.")
    expect(other.locator("#claim-summary")).to_have_count(0)  # not theirs to see
    other.get_by_role("link", name="Sign in").click()
    create_account(other, "sam@shopper.test")  # from the sign-in page's link
    product = campaign.reward_groups.get().products.get(title="Puzzle Cube")
    other.goto(f"{path}claim/?product={product.pk}")
    # Claimed already: the claim form is not offered, the page says why.
    expect(other.locator("#reward-state")).to_have_text("This reward has already been claimed.")
    expect(other.locator("#claim-submit")).to_have_count(0)

    assert Claim.objects.filter(status="claimed").count() == 1
    assert Claim.objects.get().shopper.email == "dana@shopper.test"


def test_a_catalog_credit_at_1280_pixels_ends_on_my_rewards_with_the_balance(
    phone, live_server, settings
):
    path, _ = get_reward(live_server, settings)
    page = phone(DESKTOP)

    page.goto(path)
    create_account(page, "lee@shopper.test")
    page.locator("li", has_text="Educational Toys credit").get_by_role(
        "link", name="Choose"
    ).click()
    page.get_by_role("button", name="Claim this reward").click()
    expect(page.locator("#claim-confirmed")).to_contain_text("added to your balance")
    page.get_by_role("link", name="My rewards").first.click()

    expect(page.locator("#balances")).to_contain_text("Educational Toys")
    expect(page.locator("#balances")).to_contain_text("$10.00")
    expect(page.locator("#claims")).to_contain_text("Educational Toys credit")
    expect(page.locator("#credit-history")).to_contain_text("$10.00")
    assert CreditEntry.objects.get().amount == Decimal("10.00")


def test_a_german_reward_page_is_in_german_and_a_japanese_one_in_japanese(phone, live_server):
    german = grant_for(reward_campaign(marketplace="DE"))
    japanese_campaign = reward_campaign(marketplace="JP")
    japanese_campaign.reward_groups.get().products.filter(title="Wireless Earbuds").update(
        price=Decimal("2980")
    )
    japanese = grant_for(japanese_campaign)
    page = phone()

    page.goto(f"/r/{german.token}/")
    expect(page.get_by_role("heading", name="Wählen Sie Ihre Prämie")).to_be_visible()
    expect(page.locator("#rewards-list")).to_contain_text("19,99\xa0€")
    expect(page.get_by_role("link", name="Konto erstellen")).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "de"

    page.goto(f"/r/{japanese.token}/")
    expect(page.get_by_role("heading", name="特典を選んでください")).to_be_visible()
    expect(page.locator("#rewards-list")).to_contain_text("￥2,980")
    expect(page.locator("#expiry")).to_contain_text("年")
    # The developer's message is shown as written, in no language of ours.
    expect(page.locator("#redemption-message")).to_have_text(
        "Congratulations, Space Miner! Pick your prize."
    )


def test_the_shopper_pages_never_scroll_sideways_at_360_pixels(phone, live_server):
    campaign = reward_campaign()
    campaign.reward_groups.get().products.filter(title="Wireless Earbuds").update(
        title="Extraordinarily-long-product-name-without-any-spaces-that-could-push-the-page"
    )
    grant = grant_for(campaign)
    page = phone({"width": 360, "height": 740})

    page.goto(f"/r/{grant.token}/")
    assert no_sideways_scrolling(page)
    create_account(page, "kim@shopper.test")
    assert no_sideways_scrolling(page)
    page.locator("li", has_text="Extraordinarily").get_by_role("link", name="Choose").click()
    assert no_sideways_scrolling(page)
    page.goto("/r/me/")
    assert no_sideways_scrolling(page)
