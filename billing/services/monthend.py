"""The month-end pack (finance desk, issue 20): one ZIP per month for the accountants.

It holds every invoice and credit note issued in the month (their PDFs, billing/pdf.py), the
invoices CSV and the lines CSV (the finance exports' columns, billing/finance/views.py) and a
journal CSV in double entry that an accounting tool imports (one row per debit or credit):

- an invoice issued: debit 1100 Accounts receivable, credit 4000 Revenue (its total);
- a credit note issued: the reverse (debit Revenue, credit Accounts receivable);
- a payment received (paid_on in the month): debit 1000 Bank, credit Accounts receivable, for
  what was owed on the day (billing.services.revenue.payment_amount);
- a refund (a credit note on an invoice already paid): debit Accounts receivable, credit Bank.
Every entry balances, so the journal does (debits = credits).

Built by a Celery task (billing.tasks.build_monthend_pack), claimed by a conditional UPDATE
from queued (safe to run twice), its progress stored on the row as it goes; written to a
temporary name under MONTHEND_DIR and renamed once complete, so a half-written ZIP is never
offered for download.
"""

from __future__ import annotations

import logging
import os
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from billing.downloads import invoices_with_lines
from billing.finance.views import INVOICE_COLUMNS, LINE_COLUMNS, _table
from billing.models import Invoice, InvoiceLine, MonthEndPack
from billing.pdf import invoice_pdf, invoice_pdf_filename
from console.activity import activity_record
from console.clock import month_after, month_start
from console.csvexport import csv_lines
from console.money import CENTS, csv_amount

from .revenue import payment_amount, refund_amounts

logger = logging.getLogger(__name__)

PERMISSION = "billing.change_invoice"
# A build whose worker died is taken over after this long.
BUILD_LEASE = timedelta(minutes=30)
# Progress is written every this many documents (one UPDATE each).
PROGRESS_EVERY = 5

RECEIVABLE = ("1100", "Accounts receivable")
REVENUE = ("4000", "Revenue")
BANK = ("1000", "Bank")
JOURNAL_COLUMNS = [
    "date",
    "journal",
    "entry",
    "document",
    "account code",
    "account",
    "debit",
    "credit",
    "currency",
    "company",
    "memo",
]


class MonthEndRefused(ValidationError):
    """A month-end pack that cannot be built (a month not begun)."""


def monthend_dir() -> Path:
    return Path(settings.MONTHEND_DIR)


def _in_month(field: str, month: date) -> Q:
    return Q(**{f"{field}__gte": month, f"{field}__lt": month_after(month)})


def monthend_documents(month: date):
    """The invoices and credit notes issued in `month`."""
    return Invoice.objects.filter(_in_month("issue_date", month))


def journal_rows(month: date) -> Iterator[list]:
    """The month's journal, one entry per event, each entry's debits equal to its credits."""
    month = month_start(month)
    yield JOURNAL_COLUMNS
    events: list[tuple[date, str, Invoice, str, tuple, tuple, Decimal]] = []
    for doc in monthend_documents(month).select_related("corrects").order_by("number"):
        if doc.is_credit_note:
            events.append(
                (
                    doc.issue_date,
                    "SALES",
                    doc,
                    f"Credit note on {doc.corrects.number}",
                    REVENUE,
                    RECEIVABLE,
                    -doc.total,
                )
            )
        else:
            events.append(
                (
                    doc.issue_date,
                    "SALES",
                    doc,
                    f"Invoice {doc.period:%Y-%m}",
                    RECEIVABLE,
                    REVENUE,
                    doc.total,
                )
            )
    credits: dict[int, list[Invoice]] = defaultdict(list)
    paid = list(
        Invoice.objects.filter(_in_month("paid_on", month), kind=Invoice.Kind.INVOICE)
        .filter(status=Invoice.Status.PAID)
        .order_by("number")
    )
    refunded = Invoice.objects.filter(
        _in_month("issue_date", month),
        kind=Invoice.Kind.CREDIT_NOTE,
        corrects__status=Invoice.Status.PAID,
    ).values_list("corrects_id", flat=True)
    for note in Invoice.objects.filter(
        Q(corrects__in=[p.pk for p in paid]) | Q(corrects__in=list(refunded)),
        kind=Invoice.Kind.CREDIT_NOTE,
    ):
        credits[note.corrects_id].append(note)
    for invoice in paid:
        reference = invoice.paid_reference or invoice.paid_by
        events.append(
            (
                invoice.paid_on,
                "BANK",
                invoice,
                f"Payment: {reference}",
                BANK,
                RECEIVABLE,
                payment_amount(invoice, credits[invoice.pk]),
            )
        )
    for invoice in Invoice.objects.filter(pk__in=list(refunded)).order_by("number"):
        for note, amount in refund_amounts(invoice, credits[invoice.pk]):
            if month <= note.issue_date < month_after(month):
                events.append(
                    (
                        note.issue_date,
                        "BANK",
                        note,
                        f"Refund on {invoice.number}",
                        RECEIVABLE,
                        BANK,
                        -amount,
                    )
                )
    events.sort(key=lambda e: (e[0], e[1], e[2].number))
    for n, (day, journal, doc, memo, debit, credit, amount) in enumerate(events, start=1):
        entry = f"{month:%Y%m}-{n:05d}"
        money = csv_amount(amount, CENTS)
        for (code, name), dr, cr in ((debit, money, ""), (credit, "", money)):
            yield [
                day,
                journal,
                entry,
                doc.number,
                code,
                name,
                dr,
                cr,
                doc.currency,
                doc.buyer_company,
                memo,
            ]


