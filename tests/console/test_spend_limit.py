"""Finance changes an account's monthly spend limit through a service that records who, when,
old, new and why (issue 9, found #8), never by saving the Account form in admin."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from console import services
from console.models import Account, SpendLimitChange

pytestmark = pytest.mark.django_db

REASON = "FIN-1234: Q4 launch approved by the CFO"


def _limit(account: Account) -> Decimal:
    return Account.objects.values_list("monthly_spend_limit", flat=True).get(pk=account.pk)


def test_the_service_records_who_old_new_and_why_and_changes_the_limit(finance_in_group, acme):
    change = services.account_spend_limit_set(
        actor=finance_in_group, account=acme, limit=Decimal("40000"), reason=f"  {REASON} "
    )

    assert _limit(acme) == Decimal("40000.00")
    row = SpendLimitChange.objects.get()
    assert row == change
    assert (row.account, row.changed_by) == (acme, finance_in_group)
    assert (row.old_limit, row.new_limit) == (Decimal("15000.00"), Decimal("40000.00"))
    assert row.reason == REASON
    assert row.changed_at is not None
    entry = LogEntry.objects.get(object_id=str(acme.pk))
    assert entry.user == finance_in_group and REASON in entry.change_message


def test_each_change_is_a_new_row_and_old_is_the_value_it_replaced(finance_in_group, acme):
    services.account_spend_limit_set(
        actor=finance_in_group, account=acme, limit=Decimal("20000"), reason="up"
    )
    services.account_spend_limit_set(
        actor=finance_in_group, account=acme, limit=Decimal("5000.50"), reason="down again"
    )

    history = list(
        SpendLimitChange.objects.order_by("pk").values_list("old_limit", "new_limit", "reason")
    )
    assert history == [
        (Decimal("15000.00"), Decimal("20000.00"), "up"),
        (Decimal("20000.00"), Decimal("5000.50"), "down again"),
    ]


def test_the_api_forgets_the_old_limit_after_commit(
    finance_in_group, acme, redis_client, django_capture_on_commit_callbacks
):
    key = services.keyring_generation_key(acme.pk)
    before = redis_client.get(key)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.account_spend_limit_set(
            actor=finance_in_group, account=acme, limit=Decimal("100"), reason=REASON
        )
        assert redis_client.get(key) == before  # nothing is told before the commit

    assert callbacks
    assert redis_client.get(key) is not None and redis_client.get(key) != before


@pytest.mark.parametrize(
    ("limit", "reason", "field", "message"),
    [
        (Decimal("-1"), REASON, "limit", "The spend limit cannot be negative."),
        (None, REASON, "limit", "Enter the new monthly spend limit in USD"),
        ("", REASON, "limit", "Enter the new monthly spend limit in USD"),
        ("lots", REASON, "limit", "Enter the new monthly spend limit in USD"),
        (Decimal("10.005"), REASON, "limit", "at most 2 decimal places"),
        (Decimal("10000000000"), REASON, "limit", "cannot be more than"),
        (Decimal("20000"), "", "reason", "Say why the limit changes"),
        (Decimal("20000"), "   ", "reason", "Say why the limit changes"),
        (Decimal("15000"), REASON, "limit", "The spend limit is already $15,000.00."),
    ],
)
def test_the_service_refuses_a_bad_limit_or_a_missing_reason_with_a_clear_message(
    finance_in_group, acme, limit, reason, field, message
):
    with pytest.raises(ValidationError) as exc:
        services.account_spend_limit_set(
            actor=finance_in_group, account=acme, limit=limit, reason=reason
        )

    assert any(message in m for m in exc.value.message_dict[field])
    assert _limit(acme) == Decimal("15000.00")
    assert not SpendLimitChange.objects.exists()


def test_only_finance_staff_may_change_a_limit(alice, reviewer_in_group, acme):
    for actor in (alice, reviewer_in_group):
        with pytest.raises(PermissionDenied):
            services.account_spend_limit_set(
                actor=actor, account=acme, limit=Decimal("99999"), reason=REASON
            )

    assert _limit(acme) == Decimal("15000.00")
    assert not SpendLimitChange.objects.exists()


# --- Admin ----------------------------------------------------------------------------------------


def _spend_limit_url(account: Account) -> str:
    return reverse("admin:console_account_spend_limit", args=[account.pk])


def test_finance_changes_the_limit_in_admin_with_a_reason_and_sees_the_history(
    client, finance_in_group, acme
):
    client.force_login(finance_in_group)
    change_url = reverse("admin:console_account_change", args=[acme.pk])
    page = client.get(change_url).content.decode()
    assert _spend_limit_url(acme) in page and "Change spend limit…" in page
    assert "No change since the account was created." in page

    form = client.get(_spend_limit_url(acme))
    assert form.status_code == 200 and "$15,000.00" in form.content.decode()
    response = client.post(_spend_limit_url(acme), {"limit": "40000.00", "reason": REASON})

    assert response.status_code == 302 and response["Location"] == change_url
    assert _limit(acme) == Decimal("40000.00")
    row = SpendLimitChange.objects.get()
    assert row.changed_by == finance_in_group and row.reason == REASON
    history = client.get(change_url).content.decode()
    assert "fred@moments.test" in history and REASON in history
    assert "$15,000.00 → $40,000.00" in history


@pytest.mark.parametrize(
    ("posted", "message"),
    [
        ({"limit": "-5", "reason": REASON}, "The spend limit cannot be negative."),
        ({"limit": "", "reason": REASON}, "Enter the new monthly spend limit in USD"),
        ({"limit": "40000", "reason": ""}, "Say why the limit changes"),
        ({"limit": "40000", "reason": "  \n "}, "Say why the limit changes"),
        ({"limit": "15000", "reason": REASON}, "The spend limit is already $15,000.00."),
    ],
)
def test_the_admin_form_explains_what_is_missing_and_changes_nothing(
    client, finance_in_group, acme, posted, message
):
    client.force_login(finance_in_group)

    response = client.post(_spend_limit_url(acme), posted)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert _limit(acme) == Decimal("15000.00")
    assert not SpendLimitChange.objects.exists()


def test_saving_the_account_form_can_no_longer_change_the_limit(admin_client, acme):
    url = reverse("admin:console_account_change", args=[acme.pk])
    assert 'name="monthly_spend_limit"' not in admin_client.get(url).content.decode()

    response = admin_client.post(
        url,
        {
            "name": "Acme Games Ltd",
            "country": "US",
            "billing_address": acme.billing_address,
            "billing_owner": "",
            "created_at_0": "2026-01-05",
            "created_at_1": "10:00:00",
            "monthly_spend_limit": "99999.00",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
            "_save": "Save",
        },
    )

    assert response.status_code == 302  # the form saved...
    acme.refresh_from_db()
    assert acme.name == "Acme Games Ltd"
    assert acme.monthly_spend_limit == Decimal("15000.00")  # ...but not the limit


def test_finance_posting_the_account_form_changes_nothing(client, finance_in_group, acme):
    client.force_login(finance_in_group)
    url = reverse("admin:console_account_change", args=[acme.pk])

    client.post(url, {"monthly_spend_limit": "40000.00", "name": "Hijacked", "_save": "Save"})

    acme.refresh_from_db()
    assert (acme.name, acme.monthly_spend_limit) == ("Acme Games", Decimal("15000.00"))


def test_a_reviewer_cannot_open_or_post_the_spend_limit_form(client, reviewer_in_group, acme):
    client.force_login(reviewer_in_group)

    assert client.get(_spend_limit_url(acme)).status_code == 403
    assert client.post(_spend_limit_url(acme), {"limit": "1", "reason": "x"}).status_code == 403
    assert (
        "Change spend limit"
        not in client.get(reverse("admin:console_account_change", args=[acme.pk])).content.decode()
    )
    assert _limit(acme) == Decimal("15000.00")


def test_the_history_cannot_be_edited_or_deleted_in_admin(admin_client, finance_in_group, acme):
    change = services.account_spend_limit_set(
        actor=finance_in_group, account=acme, limit=Decimal("1000"), reason=REASON
    )

    listing = admin_client.get(reverse("admin:console_spendlimitchange_changelist"))
    assert listing.status_code == 200 and REASON in listing.content.decode()
    edit_url = reverse("admin:console_spendlimitchange_change", args=[change.pk])
    admin_client.post(edit_url, {"reason": "rewritten", "new_limit": "1"})
    delete_url = reverse("admin:console_spendlimitchange_delete", args=[change.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    change.refresh_from_db()
    assert (change.reason, change.new_limit) == (REASON, Decimal("1000.00"))


# --- Guard rails (issue 20, item 4): no $0, no runaway limit, the month's spend shown ---------


def _month_spent(account: Account, amount: str) -> None:
    from billing.models import AccountMonthlySpend
    from console.clock import month_start

    AccountMonthlySpend.objects.create(
        account=account, month=month_start(timezone.localdate()), spent=Decimal(amount)
    )


def test_finance_cannot_set_a_zero_limit_in_admin(client, finance_in_group, acme):
    # On the old code a $0 limit went through in one click and stopped every campaign.
    client.force_login(finance_in_group)

    response = client.post(_spend_limit_url(acme), {"limit": "0", "reason": REASON})

    assert response.status_code == 200
    assert "The spend limit cannot be $0" in response.content.decode()
    assert _limit(acme) == Decimal("15000.00")
    assert not SpendLimitChange.objects.exists()


def test_the_form_shows_the_current_limit_and_this_months_spend(client, finance_in_group, acme):
    _month_spent(acme, "1234.5")
    client.force_login(finance_in_group)

    page = client.get(_spend_limit_url(acme)).content.decode()

    assert '<td id="current-limit">$15,000.00</td>' in page
    assert '<td id="month-spent">$1,234.50</td>' in page
    assert 'name="reason"' in page and 'name="confirm"' not in page


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        (Decimal("0"), "The spend limit cannot be $0"),
        (Decimal("0.00"), "The spend limit cannot be $0"),
        (Decimal("1000000.01"), "cannot be more than $1,000,000.00"),
        (Decimal("1000000000"), "cannot be more than $1,000,000.00"),
        (Decimal("2000"), "The account has spent $2,500.00 this month already"),
    ],
)
def test_the_service_refuses_zero_above_the_maximum_and_below_the_months_spend(
    finance_in_group, acme, limit, message
):
    _month_spent(acme, "2500")

    with pytest.raises(ValidationError) as exc:
        services.account_spend_limit_set(
            actor=finance_in_group, account=acme, limit=limit, reason=REASON, confirmed=True
        )

    assert any(message in m for m in exc.value.message_dict["limit"])
    assert _limit(acme) == Decimal("15000.00")
    assert not SpendLimitChange.objects.exists()


def test_the_months_spend_itself_is_a_valid_limit(finance_in_group, acme):
    _month_spent(acme, "2500")

    services.account_spend_limit_set(
        actor=finance_in_group, account=acme, limit=Decimal("2500"), reason=REASON
    )

    assert _limit(acme) == Decimal("2500.00")


def test_the_maximum_comes_from_settings(finance_in_group, acme, settings):
    settings.SPEND_LIMIT_MAX = "50000"

    with pytest.raises(ValidationError) as exc:
        services.account_spend_limit_set(
            actor=finance_in_group, account=acme, limit=Decimal("50000.01"), reason=REASON
        )
    assert "cannot be more than $50,000.00" in " ".join(exc.value.message_dict["limit"])

    services.account_spend_limit_set(
        actor=finance_in_group, account=acme, limit=Decimal("50000"), reason=REASON
    )
    assert _limit(acme) == Decimal("50000.00")


def test_a_jump_of_more_than_ten_times_needs_a_confirmation(finance_in_group, acme):
    with pytest.raises(services.SpendLimitNeedsConfirm) as exc:
        services.account_spend_limit_set(
            actor=finance_in_group, account=acme, limit=Decimal("150000.01"), reason=REASON
        )
    assert "more than 10× the current limit of $15,000.00" in exc.value.message_dict["confirm"][0]
    assert _limit(acme) == Decimal("15000.00")

    # Exactly ten times is not a large jump.
    services.account_spend_limit_set(
        actor=finance_in_group, account=acme, limit=Decimal("150000"), reason=REASON
    )
    assert _limit(acme) == Decimal("150000.00")


def test_admin_asks_to_confirm_a_large_jump_keeping_what_was_typed(client, finance_in_group, acme):
    client.force_login(finance_in_group)
    posted = {"limit": "900000.00", "reason": REASON}

    first = client.post(_spend_limit_url(acme), posted)

    page = first.content.decode()
    assert first.status_code == 200
    assert "tick the box to confirm this jump" in page
    assert 'name="confirm"' in page and 'value="900000.00"' in page and REASON in page
    assert _limit(acme) == Decimal("15000.00")

    # Submitting again without ticking changes nothing; ticking makes the change.
    again = client.post(_spend_limit_url(acme), {**posted, "confirm_asked": "1"})
    assert again.status_code == 200 and _limit(acme) == Decimal("15000.00")
    done = client.post(_spend_limit_url(acme), {**posted, "confirm_asked": "1", "confirm": "on"})

    assert done.status_code == 302
    assert _limit(acme) == Decimal("900000.00")
    change = SpendLimitChange.objects.get()
    assert change.reason == REASON and change.changed_by == finance_in_group
