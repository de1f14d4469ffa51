"""Django admin for campaigns: the reviewers' queue (pending approval, oldest first) and every
campaign, both read-only. Approve, reject and suspend (both with a reason, on an intermediate
page) are lifecycle moves through the services, allowed to holders of `campaigns.review_campaign`;
no field, least of all budget, CPA or spend, is edited here."""

from __future__ import annotations

import math

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from console.admin_money import money_column
from console.money import format_money

from .models import Campaign, CampaignReview, CampaignTransition, Moment, RewardGroup
from .services.lifecycle import (
    REVIEW_PERMISSION,
    IllegalTransition,
    campaign_approve,
    campaign_reject,
    campaign_suspend,
    earliest_go_live,
)

S = Campaign.Status


class ReasonForm(forms.Form):
    """The why of a rejection or a suspension: the developer reads it (page and email)."""

    reason = forms.CharField(
        label="Reason (the developer reads it)",
        widget=forms.Textarea(attrs={"rows": 5, "cols": 80}),
        max_length=4000,
    )

    def __init__(self, *args, missing: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.missing = missing
        self.fields["reason"].error_messages["required"] = missing

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise ValidationError(self.missing)
        return reason


# What the intermediate page of each move that needs a reason says.
REASON_MOVES = {
    "reject": {
        "move": campaign_reject,
        "done": "rejected",
        "action": "reject_selected",
        "missing": "Give the developer a reason for the rejection.",
        "explain": "The developer receives the reason by email and sees it on the campaign "
        "page; they can edit the campaign and submit it again, which starts a new seven-day "
        "review period.",
    },
    "suspend": {
        "move": campaign_suspend,
        "done": "suspended",
        "action": "suspend_selected",
        "missing": "Tell the developer why the campaign is suspended.",
        "explain": "The Rewards API stops handing out the campaign's rewards at once. A "
        "suspended campaign cannot be resumed. The developer receives the reason by email.",
    },
}


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class RewardGroupInline(ReadOnlyInline):
    model = RewardGroup
    fields = ["marketplace", "rewards", "quantity_limit", "granted"]
    readonly_fields = fields
    verbose_name_plural = "rewards per marketplace"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("marketplace", "discount_category")
            .prefetch_related("products")
        )

    @admin.display(description="rewards")
    def rewards(self, group: RewardGroup):
        return _group_rewards(group)


class MomentInline(ReadOnlyInline):
    model = Moment
    fields = ["moment_id", "action"]
    readonly_fields = fields


class TransitionInline(ReadOnlyInline):
    model = CampaignTransition
    fields = ["created_at", "from_status", "to_status", "actor_label", "reason", "notified_at"]
    readonly_fields = fields
    verbose_name_plural = "history"


def _group_rewards(group: RewardGroup):
    lines = [
        format_html(
            "{} — {} {}", p.asin, p.title, format_money(p.price, group.marketplace.currency)
        )
        for p in group.products.all()  # prefetched; the group's marketplace is joined
    ]
    if group.discount_category_id:
        lines.append(format_html("Catalog credit: {}", group.discount_category))
    return format_html_join("", "<div>{}</div>", ((line,) for line in lines)) or "—"


