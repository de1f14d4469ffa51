"""The one clock and the calendar rules every app shares: the day boundary in a time zone and
the month (its first day, the month before and after, `YYYY-MM`).

Everything reads time through `django.utils.timezone` (`now()`, `localdate()`): the dates of a
test move with `time_machine` alone, and no code reads the host's local date, which differs
from the business time zone (settings.TIME_ZONE) on a server set to another zone.
`tests/console/test_clock.py` fails if a call to the host's clock (`date.today`,
`datetime.now`, `datetime.utcnow`) comes back into the apps.

The bottom layer: this module imports nothing from the apps.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

from django.utils import timezone


def day_start(day: date, tz: tzinfo | None = None) -> datetime:
    """Midnight starting `day` in `tz` (default: the current time zone, which is the business
    time zone, settings.TIME_ZONE, as nothing activates another one).

    The one definition of "midnight": a campaign goes live and ends at it, the results' and the
    Activity page's days start at it, reward URLs expire at it. Two copies with different zone
    calls would drift apart the day a request activates a user's zone."""
    return datetime.combine(day, time.min, tzinfo=tz or timezone.get_current_timezone())


def day_end(day: date, tz: tzinfo | None = None) -> datetime:
    """The moment `day` is over: midnight starting the next day (an exclusive bound)."""
    return day_start(day + timedelta(days=1), tz)


def month_start(day: date) -> date:
    """The first day of the month `day` falls in: the key of monthly caps and invoices."""
    return day.replace(day=1)


def month_after(day: date) -> date:
    """The first day of the month after the one `day` falls in."""
    # Day 28 exists in every month, and four days later is always in the next one.
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def month_before(day: date) -> date:
    """The first day of the month before the one `day` falls in."""
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def parse_month(value: str) -> date:
    """`YYYY-MM` → the first day of that month; ValueError for anything else (callers turn it
    into their own message: a form error, a filter error, a command error)."""
    year, month = value.strip().split("-")
    if len(year) != 4 or len(month) != 2:
        raise ValueError(f"not a month as YYYY-MM: {value!r}")
    return date(int(year), int(month), 1)
