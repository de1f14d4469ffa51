"""Django admin for accounts, members, apps, API keys (never the secret) and requests to staff."""

from __future__ import annotations

from django import forms
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
from billing.services.dunning import dunning_panel

from .activity import SENTENCES
from .admin_base import ReadOnlyAdmin
from .admin_lists import (
    BigTableAdminMixin,
    ChoicesFilter,
    IndexedSearchMixin,
    SelectedAccountFilter,
)
from .forms import AllowedIpsField, SpendLimitForm, StaffRequestAnswerForm
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
    MONEY_KINDS,
    SpendLimitNeedsConfirm,
    account_month_spent,
    account_spend_limit_set,
    api_key_revoke,
    app_update,
    spend_limit_max,
    staff_request_answer,
    staff_request_may_answer,
)
from .services.staff_requests import FINANCE_PERMISSION

# Money columns of an account: shown to finance (and superusers) only. Reviewers read
# accounts to know whose campaign they review, and SPEC §1 says they never see money.
ACCOUNT_MONEY_FIELDS = ("monthly_spend_limit", "payment_terms", "spend_limit_history")


def sees_money(request) -> bool:
    """Whether the staff user may see money: finance's permission (superusers hold it too)."""
    return request.user.has_perm(FINANCE_PERMISSION)


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

    def get_list_display(self, request):
        if sees_money(request):
            return self.list_display
        return [f for f in self.list_display if f not in ACCOUNT_MONEY_FIELDS]

    def get_list_filter(self, request):
        if sees_money(request):
            return self.list_filter
        return [f for f in self.list_filter if f not in ACCOUNT_MONEY_FIELDS]

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if sees_money(request):
            return fields
        return [f for f in fields if f not in ACCOUNT_MONEY_FIELDS]

    def get_readonly_fields(self, request, obj=None):
        # Finance staff hold change_account for its actions (terms, spend limit): every field
        # of a developer's account is theirs to read, not to edit.
        if request.user.is_superuser:
            return self.readonly_fields
        return [
            *(f.name for f in self.model._meta.fields if f.name != "id"),
            *(["spend_limit_history"] if sees_money(request) else []),
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

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Finance's dunning panel (billing.services.dunning): only for those who see money.
        extra_context = extra_context or {}
        if request.user.has_perm("billing.view_invoice"):
            account = self.get_object(request, object_id)
            if account is not None:
                extra_context["dunning"] = dunning_panel(account=account)
        return super().change_view(request, object_id, form_url, extra_context)

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


class _RevokeKeyForm(forms.ModelForm):
    """A key's row in admin: everything read-only but "revoke", which goes through
    api_key_revoke (the activity row, every web process told) instead of saving the row."""

    revoke = forms.BooleanField(
        required=False, help_text="End this key now (the developer rotates a new one)."
    )

    class Meta:
        model = ApiKey
        fields: list[str] = []


def _revoke_keys(request, forms_) -> list[ApiKey]:
    revoked = []
    for form in forms_:
        key = form.instance
        if form.cleaned_data.get("revoke") and key.pk and key.revoked_at is None:
            api_key_revoke(api_key=key, actor=request.user)
            revoked.append(key)
    return revoked


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    form = _RevokeKeyForm
    extra = 0
    fields = ["prefix", "created_at", "expires_at", "revoked_at", "revoke"]
    readonly_fields = ["prefix", "created_at", "expires_at", "revoked_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class AppStaffForm(forms.ModelForm):
    """What staff may change of an app: its name, store URL, IP allow-list and rate limit.
    The account and platform are the developer's registration; saving calls app_update."""

    allowed_ips = AllowedIpsField(label="Allowed server IP addresses", required=False)

    class Meta:
        model = App
        fields = ["name", "store_url", "allowed_ips", "rate_limit_per_second"]


@admin.register(App)
class AppAdmin(admin.ModelAdmin):
    """Apps are registered in the console; staff change an app's name, URL, allowed IPs and
    rate limit, and revoke its keys, each through the services (activity rows), never by
    saving the rows."""

    form = AppStaffForm
    list_display = ["name", "account", "platform", "rate_limit_per_second", "created_at"]
    list_filter = ["platform"]
    list_select_related = ["account"]
    search_fields = ["name", "app_id", "account__name"]
    fields = [
        "name",
        "account",
        "platform",
        "store_url",
        "allowed_ips",
        "rate_limit_per_second",
        "app_id",
        "created_at",
        "created_by",
    ]
    readonly_fields = ["account", "platform", "app_id", "created_at", "created_by"]
    inlines = [ApiKeyInline]

    def has_add_permission(self, request):
        return False  # developers register apps in the console (the key is shown to them once)

    def has_delete_permission(self, request, obj=None):
        return False  # an app holds campaigns, grants and its history

    def save_model(self, request, obj, form, change):
        # `obj` already carries the form's values: the service compares against the row.
        app_update(
            app=App.objects.get(pk=obj.pk),
            actor=request.user,
            name=form.cleaned_data["name"],
            store_url=form.cleaned_data["store_url"],
            allowed_ips=form.cleaned_data["allowed_ips"],
            rate_limit_per_second=form.cleaned_data["rate_limit_per_second"],
        )

    def save_formset(self, request, form, formset, change):
        revoked = _revoke_keys(request, formset.forms)
        # What the admin's own history line reads (it expects a saved formset's lists).
        formset.new_objects, formset.deleted_objects = [], []
        formset.changed_objects = [(key, ["revoked_at"]) for key in revoked]

    def save_related(self, request, form, formsets, change):
        for formset in formsets:
            self.save_formset(request, form, formset, change)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are issued in the console only (the secret is shown once to the developer); staff
    can see prefixes and revoke a key (api_key_revoke), never read, create or edit one."""

    form = _RevokeKeyForm
    list_display = ["prefix", "app", "created_at", "expires_at", "revoked_at", "status"]
    list_select_related = ["app"]
    search_fields = ["prefix", "app__name"]
    fields = ["prefix", "app", "created_at", "expires_at", "revoked_at", "revoke"]
    readonly_fields = ["prefix", "app", "created_at", "expires_at", "revoked_at"]
    actions = ["revoke_keys"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # a revoked key stays, the record of what could call

    def get_fields(self, request, obj=None):
        fields = list(self.fields)
        if obj is not None and obj.revoked_at is not None:
            fields.remove("revoke")
        return fields

    def save_model(self, request, obj, form, change):
        _revoke_keys(request, [form])

    @admin.action(description="Revoke the selected keys now", permissions=["change"])
    def revoke_keys(self, request, queryset):
        keys = [key for key in queryset.select_related("app") if key.revoked_at is None]
        for key in keys:
            api_key_revoke(api_key=key, actor=request.user)
        self.message_user(request, f"Revoked {len(keys)} key(s).", messages.SUCCESS)


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

    def get_queryset(self, request):
        # Requests about money (a spend limit, invoice terms: their subjects and amounts are
        # money) are finance's: the other staff do not see them in the queue.
        queryset = super().get_queryset(request)
        if sees_money(request):
            return queryset
        return queryset.exclude(kind__in=MONEY_KINDS)

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if sees_money(request) else [f for f in fields if f != "amount"]

    def get_list_display(self, request):
        # "Answer…" only where this staff user may answer: a button that leads to a 403 is
        # not shown (issue 20, item 8).
        def answer_link(obj):
            if not obj.is_open or not staff_request_may_answer(actor=request.user, kind=obj.kind):
                return ""
            url = reverse("admin:console_staffrequest_answer", args=[obj.pk])
            return format_html('<a class="button" href="{}">Answer…</a>', url)

        answer_link.short_description = ""
        return [*self.list_display, answer_link]

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

    def _may_answer(self, request, staff_request: StaffRequest) -> bool:
        return staff_request_may_answer(actor=request.user, kind=staff_request.kind)

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
        context["can_answer"] = obj is not None and obj.is_open and self._may_answer(request, obj)
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def answer_view(self, request, pk: int):
        """ "Answer…": approve or decline with the words the developer reads."""
        staff_request = get_object_or_404(
            StaffRequest.objects.select_related("account", "requested_by"), pk=pk
        )
        if not self._may_answer(request, staff_request):
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
        may_change_account = sees_money(request)
        context = {
            "sees_money": may_change_account,
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
