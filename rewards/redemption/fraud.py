"""The fraud check run by reward_claim before it claims the grant (SPEC §8 "Fraud").

This version lets every claim through; the linked-accounts rule (FRAUD_MAX_LINKED_ACCOUNTS)
replaces it, keeping this signature.
"""

from __future__ import annotations

OK = "ok"
FLAGGED = "flagged"


def fraud_check(*, grant, shopper, device_id: str, address_normalised: str, ip: str | None) -> str:
    """ "ok" to go on with the claim; "flagged" to refuse it and keep the attempt as a flagged
    claim. Runs inside reward_claim's transaction, before the grant's conditional UPDATE."""
    return OK
