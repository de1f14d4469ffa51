"""`python manage.py issue_invoices [--month YYYY-MM]`: the monthly invoice run by hand (the
beat task runs it on the 1st for the previous month). Safe to run again: it issues only what
is missing."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from billing.services.invoices import InvoiceRefused, invoices_issue_month
from console import clock
from console.money import format_money


def parse_month(value: str) -> date:
    """`YYYY-MM` → the first day of that month, or a CommandError that says what is expected."""
    try:
        return clock.parse_month(value)
    except ValueError:
        raise CommandError(
            f"--month must be a month as YYYY-MM (e.g. 2026-10), not {value!r}."
        ) from None


class Command(BaseCommand):
    help = "Issue the invoices of a month that is over (default: last month)."

    def add_arguments(self, parser):
        parser.add_argument("--month", help="The month to invoice, YYYY-MM (default: last month).")

    def handle(self, *args, month=None, **options):
        period = parse_month(month) if month else clock.month_before(timezone.localdate())
        try:
            issued = invoices_issue_month(month=period)
        except InvoiceRefused as exc:
            raise CommandError(" ".join(exc.messages)) from None
        for invoice in issued:
            total = format_money(invoice.total, invoice.currency, places=2)
            self.stdout.write(f"{invoice.number}  {invoice.buyer_company}  {total}")
        self.stdout.write(
            self.style.SUCCESS(f"Issued {len(issued)} invoice(s) for {period:%Y-%m}.")
        )
