"""Results over time (SPEC §12): the numbers per day and moment equal the ledger's and the
grants', whether read from the daily rollup or live; the date range; the CSV; the dashboard's
bars and the list's spend; a fixed number of queries however many charges."""

from __future__ import annotations

import csv
import io
import secrets
import threading
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.models import AccountMonthlySpend, LedgerEntry
from campaigns.models import Campaign, CampaignDay, CampaignRollup
from campaigns.results.rollup import (
    ROLLUP_LAG,
    campaign_days_roll_up,
    campaigns_days_roll_up,
)
from campaigns.results.selectors import (
    ResultsRange,
    campaign_results,
    results_csv_rows,
    results_range,
)
from rewards.models import RewardGrant
from tests.factories import CampaignFactory, MomentFactory, RewardGroupFactory

pytestmark = pytest.mark.django_db

UTC = timezone.get_fixed_timezone(0)
# Noon on a fixed day, so that no test straddles a midnight.
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def live_campaign(app, *, name: str = "Summer Quest", start: date, end: date, budget="500"):
    campaign = CampaignFactory(
        app=app,
        name=name,
        status="live",
        submitted_at=at(start - timedelta(days=10)),
        live_at=at(start, 0),
        start_date=start,
        end_date=end,
        total_budget=Decimal(budget),
        cpa=Decimal("2.5000"),
    )
    group = RewardGroupFactory(campaign=campaign)
    moments = [
        MomentFactory(campaign=campaign, moment_id="LEVEL_10_COMPLETE"),
        MomentFactory(campaign=campaign, moment_id="FIRST_PURCHASE"),
    ]
    return campaign, group, moments


def charge(
    campaign, group, moment, when: datetime, *, amount="2.5000", redeemed=None, expires=None
):
    """One GetReward as it lands in the books: a grant and its CPA charge."""
    grant = RewardGrant.objects.create(
        campaign=campaign,
        reward_group=group,
        moment=moment,
        token=secrets.token_urlsafe(24),
        created_at=when,
        expires_at=expires or at(campaign.end_date + timedelta(days=31), 0),
        redeemed_at=redeemed,
    )
    Campaign.objects.filter(pk=campaign.pk).update(spent=campaign.spent + Decimal(amount))
    campaign.refresh_from_db()
    return LedgerEntry.objects.create(
        account_id=campaign.account_id,
        campaign=campaign,
        moment=moment,
        grant=grant,
        amount=Decimal(amount),
        month=when.date().replace(day=1),
        created_at=when,
    )


def correction(campaign, when: datetime, amount: str):
    return LedgerEntry.objects.create(
        account_id=campaign.account_id,
        campaign=campaign,
        kind=LedgerEntry.Kind.CORRECTION,
        amount=Decimal(amount),
        month=when.date().replace(day=1),
        memo="Goodwill credit",
        created_at=when,
    )


def books(campaign, moments):
    """The expected numbers, straight from the ledger and the grants, per day."""
    per_day: dict[date, dict] = defaultdict(
        lambda: {"moments": [0] * len(moments), "spend": Decimal(0), "claimed": 0, "expired": 0}
    )
    position = {m.pk: i for i, m in enumerate(moments)}
    for entry in LedgerEntry.objects.filter(campaign=campaign):
        row = per_day[timezone.localdate(entry.created_at)]
        row["spend"] += entry.amount
        if entry.kind == LedgerEntry.Kind.CHARGE:
            row["moments"][position[entry.moment_id]] += 1
    for grant in RewardGrant.objects.filter(campaign=campaign):
        if grant.redeemed_at:
            per_day[timezone.localdate(grant.redeemed_at)]["claimed"] += 1
        elif grant.expires_at <= timezone.now():
            per_day[timezone.localdate(grant.expires_at)]["expired"] += 1
    return per_day


@pytest.fixture
def quest(acme_app):
    """A live campaign with charges over three days (two closed, one today), a correction, a
    claim the next day and one today."""
    start = TODAY - timedelta(days=5)
    campaign, group, (level, purchase) = live_campaign(
        acme_app, start=start, end=TODAY + timedelta(days=20)
    )
    d1, d2 = TODAY - timedelta(days=3), TODAY - timedelta(days=1)
    charge(campaign, group, level, at(d1, 9), redeemed=at(d2, 8))
    charge(campaign, group, level, at(d1, 23, 59))
    charge(campaign, group, purchase, at(d1, 14))
    charge(campaign, group, purchase, at(d2, 0, 1), redeemed=at(TODAY, 9))
    correction(campaign, at(d2, 16), "-2.5000")
    charge(campaign, group, level, at(TODAY, 7))
    charge(campaign, group, purchase, at(TODAY, 11))
    return campaign, [level, purchase]


