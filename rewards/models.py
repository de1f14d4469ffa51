"""The rewards catalog (marketplaces, products, discount categories, exchange rates) and the
rewards the API hands out (grants) with its idempotency records."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class Marketplace(models.Model):
    """One of the 13 Amazon marketplaces a campaign's rewards are fulfilled from.

    Its code is also the campaign's reward group id (`US`, `DE`, ...). The allowances that turn
    a selling price into a reference price are set here by staff.
    """

    code = models.CharField(max_length=2, primary_key=True)
    name = models.CharField(max_length=60)
    currency = models.CharField(max_length=3)
    position = models.PositiveSmallIntegerField(default=0)
    tax_allowance_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=0,
        help_text="Highest sales tax / VAT rate of the marketplace, in percent.",
    )
    shipping_allowance = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=0,
        help_text="Added to every reward's price, in the marketplace's currency.",
    )
    margin_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)

    class Meta:
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"


class ExchangeRate(models.Model):
    """How many US dollars one unit of a currency is worth; staff edit these in admin."""

    currency = models.CharField(max_length=3, primary_key=True)
    usd_per_unit = models.DecimalField(max_digits=18, decimal_places=8)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["currency"]
        constraints = [
            models.CheckConstraint(condition=Q(usd_per_unit__gt=0), name="rate_positive"),
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.usd_per_unit} USD"


class Product(models.Model):
    """A free product of a marketplace's catalog, priced in the marketplace's currency."""

    marketplace = models.ForeignKey(Marketplace, on_delete=models.PROTECT, related_name="products")
    asin = models.CharField("ASIN", max_length=10)
    title = models.CharField(max_length=200)
    category = models.CharField(max_length=60)
    image = models.ImageField(upload_to="catalog/", blank=True)
    price = models.DecimalField("selling price", max_digits=12, decimal_places=2)
    in_stock = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["marketplace", "category", "title"]
        constraints = [
            models.UniqueConstraint(fields=["marketplace", "asin"], name="product_asin_unique"),
            models.CheckConstraint(condition=Q(price__gt=0), name="product_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.asin}, {self.marketplace_id})"


class DiscountCategory(models.Model):
    """A catalog credit: an amount the shopper gets towards a curated sub-category."""

    marketplace = models.ForeignKey(
        Marketplace, on_delete=models.PROTECT, related_name="discount_categories"
    )
    name = models.CharField("sub-category", max_length=80)
    credit_amount = models.DecimalField(max_digits=12, decimal_places=2)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["marketplace", "name"]
        verbose_name_plural = "discount categories"
        constraints = [
            models.UniqueConstraint(fields=["marketplace", "name"], name="discount_name_unique"),
            models.CheckConstraint(
                condition=Q(credit_amount__gt=0), name="discount_credit_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} credit ({self.marketplace_id})"


class RewardGrant(models.Model):
    """One reward handed out by GetReward on a live campaign: an unguessable URL token.

    At most one grant per campaign and customerRef (stored hashed), which is what makes a
    repeated call return the same URL and charge once.
    """

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.PROTECT, related_name="grants"
    )
    reward_group = models.ForeignKey(
        "campaigns.RewardGroup", on_delete=models.PROTECT, related_name="grants"
    )
    moment = models.ForeignKey("campaigns.Moment", on_delete=models.PROTECT, related_name="grants")
    token = models.CharField(max_length=64, unique=True)
    customer_ref_hash = models.CharField(max_length=64, null=True, blank=True)
    device_type = models.CharField(max_length=10, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    redeemed_at = models.DateTimeField(null=True, blank=True)
    # Stamped by the expiry sweep (rewards.tasks.expire_grants) for the reports; readers decide
    # expiry by `expires_at`, so they are right even when the sweep is late.
    expired_at = models.DateTimeField(null=True, blank=True)
    # Staff block (fraud review): a blocked grant can never be claimed. db_default because
    # GetReward's SQL function inserts grants without naming this column.
    blocked = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["expires_at"],
                condition=Q(redeemed_at__isnull=True, expired_at__isnull=True),
                name="grant_expiry_due",
            ),
            # A campaign's results count grants, claims and expiries since its rollup's
            # watermark (a few minutes ago).
            models.Index(fields=["campaign", "created_at"], name="grant_campaign_created"),
            models.Index(
                fields=["campaign", "redeemed_at"],
                condition=Q(redeemed_at__isnull=False),
                name="grant_campaign_redeemed",
            ),
            models.Index(
                fields=["campaign", "expires_at"],
                condition=Q(redeemed_at__isnull=True),
                name="grant_campaign_unclaimed_exp",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "customer_ref_hash"],
                condition=Q(customer_ref_hash__isnull=False),
                name="grant_one_per_customer_ref",
            ),
        ]

    def __str__(self) -> str:
        return f"Grant {self.pk} of {self.campaign_id}"


class IdempotencyRecord(models.Model):
    """The stored answer to a request sent with an `Idempotency-Key` header, per API key."""

    api_key = models.ForeignKey("console.ApiKey", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.api_key_id})"


# Shoppers and redemption live in their own module; imported here so they are models of this app.
from .redemption.models import Claim, CreditEntry, Shopper  # noqa: E402
from .redemption.reviews import ClaimReview  # noqa: E402

__all__ = [
    "Claim",
    "ClaimReview",
    "CreditEntry",
    "DiscountCategory",
    "ExchangeRate",
    "IdempotencyRecord",
    "Marketplace",
    "Product",
    "RewardGrant",
    "Shopper",
]
