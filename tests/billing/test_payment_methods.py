"""Cards on file and invoice terms (SPEC §2, §9): validation at the field, nothing but brand and
last four kept, one active card, the billing owner, account scoping and the `next` redirect."""

from __future__ import annotations

import threading
from datetime import date

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from billing.models import PaymentMethod
from billing.selectors import payment_method_on_file
from billing.services.payments import (
    card_brand,
    card_number_check,
    luhn_valid,
    payment_method_add,
    payment_terms_set,
)
from console.models import Account
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

VISA = "4242 4242 4242 4242"
NEXT_YEAR = timezone.localdate().year + 3


def _card(**overrides) -> dict:
    data = {
        "cardholder_name": "Alice Liddell",
        "card_number": VISA,
        "exp_month": "12",
        "exp_year": str(NEXT_YEAR),
        "cvc": "123",
        "billing_address": "1 Main Street\nSeattle, WA 98101",
    }
    data.update(overrides)
    return data


def _add(actor, account=None, number=VISA) -> PaymentMethod:
    return payment_method_add(
        account=account or actor.membership.account,
        actor=actor,
        card_number=number,
        exp_month=12,
        exp_year=NEXT_YEAR,
        cardholder_name="Card Holder",
        billing_address="1 Main Street",
    )


def _field_errors(response, field) -> list[str]:
    return response.context["form"].errors.get(field, [])


# --- What the form refuses, at the field --------------------------------------------------------


def test_a_card_number_that_fails_the_luhn_check_is_refused_at_the_number_field(alice_client):
    response = alice_client.post(reverse("billing:card_add"), _card(card_number="4242424242424241"))
    assert response.status_code == 200
    assert _field_errors(response, "card_number") == [
        "This card number is not valid: please check for a mistyped digit."
    ]
    assert not PaymentMethod.objects.exists()


def test_a_card_number_with_letters_or_of_an_unknown_brand_says_what_is_wrong(alice_client):
    url = reverse("billing:card_add")
    letters = alice_client.post(url, _card(card_number="4242 4242 abcd 4242"))
    assert "digits only" in _field_errors(letters, "card_number")[0]
    unknown = alice_client.post(url, _card(card_number="9999 9999 9999 9995"))
    assert "We accept Visa, Mastercard" in _field_errors(unknown, "card_number")[0]
    short_amex = alice_client.post(url, _card(card_number="3782 8224 6310 00"))
    assert _field_errors(short_amex, "card_number") == [
        "A American Express card number has 15 digits."
    ]


@time_machine.travel(date(2026, 6, 15), tick=False)
def test_an_expired_card_is_refused_at_the_expiry_field_that_is_in_the_past(alice_client):
    url = reverse("billing:card_add")
    last_month = alice_client.post(url, _card(exp_month="5", exp_year="2026"))
    assert _field_errors(last_month, "exp_month") == [
        "This card expired at the end of 05/2026. Use a card that has not expired."
    ]
    last_year = alice_client.post(url, _card(exp_month="12", exp_year="2025"))
    assert _field_errors(last_year, "exp_year") == [
        "This card expired at the end of 12/2025. Use a card that has not expired."
    ]
    assert not PaymentMethod.objects.exists()
    # A card is good until the end of its expiry month.
    this_month = alice_client.post(url, _card(exp_month="6", exp_year="2026"))
    assert this_month.status_code == 302
    assert PaymentMethod.objects.get().exp_month == 6


def test_a_bad_security_code_is_refused_at_the_cvc_field(alice_client):
    url = reverse("billing:card_add")
    letters = alice_client.post(url, _card(cvc="12a"))
    assert _field_errors(letters, "cvc") == [
        "The security code is the 3 or 4 digits printed on the card."
    ]
    amex_with_three = alice_client.post(url, _card(card_number="3782 822463 10005", cvc="123"))
    assert _field_errors(amex_with_three, "cvc") == [
        "A American Express security code has 4 digits."
    ]
    visa_with_four = alice_client.post(url, _card(cvc="1234"))
    assert _field_errors(visa_with_four, "cvc") == ["A Visa security code has 3 digits."]
    assert not PaymentMethod.objects.exists()


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4242424242424242", "Visa"),
        ("5555555555554444", "Mastercard"),
        ("2223003122003222", "Mastercard"),
        ("378282246310005", "American Express"),
        ("6011111111111117", "Discover"),
        ("3566002020360505", "JCB"),
        ("36227206271667", "Diners Club"),
        ("6200000000000005", "UnionPay"),
    ],
)
def test_the_brand_is_detected_from_the_number(number, brand):
    assert luhn_valid(number)
    assert card_brand(number)[0] == brand
    assert card_number_check(number) == (brand, number[-4:])


