"""Several nodes, one truth: `make cluster-check` (or `.venv/bin/python bench/cluster_check.py`).

Starts, on one machine, what an operator spreads over several: two web servers (granian, README's
server) on two ports, two Celery workers and one beat, all on one PostgreSQL database (its own,
created fresh and migrated here), Redis for cache and limits (its own database, emptied first) and
RabbitMQ as the broker (its own vhost, made fresh with rabbitmqctl, so no other run takes its
messages). Then it:

1. drives GetReward through both web nodes at once (threads) on a quantity-capped reward group,
   a budget-capped campaign, and Idempotency-Keys each sent to both nodes at the same moment;
2. fires 40 calls within half a second, split over both nodes, at a key limited to 5 per second;
3. starts a second beat, which must refuse to run (console/celery.py's lock);
4. makes campaigns due to go live and to finish, so beat's sweep moves them; each move is an
   email and a webhook event, delivered to a local receiver (two endpoints) that verifies the
   Standard Webhooks signature and answers slowly; while the workers are busy with the sweep's
   work, one worker is killed with SIGKILL, after asking it which tasks it holds;
5. waits until every delivery and email is done, then checks and prints: requests per node,
   nothing oversold or charged twice, each campaign moved and notified once, every webhook
   delivered and signed, the throttle across nodes, the books (ledger = counters = monthly
   spend), and that the killed worker's tasks were redelivered (acks_late) and finished.

Exits 0 when every check holds, 1 otherwise. tests/console/test_cluster_check.py runs it.

Environment: CLUSTER_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/mc_cluster_check,
dropped and created), CLUSTER_REDIS_URL (default redis://127.0.0.1:6379/14, flushed),
CLUSTER_BROKER_URL (default: a fresh vhost named after the database on
amqp://guest:guest@127.0.0.1:5672, made with rabbitmqctl), CLUSTER_PGBOUNCER=1 (the web nodes
reach PostgreSQL through PgBouncer in transaction mode, started here on a free port; needs the
`pgbouncer` binary).
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CELERY = str(Path(PYTHON).with_name("celery"))
DATABASE_URL = os.environ.get(
    "CLUSTER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mc_cluster_check"
)
REDIS_URL = os.environ.get("CLUSTER_REDIS_URL", "redis://127.0.0.1:6379/14")
# The vhost is named after the database: two checks on different databases never share one.
VHOST = urlsplit(DATABASE_URL).path.lstrip("/")
BROKER_URL = os.environ.get("CLUSTER_BROKER_URL", "")
PGBOUNCER = os.environ.get("CLUSTER_PGBOUNCER", "") == "1"

QUANTITY_CAP = 25  # the reward group's quantity limit
QUANTITY_CALLS = 60
BUDGET_CPA = Decimal("2.50")  # x 20 = 50, the smallest budget allowed
BUDGET_GRANTS = 20  # total budget = 20 CPAs
BUDGET_CALLS = 60
IDEMPOTENT_KEYS = 12  # each sent to both nodes at once
THROTTLE_LIMIT = 5
THROTTLE_CALLS = 40
GOING_LIVE = 8  # campaigns due to go live
FINISHING = 8  # campaigns due to finish
RECEIVER_DELAY = 0.6  # seconds the receiver takes per delivery: keeps workers busy for the kill
SETTLE_SECONDS = 40

failures: list[str] = []


def check(ok: bool, label: str) -> None:
    print(f"  [{'ok' if ok else 'FAIL'}] {label}", flush=True)
    if not ok:
        failures.append(label)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Services: database, Redis, broker, PgBouncer ----------------------------------------------


def fresh_database() -> None:
    import psycopg

    name = urlsplit(DATABASE_URL).path.lstrip("/")
    admin_url = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def fresh_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def fresh_broker() -> str:
    """A vhost of our own, emptied (deleted and made again): queues, and messages in them, of
    an earlier run or of anyone else never mix with this run's."""
    if BROKER_URL:
        return BROKER_URL
    ctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    if not Path(ctl).exists():
        sys.exit("rabbitmqctl is missing: set CLUSTER_BROKER_URL to a vhost of this check's own.")
    subprocess.run([ctl, "-q", "delete_vhost", VHOST], capture_output=True)
    for args in (["add_vhost", VHOST], ["set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*"]):
        subprocess.run([ctl, "-q", *args], check=True, capture_output=True)
    return f"amqp://guest:guest@127.0.0.1:5672/{VHOST}"


