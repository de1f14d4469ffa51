"""Per-key throttling of the Rewards API, counted in Redis."""

from __future__ import annotations

import logging

import pytest

from rewards.models import RewardGrant

from .conftest import body_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def five_per_second(api_app):
    api_app.app.rate_limit_per_second = 5
    api_app.app.save(update_fields=["rate_limit_per_second"])
    return api_app


def test_the_sixth_call_within_one_second_is_a_429_with_retry_after(
    redis_client, five_per_second, api, live
):
    answers = [api.info(live) for _ in range(3)] + [api.reward(live) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200, 200, 200, 429]
    assert [a["X-RateLimit-Remaining"] for a in answers] == ["4", "3", "2", "1", "0", "0"]
    assert all(a["X-RateLimit-Limit"] == "5" for a in answers)
    throttled = answers[-1]
    assert throttled["Retry-After"] == "1"
    assert throttled.json()["errorCode"] == "rate_limited"
    assert RewardGrant.objects.count() == 2  # the throttled call got nothing


def test_the_limit_is_per_key_and_set_per_app_by_staff(redis_client, api_app, api, live):
    api_app.app.rate_limit_per_second = 2
    api_app.app.save(update_fields=["rate_limit_per_second"])

    assert [api.info(live).status_code for _ in range(3)] == [200, 200, 429]


def test_calls_without_a_valid_key_are_throttled_per_caller_ip(redis_client, api, live):
    answers = [
        api.post("GetRewardInfo", body_for(live), key="mk_bad.key", remote_addr="198.51.100.7")
        for _ in range(6)
    ]

    assert [a.status_code for a in answers] == [403] * 5 + [429]
    assert answers[0]["X-RateLimit-Limit"] == "5"


def test_without_redis_calls_are_not_throttled(settings, five_per_second, api, live):
    settings.REDIS_URL = ""

    answers = [api.info(live) for _ in range(8)]

    assert {a.status_code for a in answers} == {200}
    assert answers[-1]["X-RateLimit-Limit"] == "5"


def test_a_redis_outage_turns_throttling_off_with_one_log_line_and_no_error(
    settings, five_per_second, api, live, caplog
):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there

    with caplog.at_level(logging.INFO):
        answers = [api.reward(live) for _ in range(7)]

    assert {a.status_code for a in answers} == {200}
    assert RewardGrant.objects.count() == 7
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(problems) == 1  # one line for the outage, not one (or three) per call
    assert "Redis at 127.0.0.1:1/0 is unreachable" in problems[0]
    assert "unthrottled" in problems[0]
