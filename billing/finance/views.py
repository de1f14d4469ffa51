"""Finance's CSV exports of invoices and their lines (SPEC §9), streamed with constant memory:
rows are read with a server-side cursor in chunks and written one by one, never held."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from billing.models import INVOICE_STATUS_LABELS, Invoice, InvoiceLine
from console.csvexport import csv_response
from console.money import CENTS, MILLS, csv_amount

from .filters import FilterError, filter_invoices

CHUNK = 2000
PERMISSION = "billing.view_invoice"

INVOICE_COLUMNS = [
    ("number", "number"),
    ("type", "kind"),
    ("corrects", "corrects__number"),
    ("issue date", "issue_date"),
    ("due date", "due_date"),
    ("period", "period"),
    ("account id", "account_id"),
    ("company", "buyer_company"),
    ("country", "buyer_country"),
    ("tax id", "buyer_tax_id"),
    ("payment terms", "payment_terms"),
    # The status a person reads (billing.models.invoice_status_case): "overdue", "partially
    # paid", "applied" for a credit note, as in the admin, never the stored "open".
    ("status", "status_shown"),
    ("subtotal", "subtotal"),
    ("total", "total"),
    ("amount paid", "amount_paid"),
    ("currency", "currency"),
    ("paid date", "paid_on"),
    ("reference", "paid_reference"),
]
LINE_COLUMNS = [
    ("invoice number", "invoice__number"),
    ("type", "invoice__kind"),
    ("period", "invoice__period"),
    ("account id", "invoice__account_id"),
    ("company", "invoice__buyer_company"),
    ("position", "position"),
    # The campaign's public id and name, as the developer knows it (never its internal pk).
    ("campaign id", "campaign__campaign_id"),
    ("campaign", "campaign__name"),
    ("description", "description"),
    ("actions", "actions"),
    ("unit cpa", "unit_cpa"),
    ("amount", "amount"),
    ("currency", "invoice__currency"),
]
# Money columns: plain decimals with fixed places (console/money.py), the currency beside them.
PLACES = {
    "subtotal": CENTS,
    "total": CENTS,
    "amount_paid": CENTS,
    "amount": CENTS,
    "unit_cpa": MILLS,
}
STATUSES_SHOWN = {value: label.lower() for value, label in INVOICE_STATUS_LABELS.items()}


KINDS = {value: label.lower() for value, label in Invoice.Kind.choices}


def _table(columns: list[tuple[str, str]], rows: Iterable[tuple]) -> Iterator[list]:
    """The header, then each row with its money fixed to its places and its type in words;
    console/csvexport.py writes the cells (and neutralises text that reads as a formula)."""
    yield [header for header, _ in columns]
    fields = [field for _, field in columns]
    # The type column reads "invoice" / "credit note", not the stored code.
    kind = fields.index("kind" if "kind" in fields else "invoice__kind")
    money = [(i, PLACES[field]) for i, field in enumerate(fields) if field in PLACES]
    status = fields.index("status_shown") if "status_shown" in fields else None
    for row in rows:
        cells = list(row)
        cells[kind] = KINDS.get(row[kind], row[kind])
        if status is not None:
            cells[status] = STATUSES_SHOWN.get(row[status], row[status])
        for i, places in money:
            cells[i] = csv_amount(cells[i], places)
        yield cells


def _finance_only(request):
    """Finance staff only: developers do not learn the URL exists (404), other staff
    (reviewers: they never see money) are refused (403)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), "admin:login")
    if not request.user.is_staff:
        raise Http404
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied("Only finance may export invoices.")
    return None


def _filtered(request):
    return filter_invoices(Invoice.objects.all(), request.GET)


def _stream(filename: str, columns, rows: Iterable[tuple]) -> StreamingHttpResponse:
    return csv_response(filename, _table(columns, rows))


def _name(request, stem: str) -> str:
    month = (request.GET.get("month") or "").strip()
    return f"{stem}-{month}.csv" if month else f"{stem}.csv"


@require_GET
def invoices_csv(request):
    refused = _finance_only(request)
    if refused:
        return refused
    try:
        invoices = _filtered(request)
    except FilterError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    rows = (
        invoices.with_status_shown()
        .order_by("number")
        .values_list(*[field for _, field in INVOICE_COLUMNS])
        .iterator(chunk_size=CHUNK)
    )
    return _stream(_name(request, "invoices"), INVOICE_COLUMNS, rows)


@require_GET
def invoice_lines_csv(request):
    refused = _finance_only(request)
    if refused:
        return refused
    try:
        invoices = _filtered(request)
    except FilterError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    rows = (
        InvoiceLine.objects.filter(invoice__in=invoices.values("pk"))
        .order_by("invoice__number", "position", "pk")
        .values_list(*[field for _, field in LINE_COLUMNS])
        .iterator(chunk_size=CHUNK)
    )
    return _stream(_name(request, "invoice-lines"), LINE_COLUMNS, rows)
