"""Every reward group's test preview, and every live reward page, speaks its marketplace's
language with prices in its conventions, whichever marketplace comes first in the campaign."""

from __future__ import annotations

import pytest

from rewards.redemption.language import preview_marketplace

from .redemption_helpers import (
    add_reward_group,
    grant_for,
    reward_campaign,
    us_de_jp_preview_campaign,
)

pytestmark = pytest.mark.django_db


def _preview(client, campaign, group: str):
    return client.get(f"/r/test/{campaign.campaign_id}/", {"group": group})


def test_the_de_preview_of_a_us_first_campaign_is_in_german_with_euro_prices(client):
    campaign = us_de_jp_preview_campaign()

    response = _preview(client, campaign, "DE")

    body = response.content.decode()
    assert response["Content-Language"] == "de"
    assert '<html lang="de">' in body
    assert "Wählen Sie Ihre Prämie" in body and "Testmodus: Es wird nichts eingelöst" in body
    assert "Kopfhörer" in body and "13,99\xa0€" in body
    assert "Pick your reward" not in body and "€13.99" not in body
    assert "Wireless Earbuds" not in body  # the US group's products stay on the US preview


def test_the_jp_preview_of_a_us_first_campaign_is_in_japanese_with_yen_prices(client):
    campaign = us_de_jp_preview_campaign()

    response = _preview(client, campaign, "JP")

    body = response.content.decode()
    assert response["Content-Language"] == "ja"
    assert "特典を選んでください" in body and "テストモード" in body
    assert "￥1,480" in body
    assert "Pick your reward" not in body


def test_the_us_preview_and_the_default_preview_are_in_english(client):
    campaign = us_de_jp_preview_campaign()

    default = client.get(f"/r/test/{campaign.campaign_id}/")
    for response in (_preview(client, campaign, "US"), default):
        body = response.content.decode()
        assert response["Content-Language"] == "en"
        assert "Pick your reward" in body and "$19.99" in body
        assert "Wählen Sie" not in body


def test_the_preview_language_follows_the_group_from_one_request_to_the_next(client):
    # The session remembers the last language; the next preview asks for its own group.
    campaign = us_de_jp_preview_campaign()

    languages = [
        _preview(client, campaign, group)["Content-Language"] for group in ("DE", "US", "JP", "DE")
    ]

    assert languages == ["de", "en", "ja", "de"]


def test_an_unknown_group_shows_the_first_group_in_its_language(client):
    campaign = us_de_jp_preview_campaign()

    response = _preview(client, campaign, "FR")

    assert response["Content-Language"] == "en"
    assert "$19.99" in response.content.decode()


def test_the_test_claim_of_the_de_group_is_in_german(client):
    campaign = us_de_jp_preview_campaign()
    product = campaign.reward_groups.get(marketplace_id="DE").products.get()

    response = client.get(
        f"/r/test/{campaign.campaign_id}/claim/", {"group": "DE", "product": product.pk}
    )

    assert response["Content-Language"] == "de"
    assert "13,99\xa0€" in response.content.decode()


def test_a_live_reward_page_of_a_de_grant_on_a_us_first_campaign_is_in_german(client):
    campaign = reward_campaign()
    de_group = add_reward_group(campaign, marketplace="DE", title="Kopfhörer", price="13.99")
    grant = grant_for(campaign, reward_group=de_group)

    response = client.get(f"/r/{grant.token}/")

    body = response.content.decode()
    assert response["Content-Language"] == "de"
    assert "Wählen Sie Ihre Prämie" in body and "13,99\xa0€" in body


@pytest.mark.parametrize(
    ("requested", "shown"),
    [("DE", "DE"), ("de", "DE"), ("JP", "JP"), ("", "US"), (None, "US"), ("FR", "US")],
)
def test_a_preview_shows_the_group_asked_for_or_the_first(requested, shown):
    assert preview_marketplace(["US", "DE", "JP"], requested) == shown
