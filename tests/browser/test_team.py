"""The team page in a real Chromium: what an admin may do to whom, and a removed teammate
invited back (issue 19)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from console.models import Membership

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery-staple-9"


def _sign_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_the_only_admin_removes_a_member_and_invites_them_back_and_they_rejoin(
    page, alice, bob, acme
):
    _sign_in(page, "alice@acme.test")
    page.goto("/team/")
    alice_row = page.locator(f"#member-{alice.membership.pk}")
    bob_row = page.locator(f"#member-{bob.membership.pk}")
    # The only admin is offered neither Remove nor a role change; the member is.
    expect(alice_row.get_by_role("button", name="Remove")).to_have_count(0)
    expect(alice_row.get_by_text("The only admin")).to_be_visible()
    bob_row.get_by_role("button", name="Remove").click()  # the confirm dialog is accepted
    expect(page.get_by_text("bob@acme.test was removed from the team")).to_be_visible()

    page.get_by_label("Email").fill("bob@acme.test")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to bob@acme.test.")).to_be_visible()
    link = re.search(r"https?://[^/]+(/invitations/\S+/)", mail.outbox[-1].body).group(1)
    page.locator("#accountMenu").click()
    page.get_by_role("button", name="Log out").click()

    page.goto(link)
    expect(page.locator("#invitation-summary")).to_contain_text(
        "alice@acme.test invited bob@acme.test as Member."
    )
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Join the team").click()

    expect(page.get_by_text("You joined Acme Games.")).to_be_visible()
    assert Membership.objects.get(user=bob).account == acme
