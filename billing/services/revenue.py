"""Revenue by month (finance desk, issue 20): spend charged (the ledger), invoiced, credited and
collected, and the check that it ties to the ledger to the cent.

- Charged: the ledger's entries of the month (`LedgerEntry.month`), at their stored 4 places.
- Invoiced: the invoices billing the month (`period`); credited: the credit notes correcting
  them (negative), by the same period, so a month's net is what it finally billed.
- Collected: payments received in the month (`paid_on`): what was owed on each paid invoice
  then (its total less the credit notes issued up to that day; `payment_amount`), less refunds
  (credit notes on an invoice already paid, on their issue date).

The tie-out, shown on the page:
1. ledger total = invoiced entries + not yet invoiced entries (every entry is one or the other:
   InvoicedEntry's one-to-one);
2. every invoice's total = its covered ledger entries, summed per line (campaign, month, kind,
   unit) and rounded once per line, half up, as the invoice run does: to the cent.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Exists, OuterRef, Sum
from django.utils import timezone

from billing.models import Invoice, InvoicedEntry, LedgerEntry
from console.clock import month_after, month_start
from console.money import round_money

ZERO = Decimal("0")
CENTS0 = Decimal("0.00")


def payment_amount(invoice: Invoice, credits: list[Invoice]) -> Decimal:
    """The cash a paid invoice brought in: its total less its credit notes issued by the day
    it was paid (a credit on an open invoice lowers what is owed; a later one is a refund)."""
    before = sum((c.total for c in credits if c.issue_date <= invoice.paid_on), CENTS0)
    return invoice.total + before


def refund_amounts(invoice: Invoice, credits: list[Invoice]) -> list[tuple[Invoice, Decimal]]:
    """(credit note, cash paid back) for credit notes issued after the invoice was paid."""
    if invoice.status != Invoice.Status.PAID:
        return []
    return [(c, c.total) for c in credits if c.issue_date > invoice.paid_on]


@dataclass
class RevenueMonth:
    month: date | None  # None: the totals row
    charged: Decimal = ZERO
    not_invoiced: Decimal = ZERO
    invoiced: Decimal = CENTS0
    credited: Decimal = CENTS0
    collected: Decimal = CENTS0

    @property
    def net(self) -> Decimal:
        return self.invoiced + self.credited


@dataclass
class TieOut:
    ledger_total: Decimal
    ledger_invoiced: Decimal
    ledger_not_invoiced: Decimal
    invoices_total: Decimal
    invoices_from_ledger: Decimal
    mismatched: list[str] = field(default_factory=list)

    @property
    def ledger_ok(self) -> bool:
        return self.ledger_total == self.ledger_invoiced + self.ledger_not_invoiced

    @property
    def invoices_ok(self) -> bool:
        return not self.mismatched and self.invoices_total == self.invoices_from_ledger

    @property
    def ok(self) -> bool:
        return self.ledger_ok and self.invoices_ok


@dataclass
class RevenueReport:
    months: list[RevenueMonth]
    tie: TieOut

    @property
    def totals(self) -> RevenueMonth:
        total = RevenueMonth(month=None)
        for m in self.months:
            total.charged += m.charged
            total.not_invoiced += m.not_invoiced
            total.invoiced += m.invoiced
            total.credited += m.credited
            total.collected += m.collected
        return total

    def chart_data(self) -> dict:
        """For json_script: money as exact decimal strings (the browser only draws them)."""
        return {
            "labels": [f"{m.month:%Y-%m}" for m in self.months],
            "charged": [str(round_money(m.charged)) for m in self.months],
            "invoiced": [str(m.invoiced) for m in self.months],
            "credited": [str(m.credited) for m in self.months],
            "collected": [str(m.collected) for m in self.months],
        }


def _tie_out() -> TieOut:
    covered = InvoicedEntry.objects.filter(ledger_entry_id=OuterRef("pk"))
    split = (
        LedgerEntry.objects.annotate(is_invoiced=Exists(covered))
        .values("is_invoiced")
        .annotate(s=Sum("amount"))
        .order_by()
    )
    by_flag = {row["is_invoiced"]: row["s"] or ZERO for row in split}
    ledger_invoiced, not_invoiced = by_flag.get(True, ZERO), by_flag.get(False, ZERO)
    # The invoices' lines again, from the ledger: one group per (invoice, campaign, month,
    # kind, unit amount) as billing.services.invoices._lines groups them, rounded once each.
    groups = (
        InvoicedEntry.objects.values(
            "invoice_id",
            "ledger_entry__campaign_id",
            "ledger_entry__month",
            "ledger_entry__kind",
            "ledger_entry__amount",
        )
        .annotate(s=Sum("ledger_entry__amount"))
        .order_by()
    )
    from_ledger: dict[int, Decimal] = defaultdict(lambda: CENTS0)
    for row in groups:
        from_ledger[row["invoice_id"]] += round_money(row["s"])
    invoices = dict(Invoice.objects.filter(kind=Invoice.Kind.INVOICE).values_list("pk", "subtotal"))
    numbers = dict(Invoice.objects.filter(kind=Invoice.Kind.INVOICE).values_list("pk", "number"))
    mismatched = sorted(
        numbers[pk] for pk, subtotal in invoices.items() if from_ledger.get(pk, CENTS0) != subtotal
    )
    return TieOut(
        ledger_total=ledger_invoiced + not_invoiced,
        ledger_invoiced=ledger_invoiced,
        ledger_not_invoiced=not_invoiced,
        invoices_total=sum(invoices.values(), CENTS0),
        invoices_from_ledger=sum(from_ledger.values(), CENTS0),
        mismatched=mismatched,
    )


def revenue_report(*, today: date | None = None) -> RevenueReport:
    """Every month from the first with a ledger entry or invoice to the current one."""
    today = today or timezone.localdate()
    months: dict[date, RevenueMonth] = {}

    def at(day: date) -> RevenueMonth:
        key = month_start(day)
        if key not in months:
            months[key] = RevenueMonth(month=key)
        return months[key]

    covered = InvoicedEntry.objects.filter(ledger_entry_id=OuterRef("pk"))
    for row in (
        LedgerEntry.objects.annotate(is_invoiced=Exists(covered))
        .values("month", "is_invoiced")
        .annotate(s=Sum("amount"))
        .order_by()
    ):
        month = at(row["month"])
        month.charged += row["s"]
        if not row["is_invoiced"]:
            month.not_invoiced += row["s"]
    documents = list(Invoice.objects.order_by("issue_date", "number"))
    credits: dict[int, list[Invoice]] = defaultdict(list)
    for doc in documents:
        if doc.is_credit_note:
            credits[doc.corrects_id].append(doc)
            at(doc.period).credited += doc.total
        else:
            at(doc.period).invoiced += doc.total
    for doc in documents:
        if doc.is_credit_note or doc.status != Invoice.Status.PAID:
            continue
        at(doc.paid_on).collected += payment_amount(doc, credits[doc.pk])
        for note, refund in refund_amounts(doc, credits[doc.pk]):
            at(note.issue_date).collected += refund
    if months:
        # Every month in between (and up to this one) gets a row, even an empty one.
        month, last = min(months), max(max(months), month_start(today))
        while month <= last:
            at(month)
            month = month_after(month)
    return RevenueReport(months=[months[k] for k in sorted(months)], tie=_tie_out())