class CampaignReviewAdminMixin:
    """What the queue and the full list share: read-only pages, the review actions, and the
    per-campaign buttons (approve, reject with a reason, suspend) on the change page."""

    change_form_template = "admin/campaigns/review_change_form.html"
    actions = ["approve_selected", "reject_selected", "suspend_selected"]
    inlines = [RewardGroupInline, MomentInline, TransitionInline]
    fieldsets = [
        (None, {"fields": ["name", "status", "account", "app", "campaign_id"]}),
        (
            "Review",
            {
                "fields": [
                    "submitted_at",
                    "review_period_ends",
                    "approved_at",
                    "live_at",
                    "finished_at",
                    "rejected_at",
                    "rejection_reason",
                    "suspended_at",
                ]
            },
        ),
        ("Dates", {"fields": ["start_date", "end_date"]}),
        (
            "Budget",
            {"fields": ["total_budget_shown", "cpa_shown", "actions_bought", "spent_shown"]},
        ),
        (
            "Messages",
            {
                "fields": [
                    "announcement_message",
                    "announcement_criteria",
                    "redemption_message",
                    "terms",
                ]
            },
        ),
        ("Banner", {"fields": ["banner_preview"]}),
    ]

    # --- read-only: campaigns are built in the wizard and never edited after submission ----

    def get_readonly_fields(self, request, obj=None):
        return [field for _, options in self.fieldsets for field in options["fields"]]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the history and the ledger hang off the campaign

    def has_review_permission(self, request) -> bool:
        return request.user.has_perm(REVIEW_PERMISSION)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("account", "app")

    # --- columns ------------------------------------------------------------------------------

    # Campaigns are in US dollars (SPEC §5).
    total_budget_shown = money_column(Campaign, "total_budget")
    cpa_shown = money_column(Campaign, "cpa")
    spent_shown = money_column(Campaign, "spent")

    @admin.display(description="review period")
    def review_days_left(self, campaign: Campaign):
        if not campaign.submitted_at:
            return "—"
        left = earliest_go_live(campaign.submitted_at) - timezone.now()
        days = math.ceil(left.total_seconds() / 86400)
        if days <= 0:
            return format_html('<strong style="color:#ba2121">{}</strong>', "over")
        style = "color:#ba2121;font-weight:bold" if days <= 1 else ""
        return format_html(
            '<span style="{}">{} day{} left</span>', style, days, "" if days == 1 else "s"
        )

    @admin.display(description="review period ends")
    def review_period_ends(self, campaign: Campaign):
        if not campaign.submitted_at:
            return "—"
        ends = timezone.localtime(earliest_go_live(campaign.submitted_at))
        return date_format(ends, "DATETIME_FORMAT")

    @admin.display(description="banner")
    def banner_thumb(self, campaign: Campaign):
        if not campaign.banner:
            return "—"
        return format_html(
            '<img src="{}" alt="banner of {}" width="150" height="30" '
            'style="object-fit:cover;border:1px solid #ccc">',
            campaign.banner.url,
            campaign.name,
        )

    @admin.display(description="banner (3000 × 600)")
    def banner_preview(self, campaign: Campaign):
        if not campaign.banner:
            return "—"
        return format_html(
            '<a href="{0}"><img src="{0}" alt="banner of {1}" width="750" height="150" '
            'style="max-width:100%;height:auto;border:1px solid #ccc"></a>',
            campaign.banner.url,
            campaign.name,
        )

    @admin.display(description="rewards per marketplace")
    def rewards_summary(self, campaign: Campaign):
        groups = campaign.reward_groups.all()  # prefetched with products and categories
        return (
            format_html_join(
                "",
                "<div><strong>{}</strong>: {}</div>",
                (
                    (
                        group.marketplace_id,
                        ", ".join(
                            [Truncator(p.title).chars(40) for p in group.products.all()]
                            + (
                                [f"credit: {group.discount_category}"]
                                if group.discount_category_id
                                else []
                            )
                        )
                        + (f" (limit {group.quantity_limit})" if group.quantity_limit else ""),
                    )
                    for group in groups
                ),
            )
            or "—"
        )

    @admin.display(description="messages")
    def messages_summary(self, campaign: Campaign):
        return format_html(
            "<div><em>Announcement:</em> {}</div><div><em>Criteria:</em> {}</div>"
            "<div><em>Redemption:</em> {}</div>",
            Truncator(campaign.announcement_message).chars(120),
            Truncator(campaign.announcement_criteria).chars(80),
            Truncator(campaign.redemption_message).chars(120),
        )

    @admin.display(description="actions the budget buys")
    def actions_bought(self, campaign: Campaign):
        if not campaign.total_budget or not campaign.cpa:
            return "—"
        return int(campaign.total_budget // campaign.cpa)

    # --- moves --------------------------------------------------------------------------------

    def _apply(self, request, campaigns, move, done: str, **kwargs) -> int:
        moved = 0
        for campaign in campaigns:
            try:
                move(campaign=campaign, actor=request.user, **kwargs)
            except (IllegalTransition, PermissionDenied) as exc:
                self.message_user(request, f"“{campaign}”: {exc}", messages.ERROR)
            else:
                moved += 1
        if moved:
            self.message_user(
                request, f"{moved} campaign{'s' if moved != 1 else ''} {done}.", messages.SUCCESS
            )
        return moved

    @admin.action(description="Approve selected campaigns", permissions=["review"])
    def approve_selected(self, request, queryset: QuerySet):
        self._apply(request, queryset, campaign_approve, "approved")

    @admin.action(description="Reject selected campaigns (with a reason)…", permissions=["review"])
    def reject_selected(self, request, queryset: QuerySet):
        return self._reason_move(request, list(queryset), "reject", bulk=True)

    @admin.action(description="Suspend selected campaigns (with a reason)…", permissions=["review"])
    def suspend_selected(self, request, queryset: QuerySet):
        return self._reason_move(request, list(queryset), "suspend", bulk=True)

    def _reason_move(self, request, campaigns: list[Campaign], kind: str, *, bulk: bool):
        """Show the reason form; once it is posted with a reason, make the move. `bulk`: from
        the list's actions (the form re-posts the selection), else from one campaign's page."""
        spec = REASON_MOVES[kind]
        posted = "apply" in request.POST if bulk else request.method == "POST"
        form = ReasonForm(request.POST if posted else None, missing=spec["missing"])
        if form.is_valid():
            self._apply(
                request, campaigns, spec["move"], spec["done"], reason=form.cleaned_data["reason"]
            )
            return None if bulk else self._back(request, campaigns[0].pk)
        verb = kind.capitalize()
        context = {
            **self.admin_site.each_context(request),
            "title": f"{verb} campaigns" if bulk else f"{verb} “{campaigns[0]}”",
            "verb": verb,
            "explain": spec["explain"],
            "opts": self.model._meta,
            "campaigns": campaigns,
            "form": form,
            "bulk": bulk,
            "action": spec["action"],
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/campaigns/reason.html", context)

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/approve/", view(self.approve_view), name=f"{prefix}_approve"),
            path("<int:pk>/reject/", view(self.reject_view), name=f"{prefix}_reject"),
            path("<int:pk>/suspend/", view(self.suspend_view), name=f"{prefix}_suspend"),
            *super().get_urls(),
        ]

    def _campaign_for_move(self, request, pk: int) -> Campaign:
        if not self.has_review_permission(request):
            raise PermissionDenied
        return get_object_or_404(self.get_queryset(request), pk=pk)

    def _back(self, request, pk: int):
        """Back to the campaign's page after a move. A move takes a campaign out of the queue:
        then its page in the list of every campaign (its new status and history), rather
        than the queue's page, which no longer finds it ("perhaps it was deleted?")."""
        if self.get_queryset(request).filter(pk=pk).exists():
            return HttpResponseRedirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[pk])
            )
        if request.user.has_perm("campaigns.view_campaign"):
            return HttpResponseRedirect(reverse("admin:campaigns_campaign_change", args=[pk]))
        return HttpResponseRedirect(
            reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        )

    def approve_view(self, request, pk: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])  # a move is never a GET
        campaign = self._campaign_for_move(request, pk)
        self._apply(request, [campaign], campaign_approve, "approved")
        return self._back(request, campaign.pk)

    def reject_view(self, request, pk: int):
        return self._reason_move(
            request, [self._campaign_for_move(request, pk)], "reject", bulk=False
        )

    def suspend_view(self, request, pk: int):
        return self._reason_move(
            request, [self._campaign_for_move(request, pk)], "suspend", bulk=False
        )

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        context["can_review"] = self.has_review_permission(request)
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)