def assert_equal_to_books(results, campaign, moments):
    expected = books(campaign, moments)
    for day in results.days:
        want = expected.get(day.day, {"moments": [0, 0], "spend": 0, "claimed": 0, "expired": 0})
        assert day.moment_actions == want["moments"], day.day
        assert day.actions == sum(want["moments"]), day.day
        assert day.spend == want["spend"], day.day
        assert day.claimed == want["claimed"], day.day
        assert day.expired == want["expired"], day.day
    cumulative = sum(
        (row["spend"] for d, row in expected.items() if d <= results.period.end), Decimal(0)
    )
    assert results.days[-1].cumulative_spend == cumulative


@pytest.mark.parametrize("rolled", [False, True], ids=["live", "rolled-up"])
def test_the_numbers_per_day_and_moment_equal_the_ledger_and_the_grants(quest, rolled):
    campaign, moments = quest
    if rolled:
        assert campaign_days_roll_up(campaign=campaign)
        assert CampaignDay.objects.filter(campaign=campaign).exists()
    results = campaign_results(campaign, period=ResultsRange(campaign.start_date, TODAY))
    assert [d.day for d in results.days][0] == campaign.start_date
    assert results.days[-1].day == TODAY
    assert_equal_to_books(results, campaign, moments)
    # Spelled out once, so a wrong "expected" cannot hide a wrong result:
    by_day = {d.day: d for d in results.days}
    d1, d2 = TODAY - timedelta(days=3), TODAY - timedelta(days=1)
    assert by_day[d1].moment_actions == [2, 1] and by_day[d1].spend == Decimal("7.5")
    assert by_day[d2].moment_actions == [0, 1] and by_day[d2].spend == Decimal("0")
    assert by_day[d2].claimed == 1 and by_day[TODAY].claimed == 1
    assert by_day[TODAY].moment_actions == [1, 1]
    assert results.totals["spend"] == Decimal("12.5") == results.days[-1].cumulative_spend
    assert results.totals["actions"] == 6 and results.budget == Decimal("500")


def test_cumulative_spend_counts_from_the_first_charge_not_from_the_ranges_start(quest):
    campaign, moments = quest
    campaign_days_roll_up(campaign=campaign)
    results = campaign_results(campaign, period=ResultsRange(TODAY - timedelta(days=1), TODAY))
    assert [d.day for d in results.days] == [TODAY - timedelta(days=1), TODAY]
    assert results.days[0].spend == 0
    assert results.days[0].cumulative_spend == Decimal("7.5")  # day 1's three charges
    assert results.days[1].cumulative_spend == Decimal("12.5")
    assert results.totals["actions"] == 3  # the range's, not the campaign's six


def test_expired_rewards_are_counted_on_their_expiry_day_even_before_the_sweep_stamps_them(
    acme_app,
):
    start = TODAY - timedelta(days=60)
    campaign, group, (level, _) = live_campaign(
        acme_app, start=start, end=start + timedelta(days=20)
    )
    expiry = at(TODAY - timedelta(days=2), 0)
    charge(campaign, group, level, at(start, 9), expires=expiry)
    charge(campaign, group, level, at(start, 10), expires=expiry, redeemed=at(start, 11))
    charge(campaign, group, level, at(start, 12), expires=expiry)
    results = campaign_results(campaign, period=ResultsRange(start, TODAY))
    by_day = {d.day: d for d in results.days}
    assert by_day[expiry.date()].expired == 2
    assert by_day[start].claimed == 1
    campaign_days_roll_up(campaign=campaign)
    again = campaign_results(campaign, period=ResultsRange(start, TODAY))
    assert [(d.day, d.expired, d.claimed) for d in again.days] == [
        (d.day, d.expired, d.claimed) for d in results.days
    ]


