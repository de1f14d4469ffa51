"""Developer accounts (companies), their members and invitations, registered apps and API keys."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django_countries.fields import CountryField


class Account(models.Model):
    """A developer company: owns apps, campaigns, payment methods, spend and invoices.

    Every object a developer can reach hangs off an account, and every view scopes its queries
    to the signed-in member's account.
    """

    class PaymentTerms(models.TextChoices):
        CARD = "card", "Card on file"
        INVOICE = "invoice", "Invoice (set by finance)"

    name = models.CharField("company name", max_length=200)
    country = CountryField()
    billing_address = models.TextField()
    # Printed on invoices (the buyer's tax/VAT id); optional (SPEC §9).
    tax_id = models.CharField("tax / VAT id", max_length=40, blank=True)
    # Monthly spend cap across all campaigns (SPEC §5); finance may raise it.
    monthly_spend_limit = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("15000.00")
    )
    payment_terms = models.CharField(
        max_length=10, choices=PaymentTerms.choices, default=PaymentTerms.CARD
    )
    # The first admin who sets a payment method; only they may change it (SPEC §2).
    billing_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(monthly_spend_limit__gte=0), name="account_spend_limit_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's seat in an account. A user belongs to exactly one account."""

    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["joined_at"]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) at {self.account}"

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN


class Invitation(models.Model):
    """An admin's invitation of a teammate by email. Only a hash of the link's token is kept."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(
        max_length=10, choices=Membership.Role.choices, default=Membership.Role.MEMBER
    )
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One open invitation per address and account: re-inviting replaces it.
            models.UniqueConstraint(
                Lower("email"),
                "account",
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.account}"

    @property
    def is_open(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )


class App(models.Model):
    """An app or website registered by an account; campaigns and API keys belong to it."""

    class Platform(models.TextChoices):
        ANDROID = "android", "Android"
        IOS = "ios", "iOS"
        FIRE_OS = "fire_os", "Fire OS"
        WEB = "web", "Web"
        FIRE_TV = "fire_tv", "Fire TV"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="apps")
    app_id = models.UUIDField("App ID", default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120)
    platform = models.CharField(max_length=10, choices=Platform.choices)
    store_url = models.URLField("store URL or website", max_length=500)
    # Where shoppers ask about the app (shown on its reward pages, SPEC §8). Empty: the reward
    # page points them to the store URL or website instead.
    support_email = models.EmailField("support email", blank=True)
    # IPs and CIDRs allowed to call the Rewards API with this app's key; empty = anywhere.
    allowed_ips = models.JSONField(default=list, blank=True)
    # Rewards API calls per second per key; staff may change it (SPEC §7).
    rate_limit_per_second = models.PositiveIntegerField(default=5)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "account", name="app_name_unique_in_account"),
            # Fire TV is not self-service: it goes through a support request (SPEC §3).
            models.CheckConstraint(condition=~Q(platform="fire_tv"), name="app_not_fire_tv"),
            models.CheckConstraint(
                condition=Q(rate_limit_per_second__gte=1), name="app_rate_limit_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """An app's Rewards API key. Only the public prefix and a SHA-256 of the key are stored.

    A key is active until `expires_at` (set when it is rotated: the 24-hour grace period) or
    `revoked_at` (revoked at once). The raw key is shown to the developer once, at creation.
    `last_used_at` / `last_used_ip` tell when and from where it was last used (to the minute).
    """

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="api_keys")
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # When and from where the key last signed a Rewards API call (the client's address through
    # the trusted-proxy rules). Stamped at most once a minute per key, after the answer is
    # computed (rewards.api.auth.key_used): a minute is as precise as "last used" needs to be.
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    # When the account's admins were told the key sat unused for API_KEY_IDLE_DAYS; cleared by
    # its next use, so each idle spell is told once.
    idle_warned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.app})"

    def is_active(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    @property
    def status(self) -> str:
        now = timezone.now()
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None:
            return "expiring" if self.expires_at > now else "expired"
        return "active"


class SpendLimitChange(models.Model):
    """Finance changed an account's monthly spend limit: who, when, from what, to what and why.

    Append-only: written only by `console.services.account_spend_limit_set`, in the transaction
    that changes the limit, and never edited or deleted (the admin shows it read-only).
    """

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="spend_limit_changes"
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    old_limit = models.DecimalField(max_digits=12, decimal_places=2)
    new_limit = models.DecimalField(max_digits=12, decimal_places=2)
    reason = models.TextField()

    class Meta:
        ordering = ["-changed_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(new_limit__gte=0), name="spend_limit_change_not_negative"
            ),
            # The reason is the point of the row: a change nobody can explain is refused.
            models.CheckConstraint(condition=~Q(reason=""), name="spend_limit_change_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.account}: {self.old_limit} → {self.new_limit}"


class ActivityEntry(models.Model):
    """One state change in an account, written by the service that made it, in the same
    transaction (SPEC §12): who, when, what, on which object, from which IP.

    Rows are never edited, but for one kind: a draft's session of editing gathers its steps in
    one row (activity_record_session). `actor_label` keeps who it was after the user is gone;
    staff and the system (sweeps, tasks) appear as themselves. Written only by
    `activity_record` and `activity_record_session`.
    """

    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="activity"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(max_length=254)
    # Dotted and past tense: "app.registered", "campaign.submitted", "invoice.paid".
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "activity entries"
        indexes = [
            models.Index(fields=["account", "-created_at"], name="activity_account_recent"),
            # The admin list (console.admin_lists): newest first, and one index per filter.
            models.Index(fields=["action", "created_at"], name="activity_action_created"),
            models.Index(fields=["created_at", "id"], name="activity_created"),
            models.Index(fields=["object_repr"], name="activity_object_repr"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"


class WebhookEvent(models.Model):
    """An event of an account, stored in the transaction of the change that caused it (an
    outbox): `console.webhooks` fans it out to the account's endpoints (SPEC §12).

    `data` holds counts and ids only, never shopper data.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["account", "-created_at"], name="event_account_recent")]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"


