"""Builders for the invoice tests: accounts with campaigns and ledger charges, made through the
ledger service (the books never get a row any other way)."""

from __future__ import annotations

import importlib
from datetime import date, datetime
from decimal import Decimal

from django.apps import apps as django_apps
from django.db import transaction
from django.utils import timezone

from billing.services.ledger import ledger_charge
from billing.services.payments import payment_method_add
from console.money import month_start
from tests.campaigns.lifecycle_helpers import staff_group
from tests.factories import AppFactory, CampaignFactory, MembershipFactory

VISA = "4242 4242 4242 4242"


def at(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    """An aware moment in the business time zone."""
    return timezone.make_aware(datetime(year, month, day, hour, minute))


def account_with_campaigns(name: str, *campaigns: str, terms: str = "card", card: bool = True):
    """An account (its admin is the first member) with one app and the named campaigns.
    `card` puts a Visa ending 4242 on file through the payment service."""
    membership = MembershipFactory(
        account__name=name, user__email=f"owner@{name.lower().replace(' ', '')}.test"
    )
    account = membership.account
    if terms != "card":
        account.payment_terms = terms
        account.save(update_fields=["payment_terms"])
    if card:
        payment_method_add(
            account=account,
            actor=membership.user,
            card_number=VISA,
            exp_month=12,
            exp_year=2035,
            cardholder_name="Owner",
            billing_address=account.billing_address,
        )
    app = AppFactory(account=account)
    made = [CampaignFactory(app=app, name=c, status="live") for c in campaigns]
    return account, made


def charge(campaign, amount: str, when: datetime, *, times: int = 1) -> None:
    """`times` CPA charges of `amount` on `campaign`, as GetReward appends them at `when`."""
    with transaction.atomic():
        for _ in range(times):
            ledger_charge(
                account_id=campaign.account_id,
                campaign_id=campaign.pk,
                moment_id=None,
                grant_id=None,
                amount=Decimal(amount),
                month=month_start(timezone.localdate(when)),
                now=when,
            )


def finance_group():
    """The Finance group with its invoice permissions (a transactional test's flush drops
    groups; recreate it as the migrations do)."""
    group = staff_group("Finance")
    migration = importlib.import_module("billing.migrations.0003_invoices")
    migration.grant_finance(django_apps, None)
    return group


OCTOBER = date(2026, 10, 1)
NOVEMBER = date(2026, 11, 1)