def day_rows(campaign):
    return list(
        CampaignDay.objects.filter(campaign=campaign).values_list(
            "day", "moment", "actions", "spend", "claimed", "expired"
        )
    )


def test_the_roll_up_run_twice_writes_the_same_rows_once(quest):
    campaign, moments = quest
    assert campaign_days_roll_up(campaign=campaign) is True
    rows = day_rows(campaign)
    assert campaign_days_roll_up(campaign=campaign) is False
    assert campaigns_days_roll_up() == 0
    assert day_rows(campaign) == rows
    rollup = CampaignRollup.objects.get(pk=campaign.pk)
    assert rollup.sealed_through == TODAY - timedelta(days=1)
    assert rollup.rolled_until == NOW - ROLLUP_LAG
    # Today so far is rolled up too (both of today's charges were before 11:58).
    assert sum(r[2] for r in rows if r[0] == TODAY) == 2


def test_what_came_after_the_watermark_is_read_live_then_added_once(quest):
    campaign, moments = quest
    campaign_days_roll_up(campaign=campaign)
    group = campaign.reward_groups.get()
    # A charge a minute ago: after the watermark (two minutes ago), so it is read live.
    charge(campaign, group, moments[0], NOW - timedelta(minutes=1))
    period = ResultsRange(campaign.start_date, TODAY)
    before = campaign_results(campaign, period=period)
    assert before.days[-1].moment_actions == [2, 1]
    later = NOW + timedelta(minutes=5)
    with time_machine.travel(later, tick=False):
        assert campaign_days_roll_up(campaign=campaign) is True
        after = campaign_results(campaign, period=period)
    assert sum(r[2] for r in day_rows(campaign) if r[0] == TODAY) == 3
    assert [d.moment_actions for d in after.days] == [d.moment_actions for d in before.days]
    assert after.totals == before.totals
    assert_equal_to_books(after, campaign, moments)


def test_a_closed_day_is_sealed_whole_after_its_grace_taking_in_a_late_commit(quest):
    campaign, moments = quest
    campaign_days_roll_up(campaign=campaign)
    group = campaign.reward_groups.get()
    # A GetReward stamped 11:50 whose transaction commits only now, after the watermark
    # passed 11:50: the next additions miss it, the day's seal takes it in.
    charge(campaign, group, moments[1], at(TODAY, 11, 50))
    tomorrow = at(TODAY + timedelta(days=1), 0, 10)
    assert campaign_days_roll_up(campaign=campaign, now=tomorrow) is True
    assert CampaignRollup.objects.get(pk=campaign.pk).sealed_through == TODAY - timedelta(days=1)
    assert sum(r[2] for r in day_rows(campaign) if r[0] == TODAY) == 2  # not yet
    assert campaign_days_roll_up(campaign=campaign, now=tomorrow + timedelta(minutes=10))
    assert CampaignRollup.objects.get(pk=campaign.pk).sealed_through == TODAY
    assert sum(r[2] for r in day_rows(campaign) if r[0] == TODAY) == 3
    with time_machine.travel(tomorrow + timedelta(minutes=10), tick=False):
        results = campaign_results(campaign, period=ResultsRange(campaign.start_date, TODAY))
    assert_equal_to_books(results, campaign, moments)


def test_the_sweep_rolls_up_live_campaigns_only(quest, acme_app):
    campaign, _ = quest
    draft = CampaignFactory(app=acme_app, name="Not yet")
    assert campaigns_days_roll_up() == 1
    assert CampaignRollup.objects.filter(pk=campaign.pk).exists()
    assert not CampaignRollup.objects.filter(pk=draft.pk).exists()


def test_concurrent_roll_ups_write_each_day_once(quest, postgres, transactional_db):
    campaign, _ = quest
    barrier = threading.Barrier(4)
    outcomes = []

    def run():
        try:
            barrier.wait()
            outcomes.append(campaign_days_roll_up(campaign=campaign, now=NOW))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [False, False, False, True]
    counted = CampaignDay.objects.filter(campaign=campaign)
    assert sum(r.actions for r in counted) == 6


# --- The range ---------------------------------------------------------------------------------


