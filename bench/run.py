"""The Rewards API benchmark: `make bench` (or `.venv/bin/python bench/run.py`).

Starts the server (granian by default, gunicorn to compare) on PostgreSQL and Redis with a
database of its own, seeds a live campaign with a large budget, and measures with wrk, at 32
concurrent connections, in one run:

  (a) a Django view returning a small JSON, no middleware (the floor for GetRewardInfo)
  (r) the same view plus one Redis round trip (PING)       (the floor for any throttled call)
  (b) a raw-SQL transaction, no middleware: decrement one row, insert one
                                                           (the floor for GetReward)
  (c) POST /prod/GetRewardInfo                              (served from cache)
  (d) POST /prod/GetReward                                  (the full charging transaction)

The floors are served by a Django handler with no middleware at all (bench/wsgi.py), in the
same server workers as the product: the true floors. It prints throughput and p50/p99
latency with the ratios c/a, d/b and c/r (aim: c/a and d/b ≥ 0.8).
Loopback only, every scenario bounded in time, and the server is stopped at the end.

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/mc_bench, created
if missing), BENCH_REDIS_URL (default redis://127.0.0.1:6379/15), BENCH_SECONDS (4 per round),
BENCH_ROUNDS (3, interleaved), BENCH_CONNECTIONS (32), BENCH_SERVER (granian, the default, or
gunicorn), BENCH_WORKERS (server processes: granian one per core, gunicorn 2 × cores),
BENCH_THREADS (granian: blocking threads per worker, 8; gunicorn: 4 gthread threads, 1 for sync
workers).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SECONDS = int(os.environ.get("BENCH_SECONDS", "4"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
WARMUP = 2
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
# granian (README's production server: a Rust HTTP server running the same WSGI application,
# one worker per core x 8 blocking threads) or gunicorn, to compare (2 x cores workers x 4
# threads by default; BENCH_THREADS=1 runs sync workers).
SERVER = os.environ.get("BENCH_SERVER", "granian")
_CORES = os.cpu_count() or 1
WORKERS = int(os.environ.get("BENCH_WORKERS", str(_CORES if SERVER == "granian" else 2 * _CORES)))
# granian: blocking threads per worker; gunicorn: > 1 runs gthread workers, 1 sync workers.
THREADS = int(os.environ.get("BENCH_THREADS", "8" if SERVER == "granian" else "4"))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mc_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")


def ensure_wrk() -> str:
    """wrk is the load generator (C, one thread is enough for 32 connections); Debian has it."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("Installing wrk (apt-get)...", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
        found = shutil.which("wrk")
    if not found:
        sys.exit("wrk is missing and cannot be installed here (needs root and apt-get).")
    return found


def server_env() -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": "mcbench",
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-not-for-production-use-0123456789",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SITE_URL": "http://127.0.0.1",
        "CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
        "PYTHONWARNINGS": "ignore:No directory at",  # no collectstatic here: no static files served
    }


