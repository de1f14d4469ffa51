"""Invalidating GetRewardInfo answers in bulk: the lifecycle sweep passes every campaign it
moved at once, and they cost one Redis round trip, not one per campaign (SPEC §11)."""

from __future__ import annotations

import pytest

from console.redis import redis_client as process_client
from rewards.cache import campaign_generation, full_key, generation_key, invalidate_campaigns

pytestmark = pytest.mark.django_db

PKS = list(range(900_001, 900_051))  # 50 campaigns' cache generations


@pytest.fixture(autouse=True)
def _no_generations_left_behind(settings):
    yield
    if settings.REDIS_URL:
        process_client().delete(*(full_key(generation_key(pk)) for pk in PKS))


def test_50_campaigns_are_invalidated_in_one_redis_round_trip(redis_client, monkeypatch):
    before = {pk: campaign_generation(pk) for pk in PKS}
    pool = process_client().connection_pool
    taken = []
    real_get_connection = pool.get_connection

    def counted(*args, **kwargs):
        # Every round trip takes a connection from the pool (a pipeline takes one for all).
        taken.append(args)
        return real_get_connection(*args, **kwargs)

    monkeypatch.setattr(pool, "get_connection", counted)
    invalidate_campaigns(PKS + PKS[:10])  # repeated ones are bumped once
    monkeypatch.undo()

    assert len(taken) == 1
    assert {pk: campaign_generation(pk) for pk in PKS} == {pk: before[pk] + 1 for pk in PKS}


def test_without_redis_50_campaigns_are_invalidated_too(settings):
    settings.REDIS_URL = ""
    before = {pk: campaign_generation(pk) for pk in PKS}

    invalidate_campaigns(PKS)

    assert {pk: campaign_generation(pk) for pk in PKS} == {pk: before[pk] + 1 for pk in PKS}
