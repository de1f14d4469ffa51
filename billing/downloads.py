"""Invoice PDFs to download (SPEC §9): a developer's own from the Billing page, and finance's
from admin (one PDF, or a ZIP of a month's PDFs through billing.admin_downloads).

Every invoice is reached through `invoice_for_download`, scoped to the signed-in member's
account: another account's number is a 404, exactly as a number that does not exist. Staff
who may view invoices (the Finance group) may download any; reviewers never see money.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterable

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpResponse
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache

from .models import Invoice, InvoiceLine
from .pdf import invoice_pdf, invoice_pdf_filename

# A month's ZIP is built in memory up to this size, then in a temporary file on disk.
ZIP_SPOOL_BYTES = 16 * 1024 * 1024


def invoice_for_download(*, user, number: str) -> Invoice:
    """The invoice or credit note `number` if `user` may download it, else Http404 (the same
    answer whether it exists elsewhere or not at all)."""
    invoices = Invoice.objects.select_related("corrects")
    if not (user.is_staff and user.has_perm("billing.view_invoice")):
        membership = getattr(user, "membership", None)
        if membership is None:
            raise Http404("No such invoice.")
        invoices = invoices.filter(account_id=membership.account_id)
    invoice = invoices.filter(number=number).first()
    if invoice is None:
        raise Http404("No such invoice.")
    return invoice


def pdf_response(invoice: Invoice) -> HttpResponse:
    """The invoice's PDF as an attachment named after its number."""
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        True, invoice_pdf_filename(invoice)
    )
    # Money documents stay out of shared caches.
    response["Cache-Control"] = "private, no-store"
    return response


def invoices_with_lines(invoices) -> Iterable[Invoice]:
    """The invoices with their lines and corrected invoice loaded in a fixed number of queries
    per 100 invoices, iterated without holding the whole month in memory."""
    return (
        invoices.select_related("corrects")
        .prefetch_related(
            Prefetch("lines", queryset=InvoiceLine.objects.order_by("position", "pk"))
        )
        .order_by("number")
        .iterator(chunk_size=100)
    )


def zip_response(invoices, *, filename: str) -> FileResponse:
    """A ZIP of the invoices' PDFs (one file per number), built in a spooled temporary file and
    streamed from it: the month's PDFs are never all in memory at once."""
    # Not a `with`: the response streams the file and closes it once sent.
    spool = tempfile.SpooledTemporaryFile(max_size=ZIP_SPOOL_BYTES)  # noqa: SIM115
    try:
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for invoice in invoices_with_lines(invoices):
                archive.writestr(invoice_pdf_filename(invoice), invoice_pdf(invoice))
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    response = FileResponse(
        spool, as_attachment=True, filename=filename, content_type="application/zip"
    )
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
@login_required
def invoice_pdf_view(request, number: str):
    """GET /billing/invoices/<number>.pdf: the PDF of one of the account's invoices."""
    return pdf_response(invoice_for_download(user=request.user, number=number))
