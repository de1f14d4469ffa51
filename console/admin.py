"""Django admin for accounts, members, apps, API keys (never the secret) and requests to staff."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from billing.admin import set_card_terms, set_invoice_terms

from .activity import SENTENCES
from .admin_base import ReadOnlyAdmin
from .admin_lists import (
    BigTableAdminMixin,
    ChoicesFilter,
    IndexedSearchMixin,
    SelectedAccountFilter,
)
from .forms import SpendLimitForm, StaffRequestAnswerForm
from .models import (
    Account,
    ActivityEntry,
    ApiKey,
    App,
    Invitation,
    Membership,
    SpendLimitChange,
    StaffRequest,
)
from .money import format_money
from .services import (
    SpendLimitNeedsConfirm,
    account_month_spent,
    account_spend_limit_set,
    app_access_changed,
    spend_limit_max,
    staff_request_answer,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "country", "payment_terms", "monthly_spend_limit", "created_at"]
    list_filter = ["country", "payment_terms"]
    search_fields = ["name", "memberships__user__email"]
    inlines = [MembershipInline]
    raw_id_fields = ["billing_owner"]
    change_form_template = "admin/console/account_change_form.html"
    # Terms and the spend limit change through finance's services (billing.services,
    # console.services.account_spend_limit_set), which record who did it and why: never by
    # saving this form.
    readonly_fields = ["payment_terms", "monthly_spend_limit", "spend_limit_history"]
    actions = [set_invoice_terms, set_card_terms]

    def get_readonly_fields(self, request, obj=None):
        # Finance staff hold change_account for its actions (terms, spend limit): every field
        # of a developer's account is theirs to read, not to edit.
        if request.user.is_superuser:
            return self.readonly_fields
        return [
            *(f.name for f in self.model._meta.fields if f.name != "id"),
            "spend_limit_history",
        ]

    def get_inlines(self, request, obj):
        return self.inlines if request.user.is_superuser else []

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("spend_limit_changes__changed_by")

    @admin.display(description="spend limit history")
    def spend_limit_history(self, obj):
        changes = list(obj.spend_limit_changes.all()) if obj and obj.pk else []
        if not changes:
            return "No change since the account was created."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    c.changed_at.strftime("%Y-%m-%d %H:%M UTC"),
                    c.changed_by.email if c.changed_by else "—",
                    f"{format_money(c.old_limit)} → {format_money(c.new_limit)}",
                    c.reason,
                )
                for c in changes
            ),
        )
        return format_html(
            '<table id="spend-limit-history"><thead><tr><th>When</th><th>Who</th>'
            "<th>Limit</th><th>Why</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/spend-limit/",
                view(self.spend_limit_view),
                name="console_account_spend_limit",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        context["can_change_spend_limit"] = obj is not None and self.has_change_permission(
            request, obj
        )
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def spend_limit_view(self, request, pk: int):
        """ "Change spend limit": the current limit and this month's spend shown, the new limit
        and a reason, and a confirmation for a large jump, all checked by the service."""
        account = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_change_permission(request, account):
            raise PermissionDenied
        posted = request.POST if request.method == "POST" else None
        form = SpendLimitForm(posted, ask_confirm=bool(posted and "confirm_asked" in posted))
        if request.method == "POST" and form.is_valid():
            try:
                change = account_spend_limit_set(
                    actor=request.user,
                    account=account,
                    limit=form.cleaned_data["limit"],
                    reason=form.cleaned_data["reason"],
                    confirmed=form.cleaned_data.get("confirm", False),
                )
            except SpendLimitNeedsConfirm as exc:
                form = SpendLimitForm(posted, ask_confirm=True)
                form.is_valid()
                form.add_error("confirm", exc.message_dict["confirm"])
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                self.message_user(
                    request,
                    f"“{account}”: monthly spend limit changed from "
                    f"{format_money(change.old_limit)} to {format_money(change.new_limit)}.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:console_account_change", args=[account.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Change the spend limit of “{account}”",
            "opts": self.model._meta,
            "original": account,
            "form": form,
            "month_spent": account_month_spent(account=account),
            "limit_max": spend_limit_max(),
            "confirm_factor": settings.SPEND_LIMIT_CONFIRM_FACTOR,
        }
        return TemplateResponse(request, "admin/console/spend_limit.html", context)


@admin.register(SpendLimitChange)
class SpendLimitChangeAdmin(ReadOnlyAdmin):
    """Append-only history of spend limit changes (who, when, old, new, why)."""

    list_display = ["changed_at", "account", "old_limit", "new_limit", "changed_by", "reason"]
    search_fields = ["account__name", "reason", "changed_by__email"]
    list_select_related = ["account", "changed_by"]
    date_hierarchy = "changed_at"


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "account", "role", "joined_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "account__name"]
    raw_id_fields = ["user", "account"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "account", "role", "created_at", "expires_at", "accepted_at"]
    search_fields = ["email", "account__name"]
    exclude = ["token_hash"]
    readonly_fields = [
        "account",
        "email",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
    ]


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    fields = ["prefix", "created_at", "expires_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(App)
class AppAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "platform", "rate_limit_per_second", "created_at"]
    list_filter = ["platform"]
    search_fields = ["name", "app_id", "account__name"]
    readonly_fields = ["app_id", "created_at", "created_by"]
    raw_id_fields = ["account"]
    inlines = [ApiKeyInline]

    def save_related(self, request, form, formsets, change):
        # After the app and its inline keys are saved: the allow-list, the rate limit or a
        # key's expiry may have changed, and the Rewards API must not trust its memory.
        super().save_related(request, form, formsets, change)
        if change:
            moved_from = form.initial.get("account")
            app_access_changed(app=form.instance, account_ids=(moved_from,) if moved_from else ())

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        app_access_changed(app=obj)

    def delete_queryset(self, request, queryset):
        apps = list(queryset)
        super().delete_queryset(request, queryset)
        for app in apps:
            app_access_changed(app=app)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are issued in the console only (the secret is shown once to the developer); staff
    can see prefixes and end a key, never read or create one."""

    list_display = ["prefix", "app", "created_at", "expires_at", "revoked_at", "status"]
    search_fields = ["prefix", "app__name"]
    fields = ["prefix", "app", "created_at", "expires_at", "revoked_at"]
    readonly_fields = ["prefix", "app", "created_at"]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        app_access_changed(app=obj.app)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        app_access_changed(app=obj.app)

    def delete_queryset(self, request, queryset):
        apps = {key.app for key in queryset.select_related("app")}
        super().delete_queryset(request, queryset)
        for app in apps:
            app_access_changed(app=app)


