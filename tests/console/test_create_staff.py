"""`manage.py create_staff` (issue 20, item 7): a staff user in the group of their role, from
the one list of the groups' permissions that the data migration applies too."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from console.models import ActivityEntry
from console.services.staff import STAFF_GROUPS

pytestmark = pytest.mark.django_db
User = get_user_model()


def create_staff(*args: str) -> str:
    out = StringIO()
    call_command("create_staff", *args, stdout=out)
    return out.getvalue()


def test_create_staff_makes_a_reviewer_who_can_open_the_review_queue():
    output = create_staff("--role", "reviewer", "Rita@Moments.test")

    user = User.objects.get(email="rita@moments.test")
    assert user.is_staff and not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == ["Reviewers"]
    assert not user.has_usable_password()
    assert "Created staff user rita@moments.test in the Reviewers group" in output
    entry = ActivityEntry.objects.get(action="staff.user_set")
    assert (entry.account, entry.data) == (None, {"role": "reviewer", "created": True})

    client = Client()
    client.force_login(user)
    assert client.get(reverse("admin:campaigns_campaignreview_changelist")).status_code == 200
    assert client.get(reverse("admin:billing_invoice_changelist")).status_code == 403


def test_the_printed_link_lets_the_new_staff_member_set_a_password_and_sign_in():
    output = create_staff("--role", "support", "sue@moments.test")
    link = re.search(r"https?://\S+/password/reset/\S+/", output).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]

    client = Client()
    form = client.get("/" + path, follow=True)
    new_password = "a-long-support-password-77"
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )

    assert done.status_code == 302
    user = User.objects.get(email="sue@moments.test")
    assert user.check_password(new_password)
    assert Client().login(username="sue@moments.test", password=new_password)


def test_a_password_is_taken_from_the_environment_never_from_the_command_line(monkeypatch):
    monkeypatch.setenv("NEW_STAFF_PASSWORD", "finance-password-long-42")

    output = create_staff(
        "--role", "finance", "fred@moments.test", "--password-env", "NEW_STAFF_PASSWORD"
    )

    user = User.objects.get(email="fred@moments.test")
    assert user.check_password("finance-password-long-42")
    assert "password/reset" not in output
    assert user.has_perm("billing.change_invoice") and user.has_perm("console.change_account")


def test_running_it_again_adds_a_role_to_the_same_user():
    create_staff("--role", "finance", "fred@moments.test")
    output = create_staff("--role", "support", "fred@moments.test")

    user = User.objects.get(email="fred@moments.test")
    assert sorted(user.groups.values_list("name", flat=True)) == ["Finance", "Support"]
    assert User.objects.filter(email="fred@moments.test").count() == 1
    assert "Updated staff user fred@moments.test" in output


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--role", "reviewer", "not-an-address"], {}, "is not an email address"),
        (["--role", "janitor", "x@moments.test"], {}, "invalid choice: 'janitor'"),
        (["x@moments.test"], {}, "the following arguments are required: --role"),
        (
            ["--role", "finance", "x@moments.test", "--password-env", "UNSET_PASSWORD_VAR"],
            {},
            "The environment variable UNSET_PASSWORD_VAR is empty or unset.",
        ),
        (
            ["--role", "finance", "x@moments.test", "--password-env", "WEAK"],
            {"WEAK": "123"},
            "This password is too short",
        ),
    ],
)
def test_it_says_clearly_what_is_wrong(monkeypatch, args, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("UNSET_PASSWORD_VAR", raising=False)

    with pytest.raises(CommandError, match=re.escape(message)):
        create_staff(*args)

    assert not User.objects.filter(email="x@moments.test").exists()


def test_a_developers_address_cannot_become_staff(alice):
    with pytest.raises(CommandError, match="is a member of a developer account"):
        create_staff("--role", "reviewer", "alice@acme.test")

    alice.refresh_from_db()
    assert not alice.is_staff


def test_the_migrated_groups_hold_the_permissions_of_the_one_list():
    from tests.campaigns.lifecycle_helpers import staff_group

    for name, perms in STAFF_GROUPS.items():
        group = staff_group(name)
        held = {
            f"{app}.{codename}"
            for app, codename in group.permissions.values_list(
                "content_type__app_label", "codename"
            )
        }
        assert set(perms) <= held, name
    assert set(Group.objects.values_list("name", flat=True)) >= set(STAFF_GROUPS)
