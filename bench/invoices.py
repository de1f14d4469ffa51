"""The invoice benchmark: `make bench-invoices` (or `.venv/bin/python bench/invoices.py`).

On PostgreSQL, in a database of its own (created fresh, dropped at the end):

1. seeds 1,000 accounts, 1,000 apps, 5,000 live campaigns and 1,000,000 ledger charges in
   October 2026, all with set-based SQL (`generate_series`; the account, app and campaign rows
   are copies of one template row made through the ORM, so every column the models require is
   filled as the product fills it);
2. times the monthly run, `invoices_issue_month(month=2026-10)` (SPEC §9: aggregated in SQL),
   and checks its books: one invoice per account, every ledger entry covered once, each invoice
   total within half a cent per line of its ledger sum;
3. adds 10,000 invoices (set-based again), streams `GET /finance/invoices.csv` to the end, then
   adds 90,000 more and streams it again; each stream runs in a fresh process that reports its
   peak traced Python memory (tracemalloc) and its peak RSS growth while streaming (Linux's
   clear_refs / VmHWM). Constant memory means the two peaks are within 10 % of each other.

Aims (SPEC §11): the run under 30 s; the two CSV peaks within 10 %.

Environment: BENCH_INVOICES_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/moments_bench_invoices; dropped and created), BENCH_KEEP=1
keeps the database afterwards. Celery messages (the invoice emails) go to an embedded broker in
a temporary folder, never to a shared Redis; no email is sent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "BENCH_INVOICES_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/moments_bench_invoices"
)
ACCOUNTS = 1_000
CAMPAIGNS = 5_000
LEDGER_ROWS = 1_000_000
CSV_SMALL, CSV_LARGE = 10_000, 100_000
FINANCE_USER = "bench-finance@moments.test"


def bench_env(var_dir: str) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "console.settings",
        "DATABASE_URL": DATABASE_URL,
        # No REDIS_URL: the embedded broker and file cache in a throwaway VAR_DIR, so the run's
        # email tasks never reach a shared Redis (and no worker sends them).
        "REDIS_URL": "",
        "VAR_DIR": var_dir,
        "DEBUG": "0",  # DEBUG would keep every query in memory: not what production does
        "SECRET_KEY": "bench-only-secret-key-not-for-production-use-0123456789",
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONWARNINGS": "ignore:No directory at",
    }


def django_setup(var_dir: str) -> None:
    os.environ.update(bench_env(var_dir))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def recreate_database() -> None:
    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    admin_url = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database() -> None:
    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    admin_url = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _columns(cursor, table: str) -> list[str]:
    cursor.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = %s AND column_name <> 'id' ORDER BY ordinal_position",
        [table],
    )
    return [row[0] for row in cursor.fetchall()]


def clone(cursor, table: str, template_pk: int, source: str, overrides: dict[str, str]) -> int:
    """INSERT ... SELECT copies of row `template_pk` of `table`, one per row of `source` (a SQL
    FROM item aliased g), with `overrides` (column -> SQL expression) replacing columns."""
    columns = _columns(cursor, table)
    select = ", ".join(overrides.get(c, f't."{c}"') for c in columns)
    names = ", ".join(f'"{c}"' for c in columns)
    # Table and column names come from information_schema and this file, never from input.
    cursor.execute(
        f"INSERT INTO {table} ({names}) SELECT {select} FROM {table} t, {source} "  # noqa: S608
        "WHERE t.id = %s",
        [template_pk],
    )
    return cursor.rowcount


def seed() -> None:
    """1,000 accounts (one app each), 5,000 live campaigns, 1,000,000 October charges."""
    from datetime import date
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, transaction

    from billing.models import PaymentMethod
    from campaigns.models import Campaign
    from console.models import Account, App

    call_command("migrate", verbosity=0, interactive=False)
    get_user_model().objects.create_superuser(
        username=FINANCE_USER, email=FINANCE_USER, password=None
    )
    with transaction.atomic():
        account = Account.objects.create(
            name="Bench 0",
            country="US",
            billing_address="1 Loopback Road\nSeattle, WA 98101",
            tax_id="EIN 00-0000000",
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
        card = PaymentMethod.objects.create(
            account=account,
            brand="Visa",
            last4="4242",
            exp_month=12,
            exp_year=2035,
            billing_address=account.billing_address,
        )
    with connection.cursor() as cursor:
        # Every account but the template: half pay by card, half on invoice terms.
        clone(
            cursor,
            "console_account",
            account.pk,
            f"generate_series(1, {ACCOUNTS - 1}) g",
            {
                "name": "'Bench ' || g",
                "payment_terms": "CASE WHEN mod(g, 2) = 0 THEN 'card' ELSE 'invoice' END",
            },
        )
        cursor.execute(
            "CREATE TEMP TABLE bench_accounts AS SELECT id, row_number() OVER (ORDER BY id) AS rn "
            "FROM console_account"
        )
        clone(
            cursor,
            "console_app",
            app.pk,
            f"(SELECT id FROM bench_accounts WHERE id <> {account.pk}) g",
            {"account_id": "g.id", "app_id": "gen_random_uuid()"},
        )
        clone(
            cursor,
            "billing_paymentmethod",
            card.pk,
            f"(SELECT id FROM console_account WHERE payment_terms = 'card' AND id <> {account.pk}) g",
            {"account_id": "g.id"},
        )
        cursor.execute(
            "CREATE TEMP TABLE bench_apps AS SELECT id, account_id, "
            "row_number() OVER (ORDER BY id) AS rn FROM console_app"
        )
        # Five campaigns per account, CPAs from $0.05 to $0.2875 in steps of $0.0125.
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
                "cpa": "0.05 + mod(g.n, 20) * 0.0125",
            },
        )
        cursor.execute("DELETE FROM campaigns_campaign WHERE id = %s", [campaign.pk])
        cursor.execute(
            "CREATE TEMP TABLE bench_campaigns AS SELECT id, account_id, cpa, "
            "row_number() OVER (ORDER BY id) AS rn FROM campaigns_campaign"
        )
        cursor.execute(
            "INSERT INTO billing_ledgerentry "
            "(account_id, campaign_id, moment_id, grant_id, kind, amount, month, memo, created_at) "
            "SELECT c.account_id, c.id, NULL, NULL, 'charge', c.cpa, DATE '2026-10-01', '', "
            "TIMESTAMPTZ '2026-10-01 00:00:00+00' + mod(g, 2678400) * INTERVAL '1 second' "
            f"FROM generate_series(1, {LEDGER_ROWS}) g "
            f"JOIN bench_campaigns c ON c.rn = mod(g, {CAMPAIGNS}) + 1"
        )
        cursor.execute("ANALYZE")


def monthly_run() -> dict:
    from datetime import UTC, date, datetime

    from django.db import connection

    from billing.services.invoices import invoices_issue_month

    started = time.perf_counter()
    issued = invoices_issue_month(
        month=date(2026, 10, 1), now=datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    )
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT account_id), coalesce(sum(total), 0) "
            "FROM billing_invoice WHERE period = '2026-10-01'"
        )
        invoices, accounts, total = cursor.fetchone()
        cursor.execute(
            "SELECT count(*), count(DISTINCT ledger_entry_id) FROM billing_invoicedentry"
        )
        covered, distinct = cursor.fetchone()
        cursor.execute("SELECT count(*), sum(amount) FROM billing_ledgerentry")
        entries, ledger_sum = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM billing_invoiceline")
        (lines,) = cursor.fetchone()
        # Each line is rounded once: a total may differ from its ledger sum by at most half a
        # cent per line.
        cursor.execute(
            "WITH billed AS (SELECT d.invoice_id, sum(e.amount) AS s FROM billing_invoicedentry d"
            "  JOIN billing_ledgerentry e ON e.id = d.ledger_entry_id GROUP BY d.invoice_id),"
            " lines AS (SELECT invoice_id, count(*) AS n FROM billing_invoiceline"
            "  GROUP BY invoice_id) "
            "SELECT count(*) FROM billing_invoice i JOIN billed b ON b.invoice_id = i.id"
            " JOIN lines n ON n.invoice_id = i.id WHERE abs(i.total - b.s) > 0.005 * n.n"
        )
        (off,) = cursor.fetchone()
    return {
        "seconds": seconds,
        "issued": len(issued),
        "invoices": invoices,
        "accounts": accounts,
        "lines": lines,
        "total": total,
        "ledger_sum": ledger_sum,
        "entries": entries,
        "covered": covered,
        "covered_once": covered == distinct == entries,
        "totals_off": off,
    }


def add_invoices(first: int, last: int) -> None:
    """Invoices `first`..`last` (numbered MC-2016-…), 1,000 accounts × one per month from
    January 2016, copied set-based from an issued invoice."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id) FROM billing_invoice")
        (template,) = cursor.fetchone()
        clone(
            cursor,
            "billing_invoice",
            template,
            f"(SELECT n, a.id AS account_id, "
            f"(DATE '2016-01-01' + ((n - 1) / {ACCOUNTS}) * INTERVAL '1 month')::date AS period "
            f"FROM generate_series({first}, {last}) n "
            f"JOIN bench_accounts_all a ON a.rn = mod(n - 1, {ACCOUNTS}) + 1) g",
            {
                "number": "'MC-2016-' || lpad(g.n::text, 6, '0')",
                "account_id": "g.account_id",
                "period": "g.period",
                "issue_date": "(g.period + INTERVAL '1 month')::date",
                "issued_at": "(g.period + INTERVAL '1 month')::timestamptz",
                "buyer_company": "'Bench ' || g.account_id",
            },
        )
        cursor.execute("ANALYZE billing_invoice")


