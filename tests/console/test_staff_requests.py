"""Requests to staff, the original's "Contact us" (SPEC §12, §3, §4): any member raises one
with the form of its kind, sees its status and answer; staff answer in Django admin and the
requester and the account's admins are emailed; another account's request is a 404."""

from __future__ import annotations

import importlib
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from console import services
from console.models import Account, ActivityEntry, StaffRequest
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LIST = "/requests/"


def _new(kind: str) -> str:
    return reverse("console:staff_request_create", args=[kind])


def _errors(response) -> str:
    return response.content.decode()


@pytest.fixture
def bob_client(client, bob):
    client.force_login(bob)
    return client


@pytest.fixture
def answerer(db):
    """A staff member allowed to answer every request, money ones included (as the Finance
    group is: the answer permission and finance's change_account)."""
    user = UserFactory(email="sam@moments.test", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="console",
            codename__in=["view_staffrequest", "change_staffrequest", "change_account"],
        )
    )
    return user


def _spend_limit_request(actor, account, amount="25000", details="Holiday launch") -> StaffRequest:
    return services.staff_request_create(
        account=account, actor=actor, kind="spend_limit", amount=Decimal(amount), details=details
    )


# --- Raising requests, one kind at a time -----------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "data", "expected"),
    [
        (
            "spend_limit",
            {"amount": "25000", "details": "Holiday launch"},
            {
                "amount": Decimal("25000.00"),
                "subject": "Raise the monthly spend limit to $25,000.00",
            },
        ),
        (
            "invoice_terms",
            {"amount": "40000", "details": "Our AP team pays by wire only"},
            {"amount": Decimal("40000.00"), "subject": "Pay by invoice (about $40,000.00 a month)"},
        ),
        (
            "own_reward",
            {"asin": " b08n5wrwnw ", "marketplace": "DE", "confirm": "on", "details": ""},
            {
                "asin": "B08N5WRWNW",
                "marketplace": "DE",
                "subject": "Own reward: ASIN B08N5WRWNW in DE",
            },
        ),
        (
            "merch",
            {"details": "Three designs, 500 shirts"},
            {"subject": "Merch t-shirts (US beta)", "details": "Three designs, 500 shirts"},
        ),
        (
            "fire_tv",
            {"app_name": "Couch Quest", "store_url": "https://amazon.example.test/couch-quest"},
            {"app_name": "Couch Quest", "subject": "Fire TV app registration: Couch Quest"},
        ),
        (
            "other",
            {"subject": "Custom report", "details": "Can we get a weekly export?"},
            {"subject": "Custom report", "details": "Can we get a weekly export?"},
        ),
    ],
)
def test_a_member_raises_each_kind_of_request_and_lands_on_its_page(
    bob_client, bob, acme, kind, data, expected
):
    response = bob_client.post(_new(kind), data)

    staff_request = StaffRequest.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("console:staff_request_detail", args=[staff_request.pk])
    assert (staff_request.account, staff_request.kind, staff_request.status) == (acme, kind, "open")
    assert staff_request.requested_by == bob
    for field, value in expected.items():
        assert getattr(staff_request, field) == value, field
    entry = ActivityEntry.objects.get(action="staff_request.created")
    assert (entry.actor, entry.account, entry.object_id) == (bob, acme, str(staff_request.pk))
    page = bob_client.get(response.url).content.decode()
    assert expected["subject"] in page
    assert "Not answered yet" in page


def test_the_contact_us_page_offers_every_kind_and_lists_the_accounts_requests(
    bob_client, acme, alice
):
    mine = _spend_limit_request(alice, acme)

    page = bob_client.get(LIST).content.decode()

    for kind in StaffRequest.Kind.values:
        assert _new(kind) in page
    assert "Raise the monthly spend limit to $25,000.00" in page
    assert reverse("console:staff_request_detail", args=[mine.pk]) in page
    assert "Open" in page


