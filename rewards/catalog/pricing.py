"""Reference prices of rewards (SPEC §4): selling price + tax allowance + shipping + margin,
in the marketplace's currency and in USD."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from console.money import round_money

from .models import DiscountCategory, ExchangeRate, Marketplace, Product

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

    Tax is charged on the price and is a whole number of cents; the margin is charged on
    price + tax + shipping, and the sum is rounded half up once.
    `marketplace` and `rates` may be passed to save queries in loops.
    """
    marketplace = marketplace or item.marketplace
    base = item.price if isinstance(item, Product) else item.credit_amount
    # The Moments FAQ (seed 001) sets the CPA of a $25 item at $27.50 "to cover the highest sales
    # tax (10.02 % in Louisiana)": 25 × 10.02 % = $2.505 of tax counts as $2.50. So the allowance
    # is rounded to the cent on its own, and an exact half cent goes down. Nearest cent with ties
    # to even is the rounding that does this and still covers the tax to the nearest cent on
    # every other price ($40 → $4.008 → $4.01); truncating would also give $27.50 but fall a
    # cent short on most prices ($40 → $4.00), against "to cover".
    tax = round_money(base * marketplace.tax_allowance_percent / HUNDRED, rounding=ROUND_HALF_EVEN)
    with_shipping = base + tax + marketplace.shipping_allowance
    local = with_shipping * (HUNDRED + marketplace.margin_percent) / HUNDRED
    rates = rates if rates is not None else usd_rates()
    rate = rates.get(marketplace.currency)
    if rate is None:
        raise LookupError(f"No exchange rate for {marketplace.currency}; staff must add one.")
    return ReferencePrice(
        local=round_money(local), currency=marketplace.currency, usd=round_money(local * rate)
    )


def suggested_cpa(prices: list[ReferencePrice]) -> Decimal | None:
    """The smallest tax-inclusive CPA that covers every picked reward: the highest reference
    price in USD (a $25 US item with the 10.02 % tax allowance → $27.50, as in the FAQ)."""
    if not prices:
        return None
    return max(p.usd for p in prices)
