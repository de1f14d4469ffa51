"""Apps and API keys: registration, rotation with a grace period, revocation, and telling
the Rewards API's processes when who may call changed (the keyring generation)."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from ..activity import activity_record, changes
from ..models import (
    Account,
    ApiKey,
    App,
    Membership,
)
from .accounts import _sha256

User = get_user_model()
log = logging.getLogger(__name__)

KEY_PREFIX_TAG = "mk_"
KEY_ISSUE_ATTEMPTS = 5


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
    support_email: str = "",
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
            support_email=support_email,
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


def app_update(
    *,
    app: App,
    actor,
    name: str,
    store_url: str,
    allowed_ips: list[str],
    support_email: str = "",
    rate_limit_per_second: int | None = None,
) -> App:
    """Change an app's name, store URL, support email and IP allow-list; staff (the App admin)
    may also pass the Rewards API's rate limit per second, which developers cannot change. One
    activity row lists what changed, whoever changed it."""
    fields = ["name", "store_url", "support_email", "allowed_ips"]
    if rate_limit_per_second is not None:
        fields.append("rate_limit_per_second")
    before = {field: getattr(app, field) for field in fields}
    app.name = name.strip()
    app.store_url = store_url
    app.support_email = support_email
    app.allowed_ips = allowed_ips
    if rate_limit_per_second is not None:
        app.rate_limit_per_second = rate_limit_per_second
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


# A key's "last used" is stamped at most once per this many seconds (issue 22).
KEY_USAGE_STAMP_SECONDS = 60


def api_key_usage_stamp(*, api_key_id: int, ip: str, now=None) -> bool:
    """Record that the key signed a Rewards API call now, from `ip` (the client's address, read
    through the trusted-proxy rules), unless it was already stamped within the last minute.
    True when the row was written.

    The actor is the key itself, and nothing goes to the activity log: a usage stamp is not a
    change a reader of the log cares about. One conditional UPDATE, no read first: the
    condition, in the database, is what keeps the stamp to once a minute per key however many
    web processes serve the key's calls (each stamps at most once a minute, see
    rewards.api.auth.key_used, and all but the first find nothing to update)."""
    now = now or timezone.now()
    try:
        ip = str(ipaddress.ip_address(ip))
    except ValueError:
        ip = None  # not an address (a test client, a unix socket): the time still counts
    due = Q(last_used_at__isnull=True) | Q(
        last_used_at__lte=now - timedelta(seconds=KEY_USAGE_STAMP_SECONDS)
    )
    # A use ends an idle spell: the next one is told again (api_keys_idle_warn).
    written = ApiKey.objects.filter(due, pk=api_key_id).update(
        last_used_at=now, last_used_ip=ip, idle_warned_at=None
    )
    return written == 1


def api_keys_idle_warn(*, now=None) -> int:
    """Email each account's admins about its active API keys unused for API_KEY_IDLE_DAYS
    (never used: since created), once per idle spell. Returns how many keys were told.

    Each key is claimed by a conditional UPDATE of `idle_warned_at` before its email, so two
    runs at once (or a run retried) never tell the same spell twice."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.API_KEY_IDLE_DAYS)
    idle = (
        ApiKey.objects.filter(revoked_at__isnull=True, idle_warned_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .filter(Q(last_used_at__lt=cutoff) | Q(last_used_at__isnull=True, created_at__lt=cutoff))
        .select_related("app__account")
    )
    told = 0
    for api_key in idle:
        claimed = ApiKey.objects.filter(pk=api_key.pk, idle_warned_at__isnull=True).update(
            idle_warned_at=now
        )
        if not claimed:
            continue
        app = api_key.app
        admins = list(
            Membership.objects.filter(
                account=app.account_id, role=Membership.Role.ADMIN, user__is_active=True
            ).values_list("user__email", flat=True)
        )
        if admins:
            since = api_key.last_used_at
            what = f"last used on {timezone.localtime(since):%b %-d, %Y}" if since else "never used"
            send_mail(
                subject=f"API key {api_key.prefix}… of {app.name} is unused",
                message=(
                    f"The API key {api_key.prefix}… of your app {app.name} has not been used for "
                    f"{settings.API_KEY_IDLE_DAYS} days or more ({what}). An unused key that can "
                    f"spend is a risk: if nothing needs it, revoke it on the app's page:\n\n"
                    f"{settings.SITE_URL}/apps/{app.app_id}/\n"
                ),
                from_email=None,
                recipient_list=admins,
            )
        told += 1
    return told