def monthend_request(*, actor, month: date) -> MonthEndPack:
    """Queue the build of `month`'s pack (or return the one being built). Finance only."""
    if actor is None or not actor.has_perm(PERMISSION):
        raise PermissionDenied("Only finance may build month-end packs.")
    month = month_start(month)
    if month > month_start(timezone.localdate()):
        raise MonthEndRefused(f"{month:%B %Y} has not begun.")
    try:
        with transaction.atomic():
            pack = MonthEndPack.objects.create(month=month, requested_by=actor)
            activity_record(
                actor=actor,
                account=None,
                action="monthend.requested",
                target=pack,
                data={"month": f"{month:%Y-%m}"},
            )
            transaction.on_commit(lambda: _enqueue(pack.pk), robust=True)
    except IntegrityError:
        # One build per month at a time (the conditional unique): show the one under way.
        return MonthEndPack.objects.get(
            month=month, status__in=[MonthEndPack.Status.QUEUED, MonthEndPack.Status.BUILDING]
        )
    return pack


def _enqueue(pack_pk: int) -> None:
    from billing.tasks import build_monthend_pack

    build_monthend_pack.delay(pack_pk)


def _claim(pack_pk: int, now: datetime) -> bool:
    waiting = Q(status=MonthEndPack.Status.QUEUED) | Q(
        status=MonthEndPack.Status.BUILDING, started_at__lt=now - BUILD_LEASE
    )
    return (
        MonthEndPack.objects.filter(waiting, pk=pack_pk).update(
            status=MonthEndPack.Status.BUILDING, started_at=now, done_steps=0
        )
        == 1
    )


def monthend_build(*, pack_pk: int, now: datetime | None = None) -> MonthEndPack | None:
    """Build a queued pack: None when another run has it (or it is built)."""
    now = now or timezone.now()
    if not _claim(pack_pk, now):
        return None
    pack = MonthEndPack.objects.get(pk=pack_pk)
    month = pack.month
    documents = monthend_documents(month)
    count = documents.count()
    MonthEndPack.objects.filter(pk=pack.pk).update(total_steps=count + 3, documents=count)
    folder = monthend_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"monthend-{month:%Y-%m}-{pack.pk}.zip"
    partial = folder / f".{name}.part"
    # The PDFs state what was due as of the month's last day, not the day the pack was built.
    last_day = month_after(month) - timedelta(days=1)
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            done = 0
            for doc in invoices_with_lines(documents):
                folder_name = "credit-notes" if doc.is_credit_note else "invoices"
                archive.writestr(
                    f"{folder_name}/{invoice_pdf_filename(doc)}", invoice_pdf(doc, today=last_day)
                )
                done += 1
                if done % PROGRESS_EVERY == 0:
                    MonthEndPack.objects.filter(pk=pack.pk).update(done_steps=done)
            rows = (
                documents.with_status_shown(last_day)  # as of the month's end, like the PDFs
                .order_by("number")
                .values_list(*[f for _, f in INVOICE_COLUMNS])
            )
            archive.writestr("invoices.csv", "".join(csv_lines(_table(INVOICE_COLUMNS, rows))))
            MonthEndPack.objects.filter(pk=pack.pk).update(done_steps=done + 1)
            lines = (
                InvoiceLine.objects.filter(invoice__in=documents.values("pk"))
                .order_by("invoice__number", "position", "pk")
                .values_list(*[f for _, f in LINE_COLUMNS])
            )
            archive.writestr("lines.csv", "".join(csv_lines(_table(LINE_COLUMNS, lines))))
            MonthEndPack.objects.filter(pk=pack.pk).update(done_steps=done + 2)
            archive.writestr("journal.csv", "".join(csv_lines(journal_rows(month))))
        os.replace(partial, folder / name)
    except Exception as exc:
        logger.exception("Month-end pack %s failed.", pack.pk)
        partial.unlink(missing_ok=True)
        MonthEndPack.objects.filter(pk=pack.pk).update(
            status=MonthEndPack.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    MonthEndPack.objects.filter(pk=pack.pk, status=MonthEndPack.Status.BUILDING).update(
        status=MonthEndPack.Status.READY,
        path=name,
        done_steps=count + 3,
        finished_at=timezone.now(),
    )
    pack.refresh_from_db()
    return pack


def monthend_file(pack: MonthEndPack) -> Path | None:
    """The pack's ZIP on disk, when it is ready and still there."""
    if pack.status != MonthEndPack.Status.READY or not pack.path:
        return None
    path = monthend_dir() / Path(pack.path).name
    return path if path.exists() else None
