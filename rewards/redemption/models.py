"""Shoppers and what they claim: the shopper account, the claim of a grant and the shopper's
append-only credit ledger (SPEC §8). Imported by rewards/models.py, so they belong to the
`rewards` app and its migrations."""

from __future__ import annotations

from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from console.money import format_money

from .addresses import address_lines


class Shopper(models.Model):
    """A person who redeems rewards: email and password, nothing else. Not a console user: a
    shopper session (`request.session["shopper_id"]`) never satisfies `@login_required`, and a
    developer needs no shopper account. The email is stored lowercased and unique whatever its
    case (the constraint on Lower() also guards rows written around the service)."""

    email = models.EmailField(max_length=254)
    password = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)
    last_login = models.DateTimeField(null=True, blank=True)
    language = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="shopper_email_unique"),
        ]

    def __str__(self) -> str:
        return f"Shopper {self.pk}"

    def set_password(self, raw_password: str) -> None:
        self.password = make_password(raw_password)

    def check_password(self, raw_password: str) -> bool:
        return check_password(raw_password, self.password)


class Claim(models.Model):
    """A shopper's pick for one grant: a product shipped to an address, or a catalog credit.

    Only a claim in `claimed` or `returned` holds the grant (one per grant, by a conditional
    unique constraint); a `flagged` or `blocked` attempt is kept for staff without claiming it.
    """

    class Kind(models.TextChoices):
        PRODUCT = "product", "Product"
        CREDIT = "credit", "Catalog credit"

    class Status(models.TextChoices):
        CLAIMED = "claimed", "Claimed"
        FLAGGED = "flagged", "Flagged for review"
        # Staff released a flagged attempt: the shopper may claim the grant again (the new
        # claim is its own row); this row stays as the record of the attempt.
        RELEASED = "released", "Released by staff"
        BLOCKED = "blocked", "Blocked"
        RETURNED = "returned", "Returned"

    grant = models.ForeignKey(
        "rewards.RewardGrant", on_delete=models.PROTECT, related_name="claims"
    )
    shopper = models.ForeignKey(Shopper, on_delete=models.PROTECT, related_name="claims")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    product = models.ForeignKey(
        "rewards.Product", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    catalog_credit = models.ForeignKey(
        "rewards.DiscountCategory",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The product the shopper picked when it went out of stock and `product` replaced it.
    substitute_for = models.ForeignKey(
        "rewards.Product", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    value = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    ship_name = models.CharField(max_length=120, blank=True)
    ship_line1 = models.CharField(max_length=200, blank=True)
    ship_line2 = models.CharField(max_length=200, blank=True)
    ship_city = models.CharField(max_length=100, blank=True)
    ship_postcode = models.CharField(max_length=20, blank=True)
    # State/prefecture/province and district, for the countries whose addresses have them.
    ship_area = models.CharField(max_length=100, blank=True)
    ship_city_area = models.CharField(max_length=100, blank=True)
    ship_country = models.CharField(max_length=2, blank=True)
    # Lowercased, punctuation and spacing folded: compared across shoppers by the fraud check.
    address_normalised = models.CharField(max_length=600, blank=True, db_index=True)
    device_id = models.CharField(max_length=64, blank=True, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CLAIMED)
    # Why the fraud check flagged this attempt, in words staff read in the fraud queue, as it
    # stood when the claim was made (the links it counted may change later).
    flag_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    returned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [("review_claim", "Can release or block flagged claims")]
        indexes = [
            # A campaign's results count the returns since its rollup's watermark.
            models.Index(
                fields=["returned_at"],
                condition=Q(returned_at__isnull=False),
                name="claim_returned_at",
            ),
            # The admin list (console.admin_lists): newest first, and one index per filter.
            models.Index(fields=["created_at", "id"], name="claim_created"),
            models.Index(fields=["status", "created_at"], name="claim_status_created"),
            models.Index(fields=["kind", "created_at"], name="claim_kind_created"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["grant"],
                condition=Q(status__in=["claimed", "returned"]),
                name="claim_one_per_grant",
            ),
            models.CheckConstraint(
                condition=(Q(kind="product") & Q(product__isnull=False))
                | (Q(kind="credit") & Q(catalog_credit__isnull=False)),
                name="claim_kind_has_its_item",
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="claim_value_not_negative"),
            models.CheckConstraint(
                condition=Q(status="returned", returned_at__isnull=False)
                | (~Q(status="returned") & Q(returned_at__isnull=True)),
                name="claim_returned_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"Claim #{self.pk}"

    def shipping_lines(self) -> list[str]:
        """The shipping address as its country writes it, without the country's name."""
        return address_lines(
            name=self.ship_name,
            line1=self.ship_line1,
            line2=self.ship_line2,
            city=self.ship_city,
            postcode=self.ship_postcode,
            country=self.ship_country,
            area=self.ship_area,
            city_area=self.ship_city_area,
        )


class CreditEntry(models.Model):
    """One line of a shopper's credit ledger: + a credit (a claimed catalog credit, a return),
    − a spend. Never edited or deleted (PostgreSQL refuses it by trigger); the balance is the
    SUM per sub-category and currency."""

    class Reason(models.TextChoices):
        CLAIM = "claim", "Claimed catalog credit"
        RETURN = "return", "Returned product"

    shopper = models.ForeignKey(Shopper, on_delete=models.PROTECT, related_name="credit_entries")
    claim = models.ForeignKey(
        Claim, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_entries"
    )
    # The sub-category the credit is for; empty for general store credit (a returned product).
    catalog_credit = models.ForeignKey(
        "rewards.DiscountCategory",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=10, choices=Reason.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name_plural = "credit entries"
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="credit_entry_not_zero"),
            # A claim credits once for its claim and once for its return, never more.
            models.UniqueConstraint(
                fields=["claim", "reason"],
                condition=Q(claim__isnull=False),
                name="credit_entry_once_per_claim_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{format_money(self.amount, self.currency)} ({self.reason})"
