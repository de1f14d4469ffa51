"""Reads of the catalog for the campaign wizard: what a developer can pick per marketplace, with
reference prices, in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from .models import DiscountCategory, Marketplace, Product
from .services.pricing import ReferencePrice, reference_price, usd_rates


@dataclass
class PricedItem:
    """A product or a discount category with its reference price (local currency and USD)."""

    item: Product | DiscountCategory
    price: ReferencePrice

    @property
    def pk(self) -> int:
        return self.item.pk

    @property
    def label(self) -> str:
        if isinstance(self.item, Product):
            return self.item.title
        return f"{self.item.name} credit"


@dataclass
class MarketplaceCatalog:
    marketplace: Marketplace
    products: list[PricedItem] = field(default_factory=list)
    discount_categories: list[PricedItem] = field(default_factory=list)

    def product(self, pk: int) -> PricedItem | None:
        return next((p for p in self.products if p.pk == pk), None)

    def discount_category(self, pk: int) -> PricedItem | None:
        return next((d for d in self.discount_categories if d.pk == pk), None)


def marketplace_list() -> list[Marketplace]:
    return list(Marketplace.objects.order_by("position", "code"))


def wizard_catalog(marketplaces: Iterable[Marketplace]) -> dict[str, MarketplaceCatalog]:
    """The pickable rewards of these marketplaces (active, in-stock products and active discount
    categories), each with its reference price. Three queries whatever the catalog's size."""
    catalogs = {m.code: MarketplaceCatalog(marketplace=m) for m in marketplaces}
    if not catalogs:
        return catalogs
    rates = usd_rates()
    products = Product.objects.filter(
        marketplace_id__in=catalogs, is_active=True, in_stock=True
    ).order_by("marketplace_id", "category", "title")
    for product in products:
        catalog = catalogs[product.marketplace_id]
        product.marketplace = catalog.marketplace
        price = reference_price(product, marketplace=catalog.marketplace, rates=rates)
        catalog.products.append(PricedItem(product, price))
    discounts = DiscountCategory.objects.filter(
        marketplace_id__in=catalogs, is_active=True
    ).order_by("marketplace_id", "name")
    for discount in discounts:
        catalog = catalogs[discount.marketplace_id]
        discount.marketplace = catalog.marketplace
        price = reference_price(discount, marketplace=catalog.marketplace, rates=rates)
        catalog.discount_categories.append(PricedItem(discount, price))
    return catalogs


def priced_picks(
    items: Iterable[Product | DiscountCategory], rates: dict[str, Decimal] | None = None
) -> list[PricedItem]:
    """Reference prices of items already loaded with their marketplace (select_related)."""
    rates = rates if rates is not None else usd_rates()
    return [
        PricedItem(item, reference_price(item, marketplace=item.marketplace, rates=rates))
        for item in items
    ]
