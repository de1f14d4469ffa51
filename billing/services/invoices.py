"""Invoices and credit notes (SPEC §9): gapless numbers, the monthly run, credit notes and
recording a payment.

The monthly run issues, per account, one invoice for a month: every ledger entry of that month
or earlier that no invoice covers yet (so a charge that committed after its month was invoiced
lands on the next invoice, as its own line), aggregated in SQL per campaign, month and unit
price, each line rounded once to cents. Which entries an invoice covers is recorded in
`InvoicedEntry` (one-to-one on the entry: billed exactly once) without editing the ledger.

Concurrency: each account's invoice is issued after locking the account row (in a savepoint of
its batch's transaction), so two runs at once issue it once; the number is drawn only once the
invoice is known to be new, from the year's counter row in the same transaction, so a rollback
gives the number back and the series has no gap.
"""

from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.contrib.admin.models import ADDITION
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Sum
from django.utils import timezone

from billing.models import (
    Invoice,
    InvoicedEntry,
    InvoiceLine,
    LedgerEntry,
    Payment,
    invoice_due_date,
)
from billing.selectors import uninvoiced_entries
from billing.services.payments import card_charge
from console.activity import HistoryLine, activity_record
from console.clock import month_after, month_before, month_start
from console.metrics import invoice_issued
from console.models import Account
from console.money import MILLS, format_money, round_money
from console.webhooks.events import webhook_event_publish

logger = logging.getLogger(__name__)

# Accounts invoiced in one transaction by the monthly run (each in its own savepoint, so a
# failure costs that account's invoice, never the batch's).
ACCOUNT_BATCH = 50
# A charge committing between the line aggregate and the record of covered entries makes the
# two disagree: the transaction is rolled back (the number with it) and tried again.
RACE_RETRIES = 5


class InvoiceRefused(ValidationError):
    """A request finance or the command may make but that cannot be honoured, with a sentence
    saying why."""


class _CoverageRaced(Exception):
    """More entries were recorded as covered than were aggregated into lines."""


def invoice_number_next(*, year: int) -> str:
    """Draw the next number of `year`'s series, `MC-<year>-<6 digits>`.

    Must run inside the invoice's transaction: the counter row stays locked by the UPDATE until
    commit (concurrent issuers wait, in order), and a rollback returns the number."""
    if not connection.in_atomic_block:
        raise RuntimeError("invoice_number_next must run inside the invoice's transaction")
    with connection.cursor() as cursor:
        # The year's row may not exist yet: create it without failing on a concurrent creator.
        cursor.execute(
            "INSERT INTO billing_invoicecounter (year, last) VALUES (%s, 0) "
            "ON CONFLICT (year) DO NOTHING",
            [year],
        )
        cursor.execute(
            "UPDATE billing_invoicecounter SET last = last + 1 WHERE year = %s RETURNING last",
            [year],
        )
        (last,) = cursor.fetchone()
    return f"MC-{year}-{last:06d}"


def _uninvoiced(*, account_id: int, period: date):
    """The account's ledger entries of `period` or earlier that no invoice covers yet."""
    return uninvoiced_entries(account_id=account_id).filter(month__lte=period)


@dataclass(frozen=True)
class _Line:
    campaign_id: int
    description: str
    actions: int
    unit_cpa: Decimal
    amount: Decimal


def _month_label(month: date) -> str:
    return f"{calendar.month_name[month.month]} {month.year}"


def _describe(*, name: str, kind: str, actions: int, unit: Decimal, month: date, period: date):
    if kind == LedgerEntry.Kind.CORRECTION:
        text = f"{name} — correction: {actions} × {format_money(unit)}"
    else:
        noun = "action" if actions == 1 else "actions"
        text = f"{name} — {actions} {noun} × {format_money(unit)}"
    if month != period:
        # A late charge: its month was invoiced before it committed.
        text += f" ({_month_label(month)})"
    return text


