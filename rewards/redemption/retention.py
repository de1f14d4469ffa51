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
# What links a claim to a person's device, erased with the account.
DEVICE_ERASED = {"device_id": "", "ip": None}


# A deleted shopper's email (services.shopper_delete): `.invalid` is reserved (RFC 2606) and
# refused by the sign-up form's email validation, so no living account has one.
TOMBSTONE_DOMAIN = "@invalid"


def shopper_tombstone_email(shopper_id: int) -> str:
    """What a deleted shopper's email becomes: unique (the email constraint), undeliverable,
    and nothing about the person."""
    return f"deleted-{shopper_id}{TOMBSTONE_DOMAIN}"


def _has_address() -> Q:
    q = Q()
    for field in ADDRESS_FIELDS:
        q |= ~Q(**{field: ""})
    return q


def claim_addresses_erase(*, now: datetime | None = None) -> int:
    """Blank the shipping addresses (all but the country) of the claims past
    SHOPPER_ADDRESS_RETENTION_DAYS, and whatever personal data is left on a deleted shopper's
    claims, in batches; returns how many claims were changed. Safe to run twice or
    concurrently (an erased claim no longer matches)."""
    days = settings.SHOPPER_ADDRESS_RETENTION_DAYS
    cutoff = (now or timezone.now()) - timedelta(days=days if days is not None else 36500)
    old = (
        Claim.objects.filter(created_at__lt=cutoff)
        .filter(Q(returned_at__isnull=True) | Q(returned_at__lt=cutoff))
        .exclude(status=Claim.Status.FLAGGED)
        .filter(_has_address())
    )
    erased = update_in_batches(old, values=ERASED_ADDRESS)
    # A claim that was being made while its shopper deleted the account can commit just after
    # the deletion erased the others (its row did not exist yet): this catches it within the
    # hour.
    left_behind = Claim.objects.filter(shopper__email__endswith=TOMBSTONE_DOMAIN).filter(
        _has_address() | ~Q(device_id="") | Q(ip__isnull=False)
    )
    return erased + update_in_batches(left_behind, values={**ERASED_ADDRESS, **DEVICE_ERASED})
