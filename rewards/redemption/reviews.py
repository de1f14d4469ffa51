"""Staff's decisions on flagged claims (fraud review, rewards/redemption/fraud.py). Imported by
rewards/models.py so the model belongs to the `rewards` app and its migrations."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ClaimReview(models.Model):
    """Staff's decision on a flagged claim: release or block, by whom and when. One per claim
    (the database refuses a second), so two staff clicking at once decide once."""

    class Decision(models.TextChoices):
        RELEASE = "release", "Released"
        BLOCK = "block", "Blocked"

    claim = models.OneToOneField("rewards.Claim", on_delete=models.PROTECT, related_name="review")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "rewards"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} claim {self.claim_id}"