def _lines(*, account_id: int, period: date) -> tuple[list[_Line], int]:
    """The invoice's lines, aggregated in SQL, and how many ledger entries they cover."""
    rows = (
        _uninvoiced(account_id=account_id, period=period)
        .values("campaign_id", "campaign__name", "month", "kind", "amount")
        .annotate(n=Count("id"), total=Sum("amount"))
        .order_by("-month", "campaign__name", "campaign_id", "kind", "amount")
    )
    lines, covered = [], 0
    for row in rows:
        covered += row["n"]
        lines.append(
            _Line(
                campaign_id=row["campaign_id"],
                description=_describe(
                    name=row["campaign__name"],
                    kind=row["kind"],
                    actions=row["n"],
                    unit=round_money(row["amount"], MILLS),
                    month=row["month"],
                    period=period,
                ),
                actions=row["n"],
                unit_cpa=row["amount"],
                # Rounded once, per line (SPEC §9); the total is the sum of rounded lines.
                amount=round_money(row["total"]),
            )
        )
    return lines, covered


def _payment(*, account: Account, issue_date: date, total: Decimal) -> dict:
    """How the invoice is settled: card accounts are charged on issue (simulated), invoice
    terms accounts get 30 days."""
    if account.payment_terms == Account.PaymentTerms.INVOICE:
        return {
            "payment_terms": Invoice.PaymentTerms.INVOICE,
            "status": Invoice.Status.OPEN,
            "due_date": invoice_due_date(
                payment_terms=Invoice.PaymentTerms.INVOICE, issue_date=issue_date
            ),
        }
    charged = card_charge(account=account, amount=total, today=issue_date)
    if not charged.paid:
        # A card that cannot be charged (none on file, expired, declined): the invoice is due
        # at once (and shows as overdue from the next day); dunning (billing.services.dunning)
        # retries the card and chases it until it is paid.
        return {
            "payment_terms": Invoice.PaymentTerms.CARD,
            "status": Invoice.Status.OPEN,
            "due_date": invoice_due_date(
                payment_terms=Invoice.PaymentTerms.CARD, issue_date=issue_date
            ),
        }
    return {
        "payment_terms": Invoice.PaymentTerms.CARD,
        "status": Invoice.Status.PAID,
        "paid_by": charged.paid_by,
        "paid_on": issue_date,
    }


def _email_after_commit(invoice_pk: int) -> None:
    from billing.tasks import email_invoice

    # robust: a broker that is down must not stop the run after this invoice committed (the
    # invoice stands; its email is the email part's to retry).
    transaction.on_commit(lambda: email_invoice.delay(invoice_pk), robust=True)


