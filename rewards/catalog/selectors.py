"""Reads of the catalog for the campaign wizard: what a developer can pick per marketplace, with
reference prices, in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Max, Min, Q, QuerySet

from .models import DiscountCategory, Marketplace, Product
from .pricing import ReferencePrice, reference_price, suggested_cpa, usd_rates


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


def pickable_products() -> QuerySet[Product]:
    """The products a campaign may offer: active and in stock."""
    return Product.objects.filter(is_active=True, in_stock=True)


def pickable_discount_categories() -> QuerySet[DiscountCategory]:
    """The discount categories a campaign may offer: active ones."""
    return DiscountCategory.objects.filter(is_active=True)


def wizard_catalog(marketplaces: Iterable[Marketplace]) -> dict[str, MarketplaceCatalog]:
    """The pickable rewards of these marketplaces (active, in-stock products and active discount
    categories), each with its reference price. Three queries whatever the catalog's size."""
    catalogs = {m.code: MarketplaceCatalog(marketplace=m) for m in marketplaces}
    if not catalogs:
        return catalogs
    rates = usd_rates()
    products = (
        pickable_products()
        .filter(marketplace_id__in=catalogs)
        .order_by("marketplace_id", "category", "title")
    )
    for product in products:
        catalog = catalogs[product.marketplace_id]
        product.marketplace = catalog.marketplace
        price = reference_price(product, marketplace=catalog.marketplace, rates=rates)
        catalog.products.append(PricedItem(product, price))
    discounts = (
        pickable_discount_categories()
        .filter(marketplace_id__in=catalogs)
        .order_by("marketplace_id", "name")
    )
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


@dataclass(frozen=True)
class MarketplacePriceRange:
    """The cheapest and the dearest reward a campaign can pick in one marketplace."""

    marketplace: Marketplace
    cheapest: PricedItem
    dearest: PricedItem


@dataclass(frozen=True)
class CatalogPriceRange:
    """What the CPA must be to cover the cheapest, or every, reward of some marketplaces."""

    marketplaces: list[MarketplacePriceRange]
    cheapest: PricedItem | None
    dearest: PricedItem | None
    covers_every_reward: Decimal | None


def _extremes(queryset: QuerySet, price_field: str, codes: list[str]) -> list:
    """The items at the lowest and the highest base price of each marketplace: two queries
    whatever the catalog's size."""
    bounds = (
        queryset.filter(marketplace_id__in=codes)
        .values("marketplace_id")
        .annotate(low=Min(price_field), high=Max(price_field))
        .order_by()
    )
    wanted = Q(pk__in=[])
    for row in bounds:
        wanted |= Q(
            marketplace_id=row["marketplace_id"],
            **{f"{price_field}__in": [row["low"], row["high"]]},
        )
    return list(queryset.filter(wanted).select_related("marketplace"))


def catalog_price_range(marketplaces: Iterable[Marketplace]) -> CatalogPriceRange:
    """Per marketplace, the pickable reward with the lowest and the highest reference price
    (USD), and the CPA that covers every one of them (`suggested_cpa`).

    A reference price only grows with the item's base price within a marketplace (same tax,
    shipping, margin and exchange rate), so only the items at each marketplace's lowest and
    highest base price are priced, through `reference_price` like everywhere else.
    """
    order = {m.code: i for i, m in enumerate(marketplaces)}
    codes = list(order)
    if not codes:
        return CatalogPriceRange([], None, None, None)
    items = _extremes(pickable_products(), "price", codes) + _extremes(
        pickable_discount_categories(), "credit_amount", codes
    )
    priced = priced_picks(items)
    by_code: dict[str, list[PricedItem]] = {}
    for item in priced:
        by_code.setdefault(item.item.marketplace_id, []).append(item)
    ranges = [
        MarketplacePriceRange(
            marketplace=group[0].item.marketplace,
            cheapest=min(group, key=lambda p: (p.price.usd, p.label)),
            dearest=max(group, key=lambda p: (p.price.usd, p.label)),
        )
        for code, group in sorted(by_code.items(), key=lambda pair: order[pair[0]])
    ]
    return CatalogPriceRange(
        marketplaces=ranges,
        cheapest=min((r.cheapest for r in ranges), key=lambda p: p.price.usd, default=None),
        dearest=max((r.dearest for r in ranges), key=lambda p: p.price.usd, default=None),
        covers_every_reward=suggested_cpa([p.price for p in priced]),
    )
