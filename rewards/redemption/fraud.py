"""Fraud checks of a claim (SPEC §8): linked shopper accounts, and staff's review of the
attempts they refused.

Each claim records the device id (the signed `mc_device` cookie, rewards/redemption/device.py),
the IP and the normalised shipping address. A shopper linked through the same device or the same
address to more than `FRAUD_MAX_LINKED_ACCOUNTS` shopper accounts (themselves included) is
refused, and the attempt is kept as a `flagged` Claim that does not hold the grant.

The count is of claims, and a claim being made is not a row yet: `fraud_check` first takes a
transaction-scoped lock on the device and on the address (console.locks), so claims that share
either are decided one after the other, each counting the ones committed before it; the claim
(or its flag) is written in that same transaction. Staff work
flagged claims in Django admin (rewards/redemption/admin.py): *release* (the shopper may then
claim that grant) or *block* (the grant can never be claimed), each through a service here that
records who decided.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from console.activity import activity_record
from console.locks import advisory_xact_lock
from rewards.models import Claim, RewardGrant

from .reviews import ClaimReview

OK = "ok"
FLAGGED = "flagged"

# Common spellings of the same thing in an address, folded to one (USPS and Royal Mail style
# abbreviations, and the German "straße" which casefold() has already turned into "strasse").
ABBREVIATIONS = {
    "street": "st",
    "str": "st",
    "strasse": "st",
    "avenue": "ave",
    "av": "ave",
    "road": "rd",
    "boulevard": "blvd",
    "drive": "dr",
    "lane": "ln",
    "court": "ct",
    "place": "pl",
    "square": "sq",
    "terrace": "ter",
    "highway": "hwy",
    "parkway": "pkwy",
    "apartment": "apt",
    "suite": "ste",
    "floor": "fl",
    "building": "bldg",
    "number": "no",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
}
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def _words(text: str) -> list[str]:
    # NFKC folds full-width digits and letters (common in Japanese addresses); casefold() also
    # folds "ß" to "ss". Punctuation of any script becomes a space.
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    words: list[str] = []
    for word in _NOT_WORD.sub(" ", folded).split():
        # German compounds: "hauptstrasse" and "hauptstr" are both "haupt st".
        for suffix in ("strasse", "str"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                words.extend([word[: -len(suffix)], "st"])
                break
        else:
            words.append(ABBREVIATIONS.get(word, word))
    return words


def address_normalise(
    *,
    line1: str,
    line2: str = "",
    city: str = "",
    postcode: str = "",
    country: str = "",
) -> str:
    """One comparable string for a shipping address: lowercase, punctuation stripped, spaces
    collapsed, common abbreviations folded (street → st, avenue → ave...), "No. 12" as 12, the
    postcode without spaces (a US ZIP+4 as its ZIP). The recipient's name is left out: one
    address under many names is the pattern this catches. Empty when there is no street line
    (a catalog credit ships nothing)."""
    words = _words(line1) + _words(line2)
    # "No. 12" and "#12" are the street number 12 ("#" is punctuation, already gone).
    words = [
        w
        for i, w in enumerate(words)
        if not (w == "no" and i + 1 < len(words) and words[i + 1][0].isdigit())
    ]
    street = " ".join(words)
    if not street:
        return ""
    country = (country or "").strip().lower()
    postcode = "".join(_words(postcode))
    if country == "us" and postcode[:5].isdigit():
        postcode = postcode[:5]  # ZIP+4 is the same delivery area as its ZIP
    parts = [
        country,
        postcode,
        " ".join(_words(city)),
        street,
    ]
    return "|".join(parts)[:600]


def linked_shoppers(*, shopper_id: int, device_id: str, address_normalised: str) -> set[int]:
    """The shopper accounts linked to this attempt: every shopper with a claim (of any status)
    from the same device or to the same normalised address, and the shopper themself."""
    links = Q(pk__in=[])
    if device_id:
        links |= Q(device_id=device_id)
    if address_normalised:
        links |= Q(address_normalised=address_normalised)
    linked = set(Claim.objects.filter(links).values_list("shopper_id", flat=True).distinct())
    linked.add(shopper_id)
    return linked


def fraud_check(
    *, grant: RewardGrant, shopper, device_id: str, address_normalised: str, ip: str | None = None
) -> str:
    """ "ok" or "flagged": fraud_assess without the reason."""
    return fraud_assess(
        grant=grant,
        shopper=shopper,
        device_id=device_id,
        address_normalised=address_normalised,
        ip=ip,
    )[0]


def flag_reason(*, shopper_id: int, device_id: str, address_normalised: str) -> str:
    """Why an attempt is flagged, in the words staff read in the fraud queue: how many shopper
    accounts share the device and how many the address (each count includes the shopper)."""
    parts = []
    for what, field, value in (
        ("device", "device_id", device_id),
        ("shipping address", "address_normalised", address_normalised),
    ):
        if not value:
            continue
        shoppers = set(
            Claim.objects.filter(**{field: value}).values_list("shopper_id", flat=True).distinct()
        ) | {shopper_id}
        if len(shoppers) > 1:
            parts.append(f"{len(shoppers)} shopper accounts on this {what}")
    limit = settings.FRAUD_MAX_LINKED_ACCOUNTS
    linked = ", ".join(parts) or "linked shopper accounts"
    return f"{linked} (the limit is {limit})."[:300]


def fraud_assess(
    *, grant: RewardGrant, shopper, device_id: str, address_normalised: str, ip: str | None = None
) -> tuple[str, str]:
    """("ok", "") to go on with the claim; ("flagged", why) to refuse it
    (services.REFUSALS["flagged"] tells the shopper) and keep the attempt as a flagged claim
    with `why` as its flag_reason (staff read it in the fraud queue). Runs inside reward_claim's
    transaction, before the grant's conditional UPDATE, and holds the device's and the
    address's locks until that transaction ends: the claim it lets through (or the flag) is
    counted by the next claim linked to either. The IP is recorded on the claim but
    links nobody: a household, an office or a mobile carrier share one.

    A release by staff of an earlier flagged attempt of this shopper on this grant lets the
    claim through: staff looked at these links and accepted them."""
    if ClaimReview.objects.filter(
        claim__grant=grant, claim__shopper=shopper, decision=ClaimReview.Decision.RELEASE
    ).exists():
        return OK, ""
    # Two claims linked by one device or address must not both count the links before
    # either is written (issue 17: six at once let four to six through).
    advisory_xact_lock(
        [
            f"fraud:device:{device_id}" if device_id else "",
            f"fraud:address:{address_normalised}" if address_normalised else "",
        ]
    )
    linked = linked_shoppers(
        shopper_id=shopper.pk, device_id=device_id, address_normalised=address_normalised
    )
    if len(linked) > settings.FRAUD_MAX_LINKED_ACCOUNTS:
        return FLAGGED, flag_reason(
            shopper_id=shopper.pk, device_id=device_id, address_normalised=address_normalised
        )
    return OK, ""


class ReviewRefused(Exception):
    """The claim is not a flagged claim awaiting a decision (already decided, or not flagged)."""


REVIEW_PERMISSION = "rewards.review_claim"  # the Support group's (and superusers')


def _review(*, claim: Claim, actor, decision: str, now: datetime | None) -> ClaimReview:
    if not (getattr(actor, "is_staff", False) and actor.has_perm(REVIEW_PERMISSION)):
        raise PermissionDenied("Only Moments support staff can release or block a claim.")
    if claim.status != Claim.Status.FLAGGED or ClaimReview.objects.filter(claim=claim).exists():
        raise ReviewRefused(f"Claim #{claim.pk} is not a flagged claim awaiting review.")
    review = ClaimReview.objects.create(
        claim=claim, decision=decision, actor=actor, created_at=now or timezone.now()
    )
    released = decision == ClaimReview.Decision.RELEASE
    # The row leaves "Flagged for review" either way: the queue and the shopper's page read
    # the status. Conditional on the status the check above read, under the row lock.
    Claim.objects.filter(pk=claim.pk, status=Claim.Status.FLAGGED).update(
        status=Claim.Status.RELEASED if released else Claim.Status.BLOCKED
    )
    claim_activity(
        claim=claim,
        actor=actor,
        action="claim.released" if released else "claim.blocked",
        data={"flag_reason": claim.flag_reason} if claim.flag_reason else None,
    )
    transaction.on_commit(lambda: claim_decision_send(claim_id=claim.pk))
    return review


def claim_activity(*, claim: Claim, actor, action: str, data: dict | None = None) -> None:
    """The audit row of a change to a claim, in the account of the claim's campaign. The claim
    is named by its number only: nothing about the shopper goes into the log."""
    account_id = (
        RewardGrant.objects.filter(pk=claim.grant_id).values_list("campaign__account_id").get()[0]
    )
    activity_record(
        actor=actor,
        account=account_id,
        action=action,
        target=claim,
        data={"grant_id": claim.grant_id, **(data or {})},
    )


@transaction.atomic
def claim_release(*, claim: Claim, actor, now: datetime | None = None) -> ClaimReview:
    """Release a flagged claim: the shopper may now claim that grant (fraud_check lets it
    through) and is emailed the link. The attempt's row stays, as "released", the record of
    the attempt. Only staff with `rewards.review_claim` may (PermissionDenied)."""
    # Lock the claim so a release and a block of the same claim cannot both pass the check.
    claim = Claim.objects.select_for_update().get(pk=claim.pk)
    return _review(claim=claim, actor=actor, decision=ClaimReview.Decision.RELEASE, now=now)


@transaction.atomic
def claim_block(*, claim: Claim, actor, now: datetime | None = None) -> ClaimReview:
    """Block a flagged claim: the grant is blocked (never claimable, by anyone), the claim
    marked blocked and the shopper emailed that the reward is not theirs. Only staff with
    `rewards.review_claim` may (PermissionDenied)."""
    claim = Claim.objects.select_for_update().get(pk=claim.pk)
    review = _review(claim=claim, actor=actor, decision=ClaimReview.Decision.BLOCK, now=now)
    RewardGrant.objects.filter(pk=claim.grant_id).update(blocked=True)
    return review


def claims_decide(*, claims, actor, decision: str) -> tuple[list[ClaimReview], list[str]]:
    """Release or block many flagged claims (the fraud queue's bulk actions): each in its own
    transaction, so one already decided by a colleague refuses only itself. Returns the
    reviews made and the refusals, in words."""
    service = claim_release if decision == ClaimReview.Decision.RELEASE else claim_block
    done, refused = [], []
    for claim in claims:
        try:
            done.append(service(claim=claim, actor=actor))
        except ReviewRefused as exc:
            refused.append(str(exc))
    return done, refused


def claim_decision_send(*, claim_id: int) -> None:
    """Tell the shopper staff's decision on their flagged claim (after it committed), in the
    language they use the reward pages in: released, with the link to claim the reward now;
    blocked, that the reward cannot be given."""
    claim = Claim.objects.select_related("shopper", "grant__campaign").get(pk=claim_id)
    released = claim.status == Claim.Status.RELEASED
    context = {
        "claim": claim,
        "link": settings.SITE_URL.rstrip("/")
        + reverse("rewards:reward_page", args=[claim.grant.token]),
    }
    with translation.override(claim.shopper.language or settings.LANGUAGE_CODE):
        name = "claim_released" if released else "claim_blocked"
        subject = (
            _("You can claim your reward now") if released else _("About the reward you claimed")
        )
        body = render_to_string(f"rewards/redemption/email/{name}.txt", context)
        send_mail(str(subject), body, None, [claim.shopper.email])