def test_the_default_range_runs_from_the_start_to_today_or_the_end(quest, acme_app):
    campaign, _ = quest
    assert results_range(campaign, date_from=None, date_to="") == ResultsRange(
        campaign.start_date, TODAY
    )
    ended, _, _ = live_campaign(
        acme_app, name="Ended", start=TODAY - timedelta(days=40), end=TODAY - timedelta(days=10)
    )
    assert results_range(ended, date_from=None, date_to=None).end == TODAY - timedelta(days=10)


def test_a_range_that_starts_after_it_ends_is_refused_with_a_clear_message(quest):
    campaign, _ = quest
    with pytest.raises(ValidationError) as refused:
        results_range(campaign, date_from="2026-03-10", date_to="2026-03-01")
    assert "starts after it ends" in refused.value.messages[0]
    with pytest.raises(ValidationError) as refused:
        results_range(campaign, date_from="10/03/2026", date_to=None)
    assert "use YYYY-MM-DD" in refused.value.messages[0]
    with pytest.raises(ValidationError) as refused:
        results_range(campaign, date_from="0001-01-01", date_to="2026-03-01")
    assert "at most 1096 days" in refused.value.messages[0]


def test_the_page_draws_the_asked_range_and_says_why_a_bad_one_is_refused(alice_client, quest):
    campaign, _ = quest
    url = reverse("campaigns:detail", args=[campaign.campaign_id])
    html = alice_client.get(
        url, {"from": str(TODAY - timedelta(days=1)), "to": str(TODAY)}
    ).content.decode()
    assert 'id="results-data"' in html
    data = (
        alice_client.get(url, {"from": str(TODAY - timedelta(days=1)), "to": str(TODAY)})
        .context["results"]
        .chart_data()
    )
    assert data["labels"] == [str(TODAY - timedelta(days=1)), str(TODAY)]
    assert data["moments"][0] == {"id": "LEVEL_10_COMPLETE", "actions": [0, 1]}
    assert data["cumulative"] == ["7.5000", "12.5000"]
    assert data["budget"] == "500.0000"
    refused = alice_client.get(url, {"from": "2026-03-19", "to": "2026-03-01"})
    html = refused.content.decode()
    assert refused.status_code == 200
    assert "The range starts after it ends" in html
    assert 'value="2026-03-19"' in html  # what was typed stays in the input
    assert refused.context["results"].period == ResultsRange(campaign.start_date, TODAY)


def test_a_campaign_never_live_has_no_charts_but_says_when_they_come(alice_client, acme_app):
    draft = CampaignFactory(app=acme_app, name="Draft")
    html = alice_client.get(reverse("campaigns:detail", args=[draft.campaign_id])).content.decode()
    assert 'id="results-none"' in html
    assert "chart.umd.min.js" not in html


# --- CSV ---------------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_the_csv_rows_equal_the_selectors(alice_client, quest):
    campaign, _ = quest
    campaign_days_roll_up(campaign=campaign)
    url = reverse("campaigns:results_csv", args=[campaign.campaign_id])
    response = alice_client.get(url, {"from": str(campaign.start_date), "to": str(TODAY)})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0] == [
        "date",
        "actions LEVEL_10_COMPLETE",
        "actions FIRST_PURCHASE",
        "actions total",
        "spend",
        "cumulative spend",
        "budget",
        "currency",
        "claimed",
        "expired",
    ]
    results = campaign_results(campaign, period=ResultsRange(campaign.start_date, TODAY))
    expected = [[str(v) for v in row] for row in results_csv_rows(results)]
    assert rows == expected
    assert rows[-1] == [str(TODAY), "1", "1", "2", "5.0000", "12.5000", "500.0000", "USD", "1", "0"]
    assert len(rows) == 1 + (TODAY - campaign.start_date).days + 1


def test_the_csv_honours_the_range_and_refuses_a_bad_one(alice_client, quest):
    campaign, _ = quest
    url = reverse("campaigns:results_csv", args=[campaign.campaign_id])
    rows = read_csv(alice_client.get(url, {"from": str(TODAY), "to": str(TODAY)}))
    assert [r[0] for r in rows[1:]] == [str(TODAY)]
    refused = alice_client.get(url, {"from": "2026-03-19", "to": "2026-03-01"})
    assert refused.status_code == 400
    assert "starts after it ends" in refused.content.decode()


