"""Invoices and credit notes as PDF (SPEC §9), drawn with ReportLab (pip only, as pretix does).

One A4 document per invoice: the seller (settings) and the buyer as snapshotted on the invoice,
the number and dates, the period, a table of lines whose header repeats on every page, the
totals, the payment status, and "Page x of y" at the foot of every page. Only the invoice's own
columns are read (the snapshot), never the account as it is today: a reprint years later shows
what was issued.

Works on unsaved instances too: pass `lines` when the invoice has no primary key.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import date
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import timezone
from django_countries import countries
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as pdfcanvas
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from console.money import format_money

from .services.tax import invoice_tax_note

# Bitstream Vera, shipped inside the reportlab wheel: embedded (subset) with a Unicode map, so
# every viewer and text extractor reads "Visa •••• 4242" and "Straße" back as printed (the
# PDF standard fonts' encoding garbles the bullet in some readers). No system font is needed.
FONT, FONT_BOLD = "MomentsSans", "MomentsSans-Bold"
if FONT not in pdfmetrics.getRegisteredFontNames():
    pdfmetrics.registerFont(TTFont(FONT, "Vera.ttf"))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, "VeraBd.ttf"))
    pdfmetrics.registerFontFamily(
        FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD
    )

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_X = 20 * mm
MARGIN_TOP = 18 * mm
MARGIN_BOTTOM = 22 * mm  # room for the footer line
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN_X

INK = colors.HexColor("#1f2328")
MUTED = colors.HexColor("#59636e")
RULE = colors.HexColor("#d0d7de")
BAND = colors.HexColor("#f3f5f7")
ALERT = colors.HexColor("#b42318")

SELLER_DEFAULTS = {
    "INVOICE_SELLER_NAME": "Moments Console",
    "INVOICE_SELLER_ADDRESS": "",
    "INVOICE_SELLER_COUNTRY": "",
    "INVOICE_SELLER_TAX_ID": "",
    "INVOICE_SELLER_EMAIL": "billing@localhost",
}


def _setting(name: str) -> str:
    return str(getattr(settings, name, SELLER_DEFAULTS[name]) or "")


def date_display(day: date | None) -> str:
    """`1 November 2026`: no reader anywhere mistakes day for month."""
    return f"{day.day} {day:%B %Y}" if day else ""


def period_display(period: date) -> str:
    """`October 2026`."""
    return f"{period:%B %Y}"


def document_title(invoice) -> str:
    return "Credit note" if invoice.kind == "credit_note" else "Invoice"


def payment_status(invoice, today: date | None = None) -> str:
    """What the buyer's accounts-payable clerk needs to know, in one sentence."""
    if invoice.kind == "credit_note":
        corrected = invoice.corrects.number if invoice.corrects is not None else ""
        if invoice.paid_by:
            on = f" on {date_display(invoice.paid_on)}" if invoice.paid_on else ""
            return f"Credits invoice {corrected}: refunded to {invoice.paid_by}{on}."
        return f"Credits invoice {corrected}. No payment is due on this credit note."
    if invoice.status == "void":
        return "Void: this invoice was cancelled and is not payable."
    if invoice.status == "paid":
        on = f" on {date_display(invoice.paid_on)}" if invoice.paid_on else ""
        if invoice.paid_by:
            return f"Paid by {invoice.paid_by}{on}. Nothing is due."
        reference = f" (reference {invoice.paid_reference})" if invoice.paid_reference else ""
        return f"Paid{on}{reference}. Nothing is due."
    # Paid in part (billing.models.Payment): say what was received, then when the rest is due.
    received = (
        f"{format_money(invoice.amount_paid, invoice.currency, places=2)} received; the rest is "
        if getattr(invoice, "amount_paid", 0)
        else ""
    )
    if invoice.due_date is None:
        return f"{received}due on receipt." if received else "Payment is due on receipt."
    if invoice.overdue_on(today or timezone.localdate()):
        if received:
            return f"{received}overdue since {date_display(invoice.due_date)}: please pay now."
        return f"Overdue since {date_display(invoice.due_date)}: please pay now."
    if received:
        return f"{received}due by {date_display(invoice.due_date)}."
    return f"Due by {date_display(invoice.due_date)}."


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=9, leading=12, textColor=INK)
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10, textColor=MUTED),
        "label": ParagraphStyle(
            "label",
            parent=base,
            fontName=FONT_BOLD,
            fontSize=7.5,
            leading=10,
            textColor=MUTED,
        ),
        "seller": ParagraphStyle(
            "seller", parent=base, fontName=FONT_BOLD, fontSize=14, leading=17
        ),
        "title": ParagraphStyle(
            "title",
            parent=base,
            fontName=FONT_BOLD,
            fontSize=20,
            leading=24,
            alignment=TA_RIGHT,
        ),
        "title_sub": ParagraphStyle(
            "title_sub", parent=base, fontSize=10, leading=13, alignment=TA_RIGHT
        ),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.5, leading=11),
        "tax_note": ParagraphStyle(
            "tax_note", parent=base, fontSize=8, leading=10, textColor=MUTED, alignment=TA_RIGHT
        ),
        "status": ParagraphStyle(
            "status", parent=base, fontName=FONT_BOLD, fontSize=9.5, leading=13
        ),
        "alert": ParagraphStyle(
            "alert",
            parent=base,
            fontName=FONT_BOLD,
            fontSize=9.5,
            leading=13,
            textColor=ALERT,
        ),
    }


