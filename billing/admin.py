"""Django admin for billing: everything here is read-only (payment methods are set by the
developer, the ledger is append-only, the monthly counters are written by GetReward), plus
finance's actions on accounts (invoice terms), wired into the Account admin."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied

from console.admin_base import ReadOnlyAdmin
from console.models import Account

from .models import AccountMonthlySpend, CampaignMonthlySpend, LedgerEntry, PaymentMethod
from .services.payments import payment_terms_set


@admin.register(PaymentMethod)
class PaymentMethodAdmin(ReadOnlyAdmin):
    """Brand and last four only: the number was never stored, so it cannot be shown."""

    list_display = ["account", "brand", "last4", "expiry", "is_active", "created_by", "created_at"]
    list_filter = ["brand", "is_active"]
    search_fields = ["account__name", "last4"]
    list_select_related = ["account", "created_by"]

    @admin.display(description="expiry")
    def expiry(self, obj):
        return f"{obj.exp_month:02d}/{obj.exp_year}"


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    """Append-only: corrections are new entries written by a service, never edits here."""

    list_display = ["created_at", "account", "campaign", "moment", "kind", "amount", "month"]
    list_filter = ["kind", "month"]
    search_fields = ["account__name", "campaign__name", "memo"]
    list_select_related = ["account", "campaign", "moment"]
    date_hierarchy = "created_at"


@admin.register(AccountMonthlySpend)
class AccountMonthlySpendAdmin(ReadOnlyAdmin):
    list_display = ["account", "month", "spent"]
    list_filter = ["month"]
    search_fields = ["account__name"]
    list_select_related = ["account"]


@admin.register(CampaignMonthlySpend)
class CampaignMonthlySpendAdmin(ReadOnlyAdmin):
    list_display = ["campaign", "month", "spent"]
    list_filter = ["month"]
    search_fields = ["campaign__name"]
    list_select_related = ["campaign"]


# --- Finance's actions on accounts (listed by console.admin.AccountAdmin) -----------------------


def _set_terms(modeladmin, request, queryset, terms: str) -> None:
    label = Account.PaymentTerms(terms).label
    try:
        for account in queryset:
            payment_terms_set(account=account, terms=terms, actor=request.user)
    except PermissionDenied as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
        return
    modeladmin.message_user(
        request, f"{queryset.count()} account(s) now on “{label}”.", messages.SUCCESS
    )


@admin.action(description="Set payment terms to invoice (invoiced monthly)", permissions=["change"])
def set_invoice_terms(modeladmin, request, queryset):
    _set_terms(modeladmin, request, queryset, Account.PaymentTerms.INVOICE)


@admin.action(description="Set payment terms back to card on file", permissions=["change"])
def set_card_terms(modeladmin, request, queryset):
    _set_terms(modeladmin, request, queryset, Account.PaymentTerms.CARD)
