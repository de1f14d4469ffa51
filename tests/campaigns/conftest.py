"""Fixtures of the wizard and campaign page tests: catalog items, banners made with Pillow, drafts
at a given step, a card on file."""

from __future__ import annotations

import functools
import io
import struct
import zlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from billing.services.payments import payment_method_add
from campaigns.models import Campaign
from tests.factories import PASSWORD as PASSWORD_FOR_LOGIN
from tests.factories import (
    CampaignFactory,
    DiscountCategoryFactory,
    MomentFactory,
    ProductFactory,
    RewardGroupFactory,
)

__all__ = ["PASSWORD_FOR_LOGIN"]


@functools.cache
def image_bytes(width: int = 3000, height: int = 600, fmt: str = "PNG", mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), (255, 153, 0) if mode == "RGB" else 0).save(buffer, fmt)
    return buffer.getvalue()


def png_bomb(width: int = 20000, height: int = 20000) -> bytes:
    """A valid 1-bit PNG whose header declares width × height pixels: a few KB on disk, 400
    megapixels once decoded."""
    raw_row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(raw_row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def upload(name: str, content: bytes, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def step_url(campaign: Campaign, step: int) -> str:
    return reverse("campaigns:wizard_step", args=[campaign.campaign_id, step])


@pytest.fixture
def earbuds(db):
    """A $20 US product: reference price $22.00 with the 10.02 % US tax allowance."""
    return ProductFactory(marketplace_id="US", title="Wireless Earbuds", price=Decimal("20.00"))


@pytest.fixture
def speaker(db):
    """A $40 US product: reference price $44.01."""
    return ProductFactory(marketplace_id="US", title="Bluetooth Speaker", price=Decimal("40.00"))


@pytest.fixture
def toys_credit(db):
    return DiscountCategoryFactory(
        marketplace_id="US", name="Educational Toys", credit_amount=Decimal("10.00")
    )


@pytest.fixture
def de_headphones(db):
    return ProductFactory(marketplace_id="DE", title="Kopfhörer", price=Decimal("15.00"))


@pytest.fixture
def card_on_file(acme, alice):
    return payment_method_add(
        account=acme,
        actor=alice,
        card_number="4242424242424242",
        exp_month=12,
        exp_year=timezone.localdate().year + 2,
        cardholder_name="Alice Liddell",
        billing_address="1 Main Street",
    )


def make_complete_draft(app, *, product, banner: bool = True, **fields) -> Campaign:
    """A draft with every step filled: ready for review."""
    values = {"app": app, "status": "draft", "wizard_step": 7}
    values.update(fields)
    campaign = CampaignFactory(**values)
    group = RewardGroupFactory(campaign=campaign, marketplace_id=product.marketplace_id)
    group.products.add(product)
    MomentFactory(campaign=campaign, moment_id="LEVEL_10_COMPLETE", action="Completes level 10")
    if banner:
        campaign.banner.save("banner.png", upload("banner.png", image_bytes()), save=True)
    return campaign


@pytest.fixture
def complete_draft(acme_app, earbuds):
    return make_complete_draft(acme_app, product=earbuds, name="Summer Quest")


@pytest.fixture
def draft_at(acme_app, alice):
    """draft_at(step): a draft whose earlier steps are filled and that resumes at `step`."""

    def build(step: int, **fields) -> Campaign:
        values = {
            "app": acme_app,
            "status": "draft",
            "wizard_step": step,
            "created_by": alice,
            "name": "Summer Quest",
        }
        if step <= 2:
            values.update(start_date=None, end_date=None, name="Untitled campaign 1a2b3c4d")
        if step <= 3:
            values.update(total_budget=None, cpa=None)
        if step <= 6:
            values.update(
                announcement_message="",
                announcement_criteria="",
                redemption_message="",
                terms="",
            )
        values.update(fields)
        return CampaignFactory(**values)

    return build


def future(days: int):
    return timezone.localdate() + timedelta(days=days)
