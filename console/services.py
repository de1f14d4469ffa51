"""Writes for developer accounts, teams, apps and API keys (STYLE: every write is a service)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from .activity import activity_record, changes
from .hooks import ACCOUNT_LIMITS_CHANGED, hook_call
from .models import (
    Account,
    ApiKey,
    App,
    Invitation,
    Membership,
    SpendLimitChange,
    StaffRequest,
)

User = get_user_model()
log = logging.getLogger(__name__)

INVITATION_DAYS = 7
KEY_PREFIX_TAG = "mk_"
KEY_ISSUE_ATTEMPTS = 5


def _sha256(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


# --- Accounts ---------------------------------------------------------------------------------


def country_refusal(country_code: str) -> str | None:
    """The message shown to a developer from a country Moments does not serve, else None."""
    name = settings.REFUSED_COUNTRIES.get((country_code or "").upper())
    if name is None:
        return None
    return (
        f"Sorry, Moments is not available to developers based in {name}. "
        "Developers from South Africa, Albania, Saudi Arabia, Russia, Switzerland and countries "
        "on the US embargo list cannot sign up."
    )


def tax_id_normalize(value: str) -> str:
    """An optional tax/VAT id as printed on invoices: trimmed, upper case, single spaces; raises
    ValidationError when it cannot be one (letters, digits, spaces, '-', '.', '/' only)."""
    value = " ".join((value or "").split()).upper()
    if len(value) > 40:
        raise ValidationError("A tax / VAT id has at most 40 characters.")
    if value and not all(c.isalnum() or c in " -./" for c in value):
        raise ValidationError(
            "A tax / VAT id has only letters, digits, spaces, '-', '.' and '/' (e.g. DE123456789)."
        )
    return value


def account_signup(
    *,
    company: str,
    country: str,
    billing_address: str,
    email: str,
    password: str,
    tax_id: str = "",
) -> Membership:
    """Create an account with its first user, who becomes its admin.

    Refuses the countries of SPEC §2 and an email that already has a user.
    """
    refusal = country_refusal(country)
    if refusal:
        raise ValidationError({"country": refusal})
    try:
        tax_id = tax_id_normalize(tax_id)
    except ValidationError as exc:
        raise ValidationError({"tax_id": exc.messages}) from None
    email = User.objects.normalize_email(email).lower()
    with transaction.atomic():
        if User.objects.filter(username__iexact=email).exists():
            raise ValidationError({"email": "An account with this email already exists."})
        user = User.objects.create_user(username=email, email=email, password=password)
        account = Account.objects.create(
            name=company.strip(),
            country=country,
            billing_address=billing_address.strip(),
            tax_id=tax_id,
        )
        activity_record(actor=user, account=account, action="account.signed_up", target=account)
        return Membership.objects.create(account=account, user=user, role=Membership.Role.ADMIN)


# --- Team -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    token: str  # the raw token, only ever in the email's link


def invitation_create(
    *, account: Account, actor, email: str, role: str = Membership.Role.MEMBER
) -> IssuedInvitation:
    """Invite a teammate by email: replaces any open invitation to the same address and sends
    the link (after commit, so a rolled-back invitation is never mailed)."""
    membership = getattr(actor, "membership", None)
    if membership is None or membership.account_id != account.pk or not membership.is_admin:
        raise PermissionError("Only an admin of this account can invite teammates.")
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(username__iexact=email).exists():
        raise ValidationError(
            {
                "email": "This person already has a Moments Console account; "
                "a user can belong to one company only."
            }
        )
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        Invitation.objects.filter(
            account=account, email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now)
        invitation = Invitation.objects.create(
            account=account,
            email=email,
            role=role,
            token_hash=_sha256(token),
            invited_by=actor,
            expires_at=now + timedelta(days=INVITATION_DAYS),
        )
        activity_record(
            actor=actor,
            account=account,
            action="invitation.created",
            target=invitation,
            data={"email": email, "role": role},
        )
        link = f"{settings.SITE_URL}/invitations/{token}/"
        context = {"account": account, "inviter": actor, "link": link, "days": INVITATION_DAYS}
        transaction.on_commit(
            lambda: send_mail(
                subject=f"{actor.email} invited you to {account.name} on Moments Console",
                message=render_to_string("console/email/invitation.txt", context),
                html_message=render_to_string("console/email/invitation.html", context),
                from_email=None,
                recipient_list=[email],
            )
        )
    return IssuedInvitation(invitation=invitation, token=token)


def invitation_find(*, token: str) -> Invitation | None:
    """The open invitation for a raw link token, or None."""
    invitation = (
        Invitation.objects.select_related("account").filter(token_hash=_sha256(token)).first()
    )
    if invitation is None or not invitation.is_open:
        return None
    return invitation


def invitation_accept(*, token: str, password: str) -> Membership:
    """Accept an invitation: creates the invitee's user and seat, and closes the invitation.

    The conditional update makes a double-submitted form accept it once.
    """
    invitation = invitation_find(token=token)
    if invitation is None:
        raise ValidationError("This invitation link is invalid, used or expired.")
    with transaction.atomic():
        claimed = Invitation.objects.filter(
            pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(accepted_at=timezone.now())
        if claimed != 1:
            raise ValidationError("This invitation has already been used.")
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    username=invitation.email, email=invitation.email, password=password
                )
        except IntegrityError as exc:
            raise ValidationError("This email already has a Moments Console account.") from exc
        activity_record(
            actor=user,
            account=invitation.account,
            action="invitation.accepted",
            target=invitation,
            data={"email": invitation.email, "role": invitation.role},
        )
        return Membership.objects.create(
            account=invitation.account, user=user, role=invitation.role
        )


def invitation_revoke(*, invitation: Invitation, actor) -> None:
    """Withdraw an open invitation; its link stops working."""
    with transaction.atomic():
        revoked = Invitation.objects.filter(
            pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
        if revoked:  # revoking twice (a double click) is one change
            activity_record(
                actor=actor,
                account=invitation.account_id,
                action="invitation.revoked",
                target=invitation,
                data={"email": invitation.email},
            )


# --- Apps and keys ----------------------------------------------------------------------------


def parse_allowed_ips(raw: str) -> list[str]:
    """Turn the form's text (IPs or CIDRs, separated by commas, spaces or new lines) into a
    normalised list. Raises ValidationError naming every entry that is not an IP or a network."""
    entries = [e for e in raw.replace(",", " ").split() if e]
    cleaned, bad = [], []
    for entry in entries:
        try:
            cleaned.append(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError:
            bad.append(entry)
    if bad:
        raise ValidationError(
            "Not an IP address or CIDR range: %(bad)s. Use forms like 203.0.113.7 or "
            "203.0.113.0/24.",
            params={"bad": ", ".join(bad)},
        )
    return list(dict.fromkeys(cleaned))


def ip_allowed(app: App, remote_ip: str) -> bool:
    """True when the app has no allow-list or the caller's IP is inside one of its networks."""
    if not app.allowed_ips:
        return True
    try:
        address = ipaddress.ip_address(remote_ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in app.allowed_ips)


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    raw: str  # shown to the developer once, never stored


