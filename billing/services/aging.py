"""Receivables aging (finance desk): what is owed on open invoices, by how long it is past due.

Buckets: current (not overdue yet), 1–30, 31–60, 61–90 and over 90 days past the due date.
"Overdue" is the one rule in billing.models (`invoice_overdue_q`, `Invoice.overdue_on`): an
invoice is in a past-due bucket only when that rule says it is overdue; its days past due then
only choose which bucket. What is owed on an invoice is its total less its credit notes (a
partial credit note on an open invoice settles that part of it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import DecimalField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.models import Invoice

ZERO = Decimal("0.00")
# (key, label, the most days past due it holds; None: no upper end)
BUCKETS: list[tuple[str, str, int | None]] = [
    ("current", "Current", 0),
    ("d1_30", "1–30 days", 30),
    ("d31_60", "31–60 days", 60),
    ("d61_90", "61–90 days", 90),
    ("over_90", "Over 90 days", None),
]
BUCKET_KEYS = [key for key, _, _ in BUCKETS]


def aging_bucket(*, invoice: Invoice, today: date) -> tuple[str, int]:
    """(bucket key, days past due) of an open invoice on `today`."""
    if not invoice.overdue_on(today):
        return "current", 0
    days = (today - invoice.due_date).days
    for key, _, most in BUCKETS[1:]:
        if most is None or days <= most:
            return key, days
    raise AssertionError("unreachable: the last bucket has no upper end")


@dataclass
class AgingInvoice:
    invoice: Invoice
    owed: Decimal
    bucket: str
    days_past_due: int


@dataclass
class AgingRow:
    """One account's receivables in one currency."""

    account_id: int
    company: str
    currency: str
    amounts: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(BUCKET_KEYS, ZERO))
    invoices: dict[str, list[AgingInvoice]] = field(
        default_factory=lambda: {key: [] for key in BUCKET_KEYS}
    )

    @property
    def total(self) -> Decimal:
        return sum(self.amounts.values(), ZERO)

    @property
    def cells(self) -> list[tuple[Decimal, list[AgingInvoice]]]:
        return [(self.amounts[key], self.invoices[key]) for key in BUCKET_KEYS]


@dataclass
class AgingReport:
    today: date
    rows: list[AgingRow]
    lines: list[AgingInvoice]
    totals: dict[str, dict[str, Decimal]]  # currency -> bucket -> amount

    @property
    def total_rows(self) -> list[tuple[str, list[Decimal], Decimal]]:
        """(currency, the bucket totals in order, the grand total) per currency."""
        return [
            (currency, [amounts[key] for key in BUCKET_KEYS], sum(amounts.values(), ZERO))
            for currency, amounts in sorted(self.totals.items())
        ]


def open_invoices_owed():
    """Open invoices annotated with `owed`: the total less its credit notes (negative)."""
    credited = (
        Invoice.objects.filter(corrects=OuterRef("pk"))
        .order_by()
        .values("corrects")
        .annotate(s=Sum("total"))
        .values("s")
    )
    money = DecimalField(max_digits=12, decimal_places=2)
    return (
        Invoice.objects.filter(kind=Invoice.Kind.INVOICE, status=Invoice.Status.OPEN)
        .annotate(credited=Coalesce(Subquery(credited, output_field=money), Value(ZERO)))
        .select_related("account")
    )


def aging_report(*, today: date | None = None) -> AgingReport:
    """The receivables of every account on `today` (the business date by default), by bucket,
    largest total first, with the invoices behind each amount."""
    today = today or timezone.localdate()
    rows: dict[tuple[int, str], AgingRow] = {}
    lines: list[AgingInvoice] = []
    totals: dict[str, dict[str, Decimal]] = {}
    for invoice in open_invoices_owed().order_by("due_date", "number"):
        owed = invoice.total + invoice.credited
        if owed <= 0:
            continue
        bucket, days = aging_bucket(invoice=invoice, today=today)
        line = AgingInvoice(invoice=invoice, owed=owed, bucket=bucket, days_past_due=days)
        lines.append(line)
        key = (invoice.account_id, invoice.currency)
        row = rows.get(key)
        if row is None:
            row = rows[key] = AgingRow(
                account_id=invoice.account_id,
                company=invoice.account.name,
                currency=invoice.currency,
            )
        row.amounts[bucket] += owed
        row.invoices[bucket].append(line)
        by_bucket = totals.setdefault(invoice.currency, dict.fromkeys(BUCKET_KEYS, ZERO))
        by_bucket[bucket] += owed
    ordered = sorted(rows.values(), key=lambda r: (-r.total, r.company.lower(), r.account_id))
    return AgingReport(today=today, rows=ordered, lines=lines, totals=totals)
