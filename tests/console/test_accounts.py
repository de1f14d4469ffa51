"""Sign-up, log in / out, password reset and team invitations."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from console.models import Account, Invitation, Membership

from ..conftest import PASSWORD

pytestmark = pytest.mark.django_db

SIGNUP = {
    "company": "Acme Games",
    "country": "US",
    "billing_address": "1 Main Street, Seattle",
    "email": "Alice@Acme.test",
    "password": PASSWORD,
}


def test_signing_up_creates_the_company_with_its_first_admin_and_logs_in(client):
    response = client.post(reverse("signup"), SIGNUP, follow=True)
    assert response.redirect_chain[-1][0] == reverse("console:dashboard")
    assert "Welcome to Moments Console, Acme Games." in response.content.decode()
    membership = Membership.objects.get(user__email="alice@acme.test")
    assert membership.role == "admin"
    assert membership.account.name == "Acme Games"
    assert str(membership.account.country) == "US"


def test_the_country_starts_empty_and_signing_up_without_one_asks_for_it(client):
    html = client.get(reverse("signup")).content.decode()
    assert re.search(
        r'<select name="country"[^>]*>\s*<option value="" selected>Choose your country</option>',
        html,
    )
    response = client.post(reverse("signup"), {**SIGNUP, "country": ""})
    assert response.context["form"].errors["country"] == [
        "Choose the country your company is based in."
    ]
    assert "Choose the country your company is based in." in response.content.decode()
    assert not Account.objects.exists()


@pytest.mark.parametrize(
    "code,name",
    [
        ("ZA", "South Africa"),
        ("AL", "Albania"),
        ("SA", "Saudi Arabia"),
        ("RU", "Russia"),
        ("CH", "Switzerland"),
        ("CU", "Cuba"),
        ("IR", "Iran"),
        ("KP", "North Korea"),
        ("SY", "Syria"),
    ],
)
def test_it_refuses_developers_from_excluded_countries_with_a_clear_message(client, code, name):
    response = client.post(reverse("signup"), {**SIGNUP, "country": code})
    assert response.status_code == 200
    assert f"Moments is not available to developers based in {name}" in response.content.decode()
    assert not Account.objects.exists()
    assert not get_user_model().objects.exists()


def test_it_refuses_a_second_account_with_the_same_email(client, alice):
    response = client.post(reverse("signup"), {**SIGNUP, "email": "ALICE@acme.test"})
    assert "An account with this email already exists." in response.content.decode()
    assert Account.objects.count() == 1


def test_it_refuses_a_weak_password_and_keeps_nothing(client):
    response = client.post(reverse("signup"), {**SIGNUP, "password": "12345678"})
    assert "This password is too common." in response.content.decode()
    assert not Account.objects.exists()


def test_a_member_logs_in_with_email_and_out_again(client, alice):
    response = client.post(
        reverse("login"), {"username": "ALICE@acme.test", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("console:dashboard")
    assert "Acme Games" in response.content.decode()
    response = client.post(reverse("logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")
    assert client.get(reverse("console:dashboard")).status_code == 302


def test_a_wrong_password_is_refused_with_a_message(client, alice):
    response = client.post(reverse("login"), {"username": "alice@acme.test", "password": "nope"})
    assert "Please enter a correct email and password" in response.content.decode()


def test_password_reset_sends_a_link_that_sets_a_new_password(client, alice):
    client.post(reverse("password_reset"), {"email": "alice@acme.test"})
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/password/reset/\S+/)", mail.outbox[0].body).group(1)
    response = client.get(link, follow=True)
    new = "a-brand-new-passphrase-42"
    response = client.post(
        response.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}, follow=True
    )
    assert "Your password has been set" in response.content.decode()
    assert client.login(username="alice@acme.test", password=new)


def test_an_admin_invites_a_teammate_who_joins_by_the_link(
    client, alice, acme, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("console:invite"), {"email": "dave@acme.test", "role": "member"})
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["dave@acme.test"]
    link = re.search(r"https?://[^/]+(/invitations/\S+/)", mail.outbox[0].body).group(1)
    client.post(reverse("logout"))
    response = client.post(link, {"password": PASSWORD}, follow=True)
    assert "You joined Acme Games." in response.content.decode()
    dave = Membership.objects.get(user__email="dave@acme.test")
    assert dave.account == acme and dave.role == "member"
    # The link works once.
    client.post(reverse("logout"))
    assert client.get(link).status_code == 404


def test_the_invitation_page_says_who_is_invited_as_what(client, alice, acme):
    link = _invite(client, alice, "dave@acme.test", role="member")

    page = client.get(link).content.decode()

    assert (
        "alice@acme.test invited <strong>dave@acme.test</strong> as <strong>Member</strong>."
        in page
    )
    assert "invited as" not in page


def _invite(client, actor, email, *, role="member") -> str:
    """The invitation link an admin's invitation of `email` mails (signed out afterwards)."""
    from console import services

    client.logout()
    token = services.invitation_create(
        account=actor.membership.account, actor=actor, email=email, role=role
    ).token
    return f"/invitations/{token}/"


