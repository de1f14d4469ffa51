"""Django admin for billing: everything here is read-only (payment methods are set by the
developer, the ledger is append-only, the monthly counters are written by GetReward), plus
finance's actions on accounts (invoice terms), wired into the Account admin."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Exists, Max, Min, OuterRef, Sum
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from campaigns.models import Campaign
from console.admin_base import ReadOnlyAdmin
from console.admin_lists import BigTableAdminMixin, IndexedSearchMixin
from console.admin_money import money_column
from console.clock import month_before
from console.models import Account
from console.money import format_money

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
    Payment,
    PaymentMethod,
    ReceivablesReport,
    RevenueReport,
)
from .services.invoice_email import invoice_email_resend
from .services.invoices import (
    credit_note_issue,
    invoice_balance_due,
    invoice_creditable,
    invoice_payment_record,
)
from .services.payments import PAYMENT_TERMS_REASON_REQUIRED, payment_terms_set


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
class LedgerEntryAdmin(BigTableAdminMixin, IndexedSearchMixin, ReadOnlyAdmin):
    """Append-only: corrections are new entries written by a service, never edits here.
    A big table (a row per CPA charge): filters, search and ordering all use indexes
    (console.admin_lists)."""

    list_display = [
        "created_at",
        "account",
        "campaign",
        "moment",
        "kind",
        "amount_shown",
        "month",
    ]
    list_filter = ["kind", ("created_at", admin.DateFieldListFilter), "month"]
    # An account or a campaign by the start of its name, a campaign by its public id, an entry
    # by its number.
    indexed_search = [
        ("account_id", ("prefix", Account, "name")),
        ("campaign_id", ("prefix", Campaign, "name")),
        ("campaign_id", ("uuid", Campaign, "campaign_id")),
        ("id", ("pk", None, None)),
    ]
    list_select_related = ["account", "campaign", "moment"]
    ordering = ["-created_at", "-id"]
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


class PaymentTermsForm(forms.Form):
    """Why the accounts' payment terms change: kept in each account's history."""

    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text="Kept in the account's history: the ticket or approval behind the change.",
        error_messages={"required": PAYMENT_TERMS_REASON_REQUIRED},
    )


def _set_terms(modeladmin, request, queryset, terms: str):
    """The terms actions: a page asking why (the accounts listed), then the service on each
    account. A refusal shows the page again with what was typed."""
    label = Account.PaymentTerms(terms).label
    form = PaymentTermsForm(request.POST if "apply" in request.POST else None)
    if form.is_valid():
        done = 0
        try:
            for account in queryset:
                payment_terms_set(
                    account=account,
                    terms=terms,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
                done += 1
        except PermissionDenied as exc:
            modeladmin.message_user(request, str(exc), messages.ERROR)
            return None
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            modeladmin.message_user(
                request, f"{done} account(s) now on “{label}”.", messages.SUCCESS
            )
            return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": f"Set payment terms to “{label}”",
        "opts": modeladmin.model._meta,
        "accounts": queryset,
        "form": form,
        "action": request.POST.get("action", ""),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/billing/payment_terms_form.html", context)


@admin.action(
    description="Set payment terms to invoice (invoiced monthly)…", permissions=["change"]
)
def set_invoice_terms(modeladmin, request, queryset):
    return _set_terms(modeladmin, request, queryset, Account.PaymentTerms.INVOICE)


@admin.action(description="Set payment terms back to card on file…", permissions=["change"])
def set_card_terms(modeladmin, request, queryset):
    return _set_terms(modeladmin, request, queryset, Account.PaymentTerms.CARD)


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
        # Every month from the first invoiced to the last: two index reads, not a DISTINCT
        # over every invoice.
        bounds = Invoice.objects.aggregate(first=Min("period"), last=Max("period"))
        months, month = [], bounds["last"]
        while month is not None and month >= bounds["first"]:
            months.append((f"{month:%Y-%m}", f"{month:%B %Y}"))
            month = month_before(month)
        return months


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
        # One index probe per account (invoices by account and period), not a DISTINCT over
        # every invoice.
        invoiced = Invoice.objects.filter(account=OuterRef("pk"))
        accounts = (
            Account.objects.filter(Exists(invoiced)).order_by("name").values_list("pk", "name")
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
    """A payment received: its amount (blank: all that is due), date and reference."""

    amount = forms.DecimalField(
        label="Amount received",
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        help_text="Leave blank to record all that is due; less leaves the invoice partially paid.",
    )
    paid_on = forms.DateField(
        label="Paid on", widget=forms.DateInput(attrs={"type": "date"}), initial=timezone.localdate
    )
    reference = forms.CharField(label="Payment reference", max_length=200)


class CreditNoteForm(forms.Form):
    """A credit note: its amount (blank: all that is left to credit) and the reason."""

    amount = forms.DecimalField(
        label="Amount to credit",
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        help_text="Leave blank to credit all that is left on the invoice.",
    )
    reason = forms.CharField(
        label="Reason (printed on the credit note)",
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        max_length=2000,
    )


class PaymentInline(admin.TabularInline):
    """The payments finance recorded on the invoice (append-only: never edited here)."""

    model = Payment
    fields = ["paid_on", "amount_shown", "reference", "recorded_by", "recorded_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "payments received"
    amount_shown = money_column(Payment, "amount", currency_from="invoice.currency")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("invoice", "recorded_by")

    def has_view_permission(self, request, obj=None):
        # Part of the invoice: whoever may view invoices (finance) reads its payments.
        return request.user.has_perm("billing.view_invoice")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Invoice)
class InvoiceAdmin(InvoiceDownloadsMixin, IndexedSearchMixin, admin.ModelAdmin):
    """Finance's invoice list and page. Issued invoices are never edited: every field is
    read-only, and the only writes are the actions (record a payment, issue a credit note,
    email the PDF), each through its service, from the list or as buttons on the invoice's
    page."""

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
    # An invoice by its number, exactly, or an account by the start of its name: both from an
    # index (console.admin_lists), never a scan of every invoice.
    indexed_search = [
        ("number", ("exact", None, None)),
        ("account_id", ("prefix", Account, "name")),
    ]
    show_full_result_count = False
    list_per_page = 50
    list_select_related = ["account", "corrects"]
    ordering = ["-number"]
    inlines = [InvoiceLineInline, PaymentInline]
    actions = ["mark_paid", "issue_credit_note"]
    change_list_template = "admin/billing/invoice/change_list.html"
    change_form_template = "admin/billing/invoice/change_form.html"

    # Amounts in the invoice's own currency.
    subtotal_shown = money_column(Invoice, "subtotal", currency_from="currency")
    total_shown = money_column(Invoice, "total", currency_from="currency")
    amount_paid_shown = money_column(Invoice, "amount_paid", currency_from="currency")
    MONEY_SHOWN = {
        "subtotal": "subtotal_shown",
        "total": "total_shown",
        "amount_paid": "amount_paid_shown",
        # The one status a person reads (billing.models.invoice_status_case), as in the list
        # and the CSV: never the stored "open" of an overdue invoice.
        "status": "status_shown",
    }
    # Bookkeeping of the email task (its lease), not part of the invoice: never shown.
    INTERNAL = {"email_claimed_at"}

    def get_readonly_fields(self, request, obj=None):
        shown = []
        for f in self.model._meta.fields:
            if f.name not in self.INTERNAL:
                shown.append(self.MONEY_SHOWN.get(f.name, f.name))
            if f.name == "amount_paid":
                shown.append("balance_due_shown")
        return shown

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

    @admin.display(description="balance due")
    def balance_due_shown(self, invoice: Invoice) -> str:
        return format_money(invoice_balance_due(invoice=invoice), invoice.currency, places=2)

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

    # --- The invoice's page: its actions as buttons ----------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/payment/", view(self.payment_view), name="billing_invoice_payment"),
            path("<int:pk>/credit/", view(self.credit_view), name="billing_invoice_credit"),
            path("<int:pk>/email/", view(self.email_view), name="billing_invoice_email"),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        if obj is not None:
            may_act = super().has_change_permission(request)
            is_invoice = obj.kind == Invoice.Kind.INVOICE
            context.update(
                invoice_status=obj.status_label,
                balance_due=invoice_balance_due(invoice=obj),
                can_pay=may_act and is_invoice and obj.status == Invoice.Status.OPEN,
                can_credit=may_act and is_invoice and invoice_creditable(invoice=obj) > 0,
                can_email=may_act,
                pdf_url=reverse("billing:invoice_pdf", kwargs={"number": obj.number}),
            )
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def _invoice_for_action(self, request, pk: int) -> Invoice:
        invoice = get_object_or_404(Invoice, pk=pk)
        if not super().has_change_permission(request):
            raise PermissionDenied
        return invoice

    def _back_to(self, invoice: Invoice) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:billing_invoice_change", args=[invoice.pk]))

    def payment_view(self, request, pk: int):
        """ "Record payment…": amount (the balance due, prefilled), date and reference."""
        invoice = self._invoice_for_action(request, pk)
        due = invoice_balance_due(invoice=invoice)
        form = MarkPaidForm(request.POST or None, initial={"amount": due})
        if request.method == "POST" and form.is_valid():
            try:
                self._record_payment(request, invoice, form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)  # the page keeps what was typed
            else:
                return self._back_to(invoice)
        return self._form_page(
            request,
            [invoice],
            form=form,
            title=f"Record a payment of {invoice.number}",
            verb="Record payment",
            action=None,
            explain=(
                f"{format_money(due, invoice.currency, places=2)} is due. A payment of less "
                "leaves the invoice partially paid, with the rest due."
            ),
            original=invoice,
        )

    def credit_view(self, request, pk: int):
        """ "Issue credit note…": an amount (blank: all that is left) and the reason."""
        invoice = self._invoice_for_action(request, pk)
        left = invoice_creditable(invoice=invoice)
        form = CreditNoteForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                self._credit(request, invoice, form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return self._back_to(invoice)
        return self._form_page(
            request,
            [invoice],
            form=form,
            title=f"Issue a credit note on {invoice.number}",
            verb="Issue credit note",
            action=None,
            explain=(
                f"At most {format_money(left, invoice.currency, places=2)} is left to credit. "
                "The credit note takes the next number of the series; the invoice itself is "
                "not changed (an open invoice credited in full is void)."
            ),
            original=invoice,
        )

    def email_view(self, request, pk: int):
        """ "Email PDF": send the PDF again to the account's billing owner (POST only)."""
        invoice = self._invoice_for_action(request, pk)
        if request.method != "POST":
            return self._back_to(invoice)
        try:
            recipients = invoice_email_resend(actor=request.user, invoice=invoice)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
        else:
            self.message_user(
                request,
                f"{invoice.number} emailed to {', '.join(recipients)}.",
                messages.SUCCESS,
            )
        return self._back_to(invoice)

    def _record_payment(self, request, invoice: Invoice, data: dict) -> None:
        invoice_payment_record(
            actor=request.user,
            invoice=invoice,
            amount=data.get("amount"),
            paid_on=data["paid_on"],
            reference=data["reference"],
        )
        invoice.refresh_from_db()
        due = invoice_balance_due(invoice=invoice)
        self.message_user(
            request,
            f"{invoice.number}: payment recorded, {invoice.status_label.lower()}"
            + (f", {format_money(due, invoice.currency, places=2)} still due." if due else "."),
            messages.SUCCESS,
        )

    def _credit(self, request, invoice: Invoice, data: dict) -> None:
        note = credit_note_issue(
            actor=request.user, invoice=invoice, reason=data["reason"], amount=data.get("amount")
        )
        self.message_user(
            request,
            f"Credit note {note.number} of {format_money(-note.total, note.currency, places=2)} "
            f"issued on {invoice.number}.",
            messages.SUCCESS,
        )

    def _form_page(self, request, invoices, *, form, title, verb, action, explain, original=None):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "verb": verb,
            "explain": explain,
            "opts": self.model._meta,
            "invoices": invoices,
            "form": form,
            "action": action,
            "original": original,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/billing/invoice/action_form.html", context)

    # --- The list's actions: the same services, on the selected invoices -------------------

    def _each(self, request, queryset, form, do) -> list[Invoice]:
        """Run `do` on each selected invoice; the ones refused, each with its reason added to
        the form (the page is shown again with what was typed, for those only)."""
        refused = []
        for invoice in queryset:
            try:
                do(request, invoice, form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, f"{invoice.number}: {' '.join(exc.messages)}")
                refused.append(invoice)
        return refused

    @admin.action(
        description="Record a payment of the selected invoices (amount, date, reference)…",
        permissions=["change"],
    )
    def mark_paid(self, request, queryset):
        form = MarkPaidForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            refused = self._each(request, queryset, form, self._record_payment)
            if not refused:
                return None
            queryset = refused
        return self._form_page(
            request,
            queryset,
            form=form,
            title="Record payments",
            verb="Record payment",
            action="mark_paid",
            explain=(
                "Record the payment of these open invoices. With an amount, each is paid that "
                "much (less than is due leaves it partially paid); blank pays all that is due."
            ),
        )

    @admin.action(
        description="Issue a credit note for the selected invoices (amount, reason)…",
        permissions=["change"],
    )
    def issue_credit_note(self, request, queryset):
        form = CreditNoteForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            refused = self._each(request, queryset, form, self._credit)
            if not refused:
                return None
            queryset = refused
        return self._form_page(
            request,
            queryset,
            form=form,
            title="Issue credit notes",
            verb="Issue credit note",
            action="issue_credit_note",
            explain=(
                "Each invoice below gets a credit note, with the next number of the series: "
                "of the amount given, or of all that is left on it when blank. The invoices "
                "themselves are not changed."
            ),
        )


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
