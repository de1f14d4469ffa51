"""Reads of the shopper's side: a grant by its token, what its page shows, a shopper's
claims and credit balance."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from rewards.models import RewardGrant

from .models import Claim, CreditEntry, Shopper

SESSION_KEY = "shopper_id"
SESSION_HASH_KEY = "shopper_hash"


def grant_by_token(token: str) -> RewardGrant | None:
    return (
        RewardGrant.objects.select_related(
            "campaign__app", "reward_group__marketplace", "reward_group__discount_category"
        )
        .filter(token=token)
        .first()
    )


def grant_claimable(grant: RewardGrant, *, now) -> bool:
    """Whether the grant can still be claimed: the page's Claim buttons and congratulations.
    The claim's conditional UPDATE (services.reward_claim) is what decides a race."""
    return grant.redeemed_at is None and not grant.blocked and grant.expires_at > now


@dataclass(frozen=True)
class Designated:
    """The rewards a reward group offers, as the page lists them."""

    products: list
    catalog_credit: object | None
    currency: str


def designated_rewards(reward_group) -> Designated:
    products = list(reward_group.products.filter(is_active=True).order_by("price", "title"))
    credit = reward_group.discount_category
    if credit is not None and not credit.is_active:
        credit = None
    return Designated(products, credit, reward_group.marketplace.currency)


def session_hash(shopper: Shopper) -> str:
    # Tied to the password hash: a password change (a reset) signs out every other session.
    from django.utils.crypto import salted_hmac

    return salted_hmac("rewards.shopper.session", shopper.password).hexdigest()


def current_shopper(request) -> Shopper | None:
    """The shopper signed in on this session, or None."""
    if hasattr(request, "_shopper"):
        return request._shopper
    shopper = None
    pk = request.session.get(SESSION_KEY)
    if pk is not None:
        shopper = Shopper.objects.filter(pk=pk).first()
        if shopper is not None and request.session.get(SESSION_HASH_KEY) != session_hash(shopper):
            shopper = None
    request._shopper = shopper
    return shopper


def grant_claim(grant: RewardGrant) -> Claim | None:
    """The claim that holds this grant (claimed or returned), if any."""
    return (
        Claim.objects.select_related("product", "catalog_credit", "substitute_for")
        .filter(grant=grant, status__in=[Claim.Status.CLAIMED, Claim.Status.RETURNED])
        .first()
    )


@dataclass(frozen=True)
class Balance:
    catalog_credit: object | None
    currency: str
    amount: Decimal


def shopper_claims(shopper: Shopper) -> list[Claim]:
    return list(
        Claim.objects.filter(shopper=shopper)
        .select_related(
            "product", "catalog_credit", "substitute_for", "grant__campaign", "grant__reward_group"
        )
        .order_by("-created_at", "-pk")
    )


def shopper_balances(shopper: Shopper) -> list[Balance]:
    """The credit balance per sub-category and currency: the ledger's SUM, one query."""
    from rewards.models import DiscountCategory

    rows = list(
        CreditEntry.objects.filter(shopper=shopper)
        .values("catalog_credit", "currency")
        .annotate(amount=Sum("amount"))
        .order_by("currency", "catalog_credit")
    )
    credits = DiscountCategory.objects.in_bulk([r["catalog_credit"] for r in rows])
    return [Balance(credits.get(r["catalog_credit"]), r["currency"], r["amount"]) for r in rows]


def shopper_credit_history(shopper: Shopper) -> list[CreditEntry]:
    return list(
        CreditEntry.objects.filter(shopper=shopper)
        .select_related("catalog_credit", "claim__product")
        .order_by("-created_at", "-pk")
    )


# --- Redemption counts for developers: numbers only, never who (SPEC §8) -----------------------


@dataclass(frozen=True)
class RedemptionCounts:
    """Per moment and reward group: rewards handed out (actions), claimed, expired, returned."""

    moment_id: str
    marketplace_id: str
    actions: int
    claimed: int
    expired: int
    returned: int


