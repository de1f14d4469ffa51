"""The rewards catalog: the marketplaces, the products and discount categories a campaign can
hand out, and the exchange rates. Models of the `rewards` app (rewards/models.py imports them);
the catalog is the layer below campaigns, so nothing here imports campaigns, the API, grants or
redemption."""

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
