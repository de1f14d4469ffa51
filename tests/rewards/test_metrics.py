"""GET /metrics (issue 21): protected, in Prometheus's text format, every family an operator
needs with a sensible value after real traffic, processes adding up, and the Grafana dashboard
built from exactly these names."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import OperationalError
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from billing.services.invoices import invoices_issue_month
from campaigns.tasks import sweep_campaigns
from console.clock import month_after, month_start
from console.webhooks.models import WebhookDelivery
from console.webhooks.services import webhook_endpoint_create, webhook_endpoint_send_test
from tests.console.webhook_helpers import receiver_fixture  # noqa: F401 (fixture)

from .conftest import body_for, live_campaign

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests"
DASHBOARD = Path(django_settings.BASE_DIR) / "console" / "grafana-dashboard.json"

# Every family the operator needs (issue 21), as the scrape names them (counters without
# `_total`, as prometheus-client's parser gives them).
FAMILIES = {
    "moments_api_requests",
    "moments_api_request_seconds",
    "moments_api_throttled",
    "moments_grants",
    "moments_spend",
    "moments_redis_circuit_open",
    "moments_redis_circuit_opened",
    "moments_database_errors",
    "moments_celery_tasks",
    "moments_sweep_lag_seconds",
    "moments_webhook_deliveries",
    "moments_webhook_oldest_pending_seconds",
    "moments_invoices_issued",
    "moments_payments_failed",
}


def scrape(client: Client | None = None, **headers) -> dict[tuple, float]:
    """The scrape as {(sample name, sorted labels): value}, with the token."""
    client = client or Client()
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}", **headers})
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def families(samples: dict) -> set[str]:
    names = {name for name, _ in samples}
    return {
        re.sub(r"_(total|bucket|sum|count|created)$", "", name)
        for name in names
        if name.startswith("moments_")
    }


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def own_circuit_gauge() -> float:
    """This process's own moments_redis_circuit_open, from its file: the scrape shows the max
    over live processes, and another test worker may be simulating an outage meanwhile."""
    from prometheus_client.mmap_dict import MmapedDict

    path = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]) / f"gauge_livemax_{os.getpid()}.db"
    values = {
        json.loads(key)[1]: number
        for key, number, _, _ in MmapedDict.read_all_values_from_file(str(path))
    }
    return values["moments_redis_circuit_open"]


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOW = []


# --- Protection ---------------------------------------------------------------------------------


def test_without_a_token_or_an_allow_list_metrics_do_not_exist(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOW = []

    local = client.get("/metrics", REMOTE_ADDR="127.0.0.1")

    assert local.status_code == 404
    assert b"moments_" not in local.content


def test_a_scraper_needs_the_bearer_token(client, token):
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-it"})
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"].startswith("Bearer")
    assert b"moments_" not in wrong.content
    right = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert right.status_code == 200
    assert b"# TYPE moments_grants_total counter" in right.content


def test_a_signed_in_account_admin_is_no_scraper(client, token, alice):
    """/metrics is not a console page: a session, even an admin's, does not open it."""
    client.force_login(alice)

    response = client.get("/metrics")

    assert response.status_code == 401
    assert b"moments_" not in response.content


def test_a_scrape_time_gauge_that_fails_is_left_out_and_the_rest_still_answers(token, monkeypatch):
    from console import metrics

    def database_down():
        raise OperationalError("connection refused")

    monkeypatch.setitem(metrics._scrape_gauges, "moments_sweep_lag_seconds", database_down)

    samples = scrape()

    assert ("moments_sweep_lag_seconds", ()) not in samples
    assert ("moments_webhook_oldest_pending_seconds", ()) in samples
    assert ("moments_grants_total", ()) in samples


def test_the_allow_list_admits_networks_by_the_client_address_behind_trusted_proxies(
    client, settings
):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOW = ["10.1.0.0/16"]
    settings.TRUSTED_PROXIES = ["192.0.2.1"]

    inside = client.get("/metrics", REMOTE_ADDR="10.1.2.3")
    outside = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    # A client outside, through our proxy: the proxy's address does not let it in...
    proxied = client.get(
        "/metrics", REMOTE_ADDR="192.0.2.1", headers={"X-Forwarded-For": "203.0.113.9"}
    )
    # ...and a forged header from a peer that is not our proxy is dropped.
    forged = client.get(
        "/metrics", REMOTE_ADDR="203.0.113.9", headers={"X-Forwarded-For": "10.1.2.3"}
    )
    # A scraper inside, through our proxy, is.
    proxied_inside = client.get(
        "/metrics", REMOTE_ADDR="192.0.2.1", headers={"X-Forwarded-For": "10.1.9.9"}
    )

    assert inside.status_code == 200
    assert [outside.status_code, proxied.status_code, forged.status_code] == [401, 401, 401]
    assert proxied_inside.status_code == 200


