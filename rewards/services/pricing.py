"""Reference prices of rewards (SPEC §4): selling price + tax allowance + shipping + margin,
in the marketplace's currency and in USD."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from billing.money import money

from ..models import DiscountCategory, ExchangeRate, Marketplace, Product

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class ReferencePrice:
    local: Decimal
    currency: str
    usd: Decimal


def usd_rates() -> dict[str, Decimal]:
    """Every exchange rate, in one query: pass it to reference_price in loops."""
    return dict(ExchangeRate.objects.values_list("currency", "usd_per_unit"))


def reference_price(
    item: Product | DiscountCategory,
    *,
    marketplace: Marketplace | None = None,
    rates: dict[str, Decimal] | None = None,
) -> ReferencePrice:
    """The reference price of a product or a discount category's credit.

    Tax is charged on the price, the margin on price + shipping; the sum is rounded once.
    `marketplace` and `rates` may be passed to save queries in loops.
    """
    marketplace = marketplace or item.marketplace
    base = item.price if isinstance(item, Product) else item.credit_amount
    with_tax = base * (HUNDRED + marketplace.tax_allowance_percent) / HUNDRED
    with_shipping = with_tax + marketplace.shipping_allowance
    local = with_shipping * (HUNDRED + marketplace.margin_percent) / HUNDRED
    rates = rates if rates is not None else usd_rates()
    rate = rates.get(marketplace.currency)
    if rate is None:
        raise LookupError(f"No exchange rate for {marketplace.currency}; staff must add one.")
    return ReferencePrice(
        local=money(local), currency=marketplace.currency, usd=money(local * rate)
    )


def suggested_cpa(prices: list[ReferencePrice]) -> Decimal | None:
    """The smallest tax-inclusive CPA that covers every picked reward: the highest reference
    price in USD (a $25 US item with the 10.02 % tax allowance → $27.51)."""
    if not prices:
        return None
    return max(p.usd for p in prices)
