"""GetReward: hand out one reward and charge one CPA, exactly, under any concurrency (SPEC §11).

One transaction, in this order, each step a conditional statement whose matched-row count
decides: (1) the customerRef claim (the grant row itself, INSERT ... ON CONFLICT DO NOTHING on
its conditional unique constraint), (2) the reward group's inventory, (3) the campaign's total
budget and this month's campaign spend, (4) this month's account spend, (5) the ledger row and
the grant. A refusal raises and rolls back every earlier step. Rows are locked in the one
order used everywhere: inventory → campaign → account, so two GetRewards never deadlock.

Two engines run these steps (grant_engine()): on PostgreSQL the whole of it, with the lookup of
the request's campaign, is one statement (the `rewards_get_reward` function, versioned in
rewards/sql/): one round trip, and the hot rows are locked only while PostgreSQL works.
Elsewhere ("python") the same steps run one statement each. The GetReward tests run on both
(tests/rewards/conftest.py's `grant_engine`), so neither can drift from the other; refusal
codes and texts come from one table (rewards/refusals.py) for both.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from billing.services.ledger import (
    SpendRefused,
    account_spend_reserve,
    campaign_spend_reserve,
    ledger_charge,
)
from campaigns.models import Campaign, RewardGroup
from campaigns.services.lifecycle import effective_status, rewards_expire_at
from console.clock import month_start
from console.metrics import grant_charged
from rewards.cache import invalidate_campaigns
from rewards.models import RewardGrant
from rewards.refusals import not_live_text, refusal_text

from .targets import reward_target

S = Campaign.Status


class RewardRefused(Exception):
    """No reward can be given; `code` is the API's errorCode, `text` the sentence shown."""

    def __init__(self, code: str, text: str):
        super().__init__(text)
        self.code = code
        self.text = text


@dataclass(frozen=True)
class GrantResult:
    url: str
    text: str
    test_mode: bool = False
    repeated: bool = False  # an earlier grant for the same customerRef, not charged again


def reward_url(token: str) -> str:
    return f"{settings.SITE_URL}/r/{token}/"


def test_reward_url(campaign_id: uuid.UUID) -> str:
    """The one URL a campaign in test mode answers with, every time."""
    return f"{settings.SITE_URL}/r/test/{campaign_id}/"


def customer_ref_hash(*, app_id, customer_ref: str) -> str:
    """customerRef is the developer's id of their user: stored only as a hash, salted with the
    app so equal refs of two apps do not look alike."""
    raw = f"{app_id}:{customer_ref}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(raw).hexdigest()


def not_live_refusal(campaign: Campaign, status: str) -> RewardRefused:
    """The refusal for a campaign whose effective status is not approved or live."""
    budget_left = (campaign.total_budget or 0) - campaign.spent
    if status == S.FINISHED and campaign.cpa is not None and budget_left < campaign.cpa:
        return _refused("budget_exhausted")
    return _not_live(status)


def _refused(code: str) -> RewardRefused:
    return RewardRefused(code, refusal_text(code))


def _not_live(status: str) -> RewardRefused:
    label = S(status).label if status in S.values else status
    return RewardRefused("campaign_not_live", not_live_text(label))


ENGINES = ("sql", "python")


def grant_engine() -> str:
    """Which engine runs GetReward: settings.GET_REWARD_ENGINE ("auto", "sql" or "python").
    "auto" is the SQL function on PostgreSQL and the step-by-step path elsewhere."""
    engine = getattr(settings, "GET_REWARD_ENGINE", "auto") or "auto"
    if engine == "auto":
        return "sql" if connection.vendor == "postgresql" else "python"
    if engine not in ENGINES:
        raise ImproperlyConfigured(
            f"GET_REWARD_ENGINE must be auto, sql or python, not {engine!r}."
        )
    if engine == "sql" and connection.vendor != "postgresql":
        raise ImproperlyConfigured("GET_REWARD_ENGINE=sql needs PostgreSQL.")
    return engine


def _claim(*, values: dict) -> int | None:
    """Step 1: insert the grant row that carries the customerRef hash; None when another
    request (committed, or committing first: PostgreSQL waits for it) already holds it."""
    table = RewardGrant._meta.db_table
    columns = list(values)
    ops = connection.ops
    params = [
        ops.adapt_datetimefield_value(v) if isinstance(v, datetime) else v for v in values.values()
    ]
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - names from the model
        f"VALUES ({', '.join(['%s'] * len(columns))}) ON CONFLICT DO NOTHING RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


# The CPA charged comes back in the same round trip (moments_spend_total): a primary-key read
# of the row the function just charged, outside the installed function (no new version).
_GET_REWARD_SQL = (
    "SELECT r.outcome, r.grant_token, r.campaign_pk, r.status, r.message,"
    " (SELECT cc.cpa FROM campaigns_campaign cc WHERE cc.id = r.campaign_pk)"
    " FROM rewards_get_reward("
    "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) r"
)


