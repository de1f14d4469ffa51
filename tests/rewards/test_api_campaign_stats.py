"""The campaign page's results fragment: read from the ledger and counters, in a fixed number
of queries."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template

from tests.factories import MomentFactory

from .conftest import live_campaign

pytestmark = pytest.mark.django_db


def _render(campaign) -> str:
    return Template("{% load campaign_stats %}{% campaign_stats campaign %}").render(
        Context({"campaign": campaign})
    )


def test_it_shows_actions_per_moment_spend_and_what_remains(api, api_app):
    campaign = live_campaign(api_app.app, quantity_limit=10, total_budget=Decimal("100"))
    MomentFactory(campaign=campaign, moment_id="BOSS_DEFEATED", action="Defeated the boss")
    for moment in ["LEVEL_10_COMPLETE", "LEVEL_10_COMPLETE", "BOSS_DEFEATED"]:
        assert api.reward(campaign, momentId=moment).status_code == 200

    html = _render(campaign)

    assert '<div class="fs-4 fw-semibold" id="stat-actions">3</div>' in html
    assert "$30.00" in html  # spend, from the ledger
    assert "$70.00" in html  # remaining budget
    assert "buys 7 more actions" in html
    assert "7 of 10" in html  # remaining rewards in the US group
    assert '<td class="font-monospace">BOSS_DEFEATED</td><td>Defeated the boss</td>' in html
    assert '<td class="text-end">2</td>' in html and '<td class="text-end">1</td>' in html


def test_it_makes_the_same_number_of_queries_whatever_the_number_of_moments(
    api, api_app, django_assert_num_queries
):
    campaign = live_campaign(api_app.app)
    for n in range(6):
        MomentFactory(campaign=campaign, moment_id=f"EXTRA_{n}")
    api.reward(campaign)

    # Ten: moments, reward groups, this month's spend, and the results rollup's totals (its
    # watermark, its sums, and the five aggregates of what came after it).
    with django_assert_num_queries(10):
        _render(campaign)
