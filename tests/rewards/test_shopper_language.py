"""Shopper pages speak the marketplace's language (SPEC §8): German for DE, Japanese for JP...,
prices and dates in its conventions, the developer's own messages as written."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import translation

from console.money import format_money
from rewards.redemption.language import format_day, marketplace_language

from .redemption_helpers import grant_for, make_shopper, reward_campaign, sign_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("marketplace", "language"),
    [
        ("US", "en"),
        ("UK", "en"),
        ("DE", "de"),
        ("FR", "fr"),
        ("IT", "it"),
        ("ES", "es"),
        ("MX", "es"),
        ("BR", "pt-br"),
        ("JP", "ja"),
        ("WW", "en"),
        ("IN", "en"),
    ],
)
def test_each_marketplace_has_its_language(marketplace, language):
    assert marketplace_language(marketplace) == language


@pytest.mark.parametrize(
    ("language", "currency", "shown"),
    [
        ("de", "EUR", "1.234,50\xa0€"),
        ("fr", "EUR", "1\u202f234,50\xa0€"),
        ("ja", "JPY", "￥1,235"),
        ("en", "USD", "$1,234.50"),
        ("en", "GBP", "£1,234.50"),
        ("es", "MXN", "$1,234.50"),
        ("es", "EUR", "1.234,50\xa0€"),
        ("pt-br", "BRL", "R$\xa01.234,50"),
    ],
)
def test_prices_follow_the_locales_conventions(language, currency, shown):
    assert format_money(Decimal("1234.50"), currency, language=language) == shown


def test_dates_are_written_in_the_shoppers_language():
    day = datetime.date(2026, 12, 31)
    assert format_day(day, language="de") == "31. Dezember 2026"
    assert format_day(day, language="ja") == "2026年12月31日"
    assert format_day(day, language="en") == "December 31, 2026"


def test_a_german_reward_page_is_in_german_with_euro_prices_and_the_message_as_written(client):
    grant = grant_for(
        reward_campaign(marketplace="DE", redemption_message="Congratulations, Space Miner!")
    )

    response = client.get(f"/r/{grant.token}/")

    body = response.content.decode()
    assert response["Content-Language"] == "de"
    assert '<html lang="de">' in body
    assert "Wählen Sie Ihre Prämie" in body
    assert "Pick your reward" not in body
    assert "19,99\xa0€" in body
    assert "Congratulations, Space Miner!" in body  # the developer's message, untranslated
    assert "Einlösbar bis" in body  # the expiry date sentence


def test_a_japanese_reward_page_is_in_japanese_with_yen_prices(client):
    campaign = reward_campaign(marketplace="JP")
    campaign.reward_groups.get().products.update(price=Decimal("2500"))
    grant = grant_for(campaign)

    body = client.get(f"/r/{grant.token}/").content.decode()

    assert "特典を選んでください" in body
    assert "￥2,500" in body
    assert "年" in body.split('id="expiry"')[1].split("</p>")[0]


def test_the_shopper_carries_on_in_the_rewards_language_on_their_other_pages(client):
    grant = grant_for(reward_campaign(marketplace="FR"))
    client.get(f"/r/{grant.token}/")
    sign_in(client, make_shopper())

    body = client.get("/r/me/").content.decode()

    assert "Mes récompenses" in body


def test_the_language_of_a_shopper_page_does_not_leak_into_the_next_request(client):
    grant = grant_for(reward_campaign(marketplace="DE"))
    assert client.get(f"/r/{grant.token}/")["Content-Language"] == "de"

    # The worker thread goes back to the console's language for whatever it serves next.
    assert translation.get_language() == "en-us"
    assert "Content-Language" not in client.get("/healthz")


def test_a_german_claim_page_labels_its_form_and_refuses_in_german(client):
    from rewards.redemption.services import reward_claim

    from .redemption_helpers import US_ADDRESS

    campaign = reward_campaign(marketplace="DE")
    grant = grant_for(campaign)
    product = campaign.reward_groups.get().products.get(title="Wireless Earbuds")
    winner = make_shopper("first@shopper.test")
    germany = US_ADDRESS.__class__(**{**US_ADDRESS.__dict__, "country": "DE", "area": ""})
    sign_in(client, make_shopper())
    client.get(f"/r/{grant.token}/")

    form = client.get(f"/r/{grant.token}/claim/?product={product.pk}").content.decode()
    # Another shopper claims while this one fills in the form: the claim answers "already
    # claimed" with the reward page, in German.
    reward_claim(
        grant=grant, shopper=winner, product=product, address=germany, device_id="a", ip=None
    )
    refused = client.post(
        f"/r/{grant.token}/claim/",
        {
            "product": product.pk,
            "name": "Erika Muster",
            "line1": "Hauptstraße 5",
            "city": "Berlin",
            "postcode": "10115",
            "country": "DE",
        },
        follow=True,
    ).content.decode()

    assert "Lieferadresse" in form and "Vollständiger Name" in form and "Postleitzahl" in form
    assert "Diese Prämie wurde bereits eingelöst." in refused


@pytest.mark.parametrize("language", ["de", "fr", "it", "es", "pt_BR", "ja"])
def test_every_message_of_the_shopper_pages_is_translated_and_compiled(language):
    from babel.messages.pofile import read_po
    from django.conf import settings

    path = settings.LOCALE_PATHS[0] / language / "LC_MESSAGES" / "django.po"
    with open(path, "rb") as po:
        catalog = read_po(po)
    django_language = language.lower().replace("_", "-")
    with translation.override(django_language):
        for message in catalog:
            if not message.id:
                continue
            assert message.string, f"{language}: {message.id!r} has no translation"
            # The .mo Django reads says the same as the .po (compiled after the last edit).
            assert translation.gettext(message.id) == message.string, message.id