def _random_prefix() -> str:
    return f"{KEY_PREFIX_TAG}{secrets.token_hex(4)}"


def _new_key(*, app: App, actor) -> IssuedKey:
    """Issue a key under a fresh public prefix.

    The prefix is short (8 hex digits, so developers can tell keys apart at a glance) and
    unique, so two keys can draw the same one. A collision is retried with a new prefix inside
    a savepoint: the caller's transaction (the app just registered, the old keys' grace) stays
    intact and the developer gets a key instead of a 500.
    """
    attempt = 1
    while True:
        prefix = _random_prefix()
        raw = f"{prefix}.{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                api_key = ApiKey.objects.create(
                    app=app, prefix=prefix, key_hash=_sha256(raw), created_by=actor
                )
        except IntegrityError:
            # Only a taken prefix is worth another draw; any other broken rule is a bug.
            if attempt == KEY_ISSUE_ATTEMPTS or not ApiKey.objects.filter(prefix=prefix).exists():
                raise
            log.warning("API key prefix %s was taken; drawing another", prefix)
            attempt += 1
            continue
        return IssuedKey(api_key=api_key, raw=raw)


def app_register(
    *,
    account: Account,
    actor,
    name: str,
    platform: str,
    store_url: str,
    allowed_ips: list[str] | None = None,
) -> IssuedKey:
    """Register an app and issue its first API key (returned raw, once)."""
    if platform == App.Platform.FIRE_TV:
        raise ValidationError({"platform": "Fire TV apps are registered by the Moments team."})
    with transaction.atomic():
        app = App(
            account=account,
            name=name.strip(),
            platform=platform,
            store_url=store_url,
            allowed_ips=allowed_ips or [],
            created_by=actor,
        )
        app.full_clean()
        app.save()
        issued = _new_key(app=app, actor=actor)
        activity_record(
            actor=actor,
            account=account,
            action="app.registered",
            target=app,
            data={"platform": platform, "key_prefix": issued.api_key.prefix},
        )
        return issued


