"""Staff on the console's side (issue 20, item 2): admin's "View site" opens a staff landing
page instead of a 500, and the 403 page speaks to the person who sees it."""

from __future__ import annotations

import pytest
from django.urls import include, path, reverse

from tests.campaigns.lifecycle_helpers import staff_group

pytestmark = pytest.mark.django_db

CONSOLE_PAGES = ["/dashboard/", "/campaigns/", "/billing/", "/apps/", "/requests/", "/team/"]


def test_view_site_shows_a_staff_landing_page_to_a_reviewer(client, reviewer_in_group):
    client.force_login(reviewer_in_group)

    response = client.get("/", follow=True)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Moments staff" in page
    assert reverse("admin:campaigns_campaignreview_changelist") in page  # the review queue
    assert reverse("admin:billing_invoice_changelist") not in page  # not finance's desk
    assert "developer account" not in page.lower() or "not a developer" in page.lower()


def test_the_landing_page_links_each_desk_by_the_staff_users_groups(client, finance_in_group):
    client.force_login(finance_in_group)

    page = client.get("/", follow=True).content.decode()

    assert reverse("admin:billing_invoice_changelist") in page
    assert reverse("admin:campaigns_campaignreview_changelist") not in page
    assert reverse("admin:rewards_claim_changelist") not in page


def test_support_staff_are_pointed_at_the_fraud_queue(client, reviewer):
    reviewer.groups.add(staff_group("Support"))
    client.force_login(reviewer)

    page = client.get("/", follow=True).content.decode()

    assert reverse("admin:rewards_claim_changelist") in page
    assert reverse("admin:billing_invoice_changelist") not in page


def test_a_staff_user_in_no_group_is_told_how_to_get_one(client, reviewer):
    client.force_login(reviewer)

    page = client.get("/", follow=True).content.decode()

    assert "not in a staff group" in page
    assert "create_staff" in page


@pytest.mark.parametrize("url", CONSOLE_PAGES)
def test_a_staff_user_opening_a_developer_page_gets_a_403_meant_for_staff(
    client, reviewer_in_group, url
):
    client.force_login(reviewer_in_group)
    client.raise_request_exception = False

    response = client.get(url)

    assert response.status_code == 403
    page = response.content.decode()
    assert "Your role in this account" not in page
    assert "developer" in page and "staff" in page.lower()
    assert reverse("staff_home") in page


def test_a_developers_403_still_speaks_of_their_role(client, bob, acme_app):
    client.force_login(bob)

    response = client.get(reverse("console:app_edit", args=[acme_app.app_id]))

    assert response.status_code == 403
    page = response.content.decode()
    assert "Only an admin of this account can do this." in page
    assert reverse("staff_home") not in page


def test_a_signed_in_user_without_an_account_is_not_shown_a_role(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory(email="left@acme.test"))

    response = client.get("/apps/")

    assert response.status_code == 403
    page = response.content.decode()
    assert "Your role in this account" not in page
    assert "not a member of a developer account" in page


def test_a_developer_is_sent_from_the_staff_page_to_their_dashboard(alice_client):
    response = alice_client.get(reverse("staff_home"))

    assert response.status_code == 302
    assert response["Location"] == reverse("console:dashboard")


def test_the_staff_page_asks_an_anonymous_visitor_to_sign_in(client):
    response = client.get(reverse("staff_home"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def refuse(request):
    from django.core.exceptions import PermissionDenied

    raise PermissionDenied


urlpatterns = [path("refused/", refuse), path("", include("console.urls"))]


@pytest.mark.urls(__name__)
def test_an_anonymous_visitor_refused_a_page_is_asked_to_sign_in_not_told_about_a_role(client):
    response = client.get("/refused/")

    assert response.status_code == 403
    page = response.content.decode()
    assert "Sign in to continue" in page
    assert "Your role in this account" not in page
    assert f'href="{reverse("login")}?next=/refused/"' in page


DESKS = (
    "Review queue",
    "Finance desk",
    "Receivables and revenue",
    "Accounts",
    "Requests to staff",
    "Fraud queue",
)


def test_a_superuser_sees_every_desk_with_what_waits_there(admin_client):
    page = admin_client.get(reverse("staff_home")).content.decode()

    for desk in DESKS:
        assert desk in page
    assert "not in a staff group" not in page