def _issue_once(*, account_id: int, period: date, now: datetime) -> Invoice | None:
    with transaction.atomic():
        # Lock the account: a second run (or worker) issuing the same account waits here and
        # then finds the invoice made.
        account = Account.objects.select_for_update().get(pk=account_id)
        if Invoice.objects.filter(
            account_id=account_id, period=period, kind=Invoice.Kind.INVOICE
        ).exists():
            return None
        lines, covered = _lines(account_id=account_id, period=period)
        if not lines:
            return None
        issue_date = timezone.localdate(now)
        total = sum((line.amount for line in lines), Decimal("0.00"))
        invoice = Invoice.objects.create(
            number=invoice_number_next(year=issue_date.year),
            kind=Invoice.Kind.INVOICE,
            account=account,
            period=period,
            issued_at=now,
            issue_date=issue_date,
            buyer_company=account.name,
            buyer_address=account.billing_address,
            buyer_country=str(account.country),
            buyer_tax_id=account.tax_id,
            currency="USD",
            subtotal=total,
            total=total,
            **_payment(account=account, issue_date=issue_date, total=total),
        )
        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=invoice,
                campaign_id=line.campaign_id,
                description=line.description,
                actions=line.actions,
                unit_cpa=line.unit_cpa,
                amount=line.amount,
                position=position,
            )
            for position, line in enumerate(lines, start=1)
        )
        # Record the covered entries with one INSERT ... SELECT over the same filter. Under
        # read committed this statement sees charges that committed after the aggregate above:
        # it can only cover more, never fewer (the ledger is append-only and the account is
        # locked), so an equal count means the same entries.
        entries = (
            _uninvoiced(account_id=account_id, period=period)
            .order_by()
            .values_list("pk", flat=True)
        )
        sql, params = entries.query.sql_with_params()
        with connection.cursor() as cursor:
            # `sql` is Django's compiled query; every value in it is a parameter.
            insert = f"INSERT INTO billing_invoicedentry (invoice_id, ledger_entry_id) SELECT %s, u.* FROM ({sql}) u"  # noqa: E501, S608
            cursor.execute(insert, [invoice.pk, *params])
            recorded = cursor.rowcount
        if recorded != covered:
            raise _CoverageRaced
        _invoice_issued_event(invoice)
        activity_record(
            actor=None,
            account=account_id,
            action="invoice.issued",
            target=invoice,
            data={"period": f"{period:%Y-%m}", "total": total, "status": invoice.status},
        )
        _email_after_commit(invoice.pk)
        transaction.on_commit(invoice_issued)  # moments_invoices_issued_total
        return invoice


def _invoice_issued_event(invoice: Invoice) -> None:
    """The `invoice.issued` webhook event, in the issuing transaction."""
    webhook_event_publish(
        account_id=invoice.account_id,
        event_type="invoice.issued",
        data={
            "invoice_number": invoice.number,
            "kind": invoice.kind,
            "period": f"{invoice.period:%Y-%m}",
            "currency": invoice.currency,
            "total": str(invoice.total),
            "corrects": invoice.corrects.number if invoice.corrects_id else None,
        },
    )


def invoice_issue_for_account(*, account_id: int, period: date, now: datetime) -> Invoice | None:
    """Issue `account_id`'s invoice for the month starting `period`, or return None when it
    exists already or the account has nothing to bill. Safe to call twice or concurrently."""
    period = month_start(period)
    for _ in range(RACE_RETRIES):
        try:
            return _issue_once(account_id=account_id, period=period, now=now)
        except _CoverageRaced:
            continue
        except IntegrityError:
            # Another issuer won on the unique (account, period) without our lock seeing it
            # (cannot happen with the row lock; kept as the database's last word).
            if Invoice.objects.filter(
                account_id=account_id, period=period, kind=Invoice.Kind.INVOICE
            ).exists():
                return None
            raise
    raise RuntimeError(f"charges kept committing while invoicing account {account_id}")


def invoices_issue_month(*, month: date, now: datetime | None = None) -> list[Invoice]:
    """Issue the invoices of `month` (any day in it) for every account with uninvoiced charges
    up to its end. Refuses a month that is not over yet. Returns the invoices made by this
    call (none on a second run)."""
    now = now or timezone.now()
    period = month_start(month)
    if month_after(period) > timezone.localdate(now):
        raise InvoiceRefused(
            f"{_month_label(period)} is not over yet: its invoices can be issued from "
            f"{month_after(period):%Y-%m-%d}."
        )
    covered = InvoicedEntry.objects.filter(ledger_entry_id=OuterRef("pk"))
    account_ids = (
        LedgerEntry.objects.filter(month__lte=period)
        .filter(~Exists(covered))
        .values_list("account_id", flat=True)
        .distinct()
        .order_by("account_id")
    )
    # The candidates are read once (ids only); the invoices are then issued in batches of
    # accounts, one transaction per batch and a savepoint per account: a commit (and its
    # fsync) per batch, not per invoice. Accounts are locked in id order by every run, so two
    # runs at once wait on each other and never deadlock.
    candidates = list(account_ids)
    issued: list[Invoice] = []
    failed: list[int] = []
    for start in range(0, len(candidates), ACCOUNT_BATCH):
        with transaction.atomic():
            for account_id in candidates[start : start + ACCOUNT_BATCH]:
                try:
                    invoice = invoice_issue_for_account(
                        account_id=account_id, period=period, now=now
                    )
                except Exception:
                    # Its savepoint rolled back (its number too); the others go on, and the
                    # run reports it at the end: running again issues only what is missing.
                    logger.exception("Invoice of account %s for %s failed.", account_id, period)
                    failed.append(account_id)
                    continue
                if invoice is not None:
                    issued.append(invoice)
    logger.info("Issued %d invoices for %s.", len(issued), f"{period:%Y-%m}")
    if failed:
        raise RuntimeError(
            f"{len(failed)} account(s) could not be invoiced for {period:%Y-%m} "
            f"(ids {failed[:20]}); the {len(issued)} other invoices are issued. Run again."
        )
    return issued