def test_the_own_reward_form_says_it_must_be_sold_and_fulfilled_by_amazon_without_discount(
    bob_client,
):
    page = bob_client.get(_new("own_reward")).content.decode()

    assert "sold and fulfilled by Amazon" in page
    assert "no CPA discount" in page


def test_an_unknown_kind_is_a_404(bob_client):
    assert bob_client.get(_new("free-money")).status_code == 404


# --- Validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "data", "message"),
    [
        (
            "spend_limit",
            {"amount": "15000", "details": "more"},
            "Your monthly spend limit is already $15,000.00: ask for more than that.",
        ),
        ("spend_limit", {"amount": "", "details": "more"}, "Enter the monthly limit you need"),
        ("spend_limit", {"amount": "90000"}, "Tell the Moments team why"),
        ("spend_limit", {"amount": "-5", "details": "x"}, "Enter an amount greater than zero."),
        (
            "own_reward",
            {"asin": "B08N5", "marketplace": "US", "confirm": "on"},
            "An ASIN is 10 capital letters and digits",
        ),
        (
            "own_reward",
            {"asin": "B08N5WRWN!", "marketplace": "US", "confirm": "on"},
            "An ASIN is 10 capital letters and digits",
        ),
        (
            "own_reward",
            {"asin": "B08N5WRWNW", "marketplace": "XX", "confirm": "on"},
            "Select a valid choice.",
        ),
        (
            "own_reward",
            {"asin": "B08N5WRWNW", "marketplace": "US"},
            "Only products sold and fulfilled by Amazon can be rewards: confirm it.",
        ),
        ("fire_tv", {"app_name": "Couch Quest", "store_url": "nope"}, "Enter a valid URL."),
        ("merch", {"details": "  "}, "Tell the Moments team why"),
        ("other", {"details": "hello"}, "This field is required."),
    ],
)
def test_a_bad_request_is_refused_with_a_clear_message(bob_client, kind, data, message):
    response = bob_client.post(_new(kind), data)

    assert response.status_code == 200
    assert message in _errors(response)
    assert not StaffRequest.objects.exists()


def test_the_service_checks_the_fields_too(alice, acme):
    with pytest.raises(ValidationError) as caught:
        services.staff_request_create(
            account=acme, actor=alice, kind="fire_tv", app_name="", store_url="javascript:x"
        )

    assert set(caught.value.message_dict) == {"app_name", "store_url"}
    with pytest.raises(ValidationError, match="An ASIN is 10 capital letters"):
        services.staff_request_create(
            account=acme, actor=alice, kind="own_reward", asin="B0-123", marketplace="US"
        )
    assert not StaffRequest.objects.exists()


def test_invoice_terms_are_not_requested_by_an_account_already_invoiced(bob_client, acme):
    Account.objects.filter(pk=acme.pk).update(payment_terms="invoice")

    response = bob_client.post(_new("invoice_terms"), {"amount": "20000", "details": "x"})

    assert "Your account is already invoiced monthly." in _errors(response)
    assert not StaffRequest.objects.exists()


def test_a_second_open_request_for_the_same_thing_points_to_the_first(bob_client, alice, acme):
    first = _spend_limit_request(alice, acme)

    response = bob_client.post(_new("spend_limit"), {"amount": "30000", "details": "again"})

    assert f"You already have an open request for this (#{first.pk}" in _errors(response)
    assert StaffRequest.objects.count() == 1


def test_the_database_keeps_one_open_request_per_account_for_the_same_thing(alice, acme):
    from django.db import IntegrityError, transaction

    _spend_limit_request(alice, acme)
    with pytest.raises(IntegrityError), transaction.atomic():
        StaffRequest.objects.create(
            account=acme, kind="spend_limit", subject="dup", amount=Decimal("30000")
        )


def test_once_answered_the_same_thing_can_be_asked_again(alice, acme, answerer):
    first = _spend_limit_request(alice, acme)
    services.staff_request_answer(
        actor=answerer, staff_request=first, decision="declined", answer="Not this quarter."
    )

    second = _spend_limit_request(alice, acme, amount="20000")

    assert second.pk != first.pk and second.is_open


