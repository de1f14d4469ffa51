"""GetReward's refusals, in one table: the errorCode, its HTTP status, the line the API docs
show, and the sentence the caller reads in `rewardNotificationText`.

Both GetReward engines (the SQL function and the step-by-step Python path) report a refusal by
its code only; the text is looked up here, so the two can never word the same case differently.
rewards/api/errors.py builds ERROR_CODES (the OpenAPI document and the docs page) from it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Refusal:
    """One way GetReward (or GetRewardInfo) can refuse."""

    status: int
    doc: str
    text: str


REFUSALS: dict[str, Refusal] = {
    "campaign_not_live": Refusal(
        409,
        "The campaign is not approved or live (draft, in review, suspended, rejected or finished).",
        "This campaign is no longer live.",
    ),
    "budget_exhausted": Refusal(
        409,
        "The campaign's total budget cannot pay for one more action.",
        "This campaign's budget is spent: no more rewards can be given.",
    ),
    "campaign_monthly_cap_reached": Refusal(
        409,
        "The campaign's monthly spend cap is reached.",
        "This campaign reached its monthly spend cap; rewards resume next month.",
    ),
    "account_monthly_cap_reached": Refusal(
        409,
        "The account's monthly spend cap is reached.",
        "This account reached its monthly spend cap; rewards resume next month.",
    ),
    "out_of_rewards": Refusal(
        409,
        "The reward group's quantity limit is reached.",
        "All the rewards of this campaign have been given out.",
    ),
}


def refusal_text(code: str) -> str:
    """The sentence shown for a refusal code (KeyError for a code not in the table)."""
    return REFUSALS[code].text


def not_live_text(status_label: str) -> str:
    """campaign_not_live before any step ran: the caller is told what the campaign is."""
    return f"This campaign is not live (it is {status_label})."