def invoices_issue_previous_month(*, now: datetime | None = None) -> list[Invoice]:
    """The beat task's run: the month before today's (business time zone)."""
    now = now or timezone.now()
    return invoices_issue_month(month=month_before(timezone.localdate(now)), now=now)


def invoice_creditable(*, invoice: Invoice) -> Decimal:
    """What is left to credit on an invoice: its total less its credit notes."""
    credited = Invoice.objects.filter(corrects=invoice).aggregate(s=Sum("total"))["s"]
    return invoice.total + (credited or Decimal("0.00"))


def credit_note_issue(
    *,
    actor,
    invoice: Invoice,
    reason: str,
    amount: Decimal | None = None,
    now: datetime | None = None,
) -> Invoice:
    """Correct an issued invoice with a credit note: the next number of the series, negative
    lines, the reason. `amount` None credits all that is left (the invoice's lines negated when
    nothing was credited before); otherwise one line of `-amount`. The invoice itself is not
    edited, except that an open invoice credited in full is void (nothing is owed on it)."""
    reason = (reason or "").strip()
    if not reason:
        raise InvoiceRefused("A credit note needs a reason.")
    now = now or timezone.now()
    with transaction.atomic():
        # Lock the invoice: two credit notes at once must not credit more than its total.
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        amount, left = _credit_checked(invoice=invoice, amount=amount)
        full = amount is None or amount == left
        lines = _credit_note_lines(invoice=invoice, amount=amount, left=left, reason=reason)
        note = _credit_note_create(invoice=invoice, lines=lines, reason=reason, now=now)
        _invoice_issued_event(note)
        if full:
            Invoice.objects.filter(pk=invoice.pk, status=Invoice.Status.OPEN).update(
                status=Invoice.Status.VOID
            )
        elif invoice.status == Invoice.Status.OPEN and invoice.amount_paid >= left - amount:
            # Partly paid and now credited for the rest: nothing is left to pay, so it is
            # settled (paid, on the credit note's date) rather than open with nothing due.
            Invoice.objects.filter(pk=invoice.pk, status=Invoice.Status.OPEN).update(
                status=Invoice.Status.PAID,
                paid_on=note.issue_date,
                paid_reference=f"Settled by credit note {note.number}",
            )
        _credit_note_record(actor=actor, invoice=invoice, note=note, reason=reason, full=full)
        _email_after_commit(note.pk)
    return note


def _credit_checked(*, invoice: Invoice, amount: Decimal | None) -> tuple[Decimal | None, Decimal]:
    """The amount to credit (rounded; None: all that is left) and what is left to credit on
    the locked `invoice`; refused when it cannot be credited so."""
    if invoice.kind != Invoice.Kind.INVOICE:
        raise InvoiceRefused(f"{invoice.number} is a credit note: correct the invoice.")
    left = invoice_creditable(invoice=invoice)
    if left <= 0:
        raise InvoiceRefused(f"{invoice.number} is credited in full already.")
    if amount is not None:
        amount = round_money(amount)
        if amount <= 0:
            raise InvoiceRefused(
                f"The amount to credit must be more than {format_money(0, places=2)}."
            )
        if amount > left:
            raise InvoiceRefused(
                f"At most {format_money(left, invoice.currency, places=2)} is left to credit "
                f"on {invoice.number}."
            )
    return amount, left