def test_metrics_answer_plain_http_and_any_host_in_production(client, token, settings):
    """Prometheus scrapes each instance by its address over the private network, as balancers
    probe /healthz: no HTTPS redirect, no ALLOWED_HOSTS 400."""
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["console.example.com"]

    response = client.get(
        "/metrics", HTTP_HOST="10.0.0.7:8000", headers={"Authorization": f"Bearer {TOKEN}"}
    )

    assert response.status_code == 200


# --- The families, after traffic ----------------------------------------------------------------


def test_a_scrape_after_traffic_finds_every_family_with_a_sensible_value(
    token,
    api,
    api_app,
    live,
    monkeypatch,
    receiver,
    alice,
    django_capture_on_commit_callbacks,
):
    before = scrape()
    with django_capture_on_commit_callbacks(execute=True):
        infos = [api.info(live) for _ in range(3)]
        grants = [api.reward(live) for _ in range(2)]
        refused = api.post("GetRewardInfo", body_for(live), key="mk_bad.key")
        # Without a valid key calls are throttled per IP at 5 a second (needs Redis).
        anonymous = [
            api.post("GetReward", body_for(live), key="mk_bad.key", remote_addr="198.51.100.7")
            for _ in range(6)
        ]
        # The database goes away under GetRewardInfo: a JSON 503 and a database error.
        from rewards.api import views

        def unreachable(**kwargs):
            raise OperationalError("connection refused")

        monkeypatch.setattr(views, "reward_info", unreachable)
        outage = api.info(live)
        monkeypatch.undo()
        # A task run (in-process, as the worker runs it: Celery's signals fire the same).
        sweep_campaigns.delay()
        # Webhooks: one delivered, one to a closed port (retried later).
        account = api_app.app.account
        good, _ = webhook_endpoint_create(
            account=account, actor=alice, url=receiver.url, events=["campaign.status_changed"]
        )
        closed, _ = webhook_endpoint_create(
            account=account,
            actor=alice,
            url="http://127.0.0.1:9/nobody-listens",
            events=["campaign.status_changed"],
        )
        webhook_endpoint_send_test(endpoint=good, actor=alice)
        webhook_endpoint_send_test(endpoint=closed, actor=alice)
        # The month's invoice run, the month after: the card account has no card on file.
        today = timezone.localdate()
        issued = invoices_issue_month(
            month=today, now=timezone.now() + (month_after(month_start(today)) - month_start(today))
        )
    # Lag: a campaign that should have gone live an hour ago, and a webhook retry 10 min due.
    hour_ago = timezone.now() - timedelta(hours=1)
    live_campaign(
        api_app.app,
        status="approved",
        approved_at=hour_ago - timedelta(days=1),
        live_at=None,
        goes_live_at=hour_ago,
    )
    WebhookDelivery.objects.filter(endpoint=closed).update(
        next_attempt_at=timezone.now() - timedelta(minutes=10)
    )
    after = scrape()

    assert [r.status_code for r in infos + grants] == [200] * 5
    assert refused.status_code == 403
    assert outage.status_code == 503
    assert len(issued) == 1

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    # Other processes (test workers) may count into the same folder: at least ours.
    info, reward = "GetRewardInfo", "GetReward"
    assert delta("moments_api_requests_total", endpoint=info, outcome="ok") >= 3
    assert delta("moments_api_requests_total", endpoint=reward, outcome="ok") >= 2
    assert delta("moments_api_requests_total", endpoint=info, outcome="invalid_api_key") >= 1
    assert delta("moments_api_requests_total", endpoint=info, outcome="service_unavailable") >= 1
    assert delta("moments_api_request_seconds_count", endpoint=info) >= 5
    assert delta("moments_api_request_seconds_sum", endpoint=info) > 0
    # Cumulative buckets: +Inf holds every call, and the sum of a few test calls is far below
    # a second each.
    assert delta("moments_api_request_seconds_bucket", endpoint=info, le="+Inf") >= 5
    assert value(after, "moments_api_request_seconds_bucket", endpoint=info, le="2.5") > 0
    assert delta("moments_grants_total") >= 2
    assert delta("moments_spend_total", currency="USD") >= 20.0  # 2 grants x CPA $10
    outage_errors = {"source": "rewards_api", "error": "OperationalError"}
    assert delta("moments_database_errors_total", **outage_errors) >= 1
    task = "campaigns.tasks.sweep_campaigns"
    assert delta("moments_celery_tasks_total", task=task, outcome="success") >= 1
    send = "console.webhooks.tasks.send_webhook_delivery"
    assert delta("moments_celery_tasks_total", task=send, outcome="success") >= 2
    assert delta("moments_webhook_deliveries_total", outcome="delivered") >= 1
    assert delta("moments_webhook_deliveries_total", outcome="retrying") >= 1
    assert delta("moments_invoices_issued_total") >= 1
    assert delta("moments_payments_failed_total", reason="no_card") >= 1
    assert value(after, "moments_redis_circuit_open") in (0, 1)  # max of live processes
    assert own_circuit_gauge() == 0
    assert ("moments_redis_circuit_opened_total", ()) in after
    assert 3500 <= value(after, "moments_sweep_lag_seconds") <= 3700
    assert 590 <= value(after, "moments_webhook_oldest_pending_seconds") <= 700
    if django_settings.REDIS_URL:
        assert [a.status_code for a in anonymous] == [403] * 5 + [429]
        assert delta("moments_api_throttled_total", caller="ip") >= 1
        assert delta("moments_api_requests_total", endpoint=reward, outcome="rate_limited") >= 1
    else:  # the embedded default: nothing is throttled, the family still reads 0
        assert {a.status_code for a in anonymous} == {403}
        assert ("moments_api_throttled_total", (("caller", "ip"),)) in after
    assert families(after) >= FAMILIES