class StaffRequestQueueFilter(admin.SimpleListFilter):
    """The queue opens on what is waiting for an answer; the other states are a click away."""

    title = "status"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [
            ("open", "Open (to answer)"),
            ("answered", "Answered"),
            ("closed", "Withdrawn"),
            ("all", "All"),
        ]

    def choices(self, changelist):
        # No "All" of Django's own: ours is explicit, and no parameter means open.
        for value, label in self.lookup_choices:
            yield {
                "selected": (self.value() or "open") == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        value = self.value() or "open"
        if value == "open":
            return queryset.filter(status=StaffRequest.Status.OPEN)
        if value == "answered":
            return queryset.filter(status__in=StaffRequest.ANSWERED)
        if value == "closed":
            return queryset.filter(status=StaffRequest.Status.CLOSED)
        return queryset


@admin.register(StaffRequest)
class StaffRequestAdmin(admin.ModelAdmin):
    """The "Contact us" queue: staff read requests here and answer them through "Answer…",
    which calls `staff_request_answer` (it emails the developer and records the activity).
    Nothing is edited by saving this form: every field is read-only."""

    list_display = [
        "id",
        "created_at",
        "account",
        "kind",
        "subject",
        "status",
        "requested_by",
        "answer_link",
    ]
    list_filter = [StaffRequestQueueFilter, "kind"]
    list_select_related = ["account", "requested_by"]
    search_fields = ["subject", "account__name", "asin", "app_name", "requested_by__email"]
    date_hierarchy = "created_at"
    change_form_template = "admin/console/staffrequest_change_form.html"
    fields = [
        "account",
        "kind",
        "status",
        "subject",
        "details",
        "amount",
        "asin",
        "marketplace",
        "app_name",
        "store_url",
        "requested_by",
        "created_at",
        "answer",
        "answered_by",
        "answered_at",
    ]
    readonly_fields = fields

    def get_ordering(self, request):
        # A queue: the oldest open request first; answered ones newest first.
        queue = request.GET.get(StaffRequestQueueFilter.parameter_name) or "open"
        return ["created_at", "pk"] if queue == "open" else ["-created_at", "-pk"]

    def has_add_permission(self, request):
        return False  # developers raise requests in the console

    def has_change_permission(self, request, obj=None):
        return False  # answered through staff_request_answer, never by saving the form

    def has_delete_permission(self, request, obj=None):
        return False  # the account's history of what it asked and was told

    def _may_answer(self, request) -> bool:
        return request.user.is_staff and request.user.has_perm("console.change_staffrequest")

    @admin.display(description="")
    def answer_link(self, obj):
        if not obj.is_open:
            return ""
        url = reverse("admin:console_staffrequest_answer", args=[obj.pk])
        return format_html('<a class="button" href="{}">Answer…</a>', url)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/answer/",
                view(self.answer_view),
                name="console_staffrequest_answer",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        context["can_answer"] = obj is not None and obj.is_open and self._may_answer(request)
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def answer_view(self, request, pk: int):
        """ "Answer…": approve or decline with the words the developer reads."""
        staff_request = get_object_or_404(
            StaffRequest.objects.select_related("account", "requested_by"), pk=pk
        )
        if not self._may_answer(request):
            raise PermissionDenied
        form = StaffRequestAnswerForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                staff_request_answer(
                    actor=request.user,
                    staff_request=staff_request,
                    decision=form.cleaned_data["decision"],
                    answer=form.cleaned_data["answer"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)  # by field (decision, answer) or for the form
            else:
                self.message_user(
                    request,
                    f"Request #{staff_request.pk} {staff_request.get_status_display().lower()}: "
                    "the developer and their account's admins were emailed the answer.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:console_staffrequest_changelist"))
        account = staff_request.account
        may_change_account = request.user.has_perm("console.change_account")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Answer request #{staff_request.pk}",
            "opts": self.model._meta,
            "original": staff_request,
            "account": account,
            "form": form,
            "spend_limit_url": reverse("admin:console_account_spend_limit", args=[account.pk])
            if may_change_account and staff_request.kind == StaffRequest.Kind.SPEND_LIMIT
            else None,
            "account_url": reverse("admin:console_account_change", args=[account.pk]),
            "accounts_url": reverse("admin:console_account_changelist")
            + "?"
            + urlencode({"q": account.name})
            if may_change_account and staff_request.kind == StaffRequest.Kind.INVOICE_TERMS
            else None,
        }
        return TemplateResponse(request, "admin/console/staff_request_answer.html", context)


