"""The Rewards API's log under throttling (issue 17): one throttled burst wrote one
django.request WARNING per 429, 2,335 lines for 2,335 refusals. Refusals (4xx) are the API
working as documented: one INFO line per caller and status per interval. 5xx stay logged."""

from __future__ import annotations

import logging

import pytest

from rewards.api import middleware
from rewards.api import views as api_views

from .conftest import body_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quiet_refusal_log(monkeypatch):
    monkeypatch.setattr(middleware, "_refusal_log", middleware.OncePerInterval(60))


@pytest.fixture
def five_per_second(api_app):
    api_app.app.rate_limit_per_second = 5
    api_app.app.save(update_fields=["rate_limit_per_second"])
    return api_app


def _refusal_lines(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "rewards.api" and r.getMessage().startswith("Rewards API: refused")
    ]


def test_a_throttled_burst_writes_one_line_per_key_not_one_warning_per_refusal(
    redis_client, five_per_second, api, live, caplog
):
    with caplog.at_level(logging.INFO):
        answers = [api.info(live) for _ in range(40)]
        anonymous = [
            api.post("GetRewardInfo", body_for(live), key="mk_bad.key", remote_addr="198.51.100.7")
            for _ in range(12)
        ]

    statuses = [a.status_code for a in answers]
    assert statuses[:5] == [200] * 5 and statuses.count(429) >= 30
    assert {a.status_code for a in anonymous} == {403, 429}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [r for r in caplog.records if r.name == "django.request"]
    key_id = five_per_second.app.api_keys.get().pk
    lines = _refusal_lines(caplog)
    assert len(lines) == 3, lines  # the key's 429s; the IP's 403s; the IP's 429s
    [key_line] = [line for line in lines if f"key {key_id}" in line]
    assert "POST /prod/GetRewardInfo with 429" in key_line
    assert len([line for line in lines if "198.51.100.7" in line]) == 2


def test_the_next_interval_says_how_many_refusals_the_last_line_stood_for(
    redis_client, five_per_second, api, live, caplog, monkeypatch
):
    with caplog.at_level(logging.INFO):
        [api.info(live) for _ in range(10)]  # 5 refusals: one line, four held back
        monkeypatch.setattr(middleware._refusal_log, "seconds", 0)  # the interval is over
        api.info(live)

    lines = _refusal_lines(caplog)
    assert len(lines) == 2
    assert "; 0 more refusals" in lines[0] and "; 4 more refusals of it with 429" in lines[1]


def test_a_server_error_is_still_logged_with_its_traceback(api, live, monkeypatch, caplog):
    def broken(request, body):
        raise RuntimeError("a bug in the parser")

    monkeypatch.setattr(api_views, "parse_reward_request", broken)

    with caplog.at_level(logging.INFO):
        answers = [api.reward(live) for _ in range(2)]

    assert {a.status_code for a in answers} == {500}
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    # Every 500, each with its traceback: errors are never held back like refusals.
    assert len([r for r in errors if r.name == "rewards.api"]) == 2
    assert all(r.exc_info and r.exc_info[0] is RuntimeError for r in errors if r.exc_info)
    assert len([r for r in errors if r.name == "django.request"]) == 2
    assert not _refusal_lines(caplog)
