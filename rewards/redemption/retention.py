"""Retention of shoppers' personal data (issue 21; README, "Retention").

A product claim keeps its shipping address SHOPPER_ADDRESS_RETENTION_DAYS (90) after the claim,
or after its return: long past delivery and the return window, time enough for a lost parcel's
enquiry. Then every address field is blanked but the country, which the books keep (where a
reward went, for tax). `address_normalised`, the fraud check's key for "the same address", is
the address itself in plain text (lowercased, spacing folded; not a hash), so it is erased
too: an old claim then no longer links shoppers by address (device links stay).

A flagged claim keeps its address while staff have not decided on it: the review needs it.
The claim itself, its value and its grant are never deleted (the ledger, invoices and campaign
results count them).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from console.retention import update_in_batches

from .models import Claim

ADDRESS_FIELDS = (
    "ship_name",
    "ship_line1",
    "ship_line2",
    "ship_city",
    "ship_postcode",
    "ship_area",
    "ship_city_area",
    "address_normalised",
)
ERASED_ADDRESS = dict.fromkeys(ADDRESS_FIELDS, "")


def _has_address() -> Q:
    q = Q()
    for field in ADDRESS_FIELDS:
        q |= ~Q(**{field: ""})
    return q


def claim_addresses_erase(*, now: datetime | None = None) -> int:
    """Blank the shipping addresses (all but the country) of the claims past
    SHOPPER_ADDRESS_RETENTION_DAYS, in batches; returns how many claims were changed. Safe to
    run twice or concurrently (an erased claim no longer matches)."""
    days = settings.SHOPPER_ADDRESS_RETENTION_DAYS
    if days is None:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    old = (
        Claim.objects.filter(created_at__lt=cutoff)
        .filter(Q(returned_at__isnull=True) | Q(returned_at__lt=cutoff))
        .exclude(status=Claim.Status.FLAGGED)
        .filter(_has_address())
    )
    return update_in_batches(old, values=ERASED_ADDRESS)
