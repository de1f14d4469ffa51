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
