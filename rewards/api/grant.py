"""GetReward as the API answers it: one service, `reward_grant_idempotent`, that runs the grant
(rewards/services/grants.py) under the request's Idempotency-Key (rewards/api/idempotency.py).

It lives beside the API rather than in rewards/services/ because what it stores and replays is
the API's answer (its body and its errorCode): rewards.services stays free of rewards.api.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from console.models import App
from rewards.services.grants import RewardRefused, customer_ref_hash, reward_grant

from .errors import ApiError, api_error
from .idempotency import (
    Claim,
    ClaimLost,
    idempotency_claim,
    idempotency_complete,
    idempotency_release,
    idempotency_settled,
    request_fingerprint,
)
from .validation import RewardRequest


@dataclass(frozen=True)
class GrantAnswer:
    """What GetReward answers: a status and a body, `replayed` when it is a stored answer."""

    status: int
    body: object
    replayed: bool = False


def reward_grant_idempotent(
    *, app: App, parsed: RewardRequest, path: str, idempotency_key: str | None
) -> GrantAnswer:
    """Hand out one reward for `parsed` (see reward_grant), at most once per Idempotency-Key.

    Without a key, every call is a grant. With one, the first request claims the key and stores
    its answer (a reward or a refusal) in the transaction of the charge; a repeat with the same
    body gets that answer replayed, another body is a 422, and a repeat while the first still
    runs is a 409. Refusals raise ApiError, as the API answers them. `app` is the caller's app,
    authenticated (its `authenticated_key` scopes the keys).
    """
    if idempotency_key is None:
        return GrantAnswer(200, reward_grant_body(app=app, parsed=parsed))
    claim = idempotency_claim(
        api_key_id=app.authenticated_key.pk,
        key=idempotency_key,
        fingerprint=request_fingerprint(path=path, canonical=parsed.fingerprint_source()),
    )
    if claim.record_pk is None:
        return _replay(claim)
    try:
        # The stored answer commits with the charge, or neither does: a claim taken over by a
        # retry meanwhile (ClaimLost) rolls the charge back.
        with transaction.atomic():
            body = reward_grant_body(app=app, parsed=parsed)
            idempotency_complete(claim=claim, status=200, body=body)
        return GrantAnswer(200, body)
    except ClaimLost:
        return _replay(idempotency_settled(claim=claim))
    except ApiError as error:
        refusal = error  # nothing was charged; stored below so a retry gets the same refusal
    except Exception:
        idempotency_release(claim=claim)
        raise
    try:
        idempotency_complete(claim=claim, status=refusal.status, body=refusal.body())
    except ClaimLost:
        return _replay(idempotency_settled(claim=claim))
    raise refusal


def _replay(claim: Claim) -> GrantAnswer:
    return GrantAnswer(claim.replay_status, claim.replay_body, replayed=True)


def reward_grant_body(*, app: App, parsed: RewardRequest) -> object:
    """One grant, as GetReward's body: the reward, or `[]` when nothing matches; a refusal
    raises ApiError with its errorCode."""
    try:
        result = reward_grant(
            app=app,
            campaign_id=parsed.campaign_id,
            reward_group_id=parsed.reward_group_id,
            moment_id=parsed.moment_id,
            device_type=parsed.device_type,
            customer_ref_hashed=(
                customer_ref_hash(app_id=app.app_id, customer_ref=parsed.customer_ref)
                if parsed.customer_ref is not None
                else None
            ),
        )
    except RewardRefused as refusal:
        raise api_error(refusal.code, refusal.text) from refusal
    if result is None:
        return []
    return {
        "rewardNotificationUrl": result.url,
        "rewardNotificationText": result.text,
        "testMode": result.test_mode,
    }
