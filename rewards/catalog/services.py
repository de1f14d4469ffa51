"""Writes to the catalog: seeding products and discount categories (the demo catalog), drawing
product images, and the staff edits made in admin (exchange rates)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from console.activity import activity_record

from .models import DiscountCategory, ExchangeRate, Product

IMAGE_SIZE = 600
# Background colour of a product image, by category; anything else gets the fallback.
CATEGORY_COLOURS = {
    "Headphones": (35, 47, 62),
    "Toys": (230, 126, 34),
    "Books": (120, 66, 18),
    "Kitchen": (22, 160, 133),
    "Electronics": (41, 98, 255),
    "Video Games": (142, 68, 173),
    "Home": (192, 57, 43),
    "Gift Cards": (255, 153, 0),
}
FALLBACK_COLOUR = (90, 100, 110)


@dataclass(frozen=True)
class ProductSpec:
    """A product to have in the catalog; `image_key` names its generated image file, so
    marketplaces selling the same item share one file."""

    marketplace_code: str
    asin: str
    title: str
    category: str
    price: Decimal
    in_stock: bool
    image_key: str
    image_caption: str = ""


@dataclass(frozen=True)
class DiscountSpec:
    marketplace_code: str
    name: str
    credit_amount: Decimal


@dataclass(frozen=True)
class SeedResult:
    products_total: int
    products_added: int
    discounts_total: int
    discounts_added: int
    images_total: int
    images_drawn: int


def product_image_name(image_key: str) -> str:
    """The storage name of a generated product image (stable, so a second run finds it)."""
    return f"catalog/demo/{image_key}.png"


def _initials(title: str) -> str:
    words = [w for w in title.replace("-", " ").split() if w[:1].isalnum()]
    return "".join(w[0] for w in words[:2]).upper() or "?"


def _text_width(draw: ImageDraw.ImageDraw, text: str, font) -> int:
    left, _, right, _ = draw.textbbox((0, 0), text, font=font)
    return right - left


def product_image_render(*, title: str, category: str, caption: str = "") -> bytes:
    """A 600 × 600 PNG for a demo product: the category's colour, a disc with the title's
    initials (or `caption`, e.g. a gift card's amount) and the category's name.

    Pure function of its arguments (no timestamps in the PNG), so reruns produce the same bytes.
    """
    colour = CATEGORY_COLOURS.get(category, FALLBACK_COLOUR)
    image = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), colour)
    draw = ImageDraw.Draw(image)
    light = tuple(min(255, c + 60) for c in colour)
    draw.ellipse((120, 80, 480, 440), fill=light, outline=(255, 255, 255), width=8)
    label = caption or _initials(title)
    size = 140 if len(label) <= 3 else 72
    font = ImageFont.load_default(size=size)
    while _text_width(draw, label, font) > 320 and size > 24:
        size -= 8
        font = ImageFont.load_default(size=size)
    # White on dark discs, the category's own colour darkened on light ones (gift cards).
    luminance = 0.299 * light[0] + 0.587 * light[1] + 0.114 * light[2]
    ink = (255, 255, 255) if luminance < 170 else tuple(c // 2 for c in colour)
    draw.text((300, 260), label, font=font, fill=ink, anchor="mm")
    draw.rectangle((0, 490, IMAGE_SIZE, IMAGE_SIZE), fill=(255, 255, 255))
    band_font = ImageFont.load_default(size=44)
    draw.text((300, 545), category, font=band_font, fill=colour, anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _ensure_image(spec: ProductSpec) -> bool:
    """Write the spec's image unless its file is already there; True when it was drawn."""
    name = product_image_name(spec.image_key)
    if default_storage.exists(name):
        return False
    png = product_image_render(title=spec.title, category=spec.category, caption=spec.image_caption)
    saved = default_storage.save(name, ContentFile(png))
    # A racing run may have written it between exists() and save(): keep one file, not two.
    if saved != name:
        default_storage.delete(saved)
    return True


def catalog_seed(*, products: list[ProductSpec], discounts: list[DiscountSpec]) -> SeedResult:
    """Add the products and discount categories that are missing, and draw their images.

    Rows already there (same marketplace and ASIN, or same marketplace and name) are left as
    they are, so staff edits survive a rerun and a second run changes nothing. Image files
    already in storage are reused; missing ones (a wiped media folder) are drawn again.
    """
    images: dict[str, ProductSpec] = {}
    for spec in products:
        images.setdefault(spec.image_key, spec)
    drawn = sum(_ensure_image(spec) for spec in images.values())

    with transaction.atomic():
        have_products = set(Product.objects.values_list("marketplace_id", "asin"))
        new_products = [
            Product(
                marketplace_id=spec.marketplace_code,
                asin=spec.asin,
                title=spec.title,
                category=spec.category,
                price=spec.price,
                in_stock=spec.in_stock,
                image=product_image_name(spec.image_key),
            )
            for spec in products
            if (spec.marketplace_code, spec.asin) not in have_products
        ]
        # ignore_conflicts: a concurrent run adding the same rows must not fail this one.
        Product.objects.bulk_create(new_products, ignore_conflicts=True)

        have_discounts = set(DiscountCategory.objects.values_list("marketplace_id", "name"))
        new_discounts = [
            DiscountCategory(
                marketplace_id=spec.marketplace_code,
                name=spec.name,
                credit_amount=spec.credit_amount,
            )
            for spec in discounts
            if (spec.marketplace_code, spec.name) not in have_discounts
        ]
        DiscountCategory.objects.bulk_create(new_discounts, ignore_conflicts=True)

    return SeedResult(
        products_total=len(products),
        products_added=len(new_products),
        discounts_total=len(discounts),
        discounts_added=len(new_discounts),
        images_total=len(images),
        images_drawn=drawn,
    )


def exchange_rate_set(*, currency: str, usd_per_unit: Decimal, actor) -> ExchangeRate:
    """Set how many US dollars one unit of `currency` is worth (staff, in admin).

    Reference prices read the rate when they are computed, so the change applies to every
    price shown from now on; CPAs of campaigns already submitted are not touched.
    """
    if not getattr(actor, "is_staff", False):
        raise PermissionError("Only staff can change exchange rates.")
    currency = currency.upper()
    with transaction.atomic():
        old = (
            ExchangeRate.objects.filter(currency=currency)
            .values_list("usd_per_unit", flat=True)
            .first()
        )
        rate, _ = ExchangeRate.objects.update_or_create(
            currency=currency,
            defaults={"usd_per_unit": usd_per_unit, "updated_at": timezone.now()},
        )
        activity_record(
            actor=actor,
            account=None,
            action="exchange_rate.set",
            target=rate,
            data={"currency": currency, "old": old, "new": usd_per_unit},
        )
    return rate