# --- Answers ----------------------------------------------------------------------------------


def test_staff_answer_emails_the_requester_and_the_admins_and_the_page_shows_it(
    bob_client, bob, alice, acme, answerer, django_capture_on_commit_callbacks
):
    staff_request = _spend_limit_request(bob, acme)

    with django_capture_on_commit_callbacks(execute=True):
        services.staff_request_answer(
            actor=answerer,
            staff_request=staff_request,
            decision="approved",
            answer="Raised to $25,000 from today.",
        )

    staff_request.refresh_from_db()
    assert staff_request.status == "approved"
    assert (staff_request.answered_by, staff_request.answer) == (
        answerer,
        "Raised to $25,000 from today.",
    )
    assert staff_request.answered_at is not None
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert sorted(email.to) == ["alice@acme.test", "bob@acme.test"]
    assert f"#{staff_request.pk} was approved" in email.subject
    assert "Raised to $25,000 from today." in email.body
    assert f"/requests/{staff_request.pk}/" in email.body
    entry = ActivityEntry.objects.get(action="staff_request.answered")
    assert (entry.actor, entry.account, entry.data["decision"]) == (answerer, acme, "approved")

    page = bob_client.get(reverse("console:staff_request_detail", args=[staff_request.pk]))
    assert "Raised to $25,000 from today." in page.content.decode()
    listing = bob_client.get(LIST).content.decode()
    assert "Approved" in listing and "Raised to $25,000 from today." in listing


def test_only_staff_with_the_permission_answer(alice, acme, finance):
    staff_request = _spend_limit_request(alice, acme)

    for who in (alice, finance):  # an account admin; staff without the permission
        with pytest.raises(PermissionDenied, match="Only Moments staff can answer requests."):
            services.staff_request_answer(
                actor=who, staff_request=staff_request, decision="approved", answer="Sure."
            )

    staff_request.refresh_from_db()
    assert staff_request.is_open
    assert not mail.outbox


def test_a_request_is_answered_once(alice, acme, answerer):
    staff_request = _spend_limit_request(alice, acme)
    services.staff_request_answer(
        actor=answerer, staff_request=staff_request, decision="declined", answer="No."
    )

    with pytest.raises(ValidationError, match="already declined"):
        services.staff_request_answer(
            actor=answerer, staff_request=staff_request, decision="approved", answer="Yes!"
        )

    staff_request.refresh_from_db()
    assert (staff_request.status, staff_request.answer) == ("declined", "No.")


def test_an_answer_needs_a_decision_and_words(alice, acme, answerer):
    staff_request = _spend_limit_request(alice, acme)

    with pytest.raises(ValidationError) as caught:
        services.staff_request_answer(
            actor=answerer, staff_request=staff_request, decision="maybe", answer="  "
        )

    assert caught.value.message_dict == {
        "decision": ["Choose approved or declined."],
        "answer": ["Write the answer the developer will read."],
    }


def test_a_member_withdraws_an_open_request_and_it_can_no_longer_be_answered(
    bob_client, alice, acme, answerer
):
    staff_request = _spend_limit_request(alice, acme)

    response = bob_client.post(
        reverse("console:staff_request_withdraw", args=[staff_request.pk]), follow=True
    )

    staff_request.refresh_from_db()
    assert staff_request.status == "closed"
    assert "This request was withdrawn." in response.content.decode()
    with pytest.raises(ValidationError, match="already withdrawn"):
        services.staff_request_answer(
            actor=answerer, staff_request=staff_request, decision="approved", answer="ok"
        )
    again = bob_client.post(
        reverse("console:staff_request_withdraw", args=[staff_request.pk]), follow=True
    )
    assert "Only an open request can be withdrawn" in again.content.decode()


# --- Scoping ----------------------------------------------------------------------------------


