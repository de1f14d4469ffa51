"""The finance desk's pages (issue 20): receivables aging, revenue, reconciliation and the
month-end pack. Staff pages in the admin's frame; Finance only (`_finance_only`: developers get
a 404, reviewers a 403). Thin: the numbers come from billing/services/."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from billing.models import BankLine, BankStatement, MonthEndPack
from billing.services.aging import BUCKETS, aging_report
from billing.services.monthend import PERMISSION as MONTHEND_PERMISSION
from billing.services.monthend import MonthEndRefused, monthend_file, monthend_request
from billing.services.reconciliation import PERMISSION as RECONCILE_PERMISSION
from billing.services.reconciliation import (
    StatementRefused,
    statement_confirm,
    statement_summary,
    statement_upload,
)
from billing.services.revenue import revenue_report
from console.clock import month_before
from console.csvexport import csv_response
from console.money import CENTS, MILLS, csv_amount

from .filters import FilterError, parse_month
from .views import _finance_only

DESK_PAGES = [
    ("aging", "Receivables (aging)", "finance:aging"),
    ("revenue", "Revenue", "finance:revenue"),
    ("reconciliation", "Reconciliation", "finance:reconciliation"),
    ("monthend", "Month-end pack", "finance:monthend"),
]


def desk_render(request, template: str, *, page: str, title: str, **context):
    """A desk page in the admin's frame (its header, nav sidebar and breadcrumbs)."""
    return TemplateResponse(
        request,
        template,
        {
            **admin.site.each_context(request),
            "title": title,
            "desk_page": page,
            "desk_pages": [(key, label, reverse(name)) for key, label, name in DESK_PAGES],
            **context,
        },
    )


@require_GET
def aging(request):
    refused = _finance_only(request)
    if refused:
        return refused
    return desk_render(
        request,
        "billing/finance/aging.html",
        page="aging",
        title="Receivables aging",
        report=aging_report(),
        buckets=BUCKETS,
    )


AGING_COLUMNS = [
    "account id",
    "company",
    "invoice number",
    "issue date",
    "due date",
    "days past due",
    *(label for _, label, _ in BUCKETS),
    "owed",
    "currency",
]


@require_GET
def aging_csv(request):
    """One line per open invoice: what is owed in its bucket's column (the others empty), so
    each column adds up to the page's total of that bucket."""
    refused = _finance_only(request)
    if refused:
        return refused
    report = aging_report()

    def rows():
        yield AGING_COLUMNS
        for line in report.lines:
            invoice = line.invoice
            yield [
                invoice.account_id,
                invoice.account.name,
                invoice.number,
                invoice.issue_date,
                invoice.due_date,
                line.days_past_due,
                *(
                    csv_amount(line.owed, CENTS) if key == line.bucket else ""
                    for key, _, _ in BUCKETS
                ),
                csv_amount(line.owed, CENTS),
                invoice.currency,
            ]

    return csv_response(f"aging-{report.today:%Y-%m-%d}.csv", rows())


@require_GET
def revenue(request):
    refused = _finance_only(request)
    if refused:
        return refused
    report = revenue_report()
    return desk_render(
        request,
        "billing/finance/revenue.html",
        page="revenue",
        title="Revenue by month",
        report=report,
        totals=report.totals,
        chart=report.chart_data(),
    )


REVENUE_COLUMNS = [
    "month",
    "charged (ledger)",
    "not yet invoiced",
    "invoiced",
    "credited",
    "net invoiced",
    "collected",
    "currency",
]


@require_GET
def revenue_csv(request):
    """One line per month; charged at the ledger's 4 places, the invoice amounts at 2."""
    refused = _finance_only(request)
    if refused:
        return refused
    report = revenue_report()

    def rows():
        yield REVENUE_COLUMNS
        for m in report.months:
            yield [
                f"{m.month:%Y-%m}",
                csv_amount(m.charged, MILLS),
                csv_amount(m.not_invoiced, MILLS),
                csv_amount(m.invoiced, CENTS),
                csv_amount(m.credited, CENTS),
                csv_amount(m.net, CENTS),
                csv_amount(m.collected, CENTS),
                "USD",
            ]

    return csv_response("revenue.csv", rows())


# --- Reconciliation -----------------------------------------------------------------------------


class StatementForm(forms.Form):
    statement = forms.FileField(
        label="Bank CSV",
        help_text=(
            "Columns date (YYYY-MM-DD), amount (e.g. 1234.50) and reference, with a header line."
        ),
    )