def app_update(*, app: App, actor, name: str, store_url: str, allowed_ips: list[str]) -> App:
    """Change an app's name, store URL and IP allow-list."""
    fields = ["name", "store_url", "allowed_ips"]
    before = {field: getattr(app, field) for field in fields}
    app.name = name.strip()
    app.store_url = store_url
    app.allowed_ips = allowed_ips
    app.full_clean()
    with transaction.atomic():
        app.save(update_fields=fields)
        changed = changes(before, {field: getattr(app, field) for field in fields})
        if changed:  # a form saved unchanged changes nothing worth a row
            activity_record(
                actor=actor,
                account=app.account_id,
                action="app.updated",
                target=app,
                data={"fields": [f.replace("_", " ") for f in changed], "changes": changed},
            )
        app_access_changed(app=app)
    return app


def api_key_rotate(*, app: App, actor) -> IssuedKey:
    """Issue a new key; the keys in use keep working for the grace period (24 h) so a live
    integration is never cut off, then stop."""
    now = timezone.now()
    grace_end = now + timedelta(hours=settings.API_KEY_GRACE_HOURS)
    with transaction.atomic():
        # Only keys without an expiry get one: rotating twice must not extend an older grace.
        old = list(
            ApiKey.objects.filter(
                app=app, revoked_at__isnull=True, expires_at__isnull=True
            ).values_list("prefix", flat=True)
        )
        ApiKey.objects.filter(app=app, revoked_at__isnull=True, expires_at__isnull=True).update(
            expires_at=grace_end
        )
        app_access_changed(app=app)  # remembered old keys must learn their new expiry
        issued = _new_key(app=app, actor=actor)
        activity_record(
            actor=actor,
            account=app.account_id,
            action="api_key.rotated",
            target=app,
            data={
                "prefix": issued.api_key.prefix,
                "old_prefixes": old,
                "old_keys_work_until": grace_end,
            },
        )
        return issued


def api_key_revoke(*, api_key: ApiKey, actor) -> None:
    """End a key at once (in every web process too: see app_access_changed)."""
    with transaction.atomic():
        revoked = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if revoked:  # revoking twice (a double click) is one change
            activity_record(
                actor=actor,
                account=api_key.app.account_id,
                action="api_key.revoked",
                target=api_key.app,
                data={"prefix": api_key.prefix},
            )
        app_access_changed(app=api_key.app)


# The Rewards API remembers authenticated keys per web process (rewards.api.auth) and checks,
# in the Redis round trip every call already makes, that the account's "keyring generation" is
# still the one it remembered them under. Every write that changes who may call, from where or
# how often bumps that generation after commit, so the next call re-reads the database.
KEYRING_TTL = 60 * 60 * 24 * 30

# A missing generation (new, expired or lost with Redis's data) starts from Redis's clock in
# microseconds, never from 0: a value some process remembered can then not come back.
_KEYRING_BUMP = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  local t = redis.call('TIME')
  redis.call('SET', KEYS[1], t[1] .. string.format('%06d', tonumber(t[2])))