@admin.register(CampaignReview)
class CampaignReviewAdmin(CampaignReviewAdminMixin, admin.ModelAdmin):
    """The queue: campaigns pending approval, oldest submission first."""

    list_display = [
        "name",
        "account",
        "submitted_at",
        "review_days_left",
        "banner_thumb",
        "rewards_summary",
        "messages_summary",
        "total_budget_shown",
        "cpa_shown",
    ]
    list_display_links = ["name"]
    search_fields = ["name", "account__name", "app__name"]
    list_per_page = 50
    actions = ["approve_selected", "reject_selected"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(status=S.PENDING_APPROVAL)
            .order_by("submitted_at")
            # The columns show each campaign's rewards: a fixed number of queries per page.
            .prefetch_related("reward_groups__products", "reward_groups__discount_category")
        )


@admin.register(Campaign)
class CampaignAdmin(CampaignReviewAdminMixin, admin.ModelAdmin):
    """Every campaign, to look up and suspend; moves are recorded in its history."""

    list_display = [
        "name",
        "account",
        "app",
        "status",
        "submitted_at",
        "start_date",
        "end_date",
        "total_budget_shown",
        "cpa_shown",
        "spent_shown",
    ]
    list_filter = ["status"]
    search_fields = ["name", "campaign_id", "account__name", "app__name"]
    date_hierarchy = "created_at"
    list_per_page = 50

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-created_at")
