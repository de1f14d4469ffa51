"""Django admin for the fraud review (SPEC §8): staff see claims, filter the flagged ones and
release or block them. Each action calls a service with the staff member as the actor; nothing
here edits a row itself."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Exists, OuterRef
from django.db.models.functions import Lower

from console.admin_base import ReadOnlyAdmin
from console.admin_lists import BigTableAdminMixin, IndexedSearchMixin
from rewards.models import Claim, ClaimReview, RewardGrant, Shopper

from .fraud import ReviewRefused, claim_block, claim_release


class AwaitingReviewFilter(admin.SimpleListFilter):
    title = "review"
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("awaiting", "Flagged, awaiting a decision"), ("decided", "Decided")]

    def queryset(self, request, queryset):
        reviewed = Exists(ClaimReview.objects.filter(claim=OuterRef("pk")))
        if self.value() == "awaiting":
            return queryset.filter(status=Claim.Status.FLAGGED).exclude(reviewed)
        if self.value() == "decided":
            return queryset.filter(reviewed)
        return queryset


def _shoppers_by_email(term: str):
    # Shoppers' emails are unique on lower(email): that index answers this.
    return (
        Shopper.objects.alias(email_lower=Lower("email"))
        .filter(email_lower=term.lower())
        .values("pk")
    )


def _grants_by_token(term: str):
    return RewardGrant.objects.filter(token=term)


@admin.register(Claim)
class ClaimAdmin(BigTableAdminMixin, IndexedSearchMixin, ReadOnlyAdmin):
    """Claims are written by the claim flow; staff read them and decide on flagged ones."""

    list_display = [
        "pk",
        "created_at",
        "status",
        "decision",
        "kind",
        "shopper_email",
        "grant",
        "device_id",
        "ip",
        "address_normalised",
    ]
    # A big table: indexed filters, exact search and ordering (console.admin_lists).
    list_filter = [
        AwaitingReviewFilter,
        "status",
        "kind",
        ("created_at", admin.DateFieldListFilter),
    ]
    indexed_search = [
        ("shopper_id", _shoppers_by_email),
        ("device_id", ("exact", None, None)),
        ("address_normalised", ("exact", None, None)),
        ("grant_id", _grants_by_token),
        ("id", ("pk", None, None)),
    ]
    list_select_related = ["shopper", "grant", "review"]
    actions = ["release", "block"]
    ordering = ["-created_at", "-id"]

    @admin.display(description="shopper", ordering="shopper__email")
    def shopper_email(self, obj: Claim) -> str:
        return obj.shopper.email

    @admin.display(description="decision")
    def decision(self, obj: Claim) -> str:
        review = getattr(obj, "review", None)
        return f"{review.get_decision_display()} by {review.actor or '-'}" if review else ""

    def _decide(self, request, queryset, service, verb: str) -> None:
        done = 0
        for claim in queryset:
            try:
                service(claim=claim, actor=request.user)
            except ReviewRefused as exc:
                self.message_user(request, str(exc), messages.WARNING)
            else:
                done += 1
        if done:
            self.message_user(request, f"{verb} {done} flagged claim(s).", messages.SUCCESS)

    @admin.action(description="Release: let the shopper claim the reward")
    def release(self, request, queryset):
        self._decide(request, queryset, claim_release, "Released")

    @admin.action(description="Block: the reward can never be claimed")
    def block(self, request, queryset):
        self._decide(request, queryset, claim_block, "Blocked")


@admin.register(ClaimReview)
class ClaimReviewAdmin(ReadOnlyAdmin):
    list_display = ["claim", "decision", "actor", "created_at"]
    list_filter = ["decision"]
