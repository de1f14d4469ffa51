"""The finance desk's pages (issue 20): receivables aging, revenue, reconciliation and the
month-end pack. Staff pages in the admin's frame; Finance only (`_finance_only`: developers get
a 404, reviewers a 403). Thin: the numbers come from billing/services/."""

from __future__ import annotations

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from billing.services.aging import BUCKETS, aging_report
from console.csvexport import csv_response
from console.money import CENTS, csv_amount

from .views import _finance_only

DESK_PAGES = [
    ("aging", "Receivables (aging)", "finance:aging"),
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
