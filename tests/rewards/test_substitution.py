"""Out of stock (SPEC §8): the in-stock product of the same marketplace whose reference price is
closest to the picked one without exceeding the campaign's CPA."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rewards.redemption.substitution import substitute_for_out_of_stock

from ..factories import ProductFactory
from .claim_helpers import a_grant

pytestmark = pytest.mark.django_db


def test_an_in_stock_pick_is_shipped_as_picked():
    grant = a_grant(cpa=Decimal("30.0000"))
    picked = ProductFactory(price=Decimal("20.00"))
    ProductFactory(price=Decimal("20.00"))

    assert substitute_for_out_of_stock(product=picked, grant=grant) == picked


def test_an_out_of_stock_pick_is_replaced_by_the_closest_in_stock_item_under_the_cpa():
    # US reference price = price + 10.02 % tax: $20 → $22.00, the CPA of $30 covers up to ~$27.
    grant = a_grant(cpa=Decimal("30.0000"))
    picked = ProductFactory(price=Decimal("20.00"), in_stock=False, title="Picked earbuds")
    ProductFactory(price=Decimal("15.00"), title="Cheaper speaker")
    closest = ProductFactory(price=Decimal("21.00"), title="Similar earbuds")
    ProductFactory(price=Decimal("27.50"), title="Over the CPA once taxed")  # $30.26 > $30
    ProductFactory(price=Decimal("20.00"), in_stock=False, title="Also out of stock")
    ProductFactory(price=Decimal("20.00"), is_active=False, title="Withdrawn")
    ProductFactory(price=Decimal("20.00"), marketplace_id="UK", title="Another marketplace")

    assert substitute_for_out_of_stock(product=picked, grant=grant) == closest


def test_a_dearer_item_is_chosen_when_it_is_the_closest_and_fits_the_cpa():
    grant = a_grant(cpa=Decimal("30.0000"))
    picked = ProductFactory(price=Decimal("20.00"), in_stock=False)
    ProductFactory(price=Decimal("12.00"))
    dearer = ProductFactory(price=Decimal("24.00"))

    assert substitute_for_out_of_stock(product=picked, grant=grant) == dearer


def test_equally_close_items_go_to_the_cheaper_one():
    grant = a_grant(cpa=Decimal("30.0000"))
    picked = ProductFactory(price=Decimal("20.00"), in_stock=False)
    ProductFactory(price=Decimal("22.00"))
    cheaper = ProductFactory(price=Decimal("18.00"))

    assert substitute_for_out_of_stock(product=picked, grant=grant) == cheaper


def test_there_is_no_substitute_when_nothing_in_stock_fits_under_the_cpa():
    grant = a_grant(cpa=Decimal("10.0000"))
    picked = ProductFactory(price=Decimal("8.00"), in_stock=False)
    ProductFactory(price=Decimal("9.50"))  # $10.45 with tax: over the $10 CPA

    assert substitute_for_out_of_stock(product=picked, grant=grant) is None


# --- The shopper's side: see the substitute, confirm it --------------------------------------


@pytest.fixture
def out_of_stock_pick(client):
    from rewards.models import Product

    from .redemption_helpers import grant_for, make_shopper, reward_campaign, sign_in

    campaign = reward_campaign()
    grant = grant_for(campaign)
    picked = Product.objects.get(title="Wireless Earbuds")
    Product.objects.filter(pk=picked.pk).update(in_stock=False)
    sign_in(client, make_shopper())
    return grant, picked


def test_the_shopper_sees_the_substitute_of_an_out_of_stock_pick_and_confirms_it(
    client, out_of_stock_pick
):
    from rewards.models import Claim

    from .redemption_helpers import US_ADDRESS

    grant, picked = out_of_stock_pick
    substitute = ProductFactory(title="Noise-cancelling Earbuds", price=Decimal("19.50"))

    page = client.get(f"/r/{grant.token}/").content.decode()
    assert f"/r/{grant.token}/substitute/?product={picked.pk}" in page
    shown = client.get(f"/r/{grant.token}/substitute/?product={picked.pk}").content.decode()
    assert "Wireless Earbuds is out of stock" in shown
    assert "Noise-cancelling Earbuds" in shown
    assert not Claim.objects.exists()  # nothing is claimed before the shopper confirms

    response = client.post(
        f"/r/{grant.token}/claim/",
        {
            "product": picked.pk,
            "name": US_ADDRESS.name,
            "line1": US_ADDRESS.line1,
            "city": US_ADDRESS.city,
            "postcode": US_ADDRESS.postcode,
            "area": US_ADDRESS.area,
            "country": "US",
        },
        follow=True,
    )

    claim = Claim.objects.get()
    assert (claim.product, claim.substitute_for) == (substitute, picked)
    assert "Replaces Wireless Earbuds (out of stock)" in response.content.decode()


def test_an_out_of_stock_pick_without_a_substitute_says_so_clearly(client, out_of_stock_pick):
    from rewards.models import Product

    grant, picked = out_of_stock_pick
    # The only other product of the marketplace is out of stock too.
    Product.objects.exclude(pk=picked.pk).update(in_stock=False)

    shown = client.get(f"/r/{grant.token}/substitute/?product={picked.pk}").content.decode()

    assert "Wireless Earbuds is out of stock and no item of similar value is available" in shown
    assert 'id="claim-form"' not in shown


def test_an_in_stock_pick_goes_straight_to_the_claim(client, out_of_stock_pick):
    from rewards.models import Product

    grant, _ = out_of_stock_pick
    in_stock = Product.objects.get(title="Puzzle Cube")

    response = client.get(f"/r/{grant.token}/substitute/?product={in_stock.pk}")

    assert response.status_code == 302
    assert response["Location"] == f"/r/{grant.token}/claim/?product={in_stock.pk}"
