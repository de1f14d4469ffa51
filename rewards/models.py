"""The models of the `rewards` app: the rewards the API hands out (grants) with its idempotency
records; the catalog (rewards/catalog/models.py) and redemption (rewards/redemption/models.py)
are imported here so that they are models of this app."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

# The catalog (marketplaces, products, discount categories, exchange rates) lives in
# rewards/catalog/; imported here so they are models of this app.
from .catalog.models import DiscountCategory, ExchangeRate, Marketplace, Product


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
            # The admin list (console.admin_lists): newest first, and one index per filter.
            models.Index(fields=["created_at", "id"], name="grant_created"),
            models.Index(fields=["device_type", "created_at"], name="grant_device_created"),
            models.Index(fields=["redeemed_at"], name="grant_redeemed"),
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