end
local generation = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return generation
"""


def keyring_generation_key(account_id: int) -> str:
    """The Redis key of an account's keyring generation."""
    from console.redis import full_key

    return full_key(f"keyring:gen:{account_id}")


def _keyring_bump(account_id: int) -> None:
    from console.redis import RedisUnavailable, redis_call

    if not settings.REDIS_URL:
        return  # without Redis the API remembers no key: nothing to tell
    try:
        redis_call(
            lambda client: client.eval(
                _KEYRING_BUMP, 1, keyring_generation_key(account_id), KEYRING_TTL
            )
        )
    except RedisUnavailable as exc:
        # The change is committed; remembered keys then expire by
        # REWARDS_API_KEY_MEMORY_SECONDS, the upper bound kept for exactly this case. A line per
        # lost bump: bumps follow a person's change (a revoked key), never an API call.
        log.error("Could not bump the API keyring of account %s: %s", account_id, exc)


def app_access_changed(*, app: App, account_ids: tuple[int, ...] = ()) -> None:
    """Tell every web process that who may call as `app` changed (a key revoked, rotated or
    edited, the IP allow-list, the rate limit): after commit, the Rewards API stops trusting
    what it remembers about the keys of the app's account (and of `account_ids`, e.g. the
    account an app was moved from)."""
    for account_id in {app.account_id, *account_ids}:
        transaction.on_commit(lambda account_id=account_id: _keyring_bump(account_id))


def account_limits_changed(*, account: Account) -> None:
    """After an account's monthly spend limit changed: the Rewards API reads it from the app it
    remembers (GetReward) and from cached GetRewardInfo answers (remainingRewardCount), so
    both are made stale after commit (the cached answers by the Rewards API's hook)."""
    transaction.on_commit(lambda: _keyring_bump(account.pk))
    hook_call(ACCOUNT_LIMITS_CHANGED, account=account)


SPEND_LIMIT_MAX = Decimal("9999999999.99")  # Account.monthly_spend_limit: 12 digits, 2 places


def spend_limit_error(limit) -> str | None:
    """What is wrong with a new monthly spend limit, or None."""
    try:
        value = Decimal(str(limit)) if limit is not None and str(limit).strip() else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        return "Enter the new monthly spend limit in USD, e.g. 25000.00."
    if value < 0:
        return "The spend limit cannot be negative."
    if value > SPEND_LIMIT_MAX:
        return f"The spend limit cannot be more than {SPEND_LIMIT_MAX:,}."
    if value != value.quantize(Decimal("0.01")):
        return "Use at most 2 decimal places (dollars and cents)."
    return None


SPEND_LIMIT_REASON_REQUIRED = (
    "Say why the limit changes (a ticket, an approval): it is kept in the account's history."
)


def account_spend_limit_set(
    *, actor, account: Account, limit: Decimal, reason: str
) -> SpendLimitChange:
    """Finance sets an account's monthly spend limit, with the reason why.

    The row is locked first, so the old value recorded is the one the UPDATE replaces even
    when two people change it at once; the UPDATE, the history row and the admin log entry
    are one transaction. After commit, the Rewards API's remembered keys and
    cached GetRewardInfo answers of the account are made stale (account_limits_changed).
    Raises PermissionDenied for anyone but finance staff, ValidationError for a bad limit or
    a missing reason, or a limit equal to the current one.
    """
    from django.contrib.admin.models import CHANGE, LogEntry

    if not (getattr(actor, "is_staff", False) and actor.has_perm("console.change_account")):
        raise PermissionDenied("Only Moments finance staff can change an account's spend limit.")
    errors = {}
    if message := spend_limit_error(limit):
        errors["limit"] = message
    if not (reason or "").strip():
        errors["reason"] = SPEND_LIMIT_REASON_REQUIRED
    if errors:
        raise ValidationError(errors)
    limit = Decimal(str(limit)).quantize(Decimal("0.01"))
    reason = reason.strip()
    with transaction.atomic():
        old = (
            Account.objects.select_for_update()
            .filter(pk=account.pk)
            .values_list("monthly_spend_limit", flat=True)
            .get()
        )
        if old == limit:
            raise ValidationError({"limit": f"The spend limit is already {old:,}."})
        Account.objects.filter(pk=account.pk).update(monthly_spend_limit=limit)
        change = SpendLimitChange.objects.create(
            account=account, changed_by=actor, old_limit=old, new_limit=limit, reason=reason
        )
        # The account's admin history is where staff look first: the change shows there too.
        LogEntry.objects.log_actions(
            user_id=actor.pk,
            queryset=[account],
            action_flag=CHANGE,
            change_message=f"Monthly spend limit changed from {old:,} to {limit:,}: {reason}",
            single_object=True,
        )
        activity_record(
            actor=actor,
            account=account,
            action="account.spend_limit_set",
            target=account,
            data={"old": old, "new": limit, "reason": reason},
        )
        account_limits_changed(account=account)
    account.monthly_spend_limit = limit
    return change