def test_a_removed_teammate_is_invited_again_and_rejoins_with_their_password(
    client, alice, bob, acme
):
    from console import services

    services.membership_remove(actor=alice, membership=bob.membership)
    client.force_login(alice)

    response = client.post(
        reverse("console:invite"), {"email": "bob@acme.test", "role": "admin"}, follow=True
    )

    assert "Invitation sent to bob@acme.test." in response.content.decode()
    link = _invite(client, alice, "bob@acme.test", role="admin")
    page = client.get(link).content.decode()
    assert "enter its password to rejoin" in page
    # A wrong password neither joins nor uses up the link.
    wrong = client.post(link, {"password": "not-bobs-password-1"}, follow=True)
    assert "That is not the password of your Moments Console account" in wrong.content.decode()
    assert not Membership.objects.filter(user=bob).exists()

    joined = client.post(link, {"password": PASSWORD}, follow=True)

    assert "You joined Acme Games." in joined.content.decode()
    seat = Membership.objects.get(user__email="bob@acme.test")
    assert seat.user_id == bob.pk and seat.account == acme and seat.role == "admin"
    bob.refresh_from_db()
    assert bob.is_active
    client.logout()
    assert client.login(username="bob@acme.test", password=PASSWORD)


def test_a_teammate_still_on_the_team_is_not_invited_again(client, alice, bob):
    client.force_login(alice)
    response = client.post(
        reverse("console:invite"), {"email": "bob@acme.test", "role": "member"}, follow=True
    )
    assert "bob@acme.test is already on your team." in response.content.decode()
    assert not Invitation.objects.exists()


def test_staff_cannot_be_invited_into_a_developer_account(client, alice, reviewer):
    client.force_login(alice)
    response = client.post(
        reverse("console:invite"), {"email": "rita@moments.test", "role": "member"}, follow=True
    )
    assert "already has a Moments Console account" in response.content.decode()
    assert not Invitation.objects.exists()


def test_a_member_cannot_invite(client, bob):
    client.force_login(bob)
    response = client.post(reverse("console:invite"), {"email": "eve@acme.test", "role": "admin"})
    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_inviting_someone_who_already_has_an_account_says_so(client, alice, charlie):
    client.force_login(alice)
    response = client.post(
        reverse("console:invite"), {"email": "charlie@globex.test", "role": "member"}, follow=True
    )
    assert "already has a Moments Console account" in response.content.decode()
    assert not Invitation.objects.exists()


def test_an_outsider_cannot_withdraw_another_accounts_invitation(client, alice, charlie):  # noqa: E501
    client.force_login(alice)
    client.post(reverse("console:invite"), {"email": "dave@acme.test", "role": "member"})
    invitation = Invitation.objects.get()
    client.force_login(charlie)
    response = client.post(reverse("console:invitation_revoke", args=[invitation.pk]))
    assert response.status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_unknown_pages_get_the_friendly_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "We couldn't find that page" in response.content.decode()
