"""The demo catalog command and reference prices (SPEC §4)."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from PIL import Image

from rewards.catalog.pricing import reference_price, suggested_cpa, usd_rates
from rewards.models import DiscountCategory, ExchangeRate, Marketplace, Product
from tests.factories import DiscountCategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def _load() -> str:
    out = StringIO()
    call_command("load_demo_catalog", stdout=out)
    return out.getvalue()


def _media_files() -> dict[str, str]:
    root = Path(settings.MEDIA_ROOT)
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_loading_the_demo_catalog_twice_adds_no_rows_and_no_image_files():
    first_output = _load()
    products = list(Product.objects.order_by("marketplace", "asin").values())
    discounts = list(DiscountCategory.objects.order_by("marketplace", "name").values())
    files = _media_files()

    second_output = _load()

    assert list(Product.objects.order_by("marketplace", "asin").values()) == products
    assert list(DiscountCategory.objects.order_by("marketplace", "name").values()) == discounts
    assert _media_files() == files
    assert f"{len(products)} products ({len(products)} added)" in first_output
    assert f"{len(products)} products (0 added)" in second_output
    assert "(0 drawn)" in second_output


def test_every_marketplace_gets_products_in_several_categories_and_a_discount_category():
    _load()
    assert Marketplace.objects.count() == 13
    for marketplace in Marketplace.objects.all():
        products = Product.objects.filter(marketplace=marketplace)
        assert products.count() >= 8, marketplace.code
        assert products.values("category").distinct().count() >= 5, marketplace.code
        assert DiscountCategory.objects.filter(marketplace=marketplace).exists(), marketplace.code


def test_demo_prices_look_like_local_prices_and_asins_look_like_asins():
    _load()
    us_buds = Product.objects.get(marketplace="US", title__startswith="Sonora Wireless Earbuds")
    jp_buds = Product.objects.get(marketplace="JP", asin=us_buds.asin)
    assert us_buds.price == Decimal("24.99")
    assert jp_buds.price == Decimal("3680")  # 24.99 × 150 ≈ 3,700 yen, less 20: a shelf price
    for product in Product.objects.filter(marketplace__currency__in=["JPY", "INR"]):
        assert product.price >= 500, product
    for asin in Product.objects.values_list("asin", flat=True):
        assert len(asin) == 10 and asin.startswith("B0") and asin.isalnum()
    assert Product.objects.filter(in_stock=False).exists()


def test_the_demo_catalog_is_the_same_on_every_database():
    _load()
    fingerprint = sorted(Product.objects.values_list("marketplace_id", "asin", "price", "in_stock"))
    Product.objects.all().delete()
    DiscountCategory.objects.all().delete()
    _load()
    assert (
        sorted(Product.objects.values_list("marketplace_id", "asin", "price", "in_stock"))
        == fingerprint
    )


def test_product_images_are_600_pixel_pngs_saved_in_media_storage():
    _load()
    product = Product.objects.filter(marketplace="DE").first()
    assert product.image.name.startswith("catalog/demo/")
    with Image.open(product.image.path) as image:
        assert image.format == "PNG"
        assert image.size == (600, 600)
    # Marketplaces selling the same item share its image.
    same_elsewhere = Product.objects.filter(asin=product.asin).exclude(marketplace="DE")
    assert {p.image.name for p in same_elsewhere} <= {product.image.name}


def test_a_missing_image_file_is_drawn_again_without_touching_the_rows():
    _load()
    product = Product.objects.filter(marketplace="US").first()
    Path(product.image.path).unlink()
    output = _load()
    assert "(1 drawn)" in output
    assert Path(product.image.path).exists()


def test_a_rerun_keeps_the_price_staff_changed():
    _load()
    product = Product.objects.filter(marketplace="UK").first()
    Product.objects.filter(pk=product.pk).update(price=Decimal("1.23"))
    _load()
    product.refresh_from_db()
    assert product.price == Decimal("1.23")


# --- Reference prices -------------------------------------------------------------------------


def test_a_25_dollar_us_item_has_the_faqs_tax_inclusive_reference_price_of_27_50():
    item = ProductFactory(marketplace_id="US", price=Decimal("25.00"))
    price = reference_price(item)
    # The FAQ's own example: 25 × 10.02 % = 2.505 of tax, an allowance of $2.50.
    assert price.local == Decimal("27.50")
    assert price.currency == "USD"
    assert price.usd == Decimal("27.50")
    assert suggested_cpa([price]) == Decimal("27.50")


@pytest.mark.parametrize(
    ("price", "reference"),
    [
        ("40.00", "44.01"),  # 4.008 of tax → 4.01: a fraction of a cent is not dropped
        ("75.00", "82.52"),  # 7.515 → 7.52: a half cent goes to the even cent, here up
        ("49.99", "55.00"),  # 5.008998 → 5.01
        ("19.99", "21.99"),  # 2.002998 → 2.00
    ],
)
def test_the_us_tax_allowance_is_the_tax_to_the_nearest_cent(price, reference):
    item = ProductFactory(marketplace_id="US", price=Decimal(price))
    assert reference_price(item).usd == Decimal(reference)


def test_a_euro_item_is_converted_with_the_exchange_rate_staff_set():
    item = ProductFactory(marketplace_id="DE", price=Decimal("20.00"))
    assert reference_price(item).local == Decimal("23.80")  # + 19 % VAT
    assert reference_price(item).usd == Decimal("25.70")  # × 1.08
    ExchangeRate.objects.filter(currency="EUR").update(usd_per_unit=Decimal("1.20"))
    assert reference_price(item).usd == Decimal("28.56")


def test_shipping_and_margin_allowances_are_added_and_a_discount_uses_its_credit():
    Marketplace.objects.filter(code="UK").update(
        shipping_allowance=Decimal("3.00"), margin_percent=Decimal("10")
    )
    credit = DiscountCategoryFactory(marketplace_id="UK", credit_amount=Decimal("10.00"))
    price = reference_price(credit, rates=usd_rates())
    # (10 × 1.20 + 3) × 1.10 = 16.50 GBP; × 1.27 = 20.955 → 20.96 USD
    assert price.local == Decimal("16.50")
    assert price.usd == Decimal("20.96")


def test_a_marketplace_without_an_exchange_rate_says_staff_must_add_one():
    ExchangeRate.objects.filter(currency="JPY").delete()
    item = ProductFactory(marketplace_id="JP", price=Decimal("3000"))
    with pytest.raises(LookupError, match="No exchange rate for JPY"):
        reference_price(item)


def test_suggested_cpa_covers_the_most_expensive_pick_and_is_none_without_picks():
    cheap = reference_price(ProductFactory(marketplace_id="US", price=Decimal("10.00")))
    dear = reference_price(ProductFactory(marketplace_id="WW", price=Decimal("30.00")))
    assert dear.usd == Decimal("35.00")  # Rest of World: no tax, $5 shipping
    assert suggested_cpa([cheap, dear]) == Decimal("35.00")
    assert suggested_cpa([]) is None
