"""Money in the back office (issue 20, item 3): a spend-limit request approved is the limit
changed, in one transaction; only finance answers a money request; reviewers see no money in
the accounts admin nor in the requests queue, and see "Answer…" only where they may answer."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from console import services
from console.models import Account, ActivityEntry, SpendLimitChange, StaffRequest

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _spend_limit_request(alice, acme, amount="100000") -> StaffRequest:
    return services.staff_request_create(
        account=acme,
        actor=alice,
        kind="spend_limit",
        amount=Decimal(amount),
        details="Holiday launch",
    )


def _limit(acme) -> Decimal:
    return Account.objects.get(pk=acme.pk).monthly_spend_limit


def test_a_reviewer_cannot_approve_a_spend_limit_request(alice, acme, reviewer_in_group):
    before = _limit(acme)
    staff_request = _spend_limit_request(alice, acme)

    with pytest.raises(PermissionDenied, match="Only Moments finance staff"):
        services.staff_request_answer(
            actor=reviewer_in_group,
            staff_request=staff_request,
            decision="approved",
            answer="Approved, enjoy.",
        )

    staff_request.refresh_from_db()
    assert staff_request.is_open
    assert _limit(acme) == before
    assert not mail.outbox


def test_a_reviewers_post_to_the_answer_form_of_a_money_request_is_refused(
    alice, acme, reviewer_in_group
):
    staff_request = _spend_limit_request(alice, acme)

    response = _client(reviewer_in_group).post(
        reverse("admin:console_staffrequest_answer", args=[staff_request.pk]),
        {"decision": "approved", "answer": "ok"},
    )

    assert response.status_code == 403
    staff_request.refresh_from_db()
    assert staff_request.is_open


def test_finance_approving_a_spend_limit_request_sets_the_limit_in_the_same_step(
    alice, acme, finance_in_group, django_capture_on_commit_callbacks
):
    before = _limit(acme)
    staff_request = _spend_limit_request(alice, acme)

    with django_capture_on_commit_callbacks(execute=True):
        services.staff_request_answer(
            actor=finance_in_group,
            staff_request=staff_request,
            decision="approved",
            answer="Raised for the holiday launch.",
        )

    assert _limit(acme) == Decimal("100000.00")
    change = SpendLimitChange.objects.get(account=acme)
    assert (change.old_limit, change.new_limit, change.changed_by) == (
        before,
        Decimal("100000.00"),
        finance_in_group,
    )
    assert f"Request #{staff_request.pk} approved" in change.reason
    answered = ActivityEntry.objects.get(action="staff_request.answered")
    assert answered.data["new_limit"] == "100000.00"
    assert ActivityEntry.objects.filter(action="account.spend_limit_set").count() == 1
    assert "approved" in mail.outbox[0].subject


def test_an_approval_whose_limit_change_fails_is_not_answered(
    alice, acme, finance_in_group, monkeypatch
):
    staff_request = _spend_limit_request(alice, acme)

    def refuse(**kwargs):
        raise ValidationError({"limit": "The database said no."})

    monkeypatch.setattr("console.services.staff_requests.account_spend_limit_set", refuse)
    with pytest.raises(ValidationError):
        services.staff_request_answer(
            actor=finance_in_group, staff_request=staff_request, decision="approved", answer="ok"
        )

    staff_request.refresh_from_db()
    assert staff_request.is_open
    assert not ActivityEntry.objects.filter(action="staff_request.answered").exists()


def test_approving_never_lowers_a_limit_finance_already_raised(alice, acme, finance_in_group):
    staff_request = _spend_limit_request(alice, acme, amount="30000")
    services.account_spend_limit_set(
        actor=finance_in_group, account=acme, limit=Decimal("50000"), reason="Ticket 12"
    )

    services.staff_request_answer(
        actor=finance_in_group, staff_request=staff_request, decision="approved", answer="Done."
    )

    assert _limit(acme) == Decimal("50000.00")
    assert SpendLimitChange.objects.filter(account=acme).count() == 1


def test_a_reviewer_may_still_answer_a_catalog_request(alice, acme, reviewer_in_group):
    staff_request = services.staff_request_create(
        account=acme, actor=alice, kind="own_reward", asin="B08N5WRWNW", marketplace="US"
    )

    services.staff_request_answer(
        actor=reviewer_in_group, staff_request=staff_request, decision="approved", answer="Added."
    )

    staff_request.refresh_from_db()
    assert staff_request.status == "approved"


def test_the_queue_hides_money_requests_from_reviewers_and_answer_buttons_they_cannot_use(
    alice, acme, reviewer_in_group, finance_in_group
):
    money = _spend_limit_request(alice, acme)
    catalog = services.staff_request_create(
        account=acme, actor=alice, kind="own_reward", asin="B08N5WRWNW", marketplace="US"
    )
    answer = "admin:console_staffrequest_answer"

    for_reviewer = _client(reviewer_in_group).get(reverse("admin:console_staffrequest_changelist"))
    assert [r.pk for r in for_reviewer.context["cl"].result_list] == [catalog.pk]
    page = for_reviewer.content.decode()
    assert "$100,000" not in page
    assert reverse(answer, args=[catalog.pk]) in page

    for_finance = _client(finance_in_group).get(reverse("admin:console_staffrequest_changelist"))
    assert {r.pk for r in for_finance.context["cl"].result_list} == {money.pk, catalog.pk}
    assert reverse(answer, args=[money.pk]) in for_finance.content.decode()


def test_staff_who_may_only_read_requests_see_no_answer_button(alice, acme, reviewer):
    from django.contrib.auth.models import Permission

    reviewer.user_permissions.add(Permission.objects.get(codename="view_staffrequest"))
    staff_request = services.staff_request_create(
        account=acme, actor=alice, kind="own_reward", asin="B08N5WRWNW", marketplace="US"
    )
    client = _client(reviewer)

    listing = client.get(reverse("admin:console_staffrequest_changelist")).content.decode()
    detail = client.get(
        reverse("admin:console_staffrequest_change", args=[staff_request.pk])
    ).content.decode()

    url = reverse("admin:console_staffrequest_answer", args=[staff_request.pk])
    assert "Answer…" not in listing and url not in listing
    assert url not in detail


def test_reviewers_see_no_spend_limit_or_terms_in_the_accounts_admin(
    acme, reviewer_in_group, finance_in_group
):
    Account.objects.filter(pk=acme.pk).update(monthly_spend_limit=Decimal("15000"))
    change = reverse("admin:console_account_change", args=[acme.pk])
    changelist = reverse("admin:console_account_changelist")
    reviewer, finance = _client(reviewer_in_group), _client(finance_in_group)

    for page in (reviewer.get(changelist), reviewer.get(change)):
        assert page.status_code == 200
        html = page.content.decode()
        assert "Acme Games" in html
        assert "15,000" not in html and "15000" not in html
        assert "spend limit" not in html.lower()
        assert "payment terms" not in html.lower()

    for page in (finance.get(changelist), finance.get(change)):
        assert "15,000" in page.content.decode() or "15000" in page.content.decode()


@pytest.mark.django_db(transaction=True)
def test_two_finance_users_approving_one_request_at_once_change_the_limit_once(
    postgres, alice, acme, finance_in_group
):
    import threading

    from django.contrib.auth.models import Group
    from django.db import connection

    from tests.factories import UserFactory

    second = UserFactory(email="fiona@moments.test", is_staff=True)
    second.groups.add(Group.objects.get(name="Finance"))
    staff_request = _spend_limit_request(alice, acme)
    barrier = threading.Barrier(2)
    refused: list[Exception] = []

    def approve(actor):
        try:
            barrier.wait(timeout=10)
            services.staff_request_answer(
                actor=actor,
                staff_request=StaffRequest.objects.get(pk=staff_request.pk),
                decision="approved",
                answer=f"Approved by {actor.email}.",
            )
        except ValidationError as exc:
            refused.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(u,)) for u in (finance_in_group, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(refused) == 1 and "can be answered once" in str(refused[0])
    assert SpendLimitChange.objects.filter(account=acme).count() == 1
    assert _limit(acme) == Decimal("100000.00")
    assert ActivityEntry.objects.filter(action="staff_request.answered").count() == 1


def test_finance_approving_an_invoice_terms_request_moves_the_account_to_invoice_terms(
    alice, acme, finance_in_group
):
    staff_request = services.staff_request_create(
        account=acme, actor=alice, kind="invoice_terms", amount=Decimal("40000"), details="AP"
    )

    services.staff_request_answer(
        actor=finance_in_group, staff_request=staff_request, decision="approved", answer="Yes."
    )

    assert Account.objects.get(pk=acme.pk).payment_terms == "invoice"
    entry = ActivityEntry.objects.get(action="account.payment_terms_set")
    assert (entry.actor, entry.data["new"]) == (finance_in_group, "Invoice (set by finance)")


def test_declining_a_money_request_changes_nothing(alice, acme, finance_in_group):
    before = _limit(acme)
    staff_request = _spend_limit_request(alice, acme)

    services.staff_request_answer(
        actor=finance_in_group, staff_request=staff_request, decision="declined", answer="No."
    )

    assert _limit(acme) == before
    assert not SpendLimitChange.objects.filter(account=acme).exists()