def api_key_authenticate(raw_key: str | None) -> App | None:
    """The app a raw API key belongs to, or None when the key is unknown, expired or revoked.

    The key is found by its public prefix and its hash compared in constant time, so the
    lookup itself leaks nothing about the secret part.
    """
    if not raw_key or "." not in raw_key or len(raw_key) > 200:
        return None
    prefix = raw_key.split(".", 1)[0]
    api_key = ApiKey.objects.select_related("app__account").filter(prefix=prefix).first()
    if api_key is None:
        return None
    if not hmac.compare_digest(api_key.key_hash, _sha256(raw_key)):
        return None
    if not api_key.is_active():
        return None
    app = api_key.app
    app.authenticated_key = api_key  # which key was used: rate limits count per key
    return app


# --- Members ----------------------------------------------------------------------------------


def _require_account_admin(*, actor, account: Account) -> None:
    membership = Membership.objects.filter(user=actor).first() if actor else None
    if membership is None or membership.account_id != account.pk or not membership.is_admin:
        raise PermissionDenied("Only an admin of this account can do this.")


def _lock_account(account: Account) -> Account:
    # Every change to who administers an account takes the account's row lock first (the
    # fixed order: account before its children), so two admins demoting or removing each other
    # at once are serialised and the second sees that it would leave no admin.
    return Account.objects.select_for_update().get(pk=account.pk)


def _other_admins(membership: Membership) -> int:
    return (
        Membership.objects.filter(account_id=membership.account_id, role=Membership.Role.ADMIN)
        .exclude(pk=membership.pk)
        .count()
    )


def _release_billing_ownership(*, account: Account, user) -> bool:
    """The billing owner is the only one who may change the payment method (SPEC §2): when
    they stop being an admin, nobody could. Clearing it lets the next admin who sets a card
    become the owner. True when the user was the owner."""
    return bool(
        Account.objects.filter(pk=account.pk, billing_owner=user).update(billing_owner=None)
    )


LAST_ADMIN = (
    "{email} is the only admin of {account}: make another teammate an admin first, "
    "so someone can still manage apps, keys, members and billing."
)


def membership_role_set(*, actor, membership: Membership, role: str) -> Membership:
    """An admin makes a teammate an admin or a member.

    Never demotes the account's last admin (ValidationError); PermissionDenied for anyone but
    an admin of the same account. Demoting the billing owner releases billing ownership.
    """
    if role not in Membership.Role.values:
        raise ValidationError({"role": f"Choose a role: {', '.join(Membership.Role.labels)}."})
    with transaction.atomic():
        account = _lock_account(membership.account)
        _require_account_admin(actor=actor, account=account)
        membership = Membership.objects.select_related("user").get(pk=membership.pk)
        old = membership.role
        if old == role:
            return membership
        if old == Membership.Role.ADMIN and not _other_admins(membership):
            raise ValidationError(LAST_ADMIN.format(email=membership.user.email, account=account))
        Membership.objects.filter(pk=membership.pk).update(role=role)
        membership.role = role
        released = False
        if role != Membership.Role.ADMIN:
            released = _release_billing_ownership(account=account, user=membership.user)
        activity_record(
            actor=actor,
            account=account,
            action="membership.role_changed",
            target=membership,
            data={
                "email": membership.user.email,
                "old_role": old,
                "new_role": role,
                **({"billing_owner_released": True} if released else {}),
            },
        )
    return membership