def start_pgbouncer(tmp: Path) -> tuple[subprocess.Popen, str]:
    """PgBouncer in transaction mode in front of the check's database; returns its URL."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(binary).exists():
        sys.exit("CLUSTER_PGBOUNCER=1 needs pgbouncer (apt-get install pgbouncer).")
    parts = urlsplit(DATABASE_URL)
    name = parts.path.lstrip("/")
    user = parts.username or "postgres"
    port = free_port()
    folder = tmp / "pgbouncer"
    folder.mkdir()
    (folder / "userlist.txt").write_text(f'"{user}" ""\n')
    ini = folder / "pgbouncer.ini"
    ini.write_text(
        f"""[databases]
{name} = host={parts.hostname} port={parts.port or 5432} dbname={name}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
auth_type = trust
auth_file = {folder / "userlist.txt"}
pool_mode = transaction
default_pool_size = 10
max_client_conn = 200
ignore_startup_parameters = options
unix_socket_dir =
"""
    )
    # PgBouncer refuses to run as root: as root, it switches to the postgres user, which must
    # read its files (the check's folder is private otherwise).
    argv = [binary, str(ini)]
    if os.geteuid() == 0:
        for path in (tmp, folder, ini, folder / "userlist.txt"):
            path.chmod(0o755)
        argv = [binary, "-u", "postgres", str(ini)]
    log = open(tmp / "pgbouncer.log", "wb")  # noqa: SIM115 (PgBouncer logs to it)
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    time.sleep(1)
    if proc.poll() is not None:
        sys.exit(f"pgbouncer exited: {(tmp / 'pgbouncer.log').read_text()[-2000:]}")
    return proc, f"postgres://{user}@127.0.0.1:{port}/{name}"


# --- The processes ------------------------------------------------------------------------------


def base_env(tmp: Path, broker: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST", "DEBUG", "DJANGO", "REDIS_URL", "DATABASE_URL", "CELERY"))
    }
    env.update(
        PYTHONPATH=str(ROOT),
        DJANGO_SETTINGS_MODULE="console.settings",
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=REDIS_URL,
        CELERY_BROKER_URL=broker,
        CACHE_KEY_PREFIX="mccluster",
        DEBUG="0",
        SECRET_KEY="cluster-check-only-secret-key-not-for-production-0123456789",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        SITE_URL="http://127.0.0.1",
        VAR_DIR=str(tmp / "var"),
        # One file per connection in VAR_DIR/emails (settings: `filemail://` without a path).
        EMAIL_URL="filemail://",
        # The receiver is on loopback; production refuses private addresses.
        WEBHOOKS_ALLOW_PRIVATE="1",
        # Beat's sweeps every 2 s instead of every minute / 5 s, so the check ends soon.
        SWEEP_INTERVAL_SECONDS="2",
        WEBHOOKS_SWEEP_SECONDS="2",
        # A worker killed between a sweep's commit and its enqueues leaves claimed deliveries
        # and un-notified moves without a task: the sweeps take them over after these leases
        # (2 and 10 minutes in production), shortened so the check sees it happen.
        WEBHOOKS_CLAIM_LEASE_SECONDS="12",
        CAMPAIGN_NOTIFY_LEASE_SECONDS="12",
        LOG_LEVEL="WARNING",
        PYTHONWARNINGS="ignore:No directory at",  # no collectstatic: no static files served
    )
    return env


class Processes:
    """Every child, started in its own session so it can be killed whole (its pool, too)."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 (the child writes to it)
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def granian(port: int) -> list[str]:
    return [
        PYTHON, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1",
        "--port", str(port), "--workers", "1", "--blocking-threads", "8",
        "--runtime-threads", "1", "--no-ws", "--log-level", "warning",
        "console.wsgi:application",
    ]  # fmt: skip


def worker(name: str) -> list[str]:
    return [
        CELERY, "-A", "console", "worker", "-n", f"{name}@%h", "--concurrency", "2",
        "--loglevel", "info", "--without-gossip", "--without-mingle",
    ]  # fmt: skip


