"""Campaigns: the wizard's draft, the review lifecycle, reward groups (one per marketplace),
moments and the transition history."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone


class Campaign(models.Model):
    """A reward campaign of one app. Built as a draft in the wizard; after submission nothing
    is edited. `status` changes only through the lifecycle service (a conditional UPDATE that
    also writes a CampaignTransition); no code assigns it directly.

    `spent` is the lifetime spend counter, moved by GetReward's conditional UPDATE.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PENDING_APPROVAL = "pending_approval", "Pending approval"
        APPROVED = "approved", "Approved (test mode)"
        LIVE = "live", "Live"
        FINISHED = "finished", "Finished"
        REJECTED = "rejected", "Rejected"
        SUSPENDED = "suspended", "Suspended"

    account = models.ForeignKey(
        "console.Account", on_delete=models.CASCADE, related_name="campaigns"
    )
    app = models.ForeignKey("console.App", on_delete=models.PROTECT, related_name="campaigns")
    campaign_id = models.UUIDField("Campaign ID", default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    # The last wizard step saved, so a draft resumes where it was left.
    wizard_step = models.PositiveSmallIntegerField(default=1)

    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    total_budget = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    cpa = models.DecimalField(
        "cost per action", max_digits=12, decimal_places=4, null=True, blank=True
    )
    spent = models.DecimalField(max_digits=12, decimal_places=4, default=0)

    announcement_message = models.TextField(blank=True)
    announcement_criteria = models.TextField(blank=True)
    redemption_message = models.TextField(blank=True)
    terms = models.TextField("terms and conditions", blank=True)
    banner = models.ImageField(upload_to="banners/", blank=True)

    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    live_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    # When an approved campaign goes live (review period over and start date come) and when it
    # ends (the day after its end date, at midnight in the business time zone); set at approval.
    goes_live_at = models.DateTimeField(null=True, blank=True, editable=False)
    ends_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Bumped (one F() UPDATE) by every saved wizard step and every status move. The review
    # desk's forms carry the version the reviewer saw; approve and reject match it in their
    # conditional UPDATE, so content changed since the page was opened is never decided on.
    version = models.PositiveIntegerField(default=1, editable=False)
    # The reviewer working on the campaign ("Take"): a lease, taken by a conditional UPDATE and
    # lapsing after campaigns.services.review.TAKE_LEASE, so two reviewers never work the same one.
    review_taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    review_taken_at = models.DateTimeField(null=True, blank=True, editable=False)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "submitted_at"]),
            # The sweep's due filters.
            models.Index(fields=["status", "goes_live_at"], name="campaign_status_goes_live"),
            models.Index(fields=["status", "ends_at"], name="campaign_status_ends"),
        ]
        # Approve, reject and suspend are lifecycle moves, not edits: reviewers get this
        # permission (and view), never "change", so they cannot touch budget or CPA.
        permissions = [("review_campaign", "Can approve, reject and suspend campaigns")]
        constraints = [
            models.UniqueConstraint(
                Lower("name"), "account", name="campaign_name_unique_in_account"
            ),
            models.CheckConstraint(
                condition=Q(total_budget__isnull=True) | Q(total_budget__gte=50),
                name="campaign_budget_at_least_50",
            ),
            models.CheckConstraint(
                condition=Q(cpa__isnull=True) | Q(cpa__gt=0), name="campaign_cpa_positive"
            ),
            models.CheckConstraint(
                condition=Q(cpa__isnull=True)
                | Q(total_budget__isnull=True)
                | Q(cpa__lte=F("total_budget")),
                name="campaign_cpa_within_budget",
            ),
            models.CheckConstraint(
                condition=Q(start_date__isnull=True)
                | Q(end_date__isnull=True)
                | Q(end_date__gt=F("start_date")),
                name="campaign_end_after_start",
            ),
            models.CheckConstraint(condition=Q(spent__gte=0), name="campaign_spent_not_negative"),
            models.CheckConstraint(
                condition=Q(total_budget__isnull=True) | Q(spent__lte=F("total_budget")),
                name="campaign_spent_within_budget",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RewardGroup(models.Model):
    """A campaign's rewards in one marketplace; its id in the API is the marketplace code.

    `granted` counts rewards handed out; with a `quantity_limit` the database refuses more.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="reward_groups")
    marketplace = models.ForeignKey(
        "rewards.Marketplace", on_delete=models.PROTECT, related_name="+"
    )
    products = models.ManyToManyField("rewards.Product", blank=True, related_name="+")
    discount_category = models.ForeignKey(
        "rewards.DiscountCategory",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    quantity_limit = models.PositiveIntegerField(null=True, blank=True)
    granted = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["marketplace__position"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "marketplace"], name="reward_group_one_per_marketplace"
            ),
            models.CheckConstraint(
                condition=Q(quantity_limit__isnull=True) | Q(granted__lte=F("quantity_limit")),
                name="reward_group_never_oversold",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} / {self.marketplace_id}"

    @property
    def remaining(self) -> int | None:
        if self.quantity_limit is None:
            return None
        return self.quantity_limit - self.granted


moment_id_validator = RegexValidator(
    r"^[A-Z0-9][A-Z0-9_]{0,63}$",
    "Use capital letters, digits and underscores, like LEVEL_10_COMPLETE.",
)


class Moment(models.Model):
    """An action in the developer's app that earns the reward (e.g. LEVEL_10_COMPLETE).
    A campaign may have several, to A/B test actions; reports count per moment."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="moments")
    moment_id = models.CharField("moment ID", max_length=64, validators=[moment_id_validator])
    action = models.CharField("action it stands for", max_length=200)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "moment_id"], name="moment_id_unique_in_campaign"
            ),
        ]

    def __str__(self) -> str:
        return self.moment_id