class ActionFilter(ChoicesFilter):
    """The actions services record (console.activity.SENTENCES), not a DISTINCT of the log."""

    title = "action"
    parameter_name = "action"

    def choices_list(self):
        return [(action, action) for action in sorted(SENTENCES)]


@admin.register(ActivityEntry)
class ActivityEntryAdmin(BigTableAdminMixin, IndexedSearchMixin, ReadOnlyAdmin):
    """Every account's activity log (SPEC §12), for staff to read: rows are written only by
    the services that made the changes, never here."""

    list_display = ["created_at", "account", "actor_label", "action", "object_repr", "ip"]
    # A big table: indexed filters, search and ordering (console.admin_lists).
    list_filter = [ActionFilter, SelectedAccountFilter, ("created_at", admin.DateFieldListFilter)]
    indexed_search = [
        ("account_id", ("prefix", Account, "name")),
        ("actor_id", ("prefix", get_user_model(), "email")),
        ("action", ("exact", None, None)),
        # The object changed, by its name as it was then ("Space Miner"), exactly.
        ("object_repr", ("exact", None, None)),
    ]
    list_select_related = ["account"]
    ordering = ["-created_at", "-id"]
    readonly_fields = [
        "created_at",
        "account",
        "actor",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "ip",
        "data",
    ]
    fields = readonly_fields