def membership_remove(*, actor, membership: Membership) -> None:
    """An admin removes a teammate (themself too, unless they are the last admin).

    The seat is deleted and the user deactivated: their sessions end on their next request,
    and what they did keeps their name in the activity log. Removing the billing owner
    releases billing ownership. Never removes the last admin (ValidationError).
    """
    with transaction.atomic():
        account = _lock_account(membership.account)
        _require_account_admin(actor=actor, account=account)
        membership = Membership.objects.select_related("user").get(pk=membership.pk)
        user = membership.user
        if membership.is_admin and not _other_admins(membership):
            raise ValidationError(LAST_ADMIN.format(email=user.email, account=account))
        released = _release_billing_ownership(account=account, user=user)
        activity_record(
            actor=actor,
            account=account,
            action="membership.removed",
            target=membership,
            data={
                "email": user.email,
                "role": membership.role,
                **({"billing_owner_released": True} if released else {}),
            },
        )
        membership.delete()
        User.objects.filter(pk=user.pk).update(is_active=False)


# --- Requests to staff ------------------------------------------------------------------------

ASIN_PATTERN = r"^[A-Z0-9]{10}$"


def marketplace_choices() -> list[tuple[str, str]]:
    """The 13 marketplaces (SPEC §4) as (code, name). Read from the catalog's constant list,
    a module without imports: the console layer reads it, never the catalog's models."""
    from console.marketplaces import MARKETPLACES

    return [(code, name) for code, name, *_ in MARKETPLACES]


def _money(value: Decimal) -> str:
    return f"${value:,.2f}"


def _staff_request_subject(
    *, kind: str, amount, asin: str, marketplace: str, app_name: str, subject: str
) -> str:
    Kind = StaffRequest.Kind
    if kind == Kind.SPEND_LIMIT:
        return f"Raise the monthly spend limit to {_money(amount)}"
    if kind == Kind.INVOICE_TERMS:
        return f"Pay by invoice (about {_money(amount)} a month)"
    if kind == Kind.OWN_REWARD:
        return f"Own reward: ASIN {asin} in {marketplace}"
    if kind == Kind.MERCH:
        return "Merch t-shirts (US beta)"
    if kind == Kind.FIRE_TV:
        return f"Fire TV app registration: {app_name}"[:200]
    return subject[:200]


def staff_request_errors(
    *,
    account: Account,
    kind: str,
    amount=None,
    asin: str = "",
    marketplace: str = "",
    app_name: str = "",
    store_url: str = "",
    subject: str = "",
    details: str = "",
) -> dict[str, str]:
    """What is wrong with a request, by field (empty when nothing is). The forms show these
    messages; the service raises them."""
    Kind = StaffRequest.Kind
    errors: dict[str, str] = {}
    if kind not in Kind.values:
        return {"kind": "Choose what you are asking for."}
    if kind in (Kind.SPEND_LIMIT, Kind.INVOICE_TERMS):
        limit = account.monthly_spend_limit
        if amount is None:
            errors["amount"] = "Enter an amount in USD, e.g. 25000."
        elif amount <= 0:
            errors["amount"] = "Enter an amount greater than zero."
        elif amount > SPEND_LIMIT_MAX:
            errors["amount"] = f"Enter at most {_money(SPEND_LIMIT_MAX)}."
        elif kind == Kind.SPEND_LIMIT and amount <= limit:
            errors["amount"] = (
                f"Your monthly spend limit is already {_money(limit)}: ask for more than that."
            )
    if kind == Kind.INVOICE_TERMS and account.payment_terms == Account.PaymentTerms.INVOICE:
        errors["__all__"] = "Your account is already invoiced monthly."
    if kind == Kind.OWN_REWARD:
        if not re.fullmatch(ASIN_PATTERN, asin or ""):
            errors["asin"] = (
                "An ASIN is 10 capital letters and digits, as on the product's Amazon page "
                "(e.g. B08N5WRWNW)."
            )
        if marketplace not in dict(marketplace_choices()):
            errors["marketplace"] = "Choose the marketplace the product is sold in."
    if kind == Kind.FIRE_TV:
        if not (app_name or "").strip():
            errors["app_name"] = "Enter the app's name."
        if not (store_url or "").strip():
            errors["store_url"] = "Enter the app's store URL or website."
        else:
            try:
                URLValidator(schemes=["http", "https"])(store_url.strip())
            except ValidationError:
                errors["store_url"] = "Enter the app's store URL, e.g. https://www.amazon.com/dp/…"
    needs_why = kind in (Kind.SPEND_LIMIT, Kind.INVOICE_TERMS, Kind.MERCH, Kind.OTHER)
    if needs_why and not (details or "").strip():
        errors["details"] = "Tell the Moments team why: it helps them answer quickly."
    if kind == Kind.OTHER and not (subject or "").strip():
        errors["subject"] = "Give your request a subject."
    return errors