class CampaignTransition(models.Model):
    """One recorded status change: who (a user, or the system), when, from, to, and why."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=20, choices=Campaign.Status.choices)
    to_status = models.CharField(max_length=20, choices=Campaign.Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, default="system")
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The email to the account's members: a worker claims the row (notify_claimed_at, a lease,
    # so a worker that died mid-send is retried later) and stamps notified_at once sent, so a
    # task run twice or concurrently mails once.
    notify_claimed_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(notified_at__isnull=True),
                name="transition_unnotified",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign}: {self.from_status} → {self.to_status}"


class CampaignReview(Campaign):
    """The reviewers' queue in Django admin: campaigns pending approval, oldest first."""

    class Meta:
        proxy = True
        verbose_name = "campaign pending approval"
        verbose_name_plural = "review queue"


class CampaignSubmission(models.Model):
    """One round of review: a submission of the campaign, the snapshot of the fields a reviewer
    judges as they were submitted (so a resubmission is compared with the rejected round,
    field by field), and the round's decision: who, when, the checklist and the reason.

    Written by campaign_submit (the round opens) and by approve / reject (it closes); the
    throughput report reads the closed rounds."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="submissions")
    number = models.PositiveIntegerField()
    version = models.PositiveIntegerField()
    submitted_at = models.DateTimeField()
    snapshot = models.JSONField(default=dict)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by_label = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # [{"item": pk, "text": ..., "passed": bool}] as ticked on the desk.
    checklist = models.JSONField(default=list, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["campaign", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "number"], name="campaign_submission_round_unique"
            ),
            # A round is decided once: an outcome always comes with its moment.
            models.CheckConstraint(
                condition=Q(outcome="pending", decided_at__isnull=True)
                | (~Q(outcome="pending") & Q(decided_at__isnull=False)),
                name="campaign_submission_decided_with_moment",
            ),
        ]
        indexes = [models.Index(fields=["decided_at"], name="campaign_submission_decided")]

    def __str__(self) -> str:
        return f"{self.campaign} round {self.number}"


class ReviewChecklistItem(models.Model):
    """One rule of the review policy, kept here so staff edit it in admin: what the reviewer
    checks, and the canned text that pre-fills the rejection reason when the item fails."""

    position = models.PositiveSmallIntegerField(default=0)
    text = models.CharField("what to check", max_length=300)
    rejection_text = models.TextField(
        "rejection text", help_text="Pre-fills the reason the developer reads when this fails."
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = "review checklist item"

    def __str__(self) -> str:
        return self.text


# --- Budget alerts (SPEC §12) ------------------------------------------------------------------


class AlertThreshold(models.IntegerChoices):
    """The shares of a budget (or of the account's monthly cap) that raise an alert."""

    HALF = 50, "50 %"
    MOST = 80, "80 %"
    ALL = 100, "100 %"


class AlertEmailFields(models.Model):
    """The email of an alert to the account's admins, sent after the claim commits: a worker
    claims the row (`email_claimed_at`, a lease, so a worker that died mid-send is retried by
    the sweep) and stamps `emailed_at` once sent, so a task run twice mails once.
    `email_due` is False for a lower threshold crossed in the same sweep as a higher one: the
    higher one's email carries the news (campaigns.results.alerts)."""

    threshold = models.PositiveSmallIntegerField(choices=AlertThreshold.choices)
    created_at = models.DateTimeField(default=timezone.now)
    email_due = models.BooleanField(default=True)
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class BudgetAlert(AlertEmailFields):
    """A campaign reached `threshold` % of its total budget (or has less than one CPA left,
    which counts as 100 %). The unique row is the claim: only the sweep whose INSERT created it
    publishes the webhook event and sends the email, so each threshold alerts once."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="budget_alerts")
    # What the sweep saw when it claimed the alert (what the email says).
    spent = models.DecimalField(max_digits=12, decimal_places=4)
    total_budget = models.DecimalField(max_digits=12, decimal_places=4)

    class Meta:
        ordering = ["campaign", "threshold"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "threshold"], name="budget_alert_once_per_threshold"
            ),
            models.CheckConstraint(
                condition=Q(threshold__in=AlertThreshold.values), name="budget_alert_threshold"
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(emailed_at__isnull=True, email_due=True),
                name="budget_alert_unsent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign}: {self.threshold} % of the budget"


class CapAlert(AlertEmailFields):
    """An account's spend in `month` reached `threshold` % of its monthly spend limit. One row
    per account, month and threshold: a new month alerts again."""

    account = models.ForeignKey(
        "console.Account", on_delete=models.CASCADE, related_name="cap_alerts"
    )
    month = models.DateField(help_text="The first day of the month.")
    spent = models.DecimalField(max_digits=12, decimal_places=4)
    limit = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["account", "month", "threshold"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "month", "threshold"], name="cap_alert_once_per_month"
            ),
            models.CheckConstraint(
                condition=Q(threshold__in=AlertThreshold.values), name="cap_alert_threshold"
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(emailed_at__isnull=True, email_due=True),
                name="cap_alert_unsent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.month:%Y-%m}: {self.threshold} % of the monthly limit"


class CampaignDay(models.Model):
    """A day of a campaign's results for one moment and reward group: the daily rollup the results
    page and CSV read instead of the raw rows, so a campaign with a million charges answers as
    fast as one with ten (SPEC §11).

    Per day, moment and reward group: `actions` counts the rewards handed out (one per CPA
    charge), `spend` sums every ledger entry (corrections included, usually without moment or
    group), `claimed` counts grants redeemed that day, `expired` the grants left unclaimed
    whose expiry fell that day, `returned` the claims returned that day. Rows are written only by
    `campaign_days_roll_up`, up to its CampaignRollup's watermark; what came after it is read
    live from the indexed raw rows."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="days")
    day = models.DateField()
    moment = models.ForeignKey(
        Moment, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    reward_group = models.ForeignKey(
        RewardGroup, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    actions = models.PositiveIntegerField(default=0)
    spend = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    claimed = models.PositiveIntegerField(default=0)
    expired = models.PositiveIntegerField(default=0)
    returned = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["campaign", "day", "moment", "reward_group"]
        constraints = [
            # NULLs are distinct in a plain unique index, hence partial ones: a grant's numbers
            # have both a moment and a reward group, a correction usually neither.
            models.UniqueConstraint(
                fields=["campaign", "day", "moment", "reward_group"],
                condition=Q(moment__isnull=False, reward_group__isnull=False),
                name="campaign_day_one_per_key",
            ),
            models.UniqueConstraint(
                fields=["campaign", "day"],
                condition=Q(moment__isnull=True, reward_group__isnull=True),
                name="campaign_day_one_without_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.day} {self.moment_id or '-'}"


class CampaignRollup(models.Model):
    """How far a campaign's CampaignDay rows go. Rows with a timestamp before `rolled_until`
    are in them (added every few minutes); the days up to `sealed_through` were recomputed
    whole once closed, which also takes in a charge that committed after it was passed.
    Readers add the raw rows from `rolled_until` on (a few minutes' worth).

    Both move only by one conditional UPDATE from the values the roll-up read, which is what
    makes the sweep safe to run twice or concurrently (the second one matches nothing and
    stops)."""

    campaign = models.OneToOneField(
        Campaign, primary_key=True, on_delete=models.CASCADE, related_name="rollup"
    )
    rolled_until = models.DateTimeField()
    sealed_through = models.DateField()
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.campaign_id} until {self.rolled_until}"
