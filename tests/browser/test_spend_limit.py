"""Finance changes a spend limit in a real Chromium (issue 20): the page shows the current limit
and this month's spend, refuses $0, and asks to confirm a jump of more than 10×."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from playwright.sync_api import expect

from billing.models import AccountMonthlySpend
from console.clock import month_start
from console.models import Account
from tests.factories import AccountFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery-staple-9"


def test_finance_is_refused_zero_and_confirms_a_large_jump(page):
    account = AccountFactory(name="Acme Games", monthly_spend_limit=Decimal("15000"))
    AccountMonthlySpend.objects.create(
        account=account, month=month_start(timezone.localdate()), spent=Decimal("4321.50")
    )
    finance = UserFactory(email="fred@moments.test", is_staff=True)
    finance.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_account", "change_account"])
    )

    page.goto(f"/admin/login/?next=/admin/console/account/{account.pk}/spend-limit/")
    page.get_by_label("Username").fill("fred@moments.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#current-limit")).to_have_text("$15,000.00")
    expect(page.locator("#month-spent")).to_have_text("$4,321.50")

    page.get_by_label("New monthly spend limit (USD)").fill("0")
    page.get_by_label("Reason").fill("FIN-1: test")
    page.get_by_role("button", name="Change spend limit").click()
    expect(page.locator(".errorlist")).to_contain_text("The spend limit cannot be $0")

    page.get_by_label("New monthly spend limit (USD)").fill("900000")
    page.get_by_role("button", name="Change spend limit").click()
    expect(page.locator(".errorlist")).to_contain_text("tick the box to confirm this jump")
    if shots := os.environ.get("SHOTS_DIR"):
        page.screenshot(path=str(Path(shots) / "spend_limit_confirm.png"), full_page=True)
    assert Account.objects.get(pk=account.pk).monthly_spend_limit == Decimal("15000.00")

    page.get_by_label("Confirm the large change").check()
    page.get_by_role("button", name="Change spend limit").click()
    expect(page.locator(".messagelist")).to_contain_text("changed from $15,000.00 to $900,000.00")
    assert Account.objects.get(pk=account.pk).monthly_spend_limit == Decimal("900000.00")