def _credit_note_lines(
    *, invoice: Invoice, amount: Decimal | None, left: Decimal, reason: str
) -> list[InvoiceLine]:
    """The credit note's lines (unsaved): the invoice's lines negated when all of it is
    credited at once, else one line of the amount credited."""
    if amount is None and left == invoice.total:
        return [
            InvoiceLine(
                campaign_id=line.campaign_id,
                description=f"Credit: {line.description}",
                actions=-line.actions,
                unit_cpa=line.unit_cpa,
                amount=-line.amount,
                position=line.position,
            )
            for line in invoice.lines.all()
        ]
    credit = left if amount is None else amount
    return [
        InvoiceLine(
            campaign_id=None,
            description=f"Credit on {invoice.number}: {reason}",
            actions=0,
            unit_cpa=Decimal("0"),
            amount=-credit,
            position=1,
        )
    ]


def _credit_note_create(
    *, invoice: Invoice, lines: list[InvoiceLine], reason: str, now: datetime
) -> Invoice:
    """The credit note with its lines, numbered in the invoices' series, settled on issue."""
    total = sum((line.amount for line in lines), Decimal("0.00"))
    issue_date = timezone.localdate(now)
    note = Invoice.objects.create(
        number=invoice_number_next(year=issue_date.year),
        kind=Invoice.Kind.CREDIT_NOTE,
        account_id=invoice.account_id,
        period=invoice.period,
        issued_at=now,
        issue_date=issue_date,
        # Settled on issue: against what is owed on the invoice, or refunded by the means
        # that paid it (simulated, as card charges are).
        status=Invoice.Status.PAID,
        payment_terms=invoice.payment_terms,
        paid_by=invoice.paid_by,
        paid_on=issue_date,
        paid_reference=f"Corrects {invoice.number}",
        buyer_company=invoice.buyer_company,
        buyer_address=invoice.buyer_address,
        buyer_country=invoice.buyer_country,
        buyer_tax_id=invoice.buyer_tax_id,
        currency=invoice.currency,
        subtotal=total,
        total=total,
        corrects=invoice,
        reason=reason,
    )
    for line in lines:
        line.invoice = note
    InvoiceLine.objects.bulk_create(lines)
    return note


def _credit_note_record(*, actor, invoice: Invoice, note: Invoice, reason: str, full: bool) -> None:
    """The account's activity entry and both documents' admin history, in one call. `invoice`
    is the row as locked, before a full credit voided it."""
    total = note.total
    activity_record(
        actor=actor,
        account=invoice.account_id,
        action="invoice.credited",
        target=invoice,
        data={
            "credit_note": note.number,
            "amount": -total,
            "reason": reason,
            "voided": full and invoice.status == Invoice.Status.OPEN,
        },
        history=[
            HistoryLine(
                invoice,
                f"Credit note {note.number} of "
                f"{format_money(-total, note.currency, places=2)} issued: {reason}",
            ),
            HistoryLine(note, f"Issued: {reason}", ADDITION),
        ],
    )


def invoice_balance_due(*, invoice: Invoice) -> Decimal:
    """What is still to be paid on an invoice: nothing unless it is open; else its total less
    its credit notes and the payments recorded (amount_paid)."""
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status != Invoice.Status.OPEN:
        return Decimal("0.00")
    return max(invoice_creditable(invoice=invoice) - invoice.amount_paid, Decimal("0.00"))


