"""The admin list pages at scale: `make bench-admin` (or `.venv/bin/python bench/admin_lists.py`).

On PostgreSQL, in a database of its own (created fresh; BENCH_KEEP=1 keeps it afterwards):

1. seeds 100 accounts, 500 campaigns, and BENCH_ROWS (default 500,000) rows in each big table
   the admin lists: the ledger, reward grants, claims (one per grant) and the activity log, plus
   BENCH_ROWS / 10 invoices, all with set-based SQL (`generate_series` over a template row made
   through the ORM, as bench/invoices.py does);
2. signs a superuser in with Django's test client and times each list page (unfiltered, a
   filter, a search) a few times, reporting the median in ms and the number of SQL queries.

Aim (issue 20): every list page under 300 ms at 500,000 rows, and a query count that does not
grow with the rows (tests/console/test_admin_lists.py checks the counts with
django_assert_num_queries).

Environment: BENCH_ADMIN_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/moments_bench_admin; dropped and created), BENCH_ROWS,
BENCH_REPEAT (default 5), BENCH_KEEP=1 (keep the database), BENCH_REUSE=1 (measure a kept
database again, after migrating it: no new seed).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE_URL = os.environ.get(
    "BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/moments_bench_admin"
)
ROWS = int(os.environ.get("BENCH_ROWS", "500000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))
ACCOUNTS, CAMPAIGNS = 100, 500
ADMIN_USER = "bench-admin@moments.test"

# (label, URL): each list page unfiltered, with a filter, and with a search.
PAGES = [
    ("ledger", "/admin/billing/ledgerentry/"),
    ("ledger, kind filter", "/admin/billing/ledgerentry/?kind=correction"),
    ("ledger, this month", "/admin/billing/ledgerentry/?created_at__gte=2026-10-01+00:00:00Z"),
    ("ledger search (account)", "/admin/billing/ledgerentry/?q=Bench+7"),
    ("reward grants", "/admin/rewards/rewardgrant/"),
    ("reward grants, redeemed", "/admin/rewards/rewardgrant/?redeemed_at__isnull=False"),
    ("reward grants search (campaign)", "/admin/rewards/rewardgrant/?q=Bench+campaign+42"),
    ("claims", "/admin/rewards/claim/"),
    ("claims, flagged", "/admin/rewards/claim/?status__exact=flagged"),
    ("claims search (device)", "/admin/rewards/claim/?q=device-123"),
    ("activity", "/admin/console/activityentry/"),
    ("activity, one action", "/admin/console/activityentry/?action=invoice.paid"),
    ("activity search (account)", "/admin/console/activityentry/?q=Bench+7"),
    ("invoices", "/admin/billing/invoice/"),
    ("invoices, overdue", "/admin/billing/invoice/?status=overdue"),
    ("invoices search (number)", "/admin/billing/invoice/?q=MC-2026-0000042"),
]


def django_setup(var_dir: str) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "console.settings",
            "DATABASE_URL": DATABASE_URL,
            "REDIS_URL": "",
            "VAR_DIR": var_dir,
            "DEBUG": "0",
            "SECRET_KEY": "bench-only-secret-key-not-for-production-use-0123456789",
            "ALLOWED_HOSTS": "testserver",
            "SECURE_SSL_REDIRECT": "0",
            "LOG_LEVEL": "WARNING",
            "PYTHONWARNINGS": "ignore:No directory at",
        }
    )
    import django

    django.setup()


def _admin_connection(sql: str) -> None:
    import psycopg

    admin_url = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql)


def _name() -> str:
    return DATABASE_URL.rsplit("/", 1)[1]


def seed() -> None:
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, transaction

    from bench.invoices import clone
    from campaigns.models import Campaign, Moment, RewardGroup
    from console.models import Account, ActivityEntry, App
    from rewards.models import Claim, Product, RewardGrant, Shopper

    call_command("migrate", verbosity=0, interactive=False)
    get_user_model().objects.create_superuser(username=ADMIN_USER, email=ADMIN_USER, password=None)
    with transaction.atomic():
        account = Account.objects.create(
            name="Bench 0", country="US", billing_address="1 Loopback Road\nSeattle, WA 98101"
        )
        app = App.objects.create(
            account=account, name="Bench app", platform="android", store_url="https://e.test/"
        )
        campaign = Campaign.objects.create(
            account=account,
            app=app,
            name="Bench campaign 0",
            status=Campaign.Status.LIVE,
            start_date=date(2026, 10, 1),
            end_date=date(2026, 12, 31),
            total_budget=Decimal("1000000"),
            cpa=Decimal("0.1000"),
        )
        group = RewardGroup.objects.create(campaign=campaign, marketplace_id="US")
        moment = Moment.objects.create(campaign=campaign, moment_id="LEVEL_1", action="Level 1")
        product = Product.objects.create(
            marketplace_id="US", asin="B0BENCH001", title="Earbuds", category="Audio", price=20
        )
        shopper = Shopper.objects.create(email="shopper0@bench.test", password="!")
        grant = RewardGrant.objects.create(
            campaign=campaign,
            reward_group=group,
            moment=moment,
            token="bench-template",
            device_type="Android",
            expires_at=datetime(2027, 1, 31, tzinfo=UTC),
        )
        claim = Claim.objects.create(
            grant=grant,
            shopper=shopper,
            kind=Claim.Kind.PRODUCT,
            product=product,
            value=Decimal("20.00"),
            currency="USD",
            device_id="device-0",
            status=Claim.Status.FLAGGED,
        )
        activity = ActivityEntry.objects.create(
            account=account, actor_label="bench", action="campaign.updated", object_repr="x"
        )
    ts = "TIMESTAMPTZ '2026-09-01 00:00:00+00' + mod(g.n, 5270400) * INTERVAL '1 second'"
    with connection.cursor() as cursor:
        clone(
            cursor,
            "console_account",
            account.pk,
            f"generate_series(1, {ACCOUNTS - 1}) g",
            {"name": "'Bench ' || g"},
        )
        cursor.execute(
            "CREATE TEMP TABLE bench_accounts AS SELECT id, row_number() OVER (ORDER BY id) rn "
            "FROM console_account"
        )
        clone(
            cursor,
            "console_app",
            app.pk,
            f"(SELECT id FROM bench_accounts WHERE id <> {account.pk}) g",
            {"account_id": "g.id", "app_id": "gen_random_uuid()"},
        )
        cursor.execute(
            "CREATE TEMP TABLE bench_apps AS SELECT id, account_id, "
            "row_number() OVER (ORDER BY id) AS rn FROM console_app"
        )
        clone(
            cursor,
            "campaigns_campaign",
            campaign.pk,
            f"(SELECT n, a.id AS app_id, a.account_id FROM generate_series(1, {CAMPAIGNS}) n "
            f"JOIN bench_apps a ON a.rn = mod(n - 1, {ACCOUNTS}) + 1) g",
            {
                "account_id": "g.account_id",
                "app_id": "g.app_id",
                "campaign_id": "gen_random_uuid()",
                "name": "'Bench campaign ' || g.n",
            },
        )
        cursor.execute(
            "CREATE TEMP TABLE bench_campaigns AS SELECT id, account_id, "
            "row_number() OVER (ORDER BY id) AS rn FROM campaigns_campaign"
        )
        rows = f"(SELECT n, c.id AS campaign_id, c.account_id FROM generate_series(1, {ROWS}) n "
        rows += f"JOIN bench_campaigns c ON c.rn = mod(n, {CAMPAIGNS}) + 1) g"
        cursor.execute(
            "INSERT INTO billing_ledgerentry "
            "(account_id, campaign_id, moment_id, grant_id, kind, amount, month, memo, created_at) "
            "SELECT g.account_id, g.campaign_id, NULL, NULL, "
            "CASE WHEN mod(g.n, 1000) = 0 THEN 'correction' ELSE 'charge' END, 0.1, "
            f"date_trunc('month', {ts})::date, '', {ts} FROM {rows}"
        )
        clone(
            cursor,
            "rewards_rewardgrant",
            grant.pk,
            rows,
            {
                "campaign_id": "g.campaign_id",
                "token": "'t' || g.n",
                "created_at": ts,
                "redeemed_at": f"CASE WHEN mod(g.n, 3) = 0 THEN {ts} END",
                "device_type": "CASE WHEN mod(g.n, 2) = 0 THEN 'Android' ELSE 'iOS' END",
            },
        )
        clone(
            cursor,
            "rewards_shopper",
            shopper.pk,
            "generate_series(1, 10000) g",
            {"email": "'shopper' || g || '@bench.test'"},
        )
        cursor.execute(
            "CREATE TEMP TABLE bench_shoppers AS SELECT id, row_number() OVER (ORDER BY id) rn "
            "FROM rewards_shopper"
        )
        clone(
            cursor,
            "rewards_claim",
            claim.pk,
            "(SELECT gr.id AS grant_id, gr.created_at, s.id AS shopper_id, "
            "row_number() OVER (ORDER BY gr.id) AS n FROM rewards_rewardgrant gr "
            "JOIN bench_shoppers s ON s.rn = mod(gr.id, 10000) + 1 "
            f"WHERE gr.id <> {grant.pk}) g",
            {
                "grant_id": "g.grant_id",
                "shopper_id": "g.shopper_id",
                "created_at": "g.created_at",
                "device_id": "'device-' || g.n",
                "status": "CASE WHEN mod(g.n, 500) = 0 THEN 'flagged' ELSE 'claimed' END",
            },
        )
        clone(
            cursor,
            "console_activityentry",
            activity.pk,
            f"(SELECT n, a.id AS account_id FROM generate_series(1, {ROWS}) n "
            f"JOIN bench_accounts a ON a.rn = mod(n, {ACCOUNTS}) + 1) g",
            {
                "account_id": "g.account_id",
                "created_at": ts,
                "action": "(ARRAY['campaign.updated', 'invoice.paid', 'app.updated', "
                "'api_key.rotated'])[mod(g.n, 4) + 1]",
                "object_repr": "'Object ' || g.n",
            },
        )
        invoices = ROWS // 10
        cursor.execute(
            "INSERT INTO billing_invoice (number, kind, account_id, period, issued_at, "
            "issue_date, due_date, status, payment_terms, paid_by, buyer_company, buyer_address, "
            "buyer_country, buyer_tax_id, currency, subtotal, total, paid_on, paid_reference, "
            "corrects_id, reason, amount_paid) "
            "SELECT 'MC-2026-' || lpad(g.n::text, 7, '0'), 'invoice', a.id, "
            "DATE '2020-01-01' + (g.n / 100) * INTERVAL '1 month', now(), DATE '2026-11-01', "
            "DATE '2026-12-01', CASE WHEN mod(g.n, 2) = 0 THEN 'paid' ELSE 'open' END, 'invoice', "
            "'', 'Bench ' || a.rn, 'Loopback', 'US', '', 'USD', 10, 10, "
            "CASE WHEN mod(g.n, 2) = 0 THEN DATE '2026-11-20' END, '', NULL, '', 0 "
            f"FROM generate_series(1, {invoices}) AS g(n) "
            f"JOIN bench_accounts a ON a.rn = mod(g.n, {ACCOUNTS}) + 1"
        )
        cursor.execute("ANALYZE")


def measure() -> list[tuple[str, float, int]]:
    from django.conf import settings
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    # Static files unbuilt (no collectstatic manifest): their plain URLs are enough here.
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        return _measure(Client, CaptureQueriesContext, connection, reset_queries)


def _measure(Client, CaptureQueriesContext, connection, reset_queries):  # noqa: N803

    client = Client()
    client.force_login(
        __import__("django.contrib.auth", fromlist=["get_user_model"])
        .get_user_model()
        .objects.get(username=ADMIN_USER)
    )
    results = []
    for label, url in PAGES:
        client.get(url)  # warm: templates, the planner's statistics
        times = []
        for _ in range(REPEAT):
            reset_queries()
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - started)
            assert response.status_code == 200, (url, response.status_code)
        results.append((label, statistics.median(times) * 1000, len(queries.captured_queries)))
        print(f"{label:36} {results[-1][1]:8.0f} ms {results[-1][2]:4d} queries", flush=True)
    return results


def main() -> int:
    reuse = os.environ.get("BENCH_REUSE") == "1"
    if not reuse:
        _admin_connection(f'DROP DATABASE IF EXISTS "{_name()}" WITH (FORCE)')
        _admin_connection(f'CREATE DATABASE "{_name()}"')
    with tempfile.TemporaryDirectory() as var_dir:
        django_setup(var_dir)
        if reuse:
            # A database kept by BENCH_KEEP=1: only the new migrations (indexes), then measure.
            from django.core.management import call_command

            call_command("migrate", verbosity=0, interactive=False)
        else:
            started = time.perf_counter()
            seed()
            print(f"seeded {ROWS:,} rows per big table in {time.perf_counter() - started:.0f} s")
        results = measure()
        from django.db import connections

        connections.close_all()
    if os.environ.get("BENCH_KEEP") != "1":
        _admin_connection(f'DROP DATABASE IF EXISTS "{_name()}" WITH (FORCE)')
    slow = [label for label, ms, _ in results if ms >= 300]
    print("all under 300 ms" if not slow else f"over 300 ms: {', '.join(slow)}")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