class StaffRequest(models.Model):
    """A developer's request to the Moments team (the original's "Contact us", SPEC §12): a
    higher spend limit, invoice terms, a reward of their own, Merch t-shirts, a Fire TV app or
    anything else. Staff answer it in Django admin through `staff_request_answer`.

    Written only by the services in `console.services` (create, answer, withdraw). The fields a
    kind needs are required by constraints below; the rest stay empty.
    """

    class Kind(models.TextChoices):
        SPEND_LIMIT = "spend_limit", "Raise the monthly spend limit"
        INVOICE_TERMS = "invoice_terms", "Pay by invoice instead of card"
        OWN_REWARD = "own_reward", "A reward of our own (ASIN)"
        MERCH = "merch", "Merch t-shirts (US beta)"
        FIRE_TV = "fire_tv", "Fire TV app registration"
        OTHER = "other", "Something else"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"
        CLOSED = "closed", "Withdrawn"

    # A request of these kinds is about the whole account: a second one while the first is
    # open would only split the conversation.
    ONE_OPEN_PER_ACCOUNT = (Kind.SPEND_LIMIT, Kind.INVOICE_TERMS, Kind.MERCH)
    ANSWERED = (Status.APPROVED, Status.DECLINED)

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="staff_requests")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    subject = models.CharField(max_length=200)
    details = models.TextField(blank=True)
    # Spend limit: the monthly limit wanted; invoice terms: the expected monthly spend (USD).
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    # Own reward: the product and the marketplace (a code of console.marketplaces) it sells in.
    asin = models.CharField("ASIN", max_length=10, blank=True)
    marketplace = models.CharField(max_length=2, blank=True)
    # Fire TV: the app to register.
    app_name = models.CharField(max_length=120, blank=True)
    store_url = models.URLField("store URL", max_length=500, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="staff_request_account_recent"),
            models.Index(fields=["status", "created_at"], name="staff_request_queue"),
        ]
        constraints = [
            # Answered exactly when approved or declined, and then with the words and the time.
            models.CheckConstraint(
                condition=(
                    Q(status__in=["approved", "declined"], answered_at__isnull=False)
                    & ~Q(answer="")
                )
                | (~Q(status__in=["approved", "declined"]) & Q(answered_at__isnull=True)),
                name="staff_request_answered_iff_answer",
            ),
            models.CheckConstraint(
                condition=~Q(kind="spend_limit") | Q(amount__gt=0),
                name="staff_request_spend_limit_has_amount",
            ),
            models.CheckConstraint(
                condition=~Q(kind="own_reward") | (~Q(asin="") & ~Q(marketplace="")),
                name="staff_request_own_reward_has_asin",
            ),
            models.CheckConstraint(
                condition=~Q(kind="fire_tv") | ~Q(app_name=""),
                name="staff_request_fire_tv_has_app",
            ),
            models.UniqueConstraint(
                fields=["account", "kind"],
                condition=Q(status="open", kind__in=["spend_limit", "invoice_terms", "merch"]),
                name="staff_request_one_open_per_kind",
            ),
            models.UniqueConstraint(
                fields=["account", "asin", "marketplace"],
                condition=Q(status="open", kind="own_reward"),
                name="staff_request_one_open_per_asin",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def is_answered(self) -> bool:
        return self.status in self.ANSWERED


# Webhook endpoints, deliveries and attempts live in console/webhooks/models.py (SPEC §12).
from .webhooks.models import (  # noqa: E402, F401
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
