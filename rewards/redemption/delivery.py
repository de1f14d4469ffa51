"""What the reward page tells a shopper about getting their reward (SPEC §8): when it arrives,
and whom to ask. The one place these estimates live: edit them here when shipping changes.

A catalog credit is added to the shopper's balance by the claim itself (services.reward_claim),
so it arrives at once; a product ships from its marketplace, in that marketplace's usual time.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

# Business days from claim to doorstep, per marketplace: (fastest, slowest). Rest of World
# ships through AmazonGlobal, across borders and customs.
SHIPPING_BUSINESS_DAYS = {
    "US": (3, 5),
    "UK": (2, 4),
    "DE": (2, 4),
    "FR": (2, 4),
    "IT": (3, 5),
    "ES": (3, 5),
    "CA": (3, 7),
    "MX": (5, 10),
    "BR": (5, 12),
    "AU": (3, 7),
    "IN": (4, 8),
    "JP": (2, 4),
    "WW": (10, 20),
}
DEFAULT_SHIPPING_BUSINESS_DAYS = (5, 10)


def delivery_estimate(*, kind: str, marketplace_code: str) -> str:
    """When a reward of this kind ("product" or "credit") reaches the shopper, in their
    language: "Added to your balance instantly", "Ships in 3–5 business days"."""
    if kind == "credit":
        return str(_("Added to your balance instantly"))
    low, high = SHIPPING_BUSINESS_DAYS.get(
        (marketplace_code or "").upper(), DEFAULT_SHIPPING_BUSINESS_DAYS
    )
    # Always a range of several days: one plural form is enough in every language we speak.
    return str(_("Delivered in %(low)s–%(high)s business days")) % {"low": low, "high": high}


@dataclass(frozen=True)
class SupportContact:
    """Whom a shopper asks about the app that gave the reward: its support email when the
    developer set one, else its store page or website."""

    app_name: str
    email: str
    url: str


def support_contact(app) -> SupportContact:
    return SupportContact(app_name=app.name, email=app.support_email or "", url=app.store_url)
