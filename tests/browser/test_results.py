"""Results over time in a real Chromium: the demo account's live campaign draws its
charts (four) from the vendored Chart.js, their series add up to the ledger, the CSV says the same
numbers, and the dashboard shows the spend bars."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from django.db.models import Sum
from playwright.sync_api import expect

from billing.models import LedgerEntry
from campaigns.models import Campaign
from campaigns.results.rollup import campaigns_days_roll_up
from console.pages.demo import demo_account_load
from rewards.models import RewardGrant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page, email, password):
    page.goto("/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def _painted_pixels(page, canvas_id: str) -> int:
    """How many pixels of the canvas are not transparent (a blank canvas has none)."""
    return page.evaluate(
        """(id) => {
            const canvas = document.getElementById(id);
            const context = canvas.getContext("2d");
            const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) painted++;
            return painted;
        }""",
        canvas_id,
    )


def _series(page) -> dict:
    """The data each chart drew, as Chart.js holds it."""
    return page.evaluate(
        """() => {
            const data = (id) => Chart.getChart(document.getElementById(id)).data;
            const sets = (id) =>
                Object.fromEntries(data(id).datasets.map((d) => [d.label, d.data]));
            return {
                labels: data("chart-actions").labels,
                actions: sets("chart-actions"),
                spend: Object.assign(sets("chart-spend"), sets("chart-cumulative")),
                rewards: sets("chart-rewards"),
            };
        }"""
    )


def test_the_demo_campaign_draws_charts_that_add_up_to_the_ledger_and_the_csv(page):
    demo = demo_account_load()
    # Closed days come from the rollup, today from the raw rows: both are on the page.
    campaigns_days_roll_up()
    live = Campaign.objects.get(campaign_id=demo.live_campaign_id)
    _log_in(page, demo.email, demo.password)
    page.goto(f"/campaigns/{live.campaign_id}/")
    page.wait_for_function(
        "['chart-actions', 'chart-spend', 'chart-cumulative', 'chart-rewards'].every("
        "(id) => window.Chart && Chart.getChart(document.getElementById(id)))"
    )
    for canvas in ("chart-actions", "chart-spend", "chart-cumulative", "chart-rewards"):
        expect(page.locator(f"#{canvas}")).to_be_visible()
        assert _painted_pixels(page, canvas) > 500, f"{canvas} is blank"

    series = _series(page)
    charges = LedgerEntry.objects.filter(campaign=live, kind=LedgerEntry.Kind.CHARGE)
    ledger_spend = LedgerEntry.objects.filter(campaign=live).aggregate(s=Sum("amount"))["s"]
    moments = list(live.moments.order_by("pk"))
    assert list(series["actions"]) == [m.moment_id for m in moments]
    for moment in moments:
        assert sum(series["actions"][moment.moment_id]) == charges.filter(moment=moment).count()
    assert sum(sum(v) for v in series["actions"].values()) == demo.charges == charges.count()
    spent = sum(Decimal(str(v)) for v in series["spend"]["Spend per day"])
    assert spent == ledger_spend
    assert Decimal(str(series["spend"]["Cumulative spend"][-1])) == ledger_spend
    assert set(series["spend"]["Total budget"]) == {float(live.total_budget)}
    # A day's spend has its own chart: against the budget's axis it was a flat line.
    per_day_max = page.evaluate(
        "() => Chart.getChart(document.getElementById('chart-spend')).scales.y.max"
    )
    assert per_day_max < float(live.total_budget) / 5
    tallest = max(float(v) for v in series["spend"]["Spend per day"])
    assert tallest > per_day_max / 2  # the tallest day fills at least half the chart
    claimed = RewardGrant.objects.filter(campaign=live, redeemed_at__isnull=False).count()
    assert sum(series["rewards"]["Claimed"]) == claimed > 0

    # The collapsed table holds the same numbers for screen readers.
    expect(page.locator("#results-table")).to_be_hidden()
    page.get_by_text("The numbers, day by day (table)").click()
    expect(page.locator("#results-table")).to_be_visible()
    expect(page.locator("#results-table tbody tr")).to_have_count(len(series["labels"]))

    # The CSV, downloaded with the same session, says what the charts drew.
    href = page.locator("#results-csv").get_attribute("href")
    response = page.request.get(href)
    assert response.ok
    rows = list(csv.reader(io.StringIO(response.text())))
    header, body = rows[0], rows[1:]
    assert [r[0] for r in body] == series["labels"]
    for moment in moments:
        column = header.index(f"actions {moment.moment_id}")
        assert [int(r[column]) for r in body] == series["actions"][moment.moment_id]
    assert [Decimal(r[header.index("spend")]) for r in body] == [
        Decimal(str(v)).quantize(Decimal("0.0001")) for v in series["spend"]["Spend per day"]
    ]
    assert [int(r[header.index("claimed")]) for r in body] == series["rewards"]["Claimed"]
    assert Decimal(body[-1][header.index("cumulative spend")]) == ledger_spend


def test_a_reversed_range_is_refused_on_the_page(page):
    demo = demo_account_load()
    _log_in(page, demo.email, demo.password)
    page.goto(f"/campaigns/{demo.live_campaign_id}/")
    page.get_by_label("From", exact=True).fill("2026-03-19")
    page.get_by_label("To", exact=True).fill("2026-03-01")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#results-range-error")).to_contain_text("The range starts after it ends")
    page.wait_for_function(
        "window.Chart && Chart.getChart(document.getElementById('chart-actions'))"
    )


def test_the_dashboard_shows_the_months_spend_and_the_live_campaigns_budget_bars(page):
    demo = demo_account_load()
    live = Campaign.objects.get(campaign_id=demo.live_campaign_id)
    _log_in(page, demo.email, demo.password)
    page.goto("/dashboard/")
    account_bar = page.locator("#account-spend-bar")
    expect(account_bar).to_be_visible()
    expect(page.locator("#account-spend-figures")).to_contain_text("of $15,000.00")
    campaign_bar = page.locator(f'[data-campaign-id="{live.campaign_id}"]')
    expect(campaign_bar).to_contain_text(live.name)
    expect(campaign_bar).to_contain_text(f"of ${live.total_budget:,.2f}")
    width = campaign_bar.locator(".progress-bar").evaluate(
        "(el) => el.getBoundingClientRect().width"
    )
    assert width > 0
    # Each bar's percentage is beside it, whole, however narrow the bar.
    for label in page.locator(".mc-bar-percent").all():
        expect(label).to_have_text(re.compile(r"^\d+ %$"))
        assert label.evaluate("(el) => el.scrollWidth <= el.clientWidth")
    # Campaigns in test mode have a tile, linking to them.
    tile = page.locator("#tile-test-mode")
    expect(tile).to_contain_text("In test mode")
    tile.click()
    expect(page.get_by_role("link", name="Weekend tournament")).to_be_visible()
    assert page.url.endswith("/campaigns/?status=approved")
