"""Prometheus metrics (issue 21): the counters an operator watches, and `GET /metrics`.

Every process counts into its own files under PROMETHEUS_MULTIPROC_DIR (prometheus-client's
multiprocess mode: one memory-mapped file per process and kind), so granian's or gunicorn's
workers and Celery's pool processes add up: a scrape of any web process reads every file of the
machine. The settings put the folder in the environment before the library is imported (it
picks its mode on import) and child processes inherit it.

The folder is emptied when the first process that uses it starts, never under a live one
(`metrics_directory_prepare`): each process holds a shared `flock` on `<dir>/.lock` for its
whole life (inherited across fork by pool workers); a starting process that can take the lock
exclusively knows that no process of an earlier run is alive, wipes the stale files, then holds
it shared like the others. Counters therefore restart at 0 when the whole machine's service
restarts (Prometheus's rate() reads that as a reset), and never while any process still runs.
The Redis circuit gauge keeps one file per live process; files of processes gone are dropped at
each scrape (`mark_process_dead`), so a recycled worker's state does not linger.

Hot path: each metric is a module-level object and the label children the API uses are cached
in a dict, so counting a call is a dict lookup and two writes into a memory-mapped file (a few
microseconds). Nothing here queries the database on the request path: the two ages
(`moments_sweep_lag_seconds`, `moments_webhook_oldest_pending_seconds`) are read at scrape time
by collectors that the owning apps register (`metrics_collector_register`), one indexed query
each.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hmac
import logging
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .logs import OncePerInterval
from .proxies import _address, parse_networks

log = logging.getLogger(__name__)

# The lock file every process of the folder holds shared while it lives (kept open: closing it
# would release the lock).
_held: dict[str, int] = {}


def metrics_directory_prepare(path: str | None = None) -> str:
    """Make the metrics folder and take this process's share of it; empty it first when no
    other process holds it (a fresh start of the machine's service). Idempotent per process;
    forked children inherit the share."""
    path = path or os.environ.get("PROMETHEUS_MULTIPROC_DIR") or settings.PROMETHEUS_MULTIPROC_DIR
    if path in _held:
        return path
    Path(path).mkdir(parents=True, exist_ok=True)
    fd = os.open(os.path.join(path, ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pass  # another process of this service is alive: its files are current
    else:
        # Nobody holds the folder: every file in it is from processes that are gone.
        for stale in glob.glob(os.path.join(path, "*.db")):
            with contextlib.suppress(FileNotFoundError):
                os.remove(stale)
    # Shared from now on (a conversion from exclusive, or a wait for a wiping starter).
    fcntl.flock(fd, fcntl.LOCK_SH)
    _held[path] = fd
    return path


os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", settings.PROMETHEUS_MULTIPROC_DIR)
metrics_directory_prepare()

# Imported after the folder is ready: metrics without labels open their file when defined.
from prometheus_client import (  # noqa: E402
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess  # noqa: E402
from prometheus_client.core import GaugeMetricFamily  # noqa: E402
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4  # noqa: E402

# --- The metrics -------------------------------------------------------------------------------
# Names: moments_<what>_<unit>; counters get `_total` from the library.

API_REQUESTS = Counter(
    "moments_api_requests",
    "Rewards API calls, by endpoint and outcome (ok, or the refusal's errorCode).",
    ["endpoint", "outcome"],
)
API_SECONDS = Histogram(
    "moments_api_request_seconds",
    "Time the Rewards API spent on a call, from the view's start to its answer.",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
API_THROTTLED = Counter(
    "moments_api_throttled",
    "Rewards API calls refused for their rate limit (429), by whose limit: key or ip.",
    ["caller"],
)
GRANTS = Counter(
    "moments_grants",
    "Rewards granted and charged by GetReward (test mode and repeated customerRefs excluded).",
)
SPEND = Counter(
    "moments_spend",
    "Money charged to campaigns by GetReward grants, in the currency's units.",
    ["currency"],
)
REDIS_CIRCUIT_OPEN = Gauge(
    "moments_redis_circuit_open",
    "1 while a live process of this machine serves without Redis (its circuit is open).",
    multiprocess_mode="livemax",
)
REDIS_CIRCUIT_OPENED = Counter(
    "moments_redis_circuit_opened",
    "Times a process's Redis circuit opened (a timeout or refused connection).",
)
DATABASE_ERRORS = Counter(
    "moments_database_errors",
    "Requests that failed because the database was unreachable or too slow, by where.",
    ["source", "error"],
)
CELERY_TASKS = Counter(
    "moments_celery_tasks",
    "Celery tasks finished, by task name and outcome (success, failure, retry).",
    ["task", "outcome"],
)
WEBHOOK_DELIVERIES = Counter(
    "moments_webhook_deliveries",
    "Webhook delivery attempts, by outcome: delivered, retrying (failed, another attempt is "
    "scheduled), failed (the last attempt failed), abandoned (the endpoint was disabled).",
    ["outcome"],
)
INVOICES_ISSUED = Counter("moments_invoices_issued", "Invoices issued by the invoice run.")
PAYMENTS_FAILED = Counter(
    "moments_payments_failed",
    "Card charges that failed (on issue or a dunning retry), by reason.",
    ["reason"],
)

# Known label values start at 0, so that rate() and the dashboard see them before the first
# event (a family with no child is not exported at all).
for _caller in ("key", "ip"):
    API_THROTTLED.labels(_caller)
for _outcome in ("delivered", "retrying", "failed", "abandoned"):
    WEBHOOK_DELIVERIES.labels(_outcome)
for _reason in ("no_card", "expired", "declined"):
    PAYMENTS_FAILED.labels(_reason)
SPEND.labels("USD")
for _source in ("rewards_api", "pages"):
    DATABASE_ERRORS.labels(_source, "OperationalError")
REDIS_CIRCUIT_OPEN.set(0)

# --- Counting (the API's hot path first) -------------------------------------------------------

_api_children: dict[tuple[str, str], tuple] = {}


def api_request_observe(endpoint: str, outcome: str, seconds: float) -> None:
    """One Rewards API call. The label children are made once per (endpoint, outcome)."""
    children = _api_children.get((endpoint, outcome))
    if children is None:
        children = _api_children[(endpoint, outcome)] = (
            API_REQUESTS.labels(endpoint, outcome),
            API_SECONDS.labels(endpoint),
        )
    children[0].inc()
    children[1].observe(seconds)


def api_throttled(caller: str) -> None:
    API_THROTTLED.labels(caller).inc()


def grant_charged(amount, currency: str = "USD") -> None:
    """One charged grant of `amount` (after its transaction committed)."""
    GRANTS.inc()
    SPEND.labels(currency).inc(float(amount))


def redis_circuit_set(is_open: bool) -> None:
    REDIS_CIRCUIT_OPEN.set(1 if is_open else 0)
    if is_open:
        REDIS_CIRCUIT_OPENED.inc()


def database_error(source: str, exception: BaseException) -> None:
    DATABASE_ERRORS.labels(source, type(exception).__name__).inc()


def celery_task_finished(task: str, outcome: str) -> None:
    CELERY_TASKS.labels(task, outcome).inc()


def webhook_delivery_outcome(outcome: str) -> None:
    WEBHOOK_DELIVERIES.labels(outcome).inc()


def invoice_issued() -> None:
    INVOICES_ISSUED.inc()


def payment_failed(reason: str) -> None:
    PAYMENTS_FAILED.labels(reason).inc()


def process_dead(pid: int) -> None:
    """A process of this machine ended (gunicorn's child_exit, Celery's pool): its live gauges
    go (its counters stay: they are part of the totals)."""
    _multiprocess.mark_process_dead(pid)


# --- Scrape-time gauges --------------------------------------------------------------------------

# Gauge name -> function returning its value at scrape time (None: not exported), registered by
# the app that owns the data (campaigns: the sweep's lag; console: the oldest pending webhook).
_scrape_gauges: dict[str, Callable[[], float | None]] = {}
_HELP: dict[str, str] = {}
_scrape_failure_log = OncePerInterval(60.0)


def metrics_collector_register(name: str, help_text: str, read: Callable[[], float | None]):
    """Export gauge `name` with the value `read()` returns at each scrape (None: not exported).
    Registering again replaces it (AppConfig.ready may run twice)."""
    _scrape_gauges[name] = read
    _HELP[name] = help_text


class _ScrapeCollector:
    """The registered scrape-time gauges; one that fails (the database is down) is left out of
    that scrape and logged once a minute, the others still answer."""

    def collect(self) -> Iterable[GaugeMetricFamily]:
        for name, read in list(_scrape_gauges.items()):
            try:
                value = read()
            except Exception as exc:
                if _scrape_failure_log.take() is not None:
                    log.warning("Metrics: %s could not be read: %s", name, exc)
                continue
            if value is not None:
                yield GaugeMetricFamily(name, _HELP[name], value=value)


_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w*?_(\d+)\.db$")


def _drop_dead_processes(path: str) -> None:
    """Live gauges of processes that ended without telling (a granian worker, a killed pool
    process) are dropped, so the circuit gauge reads live processes only."""
    for name in os.listdir(path):
        match = _LIVE_GAUGE_FILE.match(name)
        if not match:
            continue
        pid = int(match.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            process_dead(pid)
        except PermissionError:
            pass  # alive, someone else's


_registry: list[CollectorRegistry] = []


def metrics_registry() -> CollectorRegistry:
    if not _registry:
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)
        registry.register(_ScrapeCollector())
        _registry.append(registry)
    return _registry[0]


def metrics_text() -> bytes:
    """The machine's metrics in Prometheus's text format."""
    _drop_dead_processes(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    return generate_latest(metrics_registry())


# --- GET /metrics -----------------------------------------------------------------------------

_allow_parsed: tuple[object, tuple] = (None, ())


def _allow_networks() -> tuple:
    global _allow_parsed
    configured = settings.METRICS_ALLOW
    source, networks = _allow_parsed
    if configured != source:
        networks = parse_networks(configured)
        _allow_parsed = (list(configured), networks)
    return networks


def metrics_access(request: HttpRequest) -> int:
    """200 when the caller may read the metrics; 404 when /metrics is not configured (no
    token, no allow-list: it does not exist), 401 otherwise.

    Not even 127.0.0.1 is let in by default: a reverse proxy on the same machine would make
    every outside caller look local."""
    token = settings.METRICS_TOKEN
    networks = _allow_networks()
    if not token and not networks:
        return 404
    if token:
        sent = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, value = sent.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(value.strip(), token):
            return 200
    if networks:
        address = _address(request.META.get("REMOTE_ADDR", ""))
        if address is not None and any(address in network for network in networks):
            return 200
    return 401


def metrics_view(request: HttpRequest) -> HttpResponse:
    """GET /metrics: the Prometheus text format, to a scraper with the token or from an allowed
    network."""
    status = metrics_access(request)
    if status == 200 and request.method not in ("GET", "HEAD"):
        status = 405
    if status != 200:
        response = HttpResponse(status=status, content_type="text/plain")
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        if status == 405:
            response["Allow"] = "GET, HEAD"
    else:
        # The classic text format (0.0.4): every Prometheus reads it, and the names need no
        # escaping.
        response = HttpResponse(metrics_text(), content_type=CONTENT_TYPE_PLAIN_0_0_4)
    response["Cache-Control"] = "no-store"
    # A misconfigured scraper tries every 15 s: Django's WARNING per 4xx would flood the log.
    response._has_been_logged = True
    return response


class MetricsMiddleware:
    """Answers `/metrics` before the Host check, the HTTPS redirect and the session: Prometheus
    scrapes each instance by its own address, over the private network (as /healthz)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if request.path_info == "/metrics":
            return metrics_view(request)
        return self.get_response(request)