def test_another_account_neither_sees_nor_withdraws_acmes_requests(charlie_client, alice, acme):
    staff_request = _spend_limit_request(alice, acme)

    detail = charlie_client.get(reverse("console:staff_request_detail", args=[staff_request.pk]))
    withdraw = charlie_client.post(
        reverse("console:staff_request_withdraw", args=[staff_request.pk])
    )
    listing = charlie_client.get(LIST).content.decode()

    assert (detail.status_code, withdraw.status_code) == (404, 404)
    assert "to $25,000.00" not in listing
    assert 'id="requests-none"' in listing
    staff_request.refresh_from_db()
    assert staff_request.is_open


def test_a_spend_limit_request_is_checked_against_the_requesters_own_account(charlie, acme):
    with pytest.raises(PermissionDenied):
        _spend_limit_request(charlie, acme)


def test_the_list_page_costs_the_same_queries_for_one_request_or_many(
    bob_client, alice, acme, django_assert_max_num_queries
):
    services.staff_request_create(
        account=acme, actor=alice, kind="other", subject="First", details="x"
    )
    bob_client.get(LIST)  # warm the session
    with django_assert_max_num_queries(8) as one:
        bob_client.get(LIST)
    for n in range(15):
        services.staff_request_create(
            account=acme, actor=alice, kind="other", subject=f"Q{n}", details="x"
        )
    with django_assert_max_num_queries(len(one.captured_queries)):
        bob_client.get(LIST)


# --- Django admin -----------------------------------------------------------------------------


@pytest.fixture
def admin_client_staff(client, answerer):
    client.force_login(answerer)
    return client


def test_the_admin_queue_shows_open_requests_oldest_first_and_filters_by_kind(
    admin_client_staff, alice, acme, answerer
):
    old = _spend_limit_request(alice, acme)
    fire = services.staff_request_create(
        account=acme,
        actor=alice,
        kind="fire_tv",
        app_name="Couch Quest",
        store_url="https://amazon.example.test/couch",
    )
    done = services.staff_request_create(
        account=acme, actor=alice, kind="other", subject="Answered one", details="x"
    )
    services.staff_request_answer(
        actor=answerer, staff_request=done, decision="approved", answer="ok"
    )
    url = reverse("admin:console_staffrequest_changelist")

    queue = admin_client_staff.get(url).content.decode()
    fire_only = admin_client_staff.get(url, {"kind__exact": "fire_tv"}).content.decode()
    answered = admin_client_staff.get(url, {"queue": "answered"}).content.decode()

    assert old.subject in queue and fire.subject in queue and "Answered one" not in queue
    assert queue.index(old.subject) < queue.index(fire.subject)
    assert fire.subject in fire_only and old.subject not in fire_only
    assert "Answered one" in answered and old.subject not in answered


def test_the_admin_change_form_is_read_only_and_links_to_answer(admin_client_staff, alice, acme):
    staff_request = _spend_limit_request(alice, acme)

    page = admin_client_staff.get(
        reverse("admin:console_staffrequest_change", args=[staff_request.pk])
    ).content.decode()

    assert reverse("admin:console_staffrequest_answer", args=[staff_request.pk]) in page
    assert 'name="_save"' not in page
    assert 'name="details"' not in page  # shown, not editable


