"""Django admin for campaigns: the review desk and every campaign, both read-only.

The review queue lists campaigns pending approval by review deadline, with who has taken each;
a campaign's page in the queue is the desk (everything needed to decide, no money, the
checklist, the diff against the rejected round). Approve and reject carry the version the
reviewer saw (campaigns.services.review); suspend is a lifecycle move. All need
`campaigns.review_campaign`. No field, least of all budget, CPA or spend, is edited here, and
reviewers never see money (SPEC §9): only finance and superusers see the money columns."""

from __future__ import annotations

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

from .models import (
    Campaign,
    CampaignReview,
    CampaignTransition,
    Moment,
    ReviewChecklistItem,
    RewardGroup,
)
from .selectors.review import (
    live_taker,
    next_in_queue,
    review_deadline,
    review_desk,
    review_queue,
    review_throughput,
)
from .services.lifecycle import (
    REVIEW_PERMISSION,
    IllegalTransition,
    campaign_suspend,
    earliest_go_live,
)
from .services.review import (
    ChecklistResult,
    ReviewRefused,
    campaign_review_approve,
    campaign_review_reject,
    campaign_review_release,
    campaign_review_take,
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
        "move": campaign_review_reject,
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


# Finance's permission to read the ledger stands for "may see money" in campaign pages.
MONEY_PERMISSION = "billing.view_ledgerentry"


def may_see_money(user) -> bool:
    """Budgets, CPAs, spend and prices are for finance and superusers; reviewers never see
    money (SPEC §9), so every money column and field is left out of their pages."""
    return user.is_superuser or user.has_perm(MONEY_PERMISSION)


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
        return _group_rewards(group, prices=True)


class RewardGroupWithoutPricesInline(RewardGroupInline):
    """The rewards inline as reviewers see it: titles and ASINs, no prices."""

    @admin.display(description="rewards")
    def rewards(self, group: RewardGroup):
        return _group_rewards(group, prices=False)


class MomentInline(ReadOnlyInline):
    model = Moment
    fields = ["moment_id", "action"]
    readonly_fields = fields


class TransitionInline(ReadOnlyInline):
    model = CampaignTransition
    fields = ["created_at", "from_status", "to_status", "actor_label", "reason", "notified_at"]
    readonly_fields = fields
    verbose_name_plural = "history"


def _group_rewards(group: RewardGroup, *, prices: bool):
    lines = [
        format_html(
            "{} — {} {}",
            p.asin,
            p.title,
            format_money(p.price, group.marketplace.currency) if prices else "",
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

    # --- money: finance and superusers only ----------------------------------------------------

    MONEY_COLUMNS = ("total_budget_shown", "cpa_shown", "spent_shown", "actions_bought")

    def get_fieldsets(self, request, obj=None):
        if may_see_money(request.user):
            return self.fieldsets
        return [(name, opts) for name, opts in self.fieldsets if name != "Budget"]

    def get_inlines(self, request, obj):
        if may_see_money(request.user):
            return self.inlines
        return [
            RewardGroupWithoutPricesInline if inline is RewardGroupInline else inline
            for inline in self.inlines
        ]

    def get_list_display(self, request):
        if may_see_money(request.user):
            return self.list_display
        return [column for column in self.list_display if column not in self.MONEY_COLUMNS]

    # --- columns ------------------------------------------------------------------------------

    # Campaigns are in US dollars (SPEC §5).
    total_budget_shown = money_column(Campaign, "total_budget")
    cpa_shown = money_column(Campaign, "cpa")
    spent_shown = money_column(Campaign, "spent")

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

    def _apply(self, request, campaigns, move, done: str, *, as_loaded=False, **kwargs) -> int:
        """Make the move on each campaign, saying what failed and how many moved.
        `as_loaded`: a list action's review move, on each campaign as the action's query
        loaded it (its version then), so one changed since is refused like a stale desk."""
        moved = 0
        for campaign in campaigns:
            extra = {"version": campaign.version} if as_loaded else {}
            try:
                move(campaign=campaign, actor=request.user, **kwargs, **extra)
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
        self._apply(request, list(queryset), campaign_review_approve, "approved", as_loaded=True)

    @admin.action(description="Reject selected campaigns (with a reason)…", permissions=["review"])
    def reject_selected(self, request, queryset: QuerySet):
        return self._reason_move(request, list(queryset), "reject", bulk=True)

    @admin.action(description="Suspend selected campaigns (with a reason)…", permissions=["review"])
    def suspend_selected(self, request, queryset: QuerySet):
        return self._reason_move(request, list(queryset), "suspend", bulk=True)

    def _reason_move(self, request, campaigns: list[Campaign], kind: str, *, bulk: bool):
        """Show the reason form; once it is posted with a reason, make the move. `bulk`: from
        the list's actions (the form re-posts the selection), else from one campaign's page,
        whose form carries the version the reviewer saw."""
        spec = REASON_MOVES[kind]
        posted = "apply" in request.POST if bulk else request.method == "POST"
        form = ReasonForm(request.POST if posted else None, missing=spec["missing"])
        versioned = kind == "reject"
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            if not versioned:
                self._apply(request, campaigns, spec["move"], spec["done"], reason=reason)
            elif bulk:
                self._apply(
                    request, campaigns, spec["move"], spec["done"], reason=reason, as_loaded=True
                )
            else:
                self._apply(
                    request,
                    campaigns,
                    spec["move"],
                    spec["done"],
                    reason=reason,
                    version=_posted_version(request),
                    checklist=_posted_checklist(request),
                )
            return None if bulk else self._back(request, campaigns[0].pk)
        verb = kind.capitalize()
        version = request.POST.get("version") or request.GET.get("version")
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
            # The version of the page the reviewer came from, else the one shown here now.
            "version": (version or campaigns[0].version) if versioned and not bulk else None,
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
        """Any campaign, whatever its status: a second click on Approve finds it (and the
        service says who decided it), where the queue's own query, pending only, gave a 404."""
        if not self.has_review_permission(request):
            raise PermissionDenied
        return get_object_or_404(Campaign.objects.select_related("account", "app"), pk=pk)

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
        moved = self._apply(
            request,
            [campaign],
            campaign_review_approve,
            "approved",
            version=_posted_version(request),
            checklist=_posted_checklist(request),
        )
        if moved and "_next" in request.POST:
            return self._to_next(request, campaign)
        return self._back(request, campaign.pk)

    def _to_next(self, request, campaign: Campaign):
        following = next_in_queue(campaign, request.user)
        if following is None:
            return HttpResponseRedirect(reverse("admin:campaigns_campaignreview_changelist"))
        return HttpResponseRedirect(
            reverse("admin:campaigns_campaignreview_change", args=[following.pk])
        )

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


def _posted_version(request) -> int | None:
    """The campaign version the reviewer's page showed; None (refused) when absent or garbled."""
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return None


def _posted_checklist(request) -> list[ChecklistResult]:
    """The desk's checklist as marked: `check-<item pk>` = pass | fail (unmarked items are
    left out)."""
    marks = {
        int(key.removeprefix("check-")): value
        for key, value in request.POST.items()
        if key.startswith("check-") and key.removeprefix("check-").isdigit()
    }
    if not marks:
        return []
    items = ReviewChecklistItem.objects.filter(pk__in=marks).order_by("position", "pk")
    return [
        ChecklistResult(item=item.pk, text=item.text, passed=marks[item.pk] == "pass")
        for item in items
        if marks[item.pk] in ("pass", "fail")
    ]


@admin.register(CampaignReview)
class CampaignReviewAdmin(CampaignReviewAdminMixin, admin.ModelAdmin):
    """The queue: campaigns pending approval by review deadline, with who has taken each;
    each campaign's page is the review desk."""

    change_list_template = "admin/campaigns/review_queue.html"
    list_display = [
        "name",
        "account",
        "app",
        "submitted_at",
        "age",
        "deadline",
        "taken_by",
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
            .select_related("review_taken_by")
            # The review deadline is submission + a fixed period: earliest deadline first.
            .order_by("submitted_at", "pk")
            # The columns show each campaign's rewards: a fixed number of queries per page.
            .prefetch_related("reward_groups__products", "reward_groups__discount_category")
        )

    @admin.display(description="age")
    def age(self, campaign: Campaign):
        if not campaign.submitted_at:
            return "—"
        days = review_deadline(campaign.submitted_at).age_days
        return f"{days} day{'s' if days != 1 else ''}"

    @admin.display(description="review deadline", ordering="submitted_at")
    def deadline(self, campaign: Campaign):
        if not campaign.submitted_at:
            return "—"
        due = review_deadline(campaign.submitted_at)
        if due.overdue:
            return format_html(
                '<strong class="review-overdue" style="color:#ba2121">{}</strong>', due.label
            )
        return format_html('<span class="review-due">{}</span>', due.label)

    @admin.display(description="taken by")
    def taken_by(self, campaign: Campaign):
        taker = live_taker(campaign)
        take = reverse("admin:campaigns_campaignreview_take", args=[campaign.pk])
        button = format_html(
            '<button type="submit" form="take-form" formaction="{}" class="button take-button" '
            'data-campaign="{}">Take</button>',
            take,
            campaign.pk,
        )
        if taker is None:
            return button
        return format_html('<span class="taken-by">{}</span>', taker.email or taker.get_username())

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/take/", view(self.take_view), name="campaigns_campaignreview_take"),
            path(
                "<int:pk>/release/",
                view(self.release_view),
                name="campaigns_campaignreview_release",
            ),
            path("take-next/", view(self.take_next_view), name="campaigns_campaignreview_next"),
            path("report/", view(self.report_view), name="campaigns_campaignreview_report"),
            *super().get_urls(),
        ]

    def _desk_url(self, pk: int) -> str:
        return reverse("admin:campaigns_campaignreview_change", args=[pk])

    def take_view(self, request, pk: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        campaign = self._campaign_for_move(request, pk)
        try:
            campaign_review_take(campaign=campaign, actor=request.user)
        except (ReviewRefused, PermissionDenied) as exc:
            self.message_user(request, f"“{campaign}”: {exc}", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:campaigns_campaignreview_changelist"))
        self.message_user(request, f"You have taken “{campaign}” for an hour.", messages.SUCCESS)
        return HttpResponseRedirect(self._desk_url(campaign.pk))

    def release_view(self, request, pk: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        campaign = self._campaign_for_move(request, pk)
        campaign_review_release(campaign=campaign, actor=request.user)
        self.message_user(request, f"“{campaign}” is back in the queue.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:campaigns_campaignreview_changelist"))

    def take_next_view(self, request):
        """Take the campaign with the earliest deadline that nobody else holds. Two reviewers
        pressing it at once: the loser tries the next one."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_review_permission(request):
            raise PermissionDenied
        for campaign in review_queue()[:20]:
            if live_taker(campaign) not in (None, request.user):
                continue
            try:
                campaign_review_take(campaign=campaign, actor=request.user)
            except ReviewRefused:
                continue
            return HttpResponseRedirect(self._desk_url(campaign.pk))
        self.message_user(
            request, "Nothing left to take: the queue is empty or taken.", messages.INFO
        )
        return HttpResponseRedirect(reverse("admin:campaigns_campaignreview_changelist"))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The review desk: everything needed to decide on one campaign, and no money."""
        if request.method != "GET":
            raise PermissionDenied  # campaigns are never edited here; moves have their URLs
        campaign = (
            Campaign.objects.select_related("account", "app", "review_taken_by")
            .filter(pk=object_id)
            .first()
        )
        if campaign is None or not self.has_view_permission(request, campaign):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if campaign.status != S.PENDING_APPROVAL:
            # Decided meanwhile: its page in the list of every campaign tells how and by whom.
            return self._back(request, campaign.pk)
        desk = review_desk(campaign)
        following = next_in_queue(campaign, request.user)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Review “{campaign}”",
            "opts": self.opts,
            "desk": desk,
            "campaign": campaign,
            "can_review": self.has_review_permission(request),
            "taken_by_me": desk.taker is not None and desk.taker.pk == request.user.pk,
            "next_url": self._desk_url(following.pk) if following else None,
        }
        return TemplateResponse(request, "admin/campaigns/review_desk.html", context)

    def report_view(self, request):
        """Reviewers' throughput: decisions per day per reviewer, median time to decision,
        and the overdue count. Staff with the review permission or superusers."""
        if not (self.has_review_permission(request) or request.user.is_superuser):
            raise PermissionDenied
        try:
            days = min(max(int(request.GET.get("days", 14)), 1), 90)
        except ValueError:
            days = 14
        report = review_throughput(days=days)
        context = {
            **self.admin_site.each_context(request),
            "title": "Reviewers’ throughput",
            "opts": self.opts,
            "report": report,
            "rows": [
                {
                    "reviewer": r.reviewer,
                    "counts": [r.per_day.get(day, 0) for day in report.days],
                    "total": r.total,
                    "median_hours": r.median_hours,
                }
                for r in report.reviewers
            ],
            "days": days,
        }
        return TemplateResponse(request, "admin/campaigns/review_report.html", context)


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


@admin.register(ReviewChecklistItem)
class ReviewChecklistItemAdmin(admin.ModelAdmin):
    """The review policy as a checklist, edited here by staff: each item's canned rejection
    text pre-fills the reason when a reviewer fails it on the desk."""

    list_display = ["text", "position", "active"]
    list_editable = ["position", "active"]
    list_display_links = ["text"]
    fields = ["text", "rejection_text", "position", "active"]