def test_an_outsider_gets_404_for_the_page_and_the_csv(charlie_client, quest):
    campaign, _ = quest
    assert (
        charlie_client.get(reverse("campaigns:detail", args=[campaign.campaign_id])).status_code
        == 404
    )
    assert (
        charlie_client.get(
            reverse("campaigns:results_csv", args=[campaign.campaign_id])
        ).status_code
        == 404
    )


def test_a_teammate_downloads_the_csv(client, bob, quest):
    campaign, _ = quest
    client.force_login(bob)
    response = client.get(reverse("campaigns:results_csv", args=[campaign.campaign_id]))
    assert response.status_code == 200


# --- A fixed number of queries -----------------------------------------------------------------

MANY = 100_000 if connection.vendor == "postgresql" else 2_000


def bulk_charges(campaign, group, moments, *, count: int, days: int):
    """`count` GetRewards (grant and charge) spread over the `days` days up to now."""
    expires = at(campaign.end_date + timedelta(days=31), 0)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO rewards_rewardgrant
                    (campaign_id, reward_group_id, moment_id, token, device_type, created_at,
                     expires_at, blocked)
                SELECT %s, %s, CASE WHEN n %% 2 = 0 THEN %s ELSE %s END, md5(%s || '-' || n),
                       'Android', %s::timestamptz - (n %% %s) * interval '1 day'
                                  - (n %% 3600) * interval '1 second', %s, false
                FROM generate_series(1, %s) AS n
                """,
                [
                    campaign.pk,
                    group.pk,
                    moments[0].pk,
                    moments[1].pk,
                    campaign.pk,
                    NOW,
                    days,
                    expires,
                    count,
                ],
            )
            cursor.execute(
                """
                INSERT INTO billing_ledgerentry
                    (account_id, campaign_id, moment_id, grant_id, kind, amount, month, memo,
                     created_at)
                SELECT %s, campaign_id, moment_id, id, 'charge', 0.0050,
                       date_trunc('month', created_at)::date, '', created_at
                FROM rewards_rewardgrant WHERE campaign_id = %s
                """,
                [campaign.account_id, campaign.pk],
            )
    else:
        grants = RewardGrant.objects.bulk_create(
            [
                RewardGrant(
                    campaign=campaign,
                    reward_group=group,
                    moment=moments[n % 2],
                    token=f"{campaign.pk}-{n}",
                    created_at=NOW - timedelta(days=n % days, seconds=n % 3600),
                    expires_at=expires,
                )
                for n in range(1, count + 1)
            ],
            batch_size=1000,
        )
        LedgerEntry.objects.bulk_create(
            [
                LedgerEntry(
                    account_id=campaign.account_id,
                    campaign=campaign,
                    moment_id=grant.moment_id,
                    grant=grant,
                    amount=Decimal("0.0050"),
                    month=grant.created_at.date().replace(day=1),
                    created_at=grant.created_at,
                )
                for grant in grants
            ],
            batch_size=1000,
        )


def page_queries(client, campaign) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("campaigns:detail", args=[campaign.campaign_id]))
    assert response.status_code == 200
    return len(queries)


def test_the_campaign_page_makes_as_many_queries_with_100000_charges_as_with_10(
    alice_client, acme_app, django_assert_num_queries
):
    start = TODAY - timedelta(days=40)
    few, few_group, few_moments = live_campaign(
        acme_app, name="Few", start=start, end=TODAY + timedelta(days=5), budget="5000"
    )
    many, many_group, many_moments = live_campaign(
        acme_app, name="Many", start=start, end=TODAY + timedelta(days=5), budget="5000"
    )
    bulk_charges(few, few_group, few_moments, count=10, days=30)
    bulk_charges(many, many_group, many_moments, count=MANY, days=30)
    campaigns_days_roll_up()
    expected = page_queries(alice_client, few)
    with django_assert_num_queries(expected):
        response = alice_client.get(reverse("campaigns:detail", args=[many.campaign_id]))
    results = response.context["results"]
    assert results.totals["actions"] == MANY
    assert results.totals["spend"] == Decimal("0.0050") * MANY
    assert sum(results.totals["moment_actions"]) == MANY


# --- Dashboard and list ------------------------------------------------------------------------


def test_the_dashboard_shows_the_months_spend_against_the_cap_and_each_live_budget(
    alice_client, acme, quest, acme_app
):
    campaign, _ = quest
    AccountMonthlySpend.objects.create(
        account=acme, month=TODAY.replace(day=1), spent=Decimal("12000")
    )
    CampaignFactory(app=acme_app, name="Waiting", status="pending_approval")
    html = alice_client.get(reverse("console:dashboard")).content.decode()
    assert 'id="account-spend-bar"' in html
    assert 'aria-valuenow="80"' in html  # $12,000 of the $15,000 cap
    assert "$12,000.00 of $15,000.00" in html
    assert "bg-warning" in html
    assert f'data-campaign-id="{campaign.campaign_id}"' in html
    # The budget bar reads the counter the budget is enforced on (the six charges); the
    # goodwill correction lowers the bill, not the budget used.
    assert "$15.00 of $500.00" in html
    assert "Waiting" not in html.split('id="dashboard-spend"')[1].split("</section>")[0]


def test_the_dashboard_makes_a_fixed_number_of_queries_whatever_the_live_campaigns(
    alice_client, acme_app, django_assert_num_queries
):
    start = TODAY - timedelta(days=3)
    live_campaign(acme_app, name="One", start=start, end=TODAY + timedelta(days=9))
    url = reverse("console:dashboard")
    with CaptureQueriesContext(connection) as one:
        alice_client.get(url)
    for n in range(4):
        live_campaign(acme_app, name=f"More {n}", start=start, end=TODAY + timedelta(days=9))
    with django_assert_num_queries(len(one)):
        html = alice_client.get(url).content.decode()
    assert html.count('class="mb-2 live-campaign-budget"') == 5


def test_the_dashboard_of_an_account_with_nothing_live_says_so(alice_client, acme):
    html = alice_client.get(reverse("console:dashboard")).content.decode()
    assert 'id="no-live-campaigns"' in html
    assert "$0.00 of $15,000.00" in html


def test_the_campaign_list_shows_spend_and_budget(alice_client, quest):
    html = alice_client.get(reverse("campaigns:list")).content.decode()
    assert '<th scope="col" class="text-end">Spend</th>' in html
    assert '<td class="text-end campaign-spend">$15.00</td>' in html
    assert '<td class="text-end campaign-budget">$500.00</td>' in html


def test_the_totals_card_counts_from_the_rollup_and_the_minutes_after_it(quest):
    from campaigns.results.selectors import campaign_stats_data

    campaign, moments = quest
    campaign_days_roll_up(campaign=campaign)
    charge(campaign, campaign.reward_groups.get(), moments[0], NOW - timedelta(minutes=1))
    stats = campaign_stats_data(campaign)
    charges = LedgerEntry.objects.filter(campaign=campaign, kind=LedgerEntry.Kind.CHARGE)
    assert (
        [m.actions for m in stats["moments"]]
        == [charges.filter(moment=m).count() for m in moments]
        == [4, 3]
    )
    assert stats["spent"] == sum(e.amount for e in LedgerEntry.objects.filter(campaign=campaign))
    assert stats["spent"] == Decimal("15.0000")  # seven charges less the goodwill correction


@pytest.mark.parametrize("rolled", [False, True], ids=["live", "rolled-up"])
def test_the_redemption_table_from_the_rollup_equals_the_count_over_every_grant(rolled):
    """The demo account has claims, returns and expired grants: the totals card's table read
    from the rollup says what rewards.redemption.selectors.redemption_counts counts over the
    raw rows."""
    from campaigns.results.selectors import campaign_stats_data
    from console.pages.demo import demo_account_load
    from rewards.redemption.selectors import redemption_counts

    with time_machine.travel(timezone.now(), tick=True):
        demo = demo_account_load()
    campaigns = Campaign.objects.filter(account__memberships__user__email=demo.email)
    if rolled:
        with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
            assert campaigns_days_roll_up() >= 2
    for campaign in campaigns.filter(live_at__isnull=False):
        stats = campaign_stats_data(campaign)
        assert stats["redemptions"] == redemption_counts(campaigns=[campaign])
        assert stats["spent"] == sum(
            e.amount for e in LedgerEntry.objects.filter(campaign=campaign)
        )
    totals = [campaign_stats_data(c)["redemption_totals"] for c in campaigns]
    assert sum(t["returned"] for t in totals) == demo.returned > 0
    assert sum(t["expired"] for t in totals) >= demo.expired > 0
