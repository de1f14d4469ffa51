"""Django admin for accounts, members, apps, API keys (never the secret) and support requests."""

from __future__ import annotations

from django.contrib import admin

from billing.admin import set_card_terms, set_invoice_terms

from .models import Account, ApiKey, App, Invitation, Membership, SupportRequest
from .services import account_limits_changed, app_access_changed


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
    # Terms change through finance's actions (billing.services), which record who did it.
    readonly_fields = ["payment_terms"]
    actions = [set_invoice_terms, set_card_terms]

    def get_readonly_fields(self, request, obj=None):
        # Finance staff hold change_account only to raise spend limits: every other field of
        # a developer's account is theirs to read, not to edit.
        if request.user.is_superuser:
            return self.readonly_fields
        return [
            f.name for f in self.model._meta.fields if f.name not in {"id", "monthly_spend_limit"}
        ]

    def get_inlines(self, request, obj):
        return self.inlines if request.user.is_superuser else []

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "monthly_spend_limit" in form.changed_data:
            account_limits_changed(account=obj)


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


@admin.register(SupportRequest)
class SupportRequestAdmin(admin.ModelAdmin):
    list_display = ["subject", "account", "kind", "status", "created_at"]
    list_filter = ["kind", "status"]
    search_fields = ["subject", "account__name", "message"]
    raw_id_fields = ["account", "requested_by"]