def stream_csv_child() -> None:
    """In a fresh process: stream the whole invoices CSV once as finance, and print JSON with
    rows, bytes, time, the tracemalloc peak and the peak RSS growth while streaming."""
    import tracemalloc

    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=FINANCE_USER))
    # Warm up (imports, the session, the first query) on a month with nothing in it.
    warm = client.get("/finance/invoices.csv", {"month": "1999-01"})
    if warm.status_code != 200:
        print(json.dumps({"error": f"/finance/invoices.csv answered {warm.status_code}"}))
        return
    b"".join(warm.streaming_content)

    def rss_kib(field: str) -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        return 0

    trace = os.environ.get("BENCH_TRACE") == "1"
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        hwm_reset = True
    except OSError:
        hwm_reset = False
    before = rss_kib("VmRSS")
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    response = client.get("/finance/invoices.csv")
    rows = size = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        rows += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    result = {"rows": rows - 1, "bytes": size, "seconds": seconds}
    if trace:
        result["traced_peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    else:
        result["rss_growth_kib"] = rss_kib("VmHWM") - before if hwm_reset else None
    print(json.dumps(result))


def measure_csv(var_dir: str) -> dict:
    """Two fresh processes: one traced (tracemalloc), one not (RSS is not inflated by it)."""
    out = {}
    for trace in ("1", "0"):
        env = {**os.environ, **bench_env(var_dir), "BENCH_TRACE": trace}
        done = subprocess.run(
            [sys.executable, __file__, "--stream-csv"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode != 0 or not lines:
            raise SystemExit(f"CSV stream failed:\n{done.stdout}\n{done.stderr}")
        out.update(json.loads(lines[-1]))
    return out


def _mib(n: float) -> str:
    return f"{n / 1024 / 1024:.2f} MiB"


def main() -> None:
    if "--stream-csv" in sys.argv:
        django_setup(os.environ["VAR_DIR"])
        stream_csv_child()
        return
    var_dir = tempfile.mkdtemp(prefix="bench-invoices-")
    print(f"Database: {DATABASE_URL} (created fresh)", flush=True)
    recreate_database()
    try:
        django_setup(var_dir)
        started = time.perf_counter()
        seed()
        print(
            f"Seeded {ACCOUNTS:,} accounts, {CAMPAIGNS:,} campaigns, {LEDGER_ROWS:,} ledger rows "
            f"(October 2026) in {time.perf_counter() - started:.1f} s (set-based SQL)",
            flush=True,
        )
        run = monthly_run()
        verdict = "OK" if run["seconds"] < 30 else "OVER the 30 s aim"
        print(
            f"Monthly run (invoices_issue_month 2026-10): {run['seconds']:.2f} s — {verdict}\n"
            f"  {run['issued']:,} invoices issued ({run['accounts']:,} accounts), "
            f"{run['lines']:,} lines, total ${run['total']:,.2f} "
            f"(ledger ${run['ledger_sum']:,.4f})\n"
            f"  ledger entries covered exactly once: {run['covered_once']} "
            f"({run['covered']:,} of {run['entries']:,}); "
            f"invoices off their ledger sum by more than rounding: {run['totals_off']}",
            flush=True,
        )
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE bench_accounts_all AS SELECT id, "
                "row_number() OVER (ORDER BY id) AS rn FROM console_account"
            )
        add_invoices(1, CSV_SMALL)
        connection.close()
        small = measure_csv(var_dir)
        add_invoices(CSV_SMALL + 1, CSV_LARGE)
        connection.close()
        large = measure_csv(var_dir)
        print("CSV export GET /finance/invoices.csv, streamed to the end in a fresh process:")
        for label, m in (("small", small), ("large", large)):
            growth = m.get("rss_growth_kib")
            rss = f"{growth / 1024:.2f} MiB" if growth is not None else "n/a"
            print(
                f"  {m['rows']:>7,} invoices ({label}): {m['bytes'] / 1e6:6.1f} MB of CSV in "
                f"{m['seconds']:.1f} s; peak traced Python memory {_mib(m['traced_peak'])}; "
                f"peak RSS growth {rss}"
            )
        ratio = large["traced_peak"] / small["traced_peak"]
        verdict = "OK" if abs(ratio - 1) <= 0.10 else "NOT within 10 %"
        print(f"  traced peaks large/small = {ratio:.3f} — {verdict}")
        if small.get("rss_growth_kib") and large.get("rss_growth_kib") is not None:
            print(
                f"  RSS growth large/small = "
                f"{large['rss_growth_kib'] / max(small['rss_growth_kib'], 1):.3f}"
            )
        print(
            "The machine is shared: run it alone for figures to compare; they vary with load.",
            flush=True,
        )
    finally:
        if os.environ.get("BENCH_KEEP") != "1":
            from django.db import connections

            connections.close_all()
            drop_database()
        subprocess.run(["rm", "-rf", var_dir], check=False)


if __name__ == "__main__":
    main()