def redemption_counts(*, campaigns, now=None) -> list[RedemptionCounts]:
    """One aggregate query over the grants of `campaigns` (a queryset or list), grouped by
    moment and reward group. Expired is read from expires_at, so it is right before the sweep
    stamps it; claimed includes returned (a returned reward was claimed)."""
    now = now or timezone.now()
    rows = (
        RewardGrant.objects.filter(campaign__in=campaigns)
        .values("moment__moment_id", "reward_group__marketplace_id")
        .annotate(
            actions=Count("pk", distinct=True),
            claimed=Count("pk", distinct=True, filter=Q(redeemed_at__isnull=False)),
            expired=Count(
                "pk", distinct=True, filter=Q(redeemed_at__isnull=True, expires_at__lte=now)
            ),
            returned=Count("claims", distinct=True, filter=Q(claims__status=Claim.Status.RETURNED)),
        )
        .order_by("moment__moment_id", "reward_group__marketplace_id")
    )
    return [
        RedemptionCounts(
            moment_id=r["moment__moment_id"],
            marketplace_id=r["reward_group__marketplace_id"],
            actions=r["actions"],
            claimed=r["claimed"],
            expired=r["expired"],
            returned=r["returned"],
        )
        for r in rows
    ]


def redemption_totals(counts: list[RedemptionCounts]) -> dict[str, int]:
    return {
        name: sum(getattr(c, name) for c in counts)
        for name in ("actions", "claimed", "expired", "returned")
    }


# --- The fraud queue (staff) ------------------------------------------------------------------

FRAUD_HISTORY_ROWS = 50  # a device or address with more claims than this is shown in part


@dataclass(frozen=True)
class LinkedShopper:
    """A shopper account linked to a flagged claim, and how: the same device, the same
    normalised shipping address, or both; with what their claims came to."""

    email: str
    by_device: bool
    by_address: bool
    claims: int
    flagged: int
    blocked: int
    first_claim_at: object
    last_claim_at: object
    is_claimant: bool


@dataclass(frozen=True)
class ClaimLinks:
    """What staff need to decide on a flagged claim: the linked shoppers, and the claims
    made from the same device and to the same address (newest first)."""

    shoppers: list[LinkedShopper]
    device_history: list[Claim]
    address_history: list[Claim]


def claim_links(claim: Claim) -> ClaimLinks:
    """The links of `claim` as the fraud check sees them now (SPEC §8): every claim, of any
    status, from its device or to its address. Four queries whatever the number of links."""
    links = Q(pk__in=[])
    if claim.device_id:
        links |= Q(device_id=claim.device_id)
    if claim.address_normalised:
        links |= Q(address_normalised=claim.address_normalised)
    rows = (
        Claim.objects.filter(links | Q(shopper_id=claim.shopper_id, grant_id=claim.grant_id))
        .values("shopper_id", "shopper__email")
        .annotate(
            claims=Count("pk"),
            flagged=Count("pk", filter=Q(status=Claim.Status.FLAGGED)),
            blocked=Count("pk", filter=Q(status=Claim.Status.BLOCKED)),
            by_device=Count("pk", filter=Q(device_id=claim.device_id) & ~Q(device_id="")),
            by_address=Count(
                "pk",
                filter=Q(address_normalised=claim.address_normalised) & ~Q(address_normalised=""),
            ),
            first=Min("created_at"),
            last=Max("created_at"),
        )
        .order_by("-last", "shopper_id")
    )
    shoppers = [
        LinkedShopper(
            email=row["shopper__email"],
            by_device=bool(row["by_device"]),
            by_address=bool(row["by_address"]),
            claims=row["claims"],
            flagged=row["flagged"],
            blocked=row["blocked"],
            first_claim_at=row["first"],
            last_claim_at=row["last"],
            is_claimant=row["shopper_id"] == claim.shopper_id,
        )
        for row in rows
    ]
    history = Claim.objects.select_related(
        "shopper", "grant__campaign", "product", "catalog_credit"
    ).order_by("-created_at", "-pk")
    device_history = (
        list(history.filter(device_id=claim.device_id)[:FRAUD_HISTORY_ROWS])
        if claim.device_id
        else []
    )
    address_history = (
        list(history.filter(address_normalised=claim.address_normalised)[:FRAUD_HISTORY_ROWS])
        if claim.address_normalised
        else []
    )
    return ClaimLinks(shoppers, device_history, address_history)
