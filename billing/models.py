"""Billing: payment methods, the append-only spend ledger and the monthly spend counters."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class PaymentMethod(models.Model):
    """A card on file (only brand, last four, expiry and billing address; never the number).
    One active method per account."""

    account = models.ForeignKey(
        "console.Account", on_delete=models.CASCADE, related_name="payment_methods"
    )
    brand = models.CharField(max_length=20)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    cardholder_name = models.CharField(max_length=120, blank=True)
    billing_address = models.TextField()
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=Q(is_active=True), name="one_active_payment_method"
            ),
            models.CheckConstraint(
                condition=Q(exp_month__gte=1, exp_month__lte=12), name="card_exp_month_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.brand} •••• {self.last4} ({self.exp_month:02d}/{self.exp_year})"


class LedgerEntry(models.Model):
    """One line of the spend ledger: a CPA charge, or a correction. Never edited or deleted;
    corrections are new entries. `month` (the first day of the month charged) feeds the
    monthly caps and invoices."""

    class Kind(models.TextChoices):
        CHARGE = "charge", "CPA charge"
        CORRECTION = "correction", "Correction"

    account = models.ForeignKey("console.Account", on_delete=models.PROTECT, related_name="+")
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.PROTECT, related_name="ledger_entries"
    )
    moment = models.ForeignKey(
        "campaigns.Moment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    grant = models.OneToOneField(
        "rewards.RewardGrant",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_entry",
    )
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.CHARGE)
    amount = models.DecimalField(max_digits=12, decimal_places=4)
    month = models.DateField()
    memo = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name_plural = "ledger entries"
        indexes = [models.Index(fields=["account", "month"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} ({self.campaign_id})"


class AccountMonthlySpend(models.Model):
    """What an account has spent in one month: the counter the account cap is checked on."""

    account = models.ForeignKey("console.Account", on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    spent = models.DecimalField(max_digits=12, decimal_places=4, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "month"], name="account_month_unique"),
            models.CheckConstraint(condition=Q(spent__gte=0), name="account_month_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.month:%Y-%m}: {self.spent}"


class CampaignMonthlySpend(models.Model):
    """What a campaign has spent in one month: the counter the $5,000 campaign cap is
    checked on."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="monthly_spend"
    )
    month = models.DateField()
    spent = models.DecimalField(max_digits=12, decimal_places=4, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "month"], name="campaign_month_unique"),
            models.CheckConstraint(condition=Q(spent__gte=0), name="campaign_month_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.month:%Y-%m}: {self.spent}"
