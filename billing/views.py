"""Billing pages: the account's payment method and spend limit, and adding a card."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache

from console.clock import month_before, month_start
from console.csvexport import csv_response
from console.decorators import account_required, admin_required, is_admin
from console.money import CENTS, csv_amount

from .forms import CardForm, TaxIdForm
from .models import AccountMonthlySpend
from .selectors import account_invoices, active_payment_method, unbilled_spend_by_campaign
from .services.details import account_tax_id_set
from .services.payments import billing_change_refusal, payment_method_add
from .services.tax import invoice_tax_note

INVOICES_PER_PAGE = 12


def _safe_next(request) -> str | None:
    """The `next` URL when it stays on this site (an open redirect otherwise)."""
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


@account_required
def overview(request):
    account = request.account
    today = timezone.localdate()
    this_month = month_start(today)
    spent = (
        AccountMonthlySpend.objects.filter(account=account, month=this_month)
        .values_list("spent", flat=True)
        .first()
    )
    method = active_payment_method(account)
    invoices = Paginator(account_invoices(account), INVOICES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    invoices.object_list = list(invoices.object_list)
    for invoice in invoices.object_list:
        invoice.tax_note = invoice_tax_note(invoice=invoice)
    # Since last month: a charge of last month that committed after its invoice is unbilled
    # until next month's; older months are invoiced.
    last_month = month_before(this_month)
    unbilled = unbilled_spend_by_campaign(account, since=last_month)
    return render(
        request,
        "billing/overview.html",
        {
            "nav_section": "billing",
            "account": account,
            "method": method,
            "method_expired": method is not None and method.is_expired,
            "invoiced": account.payment_terms == account.PaymentTerms.INVOICE,
            "billing_owner": account.billing_owner,
            "change_refusal": billing_change_refusal(account=account, actor=request.user),
            "this_month": this_month,
            "spent_this_month": spent or 0,
            "invoices": invoices,
            "unbilled": unbilled,
            "unbilled_total": sum((row["spend"] for row in unbilled), 0),
            "tax_id_form": TaxIdForm(initial={"tax_id": account.tax_id})
            if is_admin(request)
            else None,
        },
    )


INVOICE_CSV_HEADER = [
    "number",
    "type",
    "corrects",
    "period",
    "issue date",
    "due date",
    "status",
    "subtotal",
    "tax",
    "total",
    "currency",
    "tax note",
    "paid on",
    "paid by",
]


def _invoice_csv_rows(account):
    yield INVOICE_CSV_HEADER
    for invoice in account_invoices(account).iterator(chunk_size=500):
        yield [
            invoice.number,
            invoice.get_kind_display().lower(),
            invoice.corrects.number if invoice.corrects else "",
            f"{invoice.period:%Y-%m}",
            invoice.issue_date,
            invoice.due_on,
            invoice.status_label.lower(),
            csv_amount(invoice.subtotal, CENTS),
            csv_amount(invoice.total - invoice.subtotal, CENTS),
            csv_amount(invoice.total, CENTS),
            invoice.currency,
            invoice_tax_note(invoice=invoice),
            invoice.paid_on,
            invoice.paid_by or invoice.paid_reference,
        ]


@account_required
def invoices_csv(request):
    """The account's invoices and credit notes as CSV (for the developer's bookkeeping): only
    the signed-in member's own account's, newest first, with the same numbers as the PDFs."""
    return csv_response("invoices.csv", _invoice_csv_rows(request.account))


@admin_required(message="Only an admin of your account can change its tax / VAT id.")
def tax_id_set(request):
    """The billing page's small form: an admin sets or clears the account's tax / VAT id."""
    if request.method != "POST":
        return redirect("billing:overview")
    form = TaxIdForm(request.POST)
    if form.is_valid():
        try:
            account_tax_id_set(
                account=request.account, actor=request.user, tax_id=form.cleaned_data["tax_id"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                "Tax / VAT id saved: it is printed on your next invoices."
                if request.account.tax_id
                else "Tax / VAT id removed.",
            )
    else:
        messages.error(request, " ".join(form.errors.get("tax_id", ["Check the tax / VAT id."])))
    return redirect("billing:overview")


# Payment methods are an admin's (SPEC §12 Roles); once one is set, only the billing owner
# changes it (SPEC §2): billing_change_refusal says so.
@never_cache
@admin_required(message="Only an admin of your account can set the payment method.")
def card_add(request):
    account = request.account
    refusal = billing_change_refusal(account=account, actor=request.user)
    if refusal:
        raise PermissionDenied(refusal)
    next_url = _safe_next(request)
    current = active_payment_method(account)
    form = CardForm(
        request.POST or None,
        initial={
            "billing_address": current.billing_address if current else account.billing_address
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            method = payment_method_add(
                account=account,
                actor=request.user,
                card_number=data["card_number"],
                exp_month=data["exp_month"],
                exp_year=data["exp_year"],
                cardholder_name=data["cardholder_name"],
                billing_address=data["billing_address"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request, f"{method.brand} ending in {method.last4} is now your payment method."
            )
            return redirect(next_url or "billing:overview")
    return render(
        request,
        "billing/card_form.html",
        {"nav_section": "billing", "form": form, "next": next_url, "replacing": current},
    )