def _may_reconcile(request) -> bool:
    return request.user.has_perm(RECONCILE_PERMISSION)


def reconciliation(request):
    refused = _finance_only(request)
    if refused:
        return refused
    form = StatementForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not _may_reconcile(request):
            raise PermissionDenied("Only finance may reconcile bank statements.")
        if form.is_valid():
            upload = form.cleaned_data["statement"]
            try:
                statement = statement_upload(
                    actor=request.user, filename=upload.name, content=upload.read()
                )
            except StatementRefused as exc:
                for message in exc.messages:
                    form.add_error("statement", message)
            else:
                return redirect("finance:statement", pk=statement.pk)
    statements = BankStatement.objects.select_related("uploaded_by").annotate(
        n=Count("lines"),
        matched=Count("lines", filter=Q(lines__outcome=BankLine.Outcome.MATCHED)),
    )[:20]
    return desk_render(
        request,
        "billing/finance/reconciliation.html",
        page="reconciliation",
        title="Bank reconciliation",
        form=form,
        statements=statements,
        may_reconcile=_may_reconcile(request),
    )


def statement(request, pk: int):
    refused = _finance_only(request)
    if refused:
        return refused
    found = get_object_or_404(BankStatement, pk=pk)
    if request.method == "POST":
        if not _may_reconcile(request):
            raise PermissionDenied("Only finance may confirm payments.")
        done = statement_confirm(actor=request.user, statement=found)
        if done.paid:
            messages.success(
                request, f"{len(done.paid)} invoice(s) marked paid: {', '.join(done.paid)}."
            )
        if done.refused:
            messages.error(
                request, f"Not recorded (see the lines below): {', '.join(done.refused)}."
            )
        if not done.paid and not done.refused:
            messages.info(request, "Nothing left to confirm on this statement.")
        return redirect("finance:statement", pk=found.pk)
    groups = statement_summary(found)
    to_confirm = [line for line in groups["matched"] if line.confirmed_at is None]
    return desk_render(
        request,
        "billing/finance/statement.html",
        page="reconciliation",
        title=f"Statement {found.filename}",
        statement=found,
        groups=groups,
        to_confirm=to_confirm,
        to_confirm_total=sum((line.amount for line in to_confirm), Decimal("0.00")),
        may_reconcile=_may_reconcile(request),
    )


# --- Month-end pack -----------------------------------------------------------------------------


class MonthEndForm(forms.Form):
    month = forms.CharField(
        label="Month",
        widget=forms.DateInput(attrs={"type": "month"}),
        help_text="Every invoice and credit note issued in this month, and its payments.",
    )

    def clean_month(self):
        try:
            return parse_month(self.cleaned_data["month"])
        except FilterError as exc:
            raise forms.ValidationError(str(exc)) from exc


def monthend(request):
    refused = _finance_only(request)
    if refused:
        return refused
    may_build = request.user.has_perm(MONTHEND_PERMISSION)
    initial = {"month": f"{month_before(timezone.localdate()):%Y-%m}"}
    form = MonthEndForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not may_build:
            raise PermissionDenied("Only finance may build month-end packs.")
        if form.is_valid():
            try:
                pack = monthend_request(actor=request.user, month=form.cleaned_data["month"])
            except MonthEndRefused as exc:
                form.add_error("month", exc.messages[0])
            else:
                messages.success(
                    request, f"The pack of {pack.month:%B %Y} is queued: this page follows it."
                )
                return redirect("finance:monthend")
    packs = list(MonthEndPack.objects.select_related("requested_by")[:24])
    busy = any(
        p.status in (MonthEndPack.Status.QUEUED, MonthEndPack.Status.BUILDING) for p in packs
    )
    return desk_render(
        request,
        "billing/finance/monthend.html",
        page="monthend",
        title="Month-end pack",
        form=form,
        packs=packs,
        busy=busy,
        may_build=may_build,
    )


@require_GET
def monthend_download(request, pk: int):
    refused = _finance_only(request)
    if refused:
        return refused
    pack = get_object_or_404(MonthEndPack, pk=pk)
    path = monthend_file(pack)
    if path is None:
        raise Http404("This pack is not ready (or its file is gone: build it again).")
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"month-end-{pack.month:%Y-%m}.zip",
        content_type="application/zip",
    )
    response["Cache-Control"] = "private, no-store"
    return response
