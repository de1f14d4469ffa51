"""One clock and one home for the calendar rules: no app reads the host's clock, midnight is
the business time zone's, and the month helpers agree at the year's edges."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from console.clock import day_end, day_start, month_after, month_before, month_start, parse_month

ROOT = Path(__file__).resolve().parents[2]
APPS = ("console", "campaigns", "billing", "rewards")
HOST_CLOCK = re.compile(r"\bdate\.today\(|\bdatetime\.now\(|\bdatetime\.utcnow\(")


def test_no_app_reads_the_hosts_clock():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if HOST_CLOCK.search(line)
    ]

    assert found == [], (
        "Read time through django.utils.timezone (now(), localdate()), never the host's "
        "clock:\n" + "\n".join(found)
    )


def test_the_scan_would_catch_each_call_to_the_hosts_clock():
    for call in ("date.today()", "datetime.now(UTC)", "datetime.utcnow()", "x = date.today()"):
        assert HOST_CLOCK.search(call)
    assert not HOST_CLOCK.search("timezone.now()")
    assert not HOST_CLOCK.search("timezone.localdate()")


def test_midnight_is_in_the_current_time_zone_by_default():
    with timezone.override("America/New_York"):
        start = day_start(date(2030, 3, 10))

    assert start == datetime(2030, 3, 10, 5, 0, tzinfo=UTC)


def test_a_days_end_is_the_next_days_midnight_even_on_a_short_day():
    zone = ZoneInfo("Europe/Berlin")
    # 31 March 2030: clocks go forward, the day has 23 hours.
    start, end = day_start(date(2030, 3, 31), zone), day_end(date(2030, 3, 31), zone)

    assert end == day_start(date(2030, 4, 1), zone)
    assert start == datetime(2030, 3, 30, 23, 0, tzinfo=UTC)
    assert end == datetime(2030, 3, 31, 22, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "start", "before", "after"),
    [
        (date(2030, 1, 31), date(2030, 1, 1), date(2029, 12, 1), date(2030, 2, 1)),
        (date(2030, 3, 1), date(2030, 3, 1), date(2030, 2, 1), date(2030, 4, 1)),
        (date(2030, 12, 31), date(2030, 12, 1), date(2030, 11, 1), date(2031, 1, 1)),
    ],
)
def test_the_month_helpers_agree_at_the_years_edges(day, start, before, after):
    assert (month_start(day), month_before(day), month_after(day)) == (start, before, after)


@pytest.mark.parametrize("value", ["2030-1", "30-01", "2030-13", "2030/01", "", "soon"])
def test_a_month_that_is_not_yyyy_mm_is_refused(value):
    with pytest.raises(ValueError):
        parse_month(value)


def test_a_month_is_read_as_its_first_day():
    assert parse_month(" 2030-02 ") == date(2030, 2, 1)
