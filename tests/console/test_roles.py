"""Roles (SPEC §12): account admins manage apps, keys, members and payment methods; members
build campaigns and read the rest. Every admin-only action is found from the URL conf."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter, UUIDConverter
from django.utils import timezone

from billing.models import PaymentMethod
from console import services
from console.models import (
    Account,
    ActivityEntry,
    ApiKey,
    App,
    Invitation,
    Membership,
    WebhookEvent,
)
from console.webhooks.models import WebhookDelivery, WebhookEndpoint
from console.webhooks.services import webhook_endpoint_create, webhook_endpoint_disable
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

REGISTER = {
    "name": "Moon Miner",
    "platform": "ios",
    "store_url": "https://apps.example.test/moon-miner",
    "allowed_ips": "",
    "message": "",
}


@pytest.fixture
def live_key(acme_app, alice):
    return services.api_key_rotate(app=acme_app, actor=alice).api_key


def _keys(app: App) -> list[tuple]:
    return list(app.api_keys.order_by("pk").values_list("pk", "expires_at", "revoked_at"))


def test_a_member_cannot_rotate_or_revoke_a_key_and_gets_the_friendly_403_page(
    client, bob, acme_app, live_key
):
    client.force_login(bob)
    before = _keys(acme_app)

    rotate = client.post(reverse("console:app_key_rotate", args=[acme_app.app_id]))
    revoke = client.post(reverse("console:app_key_revoke", args=[acme_app.app_id, live_key.pk]))

    for response in (rotate, revoke):
        assert response.status_code == 403
        assert "Only an admin of this account can do this." in response.content.decode()
    assert "mk_" not in rotate.content.decode()  # no new key was shown
    assert _keys(acme_app) == before
    live_key.refresh_from_db()
    assert live_key.is_active()


def test_a_member_cannot_open_or_post_the_app_edit_form(client, bob, acme_app):
    client.force_login(bob)
    url = reverse("console:app_edit", args=[acme_app.app_id])

    assert client.get(url).status_code == 403
    response = client.post(
        url,
        {"name": "Renamed", "store_url": "https://evil.example.test", "allowed_ips": "10.0.0.1"},
    )

    assert response.status_code == 403
    acme_app.refresh_from_db()
    assert acme_app.name == "Space Miner"
    assert acme_app.allowed_ips == []


def test_a_member_cannot_register_an_app(client, bob, acme):
    client.force_login(bob)

    assert client.get(reverse("console:app_create")).status_code == 403
    assert client.post(reverse("console:app_create"), REGISTER).status_code == 403
    assert not App.objects.filter(name="Moon Miner").exists()
    assert not ApiKey.objects.filter(app__account=acme).exists()


def test_an_admin_still_rotates_revokes_and_edits(alice_client, acme_app, live_key):
    rotate = alice_client.post(reverse("console:app_key_rotate", args=[acme_app.app_id]))
    assert rotate.status_code == 200
    revoke = alice_client.post(
        reverse("console:app_key_revoke", args=[acme_app.app_id, live_key.pk])
    )
    assert revoke.status_code == 302
    live_key.refresh_from_db()
    assert live_key.revoked_at is not None
    edit = alice_client.post(
        reverse("console:app_edit", args=[acme_app.app_id]),
        {"name": "Space Miner 2", "store_url": acme_app.store_url, "allowed_ips": ""},
    )
    assert edit.status_code == 302
    acme_app.refresh_from_db()
    assert acme_app.name == "Space Miner 2"


def test_another_accounts_admin_still_gets_a_404_not_a_403(charlie_client, acme_app, live_key):
    urls = [
        reverse("console:app_key_rotate", args=[acme_app.app_id]),
        reverse("console:app_key_revoke", args=[acme_app.app_id, live_key.pk]),
        reverse("console:app_edit", args=[acme_app.app_id]),
    ]
    for url in urls:
        assert charlie_client.post(url).status_code == 404, url


def test_a_members_app_page_shows_no_rotate_revoke_or_edit_button(client, bob, acme_app, live_key):
    client.force_login(bob)

    page = client.get(reverse("console:app_detail", args=[acme_app.app_id])).content.decode()

    assert live_key.prefix in page  # members read everything...
    assert "Rotate key" not in page  # ...but see no action they may not take
    assert ">Revoke<" not in page
    assert reverse("console:app_edit", args=[acme_app.app_id]) not in page
    assert reverse("console:app_key_rotate", args=[acme_app.app_id]) not in page
    assert "Admins rotate and revoke keys" in page


def test_an_admins_app_page_shows_rotate_revoke_and_edit(alice_client, acme_app, live_key):
    page = alice_client.get(reverse("console:app_detail", args=[acme_app.app_id])).content.decode()

    assert "Rotate key" in page
    assert ">Revoke<" in page
    assert reverse("console:app_edit", args=[acme_app.app_id]) in page


def test_a_member_sees_no_register_an_app_button(client, bob, acme_app):
    client.force_login(bob)
    create = reverse("console:app_create")

    assert create not in client.get(reverse("console:app_list")).content.decode()
    assert create not in client.get(reverse("console:dashboard")).content.decode()


def test_an_admin_sees_the_register_an_app_button(alice_client, acme_app):
    create = reverse("console:app_create")

    assert create in alice_client.get(reverse("console:app_list")).content.decode()
    assert create in alice_client.get(reverse("console:dashboard")).content.decode()


def test_a_member_sees_no_invite_form_nor_withdraw_button(client, alice, bob):
    services.invitation_create(account=alice.membership.account, actor=alice, email="d@acme.test")
    client.force_login(bob)

    page = client.get(reverse("console:team")).content.decode()

    assert "d@acme.test" in page
    assert "Withdraw" not in page
    assert reverse("console:invite") not in page


def test_a_member_cannot_add_a_card_nor_sees_the_button(client, bob):
    client.force_login(bob)

    assert client.get(reverse("billing:card_add")).status_code == 403
    assert 'id="card-add-link"' not in client.get(reverse("billing:overview")).content.decode()


# --- Every admin-only action, from the URL conf -----------------------------------------------
#
# Each console URL (every namespaced URL but the Rewards API, shopper pages, finance and Django
# admin) is either admin-only (its view is wrapped in @admin_required) or listed in
# MEMBER_PAGES. Each admin-only view has a case in ADMIN_ACTIONS: a member posting it gets the
# 403 page and nothing changes; an admin succeeds. A new view fails
# test_every_console_url_is_classified until it is added to one of the two.

NOT_CONSOLE_NAMESPACES = {"rewards", "finance", "admin"}

# Members build campaigns and read everything else (SPEC §12 Roles); anyone in the account may
# ask the Moments team for something.
MEMBER_PAGES = {
    "console:dashboard",
    "console:team",
    "console:app_list",
    "console:app_detail",
    "console:staff_request_list",
    "console:staff_request_create",
    "console:staff_request_detail",
    "console:staff_request_withdraw",
    "campaigns:list",
    "campaigns:create",
    "campaigns:detail",
    "campaigns:wizard",
    "campaigns:wizard_step",
    "campaigns:duplicate",
    "campaigns:results_csv",
    "campaigns:delete",
    "campaigns:take_down",
    "billing:overview",
    "billing:invoice_pdf",
    "billing:invoices_csv",
}


def _console_urls() -> dict[str, URLPattern]:
    found: dict[str, URLPattern] = {}

    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = pattern.namespace
                walk(
                    pattern.url_patterns,
                    f"{namespace}:{inner}" if namespace and inner else inner or namespace,
                )
            elif (
                pattern.name and namespace and namespace.split(":")[0] not in NOT_CONSOLE_NAMESPACES
            ):
                found[f"{namespace}:{pattern.name}"] = pattern

    walk(get_resolver().url_patterns, None)
    return found


def _admin_only_urls() -> dict[str, URLPattern]:
    return {
        name: pattern
        for name, pattern in _console_urls().items()
        if getattr(pattern.callback, "admin_only", False)
    }


@dataclass
class World:
    alice: object
    bob: object
    dave: object  # a third teammate, the target of role changes and removals
    acme: Account
    app: App
    key: ApiKey
    invitation: Invitation
    endpoint: WebhookEndpoint
    delivery: WebhookDelivery  # a failed delivery to `endpoint`
    paused: WebhookEndpoint  # a disabled endpoint
    delivered: WebhookDelivery  # a succeeded delivery to `endpoint`


# A closed port on this machine: nothing is ever delivered there (tests allow private URLs).
HOOK_URL = "http://127.0.0.1:9/moments"


@pytest.fixture
def world(alice, bob, acme, acme_app, live_key):
    dave = MembershipFactory(user__email="dave@acme.test", account=acme, role="member").user
    invitation = services.invitation_create(
        account=acme, actor=alice, email="erin@acme.test"
    ).invitation
    endpoint, _secret = webhook_endpoint_create(
        account=acme, actor=alice, url=HOOK_URL, events=["invoice.issued"]
    )
    event = WebhookEvent.objects.create(account=acme, type="invoice.issued", data={})
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event=event, status=WebhookDelivery.Status.FAILED, attempts=8
    )
    paused, _secret = webhook_endpoint_create(
        account=acme, actor=alice, url=HOOK_URL + "/paused", events=["invoice.issued"]
    )
    webhook_endpoint_disable(endpoint=paused, actor=alice)
    delivered = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=WebhookEvent.objects.create(account=acme, type="invoice.issued", data={}),
        status=WebhookDelivery.Status.SUCCEEDED,
        attempts=1,
    )
    return World(
        alice,
        bob,
        dave,
        acme,
        acme_app,
        live_key,
        invitation,
        endpoint,
        delivery,
        paused,
        delivered,
    )


def _endpoint(w: World) -> WebhookEndpoint:
    return WebhookEndpoint.objects.filter(pk=w.endpoint.pk).first()


NEXT_YEAR = timezone.localdate().year + 3


@dataclass(frozen=True)
class AdminAction:
    """One admin-only action: the URL's name, its arguments and form data from the world, and
    how to tell it happened."""

    name: str
    args: Callable[[World], list] = lambda w: []
    data: Callable[[World], dict] = lambda w: {}
    done: Callable[[World], bool] = lambda w: True
    # A page that only shows something (an admin gets it, a member the 403 page): nothing to
    # find changed afterwards.
    page: bool = False


ADMIN_ACTIONS = [
    AdminAction(
        "console:invite",
        data=lambda w: {"email": "frank@acme.test", "role": "member"},
        done=lambda w: Invitation.objects.filter(email="frank@acme.test").exists(),
    ),
    AdminAction(
        "console:invitation_revoke",
        args=lambda w: [w.invitation.pk],
        done=lambda w: Invitation.objects.get(pk=w.invitation.pk).revoked_at is not None,
    ),
    AdminAction(
        "console:member_role_set",
        args=lambda w: [w.dave.membership.pk],
        data=lambda w: {"role": "admin"},
        done=lambda w: Membership.objects.get(user=w.dave).is_admin,
    ),
    AdminAction(
        "console:member_remove",
        args=lambda w: [w.dave.membership.pk],
        done=lambda w: not Membership.objects.filter(user=w.dave).exists(),
    ),
    AdminAction(
        "console:app_create",
        data=lambda w: REGISTER,
        done=lambda w: App.objects.filter(name="Moon Miner").exists(),
    ),
    AdminAction(
        "console:app_edit",
        args=lambda w: [w.app.app_id],
        data=lambda w: {"name": "Renamed", "store_url": w.app.store_url, "allowed_ips": ""},
        done=lambda w: App.objects.get(pk=w.app.pk).name == "Renamed",
    ),
    AdminAction(
        "console:app_key_rotate",
        args=lambda w: [w.app.app_id],
        done=lambda w: w.app.api_keys.count() == 2,
    ),
    AdminAction(
        "console:app_key_revoke",
        args=lambda w: [w.app.app_id, w.key.pk],
        done=lambda w: ApiKey.objects.get(pk=w.key.pk).revoked_at is not None,
    ),
    AdminAction(
        "billing:card_add",
        data=lambda w: {
            "cardholder_name": "Alice Liddell",
            "card_number": "4242 4242 4242 4242",
            "exp_month": "12",
            "exp_year": str(NEXT_YEAR),
            "cvc": "123",
            "billing_address": "1 Main Street\nSeattle, WA 98101",
        },
        done=lambda w: PaymentMethod.objects.filter(account=w.acme, is_active=True).exists(),
    ),
    AdminAction(
        "billing:tax_id_set",
        data=lambda w: {"tax_id": "DE123456789"},
        done=lambda w: Account.objects.get(pk=w.acme.pk).tax_id == "DE123456789",
    ),
    # Webhooks (SPEC §12): the pages themselves are admin-only, not only their actions.
    AdminAction("console:activity", page=True),
    AdminAction("webhooks:list", page=True),
    AdminAction("webhooks:detail", args=lambda w: [w.endpoint.pk], page=True),
    AdminAction(
        "webhooks:create",
        data=lambda w: {"url": HOOK_URL + "/2", "events": ["grant.claimed"]},
        done=lambda w: WebhookEndpoint.objects.filter(url=HOOK_URL + "/2").exists(),
    ),
    AdminAction(
        "webhooks:edit",
        args=lambda w: [w.endpoint.pk],
        data=lambda w: {"url": HOOK_URL, "description": "Renamed", "events": ["invoice.issued"]},
        done=lambda w: _endpoint(w).description == "Renamed",
    ),
    AdminAction(
        "webhooks:rotate_secret",
        args=lambda w: [w.endpoint.pk],
        done=lambda w: _endpoint(w).previous_secret_encrypted != "",
    ),
    AdminAction(
        "webhooks:disable",
        args=lambda w: [w.endpoint.pk],
        done=lambda w: not _endpoint(w).enabled,
    ),
    AdminAction(
        "webhooks:enable",
        args=lambda w: [w.paused.pk],
        done=lambda w: WebhookEndpoint.objects.get(pk=w.paused.pk).enabled,
    ),
    AdminAction(
        "webhooks:delete",
        args=lambda w: [w.endpoint.pk],
        done=lambda w: _endpoint(w) is None,
    ),
    AdminAction(
        "webhooks:test",
        args=lambda w: [w.endpoint.pk],
        done=lambda w: WebhookEvent.objects.filter(type="webhook.test").exists(),
    ),
    AdminAction(
        "webhooks:delivery_retry",
        args=lambda w: [w.endpoint.pk, w.delivery.pk],
        # Claimed for one more attempt (sent after commit, by the worker).
        done=lambda w: WebhookDelivery.objects.get(pk=w.delivery.pk).status == "pending",
    ),
    AdminAction(
        "webhooks:delivery_resend",
        args=lambda w: [w.endpoint.pk, w.delivered.pk],
        done=lambda w: WebhookDelivery.objects.get(pk=w.delivered.pk).status == "pending",
    ),
]


def _state() -> dict:
    """Everything an admin-only action could change."""
    return {
        "members": list(
            Membership.objects.order_by("pk").values_list("pk", "role", "user__is_active")
        ),
        "invitations": list(Invitation.objects.order_by("pk").values_list("pk", "revoked_at")),
        "apps": list(App.objects.order_by("pk").values_list("pk", "name", "store_url")),
        "keys": list(ApiKey.objects.order_by("pk").values_list("pk", "expires_at", "revoked_at")),
        "accounts": list(
            Account.objects.order_by("pk").values_list("pk", "tax_id", "billing_owner")
        ),
        "cards": list(PaymentMethod.objects.order_by("pk").values_list("pk", "is_active")),
        "activity": ActivityEntry.objects.count(),
        "endpoints": list(
            WebhookEndpoint.objects.order_by("pk").values_list(
                "pk", "url", "description", "enabled", "secret_encrypted"
            )
        ),
        "deliveries": list(
            WebhookDelivery.objects.order_by("pk").values_list("pk", "status", "attempts")
        ),
        "events": WebhookEvent.objects.count(),
    }


def test_every_console_url_is_classified_as_admin_only_or_a_member_page():
    urls = _console_urls()
    unclassified = sorted(set(urls) - set(_admin_only_urls()) - MEMBER_PAGES)
    assert not unclassified, (
        f"Decide who may use {unclassified}: wrap the view in @admin_required (and add a case "
        "to ADMIN_ACTIONS) or add its name to MEMBER_PAGES."
    )
    assert not MEMBER_PAGES & set(_admin_only_urls()), "a member page is admin-only"
    assert set(urls) >= MEMBER_PAGES, f"gone: {sorted(MEMBER_PAGES - set(urls))}"


def test_every_admin_only_url_has_a_case_and_every_case_is_admin_only():
    cases = {action.name for action in ADMIN_ACTIONS}
    assert set(_admin_only_urls()) == cases, (
        "Add a case to ADMIN_ACTIONS for each admin-only view (and only those): "
        f"missing {sorted(set(_admin_only_urls()) - cases)}, "
        f"not admin-only {sorted(cases - set(_admin_only_urls()))}"
    )


def _placeholder_kwargs(pattern: URLPattern) -> dict:
    values = {UUIDConverter: uuid.uuid4(), IntConverter: 999_999}
    return {
        name: values.get(type(converter), "x")
        for name, converter in pattern.pattern.converters.items()
    }


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_member_gets_the_403_page_on_every_admin_only_url_before_anything_is_looked_up(
    client, world, method
):
    client.force_login(world.bob)
    before = _state()
    for name, pattern in sorted(_admin_only_urls().items()):
        url = reverse(name, kwargs=_placeholder_kwargs(pattern))
        response = getattr(client, method)(url)
        assert response.status_code == 403, f"{method.upper()} {name}"
        assert "You can't do that here" in response.content.decode(), name
    assert _state() == before


@pytest.mark.parametrize("action", ADMIN_ACTIONS, ids=lambda a: a.name)
def test_a_member_posting_an_admin_only_action_gets_403_and_nothing_changes(client, world, action):
    client.force_login(world.bob)
    before = _state()

    response = client.post(reverse(action.name, args=action.args(world)), action.data(world))

    assert response.status_code == 403
    assert "You can't do that here" in response.content.decode()
    assert _state() == before
    assert action.page or not action.done(world)


@pytest.mark.parametrize("action", ADMIN_ACTIONS, ids=lambda a: a.name)
def test_an_admin_posting_an_admin_only_action_succeeds(client, world, action):
    client.force_login(world.alice)

    response = client.post(reverse(action.name, args=action.args(world)), action.data(world))

    assert response.status_code in (200, 302), response.content.decode()[:500]
    assert action.done(world)


@pytest.mark.parametrize(
    "name", ["console:invitation_revoke", "console:member_role_set", "console:member_remove"]
)
def test_another_accounts_admin_gets_a_404_on_acmes_invitations_and_members(
    charlie_client, world, name
):
    target = (
        world.invitation.pk if name == "console:invitation_revoke" else world.dave.membership.pk
    )
    before = _state()

    response = charlie_client.post(reverse(name, args=[target]), {"role": "admin"})

    assert response.status_code == 404
    assert _state() == before


# --- What each role sees ----------------------------------------------------------------------


def test_a_members_team_page_shows_the_team_but_no_role_or_remove_controls(client, world):
    client.force_login(world.bob)

    page = client.get(reverse("console:team")).content.decode()

    assert "dave@acme.test" in page and "alice@acme.test" in page
    assert "Change role" not in page
    assert ">Remove<" not in page
    assert reverse("console:member_remove", args=[world.dave.membership.pk]) not in page
    assert reverse("console:member_role_set", args=[world.dave.membership.pk]) not in page
    assert "Only admins of this account can invite teammates." in page


def test_an_admins_team_page_shows_role_and_remove_controls_for_each_member(alice_client, world):
    services.membership_role_set(actor=world.alice, membership=world.dave.membership, role="admin")

    page = alice_client.get(reverse("console:team")).content.decode()

    for user in (world.alice, world.bob, world.dave):
        assert reverse("console:member_role_set", args=[user.membership.pk]) in page
        assert reverse("console:member_remove", args=[user.membership.pk]) in page
    assert reverse("console:invite") in page
    assert "Withdraw" in page
    assert 'id="only-admin"' not in page


def test_the_only_admin_is_offered_neither_remove_nor_a_role_change(alice_client, world):
    page = alice_client.get(reverse("console:team")).content.decode()

    alice = world.alice.membership.pk
    assert reverse("console:member_remove", args=[alice]) not in page
    assert reverse("console:member_role_set", args=[alice]) not in page
    assert "The only admin: make a teammate an admin first" in page
    for user in (world.bob, world.dave):  # the members are still managed
        assert reverse("console:member_remove", args=[user.membership.pk]) in page
        assert reverse("console:member_role_set", args=[user.membership.pk]) in page


def test_a_members_billing_page_shows_no_card_or_tax_id_controls(client, world):
    client.force_login(world.bob)

    page = client.get(reverse("billing:overview")).content.decode()

    assert 'id="card-add-link"' not in page
    assert 'id="tax-id-form"' not in page
    assert reverse("billing:tax_id_set") not in page
    assert 'id="spend-limit"' in page  # members read billing


def test_an_admins_billing_page_shows_the_card_and_tax_id_controls(alice_client, world):
    page = alice_client.get(reverse("billing:overview")).content.decode()

    assert 'id="card-add-link"' in page
    assert 'id="tax-id-form"' in page


def test_every_member_sees_the_contact_us_link(client, world):
    client.force_login(world.bob)

    page = client.get(reverse("console:dashboard")).content.decode()

    assert reverse("console:staff_request_list") in page


# --- Member management ------------------------------------------------------------------------


def test_an_admin_makes_a_member_an_admin_and_back_and_each_change_is_recorded(alice, world):
    membership = world.dave.membership

    services.membership_role_set(actor=alice, membership=membership, role="admin")
    services.membership_role_set(actor=alice, membership=membership, role="member")

    assert Membership.objects.get(pk=membership.pk).role == "member"
    rows = list(
        ActivityEntry.objects.filter(action="membership.role_changed")
        .order_by("pk")
        .values_list("actor", "account", "object_id", "data")
    )
    assert rows == [
        (
            alice.pk,
            world.acme.pk,
            str(membership.pk),
            {"email": "dave@acme.test", "old_role": "member", "new_role": "admin"},
        ),
        (
            alice.pk,
            world.acme.pk,
            str(membership.pk),
            {"email": "dave@acme.test", "old_role": "admin", "new_role": "member"},
        ),
    ]


def test_the_last_admin_cannot_be_demoted_and_the_page_says_why(alice_client, world):
    membership = world.alice.membership

    response = alice_client.post(
        reverse("console:member_role_set", args=[membership.pk]), {"role": "member"}, follow=True
    )

    assert Membership.objects.get(pk=membership.pk).is_admin
    assert (
        "alice@acme.test is the only admin of Acme Games: make another teammate an admin first"
        in response.content.decode()
    )
    assert not ActivityEntry.objects.filter(action="membership.role_changed").exists()


def test_the_last_admin_cannot_remove_themself(alice_client, world):
    membership = world.alice.membership

    response = alice_client.post(
        reverse("console:member_remove", args=[membership.pk]), follow=True
    )

    assert Membership.objects.filter(pk=membership.pk).exists()
    assert "is the only admin of Acme Games" in response.content.decode()
    world.alice.refresh_from_db()
    assert world.alice.is_active


def test_an_admin_may_leave_when_another_admin_remains(client, world):
    services.membership_role_set(actor=world.alice, membership=world.dave.membership, role="admin")
    client.force_login(world.alice)

    response = client.post(reverse("console:member_remove", args=[world.alice.membership.pk]))

    assert response.status_code == 302 and response.url == reverse("login")
    assert not Membership.objects.filter(user=world.alice).exists()
    assert client.get(reverse("console:dashboard")).status_code == 302  # signed out


def test_a_removed_member_loses_their_seat_and_their_session(client, world):
    client.force_login(world.bob)
    assert client.get(reverse("console:dashboard")).status_code == 200

    services.membership_remove(actor=world.alice, membership=world.bob.membership)

    world.bob.refresh_from_db()
    assert not world.bob.is_active
    assert not Membership.objects.filter(user=world.bob).exists()
    response = client.get(reverse("console:dashboard"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    entry = ActivityEntry.objects.get(action="membership.removed")
    assert (entry.actor, entry.account) == (world.alice, world.acme)
    assert entry.data == {"email": "bob@acme.test", "role": "member"}


def test_demoting_or_removing_the_billing_owner_lets_the_next_admin_set_the_card(world):
    acme = world.acme
    services.membership_role_set(actor=world.alice, membership=world.dave.membership, role="admin")
    Account.objects.filter(pk=acme.pk).update(billing_owner=world.dave)

    services.membership_role_set(actor=world.alice, membership=world.dave.membership, role="member")

    acme.refresh_from_db()
    assert acme.billing_owner is None
    entry = ActivityEntry.objects.filter(action="membership.role_changed").latest("pk")
    assert entry.data["billing_owner_released"] is True


def test_only_an_admin_of_the_same_account_changes_roles_or_removes(world, charlie):
    with pytest.raises(PermissionDenied):
        services.membership_role_set(
            actor=world.bob, membership=world.dave.membership, role="admin"
        )
    with pytest.raises(PermissionDenied):
        services.membership_remove(actor=charlie, membership=world.dave.membership)
    assert Membership.objects.get(user=world.dave).role == "member"


def test_an_unknown_role_is_refused_with_a_message(alice_client, world):
    response = alice_client.post(
        reverse("console:member_role_set", args=[world.dave.membership.pk]),
        {"role": "owner"},
        follow=True,
    )

    assert "Choose a role: Admin or Member." in response.content.decode()
    assert Membership.objects.get(user=world.dave).role == "member"


@pytest.mark.django_db(transaction=True)
def test_two_admins_demoting_each_other_at_once_leave_one_admin(postgres, alice, acme):
    dave = MembershipFactory(user__email="dave@acme.test", account=acme, role="admin").user
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def demote(actor, target):
        try:
            barrier.wait(timeout=10)
            services.membership_role_set(
                actor=actor, membership=Membership.objects.get(user=target), role="member"
            )
        except (ValidationError, PermissionDenied) as exc:
            # The second to get the account's lock is refused: either it is no longer an
            # admin itself, or its target is the last one.
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=demote, args=(alice, dave)),
        threading.Thread(target=demote, args=(dave, alice)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Membership.objects.filter(account=acme, role="admin").count() == 1
    assert len(errors) == 1


@pytest.mark.django_db(transaction=True)
def test_two_admins_removing_each_other_at_once_leave_one_admin(postgres, alice, acme):
    dave = MembershipFactory(user__email="dave@acme.test", account=acme, role="admin").user
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def remove(actor, target):
        try:
            barrier.wait(timeout=10)
            services.membership_remove(
                actor=actor, membership=Membership.objects.get(user=target)
            )
        except (ValidationError, PermissionDenied) as exc:
            # The second to get the account's lock has been removed itself by then.
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=remove, args=(alice, dave)),
        threading.Thread(target=remove, args=(dave, alice)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    admins = Membership.objects.filter(account=acme, role="admin")
    assert admins.count() == 1
    assert admins.get().user.is_active
    assert len(errors) == 1
    assert ActivityEntry.objects.filter(action="membership.removed").count() == 1


def test_a_members_campaign_page_offers_no_key_management(client, bob, acme_app):
    from tests.factories import CampaignFactory

    campaign = CampaignFactory(app=acme_app, account=acme_app.account)
    url = reverse("campaigns:detail", args=[campaign.campaign_id])
    client.force_login(bob)

    page = client.get(url).content.decode()

    assert "manage keys" not in page
    assert "see the app&#x27;s keys" in page or "see the app's keys" in page
    assert "No active key: an admin of your account issues one" in page


def test_an_admins_campaign_page_links_to_manage_keys(alice_client, acme_app):
    from tests.factories import CampaignFactory

    campaign = CampaignFactory(app=acme_app, account=acme_app.account)
    page = alice_client.get(reverse("campaigns:detail", args=[campaign.campaign_id])).content
    assert "manage keys" in page.decode()


def test_a_members_campaign_wizard_asks_an_admin_instead_of_linking_admin_pages(client, bob):
    client.force_login(bob)
    page = client.get(reverse("campaigns:create")).content.decode()

    assert reverse("console:app_create") not in page
    assert "Ask an admin of your account to register it." in page


def test_an_admins_campaign_wizard_links_to_app_registration(alice_client):
    page = alice_client.get(reverse("campaigns:create")).content.decode()

    assert reverse("console:app_create") in page