def ensure_database() -> None:
    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    admin_url = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def seed() -> dict:
    """Migrate, then create a fresh account, app (raw key), live campaign and the raw-SQL
    tables. Returns what the scenarios need."""
    os.environ.update(server_env())
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from datetime import timedelta

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0, interactive=False)

    from campaigns.models import Campaign, Moment, RewardGroup
    from campaigns.services.lifecycle import campaign_schedule
    from console.models import Account
    from console.services import app_register

    stamp = time.strftime("%Y%m%d%H%M%S")
    account = Account.objects.create(
        name=f"Bench {stamp}",
        country="US",
        billing_address="1 Loopback Road",
        monthly_spend_limit=Decimal("9999999999.99"),
    )
    from django.contrib.auth import get_user_model

    owner = get_user_model().objects.create_user(
        username=f"bench-{stamp}@example.test", email=f"bench-{stamp}@example.test"
    )
    issued = app_register(
        account=account,
        actor=owner,
        name="Bench app",
        platform="android",
        store_url="https://example.test/bench",
    )
    app = issued.api_key.app
    app.rate_limit_per_second = 1_000_000  # counted (the Lua script runs), never refused
    app.save(update_fields=["rate_limit_per_second"])
    now = timezone.now()
    today = timezone.localdate()
    # The moments every effective-status reader compares, as approval would store them.
    goes_live_at, ends_at = campaign_schedule(
        submitted_at=now - timedelta(days=10),
        start_date=today - timedelta(days=1),
        end_date=today + timedelta(days=30),
    )
    campaign = Campaign.objects.create(
        account=account,
        app=app,
        name=f"Bench campaign {stamp}",
        status=Campaign.Status.LIVE,
        start_date=today - timedelta(days=1),
        end_date=today + timedelta(days=30),
        total_budget=Decimal("10000000"),
        cpa=Decimal("0.0100"),  # 500,000 actions before the $5,000 monthly campaign cap
        announcement_message="Finish level 10 and win a pair of earbuds!",
        redemption_message="Congratulations! Claim your earbuds.",
        submitted_at=now - timedelta(days=10),
        approved_at=now - timedelta(days=9),
        live_at=now - timedelta(days=1),
        goes_live_at=goes_live_at,
        ends_at=ends_at,
    )
    RewardGroup.objects.create(campaign=campaign, marketplace_id="US")
    Moment.objects.create(campaign=campaign, moment_id="LEVEL_10_COMPLETE", action="Level 10")
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_counter (id integer PRIMARY KEY, remaining bigint)"
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_log (id bigserial PRIMARY KEY, counter_id integer,"
            " created_at timestamptz NOT NULL DEFAULT now())"
        )
        cursor.execute("TRUNCATE bench_log")
        cursor.execute(
            "INSERT INTO bench_counter VALUES (1, 1000000000) "
            "ON CONFLICT (id) DO UPDATE SET remaining = 1000000000"
        )
    connection.close()
    body = {
        "appId": str(app.app_id),
        "momentId": "LEVEL_10_COMPLETE",
        "deviceType": "Android",
        "campaignId": str(campaign.campaign_id),
        "rewardGroupId": "US",
    }
    return {"key": issued.raw, "body": body, "campaign_pk": campaign.pk}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command(port: int) -> list[str]:
    if SERVER == "granian":
        return [
            PYTHON,
            "-m",
            "granian",
            "--interface",
            "wsgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(WORKERS),
            "--blocking-threads",
            str(THREADS),
            "--runtime-threads",
            "1",
            "--no-ws",
            "--backlog",
            "2048",
            "--log-level",
            "warning",
            "bench.wsgi:application",
        ]
    if SERVER != "gunicorn":
        sys.exit(f"BENCH_SERVER must be gunicorn or granian, not {SERVER!r}.")
    return [
        str(Path(PYTHON).with_name("gunicorn")),
        "bench.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(WORKERS),
        *(["--worker-class", "gthread", "--threads", str(THREADS)] if THREADS > 1 else []),
        "--backlog",
        "2048",
        "--log-level",
        "warning",
    ]


def server_label() -> str:
    if SERVER == "granian":
        return f"granian: {WORKERS} workers x {THREADS} blocking thread(s)"
    kind = f"gthread workers x {THREADS} threads" if THREADS > 1 else "sync workers"
    return f"gunicorn: {WORKERS} {kind}"