# --- What is kept -------------------------------------------------------------------------------


def test_a_valid_card_keeps_brand_last_four_expiry_name_and_address_and_never_the_number(
    alice_client, acme
):
    response = alice_client.post(
        reverse("billing:card_add"), _card(card_number="5555-5555-5555-4444", cvc="987")
    )
    assert response.status_code == 302
    method = PaymentMethod.objects.get()
    assert (method.account, method.brand, method.last4) == (acme, "Mastercard", "4444")
    assert (method.exp_month, method.exp_year) == (12, NEXT_YEAR)
    assert method.cardholder_name == "Alice Liddell"
    assert method.billing_address == "1 Main Street\nSeattle, WA 98101"
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (introspected names)
            for row in cursor.fetchall():
                text = repr(row)
                assert "5555555555554444" not in text, f"card number found in {table}"
                assert "5555-5555-5555-4444" not in text, f"card number found in {table}"
    page = alice_client.get(reverse("billing:overview")).content.decode()
    assert "Mastercard ending in 4444" in page


def test_the_billing_address_is_prefilled_from_the_account(alice_client, acme):
    Account.objects.filter(pk=acme.pk).update(billing_address="42 Wallaby Way\nSydney")
    page = alice_client.get(reverse("billing:card_add")).content.decode()
    assert "42 Wallaby Way" in page


def test_a_second_card_replaces_the_first_one(alice_client, alice):
    first = _add(alice)
    second = _add(alice, number="5555555555554444")
    first.refresh_from_db()
    assert not first.is_active and second.is_active
    assert (
        PaymentMethod.objects.filter(account=alice.membership.account, is_active=True).count() == 1
    )
    assert (
        "Mastercard ending in 4444"
        in alice_client.get(reverse("billing:overview")).content.decode()
    )


def test_adding_a_card_is_recorded_in_the_account_history(alice, acme):
    _add(alice)
    entry = LogEntry.objects.get(object_id=str(acme.pk))
    assert entry.user == alice
    assert "Card on file set to Visa" in entry.change_message


# --- Who may set it -------------------------------------------------------------------------------


def test_the_first_admin_who_adds_a_card_becomes_the_billing_owner(alice_client, alice, acme):
    assert acme.billing_owner is None
    alice_client.post(reverse("billing:card_add"), _card())
    acme.refresh_from_db()
    assert acme.billing_owner == alice
    page = alice_client.get(reverse("billing:overview")).content.decode()
    assert "alice@acme.test" in page


def test_another_admin_cannot_change_the_billing_owner_s_card(client, alice, acme):
    _add(alice)
    dave = MembershipFactory(user__email="dave@acme.test", account=acme, role="admin").user
    client.force_login(dave)
    refused = client.post(reverse("billing:card_add"), _card(card_number="5555555555554444"))
    assert refused.status_code == 403
    assert "Only the billing owner (alice@acme.test) can change the payment method." in (
        refused.content.decode()
    )
    assert client.get(reverse("billing:card_add")).status_code == 403
    overview = client.get(reverse("billing:overview")).content.decode()
    assert "Only the billing owner (alice@acme.test)" in overview
    assert PaymentMethod.objects.get(is_active=True).brand == "Visa"
    with pytest.raises(PermissionDenied):
        _add(dave, number="5555555555554444")


def test_a_member_who_is_not_an_admin_cannot_set_the_first_card(client, bob, acme):
    client.force_login(bob)
    response = client.post(reverse("billing:card_add"), _card())
    assert response.status_code == 403
    assert "Only an admin of your account can set the payment method." in response.content.decode()
    assert not PaymentMethod.objects.exists()
    acme.refresh_from_db()
    assert acme.billing_owner is None
    # Members can still see the billing page.
    assert client.get(reverse("billing:overview")).status_code == 200