def _lines_of(text: str) -> list[str]:
    return [escape(line.strip()) for line in (text or "").splitlines() if line.strip()]


def _seller_block(s) -> list:
    flow = [Paragraph(escape(_setting("INVOICE_SELLER_NAME")), s["seller"])]
    details = _lines_of(_setting("INVOICE_SELLER_ADDRESS"))
    seller_country = _setting("INVOICE_SELLER_COUNTRY")
    if seller_country:
        details.append(escape(countries.name(seller_country) or seller_country))
    if _setting("INVOICE_SELLER_EMAIL"):
        details.append(escape(_setting("INVOICE_SELLER_EMAIL")))
    if _setting("INVOICE_SELLER_TAX_ID"):
        details.append(f"Tax ID: {escape(_setting('INVOICE_SELLER_TAX_ID'))}")
    if details:
        flow.append(Paragraph("<br/>".join(details), s["base"]))
    return flow


def _buyer_block(invoice, s) -> list:
    rows = [f"<b>{escape(invoice.buyer_company)}</b>", *_lines_of(invoice.buyer_address)]
    if invoice.buyer_country:
        rows.append(escape(countries.name(invoice.buyer_country) or invoice.buyer_country))
    if invoice.buyer_tax_id:
        rows.append(f"Tax ID: {escape(invoice.buyer_tax_id)}")
    return [
        Paragraph("BILL TO", s["label"]),
        Spacer(0, 1.5 * mm),
        Paragraph("<br/>".join(rows), s["base"]),
    ]


def _facts(invoice) -> list[tuple[str, str]]:
    title = document_title(invoice)
    facts = [(f"{title} number", invoice.number), ("Issue date", date_display(invoice.issue_date))]
    if invoice.kind == "credit_note" and invoice.corrects is not None:
        facts.append(("Corrects invoice", invoice.corrects.number))
    if invoice.due_on:
        # Card-paid invoices too: they were due (and charged) on the day of issue.
        facts.append(("Due date", date_display(invoice.due_on)))
    facts.append(("Period", period_display(invoice.period)))
    # The buyer is named in full under "Bill to": no internal account id here.
    facts.append(("Currency", invoice.currency))
    return facts