def start_server(port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        server_command(port),
        cwd=ROOT,
        env=server_env(),
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/hello", timeout=1).read()
            return proc
        except OSError:
            if proc.poll() is not None:
                sys.exit(f"{SERVER} exited during start-up.")
            time.sleep(0.3)
    stop(proc)
    sys.exit(f"{SERVER} did not answer within 30 s.")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


LUA = """
wrk.method = "{method}"
wrk.body = {body}
{headers}
"""


def lua_script(folder: Path, name: str, method: str, body: str | None, headers: dict) -> Path:
    path = folder / f"{name}.lua"
    lines = [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    path.write_text(
        LUA.format(
            method=method, body=json.dumps(body) if body else "nil", headers="\n".join(lines)
        )
    )
    return path


_DURATION = re.compile(r"([\d.]+)(us|ms|s|m)\b")


def _ms(text: str) -> float:
    value, unit = _DURATION.match(text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(wrk: str, url: str, script: Path, seconds: int) -> dict:
    out = subprocess.run(
        [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p50": p50,
        "p99": p99,
        "requests": total,
        "non2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else "",
    }


def main() -> None:
    wrk = ensure_wrk()
    ensure_database()
    print(f"Seeding {DATABASE_URL} ...", flush=True)
    seeded = seed()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    api_headers = {"x-api-key": seeded["key"], "Content-Type": "application/json"}
    body = json.dumps(seeded["body"])
    scenarios = [
        ("a", "Django JSON view, no middleware", "/bench/hello", "GET", None, {}),
        ("r", "(a) + one Redis round trip", "/bench/hello-redis", "GET", None, {}),
        ("b", "raw-SQL decrement + insert, no middleware", "/bench/raw-sql", "POST", "", {}),
        ("c", "GetRewardInfo", "/prod/GetRewardInfo", "POST", body, api_headers),
        ("d", "GetReward", "/prod/GetReward", "POST", body, api_headers),
    ]
    print(
        f"{server_label()} on {base}; wrk: {CONNECTIONS} connections, {WARMUP} s warm-up, "
        f"then {ROUNDS} interleaved rounds of {SECONDS} s per scenario; load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores.",
        flush=True,
    )
    rounds: dict[str, list[dict]] = {tag: [] for tag, *_ in scenarios}
    proc = start_server(port)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            scripts = {
                tag: lua_script(Path(tmp), tag, method, payload, headers)
                for tag, _, _, method, payload, headers in scenarios
            }
            for tag, _, path, *_ in scenarios:
                run_wrk(wrk, base + path, scripts[tag], WARMUP)
            # Rounds interleave the scenarios, so a burst of load from elsewhere on the machine
            # hits all four alike; each scenario's figures are its median round.
            for number in range(1, ROUNDS + 1):
                for tag, _label, path, *_ in scenarios:
                    rounds[tag].append(run_wrk(wrk, base + path, scripts[tag], SECONDS))
                print(
                    f"  round {number}: "
                    + ", ".join(f"({t}) {r[-1]['rps']:.0f}/s" for t, r in rounds.items()),
                    flush=True,
                )
    finally:
        stop(proc)
    results = {}
    for tag, label, *_ in scenarios:
        ordered = sorted(rounds[tag], key=lambda r: r["rps"])
        median = ordered[len(ordered) // 2]
        results[tag] = {
            "label": label,
            **median,
            "requests": sum(r["requests"] for r in rounds[tag]),
            "non2xx": sum(r["non2xx"] for r in rounds[tag]),
        }

    print()
    print("| scenario (median round) | req/s | p50 ms | p99 ms | requests (all rounds) | non-2xx |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for tag, r in results.items():
        print(
            f"| ({tag}) {r['label']} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} "
            f"| {r['requests']} | {r['non2xx']} |"
        )
    c_a = results["c"]["rps"] / results["a"]["rps"]
    d_b = results["d"]["rps"] / results["b"]["rps"]
    print()
    # Context for c/a: the throttle must count every call in Redis, shared by all processes,
    # so no correct GetRewardInfo can beat (r), the bare view plus one Redis round trip.
    r_a = results["r"]["rps"] / results["a"]["rps"]
    c_r = results["c"]["rps"] / results["r"]["rps"]
    a, b, c, d, r = (results[t] for t in "abcdr")
    print(
        f"c/a (GetRewardInfo / bare view, no middleware)  = {c_a:.2f}  (aim ≥ 0.8);  "
        f"p50/p99 {c['p50']:.2f}/{c['p99']:.2f} ms vs (a) {a['p50']:.2f}/{a['p99']:.2f} ms"
    )
    print(
        f"d/b (GetReward / raw-SQL floor, no middleware)  = {d_b:.2f}  (aim ≥ 0.8);  "
        f"p50/p99 {d['p50']:.2f}/{d['p99']:.2f} ms vs (b) {b['p50']:.2f}/{b['p99']:.2f} ms"
    )
    print(
        f"c/r (GetRewardInfo / bare view + one Redis round trip) = {c_r:.2f};  "
        f"r/a = {r_a:.2f};  (r) p50/p99 {r['p50']:.2f}/{r['p99']:.2f} ms"
    )
    report_ledger(seeded["campaign_pk"])


def report_ledger(campaign_pk: int) -> None:
    """Cross-check GetReward's books after the run: grants, ledger rows and counters agree."""
    from django.db import connection

    from billing.models import LedgerEntry
    from campaigns.models import Campaign, RewardGroup
    from rewards.models import RewardGrant

    grants = RewardGrant.objects.filter(campaign_id=campaign_pk).count()
    charges = LedgerEntry.objects.filter(campaign_id=campaign_pk).count()
    granted = RewardGroup.objects.get(campaign_id=campaign_pk).granted
    spent = Campaign.objects.get(pk=campaign_pk).spent
    print(
        f"Books after the run: {grants} grants, {charges} ledger rows, reward group counter "
        f"{granted}, campaign spent ${spent} (CPA $0.01)."
    )
    ok = grants == charges == granted and spent == Decimal(charges) * Decimal("0.01")
    print("Consistent." if ok else "INCONSISTENT BOOKS: investigate.")
    connection.close()


if __name__ == "__main__":
    main()
