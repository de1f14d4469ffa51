"""Out of stock (SPEC §8): a picked product that went out of stock is replaced by the in-stock
product of the same marketplace whose reference price is closest to it without exceeding the
campaign's CPA ("equal or similar value item"). The shopper sees the substitute and confirms it
(views_substitute.py) before anything is claimed.
"""

from __future__ import annotations

from decimal import Decimal

from rewards.catalog.pricing import reference_price, usd_rates
from rewards.models import Product


def substitute_for_out_of_stock(*, product: Product, grant) -> Product | None:
    """The product to ship for `product` picked on `grant`: itself when in stock, else the
    in-stock product of the same marketplace whose reference price is closest to it without
    exceeding the campaign's CPA; None when there is none.

    Reference prices are computed by pricing.reference_price, the one place that rule lives,
    over the marketplace's active in-stock products (a curated catalog: tens of items, one
    query). Ties go to the cheaper item, then the lower id, so the answer is stable.
    """
    if product.in_stock and product.is_active:
        return product
    cpa = grant.campaign.cpa
    marketplace = product.marketplace
    rates = usd_rates()
    target = reference_price(product, marketplace=marketplace, rates=rates).local
    best: tuple[Decimal, Decimal, int] | None = None
    chosen = None
    candidates = Product.objects.filter(
        marketplace=marketplace, in_stock=True, is_active=True
    ).exclude(pk=product.pk)
    for candidate in candidates:
        price = reference_price(candidate, marketplace=marketplace, rates=rates)
        if cpa is not None and price.usd > cpa:
            continue
        key = (abs(price.local - target), price.local, candidate.pk)
        if best is None or key < best:
            best, chosen = key, candidate
    return chosen