def beat(tmp: Path, name: str) -> list[str]:
    return [
        CELERY, "-A", "console", "beat", "--loglevel", "info",
        "--schedule", str(tmp / f"{name}-schedule"),
    ]  # fmt: skip


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    print(f"  (timed out after {timeout:.0f} s waiting for {what})", flush=True)
    return False


def answers(base: str) -> bool:
    try:
        urllib.request.urlopen(f"{base}/healthz", timeout=2).read()  # noqa: S310 (loopback)
        return True
    except urllib.error.HTTPError:
        return True  # it answered (503 names a failed check; the calls will show it)
    except OSError:
        return False


# --- The webhook receiver -----------------------------------------------------------------------


class Receiver:
    """Two endpoints (/a and /b) on one local HTTP server; each request's Standard Webhooks
    signature is verified with that endpoint's secret."""

    def __init__(self):
        self.secrets: dict[str, str] = {}
        self.lock = threading.Lock()
        self.received: list[tuple[str, str, bool]] = []  # (path, webhook-id, signature valid)
        self.in_progress: dict[str, int] = defaultdict(int)
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                from standardwebhooks.webhooks import Webhook

                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                msg_id = self.headers.get("webhook-id", "")
                with receiver.lock:
                    receiver.in_progress[msg_id] += 1
                try:
                    Webhook(receiver.secrets[self.path]).verify(body, dict(self.headers.items()))
                    valid = True
                except Exception:  # noqa: BLE001 (any failure is an invalid signature)
                    valid = False
                time.sleep(RECEIVER_DELAY)
                with receiver.lock:
                    receiver.received.append((self.path, msg_id, valid))
                    receiver.in_progress[msg_id] -= 1
                self.send_response(200 if valid else 400)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def started(self) -> int:
        with self.lock:
            return len(self.received) + sum(self.in_progress.values())


# --- Seeding ------------------------------------------------------------------------------------


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def seed(receiver: Receiver) -> dict:
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from campaigns.models import Campaign, Moment, RewardGroup
    from campaigns.services.lifecycle import campaign_schedule
    from console.models import Account, Membership
    from console.services import app_register
    from console.webhooks.services import webhook_endpoint_create

    account = Account.objects.create(
        name="Cluster check",
        country="US",
        billing_address="1 Loopback Road",
        monthly_spend_limit=Decimal("1000000"),
    )
    owner = get_user_model().objects.create_user(
        username="owner@cluster.test", email="owner@cluster.test"
    )
    Membership.objects.create(account=account, user=owner, role=Membership.Role.ADMIN)

    def app(name: str, limit: int):
        issued = app_register(
            account=account, actor=owner, name=name, platform="android",
            store_url="https://example.test/cluster",
        )  # fmt: skip
        issued.api_key.app.rate_limit_per_second = limit
        issued.api_key.app.save(update_fields=["rate_limit_per_second"])
        return issued.api_key.app, issued.raw

    busy_app, busy_key = app("Busy app", 1_000_000)
    slow_app, slow_key = app("Throttled app", THROTTLE_LIMIT)
    now = timezone.now()
    today = timezone.localdate()

    def live(name, app, *, budget, cpa, quantity=None):
        goes_live_at, ends_at = campaign_schedule(
            submitted_at=now - timedelta(days=10),
            start_date=today - timedelta(days=1),
            end_date=today + timedelta(days=30),
        )
        campaign = Campaign.objects.create(
            account=account, app=app, name=name, status=Campaign.Status.LIVE,
            start_date=today - timedelta(days=1), end_date=today + timedelta(days=30),
            total_budget=budget, cpa=cpa, announcement_message="Win!",
            redemption_message="Claim it.", submitted_at=now - timedelta(days=10),
            approved_at=now - timedelta(days=9), live_at=now - timedelta(days=1),
            goes_live_at=goes_live_at, ends_at=ends_at,
        )  # fmt: skip
        RewardGroup.objects.create(campaign=campaign, marketplace_id="US", quantity_limit=quantity)
        Moment.objects.create(campaign=campaign, moment_id="LEVEL_10", action="Level 10")
        return campaign

    capped = live("Quantity-capped", busy_app, budget=Decimal("1000"), cpa=Decimal("0.10"),
                  quantity=QUANTITY_CAP)  # fmt: skip
    budget = live("Budget-capped", busy_app, budget=BUDGET_CPA * BUDGET_GRANTS, cpa=BUDGET_CPA)
    idem = live("Idempotent", busy_app, budget=Decimal("1000"), cpa=Decimal("0.25"))
    throttled = live("Throttled", slow_app, budget=Decimal("1000"), cpa=Decimal("0.10"))
    endpoints = {}
    for path in ("/a", "/b"):
        endpoint, raw = webhook_endpoint_create(
            account=account, actor=owner, url=f"http://127.0.0.1:{receiver.port}{path}",
            events=["campaign.status_changed"],
        )  # fmt: skip
        receiver.secrets[path] = raw
        endpoints[path] = endpoint.pk

    def body(campaign, app):
        return {
            "appId": str(app.app_id), "momentId": "LEVEL_10", "deviceType": "Android",
            "campaignId": str(campaign.campaign_id), "rewardGroupId": "US",
        }  # fmt: skip

    return {
        "account": account,
        "owner": owner,
        "busy_app": busy_app,
        "busy_key": busy_key,
        "slow_key": slow_key,
        "capped": capped,
        "budget": budget,
        "idem": idem,
        "throttled": throttled,
        "bodies": {
            "capped": body(capped, busy_app),
            "budget": body(budget, busy_app),
            "idem": body(idem, busy_app),
            "throttled": body(throttled, slow_app),
        },
    }