def test_answering_in_admin_goes_through_the_service_and_emails(
    admin_client_staff, bob, acme, answerer, django_capture_on_commit_callbacks
):
    staff_request = _spend_limit_request(bob, acme)
    url = reverse("admin:console_staffrequest_answer", args=[staff_request.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_staff.post(
            url, {"decision": "declined", "answer": "Please run one month at the current cap."}
        )

    assert response.status_code == 302
    staff_request.refresh_from_db()
    assert (staff_request.status, staff_request.answered_by) == ("declined", answerer)
    assert len(mail.outbox) == 1
    assert ActivityEntry.objects.filter(action="staff_request.answered").count() == 1


def test_the_admin_answer_form_says_what_is_missing(admin_client_staff, alice, acme):
    staff_request = _spend_limit_request(alice, acme)
    url = reverse("admin:console_staffrequest_answer", args=[staff_request.pk])

    response = admin_client_staff.post(url, {"decision": "", "answer": ""})

    page = response.content.decode()
    assert "Choose approved or declined." in page
    assert "Write the answer the developer will read." in page
    staff_request.refresh_from_db()
    assert staff_request.is_open


def test_a_spend_limit_answer_links_to_the_change_spend_limit_form(client, alice, acme, answerer):
    answerer.user_permissions.add(Permission.objects.get(codename="change_account"))
    client.force_login(answerer)
    staff_request = _spend_limit_request(alice, acme)

    page = client.get(
        reverse("admin:console_staffrequest_answer", args=[staff_request.pk])
    ).content.decode()

    assert reverse("admin:console_account_spend_limit", args=[acme.pk]) in page


def test_staff_without_the_permission_cannot_open_the_answer_form(client, finance, alice, acme):
    finance.user_permissions.add(Permission.objects.get(codename="view_staffrequest"))
    client.force_login(finance)
    staff_request = _spend_limit_request(alice, acme)

    response = client.post(
        reverse("admin:console_staffrequest_answer", args=[staff_request.pk]),
        {"decision": "approved", "answer": "ok"},
    )

    assert response.status_code == 403
    staff_request.refresh_from_db()
    assert staff_request.is_open


def test_the_finance_and_reviewers_groups_may_answer(db):
    from django.apps import apps as django_apps
    from django.contrib.auth.models import Group

    migration = importlib.import_module("console.migrations.0006_staff_requests")
    # What the migration did, done again: a transactional test's flush empties the groups.
    migration.grant_groups(django_apps, None)

    for name in ("Finance", "Reviewers"):
        codenames = set(Group.objects.get(name=name).permissions.values_list("codename", flat=True))
        assert {"view_staffrequest", "change_staffrequest"} <= codenames, name


# --- The Fire TV support requests of before ---------------------------------------------------


def test_old_fire_tv_messages_are_split_into_app_store_url_and_words():
    migration = importlib.import_module("console.migrations.0006_staff_requests")

    assert migration._fire_tv_fields(
        "Fire TV app registration: Couch Quest",
        "App: Couch Quest\nStore URL: https://amazon.example.test/cq\n\nLaunching in March",
    ) == ("Couch Quest", "https://amazon.example.test/cq", "Launching in March")
    assert migration._fire_tv_fields("Fire TV app registration: Solo", "free text") == (
        "Solo",
        "",
        "free text",
    )


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_support_requests_into_staff_requests(alice):
    executor = MigrationExecutor(connection)
    before = [("console", "0005_webhook_endpoints_and_deliveries")]
    after = [("console", "0007_remove_support_request")]
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    SupportRequest = old_apps.get_model("console", "SupportRequest")
    account_id = alice.membership.account_id
    SupportRequest.objects.create(
        account_id=account_id,
        requested_by_id=alice.pk,
        kind="fire_tv",
        subject="Fire TV app registration: Couch Quest",
        message="App: Couch Quest\nStore URL: https://amazon.example.test/cq\n\nIn March",
        status="open",
    )
    SupportRequest.objects.create(
        account_id=account_id, kind="other", subject="Hello", message="Hi there", status="closed"
    )

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    try:
        rows = _staff_request_rows()
    finally:
        # Back to every app's newest migration: tests after this one on the same worker's
        # database need the columns of migrations later than `after`.
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert rows == [
        (
            "fire_tv",
            "open",
            "Fire TV app registration: Couch Quest",
            "Couch Quest",
            "https://amazon.example.test/cq",
            "In March",
            alice.pk,
        ),
        ("other", "closed", "Hello", "", "", "Hi there", None),
    ]


def _staff_request_rows() -> list[tuple]:
    return list(
        StaffRequest.objects.order_by("pk").values_list(
            "kind", "status", "subject", "app_name", "store_url", "details", "requested_by"
        )
    )
