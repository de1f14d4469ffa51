"""Django admin for billing: everything here is read-only (payment methods are set by the
developer, the ledger is append-only, the monthly counters are written by GetReward), plus
finance's actions on accounts (invoice terms), wired into the Account admin."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Sum
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from console.admin_base import ReadOnlyAdmin
from console.admin_money import money_column
from console.models import Account

from .admin_downloads import InvoiceDownloadsMixin
from .finance.filters import FILTERS, FilterError, filter_invoices
from .models import (
    AccountMonthlySpend,
    BankStatement,
    CampaignMonthlySpend,
    DunningCase,
    Invoice,
    InvoiceLine,
    LedgerEntry,
    MonthEndPack,
    PaymentMethod,
    ReceivablesReport,
    RevenueReport,
)
from .services.invoices import InvoiceRefused, credit_note_issue, invoice_mark_paid
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

    list_display = [
        "created_at",
        "account",
        "campaign",
        "moment",
        "kind",
        "amount_shown",
        "month",
    ]
    list_filter = ["kind", "month"]
    search_fields = ["account__name", "campaign__name", "memo"]
    list_select_related = ["account", "campaign", "moment"]
    date_hierarchy = "created_at"
    fields = [
        "created_at",
        "account",
        "campaign",
        "moment",
        "grant",
        "kind",
        "amount_shown",
        "month",
        "memo",
    ]
    readonly_fields = ["amount_shown"]
    # The ledger is in US dollars, as campaigns are.
    amount_shown = money_column(LedgerEntry, "amount")


@admin.register(AccountMonthlySpend)
class AccountMonthlySpendAdmin(ReadOnlyAdmin):
    list_display = ["account", "month", "spent_shown"]
    list_filter = ["month"]
    search_fields = ["account__name"]
    list_select_related = ["account"]
    fields = readonly_fields = ["account", "month", "spent_shown"]
    spent_shown = money_column(AccountMonthlySpend, "spent")


@admin.register(CampaignMonthlySpend)
class CampaignMonthlySpendAdmin(ReadOnlyAdmin):
    list_display = ["campaign", "month", "spent_shown"]
    list_filter = ["month"]
    search_fields = ["campaign__name"]
    list_select_related = ["campaign"]
    fields = readonly_fields = ["campaign", "month", "spent_shown"]
    spent_shown = money_column(CampaignMonthlySpend, "spent")


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


# --- Invoices (finance) ----------------------------------------------------------------------
# The list filters use the CSV export's parameter names (month, status, terms, account), so the
# admin's current query string is the export's, and both go through one filter function.


class _FinanceFilter(admin.SimpleListFilter):
    def queryset(self, request, queryset):
        try:
            return filter_invoices(queryset, {self.parameter_name: self.value() or ""})
        except FilterError as exc:
            raise IncorrectLookupParameters(str(exc)) from exc


class MonthFilter(_FinanceFilter):
    title = "month billed"
    parameter_name = "month"

    def lookups(self, request, model_admin):
        periods = Invoice.objects.order_by("-period").values_list("period", flat=True).distinct()
        return [(f"{p:%Y-%m}", f"{p:%B %Y}") for p in periods]


class StatusFilter(_FinanceFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [*Invoice.Status.choices, ("overdue", "Overdue")]


class TermsFilter(_FinanceFilter):
    title = "payment terms"
    parameter_name = "terms"

    def lookups(self, request, model_admin):
        return Invoice.PaymentTerms.choices


class AccountFilter(_FinanceFilter):
    title = "account"
    parameter_name = "account"

    def lookups(self, request, model_admin):
        accounts = (
            Account.objects.filter(invoices__isnull=False)
            .distinct()
            .order_by("name")
            .values_list("pk", "name")
        )
        return [(str(pk), name) for pk, name in accounts]


class KindFilter(_FinanceFilter):
    title = "type"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return Invoice.Kind.choices


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    fields = ["position", "campaign", "description", "actions", "unit_cpa_shown", "amount_shown"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    unit_cpa_shown = money_column(InvoiceLine, "unit_cpa", currency_from="invoice.currency")
    amount_shown = money_column(InvoiceLine, "amount", currency_from="invoice.currency")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("invoice", "campaign")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class MarkPaidForm(forms.Form):
    paid_on = forms.DateField(
        label="Paid on", widget=forms.DateInput(attrs={"type": "date"}), initial=timezone.localdate
    )
    reference = forms.CharField(label="Payment reference", max_length=200)


class CreditNoteForm(forms.Form):
    reason = forms.CharField(
        label="Reason (printed on the credit note)",
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        max_length=2000,
    )


@admin.register(Invoice)
class InvoiceAdmin(InvoiceDownloadsMixin, admin.ModelAdmin):
    """Finance's invoice list. Issued invoices are never edited: every field is read-only, and
    the only writes are the actions (mark paid, credit note), each through its service."""

    list_display = [
        "number",
        "kind",
        "buyer_company",
        "period_label",
        "issue_date",
        "due_date",
        "payment_terms",
        "status_shown",
        "total_shown",
        "corrects",
    ]
    list_filter = [MonthFilter, StatusFilter, TermsFilter, AccountFilter, KindFilter]
    search_fields = ["number", "buyer_company"]
    list_select_related = ["account", "corrects"]
    ordering = ["-number"]
    inlines = [InvoiceLineInline]
    actions = ["mark_paid", "issue_credit_note"]
    change_list_template = "admin/billing/invoice/change_list.html"

    # Amounts in the invoice's own currency.
    subtotal_shown = money_column(Invoice, "subtotal", currency_from="currency")
    total_shown = money_column(Invoice, "total", currency_from="currency")
    MONEY_SHOWN = {"subtotal": "subtotal_shown", "total": "total_shown"}

    def get_readonly_fields(self, request, obj=None):
        return [self.MONEY_SHOWN.get(f.name, f.name) for f in self.model._meta.fields]

    def get_fields(self, request, obj=None):
        # Every field, in the model's order, the money ones through their formatted column.
        return self.get_readonly_fields(request, obj)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # The actions need change_invoice; an invoice's own page is view-only for everyone.
        if obj is not None:
            return False
        return super().has_change_permission(request)

    @admin.display(description="period", ordering="period")
    def period_label(self, invoice: Invoice) -> str:
        return f"{invoice.period:%Y-%m}"

    @admin.display(description="status", ordering="status")
    def status_shown(self, invoice: Invoice) -> str:
        return invoice.status_label

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context=extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            # One aggregate over the filtered (not the paginated) rows.
            totals = changelist.queryset.order_by().aggregate(total=Sum("total"), n=Count("pk"))
            params = {k: v for k, v in request.GET.items() if k in FILTERS and v}
            query = f"?{urlencode(params)}" if params else ""
            response.context_data.update(
                filtered_total=totals["total"] or 0,
                filtered_count=totals["n"],
                invoices_csv=reverse("finance:invoices_csv") + query,
                invoice_lines_csv=reverse("finance:invoice_lines_csv") + query,
            )
        return response

    def _form_page(self, request, queryset, *, form, title, verb, action, explain):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "verb": verb,
            "explain": explain,
            "opts": self.model._meta,
            "invoices": queryset,
            "form": form,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/billing/invoice/action_form.html", context)

    @admin.action(
        description="Mark selected invoices paid (date and reference)…", permissions=["change"]
    )
    def mark_paid(self, request, queryset):
        form = MarkPaidForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return self._form_page(
                request,
                queryset,
                form=form,
                title="Mark invoices paid",
                verb="Mark paid",
                action="mark_paid",
                explain="Record the payment of these open invoices.",
            )
        done = 0
        for invoice in queryset:
            try:
                invoice_mark_paid(
                    actor=request.user,
                    invoice=invoice,
                    paid_on=form.cleaned_data["paid_on"],
                    reference=form.cleaned_data["reference"],
                )
                done += 1
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
        if done:
            self.message_user(request, f"{done} invoice(s) marked paid.", messages.SUCCESS)
        return None

    @admin.action(
        description="Issue a credit note for the selected invoices (reason)…",
        permissions=["change"],
    )
    def issue_credit_note(self, request, queryset):
        form = CreditNoteForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return self._form_page(
                request,
                queryset,
                form=form,
                title="Issue credit notes",
                verb="Issue credit note",
                action="issue_credit_note",
                explain=(
                    "Each invoice below gets a credit note for what is left on it, with the next "
                    "number of the series. The invoices themselves are not changed."
                ),
            )
        made = []
        for invoice in queryset:
            try:
                note = credit_note_issue(
                    actor=request.user, invoice=invoice, reason=form.cleaned_data["reason"]
                )
                made.append(note.number)
            except InvoiceRefused as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
        if made:
            self.message_user(
                request, f"Credit note(s) issued: {', '.join(made)}.", messages.SUCCESS
            )
        return None


# --- The finance desk (issue 20): its pages in the admin's index and nav ------------------------


class _DeskLinkAdmin(admin.ModelAdmin):
    """An entry of the admin's index that opens a finance desk page (billing/finance/desk.py):
    finance (view_invoice) sees it, nobody adds, changes or deletes through it."""

    desk_url = ""

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.has_perm("billing.view_invoice")

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return HttpResponseRedirect(reverse(self.desk_url))


@admin.register(ReceivablesReport)
class ReceivablesReportAdmin(_DeskLinkAdmin):
    desk_url = "finance:aging"


@admin.register(RevenueReport)
class RevenueReportAdmin(_DeskLinkAdmin):
    desk_url = "finance:revenue"


@admin.register(BankStatement)
class BankStatementAdmin(_DeskLinkAdmin):
    desk_url = "finance:reconciliation"


@admin.register(MonthEndPack)
class MonthEndPackAdmin(_DeskLinkAdmin):
    desk_url = "finance:monthend"


@admin.register(DunningCase)
class DunningCaseAdmin(ReadOnlyAdmin):
    """Every dunning case (failed card payments being chased); each account's own are on its
    page. Written only by the dunning sweep."""

    list_display = [
        "invoice",
        "account",
        "status",
        "failed_on",
        "attempts",
        "next_retry_on",
        "suspended_at",
        "resolved_at",
    ]
    list_filter = ["status"]
    search_fields = ["invoice__number", "account__name"]
    list_select_related = ["invoice", "account"]

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.has_perm("billing.view_invoice")

    def has_module_permission(self, request):
        return self.has_view_permission(request)
