"""The results benchmark: `.venv/bin/python bench/results.py`.

SPEC §11: "reports over a campaign with a million charges answer as fast as over one with ten".
On PostgreSQL, in a database of its own (created fresh, dropped at the end):

1. seeds one account and two live campaigns of 100 days (two moments each): "ten" with 10
   charges, "million" with 1,000,000 charges spread evenly over its 100 days up to now (so
   about 10,000 of them today), each charge with its grant (half of them claimed the next
   day), all with set-based SQL (`generate_series`);
2. times the first roll-up (`campaigns_days_roll_up`, the beat sweep: every closed day of both
   campaigns into CampaignDay; a one-time cost, later runs roll one day) and a second run
   (nothing to do);
3. times, for each campaign (median of several runs, after a warm-up): the results selector
   (`campaign_results` over the whole period), the CSV download, the whole campaign page as a
   developer gets it, and, for comparison, the same numbers by a GROUP BY over the raw rows
   (what the rollup avoids), with the query count of each.

Environment: BENCH_RESULTS_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/moments_bench_results; dropped and created), BENCH_KEEP=1
keeps the database, BENCH_CHARGES (default 1,000,000), BENCH_RUNS (default 7).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "BENCH_RESULTS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/moments_bench_results"
)
CHARGES = int(os.environ.get("BENCH_CHARGES", "1000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "7"))
DAYS = 100
USER = "bench-results@moments.test"


def bench_env(var_dir: str) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "console.settings",
        "DATABASE_URL": DATABASE_URL,
        # No REDIS_URL: the file cache and embedded broker in a throwaway VAR_DIR.
        "REDIS_URL": "",
        "VAR_DIR": var_dir,
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-not-for-production-use-0123456789",
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONWARNINGS": "ignore:No directory at",
    }


def admin_execute(sql: str) -> None:
    import psycopg

    admin_url = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql)


def database_name() -> str:
    return DATABASE_URL.rsplit("/", 1)[1]


def seed() -> dict:
    """The account, its user, app and two live campaigns; the charges and grants in SQL."""
    from datetime import timedelta
    from decimal import Decimal

    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from campaigns.models import Campaign, Moment, RewardGroup
    from console.models import Account, App, Membership
    from rewards.models import Marketplace

    call_command("migrate", verbosity=0, interactive=False)
    from django.contrib.auth import get_user_model

    now = timezone.now()
    today = timezone.localdate(now)
    with transaction.atomic():
        user = get_user_model().objects.create_user(username=USER, email=USER, password=None)
        account = Account.objects.create(
            name="Bench results",
            country="US",
            billing_address="1 Loopback Road\nSeattle, WA 98101",
            monthly_spend_limit=Decimal("10000000"),
        )
        Membership.objects.create(user=user, account=account, role="admin")
        app = App.objects.create(
            account=account, name="Bench app", platform="android", store_url="https://e.test/"
        )
        Marketplace.objects.get_or_create(
            code="US", defaults={"name": "United States", "currency": "USD", "position": 1}
        )
        campaigns = {}
        for name, count in (("ten", 10), ("million", CHARGES)):
            campaign = Campaign.objects.create(
                account=account,
                app=app,
                name=f"Bench {name}",
                status=Campaign.Status.LIVE,
                # One day more than the charges span: the earliest, up to an hour before
                # "100 days ago", must not fall before the start when run just after midnight.
                start_date=today - timedelta(days=DAYS),
                end_date=today + timedelta(days=30),
                total_budget=Decimal("10000000"),
                cpa=Decimal("0.0100"),
                spent=Decimal("0.0100") * count,
                live_at=now - timedelta(days=DAYS),
            )
            group = RewardGroup.objects.create(campaign=campaign, marketplace_id="US")
            moments = [
                Moment.objects.create(campaign=campaign, moment_id=m, action=m.title())
                for m in ("LEVEL_10_COMPLETE", "FIRST_PURCHASE")
            ]
            campaigns[name] = (campaign, group, moments, count)
    expires = now + timedelta(days=61)
    with connection.cursor() as cursor:
        for campaign, group, moments, count in campaigns.values():
            # Charge n lands (n mod 100) days before now, minus up to an hour: ~1 % today.
            cursor.execute(
                """
                INSERT INTO rewards_rewardgrant
                    (campaign_id, reward_group_id, moment_id, token, customer_ref_hash,
                     device_type, created_at, expires_at, redeemed_at, expired_at, blocked)
                SELECT %(c)s, %(g)s, CASE WHEN n %% 3 = 0 THEN %(m2)s ELSE %(m1)s END,
                       md5(%(c)s || '-' || n), NULL, 'Android', t, %(exp)s,
                       CASE WHEN n %% 2 = 0 AND t + interval '1 day' < %(now)s
                            THEN t + interval '1 day' END,
                       NULL, false
                FROM (SELECT n, %(now)s::timestamptz - (n %% %(days)s) * interval '1 day'
                                - (n %% 3600) * interval '1 second' AS t
                      FROM generate_series(1, %(count)s) AS n) AS s
                """,
                {
                    "c": campaign.pk,
                    "g": group.pk,
                    "m1": moments[0].pk,
                    "m2": moments[1].pk,
                    "exp": expires,
                    "now": now,
                    "days": DAYS,
                    "count": count,
                },
            )
            cursor.execute(
                """
                INSERT INTO billing_ledgerentry
                    (account_id, campaign_id, moment_id, grant_id, kind, amount, month, memo,
                     created_at)
                SELECT %s, campaign_id, moment_id, id, 'charge', 0.0100,
                       date_trunc('month', created_at)::date, '', created_at
                FROM rewards_rewardgrant WHERE campaign_id = %s
                """,
                [campaign.account_id, campaign.pk],
            )
        cursor.execute("ANALYZE")
    return {name: c[0] for name, c in campaigns.items()}


def median_ms(fn, runs: int = RUNS) -> tuple[float, int]:
    """Median wall time of `fn` in ms over `runs` runs after one warm-up, and its queries."""
    from django.db import connection

    # Counted by a wrapper, not CaptureQueriesContext: a test client request resets the
    # connection's query log when it starts.
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    fn()
    with connection.execute_wrapper(count):
        fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), len(queries)


def main() -> None:
    var_dir = tempfile.mkdtemp(prefix="bench-results-")
    print(f"Database: {DATABASE_URL} (created fresh)", flush=True)
    admin_execute(f'DROP DATABASE IF EXISTS "{database_name()}" WITH (FORCE)')
    admin_execute(f'CREATE DATABASE "{database_name()}"')
    try:
        os.environ.update(bench_env(var_dir))
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.conf import settings

        # Production's manifest storage needs collectstatic; the page's static URLs do not
        # matter here (the storage is lazy: nothing has used it yet).
        settings.STORAGES = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
        from django.test import Client
        from django.urls import reverse
        from django.utils import timezone

        from campaigns.models import CampaignDay
        from campaigns.results.rollup import campaigns_days_roll_up, day_aggregates
        from campaigns.results.selectors import (
            campaign_results,
            campaign_stats_data,
            results_csv_rows,
            results_default_range,
        )

        started = time.perf_counter()
        campaigns = seed()
        print(
            f"Seeded 2 live campaigns of {DAYS + 1} days: 10 and {CHARGES:,} charges (each with its "
            f"grant) in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        started = time.perf_counter()
        rolled = campaigns_days_roll_up()
        first_roll = time.perf_counter() - started
        started = time.perf_counter()
        campaigns_days_roll_up()
        second_roll = time.perf_counter() - started
        print(
            f"Roll-up sweep, first run (every closed day of {rolled} campaigns): "
            f"{first_roll:.2f} s; second run (nothing to do): {second_roll * 1000:.1f} ms; "
            f"{CampaignDay.objects.count():,} CampaignDay rows",
            flush=True,
        )

        from django.contrib.auth import get_user_model

        client = Client()
        client.force_login(get_user_model().objects.get(username=USER))
        rows = []
        for name in ("ten", "million"):
            campaign = campaigns[name]
            period = results_default_range(campaign)

            def selector(campaign=campaign, period=period):
                return campaign_results(campaign, period=period)

            def csv_rows(campaign=campaign, period=period):
                return list(results_csv_rows(campaign_results(campaign, period=period)))

            def page(campaign=campaign):
                response = client.get(reverse("campaigns:detail", args=[campaign.campaign_id]))
                assert response.status_code == 200, response.status_code
                return response

            def csv_view(campaign=campaign):
                response = client.get(reverse("campaigns:results_csv", args=[campaign.campaign_id]))
                return b"".join(response.streaming_content)

            def raw_group_by(campaign=campaign):
                return day_aggregates(
                    campaign_id=campaign.pk, since=None, until=timezone.now(), now=timezone.now()
                )

            def stats_fragment(campaign=campaign):
                return campaign_stats_data(campaign)

            results = selector()
            rows.append(
                (
                    name,
                    results.totals["actions"],
                    median_ms(selector),
                    median_ms(csv_rows),
                    median_ms(csv_view),
                    median_ms(page),
                    median_ms(stats_fragment),
                    median_ms(raw_group_by, runs=3),
                )
            )
        print(f"\nMedian of {RUNS} runs (ms) [queries], whole period ({DAYS + 1} days):")
        header = (
            f"{'campaign':<9} {'charges':>9} {'selector':>14} {'CSV rows':>14} "
            f"{'CSV view':>14} {'page':>14} {'stats card*':>14} {'raw GROUP BY':>15}"
        )
        print(header)
        for name, actions, *timings in rows:
            cells = " ".join(f"{ms:9.1f} [{q:>2}]" for ms, q in timings)
            print(f"{name:<9} {actions:>9,} {cells}")
        ten, million = rows[0][2][0], rows[1][2][0]
        print(
            f"\nSelector million/ten: {million / ten:.2f}x; page million/ten: "
            f"{rows[1][5][0] / rows[0][5][0]:.2f}x. Raw GROUP BY (no rollup) over the million "
            f"campaign: {rows[1][7][0]:.0f} ms.\n"
            "* stats card: the page's 'Results' totals card and redemption table "
            "(rewards/templatetags/campaign_stats.py, now read from the rollup), included in "
            "'page'.\n"
            "The machine is shared: run it alone for figures to compare; they vary with load.",
            flush=True,
        )
    finally:
        if os.environ.get("BENCH_KEEP") != "1":
            from django.db import connections

            connections.close_all()
            admin_execute(f'DROP DATABASE IF EXISTS "{database_name()}" WITH (FORCE)')
        subprocess.run(["rm", "-rf", var_dir], check=False)


if __name__ == "__main__":
    main()
