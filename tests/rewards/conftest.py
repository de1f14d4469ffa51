"""Fixtures for the Rewards API tests: an app with its raw key, live and test-mode campaigns,
a client that calls the API like a developer's server, and `grant_engine`, which runs a
GetReward test once per engine."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from console.services import app_register
from tests.factories import CampaignFactory, MomentFactory, RewardGroupFactory


@pytest.fixture(autouse=True)
def _patient_database_connections():
    """The concurrency tests open up to 50 PostgreSQL connections at the same moment (one per
    thread). On CI's loaded 2-core machine forking that many backends can take longer than
    production's 3 s connect timeout, and one call of 200 answered 503 (seen once). The
    product's timeout has its own tests (tests/console/test_database_timeouts.py); these tests
    are about counters and money, so their threads wait up to 30 s for a connection."""
    from django.db import connections

    settings_dict = connections.settings["default"]
    if "postgresql" not in settings_dict["ENGINE"]:
        yield
        return
    options = settings_dict.setdefault("OPTIONS", {})
    before = options.get("connect_timeout")
    options["connect_timeout"] = 30
    try:
        yield
    finally:
        if before is None:
            options.pop("connect_timeout", None)
        else:
            options["connect_timeout"] = before


def _engines() -> list[str]:
    """GetReward's engines this database can run: on PostgreSQL both the SQL function and the
    step-by-step Python path, so neither can drift from the other; elsewhere only Python."""
    from django.conf import settings

    if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
        return ["sql", "python"]
    return ["python"]


def pytest_generate_tests(metafunc):
    # Parametrized at collection, not skipped at run time: on SQLite the "sql" variant does not
    # exist, so the embedded-default run skips only what truly needs PostgreSQL.
    if "grant_engine" in metafunc.fixturenames:
        metafunc.parametrize("grant_engine", _engines(), indirect=True)


@pytest.fixture
def grant_engine(request, settings) -> str:
    """Run the test with GetReward on one engine (rewards.services.grants.grant_engine)."""
    settings.GET_REWARD_ENGINE = request.param
    from rewards.services.grants import grant_engine as engine_in_use

    assert engine_in_use() == request.param
    return request.param


@dataclass
class ApiApp:
    app: object
    key: str


@pytest.fixture
def api_app(acme, alice) -> ApiApp:
    """Acme's app with a raw API key; a high rate limit so throttling stays out of the way
    (the throttling tests set their own)."""
    issued = app_register(
        account=acme,
        actor=alice,
        name="Space Miner",
        platform="android",
        store_url="https://play.example.test/store/apps/details?id=com.acme.miner",
    )
    app = issued.api_key.app
    app.rate_limit_per_second = 100_000
    app.save(update_fields=["rate_limit_per_second"])
    return ApiApp(app=app, key=issued.raw)


def live_campaign(app, **fields):
    """A live campaign of `app` (review over, started yesterday) with a US reward group and
    one moment."""
    now = timezone.now()
    today = timezone.localdate()
    values = {
        "app": app,
        "status": "live",
        "submitted_at": now - timedelta(days=10),
        "approved_at": now - timedelta(days=9),
        "live_at": now - timedelta(days=1),
        "start_date": today - timedelta(days=1),
        "end_date": today + timedelta(days=30),
        "total_budget": Decimal("1000.0000"),
        "cpa": Decimal("10.0000"),
    }
    values.update(fields)
    quantity = values.pop("quantity_limit", None)
    campaign = CampaignFactory(**values)
    RewardGroupFactory(campaign=campaign, marketplace_id="US", quantity_limit=quantity)
    MomentFactory(campaign=campaign, moment_id="LEVEL_10_COMPLETE")
    return campaign


@pytest.fixture
def live(api_app):
    return live_campaign(api_app.app)


@pytest.fixture
def approved(api_app):
    """Approved yesterday, still in its review period: test mode."""
    now = timezone.now()
    return live_campaign(
        api_app.app,
        status="approved",
        submitted_at=now - timedelta(days=1),
        approved_at=now,
        live_at=None,
        start_date=timezone.localdate() + timedelta(days=8),
        end_date=timezone.localdate() + timedelta(days=40),
    )


def body_for(campaign, **overrides) -> dict:
    body = {
        "appId": str(campaign.app.app_id),
        "momentId": "LEVEL_10_COMPLETE",
        "deviceType": "Android",
        "campaignId": str(campaign.campaign_id),
        "rewardGroupId": "US",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


class ApiCaller:
    """Calls the Rewards API as a developer's server does (its own client: no session)."""

    def __init__(self, key: str):
        self.key = key
        self.client = Client()

    def post(
        self, endpoint: str, body, *, key: str | None = "default", remote_addr=None, **headers
    ):
        if key == "default":
            key = self.key
        if key is not None:
            headers["x-api-key"] = key
        path = f"/prod/{endpoint}"
        extra = {"REMOTE_ADDR": remote_addr} if remote_addr else {}
        return self.client.post(
            path, json.dumps(body), content_type="application/json", headers=headers, **extra
        )

    def form(self, endpoint: str, body: dict, **headers):
        from urllib.parse import urlencode

        headers["x-api-key"] = self.key
        return self.client.post(
            f"/prod/{endpoint}",
            urlencode(body),
            content_type="application/x-www-form-urlencoded",
            headers=headers,
        )

    def reward(self, campaign, **overrides):
        return self.post("GetReward", body_for(campaign, **overrides))

    def info(self, campaign, **overrides):
        return self.post("GetRewardInfo", body_for(campaign, **overrides))


@pytest.fixture
def api(api_app) -> ApiCaller:
    return ApiCaller(api_app.key)


@pytest.fixture(autouse=True)
def _fresh_rate_limits(settings):
    """Rate-limit windows live in Redis across tests, remembered keys in the process: start
    each test with none."""
    from rewards.api.auth import forget_all

    forget_all()
    if not settings.REDIS_URL:
        yield
        return
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
        for key in client.scan_iter("mc:rl:*"):
            client.delete(key)
    except redis.RedisError:
        pass
    yield
