"""Billing in Django admin: payment methods, the ledger and the monthly counters are read-only;
finance moves accounts to invoice terms (and back) with admin actions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from billing.models import AccountMonthlySpend, CampaignMonthlySpend, LedgerEntry, PaymentMethod
from billing.services.payments import payment_method_add
from console.models import ActivityEntry
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def card(alice, acme):
    return payment_method_add(
        account=acme,
        actor=alice,
        card_number="4242424242424242",
        exp_month=12,
        exp_year=timezone.localdate().year + 3,
        cardholder_name="Alice",
        billing_address="1 Main Street",
    )


@pytest.fixture
def ledger(acme, acme_app):
    campaign = CampaignFactory(app=acme_app, status="live")
    month = date(2026, 11, 1)
    entry = LedgerEntry.objects.create(
        account=acme, campaign=campaign, amount=Decimal("25.0000"), month=month
    )
    AccountMonthlySpend.objects.create(account=acme, month=month, spent=Decimal("25"))
    CampaignMonthlySpend.objects.create(campaign=campaign, month=month, spent=Decimal("25"))
    return entry


@pytest.mark.parametrize(
    "model", ["paymentmethod", "ledgerentry", "accountmonthlyspend", "campaignmonthlyspend"]
)
def test_billing_rows_can_be_listed_and_viewed_but_not_added_or_deleted(
    admin_client, card, ledger, model
):
    obj = {
        "paymentmethod": card,
        "ledgerentry": ledger,
        "accountmonthlyspend": AccountMonthlySpend.objects.get(),
        "campaignmonthlyspend": CampaignMonthlySpend.objects.get(),
    }[model]
    assert admin_client.get(reverse(f"admin:billing_{model}_changelist")).status_code == 200
    change = admin_client.get(reverse(f"admin:billing_{model}_change", args=[obj.pk]))
    assert change.status_code == 200
    assert 'name="_save"' not in change.content.decode()
    assert admin_client.get(reverse(f"admin:billing_{model}_add")).status_code == 403
    delete = reverse(f"admin:billing_{model}_delete", args=[obj.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_a_ledger_entry_cannot_be_edited_through_admin(admin_client, ledger):
    url = reverse("admin:billing_ledgerentry_change", args=[ledger.pk])
    admin_client.post(url, {"amount": "0.0001", "kind": "charge", "month": "2026-11-01"})
    ledger.refresh_from_db()
    assert ledger.amount == Decimal("25.0000")


def test_the_payment_method_admin_shows_brand_and_last_four(admin_client, card):
    page = admin_client.get(reverse("admin:billing_paymentmethod_changelist")).content.decode()
    assert "Visa" in page and "4242" in page
    assert "4242424242424242" not in page


def _run_action(client, action, *accounts, reason="FIN-88: approved by the CFO"):
    """The terms action as finance runs it: select, then give the reason on the next page."""
    selection = {"action": action, "_selected_action": [a.pk for a in accounts]}
    changelist = reverse("admin:console_account_changelist")
    return client.post(changelist, {**selection, "apply": "1", "reason": reason}, follow=True)


def test_finance_moves_an_account_to_invoice_terms_and_back_from_the_account_list(
    client, finance, acme
):
    finance.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="console",
            codename__in=["view_account", "change_account"],
        )
    )
    client.force_login(finance)
    response = _run_action(client, "set_invoice_terms", acme)
    assert "1 account(s) now on “Invoice (set by finance)”." in response.content.decode()
    acme.refresh_from_db()
    assert acme.payment_terms == "invoice"

    _run_action(client, "set_card_terms", acme)
    acme.refresh_from_db()
    assert acme.payment_terms == "card"


def test_staff_who_may_only_view_accounts_do_not_get_the_terms_actions(client, reviewer, acme):
    reviewer.user_permissions.add(
        Permission.objects.get(content_type__app_label="console", codename="view_account")
    )
    client.force_login(reviewer)
    page = client.get(reverse("admin:console_account_changelist")).content.decode()
    assert "set_invoice_terms" not in page
    _run_action(client, "set_invoice_terms", acme)
    acme.refresh_from_db()
    assert acme.payment_terms == "card"


def test_payment_terms_are_not_a_free_text_field_on_the_account_form(admin_client, acme):
    page = admin_client.get(reverse("admin:console_account_change", args=[acme.pk]))
    assert 'name="payment_terms"' not in page.content.decode()
    assert PaymentMethod.objects.count() == 0


def test_the_ledger_and_the_counters_show_dollars_not_bare_decimals(admin_client, acme, ledger):
    entry = LedgerEntry.objects.create(
        account=acme, campaign=ledger.campaign, amount=Decimal("0.1250"), month=ledger.month
    )
    AccountMonthlySpend.objects.filter(account=acme).update(spent=Decimal("1234.5000"))
    pages = [
        admin_client.get(reverse("admin:billing_ledgerentry_changelist")),
        admin_client.get(reverse("admin:billing_ledgerentry_change", args=[entry.pk])),
        admin_client.get(reverse("admin:billing_accountmonthlyspend_changelist")),
        admin_client.get(reverse("admin:billing_campaignmonthlyspend_changelist")),
    ]
    ledger_list, ledger_page, account_spend, campaign_spend = (p.content.decode() for p in pages)
    assert "$0.125" in ledger_list and "$25.00" in ledger_list
    assert "$0.125" in ledger_page and "0.1250" not in ledger_page
    assert "$1,234.50" in account_spend and "1234.5000" not in account_spend
    assert "$25.00" in campaign_spend


def test_money_is_formatted_by_one_helper():
    from console.money import format_money

    assert format_money(Decimal("1000.0000"), places=2) == "$1,000.00"
    assert format_money(Decimal("0.005"), places=2) == "$0.01"  # half up, as invoices round
    # The currency's own symbol (babel), not its code: "-€12.00", was "-EUR 12.00".
    assert format_money(Decimal("-12"), "EUR", places=2) == "-€12.00"
    assert format_money(Decimal("0.1250")) == "$0.125"
    assert format_money(Decimal("12500.0000")) == "$12,500.00"


def test_the_terms_action_asks_why_and_records_it(client, finance, acme):
    # On the old code the terms changed in one click from the list, with no reason asked.
    finance.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="console",
            codename__in=["view_account", "change_account"],
        )
    )
    client.force_login(finance)
    changelist = reverse("admin:console_account_changelist")
    selection = {"action": "set_invoice_terms", "_selected_action": [acme.pk]}

    asked = client.post(changelist, selection)
    assert asked.status_code == 200 and 'name="reason"' in asked.content.decode()
    blank = client.post(changelist, {**selection, "apply": "1", "reason": "  "})
    assert "Say why the payment terms change" in blank.content.decode()
    acme.refresh_from_db()
    assert acme.payment_terms == "card"

    _run_action(client, "set_invoice_terms", acme, reason="FIN-90: net 30 agreed")

    acme.refresh_from_db()
    assert acme.payment_terms == "invoice"
    entry = ActivityEntry.objects.get(action="account.payment_terms_set")
    assert entry.data["reason"] == "FIN-90: net 30 agreed" and entry.actor == finance