def _grant_postgresql(
    *,
    app,
    campaign_id: uuid.UUID,
    reward_group_id: str,
    moment_id: str,
    device_type: str,
    customer_ref_hashed: str | None,
    now: datetime,
) -> GrantResult | None:
    """The lookup, the effective status and steps (1)-(5) in one statement. Outside a
    transaction it is its own; inside one (an Idempotency-Key's), it joins it. The account's
    cap is read by the statement from the account row, not taken from `app.account` (the API
    remembers apps for up to a minute)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _GET_REWARD_SQL,
            [
                app.pk,
                campaign_id,
                reward_group_id,
                moment_id,
                now,
                month_start(timezone.localdate(now)),
                settings.REWARD_EXPIRY_DAYS,
                timezone.get_current_timezone_name(),
                Decimal(settings.CAMPAIGN_MONTHLY_CAP),
                secrets.token_urlsafe(32),  # 256 bits: unguessable
                customer_ref_hashed,
                device_type,
            ],
        )
        outcome, token, campaign_pk, status, message, cpa = cursor.fetchone()
    if outcome == "unknown":
        return None
    if outcome == "test":
        return GrantResult(url=test_reward_url(campaign_id), text=message, test_mode=True)
    if outcome == "repeated":
        return GrantResult(url=reward_url(token), text=message, repeated=True)
    # Not live before any step ran: say what it is. Live, then stopped at step (3) by a move
    # committed meanwhile (a suspension): the table's "no longer live".
    if outcome == "campaign_not_live" and status != S.LIVE:
        raise _not_live(status)
    if outcome != "ok":
        raise _refused(outcome)
    # GetRewardInfo's cached counts are stale once this commits.
    transaction.on_commit(lambda: _charged(campaign_pk, cpa))
    return GrantResult(url=reward_url(token), text=message)


def _charged(campaign_pk: int, cpa: Decimal) -> None:
    """After a charged grant commits: GetRewardInfo's cached counts are stale, and the grant
    and its charge count in the metrics (campaigns are priced in USD)."""
    invalidate_campaigns([campaign_pk])
    grant_charged(cpa, "USD")


def _grant_step_by_step(
    *, values: dict, campaign: Campaign, amount, month
) -> tuple[str, str | None]:
    """The "python" engine: the same steps, one statement each, each a conditional statement
    whose matched-row count decides, so it is exact on PostgreSQL too (read committed re-checks
    each condition on the latest row); SQLite runs one writer at a time anyway."""
    grant_pk = None
    # (1) the customerRef claim
    if values["customer_ref_hash"] is not None:
        grant_pk = _claim(values=values)
        if grant_pk is None:
            token = (
                RewardGrant.objects.filter(
                    campaign_id=campaign.pk, customer_ref_hash=values["customer_ref_hash"]
                )
                .values_list("token", flat=True)
                .first()
            )
            return "repeated", token
    # (2) inventory
    taken = (
        RewardGroup.objects.filter(pk=values["reward_group_id"])
        .filter(Q(quantity_limit__isnull=True) | Q(granted__lt=F("quantity_limit")))
        .update(granted=F("granted") + 1)
    )
    if taken != 1:
        return "out_of_rewards", None
    try:
        # (3) campaign budget and monthly cap, (4) account monthly cap
        campaign_spend_reserve(campaign=campaign, amount=amount, month=month)
        account_spend_reserve(account_id=campaign.account_id, amount=amount, month=month)
    except SpendRefused as refusal:
        return refusal.code, None
    # (5) the grant and its ledger row
    if grant_pk is None:
        grant_pk = RewardGrant.objects.create(**values).pk
    ledger_charge(
        account_id=campaign.account_id,
        campaign_id=campaign.pk,
        moment_id=values["moment_id"],
        grant_id=grant_pk,
        amount=amount,
        month=month,
        now=values["created_at"],
    )
    return "ok", values["token"]


def reward_grant(
    *,
    app,
    campaign_id: uuid.UUID,
    reward_group_id: str,
    moment_id: str,
    device_type: str,
    customer_ref_hashed: str | None = None,
    now: datetime | None = None,
) -> GrantResult | None:
    """Give one reward of the campaign `campaign_id` of `app`, in its reward group
    `reward_group_id`, for the moment `moment_id`, and charge the campaign's CPA.

    None when the app has no such campaign, reward group or moment. Live campaign: the single
    transaction described in the module docstring; the same customerRef returns the first
    grant's URL without a second charge. Approved (test mode): the campaign's test URL,
    nothing consumed or charged. Anything else raises RewardRefused.
    """
    now = now or timezone.now()
    if grant_engine() == "sql":
        return _grant_postgresql(
            app=app,
            campaign_id=campaign_id,
            reward_group_id=reward_group_id,
            moment_id=moment_id,
            device_type=device_type,
            customer_ref_hashed=customer_ref_hashed,
            now=now,
        )
    target = reward_target(
        app=app,
        campaign_id=campaign_id,
        reward_group_id=reward_group_id,
        moment_id=moment_id,
        now=now,
    )
    if target is None:
        return None
    campaign = target.campaign
    status = effective_status(campaign, now)
    if status == S.APPROVED:
        return GrantResult(
            url=test_reward_url(campaign_id), text=campaign.redemption_message, test_mode=True
        )
    if status != S.LIVE:
        raise not_live_refusal(campaign, status)

    month = month_start(timezone.localdate(now))
    grant_values = {
        "campaign_id": campaign.pk,
        "reward_group_id": target.reward_group.pk,
        "moment_id": target.moment.pk,
        "token": secrets.token_urlsafe(32),  # 256 bits: unguessable
        "customer_ref_hash": customer_ref_hashed,
        "device_type": device_type,
        "created_at": now,
        "expires_at": rewards_expire_at(campaign),
        "redeemed_at": None,
    }
    with transaction.atomic():
        outcome, token = _grant_step_by_step(
            values=grant_values,
            campaign=campaign,
            amount=campaign.cpa,
            month=month,
        )
        if outcome == "repeated":
            return GrantResult(
                url=reward_url(token), text=campaign.redemption_message, repeated=True
            )
        if outcome != "ok":
            # Leaving the atomic block with an exception rolls back every earlier step.
            raise _refused(outcome)
        transaction.on_commit(lambda: _charged(campaign.pk, campaign.cpa))
    return GrantResult(url=reward_url(token), text=campaign.redemption_message)