def _already_open(*, account: Account, kind: str, asin: str, marketplace: str):
    Kind = StaffRequest.Kind
    open_requests = StaffRequest.objects.filter(account=account, status=StaffRequest.Status.OPEN)
    if kind in StaffRequest.ONE_OPEN_PER_ACCOUNT:
        return open_requests.filter(kind=kind).first()
    if kind == Kind.OWN_REWARD:
        return open_requests.filter(kind=kind, asin=asin, marketplace=marketplace).first()
    return None


def _duplicate_error(existing: StaffRequest) -> ValidationError:
    return ValidationError(
        f"You already have an open request for this (#{existing.pk}, "
        f"“{existing.subject}”): wait for its answer or withdraw it first."
    )


def staff_request_create(
    *,
    account: Account,
    actor,
    kind: str,
    details: str = "",
    amount: Decimal | None = None,
    asin: str = "",
    marketplace: str = "",
    app_name: str = "",
    store_url: str = "",
    subject: str = "",
) -> StaffRequest:
    """Any member of the account asks the Moments team for something (SPEC §12, §3, §4).

    Validates the fields the kind needs (ValidationError by field) and refuses a second open
    request for the same thing (a database constraint decides when two arrive at once).
    """
    membership = Membership.objects.filter(user=actor).first() if actor else None
    if membership is None or membership.account_id != account.pk:
        raise PermissionDenied("Only a member of this account can raise its requests.")
    asin = (asin or "").strip().upper()
    marketplace = (marketplace or "").strip().upper()
    if amount is not None:
        amount = Decimal(str(amount)).quantize(Decimal("0.01"))
    account = Account.objects.get(pk=account.pk)  # the limit and terms as they are now
    errors = staff_request_errors(
        account=account,
        kind=kind,
        amount=amount,
        asin=asin,
        marketplace=marketplace,
        app_name=app_name,
        store_url=store_url,
        subject=subject,
        details=details,
    )
    if errors:
        raise ValidationError(errors)
    existing = _already_open(account=account, kind=kind, asin=asin, marketplace=marketplace)
    if existing is not None:
        raise _duplicate_error(existing)
    Kind = StaffRequest.Kind
    keep_amount = kind in (Kind.SPEND_LIMIT, Kind.INVOICE_TERMS)
    staff_request = StaffRequest(
        account=account,
        kind=kind,
        requested_by=actor,
        subject=_staff_request_subject(
            kind=kind,
            amount=amount,
            asin=asin,
            marketplace=marketplace,
            app_name=(app_name or "").strip(),
            subject=(subject or "").strip(),
        ),
        details=(details or "").strip(),
        amount=amount if keep_amount else None,
        asin=asin if kind == Kind.OWN_REWARD else "",
        marketplace=marketplace if kind == Kind.OWN_REWARD else "",
        app_name=(app_name or "").strip() if kind == Kind.FIRE_TV else "",
        store_url=(store_url or "").strip() if kind == Kind.FIRE_TV else "",
    )
    try:
        with transaction.atomic():
            staff_request.save()
            activity_record(
                actor=actor,
                account=account,
                action="staff_request.created",
                target=staff_request,
                data={"kind": kind, "subject": staff_request.subject},
            )
    except IntegrityError:
        # Another teammate's identical request committed first: theirs stands.
        existing = _already_open(account=account, kind=kind, asin=asin, marketplace=marketplace)
        if existing is None:
            raise
        raise _duplicate_error(existing) from None
    return staff_request