def test_charlie_neither_sees_nor_changes_acme_s_billing(client, alice, acme, charlie):
    _add(alice, number="5555555555554444")
    client.force_login(charlie)
    page = client.get(reverse("billing:overview")).content.decode()
    assert "4444" not in page and "Acme" not in page and "alice@acme.test" not in page
    assert "No payment method on file." in page

    client.post(reverse("billing:card_add"), _card())
    globex = charlie.membership.account
    assert PaymentMethod.objects.get(account=globex, is_active=True).last4 == "4242"
    acme_card = PaymentMethod.objects.get(account=acme, is_active=True)
    assert acme_card.last4 == "4444"
    acme.refresh_from_db()
    assert acme.billing_owner == alice
    with pytest.raises(PermissionDenied, match="not a member of this account"):
        _add(charlie, account=acme)


def test_signed_out_visitors_are_sent_to_log_in(client):
    response = client.get(reverse("billing:card_add"))
    assert response.status_code == 302 and "/login/" in response["Location"]


# --- next= --------------------------------------------------------------------------------------


def test_after_adding_a_card_the_developer_goes_back_to_the_page_that_asked(alice_client):
    review = "/campaigns/7/wizard/review/"
    page = alice_client.get(reverse("billing:card_add"), {"next": review}).content.decode()
    assert 'name="next" value="/campaigns/7/wizard/review/"' in page
    response = alice_client.post(reverse("billing:card_add"), {**_card(), "next": review})
    assert response.status_code == 302
    assert response["Location"] == review


@pytest.mark.parametrize("target", ["https://evil.test/phish", "//evil.test/", "javascript:x"])
def test_an_off_site_next_is_ignored(alice_client, target):
    page = alice_client.get(reverse("billing:card_add"), {"next": target}).content.decode()
    assert "evil.test" not in page
    response = alice_client.post(reverse("billing:card_add"), {**_card(), "next": target})
    assert response["Location"] == reverse("billing:overview")


# --- Invoice terms --------------------------------------------------------------------------------


def test_finance_sets_invoice_terms_and_the_billing_page_says_invoiced_monthly(
    alice_client, acme, finance
):
    assert not payment_method_on_file(acme)
    payment_terms_set(account=acme, terms="invoice", actor=finance, reason="FIN-1")
    acme.refresh_from_db()
    assert acme.payment_terms == "invoice"
    assert payment_method_on_file(acme)
    page = alice_client.get(reverse("billing:overview")).content.decode()
    assert "Invoiced monthly" in page
    assert "No payment method on file." not in page
    assert "Payment terms set to Invoice" in LogEntry.objects.get(user=finance).change_message

    payment_terms_set(account=acme, terms="card", actor=finance, reason="FIN-2")
    acme.refresh_from_db()
    assert acme.payment_terms == "card" and not payment_method_on_file(acme)


def test_developers_cannot_set_payment_terms(alice, acme):
    with pytest.raises(PermissionDenied):
        payment_terms_set(account=acme, terms="invoice", actor=alice, reason="x")
    with pytest.raises(ValidationError):
        payment_terms_set(
            account=acme, terms="barter", actor=alice.__class__(is_staff=True), reason="x"
        )
    acme.refresh_from_db()
    assert acme.payment_terms == "card"


def test_the_billing_page_shows_the_owner_the_spend_limit_and_the_spend_note(alice_client, acme):
    Account.objects.filter(pk=acme.pk).update(monthly_spend_limit=25000)
    page = alice_client.get(reverse("billing:overview")).content.decode()
    assert "$25,000.00" in page
    assert "Spend and invoices" in page
    assert "Not set yet" in page


# --- Concurrency ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_admins_adding_a_first_card_at_once_leave_one_owner_and_one_active_card(postgres):
    first = MembershipFactory(user__email="ann@race.test", role="admin")
    account = first.account
    second = MembershipFactory(user__email="ben@race.test", account=account, role="admin")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def add(user, number):
        try:
            barrier.wait()
            _add(user, account=account, number=number)
            outcomes.append("added")
        except PermissionDenied:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=add, args=(first.user, VISA)),
        threading.Thread(target=add, args=(second.user, "5555555555554444")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["added", "refused"]
    account.refresh_from_db()
    active = PaymentMethod.objects.get(account=account, is_active=True)
    assert active.created_by == account.billing_owner