def test_the_dashboard_uses_exactly_the_scraped_names(token, api, live):
    api.info(live)
    samples = scrape()
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    used = set(re.findall(r"\bmoments_[a-z0-9_]+", " ".join(exprs)))
    scraped = {name for name, _ in samples}

    assert used, "the dashboard has no PromQL"
    assert used <= scraped, f"the dashboard names metrics the scrape lacks: {used - scraped}"
    shown = {re.sub(r"_(total|bucket|sum|count)$", "", name) for name in used}
    assert families(samples) <= shown, f"families not on the dashboard: {families(samples) - shown}"
    assert shown >= FAMILIES


# --- Processes add up; the folder is emptied only on a fresh start ------------------------------


def _python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "console.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_counts_of_other_processes_add_up_in_one_scrape(token):
    before = value(scrape(), "moments_invoices_issued_total")

    for _ in range(2):  # two processes, one after the other, each counting one invoice
        _python(
            "import django; django.setup(); from console.metrics import invoice_issued; "
            "invoice_issued()"
        )

    assert value(scrape(), "moments_invoices_issued_total") - before >= 2


def test_the_folder_is_emptied_on_a_fresh_start_and_never_under_a_live_process(tmp_path):
    stale = tmp_path / "counter_4242.db"
    stale.write_bytes(b"old run")
    prepare = (
        "import sys; from console.metrics import metrics_directory_prepare; "
        f"metrics_directory_prepare({str(tmp_path)!r})"
    )
    # A live process of the service (a web worker) holds the folder.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys; "
            f"fd = os.open({str(tmp_path / '.lock')!r}, os.O_RDWR | os.O_CREAT); "
            "fcntl.flock(fd, fcntl.LOCK_SH); print('ready', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        _python(prepare)  # another worker starts: the live one's files stay
        assert stale.exists()
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    _python(prepare)  # everything stopped, then a fresh start: the old run's files go

    assert not stale.exists()
    assert (tmp_path / ".lock").exists()


def test_the_redis_circuit_gauge_reads_1_while_open_and_0_once_closed(token, settings):
    from console.redis import RedisUnavailable, redis_call, redis_reset

    before = scrape()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens: refused, the circuit opens
    redis_reset()
    with pytest.raises(RedisUnavailable):
        redis_call(lambda client: client.ping())

    opened = scrape()
    assert own_circuit_gauge() == 1
    redis_reset()  # what the next test starts from: this process's circuits closed
    closed = scrape()

    assert value(opened, "moments_redis_circuit_open") == 1
    assert (
        value(opened, "moments_redis_circuit_opened_total")
        - value(before, "moments_redis_circuit_opened_total")
        >= 1
    )
    assert own_circuit_gauge() == 0
    assert value(closed, "moments_redis_circuit_open") in (0, 1)  # other workers' circuits