def staff_request_answer_recipients(staff_request: StaffRequest) -> list[str]:
    """Who is told the answer: the requester and the account's admins, once each."""
    emails = []
    requester = staff_request.requested_by
    if requester is not None and requester.is_active and requester.email:
        emails.append(requester.email)
    emails += (
        Membership.objects.filter(
            account_id=staff_request.account_id,
            role=Membership.Role.ADMIN,
            user__is_active=True,
        )
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    return list(dict.fromkeys(e.lower() for e in emails))


def staff_request_answer(
    *, actor, staff_request: StaffRequest, decision: str, answer: str
) -> StaffRequest:
    """Staff approve or decline an open request with an answer the developer reads; the
    requester and the account's admins are emailed it after commit.

    Only staff with the change permission of requests may (PermissionDenied). A conditional
    UPDATE answers an open request once: a second answer, or an answer to a withdrawn
    request, is a ValidationError. Approving says yes; the change itself (a spend limit,
    payment terms) is made by its own admin form and service.
    """
    if not (getattr(actor, "is_staff", False) and actor.has_perm("console.change_staffrequest")):
        raise PermissionDenied("Only Moments staff can answer requests.")
    errors = {}
    if decision not in StaffRequest.ANSWERED:
        errors["decision"] = "Choose approved or declined."
    if not (answer or "").strip():
        errors["answer"] = "Write the answer the developer will read."
    if errors:
        raise ValidationError(errors)
    answer = answer.strip()
    now = timezone.now()
    with transaction.atomic():
        answered = StaffRequest.objects.filter(
            pk=staff_request.pk, status=StaffRequest.Status.OPEN
        ).update(status=decision, answer=answer, answered_by=actor, answered_at=now)
        if answered != 1:
            current = StaffRequest.objects.get(pk=staff_request.pk)
            raise ValidationError(
                f"This request is already {current.get_status_display().lower()}: "
                "it can be answered once."
            )
        staff_request.refresh_from_db()
        activity_record(
            actor=actor,
            account=staff_request.account_id,
            action="staff_request.answered",
            target=staff_request,
            data={"kind": staff_request.kind, "decision": decision},
        )
        recipients = staff_request_answer_recipients(staff_request)
        if recipients:
            context = {
                "request": staff_request,
                "link": f"{settings.SITE_URL}/requests/{staff_request.pk}/",
            }
            subject = (
                f"Your request #{staff_request.pk} was "
                f"{staff_request.get_status_display().lower()}: {staff_request.subject}"
            )[:200]
            transaction.on_commit(
                lambda: send_mail(
                    subject=subject,
                    message=render_to_string("console/email/staff_request_answered.txt", context),
                    html_message=render_to_string(
                        "console/email/staff_request_answered.html", context
                    ),
                    from_email=None,
                    recipient_list=recipients,
                )
            )
    return staff_request


def staff_request_withdraw(*, actor, staff_request: StaffRequest) -> StaffRequest:
    """A member of the account withdraws an open request (it is closed, never deleted)."""
    membership = Membership.objects.filter(user=actor).first() if actor else None
    if membership is None or membership.account_id != staff_request.account_id:
        raise PermissionDenied("Only a member of this account can withdraw its requests.")
    with transaction.atomic():
        closed = StaffRequest.objects.filter(
            pk=staff_request.pk, status=StaffRequest.Status.OPEN
        ).update(status=StaffRequest.Status.CLOSED)
        if closed != 1:
            raise ValidationError("Only an open request can be withdrawn: this one was answered.")
        staff_request.status = StaffRequest.Status.CLOSED
        activity_record(
            actor=actor,
            account=staff_request.account_id,
            action="staff_request.withdrawn",
            target=staff_request,
            data={"kind": staff_request.kind},
        )
    return staff_request
