"""Roles (SPEC §12): account admins manage apps, keys, members and payment methods; members
build campaigns and read the rest."""

from __future__ import annotations

import pytest
from django.urls import reverse

from console import services
from console.models import ApiKey, App

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
