"""The fraud queue (SPEC §8, issue 20): flagged claims in Django admin, each with why it was
flagged, its linked shoppers (same device, same normalised address) and the device's and the
address's history; staff with `rewards.review_claim` (the Support group, superusers) release or
block one from its page or many from the list. Every decision goes through a service
(fraud.py), which writes the activity row and emails the shopper; nothing here edits a row."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Subquery
from django.db.models.functions import Coalesce, Lower
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from console.admin_base import ReadOnlyAdmin
from console.admin_lists import BigTableAdminMixin, IndexedSearchMixin
from rewards.models import Claim, ClaimReview, RewardGrant, Shopper

from .fraud import REVIEW_PERMISSION, ReviewRefused, claim_block, claim_release, claims_decide
from .selectors import claim_links


class AwaitingReviewFilter(admin.SimpleListFilter):
    """The queue opens on what waits for a decision; the decided ones are a click away."""

    title = "review"
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [
            ("awaiting", "Flagged, awaiting a decision"),
            ("decided", "Decided (released or blocked)"),
            ("all", "All claims"),
        ]

    def choices(self, changelist):
        # No "All" of Django's own: ours is explicit, and no parameter means awaiting.
        for value, label in self.lookup_choices:
            yield {
                "selected": (self.value() or "awaiting") == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        value = self.value() or "awaiting"
        reviewed = Exists(ClaimReview.objects.filter(claim=OuterRef("pk")))
        if value == "awaiting":
            return queryset.filter(status=Claim.Status.FLAGGED).exclude(reviewed)
        if value == "decided":
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


def _shoppers_on(field: str):
    """How many shopper accounts have a claim with this claim's device (or address): one
    subquery per column, so the list costs the same queries for one row or a page."""
    same = (
        Claim.objects.filter(**{field: OuterRef(field)})
        .exclude(**{field: ""})
        .values(field)
        .annotate(n=Count("shopper_id", distinct=True))
        .values("n")
    )
    return Coalesce(Subquery(same[:1]), 0)


def _with_linked_counts(claims: list[Claim]) -> list[Claim]:
    """Set `device_shoppers` and `address_shoppers` (how many shopper accounts share each
    claim's device, or address) on the claims of one page, in one query whatever the page's
    size. Not an annotation of the list's queryset: the list's row count would then run both
    subqueries for every row of the table (at 500,000 claims, seconds)."""
    counts = {
        pk: (device, address)
        for pk, device, address in Claim.objects.filter(pk__in=[c.pk for c in claims])
        .annotate(
            device_shoppers=_shoppers_on("device_id"),
            address_shoppers=_shoppers_on("address_normalised"),
        )
        .values_list("pk", "device_shoppers", "address_shoppers")
    }
    for claim in claims:
        claim.device_shoppers, claim.address_shoppers = counts.get(claim.pk, (0, 0))
    return claims


class LinkedCountsChangeList(ChangeList):
    """The claims list: its rows as Django reads them (a capped count of the plain rows), then
    the linked counts of the shown page only."""

    def get_results(self, request):
        super().get_results(request)
        self.result_list = _with_linked_counts(list(self.result_list))


@admin.register(Claim)
class ClaimAdmin(BigTableAdminMixin, IndexedSearchMixin, ReadOnlyAdmin):
    """Claims are written by the claim flow; support staff read them and decide on flagged
    ones."""

    # Four columns: the queue fits beside admin's sidebar and filters at 1280 pixels.
    list_display = ["shopper_and_when", "campaign_and_reward", "why_and_links", "state"]
    list_display_links = ["shopper_and_when"]
    # A big table: indexed filters, exact search (console.admin_lists); ordering per queue.
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
    list_select_related = [
        "shopper",
        "grant__campaign",
        "product",
        "catalog_credit",
        "review__actor",
    ]
    actions = ["release", "block"]
    change_form_template = "admin/rewards/claim/fraud_change_form.html"
    fields = [
        "state",
        "why_flagged",
        "shopper_email",
        "campaign_and_reward",
        "ship_to",
        "device_id",
        "ip",
        "created_at",
    ]
    readonly_fields = fields

    def get_changelist(self, request, **kwargs):
        return LinkedCountsChangeList

    def get_object(self, request, object_id, from_field=None):
        # One claim's page: its linked counts by the same subqueries as the list's page.
        claim = super().get_object(request, object_id, from_field)
        if claim is not None:
            _with_linked_counts([claim])
        return claim

    def changelist_view(self, request, extra_context=None):
        queue = request.GET.get(AwaitingReviewFilter.parameter_name) or "awaiting"
        title = {
            "awaiting": "Fraud queue: flagged claims awaiting a decision",
            "decided": "Fraud queue: decided claims",
        }.get(queue, "Claims")
        return super().changelist_view(request, {"title": title, **(extra_context or {})})

    def get_ordering(self, request):
        # A queue: the oldest flagged attempt first; the decided ones newest first.
        queue = request.GET.get(AwaitingReviewFilter.parameter_name) or "awaiting"
        return ["created_at", "pk"] if queue == "awaiting" else ["-created_at", "-pk"]

    def has_review_permission(self, request) -> bool:
        return request.user.has_perm(REVIEW_PERMISSION)

    # --- Columns, in the words of the desk (no "Shopper 11", no "Grant 286 of 1") ------------

    @admin.display(description="when (UTC)", ordering="created_at")
    def flagged_at(self, obj: Claim) -> str:
        return obj.created_at.strftime("%Y-%m-%d %H:%M")

    @admin.display(description="shopper", ordering="shopper__email")
    def shopper_email(self, obj: Claim) -> str:
        return obj.shopper.email

    @admin.display(description="campaign · reward")
    def campaign_and_reward(self, obj: Claim) -> str:
        item = obj.product.title if obj.product_id else f"{obj.catalog_credit.name} credit"
        return f"{obj.grant.campaign.name} · {item}"

    @admin.display(description="why flagged")
    def why_flagged(self, obj: Claim) -> str:
        if obj.flag_reason:
            return obj.flag_reason
        return "—" if obj.status == Claim.Status.CLAIMED else "Linked shopper accounts."

    def linked(self, obj: Claim) -> str:
        device = obj.device_shoppers if obj.device_id else "—"
        address = obj.address_shoppers if obj.address_normalised else "—"
        return f"shoppers linked: device {device} · address {address}"

    @admin.display(description="shopper · when (UTC)", ordering="created_at")
    def shopper_and_when(self, obj: Claim):
        return format_html(
            '{}<br><span class="quiet">{}</span>', obj.shopper.email, self.flagged_at(obj)
        )

    @admin.display(description="why flagged · links")
    def why_and_links(self, obj: Claim):
        return format_html(
            '{}<br><span class="quiet">{}</span>', self.why_flagged(obj), self.linked(obj)
        )

    @admin.display(description="state", ordering="status")
    def state(self, obj: Claim) -> str:
        review = getattr(obj, "review", None)
        if review is None:
            return obj.get_status_display()
        who = review.actor.email if review.actor else "staff"
        when = review.created_at.strftime("%Y-%m-%d %H:%M")
        return f"{review.get_decision_display()} by {who} on {when}"

    @admin.display(description="ships to")
    def ship_to(self, obj: Claim) -> str:
        if not obj.ship_line1:
            return "— (a catalog credit ships nothing)"
        parts = [obj.ship_name, obj.ship_line1, obj.ship_line2, obj.ship_postcode, obj.ship_city]
        return ", ".join(p for p in [*parts, obj.ship_country] if p)

    # --- Decisions: many from the list, one from the claim's page --------------------------

    def _decide(self, request, claims, decision: str) -> None:
        try:
            done, refused = claims_decide(claims=claims, actor=request.user, decision=decision)
        except PermissionDenied as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        for message in refused:
            self.message_user(request, message, messages.WARNING)
        if done:
            verb = "Released" if decision == ClaimReview.Decision.RELEASE else "Blocked"
            self.message_user(
                request,
                f"{verb} {len(done)} flagged claim(s); each shopper was emailed.",
                messages.SUCCESS,
            )

    @admin.action(description="Release: the shopper may claim the reward", permissions=["review"])
    def release(self, request, queryset):
        self._decide(request, list(queryset), ClaimReview.Decision.RELEASE)

    @admin.action(description="Block: the reward can never be claimed", permissions=["review"])
    def block(self, request, queryset):
        self._decide(request, list(queryset), ClaimReview.Decision.BLOCK)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/release/", view(self.release_view), name="rewards_claim_release"),
            path("<int:pk>/block/", view(self.block_view), name="rewards_claim_block"),
            *super().get_urls(),
        ]

    def _decide_one(self, request, pk: int, service, verb: str):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_review_permission(request):
            raise PermissionDenied
        claim = get_object_or_404(Claim, pk=pk)
        try:
            service(claim=claim, actor=request.user)
        except ReviewRefused as exc:
            self.message_user(request, str(exc), messages.WARNING)
        else:
            self.message_user(
                request,
                f"{verb} claim #{claim.pk} of {claim.shopper.email}: they were emailed.",
                messages.SUCCESS,
            )
        return HttpResponseRedirect(reverse("admin:rewards_claim_changelist"))

    def release_view(self, request, pk: int):
        return self._decide_one(request, pk, claim_release, "Released")

    def block_view(self, request, pk: int):
        return self._decide_one(request, pk, claim_block, "Blocked")

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        if obj is not None:
            awaiting = obj.status == Claim.Status.FLAGGED and getattr(obj, "review", None) is None
            context["links"] = claim_links(obj)
            context["can_decide"] = awaiting and self.has_review_permission(request)
            context["claim"] = obj
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)


@admin.register(ClaimReview)
class ClaimReviewAdmin(ReadOnlyAdmin):
    list_display = ["claim", "decision", "actor_email", "created_at"]
    list_filter = ["decision"]
    list_select_related = ["actor"]

    @admin.display(description="by", ordering="actor__email")
    def actor_email(self, obj: ClaimReview) -> str:
        return obj.actor.email if obj.actor else "—"