def invoice_payment_record(
    *, actor, invoice: Invoice, amount: Decimal | None, paid_on: date, reference: str
) -> Payment:
    """Record a payment finance received for an open invoice (a bank transfer's amount, date
    and reference): a Payment row, and the amount added to the invoice's `amount_paid`. A
    payment of the whole balance due (`amount` None: all of it) marks the invoice paid, with
    this payment's date and reference; a smaller one leaves it open, "Partially paid".

    The invoice row is locked first (a credit note issued at the same time changes what is
    due), then moved by one conditional UPDATE that never takes `amount_paid` above the total;
    the database's CHECK (invoice_amount_paid_within_total) is the last word. Two payments at
    once never pay more than is due: the second waits, then sees the first. Refused with a
    sentence (InvoiceRefused) for a blank reference, a future date, an amount that is not
    positive or more than is due, an invoice that is not open, or a credit note."""
    reference = (reference or "").strip()
    if not reference:
        raise InvoiceRefused("Give the payment's reference (e.g. the bank transfer's).")
    if paid_on > timezone.localdate():
        raise InvoiceRefused("The payment date cannot be in the future.")
    if amount is not None:
        amount = round_money(Decimal(str(amount)))
        if amount <= 0:
            raise InvoiceRefused(f"The amount paid must be more than {format_money(0, places=2)}.")
    with transaction.atomic():
        current = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if current.kind != Invoice.Kind.INVOICE:
            raise InvoiceRefused(f"{current.number} is a credit note: nothing to pay.")
        if current.status != Invoice.Status.OPEN:
            raise InvoiceRefused(
                f"{current.number} is {current.get_status_display().lower()}, not open."
            )
        due = invoice_balance_due(invoice=current)
        if due <= 0:
            raise InvoiceRefused(f"Nothing is left to pay on {current.number}.")
        amount = due if amount is None else amount
        if amount > due:
            raise InvoiceRefused(
                f"At most {format_money(due, current.currency, places=2)} is due on "
                f"{current.number}: the payment of "
                f"{format_money(amount, current.currency, places=2)} is more than that."
            )
        settles = amount == due
        settled = (
            {"status": Invoice.Status.PAID, "paid_on": paid_on, "paid_reference": reference}
            if settles
            else {}
        )
        moved = Invoice.objects.filter(
            pk=current.pk,
            status=Invoice.Status.OPEN,
            amount_paid__lte=F("total") - amount,
        ).update(amount_paid=F("amount_paid") + amount, **settled)
        if moved != 1:
            raise InvoiceRefused(f"{current.number} changed meanwhile: look at it again.")
        payment = Payment.objects.create(
            invoice=current,
            amount=amount,
            paid_on=paid_on,
            reference=reference,
            recorded_by=actor if getattr(actor, "pk", None) else None,
        )
        money = format_money(amount, current.currency, places=2)
        left = format_money(due - amount, current.currency, places=2)
        activity_record(
            actor=actor,
            account=current.account_id,
            action="invoice.paid" if settles else "invoice.payment_recorded",
            target=current,
            data={
                "paid_on": paid_on,
                "reference": reference,
                "amount": amount,
                "balance_due": due - amount,
            },
            history=(
                f"Marked paid on {paid_on:%Y-%m-%d} (reference {reference}): {money}."
                if settles
                else f"Payment of {money} recorded, paid on {paid_on:%Y-%m-%d} "
                f"(reference {reference}); {left} left to pay."
            ),
        )
    return payment


def invoice_mark_paid(
    *, actor, invoice: Invoice, paid_on: date, reference: str, amount: Decimal | None = None
) -> Invoice:
    """Record a payment of an open invoice (invoice_payment_record): of all that is due when
    `amount` is None. Returns the invoice as it is now (paid, or open and partially paid)."""
    invoice_payment_record(
        actor=actor, invoice=invoice, amount=amount, paid_on=paid_on, reference=reference
    )
    invoice.refresh_from_db()
    return invoice
