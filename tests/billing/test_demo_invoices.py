"""The demo account (`load_demo_account`) comes with last month's invoice, issued by the same
service as the monthly run, so the Billing page and finance's admin have something to show."""

from __future__ import annotations

import pytest
from django.db.models import Sum

from billing.models import Invoice, InvoicedEntry, LedgerEntry
from console.clock import month_before, month_start
from console.pages.demo import demo_account_load

from .invoice_helpers import at

pytestmark = pytest.mark.django_db


def test_the_demo_account_has_last_months_invoice_covering_its_charges_up_to_then():
    now = at(2026, 11, 20, 9, 0)
    demo = demo_account_load(now=now)

    invoices = Invoice.objects.filter(number__in=demo.invoices).order_by("period")
    assert invoices.count() == len(demo.invoices) >= 1
    last = invoices.last()
    assert last.number == demo.invoices[-1]
    assert last.period == month_before(month_start(now.date()))
    assert last.buyer_company == "Moments Demo Games"
    assert (last.status, last.paid_by) == ("paid", "Visa •••• 4242")
    account = last.account
    billed = LedgerEntry.objects.filter(account_id=account.pk, month__lte=last.period)
    assert InvoicedEntry.objects.filter(invoice__in=invoices).count() == billed.count()
    # This month's charges wait for next month's run.
    assert not InvoicedEntry.objects.filter(ledger_entry__month=month_start(now.date())).exists()
    lines_total = sum(i.total for i in invoices)
    assert lines_total == invoices.aggregate(s=Sum("lines__amount"))["s"]