def seed_due_campaigns(seeded: dict) -> list[int]:
    """Campaigns the next sweep must move: approved ones whose go-live moment has come, and live
    ones whose end moment has come."""
    from datetime import timedelta

    from django.utils import timezone

    from campaigns.models import Campaign, RewardGroup
    from campaigns.services.lifecycle import campaign_schedule

    now = timezone.now()
    today = timezone.localdate()
    pks = []
    for number in range(GOING_LIVE + FINISHING):
        going_live = number < GOING_LIVE
        start = today - timedelta(days=1 if going_live else 10)
        end = today + timedelta(days=30) if going_live else today - timedelta(days=1)
        goes_live_at, ends_at = campaign_schedule(
            submitted_at=now - timedelta(days=12), start_date=start, end_date=end
        )
        campaign = Campaign.objects.create(
            account=seeded["account"], app=seeded["busy_app"],
            name=f"{'Going live' if going_live else 'Finishing'} {number}",
            status=Campaign.Status.APPROVED if going_live else Campaign.Status.LIVE,
            start_date=start, end_date=end, total_budget=Decimal("100"), cpa=Decimal("1"),
            announcement_message="Win!", redemption_message="Claim it.",
            submitted_at=now - timedelta(days=12), approved_at=now - timedelta(days=11),
            live_at=None if going_live else now - timedelta(days=10),
            goes_live_at=goes_live_at, ends_at=ends_at,
        )  # fmt: skip
        RewardGroup.objects.create(campaign=campaign, marketplace_id="US")
        pks.append(campaign.pk)
    return pks


# --- Calls --------------------------------------------------------------------------------------


def post(base: str, path: str, key: str, body: dict, headers: dict | None = None):
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"x-api-key": key, "Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def code_of(status: int, payload: bytes) -> str:
    if status == 200:
        return "200"
    try:
        error = json.loads(payload).get("error") or {}
        return f"{status} {error.get('code', '') if isinstance(error, dict) else error}".strip()
    except ValueError:
        return str(status)


def drive(nodes: list[str], key: str, body: dict, calls: int, tally: Counter) -> Counter:
    """`calls` GetReward calls, alternating nodes, 16 at a time."""
    outcomes: Counter = Counter()

    def one(number: int):
        node = nodes[number % 2]
        status, payload = post(node, "/prod/GetReward", key, body)
        return node, code_of(status, payload)

    with ThreadPoolExecutor(16) as pool:
        for node, code in pool.map(one, range(calls)):
            tally[node] += 1
            outcomes[code] += 1
    return outcomes