def _facts_table(invoice, s) -> Table:
    rows = [
        [Paragraph(escape(label), s["small"]), Paragraph(f"<b>{escape(value)}</b>", s["base"])]
        for label, value in _facts(invoice)
        if value
    ]
    table = Table(rows, colWidths=[32 * mm, 48 * mm], hAlign="RIGHT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    return table


def _head(invoice, s) -> Table:
    """Seller on the left; the title, number and key dates on the right; then the buyer."""
    title = document_title(invoice)
    right = [Paragraph(title.upper(), s["title"]), Spacer(0, 3 * mm), _facts_table(invoice, s)]
    head = Table(
        [[_seller_block(s), right]],
        colWidths=[CONTENT_WIDTH - 82 * mm, 82 * mm],
    )
    head.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return head


COLUMN_WIDTHS = [CONTENT_WIDTH - 74 * mm, 20 * mm, 24 * mm, 30 * mm]


def _lines_table(invoice, lines: Sequence, s) -> Table:
    header = ["Description", "Actions", "Unit CPA", "Amount"]
    rows: list[list] = [header]
    for line in lines:
        rows.append(
            [
                Paragraph(escape(line.description), s["cell"]),
                f"{line.actions:,}",
                format_money(line.unit_cpa, invoice.currency),
                format_money(line.amount, invoice.currency, places=2),
            ]
        )
    if len(rows) == 1:
        rows.append([Paragraph("No charges in this period.", s["cell"]), "", "", ""])
    table = Table(rows, colWidths=COLUMN_WIDTHS, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, 0), FONT_BOLD, 8),
                ("TEXTCOLOR", (0, 0), (-1, 0), MUTED),
                ("FONT", (1, 1), (-1, -1), FONT, 8.5),
                ("TEXTCOLOR", (0, 1), (-1, -1), INK),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
                ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, BAND]),
                ("LEFTPADDING", (0, 0), (0, -1), 2),
                ("RIGHTPADDING", (-1, 0), (-1, -1), 2),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _totals(invoice, s) -> Table:
    tax = format_money(invoice.total - invoice.subtotal, invoice.currency, places=2)
    rows = [
        ["Subtotal", format_money(invoice.subtotal, invoice.currency, places=2)],
        ["Tax", tax],
    ]
    rows += [
        [
            f"Total ({invoice.currency})" if invoice.kind != "credit_note" else "Total credited",
            format_money(invoice.total, invoice.currency, places=2),
        ],
    ]
    table = Table(rows, colWidths=[40 * mm, 32 * mm], hAlign="RIGHT")
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 9),
                ("TEXTCOLOR", (0, 0), (0, -1), MUTED),
                ("FONT", (0, -1), (-1, -1), FONT_BOLD, 11),
                ("TEXTCOLOR", (0, -1), (-1, -1), INK),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("LINEABOVE", (0, -1), (-1, -1), 0.8, INK),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                ("TOPPADDING", (0, -1), (-1, -1), 5),
            ]
        )
    )
    return table


def _status_box(invoice, s, today: date | None) -> Table:
    text = payment_status(invoice, today)
    overdue = text.startswith("Overdue")
    flow = [Paragraph(escape(text), s["alert"] if overdue else s["status"])]
    if invoice.kind == "credit_note" and invoice.reason:
        flow.append(Paragraph(f"Reason: {escape(invoice.reason)}", s["base"]))
    if invoice.kind != "credit_note" and invoice.status == "open":
        flow.append(
            Paragraph(
                f"Please quote {escape(invoice.number)} with your payment. Questions: "
                f"{escape(_setting('INVOICE_SELLER_EMAIL'))}.",
                s["small"],
            )
        )
    box = Table([[flow]], colWidths=[CONTENT_WIDTH])
    box.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.8, ALERT if overdue else RULE),
                ("BACKGROUND", (0, 0), (-1, -1), BAND),
                ("LEFTPADDING", (0, 0), (-1, -1), 8),
                ("RIGHTPADDING", (0, 0), (-1, -1), 8),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 7),
            ]
        )
    )
    return box


