"""The demo catalog (`python manage.py load_demo_catalog`): free products and catalog credits
in every marketplace, with generated images. Deterministic and safe to run again: a second run
adds nothing."""

from __future__ import annotations

import hashlib
from decimal import ROUND_CEILING, Decimal

from console.money import round_money

from .models import Marketplace
from .services import DiscountSpec, ProductSpec

# (key, title, category, price in USD) — the lineup; each marketplace sells most of it.
LINEUP = [
    (
        "sonora-buds",
        "Sonora Wireless Earbuds with Charging Case, Bluetooth 5.3",
        "Headphones",
        "24.99",
    ),
    (
        "sonora-anc",
        "Sonora Over-Ear Noise Cancelling Headphones, 40 h Battery",
        "Headphones",
        "59.99",
    ),
    (
        "kidsafe-phones",
        "KidSafe Volume-Limited Headphones for Kids, Foldable",
        "Headphones",
        "15.99",
    ),
    ("brickbuddy-500", "BrickBuddy Classic Building Bricks, 500 Pieces", "Toys", "29.99"),
    ("wobble-rings", "Wobble & Learn Stacking Rings, Wooden Baby Toy", "Toys", "12.99"),
    ("galaxy-puzzle", "Galaxy Glow Jigsaw Puzzle, 1000 Pieces", "Toys", "17.99"),
    ("little-astronaut", "The Little Astronaut (Hardcover Picture Book)", "Books", "14.99"),
    ("pocket-atlas", "Pocket Atlas of the World, 2026 Edition (Paperback)", "Books", "11.99"),
    ("code-quest", "Code Quest: Programming Puzzles for Young Minds (Paperback)", "Books", "9.99"),
    ("steelcraft-bottle", "Steelcraft Insulated Water Bottle, 750 ml", "Kitchen", "19.99"),
    ("chefs-spatulas", "Chef's Basics Silicone Spatula Set, 3 Pieces", "Kitchen", "9.99"),
    ("voltgo-10k", "VoltGo Power Bank 10,000 mAh, USB-C Fast Charge", "Electronics", "22.99"),
    ("grippro-pad", "GripPro Wireless Game Controller for PC and Mobile", "Video Games", "34.99"),
    ("lumi-cube", "Lumi Cube Smart LED Night Light", "Home", "16.99"),
]
# Fixed demo conversion from USD list prices to local shelf prices. Deliberately not the
# ExchangeRate table: staff edit that, and the demo catalog must come out the same every run.
DEMO_LOCAL_PER_USD = {
    "USD": "1", "GBP": "0.79", "EUR": "0.93", "CAD": "1.37", "BRL": "5.0", "AUD": "1.52",
    "INR": "83", "JPY": "150", "MXN": "17",
}  # fmt: skip
# A gift card's face value and a catalog credit's unit, in each currency.
GIFT_CARD_VALUE = {
    "USD": 25, "GBP": 20, "EUR": 25, "CAD": 30, "BRL": 100, "AUD": 40, "INR": 2000,
    "JPY": 3000, "MXN": 500,
}  # fmt: skip
CREDIT_UNIT = {
    "USD": 5, "GBP": 5, "EUR": 5, "CAD": 5, "BRL": 25, "AUD": 5, "INR": 400, "JPY": 750,
    "MXN": 100,
}  # fmt: skip
# (name, credit in CREDIT_UNITs)
DISCOUNTS = [
    ("Headphones", 4),
    ("Educational Toys", 2),
    ("Children's Books", 2),
    ("Kitchen Gadgets", 3),
    ("Video Game Accessories", 4),
]


def _digest(*parts: str) -> int:
    # hashlib, not hash(): Python salts str hashes per process, the catalog must not change.
    return int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest()[:8], "big")


def demo_asin(key: str) -> str:
    """An ASIN-like code (B0 + 8 upper-case letters and digits), stable for a product key."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    n, chars = _digest("asin", key), []
    for _ in range(8):
        n, i = divmod(n, len(alphabet))
        chars.append(alphabet[i])
    return "B0" + "".join(chars)


WHOLE = Decimal(1)


def shelf_price(usd: Decimal, currency: str) -> Decimal:
    """A price that looks like a real one in the currency: 24.99 $, 19.99 £, 3,980 ¥,
    1,999 ₹, 129.90 R$, 429 MX$."""
    local = usd * Decimal(DEMO_LOCAL_PER_USD[currency])
    if currency == "JPY":
        return round_money(local / 100, WHOLE) * 100 - 20
    if currency == "INR":
        return round_money(local / 100, WHOLE) * 100 - 1
    if currency == "MXN":
        return round_money(local / 10, WHOLE) * 10 - 1
    if currency == "BRL":
        return round_money(local, WHOLE) - Decimal("0.10")
    return round_money(local, WHOLE, rounding=ROUND_CEILING) - Decimal("0.01")


def demo_specs(
    marketplaces: list[Marketplace],
) -> tuple[list[ProductSpec], list[DiscountSpec]]:
    """The demo catalog of these marketplaces, as specs; the same input gives the same output."""
    products: list[ProductSpec] = []
    discounts: list[DiscountSpec] = []
    for mp in marketplaces:
        if mp.currency not in DEMO_LOCAL_PER_USD:
            continue
        for key, title, category, usd in LINEUP:
            # Not every item is sold everywhere (about one in six is missing per marketplace),
            # and about one in nine is out of stock, so filters have something to show.
            if _digest("sold", mp.code, key) % 6 == 0:
                continue
            products.append(
                ProductSpec(
                    marketplace_code=mp.code,
                    asin=demo_asin(key),
                    title=title,
                    category=category,
                    price=shelf_price(Decimal(usd), mp.currency),
                    in_stock=_digest("stock", mp.code, key) % 9 != 0,
                    image_key=key,
                )
            )
        value = GIFT_CARD_VALUE[mp.currency]
        products.append(
            ProductSpec(
                marketplace_code=mp.code,
                asin=demo_asin(f"gift-card-{mp.code}"),
                title=f"{mp.name} eGift Card, {value:,} {mp.currency} (Email Delivery)",
                category="Gift Cards",
                price=Decimal(value),
                in_stock=True,
                image_key=f"gift-card-{mp.currency.lower()}",
                image_caption=f"{value:,} {mp.currency}",
            )
        )
        for name, units in DISCOUNTS:
            discounts.append(
                DiscountSpec(
                    marketplace_code=mp.code,
                    name=name,
                    credit_amount=Decimal(CREDIT_UNIT[mp.currency] * units),
                )
            )
    return products, discounts