def idempotent_pairs(nodes: list[str], key: str, body: dict, tally: Counter) -> list:
    """Each Idempotency-Key sent to both nodes at the same moment (a barrier per pair)."""

    def pair(number: int):
        idem_key = f"cluster-{uuid.uuid4()}"
        barrier = threading.Barrier(2)
        results = [None, None]

        def send(slot: int):
            barrier.wait()
            results[slot] = post(nodes[slot], "/prod/GetReward", key, body,
                                 {"Idempotency-Key": idem_key})  # fmt: skip

        threads = [threading.Thread(target=send, args=(slot,)) for slot in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results

    with ThreadPoolExecutor(4) as pool:
        pairs = list(pool.map(pair, range(IDEMPOTENT_KEYS)))
    for _ in pairs:
        for node in nodes:
            tally[node] += 1
    return pairs


def throttle_burst(nodes: list[str], key: str, body: dict, tally: Counter) -> tuple[Counter, float]:
    """THROTTLE_CALLS GetRewardInfo calls, half to each node, all started within 0.5 s."""
    start = time.monotonic() + 0.3
    outcomes: Counter = Counter()

    def one(number: int):
        delay = start + number * (0.5 / THROTTLE_CALLS) - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        node = nodes[number % 2]
        status, payload = post(node, "/prod/GetRewardInfo", key, body)
        return node, code_of(status, payload)

    with ThreadPoolExecutor(THROTTLE_CALLS) as pool:
        results = list(pool.map(one, range(THROTTLE_CALLS)))
    span = time.monotonic() - start
    for node, code in results:
        tally[node] += 1
        outcomes[(node, code)] += 1
    return outcomes, span


# --- Main ---------------------------------------------------------------------------------------


def main() -> int:  # noqa: C901, PLR0915 (one scenario, told in order)
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="cluster-check-"))
    broker = fresh_broker()
    fresh_database()
    fresh_redis()
    env = base_env(tmp, broker)
    print(
        f"Cluster check: PostgreSQL {DATABASE_URL}, Redis {REDIS_URL}, broker "
        f"{broker.replace('guest:guest@', '')}{', web through PgBouncer (transaction mode)' if PGBOUNCER else ''}",
        flush=True,
    )
    migrated = subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, capture_output=True,
        text=True,
    )  # fmt: skip
    if migrated.returncode:
        print(migrated.stdout, migrated.stderr)
        return 1
    receiver = Receiver()
    setup_django(env)
    seeded = seed(receiver)
    procs = Processes(tmp)
    pgbouncer = None
    try:
        web_env = dict(env, CONSOLE_WEB_PROCESS="1")
        if PGBOUNCER:
            pgbouncer, pooled_url = start_pgbouncer(tmp)
            # The statement timeout travels in the startup packet, which PgBouncer ignores
            # (README): the check sets none rather than pretend.
            web_env.update(DATABASE_URL=pooled_url, DATABASE_STATEMENT_TIMEOUT="0",
                           DATABASE_DISABLE_SERVER_SIDE_CURSORS="1")  # fmt: skip
        ports = [free_port(), free_port()]
        nodes = [f"http://127.0.0.1:{port}" for port in ports]
        for number, port in enumerate(ports, 1):
            procs.start(f"web{number}", granian(port), web_env)
        for name in ("w1", "w2"):
            procs.start(name, worker(name), env)
        procs.start("beat", beat(tmp, "beat"), env)
        for number, node in enumerate(nodes, 1):
            if not wait_for(lambda node=node: answers(node), 60, f"web{number}"):
                print(procs.log(f"web{number}")[-3000:])
                return 1
        for name in ("w1", "w2"):
            if not wait_for(lambda name=name: "ready." in procs.log(name), 60, name):
                print(procs.log(name)[-3000:])
                return 1
        wait_for(lambda: "holds the lock" in procs.log("beat"), 30, "beat's lock")
        print(f"Up in {time.monotonic() - started:.1f} s: web1 {nodes[0]}, web2 {nodes[1]}, "
              "workers w1 and w2 (2 processes each), one beat.", flush=True)  # fmt: skip

        # 1. GetReward through both nodes at once.
        tally: Counter = Counter()
        key, bodies = seeded["busy_key"], seeded["bodies"]
        quantity = drive(nodes, key, bodies["capped"], QUANTITY_CALLS, tally)
        budget = drive(nodes, key, bodies["budget"], BUDGET_CALLS, tally)
        pairs = idempotent_pairs(nodes, key, bodies["idem"], tally)
        # 2. The throttle across nodes.
        burst, span = throttle_burst(nodes, seeded["slow_key"], bodies["throttled"], tally)
        # 3. A second beat.
        second = subprocess.run(beat(tmp, "beat2"), cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=60)  # fmt: skip
        # 4. The sweep, its emails and webhooks; a worker killed while it holds tasks.
        due = seed_due_campaigns(seeded)
        wait_for(lambda: receiver.started() >= 3, 30, "the first webhook deliveries")
        from console.celery import app as celery_app

        inspector = celery_app.control.inspect(destination=[f"w1@{socket.gethostname()}"],
                                               timeout=1.5)  # fmt: skip
        active = inspector.active() or {}
        reserved = inspector.reserved() or {}
        held = [t for tasks in (*active.values(), *reserved.values()) for t in tasks]
        procs.kill("w1")
        killed_at = time.monotonic()
        print(f"Killed w1 (SIGKILL, with its pool) holding {len(held)} task(s): "
              + ", ".join(f"{t['name'].rsplit('.', 1)[1]}[{t['id'][:8]}]" for t in held),
              flush=True)  # fmt: skip

        from campaigns.models import CampaignTransition
        from console.webhooks.models import WebhookDelivery

        def settled() -> bool:
            expected_moves = len(due) + 1  # and the budget-capped campaign, finished by budget
            return (
                CampaignTransition.objects.count() >= expected_moves
                and not CampaignTransition.objects.filter(notified_at__isnull=True).exists()
                and not WebhookDelivery.objects.exclude(status="succeeded").exists()
                and WebhookDelivery.objects.count() == 2 * expected_moves
            )

        wait_for(settled, SETTLE_SECONDS, "every move notified and every webhook delivered", 0.5)
        settle = time.monotonic() - killed_at
        worker_logs = {name: procs.log(name) for name in ("w1", "w2")}
        if pgbouncer is not None:
            log = (tmp / "pgbouncer.log").read_text(errors="replace")
            logins = log.count("login attempt")
            print(f"PgBouncer (transaction mode): {logins} client logins from the web nodes; "
                  f"{log.count('ERROR')} errors in its log.", flush=True)  # fmt: skip
            if not logins or "ERROR" in log:
                failures.append("the web nodes used PgBouncer without errors")
        (tmp / "report-done").touch()
        return report(seeded, nodes, tally, quantity, budget, pairs, burst, span, second, due,
                      receiver, held, worker_logs, settle, started)  # fmt: skip
    finally:
        procs.stop_all()
        if pgbouncer is not None:
            pgbouncer.terminate()
            pgbouncer.wait()
        if not BROKER_URL:  # the vhost we made, and any message left in it
            ctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
            subprocess.run([ctl, "-q", "delete_vhost", VHOST], capture_output=True)
        if failures or not (tmp / "report-done").exists():
            print(f"(logs kept in {tmp})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def _is_transition_subject(raw: str) -> bool:
    # Subjects with curly quotes are MIME-encoded in the file.
    from email.header import decode_header, make_header

    subject = str(make_header(decode_header(raw)))
    return subject.startswith("Campaign") and " is now " in subject


def report(seeded, nodes, tally, quantity, budget, pairs, burst, span, second, due, receiver,
           held, worker_logs, settle, started) -> int:  # fmt: skip  # noqa: C901, PLR0915
    from django.db.models import Count, Sum

    from billing.models import AccountMonthlySpend, CampaignMonthlySpend, LedgerEntry
    from campaigns.models import Campaign, CampaignTransition, RewardGroup
    from console.models import WebhookEvent
    from console.webhooks.models import WebhookDelivery
    from rewards.models import RewardGrant

    print("\nRequests through each node:")
    for number, node in enumerate(nodes, 1):
        print(f"  web{number} {node}: {tally[node]} requests")
    check(all(tally[node] > 0 for node in nodes), "both web nodes served requests")

    print("\nGetReward, both nodes at once:")
    capped, budget_c, idem = seeded["capped"], seeded["budget"], seeded["idem"]

    def books(campaign):
        grants = RewardGrant.objects.filter(campaign=campaign).count()
        ledger = LedgerEntry.objects.filter(campaign=campaign)
        rows = ledger.count()
        ledger_sum = ledger.aggregate(s=Sum("amount"))["s"] or Decimal(0)
        campaign.refresh_from_db()
        group = RewardGroup.objects.get(campaign=campaign)
        monthly = CampaignMonthlySpend.objects.filter(campaign=campaign).aggregate(s=Sum("spent"))[
            "s"
        ] or Decimal(0)
        return grants, rows, ledger_sum, campaign, group, monthly

    for label, campaign, outcomes, cap in (
        (f"quantity cap {QUANTITY_CAP}", capped, quantity, QUANTITY_CAP),
        (f"budget {BUDGET_GRANTS} x CPA", budget_c, budget, BUDGET_GRANTS),
    ):
        grants, rows, ledger_sum, campaign, group, monthly = books(campaign)
        print(f"  {campaign.name} ({label}): answers {dict(outcomes)}; {grants} grants, {rows} "
              f"ledger rows, counter {group.granted}, spent {campaign.spent} = "
              f"CPA {campaign.cpa} x {grants}")  # fmt: skip
        check(grants == cap, f"{campaign.name}: exactly the cap granted ({grants} of {cap})")
        check(outcomes["200"] == grants, f"{campaign.name}: every 200 is one grant")
        check(rows == grants == group.granted, f"{campaign.name}: ledger rows = grants = counter")
        check(campaign.spent == campaign.cpa * grants == ledger_sum == monthly,
              f"{campaign.name}: spend = CPA x grants = ledger sum = monthly spend")  # fmt: skip

    grants = RewardGrant.objects.filter(campaign=idem).count()
    charged = LedgerEntry.objects.filter(campaign=idem).count()
    pair_codes = Counter(tuple(sorted(code_of(s, p) for s, p in pair)) for pair in pairs)
    # Both answered 200: the second is the first's replay, the same reward URL.
    both = [pair for pair in pairs if pair[0][0] == pair[1][0] == 200]
    same = sum(
        1
        for pair in both
        if len({json.loads(body)["rewardNotificationUrl"] for _, body in pair}) == 1
    )
    keys_granted = sum(1 for pair in pairs if any(s == 200 for s, _ in pair))
    print(f"  {IDEMPOTENT_KEYS} Idempotency-Keys, each sent to both nodes at the same moment: "
          f"answer pairs {dict(pair_codes)}; {grants} grants, {charged} ledger rows "
          f"({len(both)} pair(s) answered 200 twice, {same} of them with the same reward URL)")  # fmt: skip
    check(grants == charged == keys_granted, "one grant and one charge per Idempotency-Key")
    check(same == len(both), "a key answered 200 by both nodes names one reward URL")

    print(f"\nThrottle, key limited to {THROTTLE_LIMIT}/s: {THROTTLE_CALLS} GetRewardInfo calls "
          f"in {span:.2f} s, half through each node:")  # fmt: skip
    for number, node in enumerate(nodes, 1):
        row = {code: n for (n_node, code), n in burst.items() if n_node == node}
        print(f"  web{number}: {row}")
    accepted = sum(n for (_, code), n in burst.items() if code == "200")
    print(f"  accepted across both nodes: {accepted}")
    check(0 < accepted <= THROTTLE_LIMIT and span < 1.0,
          f"at most {THROTTLE_LIMIT} accepted in under a second across both nodes")  # fmt: skip

    print("\nBeat stays single: a second `celery beat` started beside the first:")
    refusal = [line for line in (second.stdout + second.stderr).splitlines() if "refused" in line]
    print(f"  exit status {second.returncode}: {refusal[0] if refusal else '(no refusal line)'}")
    check(second.returncode != 0 and bool(refusal), "the second beat refused to run")

    print("\nLifecycle sweep (beat every 2 s, both workers):")
    moved = [*due, budget_c.pk]
    transitions = CampaignTransition.objects.filter(campaign_id__in=moved)
    per_campaign = Counter(transitions.values_list("campaign_id", flat=True))
    statuses = Counter(Campaign.objects.filter(pk__in=moved).values_list("status", flat=True))
    mail_dir = Path(os.environ["VAR_DIR"]) / "emails"
    emails = sum(
        1
        for path in (mail_dir.glob("*") if mail_dir.exists() else [])
        for line in path.read_text(errors="replace").splitlines()
        if line.startswith("Subject: ") and _is_transition_subject(line[len("Subject: ") :])
    )
    notified = transitions.filter(notified_at__isnull=False).count()
    status_events = WebhookEvent.objects.filter(type="campaign.status_changed")
    events = status_events.count()
    print(f"  {len(moved)} campaigns due ({GOING_LIVE} to go live, {FINISHING} to finish by date, "
          f"1 by budget): statuses now {dict(statuses)}; {transitions.count()} transition rows, "
          f"{notified} notified, {emails} emails, {events} webhook events (outbox)")  # fmt: skip
    check(len(per_campaign) == len(moved) and set(per_campaign.values()) == {1},
          "every campaign moved exactly once (one transition row each)")  # fmt: skip
    check(statuses == Counter({"live": GOING_LIVE, "finished": FINISHING + 1}),
          "each ended in the right status")  # fmt: skip
    check(notified == len(moved) and emails == len(moved),
          "every move notified once (one email each, one member)")  # fmt: skip
    check(events == len(moved), "one webhook event per move")

    print(f"\nWebhooks (2 endpoints, receiver verifies signatures, {RECEIVER_DELAY} s each):")
    deliveries = WebhookDelivery.objects.values("status").annotate(n=Count("pk"))
    received_ids = {(path, msg_id) for path, msg_id, _ in receiver.received}
    valid = sum(1 for *_, ok in receiver.received if ok)
    expected = {(f"/{e}", f"msg_{pk}") for e in "ab"
                for pk in status_events.values_list("pk", flat=True)}  # fmt: skip
    duplicates = len(receiver.received) - len(received_ids)
    print(f"  deliveries {({d['status']: d['n'] for d in deliveries})}; receiver got "
          f"{len(receiver.received)} requests, {valid} with a valid signature, "
          f"{len(received_ids)} distinct (endpoint, webhook-id), {duplicates} repeated")  # fmt: skip
    check(expected <= received_ids and len(expected) == 2 * len(moved),
          "every event delivered to both endpoints at least once")  # fmt: skip
    check(valid == len(receiver.received), "every request carried a valid signature")

    print("\nThe killed worker (w1):")
    # Asked just before the kill: a short task (a sweep) may have finished and been
    # acknowledged in between; every other one must come back to w2 (acks_late).
    w1_log, w2_log = worker_logs["w1"], worker_logs["w2"]
    redelivered, finished = [], []
    for task in held:
        if task["id"] in w2_log:
            redelivered.append(task)
            fate = "received again by w2 (redelivered)"
        elif f"{task['id']}] succeeded" in w1_log:
            finished.append(task)
            fate = "finished by w1 just before the kill (acknowledged)"
        else:
            fate = "LOST: neither finished by w1 nor seen by w2"
        print(f"  held {task['name']}[{task['id']}]: {fate}")
    check(bool(redelivered), "w1 held unfinished tasks when it was killed")
    check(
        len(redelivered) + len(finished) == len(held),
        "every unfinished task w1 held was redelivered to w2 (acks_late)",
    )
    print(f"  everything settled {settle:.1f} s after the kill")

    print("\nThe books:")
    account = seeded["account"]
    ledger = LedgerEntry.objects.filter(account=account)
    ledger_sum = ledger.aggregate(s=Sum("amount"))["s"] or Decimal(0)
    counters = Campaign.objects.filter(account=account).aggregate(s=Sum("spent"))["s"]
    campaign_monthly = CampaignMonthlySpend.objects.filter(campaign__account=account).aggregate(
        s=Sum("spent")
    )["s"] or Decimal(0)
    account_monthly = AccountMonthlySpend.objects.filter(account=account).aggregate(s=Sum("spent"))[
        "s"
    ] or Decimal(0)
    all_grants = RewardGrant.objects.filter(campaign__account=account).count()
    print(f"  {all_grants} grants, {ledger.count()} ledger rows summing {ledger_sum}; campaign "
          f"counters {counters}; campaign monthly spend {campaign_monthly}; account monthly "
          f"spend {account_monthly}")  # fmt: skip
    check(all_grants == ledger.count(), "one ledger row per grant")
    check(ledger_sum == counters == campaign_monthly == account_monthly,
          "ledger = counters = monthly spend")  # fmt: skip

    total = time.monotonic() - started
    print(f"\n{'ALL CHECKS PASSED' if not failures else f'{len(failures)} CHECK(S) FAILED'} "
          f"in {total:.1f} s.")  # fmt: skip
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
