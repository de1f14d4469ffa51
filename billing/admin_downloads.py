"""Finance's downloads in the invoice admin (SPEC §9): the PDF of one invoice, and a ZIP of a
month's PDFs. A mixin, so the invoice admin includes it:

    class InvoiceAdmin(InvoiceDownloadsMixin, admin.ModelAdmin):
        ...

It adds its two actions to whatever actions the admin declares (for anyone who may view
invoices: the Finance group), and a "PDF" link as the list's last column.
"""

from __future__ import annotations

from django.contrib import messages
from django.urls import reverse
from django.utils.html import format_html

from .downloads import pdf_response, zip_response
from .models import Invoice

DOWNLOAD_ACTIONS = ("download_pdf", "download_month_zip")


class InvoiceDownloadsMixin:
    """Download PDF (one invoice) and ZIP of the month's PDFs, as admin actions."""

    def get_actions(self, request):
        actions = super().get_actions(request)
        if actions is not None and self.has_view_permission(request):
            for name in DOWNLOAD_ACTIONS:
                func, action_name, description = self.get_action(name)
                actions[action_name] = (func, action_name, description)
        return actions

    def get_list_display(self, request):
        return [*super().get_list_display(request), "pdf_link"]

    def download_pdf(self, request, queryset):
        """The PDF of the one selected invoice or credit note."""
        invoices = list(queryset.select_related("corrects")[:2])
        if len(invoices) != 1:
            self.message_user(
                request,
                "Select exactly one invoice to download its PDF (or use “ZIP of the month's "
                "PDFs” for several).",
                messages.WARNING,
            )
            return None
        return pdf_response(invoices[0])

    download_pdf.short_description = "Download PDF"

    def download_month_zip(self, request, queryset):
        """Every invoice and credit note of the selected invoices' month, as one ZIP.

        Select any invoice of the month (or filter the month and select all): the ZIP holds
        the whole month, so nothing is missed because it was on another page."""
        periods = sorted(set(queryset.order_by().values_list("period", flat=True).distinct()))
        if len(periods) != 1:
            self.message_user(
                request,
                f"Select invoices of one month for its ZIP; these are of {len(periods)} months "
                "(filter by month first).",
                messages.WARNING,
            )
            return None
        period = periods[0]
        return zip_response(
            Invoice.objects.filter(period=period), filename=f"invoices-{period:%Y-%m}.zip"
        )

    download_month_zip.short_description = "ZIP of the month's PDFs"

    def pdf_link(self, obj: Invoice):
        url = reverse("billing:invoice_pdf", kwargs={"number": obj.number})
        return format_html('<a href="{}" download>PDF</a>', url)

    pdf_link.short_description = "PDF"