def _numbered_canvas(invoice):
    """A canvas that holds its pages until the end, so each footer can say "Page x of y"."""
    seller = _setting("INVOICE_SELLER_NAME")
    label = f"{document_title(invoice)} {invoice.number}"

    class NumberedCanvas(pdfcanvas.Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):  # noqa: N802 (ReportLab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self._footer(number, total)
                super().showPage()
            super().save()

        def _footer(self, number: int, total: int) -> None:
            self.saveState()
            self.setStrokeColor(RULE)
            self.setLineWidth(0.5)
            self.line(MARGIN_X, 14 * mm, PAGE_WIDTH - MARGIN_X, 14 * mm)
            self.setFont(FONT, 7.5)
            self.setFillColor(MUTED)
            self.drawString(MARGIN_X, 10 * mm, f"{seller} · {label}")
            self.drawRightString(PAGE_WIDTH - MARGIN_X, 10 * mm, f"Page {number} of {total}")
            self.restoreState()

    return NumberedCanvas


def _continuation_header(invoice):
    """From page 2 on, a line at the top says whose document this page belongs to."""
    label = f"{document_title(invoice)} {invoice.number} · {invoice.buyer_company} · " + (
        period_display(invoice.period)
    )

    def draw(canvas, doc):
        if doc.page == 1:
            return
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.setFillColor(MUTED)
        canvas.drawString(MARGIN_X, PAGE_HEIGHT - 12 * mm, f"{label} (continued)")
        canvas.restoreState()

    return draw


def invoice_pdf(invoice, *, lines: Iterable | None = None, today: date | None = None) -> bytes:
    """The PDF of an invoice or credit note, as bytes.

    `lines` defaults to the invoice's stored lines in order; pass them for an unsaved invoice.
    `today` decides "Due by" against "Overdue since" (the business date by default).
    """
    if lines is None:
        # .all(), not .order_by(): it uses lines prefetched by the caller (a month's ZIP);
        # InvoiceLine's default ordering is by position.
        lines = invoice.lines.all()
    lines = list(lines)
    if today is None:
        today = timezone.localdate()
    s = _styles()
    buffer = io.BytesIO()
    title = f"{document_title(invoice)} {invoice.number}"
    doc = BaseDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=title,
        author=_setting("INVOICE_SELLER_NAME"),
        subject=f"{title} for {invoice.buyer_company}, {period_display(invoice.period)}",
        creator="Moments Console",
        invariant=True,  # the same invoice renders to the same bytes (no timestamps, no ids)
    )
    frame = Frame(
        MARGIN_X,
        MARGIN_BOTTOM,
        CONTENT_WIDTH,
        PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
        id="body",
    )
    doc.addPageTemplates(
        [PageTemplate(id="page", frames=[frame], onPage=_continuation_header(invoice))]
    )
    story = [
        _head(invoice, s),
        Spacer(0, 9 * mm),
        Table(
            [[_buyer_block(invoice, s)]],
            colWidths=[CONTENT_WIDTH],
            style=[("LEFTPADDING", (0, 0), (-1, -1), 0)],
        ),
        Spacer(0, 7 * mm),
        _status_box(invoice, s, today),
        Spacer(0, 7 * mm),
        _lines_table(invoice, lines, s),
        Spacer(0, 4 * mm),
        KeepTogether(
            [
                _totals(invoice, s),
                Spacer(0, 2 * mm),
                Paragraph(f"{escape(invoice_tax_note(invoice=invoice))}.", s["tax_note"]),
            ]
        ),
    ]
    doc.build(story, canvasmaker=_numbered_canvas(invoice))
    return buffer.getvalue()


def invoice_pdf_filename(invoice) -> str:
    """`MC-2026-000042.pdf`: the number is the name finance files it under."""
    return f"{invoice.number}.pdf"
