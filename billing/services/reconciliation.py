"""Bank reconciliation (finance desk, issue 20): finance uploads the bank's CSV of transfers
received (date, amount, reference); each line is matched to an open invoice by the invoice
number in its reference and the amount owed; finance confirms the matches in one step, which
records each payment through `invoice_mark_paid` (open → paid, once: the invoice seal).

Why a line is not matched is said in words (`why`). Nothing is marked paid twice:
- a line already uploaded (same date, amount, reference and occurrence in its file: the
  fingerprint, unique among first sightings) is stored as a duplicate and never matched;
- two lines of one file naming the same invoice are both ambiguous;
- confirming is claimed per line (`confirmed_at` set where empty), and the payment itself is a
  conditional UPDATE from open: an invoice paid meanwhile is refused and the line says so.

A bad file is refused whole with every problem listed by line; nothing is written.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.models import BankLine, BankStatement, Invoice
from console.activity import activity_record
from console.money import MoneyError, format_money, parse_money, round_money

from .aging import open_invoices_owed
from .invoices import InvoiceRefused, invoice_mark_paid

COLUMNS = ("date", "amount", "reference")
MAX_BYTES = 5 * 1024 * 1024
MAX_LINES = 20_000
NUMBER = re.compile(r"MC-?(\d{4})-?(\d{6})", re.IGNORECASE)
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")
PERMISSION = "billing.change_invoice"


@dataclass(frozen=True)
class _Parsed:
    row: int
    booked_on: date
    amount: Decimal
    reference: str


class StatementRefused(ValidationError):
    """A file that is not a bank statement we can read; the messages say where and why."""


def _date(text: str) -> date:
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            continue
    raise ValueError(f"the date {text!r} is not YYYY-MM-DD")


def statement_parse(content: bytes) -> list[_Parsed]:
    """The lines of a bank CSV, or StatementRefused listing every problem (by line)."""
    if len(content) > MAX_BYTES:
        raise StatementRefused("The file is larger than 5 MB: split it by month.")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StatementRefused(
            "The file is not UTF-8 text: export it from the bank as CSV."
        ) from None
    reader = csv.reader(io.StringIO(text))
    header = [cell.strip().lower() for cell in next(reader, [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise StatementRefused(
            f"The first line must name the columns date, amount and reference; "
            f"missing: {', '.join(missing)}."
        )
    at = {c: header.index(c) for c in COLUMNS}
    lines, problems = [], []
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) < len(header):
            problems.append(f"Line {number}: {len(cells)} cells, expected {len(header)}.")
            continue
        raw = {c: cells[i].strip() for c, i in at.items()}
        try:
            booked_on = _date(raw["date"])
        except ValueError as exc:
            problems.append(f"Line {number}: {exc}.")
            continue
        try:
            amount = parse_money(raw["amount"])
        except MoneyError:
            problems.append(f"Line {number}: the amount {raw['amount']!r} is not an amount.")
            continue
        if amount <= 0:
            problems.append(f"Line {number}: the amount must be a payment received (above 0).")
            continue
        if round_money(amount) != amount:
            problems.append(f"Line {number}: the amount {raw['amount']} has more than 2 decimals.")
            continue
        lines.append(_Parsed(number, booked_on, round_money(amount), raw["reference"][:300]))
        if len(lines) > MAX_LINES:
            raise StatementRefused(f"More than {MAX_LINES} lines: split the file.")
    if problems:
        raise StatementRefused(problems[:50])
    if not lines:
        raise StatementRefused("The file has no transfer lines under its header.")
    return lines


def _fingerprints(lines: list[_Parsed]) -> list[str]:
    """Each line's fingerprint: what it says plus which occurrence of the same line it is (two
    identical transfers on one day are two payments, not one uploaded twice)."""
    seen: Counter = Counter()
    prints = []
    for line in lines:
        key = (line.booked_on.isoformat(), str(line.amount), " ".join(line.reference.split()))
        seen[key] += 1
        text = "|".join([*key, str(seen[key])])
        prints.append(hashlib.sha256(text.encode()).hexdigest())
    return prints


def _numbers(reference: str) -> list[str]:
    return sorted({f"MC-{y}-{n}" for y, n in NUMBER.findall(reference)})


def _match(line: _Parsed, open_by_number: dict, known: set[str], claims: Counter) -> tuple:
    """(outcome, invoice, why) of one new line."""
    money = format_money(line.amount, places=2)
    numbers = _numbers(line.reference)
    if len(numbers) > 1:
        return (
            BankLine.Outcome.AMBIGUOUS,
            None,
            (
                f"The reference names {len(numbers)} invoices ({', '.join(numbers)}): "
                "split the payment by hand."
            ),
        )
    if numbers:
        number = numbers[0]
        invoice = open_by_number.get(number)
        if invoice is None:
            if number in known:
                return BankLine.Outcome.UNMATCHED, None, f"{number} is not open (paid or void)."
            return BankLine.Outcome.UNMATCHED, None, f"No invoice numbered {number}."
        if claims[number] > 1:
            return (
                BankLine.Outcome.AMBIGUOUS,
                invoice,
                (f"{claims[number]} lines of this file name {number}."),
            )
        owed = invoice.total + invoice.credited
        if owed != line.amount:
            return (
                BankLine.Outcome.UNMATCHED,
                invoice,
                (
                    f"{money} differs from the {format_money(owed, invoice.currency, places=2)} "
                    f"owed on {number}."
                ),
            )
        return BankLine.Outcome.MATCHED, invoice, f"{number}, {money} owed."
    same = [i for i in open_by_number.values() if i.total + i.credited == line.amount]
    if same:
        names = ", ".join(i.number for i in same[:5])
        return (
            BankLine.Outcome.AMBIGUOUS,
            None,
            (
                f"No invoice number in the reference; {len(same)} open invoice(s) owe {money} "
                f"({names})."
            ),
        )
    return (
        BankLine.Outcome.UNMATCHED,
        None,
        (f"No invoice number in the reference and no open invoice owes {money}."),
    )


def statement_upload(*, actor, filename: str, content: bytes) -> BankStatement:
    """Read, match and store a bank CSV in one transaction (all or nothing). Raises
    StatementRefused for a bad file, PermissionDenied for someone who is not finance."""
    if actor is None or not actor.has_perm(PERMISSION):
        raise PermissionDenied("Only finance may reconcile bank statements.")
    lines = statement_parse(content)
    prints = _fingerprints(lines)
    open_by_number = {i.number: i for i in open_invoices_owed()}
    mentioned = {n for line in lines for n in _numbers(line.reference)}
    known = set(Invoice.objects.filter(number__in=mentioned).values_list("number", flat=True))
    try:
        with transaction.atomic():
            statement = BankStatement.objects.create(
                filename=(filename or "statement.csv")[:200], uploaded_by=actor
            )
            earlier = dict(
                BankLine.objects.filter(
                    fingerprint__in=prints, duplicate_of__isnull=True
                ).values_list("fingerprint", "pk")
            )
            fresh = [line for line, p in zip(lines, prints, strict=True) if p not in earlier]
            # Lines naming one invoice each; a line naming several is ambiguous by itself.
            single = (_numbers(line.reference) for line in fresh)
            claims = Counter(numbers[0] for numbers in single if len(numbers) == 1)
            rows = []
            for line, fingerprint in zip(lines, prints, strict=True):
                if fingerprint in earlier:
                    outcome, invoice, why = (
                        BankLine.Outcome.DUPLICATE,
                        None,
                        "Uploaded before: this transfer is already on an earlier statement.",
                    )
                else:
                    outcome, invoice, why = _match(line, open_by_number, known, claims)
                rows.append(
                    BankLine(
                        statement=statement,
                        row=line.row,
                        booked_on=line.booked_on,
                        amount=line.amount,
                        reference=line.reference,
                        fingerprint=fingerprint,
                        duplicate_of_id=earlier.get(fingerprint),
                        outcome=outcome,
                        invoice=invoice,
                        why=why[:300],
                    )
                )
            BankLine.objects.bulk_create(rows)
            counts = Counter(r.outcome for r in rows)
            activity_record(
                actor=actor,
                account=None,
                action="bank_statement.uploaded",
                target=statement,
                data={k: counts.get(k, 0) for k in BankLine.Outcome.values},
            )
    except IntegrityError:
        # The unique fingerprint: the same lines were being uploaded at the same moment.
        raise StatementRefused(
            "Some of these transfers were uploaded by someone else at the same moment: "
            "reload the reconciliation page and look at their statement."
        ) from None
    return statement


@dataclass(frozen=True)
class Confirmed:
    paid: list[str]
    refused: list[str]


def statement_confirm(*, actor, statement: BankStatement) -> Confirmed:
    """Confirm every matched line of the statement at once: each invoice is marked paid on the
    transfer's date with its reference. A line is claimed before its payment is recorded, so
    a second confirm (or two finance users at once) pays nothing twice."""
    if actor is None or not actor.has_perm(PERMISSION):
        raise PermissionDenied("Only finance may confirm payments.")
    now = timezone.now()
    paid, refused = [], []
    lines = statement.lines.filter(
        outcome=BankLine.Outcome.MATCHED, confirmed_at__isnull=True
    ).select_related("invoice")
    for line in lines:
        with transaction.atomic():
            if not BankLine.objects.filter(pk=line.pk, confirmed_at__isnull=True).update(
                confirmed_at=now
            ):
                continue
            try:
                with transaction.atomic():
                    invoice_mark_paid(
                        actor=actor,
                        invoice=line.invoice,
                        paid_on=min(line.booked_on, timezone.localdate(now)),
                        reference=f"Bank transfer {line.booked_on:%Y-%m-%d}: {line.reference}"[
                            :200
                        ],
                    )
            except InvoiceRefused as exc:
                BankLine.objects.filter(pk=line.pk).update(
                    outcome=BankLine.Outcome.UNMATCHED,
                    why=f"Not recorded: {' '.join(exc.messages)}"[:300],
                )
                refused.append(line.invoice.number)
                continue
            paid.append(line.invoice.number)
    with transaction.atomic():
        BankStatement.objects.filter(pk=statement.pk, confirmed_at__isnull=True).update(
            confirmed_at=now, confirmed_by=actor
        )
        if paid or refused:
            activity_record(
                actor=actor,
                account=None,
                action="bank_statement.confirmed",
                target=statement,
                data={"paid": paid, "refused": refused},
            )
    if paid:
        # Campaigns dunning paused for these invoices go live again now, not at the next sweep.
        from .dunning import dunning_resolve_paid

        dunning_resolve_paid(
            invoice_pks=statement.lines.filter(invoice__number__in=paid).values_list(
                "invoice_id", flat=True
            )
        )
    return Confirmed(paid=paid, refused=refused)


def statement_summary(statement: BankStatement) -> dict[str, list[BankLine]]:
    """The statement's lines by outcome, in file order."""
    groups: dict[str, list[BankLine]] = defaultdict(list)
    for line in statement.lines.select_related("invoice", "duplicate_of__statement"):
        groups[line.outcome].append(line)
    return {outcome: groups.get(outcome, []) for outcome in BankLine.Outcome.values}
