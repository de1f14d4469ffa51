"""Admin list pages over big tables (issue 20, item 6): each makes a fixed number of queries,
whatever the number of rows, and none reads a DISTINCT over the table (the date hierarchy's,
or a filter listing a column's values). bench/admin_lists.py measures them at 500,000 rows."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.services.ledger import ledger_charge
from console.activity import activity_record
from rewards.models import RewardGrant
from tests.factories import ProductFactory, UserFactory
from tests.rewards.claim_helpers import a_claim, a_grant, a_shopper

pytestmark = pytest.mark.django_db

_n = itertools.count()


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def grant():
    return a_grant()


def _more_grants(grant, k):
    for _ in range(k):
        RewardGrant.objects.create(
            campaign=grant.campaign,
            reward_group=grant.reward_group,
            moment=grant.moment,
            token=f"t-{next(_n)}",
            device_type="Android",
            expires_at=grant.expires_at,
        )


def _more_ledger(grant, k):
    campaign = grant.campaign
    for _ in range(k):
        ledger_charge(
            account_id=campaign.account_id,
            campaign_id=campaign.pk,
            moment_id=None,
            grant_id=None,
            amount=Decimal("0.1000"),
            month=timezone.localdate().replace(day=1),
            now=timezone.now() - timedelta(minutes=next(_n)),
        )


def _more_claims(grant, k):
    product = ProductFactory()
    for _ in range(k):
        _more_grants(grant, 1)
        claim_grant = RewardGrant.objects.order_by("-pk").first()
        a_claim(grant=claim_grant, shopper=a_shopper(), product=product, device_id=f"d-{next(_n)}")


def _more_activity(grant, k):
    for _ in range(k):
        activity_record(
            actor=None, account=grant.campaign.account_id, action="campaign.updated", target=grant
        )


def _more_invoices(grant, k):
    from billing.models import Invoice

    account = grant.campaign.account
    today = timezone.localdate()
    for _ in range(k):
        n = next(_n)
        Invoice.objects.create(
            number=f"MC-2020-{n:06d}",
            account=account,
            period=date(2000 + n // 12, n % 12 + 1, 1),  # one per month: one per account
            issue_date=today,
            due_date=today - timedelta(days=n % 2),
            payment_terms="invoice",
            buyer_company=account.name,
            subtotal=Decimal("10.00"),
            total=Decimal("10.00"),
        )


PAGES = {
    "ledger": ("/admin/billing/ledgerentry/", _more_ledger),
    "ledger, filtered": ("/admin/billing/ledgerentry/?kind=charge", _more_ledger),
    "ledger, searched": ("/admin/billing/ledgerentry/?q=Campaign", _more_ledger),
    "reward grants": ("/admin/rewards/rewardgrant/", _more_grants),
    "reward grants, filtered": ("/admin/rewards/rewardgrant/?device_type=Android", _more_grants),
    "reward grants, searched": ("/admin/rewards/rewardgrant/?q=Campaign", _more_grants),
    "claims": ("/admin/rewards/claim/?review=all", _more_claims),
    "claims, flagged": ("/admin/rewards/claim/?review=all&status__exact=flagged", _more_claims),
    "claims, searched": ("/admin/rewards/claim/?review=all&q=d-1", _more_claims),
    "activity": ("/admin/console/activityentry/", _more_activity),
    "activity, filtered": ("/admin/console/activityentry/?action=campaign.updated", _more_activity),
    "activity, searched": ("/admin/console/activityentry/?q=Company", _more_activity),
    "invoices": ("/admin/billing/invoice/", _more_invoices),
    "invoices, overdue": ("/admin/billing/invoice/?status=overdue", _more_invoices),
    "invoices, searched": ("/admin/billing/invoice/?q=Company", _more_invoices),
}


@pytest.mark.parametrize("page", list(PAGES))
def test_a_list_page_makes_the_same_queries_for_3_rows_or_60_and_no_distinct(
    staff_client, grant, page, django_assert_num_queries
):
    url, more = PAGES[page]
    more(grant, 3)
    with CaptureQueriesContext(connection) as few:
        assert staff_client.get(url).status_code == 200

    more(grant, 57)
    with django_assert_num_queries(len(few.captured_queries)) as many:
        response = staff_client.get(url)

    assert response.status_code == 200
    assert not [q["sql"] for q in many.captured_queries if _distinct_over_the_table(q["sql"])]


def _distinct_over_the_table(sql: str) -> bool:
    # A DISTINCT over the whole table (the date hierarchy's, a filter's choices) grows with it.
    # The fraud queue's linked shoppers count DISTINCT shoppers per device and address for the
    # shown page's rows only (`"rewards_claim"."id" IN (...)`, at most a page): allowed.
    page_only = '"rewards_claim"."id" IN (' in sql
    return "DISTINCT" in sql.upper() and not page_only


@pytest.mark.parametrize(
    "url",
    [
        "/admin/billing/ledgerentry/",
        "/admin/rewards/rewardgrant/",
        "/admin/rewards/claim/",
        "/admin/console/activityentry/",
    ],
)
def test_big_lists_have_a_date_range_filter_instead_of_the_date_hierarchy(staff_client, url):
    page = staff_client.get(url).content.decode()

    assert 'class="xfull"' not in page and "date-hierarchy" not in page.lower()
    assert "created_at__gte=" in page  # "Past 7 days", "This month", ...


def test_the_ledger_search_finds_an_account_a_campaign_and_its_public_id(staff_client, grant):
    _more_ledger(grant, 2)
    campaign = grant.campaign
    url = "/admin/billing/ledgerentry/"

    for term in (campaign.account.name[:5], campaign.name, str(campaign.campaign_id)):
        page = staff_client.get(url, {"q": term})
        assert page.context["cl"].result_count == 2, term
    assert staff_client.get(url, {"q": "no such thing"}).context["cl"].result_count == 0


def test_the_claims_search_finds_a_shopper_by_email_and_a_device_exactly(staff_client, grant):
    product = ProductFactory()
    shopper = a_shopper("Sam.Doe@Example.test")
    a_claim(grant=grant, shopper=shopper, product=product, device_id="dev-42")
    url = "/admin/rewards/claim/"
    every = {"review": "all"}  # the queue opens on flagged claims; this one is not flagged

    assert staff_client.get(url, {**every, "q": "sam.doe@example.test"}).context[
        "cl"
    ].result_count == 1
    assert staff_client.get(url, {**every, "q": "dev-42"}).context["cl"].result_count == 1
    assert staff_client.get(url, {**every, "q": "dev-4"}).context["cl"].result_count == 0


def test_the_activity_list_filters_one_account_by_its_id(staff_client, grant):
    _more_activity(grant, 2)
    account = grant.campaign.account

    page = staff_client.get("/admin/console/activityentry/", {"account": account.pk})

    assert page.context["cl"].result_count == 2
    assert account.name in page.content.decode()
